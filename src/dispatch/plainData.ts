/**
 * Plain data and params the dispatcher owns. `plainData` copies a value with JSON's rules into fresh objects and
 * arrays; `OwnedParams` holds such a copy where no caller can reach it, so the validate stage may decide on it
 * without a second copy of its own (a getter or proxy in the caller's object was read once, by the copy, and can
 * show nothing else to the operation).
 */

/**
 * A value as plain data, with JSON's rules (`toJSON`, functions and symbols dropped, `undefined` in arrays as null)
 * plus: bigints as strings, and a reference back to an object that contains it (a cycle) dropped. An object that
 * appears twice without a cycle (pi's turn_end context shares messages) is kept both times. Values deeper than
 * `MAX_DEPTH` are dropped rather than walked. Every object and array of the result is new and plain.
 */
export function plainData(value: unknown): unknown {
  const out = copy(value, new Set(), 0);
  return out === undefined ? null : out;
}

const MAX_DEPTH = 64;

function copy(v: unknown, ancestors: Set<object>, depth: number): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return undefined; // functions, symbols, undefined
  if (ancestors.has(v) || depth > MAX_DEPTH) return undefined;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return copy((toJSON as () => unknown).call(v), ancestors, depth + 1);
  ancestors.add(v);
  try {
    if (Array.isArray(v)) {
      // Not `v.map`: an array subclass (or a proxy's `constructor`) would choose what map builds.
      const a: unknown[] = [];
      const n = (v as unknown[]).length;
      for (let i = 0; i < n; i++) a.push(copy((v as unknown[])[i], ancestors, depth + 1) ?? null);
      return a;
    }
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const x = copy((v as Record<string, unknown>)[k], ancestors, depth + 1);
      if (x !== undefined && k !== '__proto__') o[k] = x;
    }
    return o;
  } finally {
    ancestors.delete(v);
  }
}

/**
 * Hostcall params as a private plain-data copy, made here: the only way to build one is `OwnedParams.of`, which
 * copies, and only the dispatcher can take the copy out, once. A guest cannot send one (its hostcalls are JSON).
 */
export class OwnedParams {
  #data: Record<string, unknown> | null;

  private constructor(data: Record<string, unknown> | null) {
    this.#data = data;
  }

  static of(params: Readonly<Record<string, unknown>>): OwnedParams {
    const data = plainData(params);
    // A toJSON that turns the params into something else leaves nothing to own: the dispatch is refused.
    return new OwnedParams(data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : null);
  }

  /**
   * The copy, for the one dispatch that decides on it: undefined when `params` is not an `OwnedParams` (the private
   * brand, not the prototype, decides), null when it was taken before or its value was not an object.
   */
  static take(params: unknown): Record<string, unknown> | null | undefined {
    if (typeof params !== 'object' || params === null || !(#data in params)) return undefined;
    const data = params.#data;
    params.#data = null;
    return data;
  }
}
