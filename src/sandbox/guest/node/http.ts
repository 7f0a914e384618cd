/**
 * GUEST CODE. `fetch`, `node:http` and `node:https` clients through the `http` hostcall (policy `http`, egress
 * mediation on the host). Bodies are whole strings (partial: no streaming). Servers are denied.
 */
import { callAsync, HostError } from '../abi.ts';
import { Buffer } from './buffer.ts';
import { EventEmitter } from './events.ts';

type Opts = Record<string, unknown>;
interface HttpReply {
  status: number;
  statusText?: string;
  headers?: Record<string, string>;
  bodyBase64?: string;
  body?: string;
  url?: string;
  redirected?: boolean;
}

function headerRecord(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === null || h === undefined) return out;
  if (typeof (h as { forEach?: unknown }).forEach === 'function' && !Array.isArray(h)) {
    (h as { forEach(fn: (v: string, k: string) => void): void }).forEach((v, k) => {
      out[k.toLowerCase()] = String(v);
    });
    return out;
  }
  const entries = Array.isArray(h) ? (h as Array<[string, unknown]>) : Object.entries(h as Opts);
  for (const [k, v] of entries) if (v !== undefined) out[String(k).toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function replyBytes(r: HttpReply): Buffer {
  return r.bodyBase64 !== undefined ? Buffer.from(r.bodyBase64, 'base64') : Buffer.from(r.body ?? '');
}

class SandboxResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly url: string;
  /** Whether the host followed a redirect to get this response (its final `url` is then the last hop). */
  readonly redirected: boolean;
  readonly type = 'basic';
  #bytes: Buffer;
  #used = false;
  constructor(r: HttpReply, url: string) {
    this.status = r.status;
    this.statusText = r.statusText ?? '';
    this.ok = r.status >= 200 && r.status < 300;
    this.headers = new Headers(r.headers ?? {});
    this.url = r.url ?? url;
    this.redirected = r.redirected === true;
    this.#bytes = replyBytes(r);
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  #take(): Buffer {
    if (this.#used) throw new TypeError('Body has already been consumed');
    this.#used = true;
    return this.#bytes;
  }
  text(): Promise<string> {
    return Promise.resolve(new TextDecoder().decode(this.#take()));
  }
  json(): Promise<unknown> {
    return this.text().then((t) => JSON.parse(t) as unknown);
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.#take();
    return Promise.resolve(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  clone(): SandboxResponse {
    return new SandboxResponse(
      {
        status: this.status,
        statusText: this.statusText,
        headers: headerRecord(this.headers),
        bodyBase64: this.#bytes.toString('base64'),
        url: this.url,
        redirected: this.redirected,
      },
      this.url,
    );
  }
}

function bodyParams(body: unknown): Opts {
  if (body === undefined || body === null) return {};
  if (typeof body === 'string') return { body };
  if (body instanceof Uint8Array) return { bodyBase64: Buffer.from(body).toString('base64') };
  if (body instanceof ArrayBuffer) return { bodyBase64: Buffer.from(new Uint8Array(body)).toString('base64') };
  if (body instanceof URLSearchParams) return { body: body.toString() };
  return { body: String(body) };
}

export async function fetch(input: unknown, init?: unknown): Promise<SandboxResponse> {
  const i = init !== null && typeof init === 'object' ? (init as Opts) : {};
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : String((input as { url?: unknown }).url ?? input);
  const method = typeof i.method === 'string' ? i.method.toUpperCase() : 'GET';
  const signal = i.signal as { aborted?: boolean } | undefined;
  if (signal?.aborted === true) throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
  const params: Opts = { url, method, headers: headerRecord(i.headers), ...bodyParams(i.body) };
  if (i.redirect === 'manual' || i.redirect === 'error' || i.redirect === 'follow') params.redirect = i.redirect;
  try {
    return new SandboxResponse((await callAsync('http', params)) as HttpReply, url);
  } catch (err) {
    if (err instanceof HostError) throw Object.assign(new TypeError(`fetch failed: ${err.message}`), { cause: err, wardenCode: err.code });
    throw err;
  }
}

function denied(what: string): never {
  throw Object.assign(new Error(`denied: ${what} is not available in the sandbox (no listeners)`), { code: 'ERR_ACCESS_DENIED' });
}

function clientModule(scheme: 'http' | 'https'): Opts {
  function request(...args: unknown[]): EventEmitter & Opts {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as (res: unknown) => void) : undefined;
    let url = '';
    let o: Opts = {};
    for (const a of args) {
      if (typeof a === 'string') url = a;
      else if (a instanceof URL) url = a.href;
      else if (a !== null && typeof a === 'object') o = a as Opts;
    }
    if (url === '') {
      const host = String(o.hostname ?? o.host ?? 'localhost');
      const port = o.port === undefined ? '' : `:${String(o.port)}`;
      url = `${String(o.protocol ?? `${scheme}:`)}//${host}${port}${String(o.path ?? '/')}`;
    }
    const req = new EventEmitter() as EventEmitter & Opts;
    const chunks: string[] = [];
    req.setHeader = () => req;
    req.setTimeout = () => req;
    req.destroy = () => req;
    req.abort = () => undefined;
    req.write = (c: unknown) => {
      chunks.push(typeof c === 'string' ? c : Buffer.from(c).toString());
      return true;
    };
    req.end = (c?: unknown) => {
      if (c !== undefined && typeof c !== 'function') (req.write as (x: unknown) => boolean)(c);
      const method = String(o.method ?? 'GET').toUpperCase();
      const params: Opts = { url, method, headers: headerRecord(o.headers) };
      if (chunks.length > 0) params.body = chunks.join('');
      callAsync('http', params).then(
        (raw) => {
          const r = raw as HttpReply;
          const res = new EventEmitter() as EventEmitter & Opts;
          res.statusCode = r.status;
          res.statusMessage = r.statusText ?? '';
          res.headers = r.headers ?? {};
          res.setEncoding = () => res;
          res.resume = () => res;
          cb?.(res);
          req.emit('response', res);
          const bytes = replyBytes(r);
          if (bytes.length > 0) res.emit('data', bytes);
          res.emit('end');
        },
        (err) => {
          const e: unknown =
            err instanceof HostError
              ? Object.assign(new Error(err.message), {
                  code: err.code === 'denied' ? 'EACCES' : (/\b(E[A-Z]{2,})\b/.exec(err.message)?.[1] ?? 'ECONNREFUSED'),
                  wardenCode: err.code,
                })
              : err;
          if (req.listenerCount('error') > 0) req.emit('error', e);
        },
      );
      return req;
    };
    return req;
  }
  function get(...args: unknown[]): EventEmitter & Opts {
    const req = request(...args);
    (req.end as () => void)();
    return req;
  }
  return {
    request,
    get,
    createServer: () => denied(`${scheme}.createServer`),
    Server: function Server() {
      denied(`${scheme}.Server`);
    },
    Agent: class Agent {},
    globalAgent: {},
    STATUS_CODES: { 200: 'OK', 404: 'Not Found', 500: 'Internal Server Error' },
    METHODS: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
  };
}

export const http = clientModule('http');
export const https = clientModule('https');
export { SandboxResponse as Response };
