/**
 * The precedence chain (SPEC §4.2, INV-001..INV-007): one ordered list of rules, one evaluator, and a compiled
 * table for dispatch. `policy explain` prints the same chain and the rule that decided each capability.
 *
 * First match wins:
 *   extension_deny > deny_caps > dangerous_gate > extension_allow > default_caps > mode > remembered_prompt
 * The dangerous gate is part of the global deny: exec/env/net are denied unless allowDangerous, whatever an override
 * or the mode says. A remembered prompt answer only ever replaces a `prompt`, so it can never beat a deny.
 */
import { CAPABILITIES, CAPABILITY_INDEX, isDangerous, type Capability } from './capabilities.ts';
import type { Mode, Profile } from './profiles.ts';
import { overrideKey } from './extensionId.ts';

export type Decision = 'allow' | 'deny' | 'prompt';

export const RULES = [
  'extension_deny',
  'deny_caps',
  'dangerous_gate',
  'extension_allow',
  'default_caps',
  'mode',
  'remembered_prompt',
] as const;
export type Rule = (typeof RULES)[number];

export const RULE_DESCRIPTIONS: Readonly<Record<Rule, string>> = {
  extension_deny: "the extension's own deny list (extensionPolicy.overrides.<id>.deny)",
  deny_caps: 'the global deny list (extensionPolicy.denyCaps); no override can bypass it',
  dangerous_gate: 'exec, env and net are denied unless extensionPolicy.allowDangerous is true',
  extension_allow: "the extension's own allow list (extensionPolicy.overrides.<id>.allow)",
  default_caps: 'the profile default capabilities (extensionPolicy.defaultCaps)',
  mode: 'the mode fallback: strict denies, prompt asks, permissive allows',
  remembered_prompt: 'a prompt answer the user chose to remember for this extension',
};

/**
 * The reason of each verdict, in the reference's vocabulary so ledgers and alerts read the same. The policy stage
 * records it; what a `prompt_required` came to is recorded in the prompt vocabulary (dispatch/stages/policy.ts).
 */
export const POLICY_REASONS = [
  'extension_deny',
  'deny_caps',
  'dangerous_not_allowed',
  'extension_allow',
  'default_caps',
  'not_in_default_caps',
  'prompt_required',
  'permissive',
  'prompt_remembered_allow',
  'prompt_remembered_deny',
] as const;
export type PolicyReason = (typeof POLICY_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    policy: PolicyReason;
  }
}

export interface ExtensionOverride {
  readonly allow: readonly Capability[];
  readonly deny: readonly Capability[];
}

/** What the evaluator needs; produced by `resolvePolicy` from settings, env and CLI. */
export interface PolicyRules {
  readonly profile: Profile;
  readonly mode: Mode;
  readonly defaultCaps: readonly Capability[];
  readonly denyCaps: readonly Capability[];
  readonly allowDangerous: boolean;
  readonly overrides: ReadonlyMap<string, ExtensionOverride>;
  /** Remembered prompt answers: extension id → capability → answer. */
  readonly promptAnswers: ReadonlyMap<string, ReadonlyMap<Capability, 'allow' | 'deny'>>;
}

export interface CapabilityVerdict {
  readonly decision: Decision;
  readonly rule: Rule;
  readonly reason: PolicyReason;
}

/** Walks the chain for one capability. Pure; used to compile the table and by explain. */
export function evaluateCapability(rules: PolicyRules, capability: Capability, extensionId?: string): CapabilityVerdict {
  const override = extensionId === undefined ? undefined : rules.overrides.get(extensionId);
  if (override?.deny.includes(capability)) return { decision: 'deny', rule: 'extension_deny', reason: 'extension_deny' };
  if (rules.denyCaps.includes(capability)) return { decision: 'deny', rule: 'deny_caps', reason: 'deny_caps' };
  if (isDangerous(capability) && !rules.allowDangerous) {
    return { decision: 'deny', rule: 'dangerous_gate', reason: 'dangerous_not_allowed' };
  }
  if (override?.allow.includes(capability)) return { decision: 'allow', rule: 'extension_allow', reason: 'extension_allow' };
  if (rules.defaultCaps.includes(capability)) return { decision: 'allow', rule: 'default_caps', reason: 'default_caps' };
  if (rules.mode === 'strict') return { decision: 'deny', rule: 'mode', reason: 'not_in_default_caps' };
  if (rules.mode === 'permissive') return { decision: 'allow', rule: 'mode', reason: 'permissive' };
  const remembered = extensionId === undefined ? undefined : rules.promptAnswers.get(extensionId)?.get(capability);
  if (remembered === 'allow') return { decision: 'allow', rule: 'remembered_prompt', reason: 'prompt_remembered_allow' };
  if (remembered === 'deny') return { decision: 'deny', rule: 'remembered_prompt', reason: 'prompt_remembered_deny' };
  return { decision: 'prompt', rule: 'mode', reason: 'prompt_required' };
}

