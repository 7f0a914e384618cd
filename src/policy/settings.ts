/**
 * Where the policy comes from (SPEC §4.3): CLI `--extension-policy` > env `PI_EXTENSION_POLICY` > project
 * `.pi/settings.json` > user `<agentDir>/settings.json` > `safe`.
 *
 * Two rules the reference lacks:
 * - An invalid settings file is an error naming the file, the key and what was expected. An invalid project file
 *   is ignored and the user's policy stands in full: a repository must not be able to drop the user's denials by
 *   committing a broken file. An invalid user file blocks loading (`loadBlocked`) until it is fixed: what the user
 *   meant cannot be known, and guessing (e.g. plain `safe`) may be looser than what they wrote.
 * - A project file lives in the repository, where a hostile commit or the agent itself can edit it, so by default
 *   it may only tighten: a stricter profile, allowDangerous false, more denied capabilities, stricter risk switches.
 *   Anything else it says is ignored with a warning, unless the user file sets `trustProjectSettings: true`.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { WardenError } from '../errors.ts';
import { isDangerous, type Capability } from './capabilities.ts';
import { netGrantFrom, type NetGrant } from './netGrants.ts';
import { NO_EGRESS_SETTINGS, type EgressLayer, type HttpEgressPolicy, type HttpEgressSettings } from './egressSettings.ts';
import { compilePolicy, type CompiledPolicy, type ExtensionOverride, type PolicyRules } from './precedence.ts';
import { PROFILE_PRESETS, PROFILE_STRICTNESS, parseProfile, type Profile } from './profiles.ts';
import {
  parseSettingsText,
  validateSettings,
  type ExtensionPolicySettings,
  type ExtensionRiskSettings,
  type QuotaSettings,
  type ExportSettings,
  type SettingsFile,
  type SettingsProblem,
} from './settingsSchema.ts';
import { overrideKey } from './extensionId.ts';
import type { OsSandboxSetting } from './osSandbox.ts';

export type ProfileSource = 'cli' | 'env' | 'project' | 'user' | 'default';
export type SettingsScope = 'project' | 'user';

export interface SettingsSourceStatus {
  readonly scope: SettingsScope;
  readonly path: string;
  readonly status: 'loaded' | 'absent' | 'invalid';
}

export interface SettingsError {
  readonly scope: SettingsScope;
  readonly path: string;
  readonly key: string;
  readonly expected: string;
  readonly actual: string;
  readonly message: string;
}

export interface RolloutSettings {
  readonly sampleWindow: number;
  readonly maxFalsePositiveRate: number;
  readonly maxErrorRate: number;
  readonly maxAvgLatencyUs: number;
}

export interface RiskSettings {
  readonly enabled: boolean;
  readonly enforce: boolean;
  readonly alpha: number;
  readonly windowSize: number;
  readonly failClosed: boolean;
  readonly decisionTimeoutMs: number;
  readonly ledgerLimit: number;
  readonly consecutiveUnsafe: number;
  readonly allowedHosts: readonly string[];
  readonly rollout: RolloutSettings;
}

/** The runbook's "Rolling Back Risk Controller Settings" values, plus ours. */
export const RISK_DEFAULTS: RiskSettings = Object.freeze({
  enabled: false,
  enforce: true,
  alpha: 0.01,
  windowSize: 128,
  failClosed: true,
  decisionTimeoutMs: 50,
  ledgerLimit: 2048,
  consecutiveUnsafe: 3,
  allowedHosts: [],
  rollout: Object.freeze({ sampleWindow: 200, maxFalsePositiveRate: 0.05, maxErrorRate: 0.02, maxAvgLatencyUs: 500 }),
});

