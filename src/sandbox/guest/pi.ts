/**
 * GUEST CODE. The `pi` object (ExtensionAPI) handed to the extension's factory, the `ctx` objects handed to its
 * handlers, and the registry of the functions it registered. Functions never leave the sandbox: the host gets a
 * plain-data description through a registration hostcall and calls back by name.
 */
import {
  COMMAND_CONTEXT_MEMBERS,
  CONTEXT_MEMBERS,
  MODEL_REGISTRY_MEMBERS,
  NATIVE_PROVIDER_FUNCTIONS,
  PI_ACTIONS,
  REGISTRATIONS,
  SESSION_MANAGER_MEMBERS,
  UI_MEMBERS,
  UNREGISTRATIONS,
  type CallMode,
  type RegistrationMember,
} from '../contract.ts';
import { callAsync, callFire, callSync } from './abi.ts';
import { holdFunction } from './components.ts';

type Fn = (...args: unknown[]) => unknown;
// Captured before extension code runs (it may replace them; then only its own reads are confused).
const parseJson = JSON.parse;
const defineProperty = Object.defineProperty;

/** One `pi.on` registration: the id the host calls it by (per sandbox, increasing) and the event it listens to. */
export interface HandlerEntry {
  readonly id: number;
  readonly event: string;
  readonly fn: Fn;
}

export interface Registry {
  /** By event, in registration order (pi runs an extension's handlers in that order). */
  handlers: Map<string, HandlerEntry[]>;
  handlerById: Map<number, HandlerEntry>;
  tools: Map<string, Record<string, unknown>>;
  commands: Map<string, Record<string, unknown>>;
  shortcuts: Map<string, Record<string, unknown>>;
  renderers: Map<string, Fn>;
  bus: Map<string, Fn[]>;
}

export const registry: Registry = {
  handlers: new Map(),
  handlerById: new Map(),
  tools: new Map(),
  commands: new Map(),
  shortcuts: new Map(),
  renderers: new Map(),
  bus: new Map(),
};

function call(method: string, mode: CallMode, params: Record<string, unknown>): unknown {
  if (mode === 'sync') return callSync(method, params);
  if (mode === 'async') return callAsync(method, params);
  // fire: the denial is recorded by dispatch; the extension's handler carries on, as with a UI that is absent
  callFire(method, params);
  return undefined;
}

/** Plain data only: functions and symbols are dropped, the description says which functions exist. */
function describe(def: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const functions: string[] = [];
  for (const key of Object.keys(def)) {
    const v = def[key];
    if (typeof v === 'function') functions.push(key);
    else if (typeof v !== 'symbol') out[key] = v;
  }
  if (functions.length > 0) out.functions = functions;
  return out;
}

/**
 * A pi 1.5.2+ native `Provider` object as data: registered under its `id` (pi's provider key), its display name as
 * `displayName`, its model catalogue from `getModels()` (synchronous, data), its auth kinds, and which functions it
 * has (`stream`, `streamSimple`, ... stay in the guest; the host decides whether it can proxy them).
 */
