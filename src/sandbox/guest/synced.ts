/**
 * GUEST CODE: arrays the host sends incrementally (a `context` event's messages, ~100 KB of conversation that grows
 * by a message or two per turn). The guest keeps, per event field, the JSON text of each element as last sent; the
 * host sends how many of them still hold (`keep`) and the JSON of the elements after those (`tail`). The handler gets
 * a fresh array every time whose elements are parsed on first read, and only the elements it read can have changed:
 * what goes back names every unchanged element by its index instead of carrying it.
 */
const parse = JSON.parse;
const stringify = JSON.stringify;
const defineProperty = Object.defineProperty;
const descriptorOf = Object.getOwnPropertyDescriptor;
const isArray = Array.isArray;

/** What the host sends for one synced field. */
export interface SyncedUpdate {
  readonly keep: number;
  readonly tail: readonly string[];
}

/** An element of a synced array as it goes back: its index in what was sent when unchanged, else its value. */
export type SyncedElement = number | { readonly value: unknown };

/** The guest's copy of each synced field: the JSON of every element as the host last sent it. */
const copies = new Map<string, readonly string[]>();

/** One handler's view of a synced field: the array it gets, and how to tell what it did with it. */
export interface SyncedView {
  readonly array: unknown[];
  /** The field's array after the handler (the one sent, or one it put there) as it goes back; undefined when unchanged. */
  changes(array: unknown[]): SyncedElement[] | undefined;
  /** Any array as it goes back, unchanged elements by index (a returned `{messages}` list). */
  encode(array: unknown[]): SyncedElement[];
}

/** Applies the host's update to the copy of `key` and returns the handler's view of it. Throws when out of step. */
export function syncedView(key: string, update: SyncedUpdate): SyncedView {
  const before = copies.get(key) ?? [];
  if (!Number.isInteger(update.keep) || update.keep < 0 || update.keep > before.length || !isArray(update.tail))
    throw new Error(`synced ${key}: the host kept ${String(update.keep)} elements, the guest has ${before.length}`);
  const json = before.slice(0, update.keep).concat(update.tail.map(String));
  copies.set(key, json);
  const array: unknown[] = new Array(json.length);
  const getters: (() => unknown)[] = [];
  const getterIndex = new Map<unknown, number>();
  /** The object each read produced, by index: an element the handler got from us and may have edited. */
  const handedOut = new Map<unknown, number>();
  const unchanged = new Map<number, boolean>();
  for (let i = 0; i < json.length; i++) {
    const become = (value: unknown) => defineProperty(array, i, { value, writable: true, enumerable: true, configurable: true });
    const get = () => {
      const value: unknown = parse(json[i] as string);
      if (value !== null && typeof value === 'object') handedOut.set(value, i);
      become(value);
      return value;
    };
    getters.push(get);
    getterIndex.set(get, i);
    defineProperty(array, i, { get, set: become, enumerable: true, configurable: true });
  }
  const element = (a: unknown[], i: number): SyncedElement => {
    const d = descriptorOf(a, i);
    const getter = (d as { get?: unknown } | undefined)?.get;
    if (getter !== undefined) {
      // Never read: what was sent, under its own index (or another, moved by defineProperty).
      const at = getter === getters[i] ? i : getterIndex.get(getter);
      if (at !== undefined) return at;
    }
    const value = a[i];
    const from = handedOut.get(value);
    if (from === undefined) return { value };
    // Read, and its JSON is still what was sent: unchanged (an in-place edit changes the JSON). Asked once per
    // element: the handler has finished when anything is encoded, and its list and its payload share elements.
    let same = unchanged.get(from);
    if (same === undefined) {
      same = stringify(value) === json[from];
      unchanged.set(from, same);
    }
    return same ? from : { value };
  };
  const encode = (a: unknown[]): SyncedElement[] => {
    const out: SyncedElement[] = [];
    for (let i = 0; i < a.length; i++) out.push(element(a, i));
    return out;
  };
  return {
    array,
    encode,
    changes(a: unknown[]) {
      const out = encode(a);
      if (a === array && out.length === json.length && out.every((e, i) => e === i)) return undefined;
      return out;
    },
  };
}