/** `PI_EXTENSION_RISK_*` (env beats settings, field by field); a bad value is a warning and is ignored. */
function riskFromEnv(env: Readonly<Record<string, string | undefined>>, warnings: string[]): Partial<Record<keyof RiskSettings, unknown>> {
  const out: Partial<Record<keyof RiskSettings, unknown>> = {};
  const bool = (name: string, key: keyof RiskSettings) => {
    const v = envFlag(env[name], name, warnings);
    if (v !== undefined) out[key] = v;
  };
  const num = (name: string, key: keyof RiskSettings, min: number, max: number, integer: boolean) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return;
    const n = Number(raw.trim());
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      warnings.push(`env ${name}="${raw}" is not ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]; ignored`);
      return;
    }
    out[key] = n;
  };
  bool('PI_EXTENSION_RISK_ENABLED', 'enabled');
  bool('PI_EXTENSION_RISK_ENFORCE', 'enforce');
  bool('PI_EXTENSION_RISK_FAIL_CLOSED', 'failClosed');
  num('PI_EXTENSION_RISK_ALPHA', 'alpha', 1e-6, 0.5, false);
  num('PI_EXTENSION_RISK_WINDOW', 'windowSize', 8, 4096, true);
  num('PI_EXTENSION_RISK_DECISION_TIMEOUT_MS', 'decisionTimeoutMs', 1, 2000, true);
  num('PI_EXTENSION_RISK_LEDGER_LIMIT', 'ledgerLimit', 32, 20000, true);
  num('PI_EXTENSION_RISK_CONSECUTIVE_UNSAFE', 'consecutiveUnsafe', 1, 100, true);
  return out;
}

export interface ResolvedPolicy {
  readonly requestedProfile: string | undefined;
  readonly profile: Profile;
  readonly profileSource: ProfileSource;
  readonly allowDangerousSource: ProfileSource;
  readonly rules: PolicyRules;
  readonly compiled: CompiledPolicy;
  readonly secretBroker: { readonly enabled: boolean; readonly disclosureAllowlist: readonly string[] };
  readonly quota: QuotaSettings;
  readonly overrideQuotas: ReadonlyMap<string, QuotaSettings>;
  /** Per extension id: paths granted beyond the project and data folder (`~` expanded), SPEC §5.5. */
  readonly fsGrants: ReadonlyMap<string, { readonly read: readonly string[]; readonly write: readonly string[] }>;
  /** Per extension id: the sockets its `net` grant names (user settings only, ADR 0038). */
  readonly netGrants: ReadonlyMap<string, NetGrant>;
  /** Extension ids whose override sets `allowForbiddenScan: true` (the scanner gate lets them load). */
  readonly allowForbiddenScan: ReadonlySet<string>;
  /** HTTP egress settings by layer; `egressRulesFor` gives one extension's rules. */
  readonly httpEgress: HttpEgressPolicy;
  readonly risk: RiskSettings;
  readonly sources: readonly SettingsSourceStatus[];
  /** Non-fatal: unknown profile names, ignored project keys. */
  readonly warnings: readonly string[];
  /** Invalid settings files, both scopes: a project file's are ignored with the file, a user file's block loading. */
  readonly errors: readonly SettingsError[];
  /**
   * The user settings file is invalid: no extension may load until it is fixed (`assertLoadAllowed`). The rest of
   * this policy is then the `safe` fallback, for the operator commands that print or check it.
   */
  readonly loadBlocked: boolean;
  readonly userSettingsPath: string;
  /**
   * Whether children run inside the OS sandbox (`on`, the default) or without it (`off`): from the user file's
   * `extensionPolicy.exec.osSandbox` only, since turning it off loosens and a project file may not (even trusted).
   */
  readonly osSandbox: OsSandboxSetting;
  /** `extensionPolicy.export` from the user file only (src/export resolves it with OTEL_EXPORTER_OTLP_*). */
  readonly export: ExportSettings | undefined;
}

export interface ResolveOptions {
  /** Value of `--extension-policy`, if given. */
  readonly cliProfile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Explicit settings files instead of the project/user discovery (used by `policy diff`). */
  readonly files?: ReadonlyArray<{ readonly scope: SettingsScope; readonly path: string }>;
}