function nativeProvider(p: Record<string, unknown>, what: string): Record<string, unknown> {
  if (typeof p.id !== 'string' || p.id === '')
    throw new TypeError(`${what}: a provider object needs a non-empty string id, got ${typeof p.id}`);
  const id = p.id;
  const rest = describe(p);
  delete rest.id;
  delete rest.name;
  const own = Array.isArray(rest.functions) ? (rest.functions as string[]) : [];
  const inherited = NATIVE_PROVIDER_FUNCTIONS.filter((k) => !own.includes(k) && typeof p[k] === 'function');
  if (own.length + inherited.length > 0) rest.functions = [...own, ...inherited];
  let models: unknown = [];
  try {
    if (typeof p.getModels === 'function') models = (p.getModels as Fn).call(p) ?? [];
  } catch {
    // pi's contract: getModels must not throw, and a provider whose getModels throws has no models
  }
  // ProviderAuth holds functions only (resolve, login, refresh): the host learns which kinds exist
  const auth =
    p.auth !== null && typeof p.auth === 'object' ? { auth: Object.keys(p.auth).filter((k) => k === 'apiKey' || k === 'oauth') } : {};
  return { ...rest, ...auth, native: true, name: id, displayName: typeof p.name === 'string' ? p.name : id, models };
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw new TypeError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

/** Identity styling: renderers and widgets get a theme whose every colour function returns the text. */
function inertTheme(): Record<string, unknown> {
  const text = (_c: unknown, s?: unknown) => String(s ?? _c ?? '');
  return new Proxy(
    {
      fg: text,
      bg: text,
      bold: (s: unknown) => String(s),
      italic: (s: unknown) => String(s),
      underline: (s: unknown) => String(s),
      strikethrough: (s: unknown) => String(s),
      inverse: (s: unknown) => String(s),
      name: 'sandbox',
    },
    {
      get: (t, k) => (k in t ? (t as Record<string | symbol, unknown>)[k] : typeof k === 'string' ? text : undefined),
    },
  );
}

export interface HostContext {
  cwd?: string;
  hasUI?: boolean;
  mode?: string;
  model?: unknown;
  thinkingLevel?: string;
  projectTrusted?: boolean;
  /** The invocation has an AbortSignal the host can abort (pi's `ctx.signal` while the agent streams). */
  signal?: boolean;
  /** The tools a tool's `ctx.executeTool` can call, as data (pi 1.5.2+ `ExtensionToolContext.tools`). */
  tools?: unknown[];
  /** The same as JSON text, sent when it differs from the list held (`holdTools`); else `toolsHeld`. */
  toolsJson?: string;
  toolsHeld?: boolean;
}

/** The JSON of the tool list the host sent last: a tool's ctx parses it only when the tool reads `ctx.tools`. */
let heldTools = '[]';

/** First thing in a tool entry (nothing may throw before it): the host counts on the guest holding what it sent. */
export function holdTools(host: HostContext): void {
  if (typeof host.toolsJson === 'string') heldTools = host.toolsJson;
}

/** `ctx.tools`, parsed from the held text on first read; then an ordinary property of this ctx. */
function lazyTools(ctx: Record<string, unknown>, host: HostContext): void {
  if (Array.isArray(host.tools) || (host.toolsHeld !== true && typeof host.toolsJson !== 'string')) {
    ctx.tools = Array.isArray(host.tools) ? host.tools : [];
    return;
  }
  const text = heldTools;
  const become = (value: unknown) => defineProperty(ctx, 'tools', { value, writable: true, enumerable: true, configurable: true });
  defineProperty(ctx, 'tools', {
    enumerable: true,
    configurable: true,
    get() {
      const value: unknown = parseJson(text);
      become(value);
      return value;
    },
    set(value: unknown) {
      become(value);
    },
  });
}

function memberTable(table: Readonly<Record<string, readonly [string, CallMode]>>, target: Record<string, unknown>): void {
  for (const [name, [method, mode]] of Object.entries(table)) {
    target[name] = (...args: unknown[]) => call(method, mode, { args: plain(args) });
  }
}

/** Arguments become plain data; a function argument (a callback) becomes null. */
function plain(args: unknown[]): unknown[] {
  return args.map((a) => (typeof a === 'function' ? null : a));
}

/** `ui.*` members whose function argument is a component factory the host proxies (see components.ts). */
const FACTORY_MEMBERS = new Set(['custom', 'setWidget', 'setHeader', 'setFooter']);

/** A factory stays in the guest; the host gets `{factory: id}` and asks for components by it. */
function withFactories(args: unknown[]): unknown[] {
  return args.map((a) => (typeof a === 'function' ? { factory: holdFunction(a as Fn) } : a));
}

let shared: { event: Record<string, unknown>; command: Record<string, unknown> } | undefined;

/** The members every ctx shares (ui, sessionManager, modelRegistry, actions): built once, they hold no state. */
function sharedMembers(): { event: Record<string, unknown>; command: Record<string, unknown> } {
  if (shared !== undefined) return shared;
  const ui: Record<string, unknown> = {};
  for (const [name, mode] of Object.entries(UI_MEMBERS)) {
    ui[name] = (...args: unknown[]) =>
      call(`ctx.ui.${name}`, mode, { args: FACTORY_MEMBERS.has(name) ? withFactories(args) : plain(args) });
  }
  ui.theme = inertTheme();
  const sessionManager: Record<string, unknown> = {};
  for (const name of SESSION_MANAGER_MEMBERS) {
    sessionManager[name] = (...args: unknown[]) => callSync(`ctx.sessionManager.${name}`, { args: plain(args) });
  }
  const modelRegistry: Record<string, unknown> = {};
  for (const [name, [method, mode]] of Object.entries(MODEL_REGISTRY_MEMBERS)) {
    modelRegistry[name] = (...args: unknown[]) =>
      call(
        method,
        mode,
        name === 'unregisterProvider'
          ? { name: String(args[0]) }
          : name === 'registerProvider'
            ? args[0] !== null && typeof args[0] === 'object'
              ? nativeProvider(args[0] as Record<string, unknown>, 'ctx.modelRegistry.registerProvider')
              : { name: String(args[0]), args: plain(args) }
            : { args: plain(args) },
      );
  }
  const event: Record<string, unknown> = { ui, sessionManager, modelRegistry };
  memberTable(CONTEXT_MEMBERS, event);
  const command: Record<string, unknown> = { ...event };
  memberTable(COMMAND_CONTEXT_MEMBERS, command);
  shared = { event, command };
  return shared;
}

/**
 * pi 1.5.2+ `ctx.executeTool(name, args)` on a tool's ctx: the `tool` hostcall, so the nested call is checked as if
 * the extension made it. Like pi it never rejects for a tool failure (a denial included): it resolves `isError`.
 */
function toolExecutor(toolCallId: string): (name: unknown, args: unknown) => Promise<unknown> {
  let nested = 0;
  return async (name: unknown, args: unknown) => {
    const toolCall = { type: 'toolCall', id: `${toolCallId}/${nested++}`, name: String(name), arguments: args ?? {} };
    const failed = (text: string) => ({ toolCall, result: { content: [{ type: 'text', text }], details: {} }, isError: true });
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args)))
      return failed(`executeTool: arguments of ${String(name)} must be an object, got ${args === null ? 'null' : typeof args}`);
    try {
      const result = (await callAsync('tool', { name: String(name), input: args ?? {} })) as Record<string, unknown> | null;
      return { toolCall, result, isError: result?.isError === true };
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err));
    }
  };
}

