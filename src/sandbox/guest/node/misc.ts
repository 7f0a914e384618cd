/**
 * GUEST CODE. The smaller built-ins: `os`, `url`, `util`, `stream`, `readline`, `string_decoder`, `assert`,
 * `module`, `querystring`, `tty`, `perf_hooks`, and the modules that only answer `denied`.
 * None of these needs the host except through the modules they build on (process, fs).
 */
import { DENIED_NODE_MODULES } from '../../contract.ts';
import { Buffer } from './buffer.ts';
import { EventEmitter } from './events.ts';
import { boot } from './state.ts';

type Opts = Record<string, unknown>;

export const os = {
  homedir: () => boot.home,
  tmpdir: () => boot.tmpdir,
  platform: () => boot.platform,
  arch: () => boot.arch,
  type: () => (boot.platform === 'darwin' ? 'Darwin' : boot.platform === 'win32' ? 'Windows_NT' : 'Linux'),
  release: () => '0.0.0',
  hostname: () => 'sandbox',
  userInfo: () => ({ username: boot.username, homedir: boot.home, shell: '/bin/sh', uid: 1000, gid: 1000 }),
  cpus: () => [],
  availableParallelism: () => 1,
  totalmem: () => 0,
  freemem: () => 0,
  uptime: () => 0,
  loadavg: () => [0, 0, 0],
  networkInterfaces: () => ({}),
  endianness: () => 'LE',
  EOL: '\n',
  devNull: '/dev/null',
  constants: { signals: {}, errno: {} },
};

export function fileURLToPath(url: unknown): string {
  const u = url instanceof URL ? url : new URL(String(url));
  if (u.protocol !== 'file:') throw Object.assign(new TypeError('The URL must be of scheme file'), { code: 'ERR_INVALID_URL_SCHEME' });
  return decodeURIComponent(u.pathname);
}

export function pathToFileURL(path: string): URL {
  return new URL(`file://${String(path).split('/').map(encodeURIComponent).join('/')}`);
}

export const url = {
  URL,
  URLSearchParams,
  fileURLToPath,
  pathToFileURL,
  parse: (s: string) => {
    const u = new URL(s);
    return {
      protocol: u.protocol,
      host: u.host,
      hostname: u.hostname,
      port: u.port,
      pathname: u.pathname,
      search: u.search,
      hash: u.hash,
      href: u.href,
      path: u.pathname + u.search,
      query: u.search.slice(1),
    };
  },
  format: (u: unknown) => (u instanceof URL ? u.href : String((u as Opts).href ?? '')),
};

