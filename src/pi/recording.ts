/**
 * What an extension entry's factory registered when it last ran, kept so that a later session can show pi the
 * same registrations without booting the sandbox until the extension is first needed (issue 18 item 4, ADR 0039).
 * One file per entry under `<home>/registrations/`, written by the bridge after a boot.
 *
 * A recording is proof of nothing by itself: it is bound to the entry's bundle hash and to the boot values the
 * guest sees without asking (cwd, home, platform, ...), and it lists what the factory asked the host while it
 * loaded (env, files, flags: anything but registering). Only a recording with no such inputs can stand in for a
 * boot; the sandbox compares what the factory registers at boot with it, and a difference stops the extension.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../evidence/index.ts';
import type { BootInfo } from '../sandbox/index.ts';
import { REGISTRATION_KINDS, type Registration, type RegistrationKind } from './host.ts';
import { sha256, writeFileAtomic } from './piSettings.ts';

const RECORDING_VERSION = 1;

export interface RegistrationRecording {
  readonly extensionId: string;
  readonly entry: string;
  /** The bundle the factory ran from. */
  readonly bundleHash: string;
  /** `bootKey` of the boot values the guest saw. */
  readonly bootKey: string;
  /** What it registered while loading, in order. */
  readonly registrations: readonly Registration[];
  /** The methods it called while loading other than registrations (and registrations the pipeline refused), sorted. */
  readonly inputs: readonly string[];
  /** False once a boot registered differently from this recording: the entry boots eagerly until its bundle changes. */
  readonly stable: boolean;
  readonly recordedAt: string;
}

/**
 * Why an entry boots at load instead of on first need: `lazy_off` (the session asked for eager loads),
 * `no_recording`, `bundle_changed`, `boot_changed` (another cwd, home, platform or pi's built-in tools),
 * `reads_at_load` (its factory asked the host for something), `unstable` (a boot registered differently before),
 * `startup_event` (it subscribes to an event pi fires at start-up or with every prompt), `not_deferrable` (a
 * registration pi calls synchronously or that lives outside a tool, command or event: renderers, providers, bus).
 */
export const EAGER_REASONS = [
  'lazy_off',
  'no_recording',
  'bundle_changed',
  'boot_changed',
  'reads_at_load',
  'unstable',
  'startup_event',
  'not_deferrable',
] as const;
export type EagerReason = (typeof EAGER_REASONS)[number];

/** Registrations a proxy can stand in for until the sandbox boots: each is called by pi asynchronously, on demand. */
export const DEFERRABLE_KINDS: ReadonlySet<RegistrationKind> = new Set(['tool', 'command', 'flag', 'shortcut', 'event']);

/**
 * Events that fire only on an action (a tool call, a user's `!command`, a session switch, fork, compaction or tree
 * move, the end of the session), never at start-up or with every prompt. Anything else (session_start,
 * resources_discover, before_agent_start, input, context, turn and message events, and every event this list does
 * not know) boots the extension at load: there would be no gain, and an unknown event is not assumed rare.
 */
export const DEFERRABLE_EVENTS: ReadonlySet<string> = new Set([
  'tool_call',
  'tool_result',
  'tool_execution_start',
  'tool_execution_update',
  'tool_execution_end',
  'user_bash',
  'session_before_switch',
  'session_before_fork',
  'session_before_compact',
  'session_compact',
  'session_before_tree',
  'session_tree',
  'session_shutdown',
]);

/** The methods that only register: calling them at load is not reading anything. */
const REGISTERING: ReadonlySet<string> = new Set(Object.keys(REGISTRATION_KINDS));

export function isRegistering(method: string): boolean {
  return REGISTERING.has(method);
}

/** The boot values a factory can read without a hostcall, as one hash (the data folder's tmpdir is the extension's own). */
export function bootKey(boot: BootInfo): string {
  const { tmpdir: _own, ...seen } = boot;
  return sha256(canonicalJson(seen));
}

