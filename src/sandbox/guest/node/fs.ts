/**
 * GUEST CODE. `node:fs` and `node:fs/promises`: every call is an `fs.*` hostcall (sync calls block on the host,
 * promise and callback calls go asynchronously). Paths are resolved against the sandbox's cwd before they leave.
 * Errors look like Node's (`err.code` is the errno, `EACCES` for a policy denial) and keep the pi-warden code in
 * `err.wardenCode`.
 *
 * Partial: no file descriptors (`open`/`read`/`close`), `watch`/`watchFile` return watchers that never fire,
 * streams are read/written whole.
 */
import { callAsync, callSync, HostError } from '../abi.ts';
import { Buffer } from './buffer.ts';
import { EventEmitter } from './events.ts';
import { resolve } from './path.ts';

type Opts = Record<string, unknown>;

function nodeError(err: unknown, syscall: string, path: string): unknown {
  if (!(err instanceof HostError)) return err;
  const errno = /\b(E[A-Z]{2,})\b/.exec(err.message)?.[1];
  const code = err.code === 'denied' ? 'EACCES' : (errno ?? 'EIO');
  const e = new Error(`${code}: ${err.message}, ${syscall} '${path}'`) as Error & Opts;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  e.wardenCode = err.code;
  return e;
}

function p(path: unknown): string {
  if (path instanceof URL) return decodeURIComponent(path.pathname);
  if (path instanceof Uint8Array) return new TextDecoder().decode(path);
  return resolve(String(path));
}

function encodingOf(options: unknown): string | undefined {
  if (typeof options === 'string') return options;
  if (options !== null && typeof options === 'object') {
    const e = (options as Opts).encoding;
    return typeof e === 'string' ? e : undefined;
  }
  return undefined;
}

function sync<T>(method: string, syscall: string, path: string, params: Opts): T {
  try {
    return callSync(method, params) as T;
  } catch (err) {
    throw nodeError(err, syscall, path);
  }
}

async function later<T>(method: string, syscall: string, path: string, params: Opts): Promise<T> {
  try {
    return (await callAsync(method, params)) as T;
  } catch (err) {
    throw nodeError(err, syscall, path);
  }
}

function readResult(data: string, encoding: string | undefined): string | Buffer {
  if (encoding === undefined) return Buffer.from(data, 'base64');
  if (encoding === 'utf8' || encoding === 'utf-8') return data;
  return Buffer.from(data, 'base64').toString(encoding);
}

function readParams(path: string, encoding: string | undefined): Opts {
  return { path, encoding: encoding === 'utf8' || encoding === 'utf-8' ? 'utf8' : 'base64' };
}

function dataParams(path: string, data: unknown, options: unknown, append: boolean): Opts {
  const params: Opts = { path, append };
  if (typeof data === 'string') {
    params.data = data;
    params.encoding = 'utf8';
  } else if (data instanceof Uint8Array) {
    params.data = Buffer.from(data).toString('base64');
    params.encoding = 'base64';
  } else {
    params.data = String(data);
    params.encoding = 'utf8';
  }
  const mode = options !== null && typeof options === 'object' ? (options as Opts).mode : undefined;
  if (typeof mode === 'number') params.mode = mode;
  return params;
}

interface StatData {
  size: number;
  mode: number;
  mtimeMs: number;
  atimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
  uid?: number;
  gid?: number;
  ino?: number;
  dev?: number;
  nlink?: number;
}

