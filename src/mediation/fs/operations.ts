/**
 * The real `fs.*` operations, confined by FsScope at the moment they act (SPEC §5.5: "paths resolved through
 * symlinks and `..` before the check", and no window between check and use).
 *
 * The mediation stage checked the path when the call was decided; a symlink swapped in afterwards must not
 * redirect the access. So each operation resolves the path again, opens the directory it will act in, asks the
 * kernel where that directory really is (`/proc/self/fd/N`), checks that place, and then acts on the single
 * last component relative to the open directory (`/proc/self/fd/N/name`, the path form of `openat`) with
 * O_NOFOLLOW. Whatever was swapped on the way, the object touched is one that passed the check.
 *
 * A recursive delete or a folder rename is a change to every entry below: each is checked as its own call would be
 * (walkTree, through O_NOFOLLOW anchors, never following symlinks; the folder is re-verified after the walk, and a
 * delete checks each entry again just before removing it). A file with other names (hard links) is never written,
 * truncated or chmod-ed in place: the change would reach names outside any check.
 *
 * Without `/proc/self/fd` (not Linux) the operations fall back to resolve → check → act on the resolved path with
 * O_NOFOLLOW → re-resolve and re-check, which narrows the window but cannot close it; `anchoredByKernel` says
 * which one runs.
 */
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, sep } from 'node:path';
import type { Operation, OperationContext } from '../../dispatch/index.ts';
import { systemErrorReason, WardenError, type SystemErrorReason } from '../../errors.ts';
import { isInside } from '../../paths.ts';
import type { FsAccess, FsProblem, FsScope, PathView } from './scope.ts';

export const anchoredByKernel = existsSync('/proc/self/fd');

const { O_RDONLY, O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;
/** Default cap on one read (the sandbox receives the whole file as one string). */
export const DEFAULT_MAX_READ_BYTES = 64 * 1024 * 1024;
/** A recursive delete or a folder rename checks at most this many entries below it, then refuses. */
export const DEFAULT_MAX_WALK = 100_000;
/** ... and at most this many folder levels (one descriptor is held open per level). */
const MAX_DEPTH = 256;
const CHUNK = 1024 * 1024;

export interface FsOperationsOptions {
  readonly scope: FsScope;
  readonly maxReadBytes?: number;
  /** Entries a recursive delete or a folder rename may have to check (default DEFAULT_MAX_WALK). */
  readonly maxWalkEntries?: number;
}

type Params = Readonly<Record<string, unknown>>;

/**
 * Refusals the operations add to the scope's (after `fs_scope`): the path changed after the check, a hard-linked
 * file, a tree too large to check, a read over the limit. Failures carry the system's code (`ENOENT`).
 */
export const FS_OPERATION_REASONS = ['fs_race', 'fs_hard_link', 'fs_tree_too_large', 'fs_read_limit'] as const;
export type FsOperationReason = (typeof FS_OPERATION_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    fsOperation: FsOperationReason;
  }
}

function errnoOf(err: unknown): SystemErrorReason {
  return systemErrorReason(err);
}

/** Node errors become `io` errors naming the errno and the path the extension gave (never a /proc/self/fd path). */
function ioError(method: string, path: string, err: unknown): WardenError {
  if (err instanceof WardenError) return err;
  const code = errnoOf(err);
  return new WardenError('io', `${code}: ${method} ${path}`, { reasonCodes: [code], cause: err });
}

function race(method: string, path: string, detail: string): WardenError {
  return new WardenError('denied', `${method} ${path}: refused: ${detail} (the path changed after it was checked)`, {
    reasonCodes: ['fs_scope', 'fs_race'],
  });
}

/** A directory held open and verified: `path` names it for path-taking syscalls until `close`. */
interface Anchor {
  readonly path: string;
  readonly real: string;
  readonly fd: number;
  close(): void;
}

/** One entry of a folder tree being deleted or moved (the entries themselves: symlinks are not followed). */
interface TreeEntry {
  /** The folder holding it, open and verified. */
  readonly dir: Anchor;
  readonly name: string;
  /** Its path below the top of the tree ('' for the top itself). */
  readonly rel: string;
  /** Where it is now. */
  readonly real: string;
  readonly kind: 'dir' | 'symlink' | 'other';
}

class Confined {
  readonly #scope: FsScope;
  readonly #ext: string;
  readonly #method: string;
  readonly #maxWalk: number;

