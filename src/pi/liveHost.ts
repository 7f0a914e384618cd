/**
 * The host of sandboxed extensions inside a running pi session (SPEC §10): the `ExtensionHost` the bridge gives
 * the dispatcher. Every call reaches it after validation, capability, policy, trust, quotas and mediation, so it
 * only does what pi would have done for the extension: `pi.*` actions on the live ExtensionAPI, `ctx.*` on the
 * context of the invocation that is running (the handler, tool or command pi called), `exec` as a child process
 * with the secret variables taken out of its environment. Files and HTTP never reach it: mediation's confined
 * operations serve them.
 *
 * TUI component factories (`ui.custom`, `setWidget`/`setHeader`/`setFooter`) become factories of sandboxed
 * components (src/pi/components). What cannot cross the boundary fails with a clear `invalid_request` naming the
 * member, never silently: `setEditorComponent` and `onTerminalInput` (see REFUSED_TUI), and command-only context
 * actions called outside a command.
 *
 * Streamed children (`exec.spawn`) are kept by handle, per extension: an extension reads, writes to and signals
 * only the children it started, and they are killed when it is stopped or forgotten and when the session closes.
 * Sockets (`net.*`, src/pi/net.ts) are kept the same way, and their owner check asks which children run.
 */
import { randomUUID } from 'node:crypto';
import { plainData, type OperationContext } from '../dispatch/index.ts';
import { WardenError } from '../errors.ts';
import { forTerminal } from '../mediation/index.ts';
import type { ExtensionHost, Registration } from './host.ts';
import { FACTORY_MEMBERS, type ExtensionComponents } from './components/index.ts';
import type { Confinement } from './confine/index.ts';
import { runChild, startChild, type StreamedChild } from './exec.ts';
import { NetSockets } from './net.ts';
import { NO_NET_GRANT, type NetGrant } from '../policy/index.ts';

/** pi's objects as the host uses them: members looked up by name (pi 0.73.1, 1.5.2 and 1.6.0 differ in detail). */
export type PiObject = Record<string, unknown>;

/** What an extension is bound to in the session: pi's API object, and the contexts of the invocations running now. */
interface Binding {
  api: PiObject | undefined;
  /** The ctx of the most recent invocation (pi hands every handler of a session the same session's context). */
  ctx: PiObject | undefined;
  /** Only while a command handler runs: the context with newSession/fork/switchSession/reload/waitForIdle. */
  commandCtx: PiObject | undefined;
}

/**
 * Members refused, and why (the README lists them). pi's editor is a class an extension subclasses (`CustomEditor`,
 * with pi's own keybindings and text state inside it), and a terminal input listener sees every key the user types,
 * the other extensions' and pi's own included, before pi does.
 */
const REFUSED_TUI: Readonly<Record<string, string>> = {
  setEditorComponent: 'a custom editor subclasses pi’s own editor class, which cannot cross into the sandbox; pi keeps its editor',
  getEditorComponent: 'editor components are pi’s objects and do not cross into the sandbox',
  onTerminalInput: 'a raw terminal listener would see every key typed in pi, not only its own component’s; use a shortcut or ui.custom',
  addAutocompleteProvider: 'an autocomplete provider is pi’s object wrapped around pi’s own provider and does not cross into the sandbox',
};
/** Members that wait for the user: the time does not count against an event's deadline. */
const DIALOGS = new Set(['select', 'confirm', 'input', 'editor', 'custom']);
/** Streamed children one extension may have running at once. */
const MAX_CHILDREN = 16;
/** How long one `exec.read` waits for output before answering nothing (the guest asks again): under a call's deadline. */
const READ_WAIT_MS = 10_000;
const COMMAND_ONLY = new Set(['waitForIdle', 'newSession', 'fork', 'navigateTree', 'switchSession', 'reload', 'getSystemPromptOptions']);

function notProxied(what: string, why: string): WardenError {
  return new WardenError('invalid_request', `${what} is not available to a sandboxed extension: ${why}`, { where: what });
}

