/**
 * The package route's settings side (issue 14 items 1 and 6): `adopt` takes an extension away from pi (pi's own
 * disable filter, the entry `pi config` writes, in the scope where the extension is configured) and records it in
 * pi-warden's adoption list pinned to its bundle; `unadopt` gives it back exactly; `install` is `pi install` that
 * never lets pi load the package: fetched, configured already disabled, scanned (the install gate), adopted.
 *
 * Order matters for failing closed: pi's settings are written first and checked with pi's own resolver, the list
 * second. A crash in between leaves the extension loaded by nobody, never by both.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { isWardenError, WardenError } from '../errors.ts';
import type { LocatedExtension } from '../extensions/index.ts';
import { resolvePolicy, type Capability, type ResolvedPolicy } from '../policy/index.ts';
import { bundleEntry } from '../sandbox/index.ts';
import { scanBeforeLoad, ScanVerdictCache } from '../scanner/index.ts';
import { readAdoptionList, writeAdoptionList, type AdoptedExtension, type AdoptionList, type SettingsChange } from './adoption.ts';
import { discoverExtensions, type DiscoveredExtension } from './discover.ts';
import type { PiModule, PiPackageFilter, PiPackageSource, PiSettings, PiSettingsManager } from './piModule.ts';
import {
  changePiSettings,
  piBaseDir,
  piSettingsPath,
  readPiSettingsText,
  restorePiSettingsText,
  sha256,
  type PiPlaces,
  type PiScope,
} from './piSettings.ts';

export interface AdoptionOptions extends PiPlaces {
  /** pi-warden's home (adopted.json lives there). */
  readonly home: string;
  readonly pi: PiModule;
  /** Only extensions configured in this scope. */
  readonly scope?: PiScope;
  /** Environment for the policy (allowForbiddenScan); default process.env with PI_CODING_AGENT_DIR = agentDir. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Progress for long work (bundling, scanning), one line each. */
  readonly onProgress?: (line: string) => void;
}

/** Why an extension was not adopted: `self` (pi-warden itself), `scan_forbidden`, `bundle_failed`, `conflict` (a second extension with one id). */
export const ADOPT_SKIP_REASONS = ['self', 'scan_forbidden', 'bundle_failed', 'conflict'] as const;
export type AdoptSkipReason = (typeof ADOPT_SKIP_REASONS)[number];

export interface AdoptOutcome {
  readonly id: string;
  /** `adopted`, `repinned` (adopted before: new pin, settings written again if pi had it enabled), or `refused`. */
  readonly result: 'adopted' | 'repinned' | 'refused';
  readonly reason?: AdoptSkipReason;
  readonly message?: string;
  readonly extension?: AdoptedExtension;
}

// ---------------------------------------------------------------- pins

/** One hash for an extension's bundles, in entry order: what the runtime recomputes to check the pin. */
export async function adoptionBundleHash(entries: readonly string[], packageRoot: string): Promise<string> {
  return (await entryBundles(entries, packageRoot, undefined)).bundleHash;
}

/** Each entry's bundle hash (what a registration recording is bound to) and the one hash of them all. */
async function entryBundles(
  entries: readonly string[],
  packageRoot: string,
  cacheDir: string | undefined,
): Promise<{ bundleHash: string; bundles: Array<{ entry: string; bundleHash: string }> }> {
  const bundles: Array<{ entry: string; bundleHash: string }> = [];
  for (const path of entries) {
    const { entry, bundleHash } = await bundleEntry(path, { packageRoot, ...(cacheDir === undefined ? {} : { cacheDir }) });
    bundles.push({ entry, bundleHash });
  }
  return { bundleHash: sha256(JSON.stringify(bundles.map((b) => b.bundleHash))), bundles };
}

