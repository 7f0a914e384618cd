/**
 * Path containment: the one answer to "is this path that folder or below it" for every check that confines or
 * protects something (fs scope and its lists, exec's working folder, the probe's package walk, the scanner's
 * package lookup, the guest runtime's imports).
 *
 * Compared per component, so `/home/u/.sshx` is not inside `/home/u/.ssh`. Both paths must be absolute; `.`,
 * `..`, doubled and trailing separators are normalised away first, so `/p/a/../../etc` is not inside `/p`. No
 * symlink is followed: callers that confine real places pass real paths. Case-insensitive file systems (macOS,
 * Windows) compare case-folded; Linux compares as is.
 */
import { dirname, isAbsolute, normalize, sep } from 'node:path';
import { WardenError } from './errors.ts';

const FOLD = process.platform === 'darwin' || process.platform === 'win32';

/** The form a path (or one component) is compared in: case-folded where the file system folds case. */
export function pathKey(p: string): string {
  return FOLD ? p.toLowerCase() : p;
}

/** A separator followed by nothing, `.`, `..` or another separator: the only forms `normalize` would change. */
const NEEDS_NORMALIZING = sep === '/' ? /\/\.{0,2}(?:\/|$)/ : /[\\/]\.{0,2}(?:[\\/]|$)/;

function canonical(p: string): string {
  if (!isAbsolute(p))
    throw new WardenError('internal', `path containment: expected an absolute path, found ${JSON.stringify(p.slice(0, 200))}`);
  // Most paths reaching here are already normal (realpaths): the test spares them `normalize` on the hot path.
  let q = NEEDS_NORMALIZING.test(p) ? normalize(p) : p;
  // `normalize` keeps one trailing separator; a filesystem root (`/`, `C:\`) keeps its own.
  if (q.endsWith(sep) && dirname(q) !== q) q = q.slice(0, -1);
  return pathKey(q);
}

/** True when `path` is `root` or lies below it. Throws `internal` when either is relative (a caller's bug). */
export function isInside(root: string, path: string): boolean {
  const r = canonical(root);
  const p = canonical(path);
  if (p === r) return true;
  return p.startsWith(r) && (r.endsWith(sep) || p[r.length] === sep);
}