/**
 * What lifts a denial, by the rule that made it: the chain above is checked in order, so a per-extension allow
 * cannot lift a global deny (`deny_caps`) or the dangerous gate. Alert remediations quote this, so they name an
 * action that works.
 */
export function liftDenial(rules: PolicyRules, reason: PolicyReason, capability: Capability, extensionId: string): string {
  const grant = `${overrideKey(extensionId)}.allow`;
  // The presets deny exec/env/net through denyCaps; allowDangerous is what removes them from there.
  if (reason === 'deny_caps' && isDangerous(capability) && !rules.allowDangerous) reason = 'dangerous_not_allowed';
  switch (reason) {
    case 'extension_deny':
      return `The user settings deny ${capability} to ${extensionId} (${overrideKey(extensionId)}.deny); remove it there only if the extension needs it`;
    case 'deny_caps':
      return `${capability} is denied to every extension by extensionPolicy.denyCaps or the profile's preset; a per-extension allow cannot lift it: remove ${capability} from denyCaps or choose a profile that does not deny it (this opens it to all extensions), then add it to ${grant}`;
    case 'dangerous_not_allowed':
      return `${capability} is dangerous and closed to every extension until extensionPolicy.allowDangerous is true; a per-extension allow alone cannot lift it: set allowDangerous (and remove ${capability} from extensionPolicy.denyCaps if listed there) and add ${capability} to ${grant}`;
    case 'prompt_remembered_deny':
      return `A remembered answer denies it: \`pi-warden policy forget --extension ${extensionId} --capability ${capability}\` to be asked again, or add ${capability} to ${grant}`;
    default:
      return `If this is expected, add ${capability} to ${grant}`;
  }
}

/**
 * The compiled form used on the dispatch hot path: one frozen verdict per capability, for the global policy and
 * for each extension that has an override or remembered answers. Lookups allocate nothing.
 */
export interface CompiledPolicy {
  readonly rules: PolicyRules;
  readonly global: readonly CapabilityVerdict[];
  readonly perExtension: ReadonlyMap<string, readonly CapabilityVerdict[]>;
}

function compileRow(rules: PolicyRules, extensionId?: string): readonly CapabilityVerdict[] {
  return Object.freeze(CAPABILITIES.map((c) => Object.freeze(evaluateCapability(rules, c, extensionId))));
}

export function compilePolicy(rules: PolicyRules): CompiledPolicy {
  const ids = new Set<string>([...rules.overrides.keys(), ...rules.promptAnswers.keys()]);
  const perExtension = new Map<string, readonly CapabilityVerdict[]>();
  for (const id of ids) perExtension.set(id, compileRow(rules, id));
  return Object.freeze({ rules, global: compileRow(rules), perExtension });
}

/** O(1), allocation-free verdict lookup. */
export function verdictFor(policy: CompiledPolicy, capability: Capability, extensionId: string): CapabilityVerdict {
  const row = policy.perExtension.get(extensionId) ?? policy.global;
  return row[CAPABILITY_INDEX.get(capability) as number] as CapabilityVerdict;
}

/**
 * Is the capability granted to this extension by name (its override's allow list or a remembered prompt answer),
 * not just by the profile? Mediation asks this before handing out credentials or running `shell: true`.
 */
export function grantedByName(policy: CompiledPolicy, capability: Capability, extensionId: string): boolean {
  const v = verdictFor(policy, capability, extensionId);
  return v.decision === 'allow' && (v.rule === 'extension_allow' || v.rule === 'remembered_prompt');
}
