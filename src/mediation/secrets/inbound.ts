/**
 * Secret broker, what comes back (SPEC §5.2; issue 6: "an extension cannot obtain … any held secret"): the results
 * of the calls that read the user's world — `fs.read`, `exec`/`exec.spawn` output and pi's built-in tools — are
 * scanned for held secret values in every encoding the outbound check knows. A hit withholds the whole result
 * (denied, `secret_in_result`), logs the hit by salted name hash and raises `secret_exposure` (critical for a
 * planted honeytoken). A project `.env` whose values are also in the environment is therefore not readable by an
 * extension; list the names in `extensionPolicy.secretBroker.disclosureAllowlist` to allow it.
 *
 * Decoded copies are scanned too (resultCopies.ts): UTF-16 text, and a file read as bytes that is one zlib or
 * gzip stream (a git loose object, a `.tgz`), inflated up to a cap. A compressed file that cannot be checked —
 * over the cap, or broken — is withheld as well (`secret_scan_limit`), since the extension could still inflate it.
 *
 * Streamed output (`exec.read`, the chunks of a child started by `exec.spawn`) is scanned the same way before the
 * extension sees it, with two additions so that a secret cannot be cut in two across reads: only whole lines are
 * handed on (an unfinished line waits for the next read, up to 64 KiB), and each read is scanned together with
 * the end of what was handed on before (twice the longest pattern). A hit withholds the read and kills the child.
 *
 * Socket reads (`net.read`, ADR 0038) are scanned the same way, on the bytes received: whole lines are handed on,
 * each read scanned with the end of what went before; a hit withholds the read and closes the socket. Protocols
 * whose messages do not end in a line break (LSP's JSON bodies) would wait forever for one, so an unfinished line
 * is handed on when the next read finds the socket quiet for `SOCKET_QUIET_MS`: a secret split in two with a pause
 * longer than that between the halves, and no line break before the first, reaches the guest half by half (README).
 *
 * Provider token formats are not used here: files and command output legitimately contain token-shaped test
 * fixtures, and the outbound check still stops them leaving.
 */
import type { Operation, OperationContext } from '../../dispatch/index.ts';
import { WardenError } from '../../errors.ts';
import type { AlertSink, SecretBrokerLog } from '../../evidence/index.ts';

import { logSecretEvents } from './outbound.ts';
import { resultCopies } from './resultCopies.ts';
import type { SecretHit, SecretValueIndex } from './values.ts';

/**
 * A result withheld because it carries a secret value (after `secret_exposure`), or because a compressed copy in it
 * cannot be checked (inflates past the cap, or is broken).
 */
export const SECRET_RESULT_REASONS = ['secret_in_result', 'secret_scan_limit'] as const;
export type SecretResultReason = (typeof SECRET_RESULT_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    secretResult: SecretResultReason;
  }
}

export const SCANNED_RESULTS = ['fs.read', 'exec', 'exec.spawn', 'tool'] as const;

export interface InboundOptions {
  readonly index: () => SecretValueIndex;
  readonly nameHash: (name: string) => string;
  readonly alerts?: AlertSink | undefined;
  readonly log?: SecretBrokerLog | undefined;
}

/** Every string in a result (depth-limited), with where it was. */
function strings(value: unknown, path: string, out: Array<[string, string]>, depth = 0): void {
  if (typeof value === 'string') out.push([path, value]);
  else if (depth < 6 && Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out, depth + 1));
  else if (depth < 6 && value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) strings(v, `${path}.${k}`, out, depth + 1);
  }
}

