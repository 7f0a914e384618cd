/**
 * Loading: each entry of an extension (src/extensions/ says which files those are) becomes one CommonJS script,
 * bundled by esbuild with the extension's own npm dependencies; an extension whose code or dependency awaits at top
 * level, which esbuild cannot put in a CommonJS script, becomes one ES module instead (`BundleFormat`). TS/TSX,
 * ESM/CJS interop, JSON imports and `.js` → `.ts` specifiers are esbuild's; Node built-ins and pi's host packages
 * are served inside the sandbox (external `require` calls in a script, forwarding modules calling the guest's `require` in a
 * module); `import.meta.url`/`dirname`/`filename` are replaced per file with the file's own location; a native
 * addon (`*.node`) becomes a module that throws `denied`. Every file esbuild would read passes the load boundary
 * first (loadBoundary.ts: the package root only, no credential store, regular files within size and time limits).
 * Bundles are cached by the content hash of every input file, in memory and, given a `cacheDir`, on disk
 * (bundleCache.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { context, stop as stopEsbuild, version as esbuildVersion, type Loader, type Message, type Plugin } from 'esbuild';
import { isWardenError, WardenError } from '../errors.ts';
import { locateExtensions, nearestPackageFolder } from '../extensions/index.ts';
import { isInside } from '../paths.ts';
import { readCachedBundle, sha256, writeCachedBundle, type CachedBundle } from './bundleCache.ts';
import { HOST_PACKAGES } from './contract.ts';
import { LOAD_REFUSALS, LoadBoundary, type BundleLimits, type ImportSite } from './loadBoundary.ts';

/** Why an extension could not be turned into a bundle: `bundle_failed`, with the load boundary's refusal when it refused. */
export const BUNDLE_REASONS = ['bundle_failed', ...LOAD_REFUSALS] as const;
export type BundleReason = (typeof BUNDLE_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    bundle: BundleReason;
  }
}

/**
 * How the sandbox evaluates a bundle: `cjs` a script inside a function of (module, exports, require, ...), `esm` a
 * module the guest imports, whose top-level awaits settle before the factory is called (as under pi's jiti). CommonJS
 * stays the rule: a module is strict code and bundles every other extension would change (a new hash, a new scan).
 */
export const BUNDLE_FORMATS = ['cjs', 'esm'] as const;
export type BundleFormat = (typeof BUNDLE_FORMATS)[number];

export interface BundleOptions {
  /** What the extension may read as its package (`LocatedExtension.packageRoot`); default: the entry's, as located. */
  readonly packageRoot?: string;
  readonly limits?: Partial<BundleLimits>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where bundles are kept across processes (the bridge: `<home>/cache/bundles`); default: this process only. */
  readonly cacheDir?: string;
}

export interface ExtensionBundle {
  /** Absolute path of the entry file. */
  readonly entry: string;
  /** The folder the extension lives in (its package root or the file's folder). */
  readonly root: string;
  /** The script (`cjs`) or module (`esm`) evaluated in the sandbox. */
  readonly code: string;
  readonly format: BundleFormat;
  /** SHA-256 of `code`: what was scanned is what runs. */
  readonly bundleHash: string;
  /** Every file esbuild read, relative to `root` when inside it. */
  readonly inputs: readonly string[];
  readonly warnings: readonly string[];
  readonly fromCache: boolean;
}

const HOST_PACKAGE_RE = new RegExp(`^(${HOST_PACKAGES.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})(/.*)?$`);
const SOURCE_RE = /\.(m?[jt]sx?|c[jt]s)$/;

const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.jsx': 'jsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
};

/** Where a module bundle's Node built-ins and host packages come from: a forwarding module per module, not an `import`. */
const SANDBOX_MODULE = 'sandbox-module';