/** The extension as the scanner names it. */
export function locatedFor(e: Pick<DiscoveredExtension, 'id' | 'entries' | 'packageRoot'>): LocatedExtension {
  const root =
    existsSync(join(e.packageRoot, 'package.json')) || !e.entries.includes(e.packageRoot) ? e.packageRoot : dirname(e.packageRoot);
  const packageJson = join(root, 'package.json');
  return { id: e.id, root, packageRoot: e.packageRoot, entries: e.entries, ...(existsSync(packageJson) ? { packageJson } : {}) };
}

/**
 * The pin of an extension as it is on disk now: its bundle hash and the capabilities its scan found (and each
 * entry's bundle hash). Throws
 * `denied` (`scan_forbidden`) when the scan gate refuses it, `invalid_request` (`bundle_failed`) when it does not bundle.
 */
export async function pinExtension(
  e: Pick<DiscoveredExtension, 'id' | 'entries' | 'packageRoot'>,
  policy: Pick<ResolvedPolicy, 'allowForbiddenScan'>,
  cache: ScanVerdictCache = new ScanVerdictCache(),
  cacheDir?: string,
): Promise<{ bundleHash: string; capabilities: Capability[]; bundles: Array<{ entry: string; bundleHash: string }> }> {
  const { bundleHash, bundles } = await entryBundles(e.entries, e.packageRoot, cacheDir);
  const { report } = scanBeforeLoad(locatedFor(e), bundleHash, policy, cache);
  const capabilities = [...new Set(report.capabilities.map((c) => c.capability))].sort();
  return { bundleHash, capabilities, bundles };
}

export function policyFor(options: Pick<AdoptionOptions, 'cwd' | 'agentDir' | 'env'>): ResolvedPolicy {
  return resolvePolicy({ cwd: options.cwd, env: options.env ?? { ...process.env, PI_CODING_AGENT_DIR: options.agentDir } });
}

/** What adopted.json keeps of an extension: where it is, its pin, and what was written into pi's settings. */
function adoptionRecord(
  e: DiscoveredExtension,
  pin: { bundleHash: string; capabilities: Capability[] },
  settingsChange: SettingsChange,
): AdoptedExtension {
  return {
    id: e.id,
    source: e.source,
    scope: e.scope,
    origin: e.origin,
    entries: e.entries,
    packageRoot: e.packageRoot,
    bundleHash: pin.bundleHash,
    capabilities: pin.capabilities,
    adoptedAt: new Date().toISOString(),
    settingsChange,
  };
}

// ---------------------------------------------------------------- pi-warden itself

let ownRoot: string | undefined;

/** pi-warden's own package folder (real path). */
function wardenRoot(): string {
  if (ownRoot !== undefined) return ownRoot;
  for (let d = import.meta.dirname; d !== dirname(d); d = dirname(d)) {
    try {
      if ((JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: unknown }).name === 'pi-warden')
        return (ownRoot = realpathSync(d));
    } catch {
      // keep walking
    }
  }
  return (ownRoot = realpathSync(import.meta.dirname));
}

