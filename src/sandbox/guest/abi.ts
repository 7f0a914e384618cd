/**
 * GUEST CODE: runs inside the QuickJS sandbox, bundled by esbuild (see ../runtime.ts); it imports nothing outside
 * `src/sandbox/guest/`. The string ABI to the host: hostcalls (sync and async), timers, settling host entries.
 *
 * The one host function is captured here and removed from the global object before any extension code runs.
 */
type HostFn = (op: string, payload: string) => string;

const g = globalThis as unknown as Record<string, unknown>;
const hostFn = g.__wardenHost as HostFn;
delete g.__wardenHost;

// Captured before extension code runs: an extension that replaces JSON.* only confuses itself.
const stringify = JSON.stringify;
const parse = JSON.parse;

export interface WireError { code: string; message: string }
type Reply = { ok: true; value?: unknown; ticket?: number } | { ok: false; error: WireError };

/** An error the host returned: `code` is a WardenError code (`denied`, `invalid_request`, `io`, ...). */
export class HostError extends Error {
  code: string;
  constructor(error: WireError) {
    super(error.message);
    this.name = 'HostError';
    this.code = error.code;
  }
}

function encode(value: unknown): string {
  const s = stringify(value);
  return s === undefined ? 'null' : s;
}

function decode(reply: string): Reply {
  try {
    return parse(reply) as Reply;
  } catch {
    return { ok: false, error: { code: 'internal', message: 'unreadable host reply' } };
  }
}

function unwrap(reply: Reply): unknown {
  if (reply.ok) return reply.value;
  throw new HostError(reply.error);
}

/** A hostcall that returns synchronously (fs.*Sync, process.env, registrations, sessionManager reads). */
export function callSync(method: string, params: Record<string, unknown>): unknown {
  return unwrap(decode(hostFn('call', encode({ method, params }))));
}

const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

/** A hostcall whose result arrives later (exec, http, dialogs, fs/promises). */
export function callAsync(method: string, params: Record<string, unknown>): Promise<unknown> {
  let body: string;
  try {
    body = encode({ method, params });
  } catch (err) {
    return Promise.reject(err);
  }
  const reply = decode(hostFn('callAsync', body));
  if (!reply.ok) return Promise.reject(new HostError(reply.error));
  const ticket = reply.ticket as number;
  return new Promise((resolve, reject) => pending.set(ticket, { resolve, reject }));
}

/** The host delivers an async hostcall's result. */
export function resume(ticket: number, reply: Reply): void {
  const p = pending.get(ticket);
  if (p === undefined) return;
  pending.delete(ticket);
  if (reply.ok) p.resolve(reply.value);
  else p.reject(new HostError(reply.error));
}

/** Tells the host an entry it started (load, event, tool, command) has finished. */
export function settle(ticket: number, ok: boolean, value: unknown): void {
  let body: string;
  try {
    body = encode(ok ? { ticket, ok, value } : { ticket, ok, error: value });
  } catch (err) {
    body = encode({ ticket, ok: false, error: { code: 'invalid_request', message: `result is not plain data: ${String(err)}` } });
  }
  hostFn('settle', body);
}

export function hostTimer(op: 'set' | 'clear', id: number, ms: number): void {
  const reply = decode(hostFn('timer', encode({ op, id, ms })));
  if (!reply.ok) throw new HostError(reply.error);
}

/** Fire-and-forget text to the host log (console.*, process.stdout). Goes through dispatch as `log`. */
export function hostLog(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
  try {
    callSync('log', { level, message: message.length > 65536 ? message.slice(0, 65536) : message });
  } catch {
    // logging denied or over quota: console output is best effort, as in Node when stdout is closed
  }
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof HostError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'extension_error', message: `${err.name}: ${err.message}` };
  return { code: 'extension_error', message: String(err) };
}
