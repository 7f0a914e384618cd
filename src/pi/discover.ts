/**
 * Every extension pi would load, or has disabled, as pi itself resolves them (`DefaultPackageManager.resolve()`
 * lists a disabled resource with `enabled: false` and its metadata), grouped into extensions and named by their
 * pi source (issue 14 item 6).
 *
 * Identity is the source, never a file name an attacker can pick: `npm:<name>` (no version) and `git:host/path`
 * as pi's `getPackageIdentity` normalises them; a local package, file or folder is its absolute real path. Two
 * groups with one id are a conflict: the first keeps the id, the second is reported and never listed as an
 * extension (so two extensions with one id never load together).
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { WardenError } from '../errors.ts';
import { locateExtensions } from '../extensions/index.ts';
import type { PiModule, PiPackageManager, PiResolvedResource } from './piModule.ts';
import { assertPiSettingsReadable, piBaseDir, piSettingsPath, type PiPlaces, type PiScope } from './piSettings.ts';

export interface DiscoveredExtension {
  /** The pi source identity: `npm:name`, `git:host/path`, or an absolute real path. */
  readonly id: string;
  /** The source as pi's settings spell it (`npm:x@1`, `../pkg`), `local` or `auto` for top-level resources. */
  readonly source: string;
  readonly scope: PiScope;
  readonly origin: 'package' | 'top-level';
  /** Absolute entry files, in pi's load order. */
  readonly entries: readonly string[];
  /** What the extension may read as its own package (the bundle's load boundary). */
  readonly packageRoot: string;
  /** True when pi loads at least one of its entries itself, outside any sandbox. */
  readonly enabled: boolean;
}

export interface DiscoveryConflict {
  readonly id: string;
  readonly source: string;
  readonly scope: PiScope;
  readonly origin: 'package' | 'top-level';
  readonly entries: readonly string[];
  readonly enabled: boolean;
  readonly reason: string;
}

export interface Discovery {
  readonly extensions: readonly DiscoveredExtension[];
  readonly conflicts: readonly DiscoveryConflict[];
}

export interface DiscoverOptions extends PiPlaces {
  readonly pi: PiModule;
}

interface Group {
  id: string;
  source: string;
  scope: PiScope;
  origin: 'package' | 'top-level';
  entries: string[];
  packageRoot: string | undefined;
  enabled: boolean;
}

/** Throws `settings_invalid` naming the file when a pi settings file does not parse. Never installs anything. */
export async function discoverExtensions(options: DiscoverOptions): Promise<Discovery> {
  const places = { cwd: resolve(options.cwd), agentDir: resolve(options.agentDir) };
  assertPiSettingsReadable(places);
  const settings = options.pi.SettingsManager.create(places.cwd, places.agentDir);
  // pi reads a file it cannot lock or parse as empty settings; discovery would then miss every filter.
  const loadError = settings.drainErrors()[0];
  if (loadError !== undefined) {
    const path = piSettingsPath(loadError.scope === 'project' ? 'project' : 'user', places);
    throw new WardenError('io', `pi could not read its settings ${path}: ${loadError.error.message}`, { where: path });
  }
  const manager = new options.pi.DefaultPackageManager({ ...places, settingsManager: settings });
  // A configured package that is not installed is skipped, as offline pi does: discovery never fetches.
  const resolved = await manager.resolve(() => Promise.resolve('skip'));
  const plainEntries: Record<PiScope, string[]> = {
    user: plain(settings.getGlobalSettings().extensions),
    project: plain(settings.getProjectSettings().extensions),
  };
  const groups = new Map<string, Group>();
  for (const r of resolved.extensions) {
    const scope = r.metadata.scope;
    if (scope === 'temporary' || r.metadata.source === 'builtin' || r.path.startsWith('builtin:')) continue;
    const key =
      r.metadata.origin === 'package'
        ? `${scope}\u0000package\u0000${r.metadata.source}`
        : `${scope}\u0000top\u0000${topLevelRoot(r, places, plainEntries[scope])}`;
    let g = groups.get(key);
    if (g === undefined) {
      g =
        r.metadata.origin === 'package'
          ? {
              id: packageId(manager, r, places),
              source: r.metadata.source,
              scope,
              origin: 'package',
              entries: [],
              packageRoot: r.metadata.packageRoot ?? localPackageRoot(r, places),
              enabled: false,
            }
          : {
              id: realPath(topLevelRoot(r, places, plainEntries[scope])),
              source: r.metadata.source,
              scope,
              origin: 'top-level',
              entries: [],
              packageRoot: undefined,
              enabled: false,
            };
      groups.set(key, g);
    }
    g.entries.push(...entryFiles(r.path));
    g.enabled ||= r.enabled;
  }
  const extensions: DiscoveredExtension[] = [];
  const conflicts: DiscoveryConflict[] = [];
  const seen = new Map<string, Group>();
  for (const g of groups.values()) {
    const first = seen.get(g.id);
    if (first !== undefined) {
      conflicts.push({
        id: g.id,
        source: g.source,
        scope: g.scope,
        origin: g.origin,
        entries: g.entries,
        enabled: g.enabled,
        reason: `a second extension with id ${g.id} (${g.scope} ${g.source}); the first (${first.scope} ${first.source}) keeps the id and this one is never sandboxed under it`,
      });
      continue;
    }
    seen.set(g.id, g);
    extensions.push({
      id: g.id,
      source: g.source,
      scope: g.scope,
      origin: g.origin,
      entries: [...new Set(g.entries)],
      packageRoot: g.packageRoot ?? packageRootOf(g.entries[0] ?? g.id),
      enabled: g.enabled,
    });
  }
  return { extensions, conflicts };
}

