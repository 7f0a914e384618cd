/**
 * What bundling may read (issue 15 item 1, ADR 0021 "What the loader reads"): esbuild resolves and reads on the
 * host, before any hostcall is mediated, so everything it would inline passes through here first. A file is read
 * only when, after resolving links, it is a regular file inside the extension's package root (its npm dependencies
 * are its own node_modules, inside that root), is not a credential store or pi-warden's private store even there,
 * and fits the size limits. FIFOs, devices and sockets are refused from their stat, before anything opens them: one
 * imported FIFO used to hang bundling for ever. A refusal names the import and the importing file, never content.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { isWardenError, WardenError } from '../errors.ts';
import { type AlertInput, wardenHome } from '../evidence/index.ts';
import { agentDir, PlaceWords } from '../policy/index.ts';
import { isInside } from '../paths.ts';

export interface BundleLimits {
  /** Largest file bundling reads. */
  readonly fileBytes: number;
  /** All files of one bundle together. */
  readonly totalBytes: number;
  /** The whole bundling of one entry, resolution included. */
  readonly timeMs: number;
}

/** Generous for real extensions (the largest input of pi's 150 example entries is 45 KiB); small enough to stop a flood. */
export const BUNDLE_LIMITS: BundleLimits = { fileBytes: 8 * 1024 * 1024, totalBytes: 64 * 1024 * 1024, timeMs: 30_000 };

/** Why bundling refused a file (part of the bundle vocabulary, bundle.ts). */
export const LOAD_REFUSALS = [
  'outside_package',
  'sensitive_place',
  'not_regular_file',
  'file_too_large',
  'bundle_too_large',
  'bundle_timeout',
  'unreadable',
] as const;
export type LoadRefusal = (typeof LOAD_REFUSALS)[number];

/** Which import asked for a file: what a refusal names. */
export interface ImportSite {
  readonly specifier: string;
  readonly importer: string;
}