function method(target: PiObject | undefined, name: string, what: string): (...args: unknown[]) => unknown {
  const fn = target?.[name];
  if (typeof fn !== 'function') throw notProxied(what, 'this pi version does not have it');
  return (fn as (...a: unknown[]) => unknown).bind(target);
}

export interface LiveHostOptions {
  /** The project the session runs in: the cwd of child processes unless the call names one inside it. */
  readonly cwd: string;
  /** The environment children start from, before secret variables are taken out. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Which variable names are secret (the secret broker's classification). */
  readonly isSecretName: (name: string) => boolean;
  /** The OS sandbox an extension's children run in (src/pi/confine). */
  readonly confinement: (extensionId: string) => Confinement;
  /** The user's net grant of an extension (default: none, the owner check on). */
  readonly netGrant?: (extensionId: string) => NetGrant;
  /** Messages on the shared `pi.events` bus from a sandboxed extension, for the bridge to deliver. */
  readonly onBus?: (fromExtensionId: string, channel: string, data: unknown) => void;
}

export class LiveHost implements ExtensionHost {
  readonly #bindings = new Map<string, Binding>();
  readonly #registrations = new Map<string, Registration[]>();
  readonly #listeners = new Map<string, (r: Registration) => void>();
  readonly #options: LiveHostOptions;
  /** Dialogs open per extension: time the user takes to answer does not count against an event's deadline. */
  readonly #dialogs = new Map<string, number>();
  /** What was already told to the user (extension, member): once is enough. */
  readonly #told = new Set<string>();
  /** Each extension's TUI components (set by the proxy, which holds the sandbox). */
  readonly #components = new Map<string, ExtensionComponents>();
  /** Streamed children by extension, then handle. */
  readonly #children = new Map<string, Map<string, StreamedChild>>();
  /** Spawns under way by extension: they count against the limit before their child exists. */
  readonly #starting = new Map<string, number>();
  readonly #net: NetSockets;

  constructor(options: LiveHostOptions) {
    this.#options = options;
    this.#net = new NetSockets({
      cwd: options.cwd,
      grant: options.netGrant ?? (() => NO_NET_GRANT),
      children: (id) => [...(this.#children.get(id)?.values() ?? [])].flatMap((c) => (c.exited || c.pid === undefined ? [] : [c.pid])),
    });
  }

