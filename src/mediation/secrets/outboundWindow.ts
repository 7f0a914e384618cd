/**
 * The rolling window of the outbound check (issue 16 item 2): a held value sent in pieces — half per request, one
 * character per request, in URL query parameters, path segments, JSON or form bodies — is found when the piece
 * that completes it is sent. Per extension and destination (an HTTP host, a command, a file, "model" for what
 * goes to pi and the model), each field of the payload is a stream: a query parameter by name, a path segment
 * by position, a JSON leaf by key path, the raw text, and `*`, every decoded value in order. A new piece is
 * scanned together with the tail its stream keeps; a piece that completes a value is refused and not kept, so a
 * kept tail never holds a whole value.
 *
 * Bounds: a stream keeps the last 2 × (longest pattern) code units, at most 16 Ki (nothing when no value is held); an extension has at most
 * 256 streams (the least recently used go first); a stream idle for 10 minutes is forgotten. A call contributes
 * at most 64 decoded values. Pieces spread over destinations, over more streams than that, interleaved with noise
 * in the same field, or encoded one by one (base64 of each half) are not joined (README, "Limits of the value scan").
 */
import type { SecretHit, SecretValueIndex } from './values.ts';

export const WINDOW_STREAMS_PER_EXTENSION = 256;
export const WINDOW_IDLE_MS = 10 * 60_000;
export const WINDOW_MAX_TAIL = 16 * 1024;
export const WINDOW_VALUES_PER_CALL = 64;
/** Decoded values are taken from texts up to this size; a larger text is only its raw stream. */
const MAX_DECODED_TEXT = 1024 * 1024;

/** Where a call's payload goes: the key of the extension's streams for it. */
export function outboundDestination(method: string, params: Readonly<Record<string, unknown>>): string {
  switch (method) {
    case 'http': {
      try {
        return `http:${new URL(String(params.url)).hostname.toLowerCase()}`;
      } catch {
        return 'http:';
      }
    }
    case 'exec':
    case 'exec.spawn':
      return `exec:${String(params.cmd)}`;
    case 'exec.write':
      return `exec.write:${String(params.handle)}`;
    case 'net.write':
      return `net.write:${String(params.handle)}`;
    case 'fs.write':
      return `fs:${String(params.path)}`;
    default:
      // pi's calls, tool calls and results: all of it reaches the model and the session.
      return 'model';
  }
}

/**
 * A field of a payload: its name, its text, whether it was decoded out of an outbound string, and whether it must
 * be scanned on its own (a decoded value that does not appear verbatim in the string the stage already scanned).
 */
export type OutboundField = readonly [field: string, text: string, decoded: boolean, alone: boolean];

/** The fields of one outbound string: itself, and the values it carries once decoded (query, path, JSON, form). */
export function outboundFields(path: string, text: string, out: OutboundField[], budget: { values: number }): void {
  out.push([path, text, false, false]);
  if (text.length > MAX_DECODED_TEXT) return;
  const value = (field: string, v: string) => {
    if (budget.values <= 0 || v.length === 0) return;
    budget.values--;
    out.push([field, v, true, !text.includes(v)]);
  };
  if (path === 'http.url') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return;
    }
    url.pathname
      .split('/')
      .filter((s) => s !== '')
      .forEach((segment, i) => value(`${path}/${i}`, decoded(segment)));
    for (const [k, v] of url.searchParams) value(`${path}?${k}`, v);
    if (url.hash.length > 1) value(`${path}#`, decoded(url.hash.slice(1)));
    return;
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    leaves(parsed, path, value, 0);
    return;
  }
  if (/^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(text)) for (const [k, v] of new URLSearchParams(text)) value(`${path}?${k}`, v);
}

/**
 * A copy of `s` that does not share memory with the string it was sliced from: V8 keeps a sliced string's parent
 * alive, so a 300-character tail sliced from an 8 MiB body would keep the body.
 */
function detached(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function leaves(v: unknown, path: string, value: (field: string, v: string) => void, depth: number): void {
  if (typeof v === 'string') value(path, v);
  else if (typeof v === 'number' || typeof v === 'boolean') value(path, String(v));
  else if (depth < 8 && Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, value, depth + 1));
  else if (depth < 8 && v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) leaves(x, `${path}.${k}`, value, depth + 1);
}

