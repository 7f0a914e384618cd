/**
 * GUEST CODE. Timers: the guest keeps the callbacks, the host keeps only an id and a delay and re-enters the
 * guest when it is due (each firing is a new entry with its own CPU deadline). The host caps pending timers.
 */
import { hostTimer } from '../abi.ts';

interface Timer {
  fn: (...a: unknown[]) => unknown;
  args: unknown[];
  repeat: number | undefined;
}
const timers = new Map<number, Timer>();
let nextId = 1;

class Timeout {
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

function schedule(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): Timeout {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const delay = Math.max(0, Number(ms) || 0);
  const id = nextId++;
  timers.set(id, { fn: fn as Timer['fn'], args, repeat: repeat ? Math.max(1, delay) : undefined });
  hostTimer('set', id, delay);
  return new Timeout(id);
}

function cancel(t: unknown): void {
  const id = t instanceof Timeout ? t.id : Number(t);
  if (!timers.delete(id)) return;
  hostTimer('clear', id, 0);
}

export const setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]) => schedule(fn, ms, args, false);
export const setInterval = (fn: unknown, ms?: unknown, ...args: unknown[]) => schedule(fn, ms, args, true);
export const setImmediate = (fn: unknown, ...args: unknown[]) => schedule(fn, 0, args, false);
export const clearTimeout = cancel;
export const clearInterval = cancel;
export const clearImmediate = cancel;

/** The host says timer `id` is due. */
export function fireTimer(id: number): void {
  const t = timers.get(id);
  if (t === undefined) return;
  if (t.repeat === undefined) timers.delete(id);
  else hostTimer('set', id, t.repeat);
  t.fn(...t.args);
}

export const promises = {
  setTimeout: (ms?: number, value?: unknown) => new Promise((resolve) => setTimeout(() => resolve(value), ms)),
  setImmediate: (value?: unknown) => new Promise((resolve) => setImmediate(() => resolve(value))),
};

export default { setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate, promises };
