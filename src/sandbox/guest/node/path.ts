/** GUEST CODE. `node:path` (POSIX semantics, Node's algorithm for normalize/resolve/relative). Pure: no hostcall. */
import { currentCwd } from './state.ts';

function normalizeString(path: string, allowAboveRoot: boolean): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (allowAboveRoot) out.push('..');
    } else out.push(seg);
  }
  return out.join('/');
}

export function normalize(path: string): string {
  if (path === '') return '.';
  const abs = path.startsWith('/');
  const trailing = path.endsWith('/');
  let p = normalizeString(path, !abs);
  if (p === '' && !abs) p = '.';
  if (p !== '' && trailing) p += '/';
  return abs ? `/${p}` : p;
}

export function isAbsolute(path: string): boolean {
  return path.startsWith('/');
}

export function join(...parts: string[]): string {
  const joined = parts.filter((p) => String(p) !== '').join('/');
  return joined === '' ? '.' : normalize(joined);
}

export function resolve(...parts: string[]): string {
  let resolved = '';
  for (let i = parts.length - 1; i >= 0 && !resolved.startsWith('/'); i--) {
    const p = String(parts[i]);
    if (p !== '') resolved = resolved === '' ? p : `${p}/${resolved}`;
  }
  if (!resolved.startsWith('/')) resolved = `${currentCwd()}/${resolved}`;
  const n = normalizeString(resolved, false);
  return `/${n}`;
}

export function dirname(path: string): string {
  if (path === '') return '.';
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const i = trimmed.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return trimmed.slice(0, i);
}

export function basename(path: string, ext?: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  let base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  if (ext !== undefined && base.endsWith(ext) && base !== ext) base = base.slice(0, base.length - ext.length);
  return base;
}

export function extname(path: string): string {
  const base = basename(path);
  const i = base.lastIndexOf('.');
  return i <= 0 ? '' : base.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

export function parse(path: string): { root: string; dir: string; base: string; ext: string; name: string } {
  const base = basename(path);
  const ext = extname(path);
  return {
    root: path.startsWith('/') ? '/' : '',
    dir: path.includes('/') ? dirname(path) : '',
    base,
    ext,
    name: ext === '' ? base : base.slice(0, -ext.length),
  };
}

export function format(p: { root?: string; dir?: string; base?: string; name?: string; ext?: string }): string {
  const base = p.base ?? `${p.name ?? ''}${p.ext ?? ''}`;
  const dir = p.dir ?? p.root ?? '';
  return dir === '' ? base : dir === p.root ? `${dir}${base}` : `${dir}/${base}`;
}

export function toNamespacedPath(path: string): string {
  return path;
}

export const sep = '/';
export const delimiter = ':';

const path: Record<string, unknown> = {
  normalize,
  isAbsolute,
  join,
  resolve,
  dirname,
  basename,
  extname,
  relative,
  parse,
  format,
  toNamespacedPath,
  sep,
  delimiter,
};
path.posix = path;
path.win32 = path;
export default path;
