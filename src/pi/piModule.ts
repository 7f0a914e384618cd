/**
 * pi's own module, found the way the user's pi is found: pi-warden reads and writes pi's settings and resolves pi's
 * resources through pi's exported classes (`SettingsManager`, `DefaultPackageManager`), so that what pi-warden
 * disables is what pi would load, in every pi version, without a copy of pi's rules here.
 *
 * Typed narrowly: only what pi-warden calls. Checked against pi 1.6.0, 1.5.2 (`@earendil-works/pi-coding-agent`)
 * and 0.73.1 (`@mariozechner/pi-coding-agent`), `dist/core/settings-manager.d.ts` and `package-manager.d.ts`.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WardenError } from '../errors.ts';

/** The npm names pi is published under (new, then old). */
export const PI_PACKAGE_NAMES = ['@earendil-works/pi-coding-agent', '@mariozechner/pi-coding-agent'] as const;

/** A `packages` entry of pi's settings: a source, or a source with per-resource filters. */
export type PiPackageSource = string | PiPackageFilter;
export interface PiPackageFilter {
  source: string;
  extensions?: string[];
  skills?: string[];
  prompts?: string[];
  themes?: string[];
  autoload?: boolean;
}

/** The part of pi's settings pi-warden reads. */
export interface PiSettings {
  packages?: PiPackageSource[];
  extensions?: string[];
}

/** pi's `SettingsStorage`: `fn` gets the file's text (undefined: no file) and returns the new text, or undefined. */
export interface PiSettingsStorage {
  withLock(scope: 'global' | 'project', fn: (current: string | undefined) => string | undefined): void;
}

export interface PiSettingsManager {
  getGlobalSettings(): PiSettings;
  getProjectSettings(): PiSettings;
  setPackages(packages: PiPackageSource[]): void;
  setProjectPackages(packages: PiPackageSource[]): void;
  setExtensionPaths(paths: string[]): void;
  setProjectExtensionPaths(paths: string[]): void;
  flush(): Promise<void>;
  drainErrors(): { scope: string; error: Error }[];
}

/** `ResolvedResource` of pi's package manager. */
export interface PiResolvedResource {
  path: string;
  enabled: boolean;
  metadata: {
    source: string;
    scope: 'user' | 'project' | 'temporary';
    origin: 'package' | 'top-level';
    baseDir?: string;
    packageRoot?: string;
  };
}

export interface PiPackageManager {
  resolve(onMissing?: (source: string) => Promise<'install' | 'skip' | 'error'>): Promise<{ extensions: PiResolvedResource[] }>;
  install(source: string, options?: { local?: boolean }): Promise<void>;
  remove(source: string, options?: { local?: boolean }): Promise<void>;
  addSourceToSettings(source: string, options?: { local?: boolean }): boolean;
}

export interface PiModule {
  readonly SettingsManager: {
    create(cwd: string, agentDir?: string): PiSettingsManager;
    fromStorage(storage: PiSettingsStorage): PiSettingsManager;
    inMemory(settings?: PiSettings): PiSettingsManager;
  };
  readonly DefaultPackageManager: new (options: { cwd: string; agentDir: string; settingsManager: PiSettingsManager }) => PiPackageManager;
  getAgentDir(): string;
  readonly VERSION: string;
}

export interface LoadPiModuleOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const loaded = new Map<string, Promise<PiModule>>();

/**
 * pi's module: `$PI_WARDEN_PI_PACKAGE` (a pi package root) first, else the package behind the `pi` on PATH, else
 * `@earendil-works/pi-coding-agent`, else `@mariozechner/pi-coding-agent` as this package resolves them. Throws
 * `invalid_request` naming everything tried when none is found.
 */
export async function loadPiModule(options: LoadPiModuleOptions = {}): Promise<PiModule> {
  const env = options.env ?? process.env;
  const tried: string[] = [];
  const configured = env.PI_WARDEN_PI_PACKAGE?.trim();
  if (configured !== undefined && configured !== '') {
    const entry = packageEntry(resolve(configured));
    if (entry === undefined) {
      throw new WardenError(
        'invalid_request',
        `PI_WARDEN_PI_PACKAGE=${configured}: expected the root of a pi package (package.json named ${PI_PACKAGE_NAMES.join(' or ')}), found none there`,
        { where: configured },
      );
    }
    return importOnce(entry);
  }
  const onPath = piOnPath(env.PATH ?? '');
  tried.push(`pi on PATH (${onPath.found ?? 'not found'})`);
  if (onPath.root !== undefined) {
    const entry = packageEntry(onPath.root);
    if (entry !== undefined) return importOnce(entry);
  }
  for (const name of PI_PACKAGE_NAMES) {
    tried.push(`import('${name}')`);
    try {
      const url = import.meta.resolve(name);
      return await importOnce(url);
    } catch {
      // next candidate
    }
  }
  throw new WardenError(
    'invalid_request',
    `pi not found: expected pi's package to read pi's settings; tried PI_WARDEN_PI_PACKAGE (unset), ${tried.join(', ')}. ` +
      'Install pi (npm install -g @earendil-works/pi-coding-agent) or set PI_WARDEN_PI_PACKAGE to its package folder',
  );
}

