/**
 * Where an extension starts and which files belong to it (SPEC §8.1): package.json `pi.extensions`, `exports`,
 * `module`/`main`, `index.ts/js`, or the file itself; a folder with no entry of its own holds one extension per
 * top-level source file or sub-folder (pi's own `extensions/` layout). Also resolves relative specifiers (with
 * TypeScript's `.js` → `.ts` mapping) and bare ones to the package's own `node_modules`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { isInside } from '../paths.ts';

export const SOURCE_EXT: Readonly<Record<string, 'ts' | 'tsx' | 'js' | 'jsx'>> = {
  '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx',
};
const RESOLVE_EXT = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.json', '.node'];

export interface Entry {
  readonly id: string;
  readonly root: string;
  readonly entries: readonly string[];
  readonly packageJson?: string;
}

/** Which extensions a path holds. */
export function discover(abs: string): Entry[] {
  const st = statSync(abs);
  if (st.isFile()) return [{ id: basename(abs).replace(/\.[^.]+$/, ''), root: dirname(abs), entries: [abs] }];
  const own = packageEntry(abs);
  if (own !== undefined) return [own];
  const out: Entry[] = [];
  for (const name of readdirSync(abs).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const p = join(abs, name);
    let s;
    try {
      s = statSync(p);
    } catch {
      continue;
    }
    if (s.isFile() && SOURCE_EXT[extname(name)] !== undefined && !name.endsWith('.d.ts')) out.push({ id: name.replace(/\.[^.]+$/, ''), root: abs, entries: [p] });
    else if (s.isDirectory()) {
      const sub = packageEntry(p);
      if (sub !== undefined) out.push(sub);
    }
  }
  return out;
}

function packageEntry(dir: string): Entry | undefined {
  const pkgPath = join(dir, 'package.json');
  const index = ['index.ts', 'index.js', 'index.mjs', 'index.tsx', 'index.mts', 'index.cjs'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!existsSync(pkgPath)) return index === undefined ? undefined : { id: basename(dir), root: dir, entries: [index] };
  let pkg: PackageJson = {};
  try {
    pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as PackageJson;
  } catch {
    return { id: basename(dir), root: dir, entries: index === undefined ? [] : [index], packageJson: pkgPath };
  }
  const declared = Array.isArray(pkg.pi?.extensions) ? pkg.pi.extensions.filter((x): x is string => typeof x === 'string') : [];
  const entries: string[] = [];
  for (const d of declared) {
    const p = resolve(dir, d);
    const file = resolveFile(p);
    if (file !== undefined) entries.push(file);
    else if (existsSync(p) && statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (SOURCE_EXT[extname(f)] !== undefined && !f.endsWith('.d.ts')) entries.push(join(p, f));
    }
  }
  if (entries.length === 0) {
    const main = packageMain(dir, pkg);
    if (main !== undefined) entries.push(main);
    else if (index !== undefined) entries.push(index);
  }
  return { id: typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name : basename(dir), root: dir, entries, packageJson: pkgPath };
}

export interface PackageJson {
  name?: unknown;
  main?: unknown;
  module?: unknown;
  exports?: unknown;
  scripts?: Record<string, unknown>;
  pi?: { extensions?: unknown[] };
}

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
  if (/\.(m|c)?js$/.test(p)) tries.push(p.replace(/\.(m|c)?js$/, '.ts'), p.replace(/\.(m|c)?js$/, '.tsx'), p.replace(/\.(m|c)?js$/, '.mts'));
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
