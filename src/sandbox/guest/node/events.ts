/** GUEST CODE. `node:events`: an EventEmitter with Node's listener semantics (no host involvement). */
type Listener = (...args: unknown[]) => unknown;

export class EventEmitter {
  static defaultMaxListeners = 10;
  #events = new Map<string | symbol, Listener[]>();

  on(name: string | symbol, fn: Listener): this {
    const list = this.#events.get(name) ?? [];
    list.push(fn);
    this.#events.set(name, list);
    return this;
  }

  addListener(name: string | symbol, fn: Listener): this {
    return this.on(name, fn);
  }

  prependListener(name: string | symbol, fn: Listener): this {
    this.#events.set(name, [fn, ...(this.#events.get(name) ?? [])]);
    return this;
  }

  once(name: string | symbol, fn: Listener): this {
    const wrapper: Listener & { listener?: Listener } = (...args: unknown[]) => {
      this.off(name, wrapper);
      return fn.apply(this, args);
    };
    wrapper.listener = fn;
    return this.on(name, wrapper);
  }

  off(name: string | symbol, fn: Listener): this {
    const list = this.#events.get(name);
    if (list === undefined) return this;
    const i = list.findIndex((l) => l === fn || (l as { listener?: Listener }).listener === fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  removeListener(name: string | symbol, fn: Listener): this {
    return this.off(name, fn);
  }

  removeAllListeners(name?: string | symbol): this {
    if (name === undefined) this.#events.clear();
    else this.#events.delete(name);
    return this;
  }

  emit(name: string | symbol, ...args: unknown[]): boolean {
    const list = this.#events.get(name);
    if (list === undefined || list.length === 0) {
      if (name === 'error') throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error: ${String(args[0])}`);
      return false;
    }
    for (const fn of [...list]) fn.apply(this, args);
    return true;
  }

  listeners(name: string | symbol): Listener[] {
    return [...(this.#events.get(name) ?? [])];
  }

  rawListeners(name: string | symbol): Listener[] {
    return this.listeners(name);
  }

  listenerCount(name: string | symbol): number {
    return this.#events.get(name)?.length ?? 0;
  }

  eventNames(): Array<string | symbol> {
    return [...this.#events.keys()];
  }

  setMaxListeners(_n: number): this {
    return this;
  }

  getMaxListeners(): number {
    return EventEmitter.defaultMaxListeners;
  }
}

export function once(emitter: EventEmitter, name: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    emitter.once(name, (...args: unknown[]) => resolve(args));
    if (name !== 'error') emitter.once('error', (err: unknown) => reject(err));
  });
}

const events = Object.assign(EventEmitter, { EventEmitter, once, default: EventEmitter });
export default events;
