/**
 * The proxy of one sandboxed extension entry in a pi session (SPEC §10): everything the sandbox registered is
 * registered with pi under the same name, and each call pi makes goes into the sandbox.
 *
 * pi's semantics are kept: one pi handler per guest handler, registered in the guest's order (pi awaits handlers
 * one at a time in load order, then registration order; `tool_call` stops at the first `{block: true}`; a throw
 * blocks a tool call). A handler's in-place edit of a `tool_call`'s input is copied back into pi's event object.
 *
 * What a handler or tool hands back that pi will act on is a call the extension makes, so it goes through dispatch
 * before pi sees it: a rewritten tool input is `tool.input` (the tool's capability, then exec mediation or the
 * filesystem scope, exactly as if the extension ran it), every other result is `pi.result` (the secret scan; an
 * answer to `project_trust` is refused), and paths an extension adds through `resources_discover` must be readable
 * by it. Each event has a deadline (time spent waiting on the user's answer to a dialog does not count): a handler
 * that fails or runs past it throws, which pi treats as it treats a throwing handler (a tool call is blocked).
 */
import { OwnedParams, plainData } from '../dispatch/index.ts';
import { isWardenError } from '../errors.ts';
import { forTerminal, stripTerminalControls } from '../mediation/index.ts';
import { legacyEventsFor, type InvocationContext, type Sandbox, type Settled } from '../sandbox/index.ts';
import type { BridgeSession, SandboxedEntry } from './bridge.ts';
import type { Registration } from './host.ts';
import { ExtensionComponents } from './components/index.ts';
import type { PiObject } from './liveHost.ts';
import { ToolListCopy } from './toolList.ts';

type Fn = (...args: unknown[]) => unknown;

/** A result as pi may render it: without terminal control (pi shows tool output and handler text as it gets them). */
const shown = (value: unknown): unknown => forTerminal('pi.result', { value }).value;

/**
 * Events whose handler results pi ignores: nothing to mediate. (`turn_end` is not one: pi 1.6.0 makes it a boundary
 * whose handlers' `entries` and `continue` it honours, runner.js emitBoundary.)
 */
const NOTIFICATIONS = new Set([
  'session_start',
  'session_shutdown',
  'session_compact',
  'session_tree',
  'agent_start',
  'agent_end',
  'turn_start',
  'message_start',
  'message_update',
  'tool_execution_start',
  'tool_execution_update',
  'tool_execution_end',
  'model_select',
  'thinking_level_select',
  'session_info_changed',
  'session_compact_failed',
  'mcp_servers_change',
  'agent_settled',
  'ui_prompt_start',
  'ui_prompt_end',
]);

/**
 * An `input` result pi does nothing with: it acts only on `handled` and `transform` (runner.js emitInput, the same in
 * pi 0.73 to 1.6); `{action: 'continue'}`, the usual answer, is as no answer, so nothing of it reaches pi to mediate.
 */
function ignoredInput(event: string, value: unknown): boolean {
  if (event !== 'input') return false;
  const action = asObject(value)?.action;
  return action !== 'handled' && action !== 'transform';
}

/** Events whose in-place payload edits pi honours, and the field it reads back (pi 1.6.0 runner.js). */
const IN_PLACE: Readonly<Record<string, string>> = { tool_call: 'input', context: 'messages' };

/** The payload fields a handler of `event` may edit in place for pi: what `emitHandler` brings back (`keep`). */
export function inPlaceFields(event: string): readonly string[] {
  const field = IN_PLACE[event];
  return field === undefined ? [] : [field];
}

export class ProxyError extends Error {
  override name = 'PiWardenError';
}

/**
 * The data part of pi's ctx the sandbox sees (every action on it is a hostcall); a tool's ctx.tools through the
 * extension's `ToolListCopy` (one copy per distinct list).
 */
