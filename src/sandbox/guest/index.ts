/**
 * GUEST CODE: the entry of the guest runtime bundle. Installs the Node-like globals, receives the extension's
 * bundled module (`__wardenDefine`) and answers the host's entries (`__wardenEnter(kind, payload)`):
 *
 * - `boot`   {cwd, home, ...}                    — the host's world as plain data
 * - `invoke` {ticket, target}                    — load / event / handler / tool / command / shortcut / bus; finishes
 *                                                  with settle
 * - `resume` {ticket, reply}                     — an async hostcall's result
 * - `timer`  {id}                                — a timer is due
 * - `abort`  {ticket}                            — the host cancels a running invocation (its AbortSignal fires)
 * - `component` {op, ...}                        — a TUI component call pi makes synchronously (render, input, ...);
 *                                                  answered in the entry's return value, not with settle
 */
import { entryAnswer, errorToWire, hostLog, readField, resume, settle } from './abi.ts';
import { runComponent } from './components.ts';
import { guestRequire } from './modules.ts';
import { Buffer } from './node/buffer.ts';
import { EventEmitter } from './node/events.ts';
import { fetch, Response } from './node/http.ts';
import { format } from './node/misc.ts';
import { process } from './node/process.ts';
import { boot, setBoot } from './node/state.ts';
import { clearImmediate, clearInterval, clearTimeout, fireTimer, setImmediate, setInterval, setTimeout } from './node/timers.ts';
import { holdTools, makeContext, makePi, registry, type HostContext } from './pi.ts';
import { syncedView, type SyncedUpdate, type SyncedView } from './synced.ts';

type Opts = Record<string, unknown>;
type Fn = (...args: unknown[]) => unknown;
const parse = JSON.parse;
// Captured before extension code runs: a handler's value is awaited as pi awaits it even if the extension replaces these.
const promiseResolve = Promise.resolve.bind(Promise) as (v: unknown) => Promise<unknown>;
// eslint-disable-next-line @typescript-eslint/unbound-method -- captured on purpose, always invoked with .call(promise)
const promiseThen = Promise.prototype.then;
const defineProperty = Object.defineProperty;
const g = globalThis as unknown as Opts;

