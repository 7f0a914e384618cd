/**
 * GUEST CODE: arrays the host sends incrementally (a `context` event's messages, ~100 KB of conversation that grows
 * by a message or two per turn). The guest keeps, per event field, the JSON text of each element as last sent; the
 * host sends how many of them still hold (`keep`) and the JSON of the elements after those (`tail`). The handler gets
 * a fresh array every time whose elements are parsed on first read, and only the elements it read can have changed:
 * what goes back names every unchanged element by its index instead of carrying it.
 *
 * A message crosses split at its top level (the host's `elementJson`, sandbox.ts): reading an element gives an object
 * whose scalar fields are there and whose object fields (`content`, `usage`, `details`) are parsed on first read, so a
 * handler that filters on `m.role` never parses the text of the conversation, and an element whose fields all still
 * hold what was sent is known unchanged without serializing it again.
 */
const parse = JSON.parse;
const stringify = JSON.stringify;
const defineProperty = Object.defineProperty;
const prototypeOf = Object.getPrototypeOf;
const isArray = Array.isArray;
const objectKeys = Object.keys;
const objectValues = Object.values;
const isInteger = Number.isInteger;
const objectPrototype = Object.prototype;
// eslint-disable-next-line @typescript-eslint/unbound-method -- captured before extension code runs, always .call()ed
const indexOf = String.prototype.indexOf;
// eslint-disable-next-line @typescript-eslint/unbound-method -- as indexOf
const slice = String.prototype.slice;
/** Twin of the host's marker (sandbox.ts `SPLIT`): an element that crosses split at its top level. */
const SPLIT = '\u0001';
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

/**
 * What `states` holds for the object a shared accessor was reached through: the receiver itself, or the object it
 * was made from (`Object.create`), with that object.
 */
function reachedThrough<T>(states: WeakMap<object, T>, receiver: unknown): { owner: object; state: T } | undefined {
  let o = receiver;
  while (o !== null && typeof o === 'object') {
    const state = states.get(o);
    if (state !== undefined) return { owner: o, state };
    o = prototypeOf(o);
  }
  return undefined;
}

/** One data property descriptor, reused: a literal per element costs an allocation each. */
const dataDescriptor = { value: undefined as unknown, writable: true, enumerable: true, configurable: true };
function become(array: object, i: PropertyKey, value: unknown): void {
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
      const at = reachedThrough(views, this);
      // Reached through something that is no handler's array, or past its end: nothing was sent there.
      if (at === undefined || k >= at.state.json.length) return undefined;
      const value: unknown = materialize(at.state.json[k] as string);
      if (value !== null && typeof value === 'object') at.state.handedOut.set(value, k);
      become(at.owner, k, value);
      return value;
    };
    const set = function (this: unknown, value: unknown): void {
      const at = reachedThrough(views, this);
      if (at !== undefined) become(at.owner, k, value);
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

/**
 * A split element's object: the text it was read from, its keys and values as made (an object field's value there is
 * the length of its JSON) and where each object field's JSON is in the text.
 */
interface SplitElement {
  readonly text: string;
  readonly keys: readonly string[];
  readonly values: readonly unknown[];
  readonly fields: Map<string, readonly [start: number, end: number]>;
}
const splitElements = new WeakMap<object, SplitElement>();

/** The accessors of an object field, one pair per key name shared by every element (as `accessorAt` for indices). */
const fieldAccessors = new Map<string, { get: () => unknown; set: (value: unknown) => void }>();
function fieldAccessor(key: string): { get: () => unknown; set: (value: unknown) => void } {
  let pair = fieldAccessors.get(key);
  if (pair === undefined) {
    pair = {
      get(this: unknown): unknown {
        const at = reachedThrough(splitElements, this);
        const json = at === undefined ? undefined : fieldJson(at.state, key);
        if (at === undefined || json === undefined) return undefined;
        const value: unknown = parse(json);
        become(at.owner, key, value);
        return value;
      },
      set(this: unknown, value: unknown): void {
        // as an assignment to a data property: on the object assigned to
        if (this !== null && typeof this === 'object') become(this, key, value);
      },
    };
    fieldAccessors.set(key, pair);
  }
  return pair;
}

/** The JSON of an object field of a split element, cut from its text when asked. */
function fieldJson(split: SplitElement, key: string): string | undefined {
  const at = split.fields.get(key);
  return at === undefined ? undefined : slice.call(split.text, at[0], at[1]);
}

/** An element as the handler reads it: parsed whole, or (split) its scalars now and its object fields on first read. */
function materialize(text: string): unknown {
  if (text.charCodeAt(0) !== 1) return parse(text);
  const marker = indexOf.call(text, SPLIT, 1);
  const headerStart = marker + 1;
  const headerEnd = headerStart + Number(slice.call(text, 1, marker));
  const [element, objectFields] = parse(slice.call(text, headerStart, headerEnd)) as [Record<string, unknown>, string[]];
  const split: SplitElement = { text, keys: objectKeys(element), values: objectValues(element), fields: new Map() };
  let next = headerEnd;
  for (const key of objectFields) {
    const length = element[key];
    if (!isInteger(length)) throw new Error(`synced: field ${key} of an element has no length`);
    split.fields.set(key, [next, (next += length as number)]);
    const pair = fieldAccessor(key);
    accessorDescriptor.get = pair.get;
    accessorDescriptor.set = pair.set;
    try {
      defineProperty(element, key, accessorDescriptor);
    } finally {
      accessorDescriptor.get = undefined;
      accessorDescriptor.set = undefined;
    }
  }
  splitElements.set(element, split);
  return element;
}

/**
 * Whether an element read from `text` still serializes to it. A split element is compared field by field: same
 * prototype, same keys in the same order, the same scalars, and each object field either never read (still our
 * accessor) or serializing to the JSON it was read from. Anything else is compared whole.
 */
function unchangedElement(value: unknown, text: string): boolean {
  const split = value !== null && typeof value === 'object' ? splitElements.get(value) : undefined;
  if (split === undefined) return stringify(value) === text;
  const o = value as Record<string, unknown>;
  if (prototypeOf(o) !== objectPrototype) return false;
  const keys = objectKeys(o);
  if (keys.length !== split.keys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = split.keys[i] as string;
    if (keys[i] !== key) return false;
    const getter = lookupGetter.call(o, key);
    if (!split.fields.has(key)) {
      if (getter !== undefined || o[key] !== split.values[i]) return false;
    } else if (getter !== undefined) {
      if (getter !== fieldAccessors.get(key)?.get) return false;
    } else if (stringify(o[key]) !== fieldJson(split, key)) return false;
  }
  return true;
}

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
      same = unchangedElement(value, json[from] as string);
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
