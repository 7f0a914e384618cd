/**
 * What an extension is (ADR 0026): the one answer the bundler, the scanner, the probe and the runtime share, so
 * that what is scanned is what runs and every stage names it with the same id.
 *
 * pi finds the files of a path by two routes (pi 0.73.1 and 1.5.2 `core/package-manager.js`, `extensions/loader.js`):
 * - as a package (`-e PATH`, `packages`): a `pi.extensions` manifest with files, folders, `*`/`?` globs and
 *   `!`/`+`/`-` patterns; without a manifest the conventional `extensions/` folder; with neither, the folder itself
 *   as a module (its package.json `main`, else its index);
 * - as a folder (`extensions` in settings, `~/.pi/agent/extensions`, `.pi/extensions`): the manifest's items that
 *   exist literally, else `index.ts`/`index.js`, else every top-level `*.ts`/`*.js` file and sub-folder with an entry.
 * A path's entries are the union of both routes: the scanner must cover whichever route pi takes, and running a file
 * that only the other route would run is harmless inside the sandbox. Hiding code from the scan by choosing a route
 * is exactly the drift this module removes.
 *
 * Identity (issue 15 item 6): an id is the extension's source, never a name an extension can pick for itself. A
 * package installed from npm (a folder under `node_modules` with a package.json `name`) is `npm:<name>`, the name
 * npm vouches for; anything else is the real path of the extension's folder, or of a lone file (an `index.*` file
 * is its folder's extension). The bridge names adopted extensions the same way (src/pi/discover.ts), so a grant
 * written for `/home/u/ext/notes-sync.ts` is never handed to a `notes-sync.ts` elsewhere. A folder with no entry of
 * its own holds one extension per top-level file and sub-folder, each with its own id.
 */
import { existsSync, globSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, matchesGlob, relative, resolve, sep } from 'node:path';
import { WardenError } from '../errors.ts';
import { isInside } from '../paths.ts';

export interface LocatedExtension {
  /** The name policy overrides, scan reports, the ledger and quarantine use. */
  readonly id: string;
  /** The extension's folder: the package or extension folder, or a lone file's folder. */
  readonly root: string;
  /**
   * What the extension may read as its own package: the nearest folder holding a package.json (below the user's
   * home), else its own folder, else — for a lone file — the file alone. Not simply the file's folder: a
   * single-file extension in ~/Downloads would get all of ~/Downloads.
   */
  readonly packageRoot: string;
  /** Absolute entry files in load order; each runs in its own sandbox under `id`. */
  readonly entries: readonly string[];
  /** The package.json whose `name` is the id (and whose install scripts run), when the extension is a package. */
  readonly packageJson?: string;
}

/** Why a path holds no extension: `not_found` (no such path), `no_entry` (nothing pi would load). */
export const LOCATE_REASON_CODES = ['not_found', 'no_entry'] as const;
export type LocateReasonCode = (typeof LOCATE_REASON_CODES)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    locate: LocateReasonCode;
  }
}

export interface LocateOptions {
  /** The user's home: no package root is taken at or above it (default: `os.homedir()`). */
  readonly home?: string;
}

/** The extensions a path holds. Throws WardenError `invalid_request` (`not_found`, `no_entry`) when it holds none. */
export function locateExtensions(path: string, options: LocateOptions = {}): LocatedExtension[] {
  const abs = resolve(path);
  const home = resolve(options.home ?? homedir());
  let file: boolean;
  try {
    file = statSync(abs).isFile();
  } catch {
    throw new WardenError('invalid_request', `extension not found: ${abs}: expected a file or a folder, found nothing there`, {
      where: abs,
      reasonCodes: ['not_found'],
    });
  }
  if (file) {
    const folder = dirname(abs);
    const isIndex = basename(abs, extname(abs)) === 'index';
    const id = isIndex ? folderId(folder) : sourceId(abs, undefined);
    return [extension(id, folder, [abs], home, { lone: !isIndex, packageJson: isIndex ? manifestPath(folder) : undefined })];
  }
  const own = ownEntries(abs, true);
  if (own.length > 0) return [extension(folderId(abs), abs, own, home, { lone: false, packageJson: manifestPath(abs) })];
  const held = topLevel(abs).map((p) =>
    isFile(p)
      ? extension(sourceId(p, undefined), abs, [p], home, { lone: true, packageJson: undefined })
      : extension(folderId(p), p, ownEntries(p, false), home, { lone: false, packageJson: manifestPath(p) }),
  );
  if (held.length === 0) {
    throw new WardenError(
      'invalid_request',
      `no extension entry in ${abs}: expected package.json "pi.extensions", an extensions/ folder, index.ts/index.js, or *.ts/*.js files and sub-folders with an entry`,
      { where: abs, reasonCodes: ['no_entry'] },
    );
  }
  return held;
}