function contextData(ctx: PiObject | undefined, toolList?: ToolListCopy): InvocationContext {
  if (ctx === undefined) return {};
  // Each of pi's getters is read once: they are live (ctx.tools builds pi's callable-tool list on every read).
  const out: { -readonly [K in keyof InvocationContext]: InvocationContext[K] } = {};
  const { cwd, hasUI, mode, thinkingLevel, tools } = ctx;
  const model = ctx.model as PiObject | undefined;
  if (typeof cwd === 'string') out.cwd = cwd;
  if (typeof hasUI === 'boolean') out.hasUI = hasUI;
  if (typeof mode === 'string') out.mode = mode;
  if (model !== undefined) out.model = { provider: model.provider, id: model.id, name: model.name, api: model.api };
  if (typeof thinkingLevel === 'string') out.thinkingLevel = thinkingLevel;
  try {
    if (typeof ctx.isProjectTrusted === 'function') out.projectTrusted = Boolean((ctx.isProjectTrusted as Fn)());
  } catch {
    // unknown: the guest's ctx has no projectTrusted
  }
  // A tool's ctx (pi 1.5.2+): the tools its executeTool can call, as data.
  if (Array.isArray(tools)) out.tools = (toolList ?? new ToolListCopy()).of(tools as unknown[]);
  return out;
}

/** pi's ctx.signal (aborted when the user presses Esc), which the sandbox passes on as the guest's ctx.signal. */
const signalOf = (ctx: unknown): AbortSignal | undefined => {
  const s = asObject(ctx)?.signal;
  return s instanceof AbortSignal ? s : undefined;
};

const asObject = (v: unknown): PiObject | undefined => (v !== null && typeof v === 'object' ? (v as PiObject) : undefined);

export interface ProxyNotice {
  readonly extensionId: string;
  readonly level: 'warning' | 'error';
  readonly message: string;
}

/**
 * Registers one sandboxed entry's proxies on pi's API object. Returns the notices to show (what could not be
 * proxied). Registrations the extension makes later (tools registered in a handler) are registered as they come.
 */
