/**
 * GUEST CODE: runs inside the QuickJS sandbox, bundled by esbuild (see ../runtime.ts); it imports nothing outside
 * `src/sandbox/guest/`. The string ABI to the host: hostcalls (sync, async and fire-and-forget), lazily sent event
 * fields, timers, settling host entries.
 *
 * The one host function is captured here and removed from the global object before any extension code runs.
 */
type HostFn = (op: string, payload: string) => string;

const g = globalThis as unknown as Record<string, unknown>;
const hostFn = g.__wardenHost as HostFn;
delete g.__wardenHost;

// Captured before extension code runs: an extension that replaces JSON.* or tampers with prototypes only confuses
// itself; what crosses the boundary is still built by this code.
const stringify = JSON.stringify;
const parse = JSON.parse;
const keysOf = Object.keys;
const isArray = Array.isArray;
const hasOwn = Object.hasOwn;
const ObjectProto = Object.prototype;
const ArrayProto = Array.prototype;
// eslint-disable-next-line @typescript-eslint/unbound-method -- captured on purpose, always invoked with .call(date)
const dateToJSON = Date.prototype.toJSON;
const isDate = (v: object): v is Date => v instanceof Date;
const MAX_DEPTH = 64;

/**
 * JSON text of a value as plain data: own enumerable keys, functions and symbols dropped (null in arrays), cycles and
 * depth past 64 refused. `toJSON` is honoured as JSON.stringify does, except one planted on Object.prototype or
 * Array.prototype. Getters run here, in the guest, under the entry's CPU deadline.
 */
function plainJson(value: unknown, depth: number, seen: object[]): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      break;
  }
  const obj = value as Record<string, unknown>;
  if (depth > MAX_DEPTH) throw new TypeError('value is nested too deeply to cross the sandbox boundary');
  for (let i = 0; i < seen.length; i++) if (seen[i] === obj) throw new TypeError('Converting circular structure to JSON');
  if (isDate(obj)) return stringify(dateToJSON.call(obj));
  const toJSON = obj.toJSON;
  const planted =
    (hasOwn(ObjectProto, 'toJSON') && toJSON === (ObjectProto as Record<string, unknown>).toJSON) ||
    (hasOwn(ArrayProto, 'toJSON') && toJSON === (ArrayProto as unknown as Record<string, unknown>).toJSON);
  if (typeof toJSON === 'function' && !planted) return plainJson((toJSON as () => unknown).call(obj), depth + 1, seen);
  seen[seen.length] = obj;
  let out: string;
  if (isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) out += `${i === 0 ? '' : ','}${plainJson(obj[i], depth + 1, seen) ?? 'null'}`;
    out += ']';
  } else {
    out = '{';
    let first = true;
    const keys = keysOf(obj);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const v = plainJson(obj[k], depth + 1, seen);
      if (v === undefined) continue;
      out += `${first ? '' : ','}${stringify(k)}:${v}`;
      first = false;
    }
    out += '}';
  }
  seen.length -= 1;
  return out;
}

export interface WireError {
  code: string;
  message: string;
}
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
  // Fast path: with no toJSON planted on the shared prototypes, the captured native stringify gives the same text.
  if (!hasOwn(ObjectProto, 'toJSON') && !hasOwn(ArrayProto, 'toJSON')) return stringify(value) ?? 'null';
  return plainJson(value, 0, []) ?? 'null';
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

/** A lazily sent event field (see runHandler): its value, read from the host while the handler runs. */
export function readField(id: number, name: string): unknown {
  return unwrap(decode(hostFn('field', encode({ id, name }))));
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

/**
 * A fire-and-forget hostcall (ui.notify, setStatus, ...): dispatched and recorded by the host like any call, with
 * no promise here and no entry back into the guest for its result; a refusal (over the pending cap) is dropped.
 */
export function callFire(method: string, params: Record<string, unknown>): void {
  let body: string;
  try {
    body = encode({ method, params });
  } catch {
    return;
  }
  hostFn('fire', body);
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
  // QuickJS raises InternalError('out of memory') at the cap; the host stops the sandbox on this code.
  if (err instanceof Error && err.name === 'InternalError' && /out of memory/.test(err.message))
    return { code: 'out_of_memory', message: err.message };
  if (err instanceof Error) return { code: 'extension_error', message: `${err.name}: ${err.message}` };
  return { code: 'extension_error', message: String(err) };
}

/**
 * Tells the host something about a TUI component it proxies (`requestRender`, a `ui.custom` overlay's `done(value)`).
 * Not a hostcall: it asks for nothing, and the host only redraws or hands the value back to this guest.
 */
export function componentSignal(signal: 'requestRender' | 'done', id: number, value?: unknown): void {
  let body: string;
  try {
    body = encode({ signal, id, value });
  } catch (err) {
    body = encode({ signal, id, error: `result is not plain data: ${String(err)}` });
  }
  hostFn('component', body);
}

/** The text a synchronous entry returns to the host: `{ok, value}` or `{ok: false, error}`. */
export function entryAnswer(ok: boolean, value: unknown): string {
  try {
    return encode(ok ? { ok, value } : { ok, error: value });
  } catch (err) {
    return encode({ ok: false, error: { code: 'invalid_request', message: `result is not plain data: ${String(err)}` } });
  }
}

/**
 * A guest module kept out of the boot snapshot (`guest/node/ondemand/`, runtime.ts): on its first use the host
 * evaluates its bytecode into this instance, under the running entry's CPU and memory limits, and hands back its
 * exports. The one hostcall whose answer is a guest value, made by the guest's own code, instead of a string.
 */
export function onDemandModule(name: string): unknown {
  const answer = (hostFn as (op: string, payload: string) => unknown)('module', name);
  if (typeof answer === 'string') unwrap(decode(answer));
  if (typeof answer !== 'object' || answer === null)
    throw new HostError({ code: 'internal', message: `expected the exports of module ${name}, found ${typeof answer}` });
  return answer;
}
