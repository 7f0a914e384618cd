/**
 * The guest runtime as one script: `src/sandbox/guest/index.ts` (or its compiled `dist/` twin) bundled by esbuild
 * once per process. The bundle may import only files under `guest/` and the pure `contract.ts`; anything else
 * (a Node module, a host file) is a build error, so host code cannot leak into the sandbox by an import.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';
import { WardenError } from '../errors.ts';
import { isInside } from '../paths.ts';

const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

const onlyGuestCode: Plugin = {
  name: 'only-guest-code',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (!args.path.startsWith('.')) return { errors: [{ text: `guest runtime may not import ${args.path}` }] };
      const target = join(args.resolveDir, args.path);
      const rel = relative(here, target);
      const allowed = isInside(join(here, 'guest'), target) || rel === `contract${ext}` || rel === 'contract.ts';
      if (!allowed) return { errors: [{ text: `guest runtime may not import ${rel}` }] };
      return { path: ext === '.js' ? target.replace(/\.ts$/, '.js') : target };
    });
  },
};

let source: Promise<string> | undefined;

export function guestRuntimeSource(): Promise<string> {
  source ??= build({
    entryPoints: [join(here, 'guest', `index${ext}`)],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    target: 'es2023',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [onlyGuestCode],
  }).then((r) => {
    const file = r.outputFiles[0];
    if (file === undefined) throw new WardenError('internal', 'the guest runtime bundle is empty');
    return file.text;
  });
  return source;
}

/**
 * What decides the runtime's source without building it: esbuild's version, this file, and every file the bundle
 * may import (all of `guest/`, `contract`). A booted guest kept on disk is found by it (boot.ts), so a fresh process
 * does not start esbuild to learn whether its snapshot is still current.
 */
export function guestRuntimeFingerprint(): string {
  const h = createHash('sha256')
    .update(esbuildVersion)
    .update('\u0000')
    .update(readFileSync(fileURLToPath(import.meta.url)));
  const files = [join(here, `contract${ext}`), ...listFiles(join(here, 'guest'))].sort();
  for (const f of files) h.update(`\u0000${relative(here, f)}\u0000`).update(readFileSync(f));
  return h.digest('hex');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : [],
  );
}