class SandboxEvent {
  type: string;
  defaultPrevented = false;
  constructor(type: string) {
    this.type = type;
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

class SandboxEventTarget {
  readonly #emitter = new EventEmitter();
  addEventListener(type: string, fn: Fn): void {
    this.#emitter.on(type, fn);
  }
  removeEventListener(type: string, fn: Fn): void {
    this.#emitter.off(type, fn);
  }
  dispatchEvent(event: SandboxEvent): boolean {
    const handler = (this as unknown as Opts)[`on${event.type}`];
    if (typeof handler === 'function') (handler as Fn).call(this, event);
    this.#emitter.emit(event.type, event);
    return !event.defaultPrevented;
  }
}

class AbortSignal extends SandboxEventTarget {
  aborted = false;
  reason: unknown = undefined;
  onabort: Fn | null = null;
  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }
  static abort(reason?: unknown): AbortSignal {
    const c = new AbortController();
    c.abort(reason);
    return c.signal;
  }
  static timeout(ms: number): AbortSignal {
    const c = new AbortController();
    setTimeout(() => c.abort(Object.assign(new Error('The operation timed out'), { name: 'TimeoutError' })), ms);
    return c.signal;
  }
  static any(signals: AbortSignal[]): AbortSignal {
    const c = new AbortController();
    for (const s of signals) s.addEventListener('abort', () => c.abort(s.reason));
    return c.signal;
  }
}

class AbortController {
  readonly signal = new AbortSignal();
  abort(reason?: unknown): void {
    if (this.signal.aborted) return;
    this.signal.aborted = true;
    this.signal.reason = reason ?? Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    this.signal.dispatchEvent(new SandboxEvent('abort'));
  }
}

const consoleLevel =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (...args: unknown[]) =>
    hostLog(level, format(...(args as [unknown, ...unknown[]])));

Object.assign(g, {
  global: g,
  process,
  Buffer,
  fetch,
  Response,
  AbortController,
  AbortSignal,
  EventTarget: SandboxEventTarget,
  Event: SandboxEvent,
  setTimeout,
  setInterval,
  setImmediate,
  clearTimeout,
  clearInterval,
  clearImmediate,
  console: {
    log: consoleLevel('info'),
    info: consoleLevel('info'),
    debug: consoleLevel('debug'),
    trace: consoleLevel('debug'),
    warn: consoleLevel('warn'),
    error: consoleLevel('error'),
    dir: consoleLevel('info'),
    table: consoleLevel('info'),
    time: () => undefined,
    timeEnd: () => undefined,
    group: () => undefined,
    groupEnd: () => undefined,
    assert: () => undefined,
  },
  require: guestRequire,
});

// quickjs-wasi's URL (ada) has no searchParams; extensions read query strings through it.
if (typeof URL === 'function' && !('searchParams' in URL.prototype)) {
  Object.defineProperty(URL.prototype, 'searchParams', {
    configurable: true,
    get(this: URL) {
      return new URLSearchParams(this.search);
    },
  });
}

type ModuleFactory = (module: Opts, exports: unknown, require: unknown, filename: string, dirname: string) => void;
let moduleFactory: ModuleFactory | undefined;
g.__wardenDefine = (fn: ModuleFactory) => {
  if (moduleFactory !== undefined) throw new Error('the extension module is already defined');
  moduleFactory = fn;
};

interface Target extends Opts {
  type: string;
  ctx?: HostContext;
}

function resolveFactory(exported: unknown): Fn {
  const e = exported as Opts | Fn | null;
  if (e !== null && typeof e === 'object' && typeof e.default === 'function') return e.default as Fn;
  if (typeof e === 'function') return e;
  throw new TypeError('the extension does not export a valid factory function (export default function (pi) { ... })');
}

/**
 * Evaluates the extension and runs its factory. A module bundle (top-level await) is imported: the import settles
 * once every top-level await has, so the factory runs after them, as pi's jiti runs it.
 */
async function load(t: Target): Promise<unknown> {
  const file = boot.extensionPath;
  let exported: unknown;
  if (t.module === true) exported = await importModule(file);
  else {
    if (moduleFactory === undefined) throw new Error('no extension module was defined');
    const module: Opts = { exports: {} };
    moduleFactory(module, module.exports, guestRequire, file, file.slice(0, Math.max(1, file.lastIndexOf('/'))));
    exported = module.exports;
  }
  const factory = resolveFactory(exported);
  await factory(makePi());
  return null;
}

/** The engine's import(), by a name only the host's `defineModule` serves. */
const importModule = (name: string): Promise<unknown> => import(name);

/** Abort controllers of running invocations (tool calls, and events/commands whose ctx has a signal), by ticket. */
const running = new Map<number, AbortController>();

/**
 * The AbortSignal of one invocation: always for a tool call (its `execute` signal), and for an event, handler,
 * command or shortcut when the host sent `ctx.signal: true` (pi's `ctx.signal` while the agent streams). The host
 * aborts it with the `abort` entry.
 */
async function withSignal<T>(t: Target, ticket: number, always: boolean, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!always && t.ctx?.signal !== true) return run(undefined);
  const controller = new AbortController();
  running.set(ticket, controller);
  try {
    return await run(controller.signal);
  } finally {
    running.delete(ticket);
  }
}

async function runEvent(t: Target, ticket: number): Promise<unknown> {
  const handlers = registry.handlers.get(String(t.event)) ?? [];
  const event = (t.payload ?? {}) as Opts;
  return withSignal(t, ticket, false, async (signal) => {
    const ctx = makeContext(t.ctx ?? {}, 'event', signal);
    const results: unknown[] = [];
    // a snapshot, as pi's emit takes one: a handler unsubscribed during this batch still runs in it
    for (const h of [...handlers]) {
      try {
        results.push({ ok: true, value: await h.fn(event, ctx) });
      } catch (err) {
        results.push({ ok: false, error: errorToWire(err) });
      }
    }
    // tool_call handlers may mutate event.input in place (pi lets later handlers and the tool see it)
    return t.event === 'tool_call' ? { results, input: event.input } : { results };
  });
}

/**
 * An event field the host sends on first read: an accessor that fetches the value and becomes a plain data property
 * (so later reads and in-place edits see one object); assigning before reading replaces it without a fetch.
 */
function lazyField(payload: Opts, name: string, id: number): void {
  const become = (value: unknown) => defineProperty(payload, name, { value, writable: true, enumerable: true, configurable: true });
  defineProperty(payload, name, {
    enumerable: true,
    configurable: true,
    get() {
      const value = readField(id, name);
      become(value);
      return value;
    },
    set(value: unknown) {
      become(value);
    },
  });
}

/** The ctx data of the last handler or tool entry (see takeContext). */
let heldContext: HostContext | undefined;

/**
 * The ctx data of a handler or tool entry: the host sends it only when it changed (Sandbox.#ctxOnce); kept first in
 * the entry, before anything can fail.
 */