export function inspect(value: unknown, _opts?: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return `[Function: ${value.name || 'anonymous'}]`;
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  try {
    const seen = new WeakSet<object>();
    return (
      JSON.stringify(value, (_k, v: unknown) => {
        if (typeof v === 'bigint') return `${v}n`;
        if (typeof v === 'function') return `[Function: ${(v as { name?: string }).name ?? ''}]`;
        if (v !== null && typeof v === 'object') {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        return v;
      }) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

export function format(fmt: unknown, ...args: unknown[]): string {
  if (typeof fmt !== 'string') return [fmt, ...args].map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ');
  let i = 0;
  const out = fmt.replace(/%[sdifjoOc%]/g, (m) => {
    if (m === '%%') return '%';
    if (i >= args.length) return m;
    const a = args[i++];
    switch (m) {
      case '%s':
        return typeof a === 'string' ? a : inspect(a);
      case '%d':
      case '%i':
        return String(m === '%i' ? Math.trunc(Number(a)) : Number(a));
      case '%f':
        return String(Number(a));
      case '%j':
        return JSON.stringify(a) ?? 'undefined';
      case '%c':
        return '';
      default:
        return inspect(a);
    }
  });
  return [out, ...args.slice(i).map((a) => (typeof a === 'string' ? a : inspect(a)))].join(' ');
}

function promisify(fn: (...a: unknown[]) => unknown): (...a: unknown[]) => Promise<unknown> {
  const custom = (fn as unknown as Record<symbol, unknown>)[promisify.custom];
  if (typeof custom === 'function') return custom as (...a: unknown[]) => Promise<unknown>;
  return (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      fn(...args, (err: unknown, ...values: unknown[]) => (err ? reject(err) : resolve(values.length > 1 ? values : values[0])));
    });
}
promisify.custom = Symbol.for('nodejs.util.promisify.custom');

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => isDeepStrictEqual((a as Opts)[k], (b as Opts)[k]));
}

export const types = {
  isPromise: (v: unknown) => v instanceof Promise,
  isDate: (v: unknown) => v instanceof Date,
  isRegExp: (v: unknown) => v instanceof RegExp,
  isNativeError: (v: unknown) => v instanceof Error,
  isUint8Array: (v: unknown) => v instanceof Uint8Array,
  isArrayBuffer: (v: unknown) => v instanceof ArrayBuffer,
  isAsyncFunction: (v: unknown) => typeof v === 'function' && v.constructor?.name === 'AsyncFunction',
  isMap: (v: unknown) => v instanceof Map,
  isSet: (v: unknown) => v instanceof Set,
};

export const util = {
  format,
  inspect,
  promisify,
  isDeepStrictEqual,
  types,
  inherits: (ctor: { prototype: object; super_?: unknown }, superCtor: { prototype: object }) => {
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
    ctor.super_ = superCtor;
  },
  deprecate: <T>(fn: T) => fn,
  debuglog: () => () => undefined,
  callbackify:
    (fn: (...a: unknown[]) => Promise<unknown>) =>
    (...args: unknown[]) => {
      const cb = args.pop() as (e: unknown, v?: unknown) => void;
      fn(...args).then(
        (v) => cb(null, v),
        (e) => cb(e),
      );
    },
  stripVTControlCharacters: (s: string) => String(s).replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*(\u0007|\u001b\\)/g, ''),
  isArray: Array.isArray,
  TextEncoder,
  TextDecoder,
  styleText: (_f: unknown, text: string) => text,
};

export class Stream extends EventEmitter {
  pipe<T>(dest: T): T {
    this.on('data', (c: unknown) => (dest as { write?: (c: unknown) => void }).write?.(c));
    this.on('end', () => (dest as { end?: () => void }).end?.());
    return dest;
  }
}