  constructor(scope: FsScope, ctx: OperationContext, method: string, maxWalk: number) {
    this.#scope = scope;
    this.#ext = ctx.extensionId;
    this.#method = method;
    this.#maxWalk = maxWalk;
  }

  /** Resolves and checks like the stage did (a fresh answer: the file system may have changed since). */
  resolve(path: string, access: FsAccess, followFinal: boolean): string {
    const r = this.#scope.check(this.#ext, path, access, followFinal);
    if ('reason' in r)
      throw new WardenError('denied', `${this.#method}: refused by filesystem scope: ${r.detail}`, { reasonCodes: ['fs_scope', r.reason] });
    // The extension's data folder exists from its first write on (pi-warden creates it, 0700).
    const data = this.#scope.dataFolder(this.#ext);
    if (access === 'write' && isInside(data, r.real) && r.real !== data) mkdirSync(data, { recursive: true, mode: 0o700 });
    return r.real;
  }

  /**
   * Where an open descriptor really is, checked again. A parent directory is checked as the place of the child
   * `name` it will act on (the data folder's parent is private, the data folder is not).
   */
  verify(fd: number, shown: string, access: FsAccess, fallbackPath: string, name?: string): string {
    let actual: string;
    try {
      actual = anchoredByKernel ? readlinkSync(`/proc/self/fd/${fd}`) : realpathSync(fallbackPath);
    } catch (err) {
      throw ioError(this.#method, shown, err);
    }
    const place = name === undefined ? actual : join(actual, name);
    const problem = this.#scope.checkResolved(this.#ext, place, place, access);
    if (problem !== undefined) throw race(this.#method, shown, problem.detail);
    return actual;
  }

  /** Refuses when `place` (a resolved path about to be created) is not one this extension may write. */
  checkPlace(place: string, shown: string): void {
    const problem = this.#scope.checkResolved(this.#ext, place, place, 'write');
    if (problem !== undefined)
      throw new WardenError('denied', `${this.#method} ${shown}: refused by filesystem scope: ${problem.detail}`, {
        reasonCodes: ['fs_scope', problem.reason],
      });
  }

  /**
   * Opens `real` with O_NOFOLLOW and checks where the kernel says it is; a link swapped into the last component is
   * a race, any other error an `io` error. With `name`, `real` is the folder `name` will be touched in.
   */
  openVerified(real: string, flags: number, shown: string, access: FsAccess, name?: string): { fd: number; real: string } {
    let fd: number;
    try {
      fd = openSync(real, flags | O_NOFOLLOW);
    } catch (err) {
      if (errnoOf(err) === 'ELOOP') throw race(this.#method, shown, `${real} became a symbolic link`);
      throw ioError(this.#method, shown, err);
    }
    try {
      return { fd, real: this.verify(fd, shown, access, real, name) };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Opens and verifies the directory `realDir` (or, with `name`, the parent of what will be touched). */
  anchor(realDir: string, shown: string, access: FsAccess, name?: string): Anchor {
    const { fd, real } = this.openVerified(realDir, O_RDONLY | O_DIRECTORY, shown, access, name);
    return { path: anchoredByKernel ? `/proc/self/fd/${fd}` : real, real, fd, close: () => closeSync(fd) };
  }

  /** Runs `fn` with the verified parent of `real` and the last component's name; checks parent/name again. */
  inParent<T>(real: string, shown: string, access: FsAccess, fn: (dir: Anchor, name: string) => T): T {
    const name = basename(real);
    const dir = this.anchor(dirname(real), shown, access, name);
    try {
      return fn(dir, name);
    } finally {
      dir.close();
    }
  }

  /** Opens an existing file (no symlink in the last component) and verifies where it is. */
  openFile(real: string, shown: string, access: FsAccess, flags: number): number {
    return this.openVerified(real, flags | O_NONBLOCK, shown, access).fd;
  }

  /**
   * Refuses to change a regular file that has other names (hard links, st_nlink > 1): writing, truncating or
   * chmod-ing it here would change the file under its other names too, and those may be anywhere on the device
   * (`~/.bashrc` linked into the project by `ln` run through exec). Takes the fstat of the descriptor about to be
   * changed, before anything is written to it.
   */
  notHardLinked(st: Stats, shown: string): void {
    if (!st.isFile() || st.nlink <= 1) return;
    throw new WardenError(
      'denied',
      `${this.#method} ${shown}: refused: the file has ${st.nlink} names (hard links), and changing it here would change it under the others, ` +
        'which cannot be known from here and may lie outside the project. To change only this name, copy the file to a new name and rename the copy over it ' +
        '(or delete this name and write a new file)',
      { reasonCodes: ['fs_scope', 'fs_hard_link'] },
    );
  }

  /**
   * Refuses a file that is another name (a hard link) of a credential store's or never-written file (issue 17 item
   * 5): the descriptor's own identity, so a link swapped in after the stage's check is judged too.
   */
  notSensitiveIdentity(st: Stats, shown: string, access: FsAccess): void {
    const problem = this.#scope.checkIdentity(this.#ext, shown, st, access);
    if (problem !== undefined)
      throw new WardenError('denied', `${this.#method}: refused by filesystem scope: ${problem.detail}`, {
        reasonCodes: ['fs_scope', problem.reason, 'fs_hard_link'],
      });
  }

  /** An entry problem as the refusal of the whole delete or move. */
  #entryRefused(shown: string, e: TreeEntry, what: string, problem: FsProblem, linkTarget = false): WardenError {
    // An entry below that can never be written is a protected descendant of the folder the call names.
    const reason = problem.reason === 'fs_protected_path' && e.rel !== '' && !linkTarget ? 'fs_protected_descendant' : problem.reason;
    const it = e.rel === '' ? 'it' : `it holds ${e.rel}, which`;
    return new WardenError('denied', `${this.#method} ${shown}: refused: ${it} would be ${what}: ${problem.detail}`, {
      reasonCodes: ['fs_scope', reason],
    });
  }

  /** Refuses when `e` could not be deleted from (or, with `place`, created at) that place by a direct call. */
  checkEntry(e: TreeEntry, shown: string, place?: string): void {
    const at = place ?? e.real;
    const problem = this.#scope.checkResolved(this.#ext, at, at, 'write');
    if (problem !== undefined) throw this.#entryRefused(shown, e, place === undefined ? 'deleted' : `moved to ${place}`, problem);
  }

  /** Refuses when the symlink `e`, moved to `place` (`view`: the file system as it will be then), would point where this extension cannot write. */
  checkMovedLink(e: TreeEntry, shown: string, place: string, view: PathView): void {
    let target: string;
    try {
      target = readlinkSync(join(e.dir.path, e.name));
    } catch (err) {
      throw ioError(this.#method, shown, err);
    }
    const problem = this.#scope.checkLinkAt(this.#ext, place, target, view);
    if (problem !== undefined) throw this.#entryRefused(shown, e, `moved to ${place}`, problem, true);
  }

  /**
   * Opens the folder `name` inside the verified folder `dir` with O_NOFOLLOW (`/proc/self/fd/N/name`, the path form
   * of `openat`) and checks that the kernel puts it at `real`: a walk through such anchors cannot be led elsewhere by
   * a symlink swapped in, and a folder moved away while it runs is a race.
   */
  openChild(dir: Anchor, name: string, real: string, shown: string): Anchor {
    let fd: number;
    try {
      fd = openSync(join(dir.path, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ELOOP' || code === 'ENOTDIR') throw race(this.#method, shown, `${real} is no longer a folder`);
      throw ioError(this.#method, shown, err);
    }
    try {
      const actual = anchoredByKernel ? readlinkSync(`/proc/self/fd/${fd}`) : realpathSync(real);
      if (actual !== real) throw race(this.#method, shown, `${real} moved to ${actual}`);
    } catch (err) {
      closeSync(fd);
      throw ioError(this.#method, shown, err);
    }
    return { path: anchoredByKernel ? `/proc/self/fd/${fd}` : real, real, fd, close: () => closeSync(fd) };
  }

  /**
   * Visits every entry below the open folder `top` (at `real`): `visit` before a folder's entries, `leave` after.
   * Bounded: more than maxWalkEntries entries or MAX_DEPTH levels is a refusal, not a guess.
   */
  walkTree(top: Anchor, shown: string, visit: (e: TreeEntry) => void, leave?: (e: TreeEntry) => void): void {
    let seen = 0;
    const walk = (dir: Anchor, rel: string, depth: number): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir.path, { withFileTypes: true });
      } catch (err) {
        throw ioError(this.#method, shown, err);
      }
      for (const d of entries) {
        if (++seen > this.#maxWalk) throw this.#tooLarge(shown, `more than ${this.#maxWalk} entries`);
        const e: TreeEntry = {
          dir,
          name: d.name,
          rel: rel === '' ? d.name : `${rel}${sep}${d.name}`,
          real: join(dir.real, d.name),
          kind: d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'other',
        };
        visit(e);
        if (e.kind !== 'dir') continue;
        if (depth >= MAX_DEPTH) throw this.#tooLarge(shown, `more than ${MAX_DEPTH} folder levels`);
        const child = this.openChild(dir, e.name, e.real, shown);
        try {
          walk(child, e.rel, depth + 1);
        } finally {
          child.close();
        }
        leave?.(e);
      }
    };
    walk(top, '', 1);
  }

  #tooLarge(shown: string, what: string): WardenError {
    return new WardenError(
      'denied',
      `${this.#method} ${shown}: refused: the folder holds ${what}, and every entry must be checked before it is deleted or moved; delete or move it in parts`,
      { reasonCodes: ['fs_scope', 'fs_tree_too_large'] },
    );
  }

  /** Re-verification after a walk: the name still leads to the folder that was walked (same device and inode). */
  sameFolder(top: Anchor, path: string, shown: string): void {
    const walked = fstatSync(top.fd);
    const now = lstatSync(path);
    if (walked.dev !== now.dev || walked.ino !== now.ino)
      throw race(this.#method, shown, `${top.real} was replaced while its entries were checked`);
  }
}

/** Runs a delete step; an entry already gone (removed meanwhile by someone else) is what was wanted. */
function ignoreGone(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

function readAll(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, out, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return out.subarray(0, got);
}

/** What an `fs.stat` hostcall returns: the fields of Node's Stats the guest's `fs` shim rebuilds a Stats from. */
export function statData(s: Stats) {
  return {
    size: s.size,
    mode: s.mode,
    mtimeMs: s.mtimeMs,
    atimeMs: s.atimeMs,
    ctimeMs: s.ctimeMs,
    birthtimeMs: s.birthtimeMs,
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymbolicLink: s.isSymbolicLink(),
    uid: s.uid,
    gid: s.gid,
    ino: s.ino,
    dev: s.dev,
    nlink: s.nlink,
  };
}

function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

const str = (p: Params, key: string): string => String(p[key]);
const fileMode = (mode: unknown): number => (typeof mode === 'number' ? mode & 0o1777 : 0o666);

/** The `fs.*` operations for a dispatcher's operation map. */
export function createFsOperations(o: FsOperationsOptions): Map<string, Operation> {
  const maxRead = o.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;
  const maxWalk = o.maxWalkEntries ?? DEFAULT_MAX_WALK;
  const ops = new Map<string, Operation>();
  const def = (method: string, fn: (c: Confined, p: Params) => unknown) => {
    ops.set(method, (params, ctx) => {
      const c = new Confined(o.scope, ctx, method, maxWalk);
      const shown = [params.path, params.from, params.prefix].find((v): v is string => typeof v === 'string') ?? '';
      try {
        return fn(c, params);
      } catch (err) {
        throw ioError(method, shown, err);
      }
    });
  };

  def('fs.read', (c, p) => {
    const path = str(p, 'path');
    const fd = c.openFile(c.resolve(path, 'read', true), path, 'read', O_RDONLY);
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new WardenError('io', `EISDIR: fs.read ${path}`, { reasonCodes: ['EISDIR'] });
      c.notSensitiveIdentity(st, path, 'read');
      const offset = typeof p.offset === 'number' ? p.offset : 0;
      const want = typeof p.length === 'number' ? p.length : Math.max(0, st.size - offset);
      if (want > maxRead)
        throw new WardenError('quota_exceeded', `fs.read ${path}: ${want} bytes is over the read limit of ${maxRead}`, {
          reasonCodes: ['fs_read_limit'],
        });
      const data = readAll(fd, offset, want);
      return p.encoding === 'utf8' ? data.toString('utf8') : data.toString('base64');
    } finally {
      closeSync(fd);
    }
  });

  def('fs.list', (c, p) => {
    const path = str(p, 'path');
    const dir = c.anchor(c.resolve(path, 'read', true), path, 'read');
    try {
      const entries = readdirSync(dir.path, { withFileTypes: true });
      return p.withFileTypes === true
        ? entries.map((e) => ({
            name: e.name,
            type: e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : 'other',
          }))
        : entries.map((e) => e.name);
    } finally {
      dir.close();
    }
  });

  def('fs.stat', (c, p) => {
    const path = str(p, 'path');
    const follow = p.followSymlinks !== false;
    return c.inParent(c.resolve(path, 'read', follow), path, 'read', (dir, name) => statData(lstatSync(join(dir.path, name))));
  });

  def('fs.exists', (c, p) => {
    const path = str(p, 'path');
    return c.inParent(c.resolve(path, 'read', true), path, 'read', (dir, name) => {
      try {
        lstatSync(join(dir.path, name));
        return true;
      } catch {
        return false;
      }
    });
  });

  def('fs.realpath', (c, p) => {
    const path = str(p, 'path');
    const real = c.resolve(path, 'read', true);
    return c.inParent(real, path, 'read', (dir, name) => {
      lstatSync(join(dir.path, name)); // ENOENT like realpath
      return join(dir.real, name);
    });
  });

  def('fs.write', (c, p) => {
    const path = str(p, 'path');
    const data = Buffer.from(str(p, 'data'), p.encoding === 'base64' ? 'base64' : 'utf8');
    c.inParent(c.resolve(path, 'write', true), path, 'write', (dir, name) => {
      // No O_TRUNC: a file with other names (hard links) is refused before a byte of it changes.
      const fd = openSync(
        join(dir.path, name),
        O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | (p.append === true ? O_APPEND : 0),
        fileMode(p.mode),
      );
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) throw new WardenError('io', `EINVAL: fs.write ${path}: not a regular file`, { reasonCodes: ['EINVAL'] });
        c.notHardLinked(st, path);
        if (p.append !== true && st.size > 0) ftruncateSync(fd, 0);
        writeAll(fd, data);
      } finally {
        closeSync(fd);
      }
    });
    return null;
  });

  def('fs.mkdir', (c, p) => {
    const path = str(p, 'path');
    const real = c.resolve(path, 'write', false);
    const mode = typeof p.mode === 'number' ? p.mode & 0o1777 : 0o777;
    if (p.recursive !== true) {
      c.inParent(real, path, 'write', (dir, name) => mkdirSync(join(dir.path, name), mode));
      return null;
    }
    // One component at a time, each inside a verified parent: a link swapped into the chain is caught.
    const missing: string[] = [];
    let existing = real;
    while (!existsSync(existing) && dirname(existing) !== existing) {
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
    let cur = existing;
    for (const part of missing) {
      const next = join(cur, part);
      c.inParent(next, path, 'write', (dir, name) => {
        try {
          mkdirSync(join(dir.path, name), mode);
        } catch (err) {
          if (errnoOf(err) !== 'EEXIST') throw err;
        }
      });
      cur = next;
    }
    return null;
  });

  def('fs.mkdtemp', (c, p) => {
    const prefix = str(p, 'prefix');
    const real = c.resolve(prefix, 'write', false);
    return c.inParent(real, prefix, 'write', (dir, name) => {
      for (let attempt = 0; attempt < 16; attempt++) {
        const made = `${name}${randomBytes(6).toString('base64url').slice(0, 6)}`;
        // The folder made is a sibling of the prefix: it is what must be in scope (`<project>` → `<project>XXXXXX`).
        c.checkPlace(join(dir.real, made), prefix);
        try {
          mkdirSync(join(dir.path, made), 0o700);
          return join(dir.real, made);
        } catch (err) {
          if (errnoOf(err) !== 'EEXIST') throw err;
        }
      }
      throw new WardenError('io', `EEXIST: fs.mkdtemp ${prefix}: no unique name found`, { reasonCodes: ['EEXIST'] });
    });
  });

  def('fs.delete', (c, p) => {
    const path = str(p, 'path');
    c.inParent(c.resolve(path, 'write', false), path, 'write', (dir, name) => {
      const target = join(dir.path, name);
      let st;
      try {
        st = lstatSync(target);
      } catch (err) {
        if (p.force === true && errnoOf(err) === 'ENOENT') return;
        throw err;
      }
      if (!st.isDirectory()) {
        unlinkSync(target);
        return;
      }
      if (p.recursive !== true) {
        rmdirSync(target);
        return;
      }
      // Every entry is checked as its own delete would be: a first walk refuses before anything is gone; the second
      // checks each entry again as it deletes it. Both walk through O_NOFOLLOW anchors (Confined.openChild), so a
      // symlink swapped in cannot lead the delete outside, and nothing is deleted that was not checked just before.
      const top = c.openChild(dir, name, join(dir.real, name), path);
      try {
        c.walkTree(top, path, (e) => c.checkEntry(e, path));
        c.walkTree(
          top,
          path,
          (e) => {
            c.checkEntry(e, path);
            if (e.kind !== 'dir') ignoreGone(() => unlinkSync(join(e.dir.path, e.name)));
          },
          (e) => ignoreGone(() => rmdirSync(join(e.dir.path, e.name))),
        );
        c.sameFolder(top, target, path);
      } finally {
        top.close();
      }
      rmdirSync(target);
    });
    return null;
  });

  def('fs.rename', (c, p) => {
    const from = str(p, 'from');
    const to = str(p, 'to');
    const realFrom = c.resolve(from, 'write', false);
    const realTo = c.resolve(to, 'write', false);
    c.inParent(realFrom, from, 'write', (a, na) => {
      const source = join(a.path, na);
      const movedFrom = join(a.real, na);
      const st = lstatSync(source);
      c.inParent(realTo, to, 'write', (b, nb) => {
        const movedTo = join(b.real, nb);
        // The file system as it will be after the move, for symlink targets: the tree is at movedTo, not at movedFrom.
        const view: PathView = (q) => (isInside(movedTo, q) ? movedFrom + q.slice(movedTo.length) : isInside(movedFrom, q) ? undefined : q);
        const top: TreeEntry = { dir: a, name: na, rel: '', real: movedFrom, kind: st.isSymbolicLink() ? 'symlink' : 'other' };
        if (top.kind === 'symlink') c.checkMovedLink(top, from, movedTo, view);
        if (st.isDirectory()) {
          // Every entry, as deleted from where it is and as created where it lands (and a symlink as pointing from
          // there); through O_NOFOLLOW anchors; then the name is verified to still be the folder that was walked.
          const tree = c.openChild(a, na, movedFrom, from);
          try {
            c.walkTree(tree, from, (e) => {
              const place = join(movedTo, e.rel);
              c.checkEntry(e, from);
              c.checkEntry(e, from, place);
              if (e.kind === 'symlink') c.checkMovedLink(e, from, place, view);
            });
            c.sameFolder(tree, source, from);
          } finally {
            tree.close();
          }
        }
        renameSync(source, join(b.path, nb));
      });
    });
    return null;
  });

  def('fs.copy', (c, p) => {
    const from = str(p, 'from');
    const to = str(p, 'to');
    const src = c.openFile(c.resolve(from, 'read', true), from, 'read', O_RDONLY);
    try {
      const st = fstatSync(src);
      if (!st.isFile()) throw new WardenError('io', `EINVAL: fs.copy ${from}: not a regular file`, { reasonCodes: ['EINVAL'] });
      c.notSensitiveIdentity(st, from, 'read');
      c.inParent(c.resolve(to, 'write', true), to, 'write', (dir, name) => {
        // No O_TRUNC: a destination with other names (hard links) is refused before a byte of it changes.
        const dst = openSync(join(dir.path, name), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, st.mode & 0o777);
        try {
          const dstSt = fstatSync(dst);
          if (!dstSt.isFile()) throw new WardenError('io', `EINVAL: fs.copy ${to}: not a regular file`, { reasonCodes: ['EINVAL'] });
          c.notHardLinked(dstSt, to);
          if (dstSt.size > 0) ftruncateSync(dst, 0);
          const buf = Buffer.allocUnsafe(CHUNK);
          for (let pos = 0; ;) {
            const n = readSync(src, buf, 0, CHUNK, pos);
            if (n === 0) break;
            writeAll(dst, buf.subarray(0, n));
            pos += n;
          }
        } finally {
          closeSync(dst);
        }
      });
    } finally {
      closeSync(src);
    }
    return null;
  });

  def('fs.symlink', (c, p) => {
    const path = str(p, 'path');
    const target = str(p, 'target');
    const real = c.resolve(path, 'write', false);
    // The target is checked as a write where the link will point (the stage did; the file system may have moved).
    c.resolve(isAbsolute(target) ? target : `${dirname(real)}/${target}`, 'write', true);
    c.inParent(real, path, 'write', (dir, name) => symlinkSync(target, join(dir.path, name)));
    return null;
  });

  def('fs.chmod', (c, p) => {
    const path = str(p, 'path');
    const mode = Number(p.mode);
    if ((mode & 0o6000) !== 0)
      throw new WardenError('denied', `fs.chmod ${path}: refused: mode ${mode.toString(8)} sets setuid/setgid bits`, {
        reasonCodes: ['fs_scope', 'fs_setuid_mode'],
      });
    const fd = c.openFile(c.resolve(path, 'write', true), path, 'write', O_RDONLY);
    try {
      c.notHardLinked(fstatSync(fd), path);
      fchmodSync(fd, mode & 0o1777);
    } finally {
      closeSync(fd);
    }
    return null;
  });

  return ops;
}
