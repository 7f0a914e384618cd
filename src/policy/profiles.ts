/**
 * Profile presets (SPEC §4.2). The lists follow the reference; what differs is the default (safe, not
 * permissive) and that exec/env/net stay behind `allowDangerous` in every profile, permissive included. Each preset
 * also carries its exec mediation rules (SPEC §5.4), read by src/mediation/exec/stage.ts and printed by `policy
 * explain`.
 */
import type { Capability } from './capabilities.ts';
import { EXEC_CLASSES, type ExecClass } from './execClasses.ts';

export const PROFILES = ['safe', 'balanced', 'permissive'] as const;
export type Profile = (typeof PROFILES)[number];

export const MODES = ['strict', 'prompt', 'permissive'] as const;
export type Mode = (typeof MODES)[number];

/** What exec mediation does with a command: run it, put it to the user, or refuse it. */
export const EXEC_VERDICTS = ['allow', 'prompt', 'deny'] as const;
export type ExecVerdict = (typeof EXEC_VERDICTS)[number];

/** A verdict for an extension that has `exec` granted by name (override allow list or remembered answer), and one for any other. */
export interface ExecRule {
  readonly granted: ExecVerdict;
  readonly ungranted: ExecVerdict;
}

/** Exec mediation's rules (SPEC §5.4); the strictest verdict among what a command shows decides. */
export interface ExecRules {
  readonly classes: Readonly<Record<ExecClass, ExecRule>>;
  /** `shell: true`: the whole command string is run by a shell. */
  readonly shell: ExecRule;
  /** A working directory outside the workspace. */
  readonly cwdOutsideWorkspace: ExecRule;
}

export interface ProfilePreset {
  readonly profile: Profile;
  readonly mode: Mode;
  readonly defaultCaps: readonly Capability[];
  readonly denyCaps: readonly Capability[];
  readonly exec: ExecRules;
  readonly summary: string;
}

const BENIGN: readonly Capability[] = ['read', 'write', 'http', 'events', 'session'];

const NEVER: ExecRule = { granted: 'deny', ungranted: 'deny' };
/** Never run for an extension, whatever the profile or grant: what would run cannot be read, or is an attack. */
const NEVER_RUN: ReadonlySet<ExecClass> = new Set([
  'destructive_fs',
  'pipe_to_shell',
  'privilege_escalation',
  'credential_access',
  'obfuscated',
  'unparseable',
]);

/** The exec rules of a profile: the classes outside NEVER_RUN run with a named grant, otherwise as `ungranted` says. */
function execRules(ungranted: ExecVerdict): ExecRules {
  const classes = Object.fromEntries(EXEC_CLASSES.map((c) => [c, NEVER_RUN.has(c) ? NEVER : { granted: 'allow', ungranted }])) as Record<
    ExecClass,
    ExecRule
  >;
  // `shell: true` and the working directory are never put to the user: a named grant, and the workspace.
  return { classes, shell: { granted: 'allow', ungranted: 'deny' }, cwdOutsideWorkspace: NEVER };
}

export const PROFILE_PRESETS: Readonly<Record<Profile, ProfilePreset>> = {
  safe: {
    profile: 'safe',
    mode: 'strict',
    defaultCaps: BENIGN,
    denyCaps: ['exec', 'env', 'net'],
    exec: execRules('deny'),
    summary: 'Deny by default: only read, write, http, events and session; everything else denied.',
  },
  balanced: {
    profile: 'balanced',
    mode: 'prompt',
    defaultCaps: BENIGN,
    denyCaps: ['exec', 'env', 'net'],
    exec: execRules('prompt'),
    summary: 'Benign capabilities allowed; ui, tool and log ask the user; exec, env and net denied.',
  },
  permissive: {
    profile: 'permissive',
    mode: 'permissive',
    defaultCaps: [],
    denyCaps: [],
    exec: execRules('allow'),
    summary: 'Allow what is not denied; exec, env and net still need allowDangerous.',
  },
};

/** Higher is stricter. Used to keep project settings from loosening the user's policy. */
export const PROFILE_STRICTNESS: Readonly<Record<Profile, number>> = { permissive: 0, balanced: 1, safe: 2 };

/** `standard` is the reference's legacy name of `balanced`. */
const ALIASES: ReadonlyMap<string, Profile> = new Map([
  ['safe', 'safe'],
  ['balanced', 'balanced'],
  ['standard', 'balanced'],
  ['permissive', 'permissive'],
]);

/** Trims and lowercases; returns undefined for an unknown name (the caller falls back to safe with a warning). */
export function parseProfile(raw: string): Profile | undefined {
  return ALIASES.get(raw.trim().toLowerCase());
}