function sandboxModules(format: BundleFormat): Plugin {
  return {
    name: 'pi-warden-sandbox-modules',
    setup(b) {
      // Host packages and Node built-ins are served by the sandbox runtime. A module bundle gets each as a CommonJS
      // forwarding module calling the guest's `require` (a script's external `require` call works alike): an `import` statement
      // left in it would reach the engine's module loader, which serves nothing but the extension's own module.
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!HOST_PACKAGE_RE.test(args.path) && !args.path.startsWith('node:')) return undefined;
        return format === 'cjs' ? { path: args.path, external: true } : { path: args.path, namespace: SANDBOX_MODULE };
      });
      b.onLoad({ filter: /.*/, namespace: SANDBOX_MODULE }, (args) => ({
        contents: `module.exports = globalThis.require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
      b.onResolve({ filter: /\.node$/ }, (args) => ({ path: join(args.resolveDir, args.path), namespace: 'native-addon' }));
      b.onLoad({ filter: /.*/, namespace: 'native-addon' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`denied: native addon ${args.path} cannot be loaded in the sandbox`)}), { code: 'ERR_ACCESS_DENIED' });`,
        loader: 'js',
      }));
    },
  };
}

/** What an import attribute (`with { type }`) asks esbuild to make of a file. */
const ATTRIBUTE_LOADERS: Record<string, Loader> = { json: 'json', text: 'text', bytes: 'binary' };
/** What esbuild makes of a file by its extension, as configured before the boundary read files itself. */
const DATA_LOADERS: Record<string, Loader> = { '.json': 'json', '.txt': 'text', '.md': 'text', '.wasm': 'binary' };

const INNER = 'pi-warden-load-boundary-inner';

/**
 * The load boundary as an esbuild plugin: every import is resolved here first (through esbuild's own resolver) so
 * a refusal can name the import and its importer, and every file is read here, never by esbuild.
 */
function loadBoundary(boundary: LoadBoundary): Plugin {
  return {
    name: 'pi-warden-load-boundary',
    setup(b) {
      const sites = new Map<string, ImportSite>();
      b.onResolve({ filter: /.*/ }, async (args) => {
        if ((args.pluginData as Record<string, unknown> | undefined)?.[INNER] === true) return undefined;
        const site: ImportSite = { specifier: args.path, importer: args.importer === '' ? '(entry point)' : args.importer };
        try {
          boundary.checkTime(site);
        } catch (err) {
          return { errors: [{ text: message(err) }] };
        }
        const r = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          namespace: args.namespace,
          with: args.with,
          pluginData: { [INNER]: true },
        });
        // Unresolvable: esbuild's own resolver reports it (a `require` in try/catch stays a run-time failure).
        if (r.errors.length > 0) return undefined;
        if (r.external || r.namespace !== 'file') return { path: r.path, external: r.external, namespace: r.namespace };
        try {
          boundary.check(r.path, site);
        } catch (err) {
          return { errors: [{ text: message(err) }] };
        }
        if (!sites.has(r.path)) sites.set(r.path, site);
        return { path: r.path, namespace: r.namespace, sideEffects: r.sideEffects, suffix: r.suffix };
      });
      b.onLoad({ filter: /.*/, namespace: 'file' }, (args) => {
        const site = sites.get(args.path);
        let bytes: Buffer;
        try {
          bytes = boundary.read(args.path, site);
        } catch (err) {
          return { errors: [{ text: message(err) }] };
        }
        const ext = extname(args.path);
        const asked = args.with.type;
        const loader = asked !== undefined ? ATTRIBUTE_LOADERS[asked] : (LOADERS[ext] ?? DATA_LOADERS[ext]);
        if (loader === undefined) {
          const what = site === undefined ? args.path : `import ${JSON.stringify(site.specifier)} in ${site.importer}`;
          return {
            errors: [{ text: `cannot bundle ${what}: expected a source, JSON, text or wasm file, found ${ext || 'no extension'}` }],
          };
        }
        if (loader === 'binary') return { contents: bytes, loader };
        const text = bytes.toString('utf8');
        if (!SOURCE_RE.test(args.path) || !text.includes('import.meta')) return { contents: text, loader };
        // import.meta.* has no meaning in the CommonJS bundle; give each file its own location.
        const contents = text
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
          .replace(/\bimport\.meta\.resolve\b/g, '((s) => s)');
        return { contents, loader };
      });
    },
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * esbuild's texts quote what they found in a file (`Expected ";" but found "sk-live-…"`); a load error is printed,
 * reported and recorded, so quoted fragments are dropped. What `Could not resolve` quotes is the specifier.
 */