export interface LoadBoundaryOptions {
  readonly packageRoot: string;
  readonly limits?: Partial<BundleLimits>;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function describeType(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** One bundling's view of what it may read; counts what it has read against the limits. */
const placeWordsByRoots = new Map<string, PlaceWords>();

/**
 * The sensitive places' patterns for these roots, built once per process: building them took about 2 ms, and a
 * load makes a boundary for each cache check and for the build. A PlaceWords is immutable (no global regexes).
 */
function placeWords(home: string, agent: string, warden: string): PlaceWords {
  const key = JSON.stringify([home, agent, warden]);
  let words = placeWordsByRoots.get(key);
  if (words === undefined) {
    words = new PlaceWords({ home, agentDir: agent, wardenHome: warden });
    placeWordsByRoots.set(key, words);
  }
  return words;
}

export class LoadBoundary {
  readonly packageRoot: string;
  readonly limits: BundleLimits;
  readonly #places: PlaceWords;
  readonly #deadline: number;
  #total = 0;
  /** The first refusal: the error the load stops with, whatever esbuild made of it. */
  refusal: WardenError | undefined;

  constructor(o: LoadBoundaryOptions) {
    const env = o.env ?? process.env;
    this.limits = { ...BUNDLE_LIMITS, ...o.limits };
    this.#deadline = Date.now() + this.limits.timeMs;
    let root: string;
    try {
      root = realpathSync(o.packageRoot);
    } catch {
      root = o.packageRoot;
    }
    this.packageRoot = root;
    const home = env.HOME !== undefined && env.HOME.startsWith('/') ? env.HOME : homedir();
    this.#places = placeWords(home, agentDir(env), wardenHome(env));
  }

  #refuse(reason: LoadRefusal, site: ImportSite | undefined, path: string, why: string): WardenError {
    const what = site === undefined ? path : `import ${JSON.stringify(site.specifier)} in ${site.importer}`;
    const err = new WardenError(reason === 'bundle_timeout' ? 'timeout' : 'denied', `refused to bundle ${what}: ${why}`, {
      where: site?.importer ?? path,
      reasonCodes: ['bundle_failed', reason],
    });
    this.refusal ??= err;
    return err;
  }

  /** Throws `timeout` once the bundling's time limit has passed. */
  /** What is left of the time limit, in ms. */
  remainingMs(): number {
    return Math.max(0, this.#deadline - Date.now());
  }

  /**
   * Before a second build of the same bundling (bundle.ts: a module after a CommonJS script could not await at top
   * level), which reads every file again: the byte total starts over, the deadline does not.
   */
  rebuild(): void {
    this.#total = 0;
  }

  checkTime(site?: ImportSite, path = ''): void {
    if (Date.now() >= this.#deadline)
      throw this.#refuse('bundle_timeout', site, path, `expected bundling to finish within ${this.limits.timeMs} ms, it did not`);
  }

  /** The real path of a file bundling may read; throws `denied` naming the import otherwise. Opens nothing. */
  check(path: string, site?: ImportSite): { real: string; size: number } {
    this.checkTime(site, path);
    let real: string;
    let st: Stats;
    try {
      real = realpathSync(path);
      st = statSync(real);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw this.#refuse('unreadable', site, path, `expected a readable file at ${path}, found ${code}`);
    }
    if (!isInside(this.packageRoot, real))
      throw this.#refuse(
        'outside_package',
        site,
        path,
        `it resolves to ${real}, outside the extension's package root ${this.packageRoot}; an extension's code and data come from its own package`,
      );
    if (this.#places.secret(real))
      throw this.#refuse('sensitive_place', site, path, `${real} is a credential store or pi-warden's private store, never bundled`);
    if (!st.isFile()) throw this.#refuse('not_regular_file', site, path, `expected a regular file at ${real}, found ${describeType(st)}`);
    if (st.size > this.limits.fileBytes)
      throw this.#refuse('file_too_large', site, path, `expected at most ${this.limits.fileBytes} bytes, found ${st.size}`);
    return { real, size: st.size };
  }

  /**
   * The file's bytes, after `check`. Opened non-blocking and compared with the checked stat, so a file swapped for a
   * FIFO or another file between check and open is refused rather than read (or waited on).
   */
  read(path: string, site?: ImportSite): Buffer {
    const { real, size } = this.check(path, site);
    if (this.#total + size > this.limits.totalBytes)
      throw this.#refuse(
        'bundle_too_large',
        site,
        path,
        `expected the bundle's files to total at most ${this.limits.totalBytes} bytes, found more with ${real}`,
      );
    let fd: number;
    try {
      fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      throw this.#refuse('unreadable', site, path, `cannot open ${real}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw this.#refuse('not_regular_file', site, path, `expected a regular file at ${real}, found ${describeType(st)}`);
      if (st.size !== size) throw this.#refuse('unreadable', site, path, `${real} changed while it was being bundled`);
      const buf = Buffer.alloc(size);
      let at = 0;
      while (at < size) {
        const n = readSync(fd, buf, at, size - at, at);
        if (n === 0) break;
        at += n;
      }
      this.#total += at;
      return buf.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The alert a load boundary refusal raises where the load has an alert sink (probe with a store, the runtime):
 * an extension that tried to build host files into itself is hostile or broken either way. Undefined for any
 * other load failure (a syntax error is the author's problem, not an alert).
 */
export function loadRefusalAlert(extensionId: string, err: unknown): AlertInput | undefined {
  if (!isWardenError(err)) return undefined;
  const refusal = err.reasonCodes.find((c): c is LoadRefusal => (LOAD_REFUSALS as readonly string[]).includes(c));
  if (refusal === undefined || refusal === 'bundle_timeout') return undefined;
  return {
    extension_id: extensionId,
    category: 'policy_violation',
    severity: refusal === 'outside_package' || refusal === 'sensitive_place' ? 'high' : 'medium',
    summary: err.message,
    reason_codes: err.reasonCodes,
    remediation: `Do not load ${extensionId} until its author removes the import (\`pi-warden scan\` reports it as load.outside-package); an extension's code and data must come from its own package`,
  };
}