interface Stream {
  tail: string;
  lastMs: number;
  /** What the last piece looked like at its ends: a piece sent again unchanged adds nothing to join. */
  last: string;
}

export interface WindowHit extends SecretHit {
  readonly path: string;
}

/** The streams of every extension, and the check of one call against them. */
export class OutboundWindow {
  readonly #streams = new Map<string, Map<string, Stream>>();

  /** What the window keeps for one extension: how many streams, code units in all, the longest tail. */
  kept(extensionId: string): { count: number; units: number; longestTail: number } {
    const streams = [...(this.#streams.get(extensionId)?.values() ?? [])];
    return {
      count: streams.length,
      units: streams.reduce((n, s) => n + s.tail.length, 0),
      longestTail: streams.reduce((n, s) => Math.max(n, s.tail.length), 0),
    };
  }

  /**
   * Scans each field of the call with its stream's tail. Values decoded out of a field are scanned on their own
   * too (a value the raw text hid by encoding only part of it). Returns the hits of the first field that has
   * any; until then each clean field is added to its stream.
   */
  check(
    index: SecretValueIndex,
    extensionId: string,
    method: string,
    params: Readonly<Record<string, unknown>>,
    strings: ReadonlyArray<readonly [string, string]>,
    nowMs: number,
  ): WindowHit[] {
    // No value held, no piece can complete one (the index is fixed for the stage's life). Past this, a reach of 0
    // would be a tail of `slice(-0)`: every text whole, kept and scanned again on every call, without bound.
    if (index.longestPattern === 0) return [];
    const destination = outboundDestination(method, params);
    const fields: OutboundField[] = [];
    const budget = { values: WINDOW_VALUES_PER_CALL };
    for (const [path, text] of strings) outboundFields(path, text, fields, budget);
    // A value held in pieces needs at most its longest encoding on each side of a boundary; twice that leaves room
    // for ignorable code points inside.
    const reach = Math.min(WINDOW_MAX_TAIL, 2 * index.longestPattern);
    // '*' joins the decoded values; a long one contributes only its ends (its middle was scanned with it).
    const star = fields
      .filter((f) => f[2])
      .map(([, v]) => (v.length > 2 * reach ? `${v.slice(0, reach)}\u0000${v.slice(-reach)}` : v))
      .join('');
    if (star.length > 0) fields.push(['*', star, true, true]);
    let streams = this.#streams.get(extensionId);
    if (streams === undefined) this.#streams.set(extensionId, (streams = new Map<string, Stream>()));
    for (const [field, text, , alone] of fields) {
      const key = `${destination}\u0000${field}`;
      // The raw strings were scanned whole by the stage; decoded values and their concatenation were not.
      if (alone) {
        const alone = index.scan(text);
        if (alone.length > 0)
          return alone.map((h) =>
            field === '*'
              ? { ...h, encoding: 'split', path: `the values of one call to ${destination}` }
              : { ...h, path: `${field} (decoded)` },
          );
      }
      const stream = streams.get(key);
      const live = stream !== undefined && nowMs - stream.lastMs <= WINDOW_IDLE_MS;
      const tail = live ? stream.tail : '';
      // A long field sent again unchanged (a request body) is not probed again: its ends are what they were. A short
      // one is, whatever it was before: one character per request repeats characters ('aa' in a value).
      const last = text.length <= 2 * reach ? text : `${text.slice(0, reach)}\u0000${text.length}\u0000${text.slice(-reach)}`;
      if (live && text.length >= reach && stream.last === last) {
        stream.lastMs = nowMs;
        streams.delete(key);
        streams.set(key, stream);
        continue;
      }
      if (tail.length > 0) {
        const hits = index.scan(tail + text.slice(0, reach));
        if (hits.length > 0) return hits.map((h) => ({ ...h, encoding: 'split', path: `${field} (split across calls to ${destination})` }));
      }
      streams.delete(key);
      streams.set(key, { tail: detached((tail + text.slice(-reach)).slice(-reach)), lastMs: nowMs, last: detached(last) });
      if (streams.size > WINDOW_STREAMS_PER_EXTENSION) streams.delete(streams.keys().next().value as string);
    }
    return [];
  }
}