/** Hits in the decoded copies of the result's strings; throws when a compressed copy cannot be checked. */
function decodedHits(
  method: string,
  params: Readonly<Record<string, unknown>>,
  texts: ReadonlyArray<[string, string]>,
  index: SecretValueIndex,
): Array<SecretHit & { path: string }> {
  const found: Array<SecretHit & { path: string }> = [];
  for (const [path, text] of texts) {
    // fs.read answers base64 unless asked for utf8 (fs/operations.ts): those are the file's own bytes.
    const bytes = method === 'fs.read' && path === `result.${method}` && params.encoding !== 'utf8';
    if (!bytes && !text.includes('\u0000')) continue;
    const r = resultCopies(Buffer.from(text, bytes ? 'base64' : 'utf8'), { text: !bytes });
    if ('uncheckable' in r)
      throw new WardenError('denied', `${method}: the result cannot be checked for held secrets (${path}: ${r.uncheckable}); withheld`, {
        reasonCodes: ['secret_scan_limit'],
      });
    for (const [how, copy] of r.copies)
      for (const h of index.scan(copy)) found.push({ ...h, encoding: `${h.encoding}+${how}`, path: `${path} (${how})` });
  }
  return found;
}

function check(
  method: string,
  params: Readonly<Record<string, unknown>>,
  result: unknown,
  ctx: OperationContext,
  o: InboundOptions,
): unknown {
  const found: Array<SecretHit & { path: string }> = [];
  const texts: Array<[string, string]> = [];
  strings(result, `result.${method}`, texts);
  const index = o.index();
  for (const [path, text] of texts) for (const h of index.scan(text)) found.push({ ...h, path });
  if (found.length === 0 && index.held.length > 0) found.push(...decodedHits(method, params, texts, index));
  if (found.length === 0) return result;
  const honeytoken = found.some((f) => f.honeytoken);
  const now = Date.now();
  logSecretEvents(
    o.log,
    { ts_ms: now, extension_id: ctx.extensionId, call_id: ctx.callId, method },
    found.map((f) => ({ nameHash: o.nameHash(f.name), path: f.path, encoding: f.encoding })),
  );
  const paths = [...new Set(found.map((f) => f.path))];
  try {
    o.alerts?.raise({
      ts_ms: now,
      extension_id: ctx.extensionId,
      category: 'secret_exposure',
      severity: honeytoken ? 'critical' : 'high',
      capability: ctx.capability,
      method,
      call_id: ctx.callId,
      summary:
        `${ctx.extensionId}: the result of ${method} held ${found.length === 1 ? 'a secret' : `${found.length} secrets`} the broker hides (${[...new Set(found.map((f) => f.encoding))].join(', ')} in ${paths.join(', ')}); withheld${honeytoken ? ' — a planted honeytoken' : ''}`.slice(
          0,
          500,
        ),
      reason_codes: ['secret_exposure', 'secret_in_result', ...(honeytoken ? ['honeytoken'] : [])],
      remediation:
        'If the extension needs the file, list the variable in extensionPolicy.secretBroker.disclosureAllowlist; if it went looking for credentials, kill it (`pi-warden trust kill`) and investigate (runbook INC-2)',
    });
  } catch {
    // the result is withheld either way
  }
  throw new WardenError('denied', `${method}: the result holds the value of a secret the broker hides (${paths.join(', ')}); withheld`, {
    reasonCodes: honeytoken ? ['secret_exposure', 'secret_in_result', 'honeytoken'] : ['secret_exposure', 'secret_in_result'],
  });
}

/** The longest unfinished line held back from a streamed read; longer, it is handed on (and scanned) as it is. */
const MAX_HELD_LINE = 64 * 1024;
const STREAMS = ['stdout', 'stderr'] as const;
type Streams = Record<(typeof STREAMS)[number], string>;