function takeContext(t: Target): HostContext {
  if (t.ctxHeld !== true) heldContext = t.ctx ?? {};
  else if (heldContext === undefined) throw new Error('the host referred to a ctx this guest does not hold');
  return heldContext;
}

/** How a handler entry ends: once, with the handler's outcome (settle's `ok` and value). */
type Done = (ok: boolean, value: unknown) => void;

/**
 * Exactly one handler, by the id `pi.on` gave it: its return value and the payload as it is after the handler ran
 * (pi lets a handler edit the event in place; the host copies that back). A removed handler leaves it unchanged.
 * Synced fields (see synced.ts) come back as changes only, and an array of one returned under the same name names the
 * elements it kept unchanged by index.
 *
 * The handler's value is taken as pi's `await handler(event, ctx)` takes it: one microtask after a plain value, when
 * a promise settles, at once when it throws; the outcome is read then (so an edit made in that tick is seen, as pi
 * sees it) and settled from there, with no async wrappers: each costs the entry promise jobs, and most handlers are
 * synchronous.
 */
function runHandler(t: Target, ticket: number, done: Done): void {
  const hostCtx = takeContext(t);
  const payload = (t.payload ?? {}) as Opts;
  // Applied before anything else in this entry: the host counts on the guest's copy being up to date once it returns.
  const views = new Map<string, SyncedView>();
  const synced = t.synced as Record<string, SyncedUpdate> | undefined;
  if (synced !== undefined)
    for (const name of Object.keys(synced)) {
      const view = syncedView(`${String(t.event)}.${name}`, synced[name] as SyncedUpdate);
      views.set(name, view);
      payload[name] = view.array;
    }
  const lazy = t.lazy as { id: number; fields: string[] } | undefined;
  if (lazy !== undefined) for (const name of lazy.fields) lazyField(payload, name, lazy.id);
  // Only the fields whose in-place edits the host copies back travel home (a turn_end payload can be 50 KB); a synced
  // field travels as its changes, if any.
  const keep = Array.isArray(t.keep) ? (t.keep as unknown[]).map(String) : undefined;
  const back = (): Opts => {
    if (keep === undefined) return { payload };
    const out: Opts = {};
    const changed: Opts = {};
    for (const k of keep) {
      if (!(k in payload)) continue;
      const view = views.get(k);
      const now = payload[k];
      if (view === undefined || !Array.isArray(now)) out[k] = now;
      else {
        const c = view.changes(now);
        if (c !== undefined) changed[k] = c;
      }
    }
    return views.size === 0 ? { payload: out } : { payload: out, synced: changed };
  };
  const returned = (value: unknown): Opts => {
    if (views.size === 0 || value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
      return { value };
    const v = { ...(value as Opts) };
    const refs: Opts = {};
    for (const [name, view] of views) {
      if (!Array.isArray(v[name])) continue;
      refs[name] = view.encode(v[name] as unknown[]);
      v[name] = null;
    }
    return { value: v, valueSynced: refs };
  };
  const entry = registry.handlerById.get(Number(t.handlerId));
  if (entry === undefined) {
    done(true, { ok: true, ...back() });
    return;
  }
  if (entry.event !== String(t.event))
    throw new Error(`handler ${String(t.handlerId)} listens to ${entry.event}, not to ${String(t.event)}`);
  let controller: AbortController | undefined;
  if (t.signal === true) {
    controller = new AbortController();
    running.set(ticket, controller);
  }
  const finish = (ok: boolean, outcome: unknown): void => {
    if (controller !== undefined) running.delete(ticket);
    let value: Opts;
    try {
      value = ok ? { ok: true, ...returned(outcome), ...back() } : { ok: false, error: errorToWire(outcome), ...back() };
    } catch (err) {
      done(false, errorToWire(err));
      return;
    }
    done(true, value);
  };
  let value: unknown;
  try {
    value = entry.fn(payload, makeContext(hostCtx, 'event', controller?.signal));
  } catch (err) {
    finish(false, err);
    return;
  }
  // Promise.resolve: one tick for a plain value or a native promise's settling, as `await` takes; a thenable's own job.
  void promiseThen.call(
    promiseResolve(value),
    (v: unknown) => finish(true, v),
    (err: unknown) => finish(false, err),
  );
}

/**
 * A registered tool's `execute`, with its own AbortSignal (also its `ctx.signal`). Its result is taken as pi's
 * `await tool.execute(...)` takes it and settled from there (see runHandler: no async wrappers).
 */
function runTool(t: Target, ticket: number, done: Done): void {
  const hostCtx = takeContext(t);
  // The tool list travels beside the ctx data (Sandbox.#toolContext): its text when it changed, else `toolsHeld`.
  const tools: HostContext = { toolsHeld: t.toolsHeld === true, ...(typeof t.toolsJson === 'string' ? { toolsJson: t.toolsJson } : {}) };
  holdTools(tools);
  const tool = registry.tools.get(String(t.name));
  if (tool === undefined) throw new Error(`no tool ${String(t.name)} is registered`);
  const updates: unknown[] = [];
  const controller = new AbortController();
  running.set(ticket, controller);
  const finish = (ok: boolean, outcome: unknown): void => {
    running.delete(ticket);
    if (ok) done(true, { result: outcome, updates });
    else done(false, errorToWire(outcome));
  };
  let result: unknown;
  try {
    let params = t.params;
    if (typeof tool.prepareArguments === 'function') params = (tool.prepareArguments as Fn)(params);
    const id = String(t.toolCallId ?? 'call');
    const onUpdate = (u: unknown) => {
      updates.push(u);
    };
    result = (tool.execute as Fn)(id, params, controller.signal, onUpdate, makeContext(hostCtx, 'tool', controller.signal, id, tools));
  } catch (err) {
    finish(false, err);
    return;
  }
  void promiseThen.call(
    promiseResolve(result),
    (v: unknown) => finish(true, v),
    (err: unknown) => finish(false, err),
  );
}

async function runCommand(t: Target, ticket: number): Promise<unknown> {
  const cmd = registry.commands.get(String(t.name));
  if (cmd === undefined || typeof cmd.handler !== 'function') throw new Error(`no command ${String(t.name)} is registered`);
  await withSignal(t, ticket, false, async (signal) => {
    await (cmd.handler as Fn)(String(t.args ?? ''), makeContext(t.ctx ?? {}, 'command', signal));
  });
  return null;
}

async function runCompletions(t: Target): Promise<unknown> {
  const cmd = registry.commands.get(String(t.name));
  if (cmd === undefined) throw new Error(`no command ${String(t.name)} is registered`);
  if (typeof cmd.getArgumentCompletions !== 'function') return null;
  return (await (cmd.getArgumentCompletions as Fn)(String(t.prefix ?? ''))) ?? null;
}

async function runShortcut(t: Target, ticket: number): Promise<unknown> {
  const s = registry.shortcuts.get(String(t.key));
  if (s === undefined || typeof s.handler !== 'function') throw new Error(`no shortcut ${String(t.key)} is registered`);
  await withSignal(t, ticket, false, async (signal) => {
    await (s.handler as Fn)(makeContext(t.ctx ?? {}, 'event', signal));
  });
  return null;
}

async function runBus(t: Target): Promise<unknown> {
  for (const fn of [...(registry.bus.get(String(t.channel)) ?? [])]) await fn(t.data);
  return null;
}

const RUNNERS: Record<string, (t: Target, ticket: number) => Promise<unknown>> = {
  load,
  event: runEvent,
  command: runCommand,
  completions: runCompletions,
  shortcut: runShortcut,
  bus: runBus,
};

g.__wardenEnter = (kind: string, payload: string): string => {
  const msg = parse(payload) as Opts;
  switch (kind) {
    case 'boot':
      setBoot(msg);
      return '';
    case 'resume':
      resume(Number(msg.ticket), msg.reply as never);
      return '';
    case 'timer':
      try {
        fireTimer(Number(msg.id));
      } catch (err) {
        hostLog('error', `timer callback failed: ${errorToWire(err).message}`);
      }
      return '';
    case 'abort':
      running.get(Number(msg.ticket))?.abort();
      return '';
    case 'component':
      try {
        return entryAnswer(true, runComponent(msg));
      } catch (err) {
        return entryAnswer(false, errorToWire(err));
      }
    case 'invoke': {
      const ticket = Number(msg.ticket);
      const target = msg.target as Target;
      // The hot paths (every pi event, every tool call) settle without async wrappers.
      const direct = target.type === 'handler' ? runHandler : target.type === 'tool' ? runTool : undefined;
      if (direct !== undefined) {
        try {
          direct(target, ticket, (ok, v) => settle(ticket, ok, v));
        } catch (err) {
          settle(ticket, false, errorToWire(err));
        }
        return '';
      }
      const run = RUNNERS[target.type];
      if (run === undefined) {
        settle(ticket, false, { code: 'invalid_request', message: `unknown target ${String(target.type)}` });
        return '';
      }
      run(target, ticket).then(
        (v) => settle(ticket, true, v),
        (err) => settle(ticket, false, errorToWire(err)),
      );
      return '';
    }
    default:
      return '';
  }
};