export function withoutQuotes(text: string): string {
  const firstLine = text.split('\n', 1)[0] ?? '';
  const resolveFailure = /^Could not resolve ("[^"\n]{0,300}")/.exec(firstLine);
  if (resolveFailure !== null) return `Could not resolve ${resolveFailure[1]}`;
  return firstLine.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`/g, '"…"').slice(0, 500);
}

function describeError(entry: string, errors: readonly Message[]): WardenError {
  const first = errors[0];
  const where =
    first?.location === null || first?.location === undefined
      ? entry
      : `${first.location.file}:${first.location.line}:${first.location.column}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const text = first === undefined ? 'unknown error' : first.pluginName !== '' ? first.text : withoutQuotes(first.text);
  return new WardenError('invalid_request', `cannot bundle ${entry}: ${where}: ${text}${more}`, {
    where,
    reasonCodes: ['bundle_failed'],
  });
}

const cache = new Map<string, CachedBundle>();

/**
 * What else decides a bundle besides its input files: esbuild's version and this module's own code (the build
 * options and plugins). A new pi-warden or esbuild misses every old entry.
 */
let fingerprint: string | undefined;
function bundlerFingerprint(): string {
  fingerprint ??= sha256(`${esbuildVersion}\u0000${readFileSync(new URL(import.meta.url), 'utf8')}`);
  return fingerprint;
}

/** The hash of a cached input, read through the boundary: a file since swapped for a FIFO is a cache miss, not a hang. */
function fileHash(boundary: LoadBoundary, path: string): string | undefined {
  try {
    return sha256(boundary.read(path));
  } catch {
    return undefined;
  }
}

/** A cached bundle whose every input still has the content it was built from (read through a fresh boundary). */
function current(cached: CachedBundle | undefined, boundary: LoadBoundary): ExtensionBundle | undefined {
  if (cached === undefined || !(BUNDLE_FORMATS as readonly unknown[]).includes(cached.format)) return undefined;
  if (!cached.inputs.every(([file, hash]) => fileHash(boundary, file) === hash)) return undefined;
  const { entry, root, code, format, bundleHash, warnings } = cached;
  return {
    entry,
    root,
    code,
    format,
    bundleHash,
    warnings,
    inputs: cached.inputs.map(([f]) => (isInside(root, f) ? relative(root, f) : f)),
    fromCache: true,
  };
}

/**
 * Bundles one entry file. Throws WardenError `invalid_request` naming the file and the cause, `denied` naming the
 * import and its importer when the load boundary refused a file, `timeout` past the time limit.
 */
export async function bundleEntry(entryPath: string, options: BundleOptions = {}): Promise<ExtensionBundle> {
  const entry = resolve(entryPath);
  const packageRoot = resolve(options.packageRoot ?? locateExtensions(entry)[0]?.packageRoot ?? entry);
  const boundaryOptions = {
    packageRoot,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.env === undefined ? {} : { env: options.env }),
  };
  const key = `${bundlerFingerprint()}\u0000${entry}\u0000${packageRoot}`;
  const inMemory = current(cache.get(key), new LoadBoundary(boundaryOptions));
  if (inMemory !== undefined) return inMemory;
  if (options.cacheDir !== undefined) {
    const onDisk = readCachedBundle(options.cacheDir, key);
    const hit = current(onDisk, new LoadBoundary(boundaryOptions));
    if (hit !== undefined && onDisk !== undefined) {
      cache.set(key, onDisk);
      return hit;
    }
  }
  const root = nearestPackageFolder(dirname(entry)) ?? dirname(entry);
  const boundary = new LoadBoundary(boundaryOptions);
  let result;
  let format: BundleFormat = 'cjs';
  try {
    try {
      result = await runBuild(entry, root, boundary, 'cjs');
    } catch (err) {
      if (boundary.refusal !== undefined || !awaitsAtTopLevel(err)) throw err;
      format = 'esm';
      boundary.rebuild();
      result = await runBuild(entry, root, boundary, 'esm');
    }
  } catch (err) {
    // The boundary's refusal is the cause, whatever esbuild made of it (an error, or a try/catch warning).
    if (boundary.refusal !== undefined) throw boundary.refusal;
    if (isWardenError(err)) throw err;
    const errors = (err as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) throw describeError(entry, errors);
    throw new WardenError('invalid_request', `cannot bundle ${entry}: ${withoutQuotes(message(err))}`, {
      where: entry,
      reasonCodes: ['bundle_failed'],
    });
  }
  if (boundary.refusal !== undefined) throw boundary.refusal;
  const code = result.outputFiles?.[0]?.text ?? '';
  const inputFiles = Object.keys(result.metafile?.inputs ?? {})
    .filter((f) => !f.startsWith('native-addon:') && !f.startsWith(`${SANDBOX_MODULE}:`))
    .map((f) => resolve(root, f));
  const bundle: ExtensionBundle = {
    entry,
    root,
    code,
    format,
    bundleHash: sha256(code),
    fromCache: false,
    inputs: inputFiles.map((f) => (isInside(root, f) ? relative(root, f) : f)),
    warnings: result.warnings.map((w) => `${w.location?.file ?? entry}: ${w.pluginName !== '' ? w.text : withoutQuotes(w.text)}`),
  };
  const hashes = new LoadBoundary(boundaryOptions);
  const entryOf: CachedBundle = {
    entry,
    root,
    code,
    format,
    bundleHash: bundle.bundleHash,
    warnings: bundle.warnings,
    inputs: inputFiles.map((f) => [f, fileHash(hashes, f) ?? ''] as const),
  };
  cache.set(key, entryOf);
  if (options.cacheDir !== undefined) writeCachedBundle(options.cacheDir, key, entryOf);
  return bundle;
}

