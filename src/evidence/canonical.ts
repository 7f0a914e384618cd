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
