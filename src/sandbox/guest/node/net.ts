/**
 * GUEST CODE. `node:net` clients through the net hostcalls (ADR 0038), under the `net` grant on the host: a Unix
 * socket or a loopback TCP port of a server the extension started (a language server, a control socket).
 * `net.connect` answers a handle, `net.read` is asked again and again for what arrived (the host scanned it for
 * held secrets), `net.write` sends in order, `net.close` destroys. Listening is refused: `createServer` would
 * let anything on the machine reach into the sandbox.
 */
import { callAsync, HostError } from '../abi.ts';
import { Buffer } from './buffer.ts';
import { EventEmitter } from './events.ts';
import { StringDecoder } from './misc.ts';

type Opts = Record<string, unknown>;
type Callback = (...args: unknown[]) => void;

interface Chunk {
  data: string;
  done: boolean;
  error?: string;
}

/** A host refusal or failure as Node reports socket errors: an Error with a code (EACCES, ECONNREFUSED, ...). */
function socketError(err: unknown): Error & { code: string; wardenCode?: string } {
  if (!(err instanceof HostError)) return Object.assign(new Error(String(err)), { code: 'EIO' });
  const system = /^net\.\w+: ([A-Z][A-Z0-9_]+):/.exec(err.message)?.[1];
  const code = system ?? (err.code === 'denied' ? 'EACCES' : err.code === 'quota_exceeded' ? 'EMFILE' : 'EINVAL');
  return Object.assign(new Error(err.message), { code, wardenCode: err.code });
}