/** Where each loaded pi module came from (its dist/index.js URL). */
const origins = new WeakMap<PiModule, string>();

function importOnce(url: string): Promise<PiModule> {
  let p = loaded.get(url);
  if (p === undefined) {
    p = import(url).then((m: unknown) => {
      const mod = asPiModule(m, url);
      origins.set(mod, url);
      return mod;
    });
    loaded.set(url, p);
  }
  return p;
}

/**
 * The names of pi's built-in extensions (pi 1.5.2+: `dist/extensions/index.js` `builtInExtensions`; none in 0.73.1
 * or when the module's origin is unknown). pi's `main` adds them itself; `--no-extensions` drops them.
 */
export async function piBuiltinExtensions(pi: PiModule): Promise<string[]> {
  const origin = origins.get(pi);
  if (origin === undefined) return [];
  try {
    // pi's file beside its index, not a module of ours: the URL is computed from where pi was loaded.
    const builtinsUrl = new URL('extensions/index.js', origin).href;
    const m = (await import(builtinsUrl)) as { builtInExtensions?: unknown };
    return Array.isArray(m.builtInExtensions)
      ? m.builtInExtensions.map((b: unknown) => (b as { name?: unknown }).name).filter((n): n is string => typeof n === 'string')
      : [];
  } catch {
    return [];
  }
}

/** Checks the members pi-warden calls, so a pi without them fails here and not half-way through a settings write. */
export function asPiModule(m: unknown, where: string): PiModule {
  const mod = m as Partial<PiModule> | null;
  const missing = [
    typeof mod?.SettingsManager?.create === 'function' ? undefined : 'SettingsManager.create',
    typeof mod?.SettingsManager?.fromStorage === 'function' ? undefined : 'SettingsManager.fromStorage',
    typeof mod?.DefaultPackageManager === 'function' ? undefined : 'DefaultPackageManager',
    typeof mod?.getAgentDir === 'function' ? undefined : 'getAgentDir',
  ].filter((x) => x !== undefined);
  if (missing.length > 0) {
    throw new WardenError('invalid_request', `${where}: expected pi's module exporting ${missing.join(', ')}, found it missing`, { where });
  }
  return mod as PiModule;
}

/** The import URL of a pi package root, or undefined when the folder is not one. */
function packageEntry(root: string): string | undefined {
  const pkg = readPackageJson(root);
  if (pkg === undefined || !(PI_PACKAGE_NAMES as readonly string[]).includes(pkg.name)) return undefined;
  const exp = pkg.exports?.['.'];
  const rel = (typeof exp === 'object' && exp !== null ? exp.import : undefined) ?? pkg.main ?? 'dist/index.js';
  const file = join(root, rel);
  return existsSync(file) ? pathToFileURL(file).href : undefined;
}

interface PackageJson {
  name: string;
  main?: string;
  exports?: Record<string, { import?: string } | string | undefined>;
}

function readPackageJson(dir: string): PackageJson | undefined {
  try {
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as unknown;
    return p !== null && typeof p === 'object' && typeof (p as PackageJson).name === 'string' ? (p as PackageJson) : undefined;
  } catch {
    return undefined;
  }
}

/** The first `pi` on PATH and the pi package it belongs to (its real path, walked up to a pi package.json). */
function piOnPath(path: string): { found?: string; root?: string } {
  for (const dir of path.split(delimiter).filter((d) => d !== '')) {
    const bin = join(dir, 'pi');
    let real: string;
    try {
      if (!statSync(bin).isFile()) continue;
      real = realpathSync(bin);
    } catch {
      continue;
    }
    for (let d = dirname(real); d !== dirname(d); d = dirname(d)) {
      const pkg = readPackageJson(d);
      if (pkg !== undefined && (PI_PACKAGE_NAMES as readonly string[]).includes(pkg.name)) return { found: bin, root: d };
    }
    return { found: bin };
  }
  return {};
}