/** Whether `recording` may stand in for a boot of the entry now, or why not. */
export function eagerReason(recording: RegistrationRecording | undefined, bundleHash: string, key: string): EagerReason | undefined {
  if (recording === undefined) return 'no_recording';
  if (recording.bundleHash !== bundleHash) return 'bundle_changed';
  if (!recording.stable) return 'unstable';
  if (recording.bootKey !== key) return 'boot_changed';
  if (recording.inputs.length > 0) return 'reads_at_load';
  if (recording.registrations.some((r) => !DEFERRABLE_KINDS.has(r.kind))) return 'not_deferrable';
  if (recording.registrations.some((r) => r.kind === 'event' && !DEFERRABLE_EVENTS.has(r.name))) return 'startup_event';
  return undefined;
}

/** What differs between two lists of registrations, one line per difference; empty when they are the same. */
export function registrationChanges(recorded: readonly Registration[], now: readonly Registration[]): string[] {
  const text = (list: readonly Registration[]) => canonicalJson(list.map((r) => [r.kind, r.name, r.description]));
  if (text(recorded) === text(now)) return [];
  const before = keyed(recorded);
  const after = keyed(now);
  const out: string[] = [];
  for (const [k, r] of after) {
    const old = before.get(k);
    if (old === undefined) out.push(`${k} added`);
    else if (canonicalJson(old.description) !== canonicalJson(r.description)) out.push(`${k} changed`);
  }
  for (const k of before.keys()) if (!after.has(k)) out.push(`${k} dropped`);
  // The same registrations in another order: pi calls handlers in registration order.
  return out.length > 0 ? out : ['registered in another order'];
}

/** Registrations by kind and name, a second one of a name (two handlers of one event) numbered. */
function keyed(list: readonly Registration[]): Map<string, Registration> {
  const out = new Map<string, Registration>();
  const seen = new Map<string, number>();
  for (const r of list) {
    const k = `${r.kind} ${r.name}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    out.set(n === 1 ? k : `${k} #${n}`, r);
  }
  return out;
}

function recordingPath(home: string, extensionId: string, entry: string): string {
  return join(home, 'registrations', `${sha256(`${extensionId}\n${entry}`)}.json`);
}

/** The entry's recording, or undefined when there is none or it is not one this version wrote (then it boots eagerly). */
export function readRecording(home: string, extensionId: string, entry: string): RegistrationRecording | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(recordingPath(home, extensionId, entry), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(raw) || raw.version !== RECORDING_VERSION || raw.extensionId !== extensionId || raw.entry !== entry) return undefined;
  const { bundleHash, bootKey: key, registrations, inputs, stable, recordedAt } = raw;
  if (typeof bundleHash !== 'string' || typeof key !== 'string' || typeof stable !== 'boolean' || typeof recordedAt !== 'string')
    return undefined;
  if (!Array.isArray(inputs) || !inputs.every((m) => typeof m === 'string')) return undefined;
  if (!Array.isArray(registrations) || !registrations.every(isRegistration)) return undefined;
  return { extensionId, entry, bundleHash, bootKey: key, registrations, inputs, stable, recordedAt };
}

export function writeRecording(home: string, recording: RegistrationRecording): void {
  writeFileAtomic(
    recordingPath(home, recording.extensionId, recording.entry),
    `${JSON.stringify({ version: RECORDING_VERSION, ...recording }, null, 2)}\n`,
  );
}

/** Whether a new recording says anything the stored one does not (a session that changes nothing writes nothing). */
export function sameRecording(a: RegistrationRecording | undefined, b: Omit<RegistrationRecording, 'recordedAt'>): boolean {
  return (
    a !== undefined &&
    a.bundleHash === b.bundleHash &&
    a.bootKey === b.bootKey &&
    a.stable === b.stable &&
    a.inputs.join('\n') === b.inputs.join('\n') &&
    registrationChanges(a.registrations, b.registrations).length === 0
  );
}

const KINDS: ReadonlySet<string> = new Set(Object.values(REGISTRATION_KINDS));

function isRegistration(v: unknown): v is Registration {
  return isObject(v) && typeof v.kind === 'string' && KINDS.has(v.kind) && typeof v.name === 'string' && isObject(v.description);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