class Stats {
  size: number;
  mode: number;
  mtimeMs: number;
  atimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  mtime: Date;
  atime: Date;
  ctime: Date;
  birthtime: Date;
  uid: number;
  gid: number;
  ino: number;
  dev: number;
  nlink: number;
  readonly #d: StatData;
  constructor(d: StatData) {
    this.#d = d;
    this.size = d.size;
    this.mode = d.mode;
    this.mtimeMs = d.mtimeMs;
    this.atimeMs = d.atimeMs;
    this.ctimeMs = d.ctimeMs;
    this.birthtimeMs = d.birthtimeMs;
    this.mtime = new Date(d.mtimeMs);
    this.atime = new Date(d.atimeMs);
    this.ctime = new Date(d.ctimeMs);
    this.birthtime = new Date(d.birthtimeMs);
    this.uid = d.uid ?? 0;
    this.gid = d.gid ?? 0;
    this.ino = d.ino ?? 0;
    this.dev = d.dev ?? 0;
    this.nlink = d.nlink ?? 1;
  }
  isFile(): boolean {
    return this.#d.isFile;
  }
  isDirectory(): boolean {
    return this.#d.isDirectory;
  }
  isSymbolicLink(): boolean {
    return this.#d.isSymbolicLink;
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
  isBlockDevice(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
}

type DirEntryData = { name: string; type: 'file' | 'dir' | 'symlink' | 'other' };
class Dirent {
  name: string;
  parentPath: string;
  path: string;
  readonly #type: DirEntryData['type'];
  constructor(d: DirEntryData, parent: string) {
    this.name = d.name;
    this.parentPath = parent;
    this.path = parent;
    this.#type = d.type;
  }
  isFile(): boolean {
    return this.#type === 'file';
  }
  isDirectory(): boolean {
    return this.#type === 'dir';
  }
  isSymbolicLink(): boolean {
    return this.#type === 'symlink';
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
  isBlockDevice(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
}

function listResult(raw: unknown, options: unknown, parent: string): unknown {
  const withTypes = options !== null && typeof options === 'object' && (options as Opts).withFileTypes === true;
  const entries = raw as Array<string | DirEntryData>;
  return withTypes
    ? entries.map((e) => new Dirent(typeof e === 'string' ? { name: e, type: 'other' } : e, parent))
    : entries.map((e) => (typeof e === 'string' ? e : e.name));
}

function statOrNull(path: string, follow: boolean, options: unknown): Stats | undefined {
  try {
    return new Stats(sync<StatData>('fs.stat', follow ? 'stat' : 'lstat', path, { path, followSymlinks: follow }));
  } catch (err) {
    if (options !== null && typeof options === 'object' && (options as Opts).throwIfNoEntry === false && (err as Opts).code === 'ENOENT')
      return undefined;
    throw err;
  }
}

// ---- the synchronous API
export function readFileSync(path: unknown, options?: unknown): string | Buffer {
  const abs = p(path);
  const enc = encodingOf(options);
  return readResult(sync<string>('fs.read', 'open', abs, readParams(abs, enc)), enc);
}
export function writeFileSync(path: unknown, data: unknown, options?: unknown): void {
  const abs = p(path);
  sync('fs.write', 'open', abs, dataParams(abs, data, options, false));
}
export function appendFileSync(path: unknown, data: unknown, options?: unknown): void {
  const abs = p(path);
  sync('fs.write', 'open', abs, dataParams(abs, data, options, true));
}
export function existsSync(path: unknown): boolean {
  try {
    const abs = p(path);
    return callSync('fs.exists', { path: abs }) === true;
  } catch {
    return false; // Node's existsSync never throws; a denial is recorded by dispatch
  }
}
export function statSync(path: unknown, options?: unknown): Stats | undefined {
  return statOrNull(p(path), true, options);
}
export function lstatSync(path: unknown, options?: unknown): Stats | undefined {
  return statOrNull(p(path), false, options);
}
export function readdirSync(path: unknown, options?: unknown): unknown {
  const abs = p(path);
  const withFileTypes = options !== null && typeof options === 'object' && (options as Opts).withFileTypes === true;
  return listResult(sync('fs.list', 'scandir', abs, { path: abs, withFileTypes }), options, abs);
}
export function mkdirSync(path: unknown, options?: unknown): string | undefined {
  const abs = p(path);
  const o = options !== null && typeof options === 'object' ? (options as Opts) : {};
  const params: Opts = { path: abs, recursive: o.recursive === true };
  if (typeof o.mode === 'number') params.mode = o.mode;
  sync('fs.mkdir', 'mkdir', abs, params);
  return o.recursive === true ? abs : undefined;
}
export function mkdtempSync(prefix: unknown): string {
  const abs = p(prefix);
  return sync<string>('fs.mkdtemp', 'mkdtemp', abs, { prefix: abs });
}
export function rmSync(path: unknown, options?: unknown): void {
  const abs = p(path);
  const o = options !== null && typeof options === 'object' ? (options as Opts) : {};
  sync('fs.delete', 'rm', abs, { path: abs, recursive: o.recursive === true, force: o.force === true });
}
export function unlinkSync(path: unknown): void {
  const abs = p(path);
  sync('fs.delete', 'unlink', abs, { path: abs });
}
export function rmdirSync(path: unknown, options?: unknown): void {
  rmSync(path, options);
}
export function renameSync(from: unknown, to: unknown): void {
  const a = p(from);
  sync('fs.rename', 'rename', a, { from: a, to: p(to) });
}
export function copyFileSync(from: unknown, to: unknown): void {
  const a = p(from);
  sync('fs.copy', 'copyfile', a, { from: a, to: p(to) });
}
export function realpathSync(path: unknown): string {
  const abs = p(path);
  return sync<string>('fs.realpath', 'realpath', abs, { path: abs });
}
realpathSync.native = realpathSync;
export function chmodSync(path: unknown, mode: unknown): void {
  const abs = p(path);
  sync('fs.chmod', 'chmod', abs, { path: abs, mode: typeof mode === 'number' ? mode : parseInt(String(mode), 8) });
}
export function symlinkSync(target: unknown, path: unknown): void {
  const abs = p(path);
  sync('fs.symlink', 'symlink', abs, { target: String(target), path: abs });
}
export function accessSync(path: unknown): void {
  const abs = p(path);
  if (!existsSync(abs)) throw nodeError(new HostError({ code: 'io', message: 'ENOENT: no such file or directory' }), 'access', abs);
}

// ---- fs/promises
export const promises = {
  readFile: async (path: unknown, options?: unknown) => {
    const abs = p(path);
    const enc = encodingOf(options);
    return readResult(await later<string>('fs.read', 'open', abs, readParams(abs, enc)), enc);
  },
  writeFile: (path: unknown, data: unknown, options?: unknown) => {
    const abs = p(path);
    return later<void>('fs.write', 'open', abs, dataParams(abs, data, options, false)).then(() => undefined);
  },
  appendFile: (path: unknown, data: unknown, options?: unknown) => {
    const abs = p(path);
    return later<void>('fs.write', 'open', abs, dataParams(abs, data, options, true)).then(() => undefined);
  },
  stat: async (path: unknown) => {
    const abs = p(path);
    return new Stats(await later<StatData>('fs.stat', 'stat', abs, { path: abs, followSymlinks: true }));
  },
  lstat: async (path: unknown) => {
    const abs = p(path);
    return new Stats(await later<StatData>('fs.stat', 'lstat', abs, { path: abs, followSymlinks: false }));
  },
  readdir: async (path: unknown, options?: unknown) => {
    const abs = p(path);
    const withFileTypes = options !== null && typeof options === 'object' && (options as Opts).withFileTypes === true;
    return listResult(await later('fs.list', 'scandir', abs, { path: abs, withFileTypes }), options, abs);
  },
  mkdir: async (path: unknown, options?: unknown) => {
    const abs = p(path);
    const o = options !== null && typeof options === 'object' ? (options as Opts) : {};
    await later('fs.mkdir', 'mkdir', abs, { path: abs, recursive: o.recursive === true });
    return o.recursive === true ? abs : undefined;
  },
  mkdtemp: (prefix: unknown) => {
    const abs = p(prefix);
    return later<string>('fs.mkdtemp', 'mkdtemp', abs, { prefix: abs });
  },
  rm: (path: unknown, options?: unknown) => {
    const abs = p(path);
    const o = options !== null && typeof options === 'object' ? (options as Opts) : {};
    return later<void>('fs.delete', 'rm', abs, { path: abs, recursive: o.recursive === true, force: o.force === true }).then(
      () => undefined,
    );
  },
  unlink: (path: unknown) => {
    const abs = p(path);
    return later<void>('fs.delete', 'unlink', abs, { path: abs }).then(() => undefined);
  },
  rename: (from: unknown, to: unknown) => {
    const a = p(from);
    return later<void>('fs.rename', 'rename', a, { from: a, to: p(to) }).then(() => undefined);
  },
  copyFile: (from: unknown, to: unknown) => {
    const a = p(from);
    return later<void>('fs.copy', 'copyfile', a, { from: a, to: p(to) }).then(() => undefined);
  },
  realpath: (path: unknown) => {
    const abs = p(path);
    return later<string>('fs.realpath', 'realpath', abs, { path: abs });
  },
  chmod: (path: unknown, mode: unknown) => {
    const abs = p(path);
    return later<void>('fs.chmod', 'chmod', abs, { path: abs, mode: Number(mode) }).then(() => undefined);
  },
  access: async (path: unknown) => {
    const abs = p(path);
    const ok = await later<boolean>('fs.exists', 'access', abs, { path: abs });
    if (!ok) throw nodeError(new HostError({ code: 'io', message: 'ENOENT: no such file or directory' }), 'access', abs);
  },
};

// ---- callback API: the promise API with a Node-style callback
function callbackify(fn: (...args: unknown[]) => Promise<unknown>) {
  return (...args: unknown[]) => {
    const cb = args[args.length - 1];
    const rest = typeof cb === 'function' ? args.slice(0, -1) : args;
    fn(...rest).then(
      (v) => typeof cb === 'function' && (cb as (e: unknown, v?: unknown) => void)(null, v),
      (e) => typeof cb === 'function' && (cb as (e: unknown) => void)(e),
    );
  };
}

function inertWatcher(): EventEmitter {
  const w = new EventEmitter() as EventEmitter & Opts;
  w.close = () => undefined;
  w.ref = () => w;
  w.unref = () => w;
  return w;
}

export function createReadStream(path: unknown, options?: unknown): EventEmitter {
  const s = new EventEmitter();
  promises.readFile(path, options).then(
    (data) => {
      s.emit('open');
      s.emit('data', data);
      s.emit('end');
      s.emit('close');
    },
    (err) => s.emit('error', err),
  );
  return s;
}

export function createWriteStream(path: unknown, options?: unknown): EventEmitter & Opts {
  const s = new EventEmitter() as EventEmitter & Opts;
  const chunks: string[] = [];
  s.write = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  s.end = (chunk?: unknown) => {
    if (chunk !== undefined) (s.write as (c: unknown) => boolean)(chunk);
    const append = options !== null && typeof options === 'object' && (options as Opts).flags === 'a';
    (append ? promises.appendFile : promises.writeFile)(path, chunks.join('')).then(
      () => {
        s.emit('finish');
        s.emit('close');
      },
      (err) => s.emit('error', err),
    );
  };
  return s;
}

function noDescriptors(): never {
  const e = new Error('ENOSYS: file descriptors are not available in the sandbox') as Error & Opts;
  e.code = 'ENOSYS';
  throw e;
}

export const constants = {
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 64,
  O_EXCL: 128,
  O_TRUNC: 512,
  O_APPEND: 1024,
};

const fs: Opts = {
  readFileSync,
  writeFileSync,
  appendFileSync,
  existsSync,
  statSync,
  lstatSync,
  readdirSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  unlinkSync,
  rmdirSync,
  renameSync,
  copyFileSync,
  realpathSync,
  chmodSync,
  symlinkSync,
  accessSync,
  promises,
  constants,
  createReadStream,
  createWriteStream,
  Stats,
  Dirent,
  watch: () => inertWatcher(),
  watchFile: () => inertWatcher(),
  unwatchFile: () => undefined,
  openSync: noDescriptors,
  readSync: noDescriptors,
  writeSync: noDescriptors,
  closeSync: noDescriptors,
  fstatSync: noDescriptors,
};
for (const name of Object.keys(promises))
  fs[name] = callbackify((promises as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!);
fs.exists = (path: unknown, cb: unknown) => {
  if (typeof cb === 'function') (cb as (ok: boolean) => void)(existsSync(path));
};
export default fs;
export const fsPromises: Opts = { ...promises, constants, default: promises };