/** The nearest folder from `dir` upwards (eight levels at most) that holds a package.json and lies below `home`. */
export function nearestPackageFolder(dir: string, home: string = homedir()): string | undefined {
  const stop = resolve(home);
  for (let d = resolve(dir), depth = 0; depth < 8; d = dirname(d), depth++) {
    if (d === dirname(d) || isInside(d, stop)) return undefined;
    if (existsSync(join(d, 'package.json'))) return d;
  }
  return undefined;
}

/**
 * `lone`: a file that is an extension by itself, not its folder's entry. Its package root is the file alone unless
 * a package.json claims it; so is a folder extension's at or above home (home is never one extension's package).
 */
function extension(
  id: string,
  root: string,
  entries: readonly string[],
  home: string,
  o: { lone: boolean; packageJson: string | undefined },
): LocatedExtension {
  const atOrAboveHome = isInside(root, home);
  const packageRoot = nearestPackageFolder(root, home) ?? (o.lone || atOrAboveHome ? (entries[0] ?? root) : root);
  return { id, root, packageRoot, entries, ...(o.packageJson === undefined ? {} : { packageJson: o.packageJson }) };
}

// ---------------------------------------------------------------- package.json

interface Manifest {
  readonly name: string | undefined;
  /** `pi.extensions` when it is an array of strings (pi ignores it otherwise). */
  readonly extensions: readonly string[] | undefined;
  /** pi lists resources of some kind, so its package route skips the conventional folders. */
  readonly listsResources: boolean;
  readonly main: string | undefined;
}

/** pi's `readPiManifest`: an unreadable or invalid package.json is no manifest (the scanner reports it). */
function readManifest(dir: string): Manifest | undefined {
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8').replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
  if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) return undefined;
  const p = pkg as Record<string, unknown>;
  const pi = p.pi !== null && typeof p.pi === 'object' && !Array.isArray(p.pi) ? (p.pi as Record<string, unknown>) : {};
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) && v.every((x): x is string => typeof x === 'string') ? v : undefined;
  return {
    name: typeof p.name === 'string' && p.name !== '' ? p.name : undefined,
    extensions: list(pi.extensions),
    listsResources: ['extensions', 'skills', 'prompts', 'themes'].some((k) => list(pi[k]) !== undefined),
    main: typeof p.main === 'string' ? p.main : undefined,
  };
}

function manifestPath(dir: string): string | undefined {
  const p = join(dir, 'package.json');
  return existsSync(p) ? p : undefined;
}

function folderId(dir: string): string {
  return sourceId(dir, readManifest(dir)?.name);
}

/** `npm:<name>` for a package npm installed, else the real path (see Identity above). */
function sourceId(path: string, packageName: string | undefined): string {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // not resolvable: the absolute path names it
  }
  if (packageName !== undefined && real.split(sep).includes('node_modules')) return `npm:${packageName}`;
  return real;
}

// ---------------------------------------------------------------- entries

const INDEXES = ['index.ts', 'index.js'];
/** What jiti loads as code; a glob can match anything, and pi would fail to load the rest. */
const CODE_RE = /\.(m|c)?[jt]sx?$/;
const isHidden = (name: string) => name.startsWith('.');
/** pi's folder discovery takes `*.ts` and `*.js`; declaration files hold no code. */
const isAutoFile = (name: string) => (name.endsWith('.ts') || name.endsWith('.js')) && !name.endsWith('.d.ts') && !isHidden(name);

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

class Ordered {
  readonly list: string[] = [];
  add(...paths: readonly string[]): void {
    for (const p of paths) if (!this.list.includes(p)) this.list.push(p);
  }
}

/**
 * The entries a folder declares for itself (empty when it is a folder of extensions). `top`: the folder was named
 * directly, so pi's package route applies (conventional `extensions/` folder, the folder as a module).
 */