/**
 * `$PI_CODING_AGENT_DIR` (with `~` expanded) or `~/.pi/agent`. Only absolute paths count: a relative one would
 * resolve inside the current project, turning a repository file into the trusted user file.
 */
export function agentDir(env: Readonly<Record<string, string | undefined>>): string {
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  const configured = env.PI_CODING_AGENT_DIR?.trim();
  if (configured !== undefined && configured !== '') {
    const dir = configured === '~' ? home : configured.startsWith('~/') ? join(home, configured.slice(2)) : configured;
    if (isAbsolute(dir)) return resolve(dir);
  }
  return join(home, '.pi', 'agent');
}

export function userSettingsPath(env: Readonly<Record<string, string | undefined>>): string {
  return join(agentDir(env), 'settings.json');
}

export function projectSettingsPath(cwd: string): string {
  return join(resolve(cwd), '.pi', 'settings.json');
}

const MAX_SETTINGS_BYTES = 1024 * 1024;

interface LoadedFile {
  readonly scope: SettingsScope;
  readonly path: string;
  readonly settings: SettingsFile | undefined;
  readonly status: SettingsSourceStatus['status'];
  readonly errors: SettingsError[];
}

function settingsError(scope: SettingsScope, path: string, p: SettingsProblem): SettingsError {
  return { scope, path, ...p, message: `${path}: ${p.key}: expected ${p.expected}, found ${p.actual}` };
}

const SECTIONS = ['extensionPolicy', 'extensionRisk'] as const;

/** Edit distance, for names of a dozen characters. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Top-level keys are pi's and are left alone, except one that looks like our sections but is not (`extension_policy`,
 * `extensionPolicey`, `ExtensionRisk`): read as absent it would silently drop the policy it was meant to hold.
 */
function sectionLookalikes(parsed: object): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  for (const key of Object.keys(parsed)) {
    if ((SECTIONS as readonly string[]).includes(key)) continue;
    const folded = key.toLowerCase().replace(/[-_\s]/g, '');
    const meant = SECTIONS.find((s) => editDistance(folded, s.toLowerCase()) <= 2);
    if (meant === undefined) continue;
    out.push(
      /[-_]/.test(key) && folded === meant.toLowerCase()
        ? { key, expected: `the camelCase key "${meant}" (snake_case is not read)`, actual: 'snake_case key' }
        : { key, expected: `the key "${meant}" (a misspelt section is not read)`, actual: JSON.stringify(key) },
    );
  }
  return out;
}