export function registerProxies(session: BridgeSession, api: PiObject, loaded: SandboxedEntry): ProxyNotice[] {
  const { extensionId: id, sandbox } = loaded;
  const notices: ProxyNotice[] = [];
  const toolList = new ToolListCopy();
  const call = (name: string, ...args: unknown[]) => {
    const fn = api[name];
    if (typeof fn !== 'function') throw new ProxyError(`this pi version has no pi.${name}`);
    return (fn as Fn).apply(api, args);
  };

  /** Runs an invocation unless the extension is refused; a refusal or a guest failure throws for pi. */
  const guard = (what: string): void => {
    const refused = session.refusal(id, sandbox);
    if (refused !== undefined) throw new ProxyError(`${what}: ${refused}`);
  };
  /** What a result becomes once pi may act on it; a refusal names why. */
  const admit = async (
    kind: 'tool' | 'event' | 'command',
    name: string,
    value: unknown,
  ): Promise<{ ok: true } | { ok: false; why: string }> => {
    // One copy, the dispatcher's own: it decides on it without copying again.
    const r = await session.decide(id, 'pi.result', OwnedParams.of({ kind, name, value }));
    return r.ok ? { ok: true } : { ok: false, why: `pi-warden withheld ${id}'s ${kind} ${name} result: ${r.error.message}` };
  };

  /**
   * A guest failure's message is extension data pi passes on (a tool's to the model as its result, a handler's or
   * command's to the user), so it is mediated as a result: one that carries a secret is replaced by the refusal.
   */
  const failed = async (kind: 'tool' | 'event' | 'command', name: string, what: string, s: Settled & { ok: false }): Promise<never> => {
    const verdict = await admit(kind, name, { error: s.error.message });
    throw new ProxyError(verdict.ok ? `${id} ${what} failed: ${stripTerminalControls(s.error.message)}` : verdict.why);
  };

  /**
   * A context handler's messages as pi may use them: the messages that are pi's own (sent, handed back unchanged)
   * carry nothing of the extension's and pass as they are; the rest is mediated as the handler's result.
   */
  const admitMessages = async (value: unknown, sent: unknown): Promise<unknown> => {
    const v = asObject(value) ?? {};
    const own = new Set(Array.isArray(sent) ? (sent as unknown[]) : []);
    const list = Array.isArray(v.messages) ? (v.messages as unknown[]) : undefined;
    const added = list === undefined ? v : { ...v, messages: list.filter((m) => !own.has(m)) };
    const verdict = await admit('event', 'context', added);
    if (!verdict.ok) throw new ProxyError(verdict.why);
    if (list === undefined) return shown(value);
    return { ...(asObject(shown({ ...v, messages: [] })) ?? {}), messages: list.map((m) => (own.has(m) ? m : shown(m))) };
  };

  const components = new ExtensionComponents(id, sandbox, (message) => session.host.tellUser(id, 'component', message));
  session.host.bindComponents(id, components);
  /** The held id of a renderer or transformer (guest/components.ts), or undefined when the guest gave none. */
  const heldFn = (d: Readonly<Record<string, unknown>>): number | undefined =>
    typeof d.fn === 'number' && Number.isInteger(d.fn) && d.fn > 0 ? d.fn : undefined;

  const register = (r: Registration): void => {
    try {
      registerOne(r);
    } catch (err) {
      notices.push({
        extensionId: id,
        level: 'error',
        message: `${id}: ${r.kind} ${r.name} was not registered: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  };

  const registerOne = (r: Registration): void => {
    const d = r.description;
    const functions = Array.isArray(d.functions) ? (d.functions as string[]) : [];
    switch (r.kind) {
      case 'tool':
        registerTool(r.name, d);
        return;
      case 'command': {
        const options: PiObject = {
          description: typeof d.description === 'string' ? d.description : '',
          handler: async (args: unknown, ctx: unknown) => {
            guard(`/${r.name}`);
            session.host.enter(id, ctx, 'command');
            try {
              const s = await sandbox.runCommand(r.name, typeof args === 'string' ? args : '', contextData(asObject(ctx)));
              if (!s.ok) return await failed('command', r.name, `command /${r.name}`, s);
            } finally {
              session.host.leaveCommand(id, ctx);
            }
          },
        };
        if (functions.includes('getArgumentCompletions')) {
          options.getArgumentCompletions = async (prefix: unknown) => {
            if (session.refusal(id, sandbox) !== undefined) return null;
            const s = await sandbox.completeCommand(r.name, typeof prefix === 'string' ? prefix : '');
            return s.ok ? (s.value ?? null) : null;
          };
        }
        call('registerCommand', r.name, options);
        return;
      }
      case 'flag':
        call('registerFlag', r.name, {
          ...(typeof d.description === 'string' ? { description: d.description } : {}),
          type: d.type === 'string' ? 'string' : 'boolean',
          ...(d.default === undefined ? {} : { default: d.default }),
        });
        return;
      case 'shortcut':
        call('registerShortcut', r.name, {
          ...(typeof d.description === 'string' ? { description: d.description } : {}),
          handler: async (ctx: unknown) => {
            guard(`shortcut ${r.name}`);
            session.host.enter(id, ctx, 'event');
            const s = await sandbox.runShortcut(r.name, contextData(asObject(ctx)));
            if (!s.ok) return await failed('event', `shortcut ${r.name}`, `shortcut ${r.name}`, s);
          },
        });
        return;
      case 'event':
        registerHandler(r.name, typeof d.handlerId === 'number' ? d.handlerId : undefined);
        return;
      case 'busListener': {
        const events = asObject(api.events);
        if (events === undefined || typeof events.on !== 'function') throw new ProxyError('this pi version has no pi.events');
        (events.on as Fn).call(events, r.name, (data: unknown) => {
          if (session.refusal(id, sandbox) !== undefined) return;
          void sandbox.deliverBus(r.name, plainData(data));
        });
        return;
      }
      case 'provider': {
        if (functions.length > 0)
          throw new ProxyError(
            `provider ${r.name} has functions (${functions.join(', ')}): providers with custom stream or OAuth code cannot be proxied; define it as data`,
          );
        const { name, ...config } = d;
        call('registerProvider', name, config);
        return;
      }
      case 'messageRenderer': {
        const fn = heldFn(d);
        if (fn === undefined) throw new ProxyError(`message renderer ${r.name} has no renderer function`);
        call('registerMessageRenderer', r.name, components.messageRenderer(fn));
        return;
      }
      case 'toolRenderer': {
        const fn = heldFn(d);
        // pi 1.5.2+'s resolver form; the older per-tool object form has no function pi could call here
        if (d.resolver !== true || fn === undefined)
          throw new ProxyError(`tool renderer ${r.name}: only the resolver form registerToolRenderer((toolName, next) => ...) is proxied`);
        call('registerToolRenderer', components.toolResolver(fn));
        return;
      }
      case 'markdownTransformer': {
        const fn = heldFn(d);
        if (fn === undefined) throw new ProxyError('markdown transformer has no function');
        const { functions: _f, fn: _fn, ...options } = d as Record<string, unknown>;
        call('registerMarkdownTransformer', components.markdownTransformer(fn), options);
        return;
      }
      case 'entryRenderer':
        notices.push({
          extensionId: id,
          level: 'warning',
          message: `${id}: entry renderer ${r.name} is not proxied; pi renders the entry with its default`,
        });
        return;
      default:
        throw new ProxyError(`${r.kind} registrations start code outside the sandbox and are not proxied`);
    }
  };

  const registerTool = (name: string, d: Readonly<Record<string, unknown>>): void => {
    const { functions, execute: _execute, renderFn, ...data } = d as Record<string, unknown>;
    call('registerTool', {
      ...data,
      ...(typeof renderFn === 'number' && Array.isArray(functions) ? components.toolDefinitionRenderers(renderFn, name, functions) : {}),
      name,
      label: typeof d.label === 'string' ? d.label : name,
      description: typeof d.description === 'string' ? d.description : '',
      parameters: d.parameters ?? { type: 'object', properties: {} },
      execute: async (toolCallId: unknown, params: unknown, signal: unknown, onUpdate: unknown, ctx: unknown) => {
        guard(`tool ${name}`);
        session.host.enter(id, ctx, 'event');
        const s = await sandbox.runTool(
          name,
          String(toolCallId),
          plainData(params),
          contextData(asObject(ctx), toolList),
          signal instanceof AbortSignal ? signal : undefined,
        );
        if (!s.ok) return await failed('tool', name, `tool ${name}`, s);
        const verdict = await admit('tool', name, (s as { value: unknown }).value);
        if (!verdict.ok) throw new ProxyError(verdict.why);
        const value = asObject(shown((s as { value: unknown }).value)) ?? {};
        if (typeof onUpdate === 'function' && Array.isArray(value.updates)) for (const u of value.updates) (onUpdate as Fn)(u);
        const result = asObject(value.result) ?? {};
        return { ...result, content: Array.isArray(result.content) ? result.content : [], details: result.details ?? {} };
      },
    });
  };

  const registerHandler = (event: string, handlerId: number | undefined): void => {
    // Legacy events (pi ≤ 0.64) come from session_start, as the sandbox fires them.
    const legacy = event === 'session_switch' || event === 'session_fork';
    const piEvent = legacy ? 'session_start' : event;
    call('on', piEvent, async (evt: unknown, ctx: unknown) => {
      if (session.refusal(id, sandbox) !== undefined) return undefined;
      const pevt = asObject(evt) ?? {};
      let payload = eventData(event, pevt);
      if (legacy) {
        const derived = legacyEventsFor('session_start', payload).find((l) => l.event === event);
        if (derived === undefined) return undefined;
        payload = derived.payload;
      }
      session.host.enter(id, ctx, 'event');
      // What the handler may edit in place, as it was sent: the edit is whatever differs from this (a context event's
      // messages cross as changes, see Sandbox.emitHandler: an edit comes back as another array).
      const field = IN_PLACE[event];
      const sent = field === undefined || event === 'context' ? undefined : JSON.stringify(payload[field]);
      const outcome = await withDeadline(
        session,
        id,
        event,
        sandbox.emitHandler(event, handlerId ?? -1, payload, contextData(asObject(ctx)), signalOf(ctx), inPlaceFields(event)),
      );
      if (!outcome.ok) return await failed('event', event, `${event} handler`, outcome);
      if (event === 'tool_call') {
        const blocked = await applyInputChange(session, id, pevt, sent, outcome.payload);
        if (blocked !== undefined) return blocked;
      }
      let value = outcome.value;
      // pi lets a context handler edit event.messages in place: an edit is the handler's result, mediated as one.
      if (event === 'context' && (value === undefined || value === null) && outcome.payload.messages !== payload.messages)
        value = { messages: outcome.payload.messages };
      if (value === undefined || value === null || NOTIFICATIONS.has(event) || ignoredInput(event, value)) return undefined;
      if (event === 'context') return returnsSent(value, payload.messages) ? undefined : await admitMessages(value, payload.messages);
      const verdict = await admit('event', event, value);
      if (!verdict.ok) {
        if (event === 'project_trust') return undefined; // pi asks the user, as if no extension answered
        if (event === 'tool_call') return { block: true, reason: verdict.why };
        throw new ProxyError(verdict.why);
      }
      if (event === 'resources_discover') return await readableResources(session, id, value);
      return shown(value);
    });
  };

  session.host.bind(id, api, (r) => register(r));
  for (const r of loaded.registrations) register(r);
  return notices;
}

/**
 * A context result that is exactly `{messages}` holding the very message objects pi sent, all of them, in pi's order
 * (a filter that dropped nothing this turn): pi's context stays as it was and nothing of the extension's reaches pi,
 * so there is nothing to mediate, and pi is told nothing (undefined: it keeps its own list). Anything else, one
 * other key, one message dropped, moved, edited or added, is the extension's result and goes through `pi.result`.
 */
function returnsSent(value: unknown, sent: unknown): boolean {
  const v = asObject(value);
  if (v === undefined || !Array.isArray(sent) || Object.keys(v).length !== 1 || !Array.isArray(v.messages)) return false;
  const list = v.messages as unknown[];
  return list.length === sent.length && list.every((m, i) => m === sent[i]);
}

/** Copies a tool_call handler's edit of `input` back into pi's event, once dispatch allowed the tool call it makes. */
async function applyInputChange(
  session: BridgeSession,
  id: string,
  evt: PiObject,
  sent: string | undefined,
  after: unknown,
): Promise<{ block: true; reason: string } | undefined> {
  const input = asObject(evt.input);
  const changed = asObject(asObject(after)?.input);
  if (input === undefined || changed === undefined || sent === JSON.stringify(changed)) return undefined;
  const r = await session.decide(id, 'tool.input', { name: typeof evt.toolName === 'string' ? evt.toolName : '', input: changed });
  if (!r.ok) return { block: true, reason: `pi-warden refused ${id}'s change to this ${String(evt.toolName)} call: ${r.error.message}` };
  for (const k of Object.keys(input)) if (!(k in changed)) delete input[k];
  Object.assign(input, changed);
  return undefined;
}

/**
 * pi's event as data for a sandbox. A field the handler may edit in place is copied, except an array (a context
 * event's messages), which the sandbox sends by element, each serialized once per emit (Sandbox.emitHandler). Every
 * other object field is copied only if the handler reads it: the sandbox serializes it on the guest's first read,
 * which runs the copy (`toJSON`). pi builds a new turn_end object per handler, so nothing is copied per event object.
 */
function eventData(event: string, evt: PiObject): Record<string, unknown> {
  const field = IN_PLACE[event];
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(evt)) {
    const v = evt[k];
    if (k === '__proto__') continue;
    if (v === null || typeof v !== 'object') {
      const p = plainData(v);
      if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') out[k] = p;
    } else if (k === field) out[k] = Array.isArray(v) ? v : plainData(v);
    else out[k] = { toJSON: () => plainData(v) };
  }
  return out;
}

/** resources_discover: the skill, prompt and theme paths pi would read for the extension, kept only where it may read. */
async function readableResources(session: BridgeSession, id: string, value: unknown): Promise<unknown> {
  const v = asObject(value);
  if (v === undefined) return value;
  const out: PiObject = { ...v };
  for (const key of ['skillPaths', 'promptPaths', 'themePaths']) {
    if (!Array.isArray(v[key])) continue;
    const kept: string[] = [];
    for (const p of v[key] as unknown[]) {
      if (typeof p !== 'string') continue;
      const r = await session.decide(id, 'fs.exists', { path: p });
      if (r.ok) kept.push(p);
    }
    out[key] = kept;
  }
  return out;
}

type HandlerOutcome = Awaited<ReturnType<Sandbox['emitHandler']>>;

/** The handler's outcome, or a failure once it ran past the event deadline (time in a user dialog excluded). */
function withDeadline(session: BridgeSession, id: string, event: string, run: Promise<HandlerOutcome>): Promise<HandlerOutcome> {
  const deadline = session.deadlineFor(id);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        if (session.host.waitingOnUser(id)) {
          arm();
          return;
        }
        resolve({ ok: false, error: { code: 'timeout', message: `${event} handler ran past its ${deadline} ms deadline` }, payload: {} });
      }, deadline);
      timer.unref?.();
    };
    arm();
    run.then(
      (o) => {
        clearTimeout(timer);
        resolve(o);
      },
      (err: unknown) => {
        clearTimeout(timer);
        resolve({
          ok: false,
          error: { code: isWardenError(err) ? err.code : 'internal', message: err instanceof Error ? err.message : String(err) },
          payload: {},
        });
      },
    );
  });
}
