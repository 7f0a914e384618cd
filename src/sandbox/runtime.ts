/**
 * The guest runtime as one script: `src/sandbox/guest/index.ts` (or its compiled `dist/` twin) bundled by esbuild
 * once per process. The bundle may import only files under `guest/`, the pure `contract.ts` and the pure-JS
 * cryptography packages of GUEST_PACKAGES; anything else (a Node module, a host file) is a build error, so host code
 * cannot leak into the sandbox by an import.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';
import { WardenError } from '../errors.ts';
import { isInside } from '../paths.ts';

const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * The npm packages guest code may import: audited pure-JS cryptography without dependencies outside this list
 * (ADR 0037). They run inside the sandbox like the guest's own code; no host surface comes with them.
 */
const GUEST_PACKAGES = ['@noble/hashes', '@noble/ciphers', '@noble/curves'] as const;
const requireHere = createRequire(import.meta.url);
/** Each guest package's folder: found by its entry point, `index.js` at its root (`package.json` is not among its exports). */
const guestPackageDirs = (): string[] => GUEST_PACKAGES.map((p) => dirname(requireHere.resolve(p)));
const isGuestPackage = (spec: string) => GUEST_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));

export const onlyGuestCode: Plugin = {
  name: 'only-guest-code',
  setup(b) {
    const packageDirs = guestPackageDirs();
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (!args.path.startsWith('.')) {
        if (isGuestPackage(args.path)) return undefined;
        return { errors: [{ text: `guest runtime may not import ${args.path}` }] };
      }
      const target = join(args.resolveDir, args.path);
      // A guest package's own files import each other relatively; they may not reach out of their package.
      const inPackage = packageDirs.find((d) => isInside(d, args.resolveDir));
      if (inPackage !== undefined) {
        if (isInside(inPackage, target)) return undefined;
        return { errors: [{ text: `guest package file may not import ${target}` }] };
      }
      const rel = relative(here, target);
      const allowed = isInside(join(here, 'guest'), target) || rel === `contract${ext}` || rel === 'contract.ts';
      if (!allowed) return { errors: [{ text: `guest runtime may not import ${rel}` }] };
      return { path: ext === '.js' ? target.replace(/\.ts$/, '.js') : target };
    });
  },
};

let source: Promise<string> | undefined;

/** One guest entry point bundled as a script: `globalName` set, its exports are that variable. */
async function bundleGuest(entry: string, globalName?: string): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    ...(globalName === undefined ? {} : { globalName }),
    platform: 'neutral',
    target: 'es2023',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [onlyGuestCode],
  });
  const file = r.outputFiles[0];
  if (file === undefined) throw new WardenError('internal', `the guest bundle of ${relative(here, entry)} is empty`);
  return file.text;
}

export function guestRuntimeSource(): Promise<string> {
  source ??= bundleGuest(join(here, 'guest', `index${ext}`));
  return source;
}

/** Where the guest modules kept out of the boot snapshot live: each file is one, named by its file name. */
const onDemandDir = join(here, 'guest', 'node', 'ondemand');

let onDemand: Promise<ReadonlyMap<string, string>> | undefined;

/**
 * The guest modules loaded on first use (guest/abi.ts `onDemandModule`), each a script whose completion value is its
 * exports: bundled apart from the runtime, so neither their code nor their state is in the booted guest. Whatever
 * they share with the runtime (a @noble hash) they carry a copy of, evaluated only where they are.
 */
export function onDemandSources(): Promise<ReadonlyMap<string, string>> {
  onDemand ??= Promise.all(
    readdirSync(onDemandDir)
      .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`))
      .sort()
      .map(async (f): Promise<[string, string]> => {
        const text = await bundleGuest(join(onDemandDir, f), '__wardenModule');
        // In a function of its own: the bundle's `var` stays out of the guest's global object.
        return [f.slice(0, -ext.length), `(() => {\n${text}\nreturn __wardenModule;\n})()`];
      }),
  ).then((entries) => new Map(entries));
  return onDemand;
}

/**
 * What decides the runtime's source without building it: esbuild's version, this file, and every file the bundle
 * may import (all of `guest/`, `contract`, the guest packages' manifests: a version is immutable). A booted guest kept on disk is found by it (boot.ts), so a fresh process
 * does not start esbuild to learn whether its snapshot is still current.
 */
export function guestRuntimeFingerprint(): string {
  const h = createHash('sha256')
    .update(esbuildVersion)
    .update('\u0000')
    .update(readFileSync(fileURLToPath(import.meta.url)));
  const files = [join(here, `contract${ext}`), ...listFiles(join(here, 'guest'))].sort();
  for (const f of files) h.update(`\u0000${relative(here, f)}\u0000`).update(readFileSync(f));
  for (const d of guestPackageDirs()) h.update('\u0000').update(readFileSync(join(d, 'package.json')));
  return h.digest('hex');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : [],
  );
}