  #binding(extensionId: string): Binding {
    let b = this.#bindings.get(extensionId);
    if (b === undefined) {
      b = { api: undefined, ctx: undefined, commandCtx: undefined };
      this.#bindings.set(extensionId, b);
    }
    return b;
  }

  /** The pi API object the extension's proxies are registered on; later registrations go to `listener`. */
  bind(extensionId: string, api: PiObject, listener: (r: Registration) => void): void {
    this.#binding(extensionId).api = api;
    this.#listeners.set(extensionId, listener);
  }

  /** The ctx of the invocation pi is running for this extension now. */
  enter(extensionId: string, ctx: unknown, kind: 'event' | 'command'): void {
    if (ctx === null || typeof ctx !== 'object') return;
    const b = this.#binding(extensionId);
    b.ctx = ctx as PiObject;
    if (kind === 'command') b.commandCtx = ctx as PiObject;
  }

  leaveCommand(extensionId: string, ctx: unknown): void {
    const b = this.#binding(extensionId);
    if (b.commandCtx === ctx) b.commandCtx = undefined;
  }

  /** Where the extension's component factories and renderers are proxied (src/pi/components). */
  bindComponents(extensionId: string, components: ExtensionComponents): void {
    this.#components.set(extensionId, components);
  }

  /** Says once to the user, in pi's UI (else on stderr), what pi-warden did to an extension (a component replaced). */
  tellUser(extensionId: string, what: string, message: string): void {
    this.#tell(this.#binding(extensionId), extensionId, what, message);
  }

  /** Forgets an extension (its sandbox was replaced or stopped). */
  forget(extensionId: string): void {
    this.stopChildren(extensionId);
    this.#components.delete(extensionId);
    this.#bindings.delete(extensionId);
    this.#registrations.delete(extensionId);
    this.#listeners.delete(extensionId);
  }

  /** Kills the streamed children of an extension and closes its sockets (all extensions' without one). */
  stopChildren(extensionId?: string): void {
    this.#net.stop(extensionId);
    for (const [ext, children] of this.#children) {
      if (extensionId !== undefined && ext !== extensionId) continue;
      for (const child of children.values()) child.kill('SIGKILL');
      this.#children.delete(ext);
    }
  }

  async #spawn(params: Readonly<Record<string, unknown>>, op: OperationContext): Promise<{ handle: string; pid: number | null }> {
    const mine = this.#children.get(op.extensionId) ?? new Map<string, StreamedChild>();
    // A child that exited without its exit being read (killed after a withheld read, or abandoned) is dropped.
    for (const [handle, child] of mine) if (child.exited) mine.delete(handle);
    const starting = this.#starting.get(op.extensionId) ?? 0;
    if (mine.size + starting >= MAX_CHILDREN)
      throw new WardenError(
        'quota_exceeded',
        `exec.spawn: expected at most ${MAX_CHILDREN} streamed children at once, found ${mine.size + starting} running or starting`,
      );
    this.#starting.set(op.extensionId, starting + 1);
    let child: StreamedChild;
    try {
      child = await startChild(params, this.#childOptions(op));
    } finally {
      this.#starting.set(op.extensionId, (this.#starting.get(op.extensionId) ?? 1) - 1);
    }
    const handle = randomUUID();
    mine.set(handle, child);
    this.#children.set(op.extensionId, mine);
    return { handle, pid: child.pid ?? null };
  }

  #child(name: string, params: Readonly<Record<string, unknown>>, op: OperationContext): StreamedChild {
    const child = this.#children.get(op.extensionId)?.get(String(params.handle));
    if (child === undefined)
      throw new WardenError(
        'invalid_request',
        `${name}: expected the handle of a running child this extension started, found ${String(params.handle)}`,
      );
    return child;
  }

  async #read(params: Readonly<Record<string, unknown>>, op: OperationContext): Promise<unknown> {
    const r = await this.#child('exec.read', params, op).read(READ_WAIT_MS, op.signal);
    // Once the exit was read the handle is gone.
    if (r.done) this.#children.get(op.extensionId)?.delete(String(params.handle));
    return r;
  }

  #childOptions(op: OperationContext) {
    return {
      cwd: this.#options.cwd,
      env: this.#options.env,
      isSecretName: this.#options.isSecretName,
      signal: op.signal,
      confinement: this.#options.confinement(op.extensionId),
    };
  }

  registrationsOf(extensionId: string): readonly Registration[] {
    return this.#registrations.get(extensionId) ?? [];
  }

  register(extensionId: string, registration: Registration): void {
    const list = this.#registrations.get(extensionId) ?? [];
    list.push(registration);
    this.#registrations.set(extensionId, list);
    this.#listeners.get(extensionId)?.(registration);
  }

  perform(name: string, sent: Readonly<Record<string, unknown>>, op: OperationContext): unknown {
    // The call is the decision: pi acts on the value once the dispatcher allowed it; nothing of it is used here.
    if (name === 'pi.result' || name === 'tool.input') return null;
    // What pi shows the user carries no terminal control (OSC 52 clipboard writes, OSC 8 links, cursor moves).
    const params = forTerminal(name, sent);
    const b = this.#binding(op.extensionId);
    const args = Array.isArray(params.args) ? (params.args as unknown[]) : [];
    if (name.startsWith('ctx.ui.')) return this.#ui(b, op.extensionId, name.slice('ctx.ui.'.length), args);
    if (name.startsWith('ctx.sessionManager.')) {
      const member = name.slice('ctx.sessionManager.'.length);
      return plainData(method(b.ctx?.sessionManager as PiObject | undefined, member, name)(...args));
    }
    if (name.startsWith('ctx.modelRegistry.')) return this.#modelRegistry(b, name, params, args);
    if (name.startsWith('ctx.')) {
      const member = name.slice('ctx.'.length);
      const target = COMMAND_ONLY.has(member) ? b.commandCtx : b.ctx;
      if (target === undefined)
        throw notProxied(name, COMMAND_ONLY.has(member) ? 'it works only inside a command handler' : 'no pi context is active');
      return awaitPlain(method(target, member, name)(...args));
    }
    if (name.startsWith('pi.')) return this.#pi(b, op.extensionId, name, params);
    switch (name) {
      case 'exec':
        return runChild(params, this.#childOptions(op));
      case 'env.get': {
        const v = this.#options.env[String(params.name)];
        return v ?? null;
      }
      case 'env.list':
        return Object.keys(this.#options.env).filter((k) => this.#options.env[k] !== undefined);
      case 'log':
        return null;
      case 'tool':
        if (String(params.name).trim().toLowerCase() === 'bash') {
          const input = (params.input ?? {}) as Record<string, unknown>;
          return runChild(
            {
              cmd: 'bash',
              args: ['-c', typeof input.command === 'string' ? input.command : ''],
              ...(typeof input.timeout === 'number' ? { timeoutMs: input.timeout * 1000 } : {}),
            },
            this.#childOptions(op),
          ).then((r) => ({ content: [{ type: 'text', text: `${r.stdout}${r.stderr}` }], details: { exitCode: r.code } }));
        }
        // Any other tool (another extension's): pi's own executeTool (1.5.2+), so pi's tool_call gates see it.
        if (typeof b.ctx?.executeTool === 'function')
          return awaitPlain((b.ctx.executeTool as (n: unknown, a: unknown) => unknown)(params.name, params.input ?? {}));
        throw notProxied(
          `tool ${String(params.name)}`,
          'this pi version cannot run another tool for an extension (ctx.executeTool is pi 1.5.2+)',
        );
      case 'exec.spawn':
        return this.#spawn(params, op);
      case 'exec.read':
        return this.#read(params, op);
      case 'exec.write':
        this.#child(name, params, op).write(String(params.data), params.end === true);
        return null;
      case 'exec.kill':
        return this.#child(name, params, op).kill((typeof params.signal === 'string' ? params.signal : 'SIGTERM') as NodeJS.Signals);
      case 'net.connect':
        return this.#net.connect(params, op);
      case 'net.read':
        return this.#net.read(params, op, READ_WAIT_MS);
      case 'net.write':
        return this.#net.write(params, op);
      case 'net.close':
        return this.#net.close(params, op);
      default:
        throw notProxied(name, 'the bridge has no operation for it');
    }
  }

  #ui(b: Binding, extensionId: string, member: string, sent: unknown[]): unknown {
    const what = `ctx.ui.${member}`;
    const refused = REFUSED_TUI[member];
    if (refused !== undefined) {
      const err = notProxied(what, refused);
      // Most of these are fire-and-forget for the extension, which never sees the error: the user must.
      this.#tell(b, extensionId, what, err.message);
      throw err;
    }
    if (b.ctx === undefined) throw notProxied(what, 'no pi context is active');
    let args = sent;
    if (FACTORY_MEMBERS[member] !== undefined) {
      const components = this.#components.get(extensionId);
      if (components === undefined) throw notProxied(what, 'the extension’s components are not bound in this session');
      args = components.uiArgs(member, sent);
    }
    if (member === 'setWidget' && args[1] !== undefined && args[1] !== null && !Array.isArray(args[1]) && typeof args[1] !== 'function')
      throw notProxied(what, 'a widget is a string array or a component factory');
    const ui = b.ctx.ui as PiObject | undefined;
    const result = method(ui, member, what)(...args);
    if (!DIALOGS.has(member) || !(result instanceof Promise)) return awaitPlain(result);
    this.#dialogs.set(extensionId, (this.#dialogs.get(extensionId) ?? 0) + 1);
    return result.then(plainData).finally(() => this.#dialogs.set(extensionId, (this.#dialogs.get(extensionId) ?? 1) - 1));
  }

  /** Says once per extension and member what could not be done: a warning in pi's UI, else on stderr. */
  #tell(b: Binding, extensionId: string, what: string, message: string): void {
    const key = `${extensionId}\u0000${what}`;
    if (this.#told.has(key)) return;
    this.#told.add(key);
    const ui = b.ctx?.ui as PiObject | undefined;
    const text = `pi-warden: ${extensionId}: ${message}`;
    try {
      if (b.ctx?.hasUI === true && typeof ui?.notify === 'function')
        (ui.notify as (m: string, l: string) => void).call(ui, text, 'warning');
      else process.stderr.write(`${text}\n`);
    } catch {
      process.stderr.write(`${text}\n`);
    }
  }

  /** Whether the extension is waiting for the user to answer a dialog. */
  waitingOnUser(extensionId: string): boolean {
    return (this.#dialogs.get(extensionId) ?? 0) > 0;
  }

  #modelRegistry(b: Binding, name: string, params: Readonly<Record<string, unknown>>, args: unknown[]): unknown {
    const registry = b.ctx?.modelRegistry as PiObject | undefined;
    const member = name.slice('ctx.modelRegistry.'.length);
    if (member === 'registerProvider') {
      const config = args[1];
      if (config !== null && typeof config === 'object' && Array.isArray((config as PiObject).functions))
        throw notProxied(name, 'providers with custom functions (streamSimple, oauth) cannot be proxied; define the provider as data');
      return method(registry, member, name)(String(params.name), config);
    }
    if (member === 'unregisterProvider') return method(registry, member, name)(String(params.name));
    return awaitPlain(method(registry, member, name)(...args));
  }

  #pi(b: Binding, extensionId: string, name: string, params: Readonly<Record<string, unknown>>): unknown {
    const member = name.slice('pi.'.length);
    const api = b.api;
    const call = (m: string, ...a: unknown[]) => method(api, m, `pi.${m}`)(...a);
    switch (member) {
      case 'sendMessage': {
        const { triggerTurn, deliverAs, ...message } = params;
        const options: PiObject = {};
        if (triggerTurn !== undefined) options.triggerTurn = triggerTurn;
        if (deliverAs !== undefined) options.deliverAs = deliverAs;
        return plainData(call('sendMessage', message, options));
      }
      case 'sendUserMessage': {
        const { content, ...options } = params;
        return plainData(call('sendUserMessage', content, options));
      }
      case 'appendEntry':
        return plainData(call('appendEntry', params.customType, params.data));
      case 'setSessionName':
        return plainData(call('setSessionName', params.name));
      case 'setLabel':
        return plainData(call('setLabel', params.entryId, params.label));
      case 'setActiveTools':
        return plainData(call('setActiveTools', params.names));
      case 'setThinkingLevel':
        return plainData(call('setThinkingLevel', params.level));
      case 'getFlag':
        return plainData(call('getFlag', params.name));
      case 'unregisterProvider':
      case 'unregisterMcpServer':
        return plainData(call(member, params.name));
      case 'setModel': {
        const registry = b.ctx?.modelRegistry as PiObject | undefined;
        const model = method(registry, 'find', 'ctx.modelRegistry.find')(params.provider, params.id);
        if (model === undefined || model === null) return false;
        return awaitPlain(call('setModel', model));
      }
      case 'getSessionName':
      case 'getActiveTools':
      case 'getAllTools':
      case 'getCommands':
      case 'getThinkingLevel':
      case 'getMcpServers':
      case 'getSettings':
        return plainData(call(member));
      case 'events.emit':
        this.#options.onBus?.(extensionId, String(params.channel), params.data);
        return null;
      case 'registerVirtualModel':
      case 'unregisterVirtualModel':
      case 'registerMcpServer':
        throw notProxied(name, 'it starts code outside the sandbox');
      default:
        throw notProxied(name, 'the bridge has no operation for it');
    }
  }
}

function awaitPlain(value: unknown): unknown {
  return value instanceof Promise ? value.then(plainData) : plainData(value);
}
