/**
 * `pi-warden status`: for every extension pi lists, whether it runs sandboxed, unsandboxed (and why), refused or
 * disabled, with the same pin check the runtime makes, and for a sandboxed one whether its sandbox waits for its
 * first use (ADR 0039). Read-only: nothing is re-pinned or written.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isWardenError } from '../errors.ts';
import { hostBoot } from '../sandbox/index.ts';
import { ScanVerdictCache } from '../scanner/index.ts';
import { isPiWarden, pinExtension, policyFor, type AdoptionOptions } from './adopt.ts';
import { checkPin, readAdoptionList, type AdoptedExtension, type PinState } from './adoption.ts';
import { discoverExtensions, type DiscoveredExtension } from './discover.ts';
import { bootKey, eagerReason, readRecording, type EagerReason } from './recording.ts';
import type { PiScope } from './piSettings.ts';

/**
 * `sandboxed` (adopted, pin holds); `unsandboxed` (pi loads it itself); `refused` (adopted, but it must not load);
 * `disabled` (adopted, `pi-warden disable` in force); `off` (not adopted and pi does not load it); `missing` (adopted,
 * its files are gone).
 */
export const EXTENSION_STATES = ['sandboxed', 'unsandboxed', 'refused', 'disabled', 'off', 'missing'] as const;
export type ExtensionState = (typeof EXTENSION_STATES)[number];

/**
 * `not_adopted` (new since the last adopt), `re_enabled` (adopted, and pi's filter was removed by hand), `conflict`
 * (a second extension with an adopted or listed id), `capabilities_grew`, `scan_forbidden`, `bundle_failed`,
 * `pin_updated` (a new bundle with no new capability: the runtime re-pins it), `adoption_disabled`.
 */
export const STATUS_REASONS = [
  'not_adopted',
  're_enabled',
  'conflict',
  'capabilities_grew',
  'scan_forbidden',
  'bundle_failed',
  'pin_updated',
  'adoption_disabled',
] as const;
export type StatusReason = (typeof STATUS_REASONS)[number];

/**
 * How a sandboxed extension loads in a pi session started here: `lazy` (pi gets its recorded registrations and the
 * sandbox boots on first need) or `eager` (it boots with the session; `eagerBecause` says why, per entry).
 */
export const LOAD_MODES = ['lazy', 'eager'] as const;
export type LoadMode = (typeof LOAD_MODES)[number];

export interface ExtensionStatus {
  readonly id: string;
  readonly source: string;
  readonly scope: PiScope;
  readonly origin: 'package' | 'top-level';
  readonly state: ExtensionState;
  readonly reason?: StatusReason;
  readonly detail: string;
  readonly pin?: PinState;
  /** For a sandboxed extension: lazy only when every entry may wait. */
  readonly load?: LoadMode;
  /** Why it boots with the session: each eager entry's reason (recording.ts), deduplicated. */
  readonly eagerBecause?: readonly EagerReason[];
}

export interface BridgeStatus {
  readonly disabled: boolean;
  readonly extensions: readonly ExtensionStatus[];
}

export async function status(options: Omit<AdoptionOptions, 'scope'>): Promise<BridgeStatus> {
  const places = { cwd: resolve(options.cwd), agentDir: resolve(options.agentDir) };
  const list = readAdoptionList(options.home);
  const discovery = await discoverExtensions({ ...places, pi: options.pi });
  const policy = policyFor({ ...places, ...(options.env === undefined ? {} : { env: options.env }) });
  const cache = new ScanVerdictCache();
  const adoptedById = new Map(list.extensions.map((a) => [a.id, a]));
  const out: ExtensionStatus[] = [];
  const evaluate = async (a: AdoptedExtension, e: DiscoveredExtension | undefined): Promise<ExtensionStatus> => {
    const base = { id: a.id, source: a.source, scope: a.scope, origin: a.origin };
    if (e?.enabled === true) {
      return {
        ...base,
        state: 'unsandboxed',
        reason: 're_enabled',
        detail: `adopted, but pi loads it itself: its filter in ${a.settingsChange.file} was removed; run \`pi-warden adopt ${a.id}\``,
      };
    }
    if (list.disabled)
      return { ...base, state: 'disabled', reason: 'adoption_disabled', detail: '`pi-warden disable` is in force: it does not load' };
    if (a.entries.some((p) => !existsSync(p)))
      return { ...base, state: 'missing', detail: `its files are gone (${a.entries.find((p) => !existsSync(p))})` };
    options.onProgress?.(`checking ${a.id}: bundling and scanning`);
    try {
      const now = await pinExtension(a, policy, cache);
      const pin = checkPin(a, now.bundleHash, now.capabilities);
      if (pin === 'grew') {
        const grown = now.capabilities.filter((c) => !a.capabilities.includes(c));
        return {
          ...base,
          state: 'refused',
          reason: 'capabilities_grew',
          pin,
          detail: `its update needs ${grown.join(', ')} beyond its pin: it does not load until adopted again`,
        };
      }
      const key = bootKey(hostBoot(places.cwd));
      const reasons = [...new Set(now.bundles.map((b) => eagerReason(readRecording(options.home, a.id, b.entry), b.bundleHash, key)))];
      const eagerBecause = reasons.filter((r) => r !== undefined);
      const load: Pick<ExtensionStatus, 'load' | 'eagerBecause'> =
        eagerBecause.length === 0 ? { load: 'lazy' } : { load: 'eager', eagerBecause };
      const when = load.load === 'lazy' ? 'lazy: starts on first use' : `eager: starts with the session (${eagerBecause.join(', ')})`;
      return pin === 'same'
        ? { ...base, state: 'sandboxed', pin, ...load, detail: `runs in the sandbox; ${when}` }
        : {
            ...base,
            state: 'sandboxed',
            reason: 'pin_updated',
            pin,
            ...load,
            detail: `runs in the sandbox; updated without new capabilities (re-pinned on load); ${when}`,
          };
    } catch (err) {
      if (!isWardenError(err) || err.code === 'internal') throw err;
      return { ...base, state: 'refused', reason: err.code === 'denied' ? 'scan_forbidden' : 'bundle_failed', detail: err.message };
    }
  };
  for (const e of discovery.extensions) {
    if (isPiWarden(e)) continue;
    const a = adoptedById.get(e.id);
    if (a !== undefined) out.push(await evaluate(a, e));
    else
      out.push({
        id: e.id,
        source: e.source,
        scope: e.scope,
        origin: e.origin,
        ...(e.enabled
          ? {
              state: 'unsandboxed' as const,
              reason: 'not_adopted' as const,
              detail: `pi loads it with full access; run \`pi-warden adopt ${e.id}\``,
            }
          : { state: 'off' as const, detail: "disabled in pi's settings, not adopted" }),
      });
  }
  for (const c of discovery.conflicts) {
    out.push({
      id: c.id,
      source: c.source,
      scope: c.scope,
      origin: c.origin,
      state: c.enabled ? 'unsandboxed' : 'off',
      reason: 'conflict',
      detail: c.reason,
    });
  }
  // Adopted extensions pi no longer lists here: user scope, or this project's.
  const here = resolve(places.cwd, '.pi', 'settings.json');
  for (const a of list.extensions) {
    if (discovery.extensions.some((e) => e.id === a.id)) continue;
    if (a.scope === 'project' && a.settingsChange.file !== here && dirname(a.settingsChange.file) !== dirname(here)) continue;
    out.push(await evaluate(a, undefined));
  }
  return { disabled: list.disabled, extensions: out };
}