/**
 * A fresh ctx per call: the host's view of the session (cwd, hasUI, model) is data; every action is a hostcall.
 * `signal` is the invocation's AbortSignal (undefined unless the host gave one, as pi's is while idle); a tool's
 * ctx also has pi 1.5.2+'s `tools` and `executeTool`.
 */
export function makeContext(
  host: HostContext,
  kind: 'event' | 'command' | 'tool',
  signal?: unknown,
  toolCallId = 'call',
  tools: HostContext = host,
): Record<string, unknown> {
  const ctx: Record<string, unknown> = {
    ...sharedMembers()[kind === 'command' ? 'command' : 'event'],
    cwd: host.cwd ?? '/',
    hasUI: host.hasUI === true,
    mode: host.mode ?? 'print',
    // A copy: the host's ctx data is kept across handler entries (index.ts runHandler), edits stay in this ctx.
    model: host.model !== null && typeof host.model === 'object' ? { ...(host.model as Record<string, unknown>) } : host.model,
    thinkingLevel: host.thinkingLevel,
    signal,
    scopedModels: [],
    isProjectTrusted: () => host.projectTrusted === true,
  };
  if (kind === 'tool') {
    lazyTools(ctx, tools);
    ctx.executeTool = toolExecutor(toolCallId);
  }
  return ctx;
}

const flagDefaults = new Map<string, unknown>();
let lastHandlerId = 0;

/** `pi.on`: the host learns the handler's id; the returned function unsubscribes it (pi 1.5.2+ returns `() => void`). */
function subscribe(event: unknown, handler: unknown): () => void {
  if (typeof handler !== 'function') throw new TypeError(`pi.on: handler must be a function, got ${typeof handler}`);
  const entry: HandlerEntry = { id: ++lastHandlerId, event: String(event), fn: handler as Fn };
  register('on', { event: entry.event, handlerId: entry.id });
  const list = registry.handlers.get(entry.event) ?? [];
  list.push(entry);
  registry.handlers.set(entry.event, list);
  registry.handlerById.set(entry.id, entry);
  return () => {
    if (!registry.handlerById.delete(entry.id)) return;
    const l = registry.handlers.get(entry.event) ?? [];
    const i = l.indexOf(entry);
    if (i >= 0) l.splice(i, 1);
    // the host drops its proxy; if this is refused the handler is still gone here, so it never runs again
    call(UNREGISTRATIONS.on, 'fire', { event: entry.event, handlerId: entry.id });
  };
}

function register(member: RegistrationMember, params: Record<string, unknown>): void {
  callSync(REGISTRATIONS[member], params);
}

function eventBus(): Record<string, unknown> {
  return {
    on(channel: unknown, fn: unknown) {
      if (typeof fn !== 'function') throw new TypeError('pi.events.on: handler must be a function');
      const name = String(channel);
      callSync('pi.events.on', { channel: name });
      const list = registry.bus.get(name) ?? [];
      list.push(fn as Fn);
      registry.bus.set(name, list);
      return () => {
        const l = registry.bus.get(name) ?? [];
        const i = l.indexOf(fn as Fn);
        if (i >= 0) l.splice(i, 1);
      };
    },
    emit(channel: unknown, data: unknown) {
      call('pi.events.emit', 'fire', { channel: String(channel), data });
    },
  };
}