/** connect's arguments, as Node reads them: (options[, cb]), (path[, cb]) or (port[, host][, cb]). */
function connectArgs(args: unknown[]): { params: Opts; cb: Callback | undefined } {
  const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
  const first = args[0];
  if (first !== null && typeof first === 'object') {
    const o = first as Opts;
    if (typeof o.path === 'string') return { params: { path: o.path }, cb };
    const params: Opts = { port: Number(o.port) };
    if (typeof o.host === 'string') params.host = o.host;
    return { params, cb };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { params: { path: first }, cb };
  const params: Opts = { port: Number(first) };
  if (typeof args[1] === 'string') params.host = args[1];
  return { params, cb };
}

export class Socket extends EventEmitter {
  connecting = false;
  destroyed = false;
  pending = true;
  readable = false;
  writable = false;
  bytesRead = 0;
  bytesWritten = 0;
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  readableEncoding: string | null = null;
  #decoder: StringDecoder | undefined;
  #handle: Promise<string | undefined> = Promise.resolve(undefined);
  /** Writes and the close go out in order, each after the one before. */
  #queue: Promise<unknown> = Promise.resolve();
  #paused = false;
  #pumping = false;
  #ended = false;
  #closed = false;

  constructor(_options?: unknown) {
    super();
  }

  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  connect(...args: unknown[]): this {
    const { params, cb } = connectArgs(args);
    if (cb !== undefined) this.once('connect', cb);
    this.connecting = true;
    if (typeof params.port === 'number') {
      this.remotePort = params.port;
      this.remoteAddress = typeof params.host === 'string' && params.host !== 'localhost' ? params.host : '127.0.0.1';
    }
    const opened = callAsync('net.connect', params).then((r) => String((r as Opts).handle));
    this.#handle = opened.catch(() => undefined);
    this.#queue = this.#handle;
    opened.then(
      (handle) => {
        if (this.destroyed) {
          void callAsync('net.close', { handle }).catch(() => undefined);
          return;
        }
        this.connecting = false;
        this.pending = false;
        this.readable = true;
        this.writable = true;
        this.emit('connect');
        this.emit('ready');
        this.#pump(handle);
      },
      (err) => this.destroy(socketError(err)),
    );
    return this;
  }

  #pump(handle: string): void {
    if (this.#paused || this.#pumping || this.#ended || this.destroyed) return;
    this.#pumping = true;
    callAsync('net.read', { handle }).then(
      (raw) => {
        this.#pumping = false;
        const r = raw as Chunk;
        const bytes = Buffer.from(r.data, 'base64');
        if (bytes.length > 0 && !this.destroyed) {
          this.bytesRead += bytes.length;
          this.emit('data', this.#decoder === undefined ? bytes : this.#decoder.write(bytes));
        }
        if (r.done) {
          this.#ended = true;
          this.readable = false;
          if (r.error !== undefined) this.destroy(Object.assign(new Error(`socket closed: ${r.error}`), { code: r.error }));
          else {
            this.emit('end');
            this.writable = false;
            this.#close(false);
          }
          return;
        }
        this.#pump(handle);
      },
      (err) => {
        this.#pumping = false;
        this.destroy(socketError(err));
      },
    );
  }

  #close(hadError: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.destroyed = true;
    this.emit('close', hadError);
  }

  setEncoding(encoding?: unknown): this {
    this.readableEncoding = typeof encoding === 'string' ? encoding : 'utf8';
    this.#decoder = new StringDecoder(this.readableEncoding);
    return this;
  }

  write(data: unknown, encoding?: unknown, cb?: unknown): boolean {
    const done = typeof encoding === 'function' ? (encoding as Callback) : typeof cb === 'function' ? (cb as Callback) : undefined;
    this.#send(data, typeof encoding === 'string' ? encoding : undefined, false, done);
    return true;
  }

  end(data?: unknown, encoding?: unknown, cb?: unknown): this {
    const done = [data, encoding, cb].find((x) => typeof x === 'function') as Callback | undefined;
    if (done !== undefined) this.once('finish', done);
    const payload = typeof data === 'function' ? undefined : data;
    this.#send(payload ?? '', typeof encoding === 'string' ? encoding : undefined, true, () => this.emit('finish'));
    this.writable = false;
    return this;
  }

  #send(data: unknown, encoding: string | undefined, end: boolean, done: Callback | undefined): void {
    if (this.destroyed) return;
    const text = typeof data === 'string' && (encoding === undefined || encoding === 'utf8' || encoding === 'utf-8');
    const bytes = text ? undefined : Buffer.from(data, encoding);
    const params: Opts = text ? { data } : { data: bytes!.toString('base64'), encoding: 'base64' };
    if (end) params.end = true;
    this.bytesWritten += text ? Buffer.byteLength(data) : bytes!.length;
    this.#queue = this.#queue
      .then((handle) => (typeof handle === 'string' ? callAsync('net.write', { handle, ...params }).then(() => handle) : handle))
      .then(
        (handle) => {
          done?.();
          return handle;
        },
        (err) => {
          this.destroy(socketError(err));
          return undefined;
        },
      );
  }

  destroy(error?: unknown): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.connecting = false;
    this.readable = false;
    this.writable = false;
    void this.#handle.then((handle) => (handle === undefined ? undefined : callAsync('net.close', { handle }))).catch(() => undefined);
    if (error !== undefined && error !== null) this.emit('error', error);
    this.#closed = false;
    this.#close(error !== undefined && error !== null);
    return this;
  }

  destroySoon(): void {
    this.end();
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    void this.#handle.then((handle) => {
      if (handle !== undefined && !this.connecting) this.#pump(handle);
    });
    return this;
  }

  pipe<T>(dest: T): T {
    const d = dest as { write?: (c: unknown) => unknown; end?: () => unknown };
    this.on('data', (c) => d.write?.(c));
    this.on('end', () => d.end?.());
    return dest;
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  /** No idle timer: the guest's own timers can end a socket; the callback is kept for 'timeout' listeners. */
  setTimeout(_ms?: unknown, cb?: unknown): this {
    if (typeof cb === 'function') this.once('timeout', cb as Callback);
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address(): Opts {
    return {};
  }
}

export function connect(...args: unknown[]): Socket {
  return new Socket().connect(...args);
}

export const createConnection = connect;

function refused(): never {
  throw Object.assign(
    new Error(
      'denied: node:net.createServer is not available in the sandbox: an extension may connect to a server it started, never listen',
    ),
    { code: 'ERR_ACCESS_DENIED' },
  );
}

export function createServer(): never {
  return refused();
}

export function Server(): never {
  return refused();
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const isIPv4 = (s: unknown): boolean => typeof s === 'string' && V4.test(s);
export const isIPv6 = (s: unknown): boolean => typeof s === 'string' && s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s);
export const isIP = (s: unknown): number => (isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0);

export default { Socket, Stream: Socket, connect, createConnection, createServer, Server, isIP, isIPv4, isIPv6 };
