/**
 * pi-warden's adoption list, `<home>/adopted.json`: the extensions pi-warden runs in sandboxes instead of pi, each
 * pinned with the hash of its bundle and the capabilities its scan found, with the exact change made to pi's
 * settings so `unadopt` can undo it. The runtime reads it through `listAdopted` and `readAdoptionList`.
 *
 * Pins work as browser extension updates do: a new bundle whose needed capabilities did not grow is re-pinned and
 * keeps its grants (grants stay keyed by id); one whose capabilities grew does not load until it is adopted again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../errors.ts';
import { isCapability, type Capability } from '../policy/index.ts';
import type { PiPackageSource } from './piModule.ts';
import { writeFileAtomic, type PiScope } from './piSettings.ts';

export const ADOPTION_FILE = 'adopted.json';
const LIST_VERSION = 1;

/** What adopt wrote into pi's settings, so that unadopt restores them exactly. */
export type SettingsChange =
  | {
      readonly kind: 'package_filter';
      readonly file: string;
      readonly scope: PiScope;
      /** The `packages` entry's source, as written in the file. */
      readonly source: string;
      readonly entryBefore: PiPackageSource;
      readonly entryAfter: PiPackageSource;
      /** The file's exact text before (null: there was no file; absent: not restorable byte for byte, e.g. after install). */
      readonly fileBefore?: string | null;
      /** SHA-256 of the file's text right after the write: the file is put back byte for byte only while it matches. */
      readonly fileAfterHash: string;
    }
  | {
      readonly kind: 'extension_paths';
      readonly file: string;
      readonly scope: PiScope;
      /** The `-path` entries appended to `extensions`. */
      readonly added: readonly string[];
      readonly fileBefore?: string | null;
      readonly fileAfterHash: string;
    };

export interface AdoptedExtension {
  readonly id: string;
  readonly source: string;
  readonly scope: PiScope;
  readonly origin: 'package' | 'top-level';
  readonly entries: readonly string[];
  readonly packageRoot: string;
  /** `adoptionBundleHash` of the entries' bundles at adopt time. */
  readonly bundleHash: string;
  /** The capabilities the scan found, sorted. */
  readonly capabilities: readonly Capability[];
  /** ISO time of the adoption (or the last re-pin). */
  readonly adoptedAt: string;
  readonly settingsChange: SettingsChange;
}

export interface AdoptionList {
  /** `pi-warden disable`: no adopted extension loads (the list and the ledger are kept). */
  readonly disabled: boolean;
  readonly extensions: readonly AdoptedExtension[];
}

/** `same`; `updated`: a new bundle, capabilities did not grow (re-pin, grants kept); `grew`: must not load until adopted again. */
export const PIN_STATES = ['same', 'updated', 'grew'] as const;
export type PinState = (typeof PIN_STATES)[number];

export function checkPin(
  adopted: Pick<AdoptedExtension, 'bundleHash' | 'capabilities'>,
  currentBundleHash: string,
  currentCapabilities: readonly Capability[],
): PinState {
  const pinned = new Set(adopted.capabilities);
  if (currentCapabilities.some((c) => !pinned.has(c))) return 'grew';
  return currentBundleHash === adopted.bundleHash ? 'same' : 'updated';
}

export function adoptionPath(home: string): string {
  return join(home, ADOPTION_FILE);
}

/** The adopted extensions. Throws `settings_invalid` naming the file when it is not a valid adoption list. */
export function listAdopted(home: string): AdoptedExtension[] {
  return [...readAdoptionList(home).extensions];
}

/** The whole list (no file: nothing adopted, not disabled). */
export function readAdoptionList(home: string): AdoptionList {
  const path = adoptionPath(home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { disabled: false, extensions: [] };
    throw new WardenError('io', `cannot read ${path}: ${(err as Error).message}`, { where: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(path, `not valid JSON (${(err as Error).message})`);
  }
  return validateList(raw, path);
}

export function writeAdoptionList(home: string, list: AdoptionList): void {
  writeFileAtomic(adoptionPath(home), `${JSON.stringify({ version: LIST_VERSION, ...list }, null, 2)}\n`);
}

function invalid(path: string, found: string): WardenError {
  return new WardenError(
    'settings_invalid',
    `${path}: expected pi-warden's adoption list ({version: ${LIST_VERSION}, disabled, extensions}), found ${found}; ` +
      'no adopted extension loads until it is fixed or removed (then adopt again)',
    { where: path },
  );
}

function validateList(raw: unknown, path: string): AdoptionList {
  if (!isObject(raw)) return fail(path, 'a value that is not an object');
  if (raw.version !== LIST_VERSION) return fail(path, `version ${JSON.stringify(raw.version)}`);
  if (typeof raw.disabled !== 'boolean') return fail(path, '"disabled" that is not a boolean');
  if (!Array.isArray(raw.extensions)) return fail(path, '"extensions" that is not an array');
  const ids = new Set<string>();
  const extensions = raw.extensions.map((e: unknown, i: number) => {
    const at = `extensions[${i}]`;
    if (!isObject(e)) return fail(path, `${at} that is not an object`);
    for (const k of ['id', 'source', 'packageRoot', 'bundleHash', 'adoptedAt'] as const)
      if (typeof e[k] !== 'string' || e[k] === '') return fail(path, `${at}.${k} that is not a non-empty string`);
    if (e.scope !== 'user' && e.scope !== 'project') return fail(path, `${at}.scope ${JSON.stringify(e.scope)}`);
    if (e.origin !== 'package' && e.origin !== 'top-level') return fail(path, `${at}.origin ${JSON.stringify(e.origin)}`);
    if (!Array.isArray(e.entries) || !e.entries.every((x) => typeof x === 'string'))
      return fail(path, `${at}.entries that is not a list of paths`);
    if (!Array.isArray(e.capabilities) || !e.capabilities.every((c) => typeof c === 'string' && isCapability(c)))
      return fail(path, `${at}.capabilities that is not a list of capabilities`);
    const change = e.settingsChange;
    if (!isObject(change) || (change.kind !== 'package_filter' && change.kind !== 'extension_paths') || typeof change.file !== 'string')
      return fail(path, `${at}.settingsChange that is not a settings change`);
    if (ids.has(e.id as string)) return fail(path, `a second entry for ${String(e.id)}`);
    ids.add(e.id as string);
    return e as unknown as AdoptedExtension;
  });
  return { disabled: raw.disabled, extensions };
}

function fail(path: string, found: string): never {
  throw invalid(path, found);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