/** Reads and validates one file. A missing file is not an error; anything unreadable or invalid is. */
export function loadSettingsFile(scope: SettingsScope, path: string): LoadedFile {
  let text: string;
  let fd: number | undefined;
  try {
    // Non-blocking open and fstat: a FIFO or device planted as settings.json must not hang or exhaust memory.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (st.size > MAX_SETTINGS_BYTES)
      throw Object.assign(new Error(`larger than ${MAX_SETTINGS_BYTES} bytes (${st.size})`), { code: 'EFBIG' });
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { scope, path, settings: undefined, status: 'absent', errors: [] };
    const problem = {
      key: '(file)',
      expected: 'a readable regular file of at most 1 MiB',
      actual: `${code ?? 'error'}: ${(err as Error).message}`,
    };
    return { scope, path, settings: undefined, status: 'invalid', errors: [settingsError(scope, path, problem)] };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const json = parseSettingsText(text);
  if (!json.ok) return { scope, path, settings: undefined, status: 'invalid', errors: [settingsError(scope, path, json.problem)] };
  const parsed = json.value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    // The kind only, never the value: the file may be a link to something that is not settings.
    const problem = {
      key: '(top level)',
      expected: 'a JSON object',
      actual: Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`,
    };
    return { scope, path, settings: undefined, status: 'invalid', errors: [settingsError(scope, path, problem)] };
  }
  const problems = [...validateSettings(parsed), ...sectionLookalikes(parsed)];
  if (problems.length > 0) {
    return { scope, path, settings: undefined, status: 'invalid', errors: problems.map((p) => settingsError(scope, path, p)) };
  }
  return { scope, path, settings: parsed, status: 'loaded', errors: [] };
}

interface Layered {
  policy: ExtensionPolicySettings;
  risk: ExtensionRiskSettings;
  profileScope: SettingsScope | undefined;
  allowDangerousScope: SettingsScope | undefined;
  /** Capabilities an untrusted project file adds to whatever the global deny list turns out to be. */
  extraDenyCaps: Capability[];
  /** An untrusted project file's egress settings: applied on top of the user's, tightening only. */
  egressTighten: EgressLayer | undefined;
}

function union<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): T[] | undefined {
  if (a === undefined && b === undefined) return undefined;
  return [...new Set([...(a ?? []), ...(b ?? [])])];
}

/** Project over user. Trusted: key by key (overrides per extension id). Untrusted: tighten-only, see file header. */
function mergeLayers(user: SettingsFile | undefined, project: SettingsFile | undefined, projectPath: string, warnings: string[]): Layered {
  const u = user?.extensionPolicy ?? {};
  const ur = user?.extensionRisk ?? {};
  const out: Layered = {
    policy: { ...u },
    risk: { ...ur },
    profileScope: u.profile !== undefined ? 'user' : undefined,
    allowDangerousScope: u.allowDangerous !== undefined ? 'user' : undefined,
    extraDenyCaps: [],
    egressTighten: undefined,
  };
  if (project === undefined) return out;
  const p = project.extensionPolicy ?? {};
  const pr = project.extensionRisk ?? {};
  if (p.trustProjectSettings !== undefined) {
    warnings.push(`${projectPath}: extensionPolicy.trustProjectSettings ignored: only the user settings file can trust project settings`);
  }
  if (u.trustProjectSettings === true) {
    const { trustProjectSettings: _ignored, overrides, ...rest } = p;
    Object.assign(out.policy, rest);
    if (overrides !== undefined) out.policy.overrides = { ...u.overrides, ...overrides };
    Object.assign(out.risk, pr);
    if (p.profile !== undefined) out.profileScope = 'project';
    if (p.allowDangerous !== undefined) out.allowDangerousScope = 'project';
    return out;
  }
  const ignore = (key: string, why: string) =>
    warnings.push(
      `${projectPath}: ${key} ignored: ${why}; a project file may only tighten the policy unless the user settings set extensionPolicy.trustProjectSettings`,
    );

  if (p.profile !== undefined) {
    const userProfile = (u.profile === undefined ? undefined : parseProfile(u.profile)) ?? 'safe';
    const projectProfile = parseProfile(p.profile);
    if (projectProfile === undefined) {
      warnings.push(`${projectPath}: extensionPolicy.profile "${p.profile}" is not a profile (safe, balanced, permissive); using safe`);
      out.policy.profile = 'safe';
      out.profileScope = 'project';
    } else if (PROFILE_STRICTNESS[projectProfile] >= PROFILE_STRICTNESS[userProfile]) {
      out.policy.profile = projectProfile;
      out.profileScope = 'project';
    } else {
      ignore(`extensionPolicy.profile "${p.profile}"`, `it is looser than the user profile "${userProfile}"`);
    }
  }
  if (p.allowDangerous === false) {
    out.policy.allowDangerous = false;
    out.allowDangerousScope = 'project';
  } else if (p.allowDangerous === true && u.allowDangerous !== true) {
    ignore('extensionPolicy.allowDangerous true', 'it would open exec, env and net');
  }
  if (p.denyCaps !== undefined) out.extraDenyCaps = [...p.denyCaps];
  for (const key of ['defaultCaps', 'quota', 'secretBroker', 'promptAnswers'] as const) {
    if (p[key] !== undefined) ignore(`extensionPolicy.${key}`, 'it can grant more than the user settings');
  }
  const egressOverrides: Record<string, HttpEgressSettings> = {};
  const tightenEgress = (key: string, http: HttpEgressSettings): HttpEgressSettings => {
    const { allowPrivate, ...rest } = http;
    if (allowPrivate !== undefined) ignore(`${key}.allowPrivate`, 'it opens private addresses');
    return rest;
  };
  if (p.overrides !== undefined) {
    const merged: Record<string, NonNullable<ExtensionPolicySettings['overrides']>[string]> = { ...u.overrides };
    for (const [id, o] of Object.entries(p.overrides)) {
      if (o.http !== undefined) egressOverrides[id] = tightenEgress(`${overrideKey(id)}.http`, o.http);
      if (o.allow !== undefined) ignore(`${overrideKey(id)}.allow`, 'it grants capabilities');
      if (o.quota !== undefined) ignore(`${overrideKey(id)}.quota`, 'it can raise limits');
      if (o.allowForbiddenScan !== undefined) ignore(`${overrideKey(id)}.allowForbiddenScan`, 'it lets a forbidden scan verdict load');
      if (o.fs !== undefined) ignore(`${overrideKey(id)}.fs`, 'it grants file access');
      if (o.net !== undefined) ignore(`${overrideKey(id)}.net`, 'it grants sockets');
      if (o.deny !== undefined) merged[id] = { ...merged[id], deny: union(merged[id]?.deny, o.deny) };
    }
    out.policy.overrides = merged;
  }
  if (p.http !== undefined || Object.keys(egressOverrides).length > 0) {
    out.egressTighten = { defaults: p.http === undefined ? {} : tightenEgress('extensionPolicy.http', p.http), overrides: egressOverrides };
  }
  for (const [key, value] of Object.entries(pr) as Array<[keyof ExtensionRiskSettings, unknown]>) {
    const tightening = (key === 'enabled' || key === 'enforce' || key === 'failClosed') && value === true;
    if (tightening) (out.risk as Record<string, unknown>)[key] = true;
    else ignore(`extensionRisk.${key}`, 'only enabled, enforce and failClosed set to true can come from a project file');
  }
  return out;
}

function envFlag(raw: string | undefined, name: string, warnings: string[]): boolean | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === 'off') return false;
  warnings.push(`env ${name}="${raw}" is not a boolean (1/true/yes/on or 0/false/no/off); ignored`);
  return undefined;
}

function fsGrantsFrom(settings: ExtensionPolicySettings, env: Readonly<Record<string, string | undefined>>): ResolvedPolicy['fsGrants'] {
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  const expand = (p: string) => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const out = new Map<string, { read: string[]; write: string[] }>();
  for (const [id, o] of Object.entries(settings.overrides ?? {})) {
    if (o.fs !== undefined) out.set(id, { read: (o.fs.read ?? []).map(expand), write: (o.fs.write ?? []).map(expand) });
  }
  return out;
}

function netGrantsFrom(settings: ExtensionPolicySettings, env: Readonly<Record<string, string | undefined>>): Map<string, NetGrant> {
  const out = new Map<string, NetGrant>();
  for (const [id, o] of Object.entries(settings.overrides ?? {})) if (o.net !== undefined) out.set(id, netGrantFrom(o.net, env));
  return out;
}

function overridesFrom(settings: ExtensionPolicySettings): Map<string, ExtensionOverride> {
  const map = new Map<string, ExtensionOverride>();
  for (const [id, o] of Object.entries(settings.overrides ?? {})) map.set(id, { allow: o.allow ?? [], deny: o.deny ?? [] });
  return map;
}

function promptAnswersFrom(settings: ExtensionPolicySettings): Map<string, Map<Capability, 'allow' | 'deny'>> {
  const map = new Map<string, Map<Capability, 'allow' | 'deny'>>();
  for (const [id, answers] of Object.entries(settings.promptAnswers ?? {})) {
    map.set(id, new Map(Object.entries(answers) as Array<[Capability, 'allow' | 'deny']>));
  }
  return map;
}

/** Builds the rules for a profile. allowDangerous removes exec/env/net from the preset deny list, never from an explicit one. */
export function rulesFor(
  profile: Profile,
  allowDangerous: boolean,
  settings: ExtensionPolicySettings = {},
  extraDenyCaps: readonly Capability[] = [],
): PolicyRules {
  const preset = PROFILE_PRESETS[profile];
  const presetDeny = allowDangerous ? preset.denyCaps.filter((c) => !isDangerous(c)) : preset.denyCaps;
  return {
    profile,
    mode: preset.mode,
    defaultCaps: settings.defaultCaps ?? preset.defaultCaps,
    denyCaps: union(settings.denyCaps ?? presetDeny, extraDenyCaps) ?? [],
    allowDangerous,
    overrides: overridesFrom(settings),
    promptAnswers: promptAnswersFrom(settings),
  };
}

/** Resolves the effective policy from CLI, env and settings files. Never throws for bad input: see `errors`. */
export function resolvePolicy(options: ResolveOptions = {}): ResolvedPolicy {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const configuredDir = env.PI_CODING_AGENT_DIR?.trim();
  if (
    configuredDir !== undefined &&
    configuredDir !== '' &&
    !isAbsolute(configuredDir) &&
    configuredDir !== '~' &&
    !configuredDir.startsWith('~/')
  ) {
    warnings.push(`PI_CODING_AGENT_DIR="${configuredDir}" is not an absolute path; ignored (using ${agentDir(env)})`);
  }
  const userPath = userSettingsPath(env);
  const files = options.files ?? [
    { scope: 'project' as const, path: projectSettingsPath(options.cwd ?? process.cwd()) },
    { scope: 'user' as const, path: userPath },
  ];
  const loaded = files.map((f) => loadSettingsFile(f.scope, f.path));
  const errors = loaded.flatMap((l) => l.errors);
  const sources = loaded.map(({ scope, path, status }) => ({ scope, path, status }));
  const user = loaded.find((l) => l.scope === 'user');
  const project = loaded.find((l) => l.scope === 'project');

  if (project?.status === 'invalid') {
    warnings.push(`${project.path} is invalid and ignored until it is fixed: the user settings apply without it`);
  }
  if (user?.status === 'invalid') {
    const rules = rulesFor('safe', false);
    return {
      requestedProfile: undefined,
      profile: 'safe',
      profileSource: 'default',
      allowDangerousSource: 'default',
      rules,
      compiled: compilePolicy(rules),
      secretBroker: { enabled: true, disclosureAllowlist: [] },
      quota: {},
      overrideQuotas: new Map(),
      allowForbiddenScan: new Set(),
      fsGrants: new Map(),
      netGrants: new Map(),
      httpEgress: NO_EGRESS_SETTINGS,
      risk: RISK_DEFAULTS,
      sources,
      warnings: [...warnings, `${user.path} is invalid: no extension loads until it is fixed`],
      errors,
      loadBlocked: true,
      userSettingsPath: userPath,
      osSandbox: 'on',
      export: undefined,
    };
  }

  const layered = mergeLayers(user?.settings, project?.settings, project?.path ?? '(project)', warnings);
  const settings = layered.policy;
  if (project?.settings?.extensionPolicy?.export !== undefined)
    warnings.push(`${project.path}: extensionPolicy.export ignored: only the user settings file can send evidence off the machine`);
  if (project?.settings?.extensionPolicy?.exec?.osSandbox === 'off')
    warnings.push(`${project.path}: extensionPolicy.exec.osSandbox "off" ignored: only the user settings file can turn the OS sandbox off`);

  let requestedProfile: string | undefined;
  let profileSource: ProfileSource = 'default';
  const envProfile = env.PI_EXTENSION_POLICY;
  if (options.cliProfile !== undefined) {
    requestedProfile = options.cliProfile;
    profileSource = 'cli';
  } else if (envProfile !== undefined && envProfile.trim() !== '') {
    requestedProfile = envProfile;
    profileSource = 'env';
  } else if (settings.profile !== undefined) {
    requestedProfile = settings.profile;
    profileSource = layered.profileScope ?? 'user';
  }
  let profile: Profile = 'safe';
  if (requestedProfile !== undefined) {
    const parsed = parseProfile(requestedProfile);
    if (parsed === undefined) {
      warnings.push(`unknown profile "${requestedProfile}" from ${profileSource}: using safe (profiles: safe, balanced, permissive)`);
    } else {
      profile = parsed;
    }
  }

  let allowDangerous = settings.allowDangerous === true;
  let allowDangerousSource: ProfileSource = layered.allowDangerousScope ?? 'default';
  const envDangerous = envFlag(env.PI_EXTENSION_ALLOW_DANGEROUS, 'PI_EXTENSION_ALLOW_DANGEROUS', warnings);
  if (envDangerous !== undefined) {
    allowDangerous = envDangerous;
    allowDangerousSource = 'env';
  }

  const rules = rulesFor(profile, allowDangerous, settings, layered.extraDenyCaps);
  const overrideQuotas = new Map<string, QuotaSettings>();
  for (const [id, o] of Object.entries(settings.overrides ?? {})) if (o.quota !== undefined) overrideQuotas.set(id, o.quota);
  const allowForbiddenScan = new Set(
    Object.entries(settings.overrides ?? {})
      .filter(([, o]) => o.allowForbiddenScan === true)
      .map(([id]) => id),
  );
  return {
    requestedProfile,
    profile,
    profileSource,
    allowDangerousSource,
    rules,
    compiled: compilePolicy(rules),
    secretBroker: {
      enabled: settings.secretBroker?.enabled ?? true,
      disclosureAllowlist: settings.secretBroker?.disclosureAllowlist ?? [],
    },
    quota: settings.quota ?? {},
    overrideQuotas,
    allowForbiddenScan,
    fsGrants: fsGrantsFrom(settings, env),
    netGrants: netGrantsFrom(settings, env),
    httpEgress: {
      user: {
        defaults: settings.http ?? {},
        overrides: Object.fromEntries(
          Object.entries(settings.overrides ?? {}).flatMap(([id, o]) => (o.http === undefined ? [] : [[id, o.http]])),
        ),
      },
      project: layered.egressTighten,
    },
    risk: {
      ...RISK_DEFAULTS,
      ...layered.risk,
      rollout: { ...RISK_DEFAULTS.rollout, ...layered.risk.rollout },
      ...riskFromEnv(env, warnings),
    } as RiskSettings,
    sources,
    warnings,
    errors,
    loadBlocked: false,
    userSettingsPath: userPath,
    osSandbox: user?.settings?.extensionPolicy?.exec?.osSandbox ?? 'on',
    export: user?.settings?.extensionPolicy?.export,
  };
}

/** The load gate for invalid user settings: every load path calls this before it bundles or runs an extension. */
export function assertLoadAllowed(policy: ResolvedPolicy): void {
  if (!policy.loadBlocked) return;
  const errors = policy.errors.filter((e) => e.scope === 'user');
  const path = errors[0]?.path ?? policy.userSettingsPath;
  throw new WardenError(
    'settings_invalid',
    `no extension loads while the user settings are invalid; fix ${path}: ${errors.map((e) => `${e.key}: expected ${e.expected}, found ${e.actual}`).join('; ')}`,
    { where: path },
  );
}
