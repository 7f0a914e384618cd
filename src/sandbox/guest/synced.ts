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
const prototypeOf = Object.getPrototypeOf;
const isArray = Array.isArray;
/** Annex B's `__lookupGetter__`: an own accessor's getter without allocating a descriptor (undefined for a value). */
const lookupGetter = (Object.prototype as unknown as { __lookupGetter__: (key: PropertyKey) => unknown }).__lookupGetter__;

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

/** What a handler's array reads its unread elements from (see `syncedView`). */
interface ViewState {
  readonly json: readonly string[];
  /** The object each read produced, by index: an element the handler got from us and may have edited. */
  readonly handedOut: Map<unknown, number>;
}

/** The arrays handed to handlers, to what their unread elements are read from. */
const views = new WeakMap<object, ViewState>();

/** The state of the array a shared accessor was reached through (the array itself, or an object made from it). */
function stateOf(receiver: unknown): { array: object; state: ViewState } | undefined {
  let o = receiver;
  while (o !== null && typeof o === 'object') {
    const state = views.get(o);
    if (state !== undefined) return { array: o, state };
    o = prototypeOf(o);
  }
  return undefined;
}

/** One data property descriptor, reused: a literal per element costs an allocation each. */
const dataDescriptor = { value: undefined as unknown, writable: true, enumerable: true, configurable: true };
function become(array: object, i: number, value: unknown): void {
  dataDescriptor.value = value;
  try {
    defineProperty(array, i, dataDescriptor);
  } finally {
    dataDescriptor.value = undefined;
  }
}

/**
 * The accessors of index `i`, one pair shared by every view (the array they are read through says which): a view
 * costs one defineProperty per element instead of two closures and a descriptor each, 4x cheaper in QuickJS.
 */
const getters: (() => unknown)[] = [];
const setters: ((value: unknown) => void)[] = [];
const getterIndex = new Map<unknown, number>();
function accessorAt(i: number): void {
  while (getters.length <= i) {
    const k = getters.length;
    const get = function (this: unknown): unknown {
      const at = stateOf(this);
      // Reached through something that is no handler's array, or past its end: nothing was sent there.
      if (at === undefined || k >= at.state.json.length) return undefined;
      const value: unknown = parse(at.state.json[k] as string);
      if (value !== null && typeof value === 'object') at.state.handedOut.set(value, k);
      become(at.array, k, value);
      return value;
    };
    const set = function (this: unknown, value: unknown): void {
      const at = stateOf(this);
      if (at !== undefined) become(at.array, k, value);
    };
    getters.push(get);
    setters.push(set);
    getterIndex.set(get, k);
  }
}
const accessorDescriptor: {
  get: (() => unknown) | undefined;
  set: ((value: unknown) => void) | undefined;
  enumerable: true;
  configurable: true;
} = {
  get: undefined,
  set: undefined,
  enumerable: true,
  configurable: true,
};

/** Applies the host's update to the copy of `key` and returns the handler's view of it. Throws when out of step. */
export function syncedView(key: string, update: SyncedUpdate): SyncedView {
  const before = copies.get(key) ?? [];
  if (!Number.isInteger(update.keep) || update.keep < 0 || update.keep > before.length || !isArray(update.tail))
    throw new Error(`synced ${key}: the host kept ${String(update.keep)} elements, the guest has ${before.length}`);
  const json = before.slice(0, update.keep).concat(update.tail.map(String));
  copies.set(key, json);
  const array: unknown[] = [];
  const handedOut = new Map<unknown, number>();
  views.set(array, { json, handedOut });
  accessorAt(json.length - 1);
  for (let i = 0; i < json.length; i++) {
    accessorDescriptor.get = getters[i];
    accessorDescriptor.set = setters[i];
    defineProperty(array, i, accessorDescriptor);
  }
  accessorDescriptor.get = undefined;
  accessorDescriptor.set = undefined;
  const unchanged = new Map<number, boolean>();
  const element = (a: unknown[], i: number): SyncedElement => {
    // Never read: what was sent, under its own index (or another, moved by defineProperty).
    const at = getterIndex.get(lookupGetter.call(a, i));
    if (at !== undefined && at < json.length) return at;
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
