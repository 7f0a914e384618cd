/**
 * `policy explain` data (SPEC §4.4): the effective policy, where it came from, and for each capability the
 * decision and the precedence rule that produced it, computed by the same evaluator dispatch uses.
 */
import { NEVER_ALLOWED, SPECIAL_BLOCKS } from './addressClasses.ts';
import { CAPABILITIES, CAPABILITY_MEANING, isDangerous, type Capability } from './capabilities.ts';
import { egressOverrideIds, egressRulesFor, explainEgressRules, type EgressExplanation } from './egressSettings.ts';
import { listMethods } from './methods.ts';
import { EXEC_CLASSES, EXEC_CLASS_MEANING } from './execClasses.ts';
import { explainNetGrant } from './netGrants.ts';
import { evaluateCapability, grantedByName, RULE_DESCRIPTIONS, RULES, type Decision, type PolicyReason, type Rule } from './precedence.ts';
import { PROFILE_PRESETS, type ExecRules, type ExecVerdict } from './profiles.ts';
import type { OsSandboxSetting } from './osSandbox.ts';
import type { ResolvedPolicy } from './settings.ts';
import { overrideKey } from './extensionId.ts';

export const EXPLANATION_SCHEMA = 'pi-warden.policy_explanation.v1';

export interface CapabilityExplanation {
  readonly decision: Decision;
  readonly rule: Rule;
  readonly reason: PolicyReason;
  readonly dangerous: boolean;
}

/** One row of exec mediation's rules: a class, `shell: true`, or a working directory outside the workspace. */
export interface ExecRuleExplanation {
  readonly subject: string;
  readonly kind: 'class' | 'shell' | 'cwd';
  /** With `exec` granted to the extension by name (override allow list or remembered answer), and without. */
  readonly granted: ExecVerdict;
  readonly ungranted: ExecVerdict;
  readonly meaning: string;
}

export interface PolicyExplanation {
  readonly schema: typeof EXPLANATION_SCHEMA;
  readonly extension_id: string | null;
  readonly profile: string;
  readonly requested_profile: string | null;
  readonly profile_source: string;
  readonly mode: string;
  readonly default_caps: readonly Capability[];
  readonly deny_caps: readonly Capability[];
  readonly allow_dangerous: boolean;
  readonly allow_dangerous_source: string;
  readonly secret_broker_enabled: boolean;
  readonly secret_broker: { readonly enabled: boolean; readonly disclosure_allowlist: readonly string[] };
  readonly overrides: Record<
    string,
    {
      allow: readonly Capability[];
      deny: readonly Capability[];
      quota: unknown;
      allow_forbidden_scan?: true;
      fs?: { readonly read: readonly string[]; readonly write: readonly string[] };
      net?: ReturnType<typeof explainNetGrant>;
    }
  >;
  readonly remembered_prompts: Record<string, Record<string, 'allow' | 'deny'>>;
  readonly quota: unknown;
  readonly risk: Record<string, unknown>;
  /** HTTP egress (SPEC §5.5): the rules for this scope, per-extension rules, and what counts as private. */
  readonly http_egress: EgressExplanation & {
    readonly project_tightening: boolean;
    readonly overrides: Record<string, EgressExplanation>;
    readonly private_blocks: ReadonlyArray<{
      readonly cidr: string;
      readonly class: string;
      readonly note: string;
      readonly never_allowed: boolean;
    }>;
  };
  readonly capabilities: Record<Capability, CapabilityExplanation>;
  /** Exec mediation (SPEC §5.4) as the profile in force enforces it, read from the same data the exec stage reads. */
  readonly exec_mediation: {
    readonly profile: string;
    /** For the extension asked about, whether exec is granted to it by name (which column applies); null for the global view. */
    readonly granted_by_name: boolean | null;
    readonly rules: readonly ExecRuleExplanation[];
    /**
     * The OS sandbox of child processes: the setting (`off` only from the user settings file). Whether this machine
     * can run it is the CLI's to add (src/pi/confine probes it).
     */
    readonly os_sandbox: {
      readonly setting: OsSandboxSetting;
      readonly source: 'user' | 'default';
      /** Added by the CLI: what applies on this machine, in words. */
      readonly applies?: string;
    };
  };
  readonly precedence: ReadonlyArray<{ readonly rule: Rule; readonly description: string }>;
  readonly methods: ReadonlyArray<{ readonly method: string; readonly capability: string; readonly summary: string }>;
  readonly profile_presets: ReadonlyArray<{ readonly profile: string; readonly mode: string; readonly summary: string }>;
  readonly sources: ReadonlyArray<{ readonly scope: string; readonly path: string; readonly status: string }>;
  readonly warnings: readonly string[];
  readonly errors: readonly string[];
  /** The user settings file is invalid: no extension loads until it is fixed. */
  readonly load_blocked: boolean;
}

/** An override that grants a capability a stronger rule still denies is a configuration mistake worth saying. */
function shadowedGrants(resolved: ResolvedPolicy): string[] {
  const out: string[] = [];
  for (const [id, o] of resolved.rules.overrides) {
    for (const cap of o.allow) {
      const v = evaluateCapability(resolved.rules, cap, id);
      if (v.rule !== 'extension_allow' && v.decision !== 'allow') {
        out.push(`${overrideKey(id)}.allow grants ${cap}, but ${v.rule} still decides ${v.decision}: ${RULE_DESCRIPTIONS[v.rule]}`);
      }
    }
  }
  return out;
}

