/**
 * The guest runtime as one script: `src/sandbox/guest/index.ts` (or its compiled `dist/` twin) bundled by esbuild
 * once per process. The bundle may import only files under `guest/` and the pure `contract.ts`; anything else
 * (a Node module, a host file) is a build error, so host code cannot leak into the sandbox by an import.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
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