/** Partial: synchronous push/write streams with no backpressure, enough for the usual event-style use. */
export class Readable extends Stream {
  readable = true;
  push(chunk: unknown): boolean {
    if (chunk === null) this.emit('end');
    else this.emit('data', chunk);
    return true;
  }
  setEncoding(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  destroy(): this {
    this.emit('close');
    return this;
  }
  static from(iterable: Iterable<unknown>): Readable {
    const r = new Readable();
    queueMicrotask(() => {
      for (const c of iterable) r.push(c);
      r.push(null);
    });
    return r;
  }
}

export class Writable extends Stream {
  writable = true;
  readonly #write: ((c: unknown, e: string, cb: () => void) => void) | undefined;
  constructor(opts?: { write?: (c: unknown, e: string, cb: () => void) => void }) {
    super();
    this.#write = opts?.write;
  }
  write(chunk: unknown): boolean {
    if (this.#write !== undefined) this.#write(chunk, 'utf8', () => undefined);
    else this.emit('data', chunk);
    return true;
  }
  end(chunk?: unknown): this {
    if (chunk !== undefined) this.write(chunk);
    this.emit('finish');
    this.emit('close');
    return this;
  }
  destroy(): this {
    this.emit('close');
    return this;
  }
}

export class PassThrough extends Writable {
  override write(chunk: unknown): boolean {
    this.emit('data', chunk);
    return true;
  }
  override end(chunk?: unknown): this {
    if (chunk !== undefined) this.write(chunk);
    this.emit('end');
    this.emit('finish');
    return this;
  }
}

export const stream = Object.assign(Stream, {
  Stream,
  Readable,
  Writable,
  PassThrough,
  Transform: PassThrough,
  Duplex: PassThrough,
  pipeline: (...s: unknown[]) => {
    const cb = s[s.length - 1];
    if (typeof cb === 'function') queueMicrotask(() => (cb as (e: null) => void)(null));
  },
  finished: (_s: unknown, cb: (e: null) => void) => queueMicrotask(() => cb(null)),
  promises: { pipeline: () => Promise.resolve(), finished: () => Promise.resolve() },
});

/** Partial: the sandbox has no terminal; an interface never receives lines and `question` resolves to ''. */
export const readline = {
  createInterface: () => {
    const rl = new EventEmitter() as EventEmitter & Opts;
    rl.question = (_q: string, cb?: (a: string) => void) => {
      if (cb) queueMicrotask(() => cb(''));
      return Promise.resolve('');
    };
    rl.close = () => rl.emit('close');
    rl.setPrompt = () => undefined;
    rl.prompt = () => undefined;
    (rl as unknown as Record<symbol, unknown>)[Symbol.asyncIterator] = async function* lines() {
      /* no input in the sandbox */
    };
    return rl;
  },
  emitKeypressEvents: () => undefined,
  clearLine: () => true,
  cursorTo: () => true,
  moveCursor: () => true,
};

export class StringDecoder {
  readonly #enc: string;
  constructor(enc = 'utf8') {
    this.#enc = enc;
  }
  write(b: Uint8Array): string {
    return Buffer.from(b).toString(this.#enc);
  }
  end(b?: Uint8Array): string {
    return b === undefined ? '' : this.write(b);
  }
}

class AssertionError extends Error {
  code = 'ERR_ASSERTION';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

function ok(value: unknown, message?: string): void {
  if (!value) throw new AssertionError(message ?? 'The expression evaluated to a falsy value');
}

export const assert = Object.assign(ok, {
  ok,
  AssertionError,
  equal: (a: unknown, b: unknown, m?: string) => ok(a == b, m ?? `${inspect(a)} == ${inspect(b)}`),
  strictEqual: (a: unknown, b: unknown, m?: string) =>
    ok(Object.is(a, b), m ?? `Expected values to be strictly equal: ${inspect(a)} !== ${inspect(b)}`),
  notStrictEqual: (a: unknown, b: unknown, m?: string) => ok(!Object.is(a, b), m),
  deepStrictEqual: (a: unknown, b: unknown, m?: string) => ok(isDeepStrictEqual(a, b), m ?? 'Expected values to be deeply equal'),
  deepEqual: (a: unknown, b: unknown, m?: string) => ok(isDeepStrictEqual(a, b), m),
  fail: (m?: string) => {
    throw new AssertionError(m ?? 'Failed');
  },
  throws: (fn: () => unknown, _e?: unknown, m?: string) => {
    try {
      fn();
    } catch {
      return;
    }
    throw new AssertionError(m ?? 'Missing expected exception.');
  },
});
(assert as unknown as Opts).strict = assert;

export const querystring = {
  parse: (s: string) => Object.fromEntries(new URLSearchParams(s)),
  stringify: (o: Record<string, string>) => new URLSearchParams(o).toString(),
  escape: encodeURIComponent,
  unescape: decodeURIComponent,
};

export const tty = { isatty: () => false, ReadStream: Readable, WriteStream: Writable };
export const perfHooks = { performance };

export function deniedModule(name: string): Opts {
  // A plain function, so that `new Worker(...)` fails with the denial too, not with "not a constructor".
  const fail = (member: string) =>
    function deniedMember(): never {
      throw Object.assign(new Error(`denied: node:${name}${member === '' ? '' : `.${member}`} is not available in the sandbox`), {
        code: 'ERR_ACCESS_DENIED',
      });
    };
  // Importing succeeds (extensions often import at top level and use the module on one path only); every use fails.
  return new Proxy(
    {},
    {
      get: (_t, key) => (key === '__esModule' || key === 'then' || typeof key === 'symbol' ? undefined : fail(String(key))),
    },
  );
}

export const DENIED = new Set(DENIED_NODE_MODULES);