export function makePi(): Record<string, unknown> {
  const pi: Record<string, unknown> = {
    on: subscribe,
    registerTool(def: unknown) {
      const d = asObject(def, 'pi.registerTool: tool');
      if (typeof d.execute !== 'function') throw new TypeError(`pi.registerTool: tool ${String(d.name)} has no execute function`);
      // its renderCall/renderResult stay here, held as a resolver of this tool: the host draws them as a resolver's (components.ts)
      const renders = typeof d.renderCall === 'function' || typeof d.renderResult === 'function';
      register('registerTool', { ...describe(d), ...(renders ? { renderFn: holdFunction(() => d) } : {}) });
      registry.tools.set(String(d.name), d);
    },
    registerCommand(name: unknown, options: unknown) {
      const o = asObject(options, 'pi.registerCommand: options');
      register('registerCommand', { ...describe(o), name: String(name) });
      registry.commands.set(String(name), o);
    },
    registerShortcut(key: unknown, options: unknown) {
      const o = asObject(options, 'pi.registerShortcut: options');
      register('registerShortcut', { ...describe(o), key: String(key) });
      registry.shortcuts.set(String(key), o);
    },
    registerFlag(name: unknown, options: unknown) {
      const o = asObject(options, 'pi.registerFlag: options');
      register('registerFlag', { ...describe(o), name: String(name) });
      flagDefaults.set(String(name), o.default);
    },
    getFlag(name: unknown) {
      const v = callSync('pi.getFlag', { name: String(name) });
      return v === undefined || v === null ? flagDefaults.get(String(name)) : v;
    },
    registerMessageRenderer(customType: unknown, renderer: unknown) {
      // the renderer stays here; the host asks for its components by this id (components.ts)
      const held = typeof renderer === 'function' ? { fn: holdFunction(renderer as Fn) } : {};
      register('registerMessageRenderer', { customType: String(customType), ...held });
      if (typeof renderer === 'function') registry.renderers.set(`message:${String(customType)}`, renderer as Fn);
    },
    registerEntryRenderer(customType: unknown, renderer: unknown) {
      register('registerEntryRenderer', { customType: String(customType) });
      if (typeof renderer === 'function') registry.renderers.set(`entry:${String(customType)}`, renderer as Fn);
    },
    registerToolRenderer(first: unknown, renderer: unknown) {
      if (typeof first === 'function') {
        // pi 1.5.2+: one resolver `(toolName, next) => renderers` for every tool; it stays in the guest
        registry.renderers.set(`toolResolver:${registry.renderers.size}`, first as Fn);
        register('registerToolRenderer', { resolver: true, fn: holdFunction(first as Fn), functions: ['resolver'] });
        return;
      }
      const r = renderer !== null && typeof renderer === 'object' ? describe(renderer as Record<string, unknown>) : {};
      register('registerToolRenderer', { ...r, toolName: String(first) });
    },
    registerMarkdownTransformer(transformer: unknown, options: unknown) {
      const o = options !== null && typeof options === 'object' ? describe(options as Record<string, unknown>) : {};
      register('registerMarkdownTransformer', {
        ...o,
        functions: typeof transformer === 'function' ? ['transform'] : [],
        ...(typeof transformer === 'function' ? { fn: holdFunction(transformer as Fn) } : {}),
      });
    },
    registerProvider(first: unknown, config: unknown) {
      if (first !== null && typeof first === 'object') {
        register('registerProvider', nativeProvider(first as Record<string, unknown>, 'pi.registerProvider'));
        return;
      }
      register('registerProvider', { ...describe(asObject(config ?? {}, 'pi.registerProvider: config')), name: String(first) });
    },
    registerMcpServer(name: unknown, config: unknown) {
      register('registerMcpServer', { ...describe(asObject(config ?? {}, 'pi.registerMcpServer: config')), name: String(name) });
    },
    registerVirtualModel(def: unknown) {
      register('registerVirtualModel', describe(asObject(def, 'pi.registerVirtualModel: model')));
    },
    exec(command: unknown, args: unknown, options: unknown) {
      const o = options !== null && typeof options === 'object' ? (options as Record<string, unknown>) : {};
      const params: Record<string, unknown> = { cmd: String(command), args: Array.isArray(args) ? args.map(String) : [] };
      if (typeof o.cwd === 'string') params.cwd = o.cwd;
      if (typeof o.timeout === 'number' && o.timeout >= 0) params.timeoutMs = Math.floor(o.timeout);
      return callAsync('exec', params);
    },
    events: eventBus(),
  };
  for (const [name, spec] of Object.entries(PI_ACTIONS)) {
    if (name === 'getFlag') continue;
    pi[name] = (...args: unknown[]) => call(spec.method, spec.mode, spec.params === undefined ? {} : spec.params(args));
  }
  return pi;
}