/** esbuild's refusal of a CommonJS bundle that awaits at top level: what makes the bundle an ES module instead. */
function awaitsAtTopLevel(err: unknown): boolean {
  const errors = (err as { errors?: Message[] }).errors;
  return Array.isArray(errors) && errors.some((e) => e.text.startsWith('Top-level await is currently not supported with the "cjs"'));
}

/**
 * One esbuild run under the boundary, cancelled when the boundary's time limit passes (a resolver stuck on the host
 * included). A module bundle's `__dirname`/`__filename` are the entry's, as the CommonJS script's function gives them.
 */
async function runBuild(entry: string, root: string, boundary: LoadBoundary, format: BundleFormat) {
  try {
    return await runBuildOnce(entry, root, boundary, format);
  } catch (err) {
    if (boundary.refusal !== undefined || !serviceDied(err)) throw err;
    // esbuild's service process died (it panics now and then on a build cancelled at the time limit). Its JS side
    // never starts another on its own, so every later bundle of the process would fail: stop it, and build once more
    // on a fresh one, counting the boundary afresh.
    await stopEsbuild();
    boundary.rebuild();
    return await runBuildOnce(entry, root, boundary, format);
  }
}

const serviceDied = (err: unknown): boolean => /The service (was stopped|is no longer running)/.test(message(err));

async function runBuildOnce(entry: string, root: string, boundary: LoadBoundary, format: BundleFormat) {
  const ctx = await context({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format,
    ...(format === 'esm' ? { define: { __dirname: JSON.stringify(dirname(entry)), __filename: JSON.stringify(entry) } } : {}),
    platform: 'node',
    target: 'es2023',
    absWorkingDir: root,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [sandboxModules(format), loadBoundary(boundary)],
    mainFields: ['module', 'main'],
    conditions: ['node', 'import', 'require', 'default'],
  });
  let timer: NodeJS.Timeout | undefined;
  let cancelled: Promise<void> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cancelled = ctx.cancel();
      reject(
        new WardenError('timeout', `cannot bundle ${entry}: expected bundling to finish within ${boundary.limits.timeMs} ms, it did not`, {
          where: entry,
          reasonCodes: ['bundle_failed', 'bundle_timeout'],
        }),
      );
    }, boundary.remainingMs() + 1);
  });
  try {
    return await Promise.race([ctx.rebuild(), expired]);
  } finally {
    clearTimeout(timer);
    // Disposed only once a cancel has finished: disposing a build still being cancelled races inside esbuild.
    void (cancelled ?? Promise.resolve()).finally(() => ctx.dispose()).catch(() => undefined);
  }
}

/** Every entry of every extension a path holds, bundled, each within its extension's package root. */
export async function bundleExtension(path: string): Promise<ExtensionBundle[]> {
  const out: ExtensionBundle[] = [];
  for (const e of locateExtensions(path)) for (const entry of e.entries) out.push(await bundleEntry(entry, { packageRoot: e.packageRoot }));
  return out;
}

export function clearBundleCache(): void {
  cache.clear();
}