/** `exec.read` with its chunks scanned across reads (see the header); a hit kills the child through `exec.kill`. */
function scanStream(read: Operation, kill: Operation | undefined, o: InboundOptions): Operation {
  const states = new Map<string, { held: Streams; tail: Streams }>();
  return async (params, ctx) => {
    const r = (await read(params, ctx)) as Record<string, unknown>;
    const key = `${ctx.extensionId}\u0000${String(params.handle)}`;
    const s = states.get(key) ?? { held: { stdout: '', stderr: '' }, tail: { stdout: '', stderr: '' } };
    const done = r.done !== false;
    const released: Streams = { stdout: '', stderr: '' };
    const scanned: Streams = { stdout: '', stderr: '' };
    for (const stream of STREAMS) {
      const text = s.held[stream] + (typeof r[stream] === 'string' ? r[stream] : '');
      const cut = done || text.length > MAX_HELD_LINE ? text.length : text.lastIndexOf('\n') + 1;
      released[stream] = text.slice(0, cut);
      s.held[stream] = text.slice(cut);
      scanned[stream] = s.tail[stream] + released[stream];
    }
    try {
      check('exec.read', params, scanned, ctx, o);
    } catch (err) {
      states.delete(key);
      if (!done)
        try {
          await kill?.({ handle: params.handle, signal: 'SIGKILL' }, ctx);
        } catch {
          // withheld either way; the child is killed with the extension at the latest
        }
      throw err;
    }
    if (done) states.delete(key);
    else {
      const overlap = 2 * o.index().longestPattern;
      for (const stream of STREAMS) s.tail[stream] = scanned[stream].slice(Math.max(0, scanned[stream].length - overlap));
      states.set(key, s);
    }
    return { ...r, ...released };
  };
}

/** How long a socket read waits for more before an unfinished line it holds is handed on (see the header). */
export const SOCKET_QUIET_MS = 50;

/** `net.read` with what it received scanned across reads (see the header); a hit closes the socket through `net.close`. */
function scanSocket(read: Operation, close: Operation | undefined, o: InboundOptions): Operation {
  const states = new Map<string, { held: Buffer; tail: string }>();
  return async (params, ctx) => {
    const key = `${ctx.extensionId}\u0000${String(params.handle)}`;
    const s = states.get(key) ?? { held: Buffer.alloc(0), tail: '' };
    const r = (await read(s.held.length > 0 ? { ...params, quietMs: SOCKET_QUIET_MS } : params, ctx)) as Record<string, unknown>;
    const fresh = typeof r.data === 'string' ? Buffer.from(r.data, 'base64') : Buffer.alloc(0);
    const done = r.done !== false;
    const bytes = s.held.length === 0 ? fresh : Buffer.concat([s.held, fresh]);
    const cut = done || fresh.length === 0 || bytes.length > MAX_HELD_LINE ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
    const released = bytes.subarray(0, cut);
    s.held = Buffer.from(bytes.subarray(cut));
    const scanned = s.tail + released.toString('utf8');
    try {
      check('net.read', params, { data: scanned }, ctx, o);
    } catch (err) {
      states.delete(key);
      if (!done)
        try {
          await close?.({ handle: params.handle }, ctx);
        } catch {
          // withheld either way; the socket is closed with the extension at the latest
        }
      throw err;
    }
    if (done) states.delete(key);
    else {
      s.tail = scanned.slice(Math.max(0, scanned.length - 2 * o.index().longestPattern));
      states.set(key, s);
    }
    return { ...r, data: released.toString('base64') };
  };
}

/** The operations with their results scanned (synchronous operations stay synchronous). */
export function scanResults(operations: ReadonlyMap<string, Operation>, o: InboundOptions): ReadonlyMap<string, Operation> {
  const out = new Map(operations);
  for (const method of SCANNED_RESULTS) {
    const op = operations.get(method);
    if (op === undefined) continue;
    out.set(method, (params, ctx) => {
      // A slice of a file is judged by the whole file: read in 7-byte pieces, no piece holds the secret.
      const partial = method === 'fs.read' && (params.offset !== undefined || params.length !== undefined);
      if (partial) {
        const { offset: _o, length: _l, ...whole } = params;
        const all = op(whole, ctx);
        const sliced = () => op(params, ctx);
        return all instanceof Promise
          ? all.then((v: unknown) => {
              check(method, whole, v, ctx, o);
              return sliced();
            })
          : (check(method, whole, all, ctx, o), sliced());
      }
      const r = op(params, ctx);
      return r instanceof Promise ? r.then((v: unknown) => check(method, params, v, ctx, o)) : check(method, params, r, ctx, o);
    });
  }
  const read = operations.get('exec.read');
  if (read !== undefined) out.set('exec.read', scanStream(read, operations.get('exec.kill'), o));
  const socketRead = operations.get('net.read');
  if (socketRead !== undefined) out.set('net.read', scanSocket(socketRead, operations.get('net.close'), o));
  return out;
}