function plain(entries: readonly string[] | undefined): string[] {
  return (entries ?? []).filter((e) => typeof e === 'string' && !/^[!+-]/.test(e));
}

/** `npm:name` and `git:host/path` as pi's own `getPackageIdentity` has them; a local source is its real path. */
function packageId(manager: PiPackageManager, r: PiResolvedResource, places: PiPlaces): string {
  const identity = (manager as unknown as { getPackageIdentity?: (source: string, scope?: string) => string }).getPackageIdentity;
  if (typeof identity !== 'function') {
    throw new WardenError('invalid_request', "pi's package manager has no getPackageIdentity: expected pi 0.73 or later");
  }
  const id = identity.call(manager, r.metadata.source, r.metadata.scope);
  if (id.startsWith('npm:') || id.startsWith('git:')) return id;
  return realPath(localSourcePath(r, places));
}

/** A local package source as pi resolves it: against the scope's folder, `~` as the home folder. */
function localSourcePath(r: PiResolvedResource, places: PiPlaces): string {
  const base = piBaseDir(r.metadata.scope === 'project' ? 'project' : 'user', places);
  return resolve(base, expandHome(r.metadata.source.trim()));
}

function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

/**
 * The file or folder a top-level resource belongs to: the settings entry that named it, or the first component
 * below the auto-discovered `extensions/` folder, unless that folder (or the entry) is one extension itself.
 */
function topLevelRoot(r: PiResolvedResource, places: PiPlaces, plainEntries: readonly string[]): string {
  const scope = r.metadata.scope === 'project' ? 'project' : 'user';
  const base = r.metadata.baseDir ?? piBaseDir(scope, places);
  const containers =
    r.metadata.source === 'auto' ? [join(base, 'extensions')] : plainEntries.map((e) => resolve(base, expandHome(e.trim())));
  const container = containers.filter((c) => c === r.path || r.path.startsWith(c + sep)).sort((a, b) => b.length - a.length)[0];
  if (container === undefined || container === r.path) return r.path;
  if (hasOwnEntry(container)) return container;
  return join(container, relative(container, r.path).split(sep)[0] ?? '');
}

/** pi's `resolveExtensionEntries`: a folder with its own entry (manifest items that exist, or an index) is one extension. */
function hasOwnEntry(dir: string): boolean {
  if (existsSync(join(dir, 'index.ts')) || existsSync(join(dir, 'index.js'))) return true;
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { pi?: { extensions?: unknown } };
    const items = pkg.pi?.extensions;
    return Array.isArray(items) && items.some((e) => typeof e === 'string' && existsSync(resolve(dir, e)));
  } catch {
    return false;
  }
}

/** A resource pi lists as a folder (a package without a manifest) is the folder's module entry. */
function entryFiles(path: string): string[] {
  try {
    if (statSync(path).isFile()) return [path];
    return locateExtensions(path, { home: homedir() }).flatMap((e) => e.entries);
  } catch {
    return [path];
  }
}

/** A local folder source is its own package root (pi 0.73.1 does not report it); npm and git ones always are reported. */
function localPackageRoot(r: PiResolvedResource, places: PiPlaces): string | undefined {
  const p = localSourcePath(r, places);
  try {
    return statSync(p).isDirectory() ? p : undefined;
  } catch {
    return undefined;
  }
}

function packageRootOf(path: string): string {
  try {
    const located = locateExtensions(path, { home: homedir() });
    return located.length === 1 && located[0] !== undefined ? located[0].packageRoot : path;
  } catch {
    return dirname(path);
  }
}

function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}