export function explainExecRules(rules: ExecRules): ExecRuleExplanation[] {
  return [
    ...EXEC_CLASSES.map((c) => ({ subject: c, kind: 'class' as const, ...rules.classes[c], meaning: EXEC_CLASS_MEANING[c] })),
    { subject: 'shell: true', kind: 'shell', ...rules.shell, meaning: 'the command string is run by a shell' },
    {
      subject: 'cwd outside the workspace',
      kind: 'cwd',
      ...rules.cwdOutsideWorkspace,
      meaning: 'the child would start in a directory outside the project',
    },
  ];
}

export function explainPolicy(resolved: ResolvedPolicy, extensionId?: string): PolicyExplanation {
  const { rules } = resolved;
  const capabilities = {} as Record<Capability, CapabilityExplanation>;
  for (const c of CAPABILITIES) {
    const v = evaluateCapability(rules, c, extensionId);
    capabilities[c] = { decision: v.decision, rule: v.rule, reason: v.reason, dangerous: isDangerous(c) };
  }
  const overrides: PolicyExplanation['overrides'] = {};
  for (const [id, o] of rules.overrides)
    overrides[id] = {
      allow: o.allow,
      deny: o.deny,
      quota: resolved.overrideQuotas.get(id) ?? null,
      // Present only when set, so the usual override stays the same shape as before the scanner gate.
      ...(resolved.allowForbiddenScan.has(id) ? { allow_forbidden_scan: true as const } : {}),
      ...(resolved.fsGrants.has(id) ? { fs: resolved.fsGrants.get(id)! } : {}),
      ...(resolved.netGrants.has(id) ? { net: explainNetGrant(resolved.netGrants.get(id)!) } : {}),
    };
  const remembered: PolicyExplanation['remembered_prompts'] = {};
  for (const [id, answers] of rules.promptAnswers) remembered[id] = Object.fromEntries(answers);
  const r = resolved.risk;
  const egress = resolved.httpEgress;
  const egressIds = [...egressOverrideIds(egress)].sort();
  return {
    schema: EXPLANATION_SCHEMA,
    extension_id: extensionId ?? null,
    profile: resolved.profile,
    requested_profile: resolved.requestedProfile ?? null,
    profile_source: resolved.profileSource,
    mode: rules.mode,
    default_caps: rules.defaultCaps,
    deny_caps: rules.denyCaps,
    allow_dangerous: rules.allowDangerous,
    allow_dangerous_source: resolved.allowDangerousSource,
    secret_broker_enabled: resolved.secretBroker.enabled,
    secret_broker: { enabled: resolved.secretBroker.enabled, disclosure_allowlist: resolved.secretBroker.disclosureAllowlist },
    overrides,
    remembered_prompts: remembered,
    quota: resolved.quota,
    risk: {
      enabled: r.enabled,
      enforce: r.enforce,
      alpha: r.alpha,
      window_size: r.windowSize,
      fail_closed: r.failClosed,
      decision_timeout_ms: r.decisionTimeoutMs,
      ledger_limit: r.ledgerLimit,
      consecutive_unsafe: r.consecutiveUnsafe,
      allowed_hosts: r.allowedHosts,
      rollout: {
        sample_window: r.rollout.sampleWindow,
        max_false_positive_rate: r.rollout.maxFalsePositiveRate,
        max_error_rate: r.rollout.maxErrorRate,
        max_avg_latency_us: r.rollout.maxAvgLatencyUs,
      },
    },
    http_egress: {
      ...explainEgressRules(egressRulesFor(egress, extensionId)),
      project_tightening: egress.project !== undefined,
      overrides: Object.fromEntries(egressIds.map((id) => [id, explainEgressRules(egressRulesFor(egress, id))])),
      private_blocks: SPECIAL_BLOCKS.map((b) => ({
        cidr: b.cidr,
        class: b.class,
        note: b.note,
        never_allowed: NEVER_ALLOWED.has(b.class),
      })),
    },
    capabilities,
    exec_mediation: {
      profile: resolved.profile,
      granted_by_name: extensionId === undefined ? null : grantedByName(resolved.compiled, 'exec', extensionId),
      rules: explainExecRules(PROFILE_PRESETS[resolved.profile].exec),
      os_sandbox: { setting: resolved.osSandbox, source: resolved.osSandbox === 'off' ? 'user' : 'default' },
    },
    precedence: RULES.map((rule) => ({ rule, description: RULE_DESCRIPTIONS[rule] })),
    methods: listMethods().map((m) => ({ method: m.method, capability: m.capability, summary: m.summary })),
    profile_presets: Object.values(PROFILE_PRESETS).map((p) => ({ profile: p.profile, mode: p.mode, summary: p.summary })),
    sources: resolved.sources,
    warnings: [...resolved.warnings, ...shadowedGrants(resolved)],
    errors: resolved.errors.map((e) => e.message),
    load_blocked: resolved.loadBlocked,
  };
}

export { CAPABILITY_MEANING };
