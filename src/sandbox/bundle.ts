/**
 * Loading: each entry of an extension (src/extensions/ says which files those are) becomes one CommonJS script,
 * bundled by esbuild with the extension's own npm
 * dependencies. TS/TSX, ESM/CJS interop, JSON imports and `.js` → `.ts` specifiers are esbuild's; Node built-ins
 * and pi's host packages stay external and are served inside the sandbox; `import.meta.url`/`dirname`/`filename`
 * are replaced per file with the file's own location; a native addon (`*.node`) becomes a module that throws
 * `denied`. Bundles are cached by the content hash of every input file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Loader, type Message, type Plugin } from 'esbuild';
import { WardenError } from '../errors.ts';
import { locateExtensions, nearestPackageFolder } from '../extensions/index.ts';
import { isInside } from '../paths.ts';
import { HOST_PACKAGES } from './contract.ts';

/** Why an extension could not be turned into a bundle. */
export const BUNDLE_REASONS = ['bundle_failed'] as const;
export type BundleReason = (typeof BUNDLE_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    bundle: BundleReason;
  }
}

export interface ExtensionBundle {
  /** Absolute path of the entry file. */
  readonly entry: string;
  /** The folder the extension lives in (its package root or the file's folder). */
  readonly root: string;
  /** The CommonJS script evaluated in the sandbox. */
  readonly code: string;
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

const sandboxModules: Plugin = {
  name: 'pi-warden-sandbox-modules',
  setup(b) {
    // Host packages and Node built-ins are served by the sandbox runtime.
    b.onResolve({ filter: /.*/ }, (args) => {
      if (HOST_PACKAGE_RE.test(args.path) || args.path.startsWith('node:')) return { path: args.path, external: true };
      return undefined;
    });
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: join(args.resolveDir, args.path), namespace: 'native-addon' }));
    b.onLoad({ filter: /.*/, namespace: 'native-addon' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`denied: native addon ${args.path} cannot be loaded in the sandbox`)}), { code: 'ERR_ACCESS_DENIED' });`,
      loader: 'js',
    }));
    // import.meta.* has no meaning in the CommonJS bundle; give each file its own location.
    b.onLoad({ filter: SOURCE_RE }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const loader = LOADERS[extname(args.path)] ?? 'js';
      if (!text.includes('import.meta')) return { contents: text, loader };
      const contents = text
        .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
        .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
        .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
        .replace(/\bimport\.meta\.resolve\b/g, '((s) => s)');
      return { contents, loader };
    });
  },
};

function describeError(entry: string, errors: readonly Message[]): WardenError {
  const first = errors[0];
  const where =
    first?.location === null || first?.location === undefined
      ? entry
      : `${first.location.file}:${first.location.line}:${first.location.column}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new WardenError('invalid_request', `cannot bundle ${entry}: ${where}: ${first?.text ?? 'unknown error'}${more}`, {
    where,
    reasonCodes: ['bundle_failed'],
  });
}

interface CacheEntry {
  readonly inputs: ReadonlyMap<string, string>;
  readonly bundle: ExtensionBundle;
}
const cache = new Map<string, CacheEntry>();

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function fileHash(path: string): string | undefined {
  try {
    return sha256(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** Bundles one entry file. Throws WardenError `invalid_request` naming the file and the cause. */
export async function bundleEntry(entryPath: string): Promise<ExtensionBundle> {
  const entry = resolve(entryPath);
  const cached = cache.get(entry);
  if (cached !== undefined && [...cached.inputs].every(([file, hash]) => fileHash(file) === hash))
    return { ...cached.bundle, fromCache: true };
  const root = nearestPackageFolder(dirname(entry)) ?? dirname(entry);
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'node',
      target: 'es2023',
      absWorkingDir: root,
      logLevel: 'silent',
      legalComments: 'none',
      plugins: [sandboxModules],
      loader: { '.json': 'json', '.txt': 'text', '.md': 'text', '.wasm': 'binary' },
      mainFields: ['module', 'main'],
      conditions: ['node', 'import', 'require', 'default'],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) throw describeError(entry, errors);
    throw new WardenError('invalid_request', `cannot bundle ${entry}: ${err instanceof Error ? err.message : String(err)}`, {
      where: entry,
      reasonCodes: ['bundle_failed'],
    });
  }
  const code = result.outputFiles[0]?.text ?? '';
  const inputFiles = Object.keys(result.metafile.inputs)
    .filter((f) => !f.startsWith('native-addon:'))
    .map((f) => resolve(root, f));
  const bundle: ExtensionBundle = {
    entry,
    root,
    code,
    bundleHash: sha256(code),
    fromCache: false,
    inputs: inputFiles.map((f) => (isInside(root, f) ? relative(root, f) : f)),
    warnings: result.warnings.map((w) => `${w.location?.file ?? entry}: ${w.text}`),
  };
  cache.set(entry, { inputs: new Map(inputFiles.map((f) => [f, fileHash(f) ?? ''])), bundle });
  return bundle;
}

/** Every entry of every extension a path holds, bundled. */
export async function bundleExtension(path: string): Promise<ExtensionBundle[]> {
  const out: ExtensionBundle[] = [];
  for (const entry of locateExtensions(path).flatMap((e) => e.entries)) out.push(await bundleEntry(entry));
  return out;
}

export function clearBundleCache(): void {
  cache.clear();
}
