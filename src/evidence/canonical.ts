/**
 * Canonical encoding (docs/ledger-format.md): compact JSON with object keys sorted by UTF-16 code unit order,
 * arrays in order, strings escaped as JSON.stringify does, numbers as ECMAScript Number::toString (shortest
 * round trip; integers without a fraction), non-finite numbers and undefined rejected.
 * Used for params hashes, configuration snapshots and (through entry.ts) ledger entries.
 */
import { hash } from 'node:crypto';
import { WardenError } from '../errors.ts';

const MAX_DEPTH = 64;

export function canonicalJson(value: unknown): string {
  return encode(value, 0, new Set<object>());
}

function encode(value: unknown, depth: number, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new WardenError('invalid_request', `canonical encoding: non-finite number ${String(value)}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      break;
    default:
      throw new WardenError('invalid_request', `canonical encoding: unsupported ${typeof value}`);
  }
  if (depth >= MAX_DEPTH) throw new WardenError('invalid_request', `canonical encoding: nesting deeper than ${MAX_DEPTH}`);
  const obj = value;
  if (seen.has(obj)) throw new WardenError('invalid_request', 'canonical encoding: cyclic value');
  seen.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = `[${obj.map((v: unknown) => encode(v, depth + 1, seen)).join(',')}]`;
  } else {
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const k of keys) {
      const v = (obj as Record<string, unknown>)[k];
      if (v === undefined) continue;
      parts.push(`${JSON.stringify(k)}:${encode(v, depth + 1, seen)}`);
    }
    out = `{${parts.join(',')}}`;
  }
  seen.delete(obj);
  return out;
}

/** The same structure with every leaf replaced by its type name; keys and array lengths kept. */
export function shapeOf(value: unknown, depth = 0): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return depth >= MAX_DEPTH ? 'too_deep' : value.map((v) => shapeOf(v, depth + 1));
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    case 'object': {
      if (depth >= MAX_DEPTH) return 'too_deep';
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = shapeOf(v, depth + 1);
      return out;
    }
    default:
      return typeof value;
  }
}

export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** SHA-256 of canonical `{method, params}`: the same params in any key order hash alike (INV-012). */
export function paramsHash(method: string, params: unknown): string {
  return sha256Hex(canonicalJson({ method, params }));
}

/** SHA-256 of canonical `{method, params_shape}`: stable under scalar value changes, not under structure changes. */
export function argsShapeHash(method: string, params: unknown): string {
  return sha256Hex(canonicalJson({ method, params_shape: shapeOf(params) }));
}

/** Where the one-walk encoding gives up and the two encodings above decide (their errors included). */
const BOTH_MAX_DEPTH = MAX_DEPTH - 4;
const NOT_PLAIN = new Error('not plain data');
const LEAF_SHAPE = { string: '"string"', number: '"number"', boolean: '"bool"' } as const;

/**
 * `paramsHash` and `argsShapeHash` of a ledger entry from one walk of the params: the canonical text and the
 * canonical shape text are built side by side (same sorted keys, same array lengths). Anything but finite numbers,
 * strings, booleans, null, arrays and objects without undefined members, or nesting near the depth limit, is left to
 * the two functions above, so every hash, and every failure to hash, is theirs.
 */
export function entryHashes(method: string, params: unknown): readonly [paramsHash: string, argsShapeHash: string] {
  const both: Both = { text: '', shape: '' };
  try {
    encodeBoth(params, 1, new Set<object>(), both);
  } catch (err) {
    if (err !== NOT_PLAIN) throw err;
    return [paramsHash(method, params), argsShapeHash(method, params)];
  }
  const m = JSON.stringify(method);
  return [sha256Hex(`{"method":${m},"params":${both.text}}`), sha256Hex(`{"method":${m},"params_shape":${both.shape}}`)];
}

/** The two texts as they grow, appended to in place: no pair per value, no part list per object. */
interface Both {
  text: string;
  shape: string;
}

function encodeBoth(value: unknown, depth: number, seen: Set<object>, out: Both): void {
  if (value === null) {
    out.text += 'null';
    out.shape += '"null"';
    return;
  }
  switch (typeof value) {
    case 'string':
      out.text += JSON.stringify(value);
      out.shape += LEAF_SHAPE.string;
      return;
    case 'boolean':
      out.text += value ? 'true' : 'false';
      out.shape += LEAF_SHAPE.boolean;
      return;
    case 'number':
      if (!Number.isFinite(value)) throw NOT_PLAIN;
      out.text += Object.is(value, -0) ? '0' : String(value);
      out.shape += LEAF_SHAPE.number;
      return;
    case 'object':
      break;
    default:
      throw NOT_PLAIN;
  }
  if (depth >= BOTH_MAX_DEPTH || seen.has(value)) throw NOT_PLAIN;
  seen.add(value);
  if (Array.isArray(value)) {
    out.text += '[';
    out.shape += '[';
    let first = true;
    for (const v of value as unknown[]) {
      if (!first) {
        out.text += ',';
        out.shape += ',';
      }
      first = false;
      encodeBoth(v, depth + 1, seen, out);
    }
    out.text += ']';
    out.shape += ']';
  } else {
    out.text += '{';
    out.shape += '{';
    let first = true;
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      // The params text skips an undefined member, the shape keeps it as "undefined": the two encodings decide.
      if (v === undefined) throw NOT_PLAIN;
      const key = `${first ? '' : ','}${JSON.stringify(k)}:`;
      first = false;
      out.text += key;
      out.shape += key;
      encodeBoth(v, depth + 1, seen, out);
    }
    out.text += '}';
    out.shape += '}';
  }
  seen.delete(value);
}