/** pi-warden is the one extension that must run in pi: adopting it would leave nothing to load the others. */
export function isPiWarden(e: Pick<DiscoveredExtension, 'id' | 'packageRoot'>): boolean {
  if (e.id === 'npm:pi-warden' || e.id === wardenRoot()) return true;
  try {
    return realpathSync(e.packageRoot) === wardenRoot();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- adopt

/**
 * Adopts the extensions named by `sources` (ids, or sources as pi's settings spell them, or paths), or all that pi
 * lists. Throws `invalid_request` naming the known ids when a source matches nothing (before anything is written).
 */
export async function adopt(sources: readonly string[] | 'all', options: AdoptionOptions): Promise<AdoptOutcome[]> {
  const places = { cwd: resolve(options.cwd), agentDir: resolve(options.agentDir) };
  const discovery = await discoverExtensions({ ...places, pi: options.pi });
  const inScope = discovery.extensions.filter((e) => options.scope === undefined || e.scope === options.scope);
  const outcomes: AdoptOutcome[] = [];
  let targets: DiscoveredExtension[];
  if (sources === 'all') {
    targets = inScope.filter((e) => !isPiWarden(e));
    for (const c of discovery.conflicts) outcomes.push({ id: c.id, result: 'refused', reason: 'conflict', message: c.reason });
  } else {
    targets = [];
    for (const s of sources) {
      const matched = matchSource(s, inScope, options.pi, places);
      if (matched.length === 0) {
        throw new WardenError(
          'invalid_request',
          `no extension ${s}${options.scope === undefined ? '' : ` in ${options.scope} scope`}: expected one of pi's extensions (${inScope.map((e) => e.id).join(', ') || 'none configured'})`,
          { where: s },
        );
      }
      for (const m of matched) if (!targets.includes(m)) targets.push(m);
    }
  }
  const policy = policyFor({ ...places, ...(options.env === undefined ? {} : { env: options.env }) });
  const cache = new ScanVerdictCache();
  for (const e of targets) {
    if (isPiWarden(e)) {
      outcomes.push({
        id: e.id,
        result: 'refused',
        reason: 'self',
        message: 'pi-warden is never adopted: it is what loads the adopted extensions',
      });
      continue;
    }
    options.onProgress?.(`adopting ${e.id}: bundling and scanning ${e.entries.length} entr${e.entries.length === 1 ? 'y' : 'ies'}`);
    outcomes.push(await adoptOne(e, options, places, policy, cache));
  }
  return outcomes;
}

async function adoptOne(
  e: DiscoveredExtension,
  options: AdoptionOptions,
  places: PiPlaces,
  policy: ResolvedPolicy,
  cache: ScanVerdictCache,
): Promise<AdoptOutcome> {
  let pin: { bundleHash: string; capabilities: Capability[] };
  try {
    pin = await pinExtension(e, policy, cache);
  } catch (err) {
    if (!isWardenError(err) || err.code === 'internal') throw err;
    return { id: e.id, result: 'refused', reason: err.code === 'denied' ? 'scan_forbidden' : 'bundle_failed', message: err.message };
  }
  const list = readAdoptionList(options.home);
  const previous = list.extensions.find((a) => a.id === e.id);
  let settingsChange = previous?.settingsChange;
  if (previous === undefined || e.enabled) {
    settingsChange = await writeDisableFilter(options.pi, places, e);
    await assertPiDisabled(options.pi, places, e, settingsChange);
  }
  const record = adoptionRecord(e, pin, settingsChange as SettingsChange);
  saveRecord(options.home, record);
  return { id: e.id, result: previous === undefined ? 'adopted' : 'repinned', extension: record };
}

function saveRecord(home: string, record: AdoptedExtension): void {
  const list = readAdoptionList(home);
  const others = list.extensions.filter((a) => a.id !== record.id);
  writeAdoptionList(home, { disabled: list.disabled, extensions: [...others, record] });
}

/** An argument of `adopt`: an id, a source as the settings spell it, a path, or an npm/git source pi normalises. */
function matchSource(arg: string, extensions: readonly DiscoveredExtension[], pi: PiModule, places: PiPlaces): DiscoveredExtension[] {
  const direct = extensions.filter((e) => e.id === arg || e.source === arg);
  if (direct.length > 0) return direct;
  let id: string | undefined;
  const path = resolve(places.cwd, arg);
  if (existsSync(path)) id = realpathSync(path);
  else {
    const manager = new pi.DefaultPackageManager({ ...places, settingsManager: pi.SettingsManager.inMemory({}) });
    const identity = (manager as unknown as { getPackageIdentity?: (s: string) => string }).getPackageIdentity;
    if (typeof identity === 'function') id = identity.call(manager, arg);
  }
  return extensions.filter((e) => e.id === id);
}

function settingsOf(manager: PiSettingsManager, scope: PiScope): PiSettings {
  return scope === 'user' ? manager.getGlobalSettings() : manager.getProjectSettings();
}

function setPackages(manager: PiSettingsManager, scope: PiScope, packages: PiPackageSource[]): void {
  if (scope === 'user') manager.setPackages(packages);
  else manager.setProjectPackages(packages);
}

function setExtensionPaths(manager: PiSettingsManager, scope: PiScope, paths: string[]): void {
  if (scope === 'user') manager.setExtensionPaths(paths);
  else manager.setProjectExtensionPaths(paths);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const sourceOf = (p: PiPackageSource): string => (typeof p === 'string' ? p : p.source);

/** pi's disable filter for the extension, as `pi config` writes it, in the scope where it is configured. */
async function writeDisableFilter(pi: PiModule, places: PiPlaces, e: DiscoveredExtension): Promise<SettingsChange> {
  const file = piSettingsPath(e.scope, places);
  const before = readPiSettingsText(file);
  let change: DistributiveOmit<SettingsChange, 'fileAfterHash'> | undefined;
  await changePiSettings(pi, places, (manager) => {
    const settings = settingsOf(manager, e.scope);
    if (e.origin === 'package') {
      const packages = [...(settings.packages ?? [])];
      const i = packages.findIndex((p) => sourceOf(p) === e.source);
      const entryBefore = packages[i];
      if (entryBefore === undefined) {
        throw new WardenError('internal', `${file}: expected a packages entry for ${e.source} (pi listed it), found none`, { where: file });
      }
      const entryAfter: PiPackageFilter =
        typeof entryBefore === 'string' ? { source: entryBefore, extensions: [] } : { ...entryBefore, extensions: [] };
      packages[i] = entryAfter;
      setPackages(manager, e.scope, packages);
      change = { kind: 'package_filter', file, scope: e.scope, source: e.source, entryBefore, entryAfter, fileBefore: before ?? null };
    } else {
      const base = piBaseDir(e.scope, places);
      const current = [...(settings.extensions ?? [])];
      const added = e.entries.map((p) => `-${relative(base, p)}`).filter((p) => !current.includes(p));
      setExtensionPaths(manager, e.scope, [...current, ...added]);
      change = { kind: 'extension_paths', file, scope: e.scope, added, fileBefore: before ?? null };
    }
  });
  if (change === undefined) throw new WardenError('internal', `${file}: the disable filter for ${e.id} was not written`);
  return { ...change, fileAfterHash: sha256(readFileSync(file, 'utf8')) };
}

/** pi's own resolver must now list every entry disabled; otherwise the write is undone and adoption fails. */
async function assertPiDisabled(pi: PiModule, places: PiPlaces, e: DiscoveredExtension, change: SettingsChange): Promise<void> {
  const after = await discoverExtensions({ ...places, pi });
  const still = after.extensions.find((x) => x.id === e.id && x.enabled);
  if (still === undefined) return;
  await revertChange(pi, places, change);
  throw new WardenError(
    'internal',
    `${e.id}: expected pi to list it disabled after writing its filter to ${change.file}, found it still enabled (${still.scope} ${still.source}); the settings were restored`,
    { where: change.file },
  );
}

// ---------------------------------------------------------------- unadopt

/** How a settings change was undone: byte for byte, entry by entry, or not at all (changed by hand since). */
export type RevertResult = 'restored_exactly' | 'reverted' | 'left_as_is';

export interface UnadoptOutcome {
  readonly id: string;
  readonly settings: RevertResult;
}

/**
 * Gives adopted extensions back to pi, the latest adopted first, so that files changed only by adoptions come back
 * byte for byte. Throws `invalid_request` naming the adopted ids when an id is not adopted.
 */
export async function unadopt(ids: readonly string[] | 'all', options: Omit<AdoptionOptions, 'scope' | 'env'>): Promise<UnadoptOutcome[]> {
  const places = { cwd: resolve(options.cwd), agentDir: resolve(options.agentDir) };
  const list = readAdoptionList(options.home);
  if (ids !== 'all') {
    const unknown = ids.filter((id) => !list.extensions.some((a) => a.id === id));
    if (unknown.length > 0) {
      throw new WardenError(
        'invalid_request',
        `not adopted: ${unknown.join(', ')}; expected one of ${list.extensions.map((a) => a.id).join(', ') || '(nothing is adopted)'}`,
      );
    }
  }
  const chosen = list.extensions.filter((a) => ids === 'all' || ids.includes(a.id)).reverse();
  const outcomes: UnadoptOutcome[] = [];
  for (const a of chosen) {
    const settings = await revertChange(options.pi, placesOf(a.settingsChange, places), a.settingsChange);
    const now = readAdoptionList(options.home);
    writeAdoptionList(options.home, { disabled: now.disabled, extensions: now.extensions.filter((x) => x.id !== a.id) });
    outcomes.push({ id: a.id, settings });
  }
  return outcomes;
}

/** The places a change was made in: its file names its scope's folder. */
function placesOf(change: SettingsChange, current: PiPlaces): PiPlaces {
  return change.scope === 'user'
    ? { cwd: current.cwd, agentDir: dirname(change.file) }
    : { cwd: dirname(dirname(change.file)), agentDir: current.agentDir };
}

async function revertChange(pi: PiModule, places: PiPlaces, change: SettingsChange): Promise<RevertResult> {
  const current = readPiSettingsText(change.file);
  if (change.fileBefore !== undefined && current !== undefined && sha256(current) === change.fileAfterHash) {
    restorePiSettingsText(change.file, change.fileBefore ?? undefined);
    return 'restored_exactly';
  }
  let result: RevertResult = 'left_as_is';
  await changePiSettings(pi, places, (manager) => {
    const settings = settingsOf(manager, change.scope);
    if (change.kind === 'package_filter') {
      const packages = [...(settings.packages ?? [])];
      const i = packages.findIndex((p) => sourceOf(p) === change.source);
      const entry = packages[i];
      if (entry === undefined || typeof entry === 'string') return;
      if (JSON.stringify(entry) === JSON.stringify(change.entryAfter)) packages[i] = change.entryBefore;
      else if (Array.isArray(entry.extensions) && entry.extensions.length === 0) {
        // Changed otherwise since: put back only the extensions filter.
        const { extensions: _dropped, ...rest } = entry;
        const beforeExtensions = typeof change.entryBefore === 'string' ? undefined : change.entryBefore.extensions;
        const restored: PiPackageFilter = beforeExtensions === undefined ? rest : { ...rest, extensions: beforeExtensions };
        const filtered = ['extensions', 'skills', 'prompts', 'themes', 'autoload'].some((k) => k in restored);
        packages[i] = filtered ? restored : restored.source;
      } else return;
      setPackages(manager, change.scope, packages);
      result = 'reverted';
    } else {
      const paths = [...(settings.extensions ?? [])];
      let removed = false;
      for (const p of change.added) {
        const i = paths.indexOf(p);
        if (i >= 0) {
          paths.splice(i, 1);
          removed = true;
        }
      }
      if (!removed) return;
      setExtensionPaths(manager, change.scope, paths);
      result = 'reverted';
    }
  });
  return result;
}

// ---------------------------------------------------------------- disable / enable

/** `pi-warden disable` / `enable`: the flag the runtime reads; the list, pins and ledger are kept. */
export function setAdoptionDisabled(home: string, disabled: boolean): AdoptionList {
  const list = readAdoptionList(home);
  const next = { disabled, extensions: list.extensions };
  writeAdoptionList(home, next);
  return next;
}

// ---------------------------------------------------------------- install

export interface InstallOptions extends Omit<AdoptionOptions, 'scope'> {
  /** Project scope (`pi install -l`). */
  readonly local?: boolean;
}

export interface InstallOutcome {
  readonly source: string;
  /** `adopted`; `refused` (the scan gate refused it: uninstalled and removed from pi's settings again). */
  readonly result: 'adopted' | 'refused';
  readonly id?: string;
  readonly message?: string;
  readonly extension?: AdoptedExtension;
}

/**
 * `pi install SOURCE` through pi's package manager, except that the settings entry pi writes is disabled from its
 * first write (`{source, extensions: []}`), so no pi starting meanwhile loads it; then the install gate (the scan)
 * and adoption. A forbidden verdict removes the package again. A source already configured is adopted as it is.
 */
export async function install(source: string, options: InstallOptions): Promise<InstallOutcome> {
  const places = { cwd: resolve(options.cwd), agentDir: resolve(options.agentDir) };
  const scope: PiScope = options.local === true ? 'project' : 'user';
  const file = piSettingsPath(scope, places);
  const textBefore = readPiSettingsText(file);
  // The entry `pi install` would write, normalised by pi itself (a local path relative to the scope's folder).
  const scratch = options.pi.SettingsManager.inMemory({});
  new options.pi.DefaultPackageManager({ ...places, settingsManager: scratch }).addSourceToSettings(source, {
    local: options.local === true,
  });
  const written = settingsOf(scratch, scope).packages?.[0];
  if (written === undefined) throw new WardenError('internal', `pi wrote no settings entry for ${source}`);
  const entrySource = sourceOf(written);
  const manager = options.pi.SettingsManager.create(places.cwd, places.agentDir);
  const configured = (settingsOf(manager, scope).packages ?? []).some((p) => sourceOf(p) === entrySource);
  if (configured) {
    const [outcome] = await adopt([entrySource], { ...options, scope });
    return {
      source,
      result: outcome?.result === 'refused' ? 'refused' : 'adopted',
      id: outcome?.id,
      message: outcome?.message,
      extension: outcome?.extension,
    };
  }
  options.onProgress?.(`installing ${source} (through pi's package manager)`);
  const packageManager = new options.pi.DefaultPackageManager({ ...places, settingsManager: manager });
  await packageManager.install(source, { local: options.local === true });
  const entryAfter: PiPackageFilter = { source: entrySource, extensions: [] };
  await changePiSettings(options.pi, places, (m) => setPackages(m, scope, [...(settingsOf(m, scope).packages ?? []), entryAfter]));
  const change: SettingsChange = {
    kind: 'package_filter',
    file,
    scope,
    source: entrySource,
    entryBefore: entrySource,
    entryAfter,
    fileAfterHash: sha256(readFileSync(file, 'utf8')),
  };
  const discovery = await discoverExtensions({ ...places, pi: options.pi });
  const e = discovery.extensions.find((x) => x.scope === scope && x.source === entrySource);
  const removeAgain = async (why: string): Promise<void> => {
    options.onProgress?.(`removing ${source} again: ${why}`);
    await packageManager.remove(source, { local: options.local === true });
    const now = readPiSettingsText(file);
    if (now !== undefined && sha256(now) === change.fileAfterHash) restorePiSettingsText(file, textBefore);
    else
      await changePiSettings(options.pi, places, (m) =>
        setPackages(
          m,
          scope,
          (settingsOf(m, scope).packages ?? []).filter((p) => sourceOf(p) !== entrySource),
        ),
      );
  };
  if (e === undefined) {
    await removeAgain('pi lists no extension in it');
    throw new WardenError(
      'invalid_request',
      `${source}: expected a pi package with extensions, found none after installing it; removed again`,
      { where: source },
    );
  }
  if (isPiWarden(e)) {
    await removeAgain('pi-warden is never adopted');
    throw new WardenError(
      'invalid_request',
      `${source} is pi-warden itself: install it with \`pi install ${source}\`, it is never adopted`,
    );
  }
  options.onProgress?.(`scanning ${e.id} (the install gate)`);
  let pin: { bundleHash: string; capabilities: Capability[] };
  try {
    pin = await pinExtension(e, policyFor({ ...places, ...(options.env === undefined ? {} : { env: options.env }) }));
  } catch (err) {
    if (!isWardenError(err) || err.code === 'internal') throw err;
    await removeAgain(err.code === 'denied' ? 'its scan verdict is forbidden' : 'it does not bundle');
    return { source, result: 'refused', id: e.id, message: err.message };
  }
  const record = adoptionRecord(e, pin, change);
  saveRecord(options.home, record);
  return { source, result: 'adopted', id: e.id, extension: record };
}