function ownEntries(dir: string, top: boolean): string[] {
  const out = new Ordered();
  const m = readManifest(dir);
  const declared = m?.extensions ?? [];
  if (declared.length > 0) {
    out.add(...manifestEntries(dir, declared));
    // The folder route loads the items that exist literally (folders as modules), else the index.
    const literal = declared.map((item) => resolve(dir, item)).filter((p) => existsSync(p));
    for (const p of literal) out.add(...(isDir(p) ? asModule(p) : [p]));
    if (literal.length === 0) out.add(...index(dir));
  } else {
    out.add(...index(dir));
    if (top && m?.listsResources !== true) {
      const conventional = join(dir, 'extensions');
      if (isDir(conventional)) out.add(...folderEntries(conventional));
      else if (!['skills', 'prompts', 'themes'].some((k) => isDir(join(dir, k)))) out.add(...asModule(dir));
    }
  }
  return out.list;
}

function index(dir: string): string[] {
  const found = INDEXES.map((f) => join(dir, f)).find(isFile);
  return found === undefined ? [] : [found];
}

/** A folder imported as a module (jiti, like Node): its package.json `main`, else its index. */
function asModule(dir: string): string[] {
  const main = readManifest(dir)?.main;
  if (main !== undefined) {
    const p = resolve(dir, main);
    const tries = [
      p,
      ...['.ts', '.js', '.mts', '.mjs', '.cts', '.cjs'].map((e) => p + e),
      p.replace(/\.(m|c)?js$/, '.ts'),
      join(p, 'index.ts'),
      join(p, 'index.js'),
    ];
    const found = tries.find(isFile);
    if (found !== undefined) return [found];
  }
  const found = ['index.ts', 'index.js', 'index.mts', 'index.mjs', 'index.cts', 'index.cjs'].map((f) => join(dir, f)).find(isFile);
  return found === undefined ? [] : [found];
}

/** pi's `collectAutoExtensionEntries`: a folder's own entries, else one entry per top-level file and sub-folder. */
function folderEntries(dir: string): string[] {
  const own = ownEntries(dir, false);
  if (own.length > 0) return own;
  const out = new Ordered();
  for (const p of topLevel(dir)) out.add(...(isDir(p) ? ownEntries(p, false) : [p]));
  return out.list;
}

/** The top-level files and sub-folders pi's folder discovery looks at (hidden names and node_modules skipped). */
function topLevel(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    if (isHidden(name) || name === 'node_modules') continue;
    const p = join(dir, name);
    if (isFile(p) ? isAutoFile(name) : isDir(p) && ownEntries(p, false).length > 0) out.push(p);
  }
  return out;
}

/** `pi.extensions` by pi's package route: files, folders, globs, then `!exclude`, `+force-include`, `-force-exclude`. */
function manifestEntries(root: string, items: readonly string[]): string[] {
  const isOverride = (s: string) => s.startsWith('!') || s.startsWith('+') || s.startsWith('-');
  const all = new Ordered();
  for (const item of items.filter((s) => !isOverride(s))) {
    if (item.includes('*') || item.includes('?')) {
      // Globs see visible paths only; what they match that is not code, pi could not load either.
      const matches = globSync(item, { cwd: root })
        .map((m) => resolve(root, m))
        .filter((p) =>
          relative(root, p)
            .split(sep)
            .every((s) => s === '..' || !isHidden(s)),
        )
        .sort();
      for (const p of matches) all.add(...(isDir(p) ? folderEntries(p) : isFile(p) && CODE_RE.test(p) ? [p] : []));
    } else {
      const p = resolve(root, item);
      all.add(...(isDir(p) ? folderEntries(p) : isFile(p) ? [p] : []));
    }
  }
  const patterns = items.filter(isOverride);
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  // pi matches `!` patterns with minimatch against the relative path, the name and the absolute path; node's
  // matchesGlob agrees on these (a leading `./` matches nothing in either).
  const matches = (p: string, pattern: string) => [rel(p), basename(p), p.split(sep).join('/')].some((s) => matchesGlob(s, pattern));
  const exact = (p: string, pattern: string) => {
    const n = pattern.startsWith('./') ? pattern.slice(2) : pattern;
    return n === rel(p) || n === p.split(sep).join('/');
  };
  const excludes = patterns.filter((s) => s.startsWith('!')).map((s) => s.slice(1));
  const forceIn = patterns.filter((s) => s.startsWith('+')).map((s) => s.slice(1));
  const forceOut = patterns.filter((s) => s.startsWith('-')).map((s) => s.slice(1));
  let result = all.list.filter((p) => !excludes.some((x) => matches(p, x)));
  for (const p of all.list) if (!result.includes(p) && forceIn.some((x) => exact(p, x))) result.push(p);
  result = result.filter((p) => !forceOut.some((x) => exact(p, x)));
  return result;
}
