/**
 * How the scanner follows imports from an entry (which files are entries is src/extensions/'s answer): relative
 * specifiers with TypeScript's `.js` → `.ts` mapping, and bare ones to a package under the extension's own
 * `node_modules`, entered where Node would (`exports`, `module`, `main`, index).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isInside } from '../paths.ts';

export const SOURCE_EXT: Readonly<Record<string, 'ts' | 'tsx' | 'js' | 'jsx'>> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};
const RESOLVE_EXT = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.json', '.node'];

/** The fields of a dependency's package.json the scanner reads. */
export interface PackageJson {
  name?: unknown;
  main?: unknown;
  module?: unknown;
  exports?: unknown;
  scripts?: Record<string, unknown>;
}

/** Where Node enters a dependency imported by its bare name. */
export function packageMain(dir: string, pkg: PackageJson): string | undefined {
  const candidates: unknown[] = [];
  const exp = pkg.exports;
  if (typeof exp === 'string') candidates.push(exp);
  else if (exp !== null && typeof exp === 'object') {
    const dot = (exp as Record<string, unknown>)['.'] ?? exp;
    if (typeof dot === 'string') candidates.push(dot);
    else if (dot !== null && typeof dot === 'object') {
      const d = dot as Record<string, unknown>;
      candidates.push(d.import, d.require, d.node, d.default);
    }
  }
  candidates.push(pkg.module, pkg.main, 'index.js', 'index.ts');
  for (const c of candidates) {
    if (typeof c !== 'string') continue;
    const f = resolveFile(resolve(dir, c));
    if (f !== undefined) return f;
  }
  return undefined;
}

export function resolveFile(p: string): string | undefined {
  const tries = [p, ...RESOLVE_EXT.map((e) => p + e)];
  if (/\.(m|c)?js$/.test(p))
    tries.push(p.replace(/\.(m|c)?js$/, '.ts'), p.replace(/\.(m|c)?js$/, '.tsx'), p.replace(/\.(m|c)?js$/, '.mts'));
  for (const t of tries) {
    try {
      if (statSync(t).isFile()) return t;
    } catch {
      // try the next candidate
    }
  }
  for (const e of RESOLVE_EXT) {
    const t = join(p, `index${e}`);
    if (existsSync(t)) return t;
  }
  return undefined;
}

export function findPackageDir(fromDir: string, root: string, name: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || !isInside(root, dir)) return undefined;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
