/**
 * The TUI side of one sandboxed extension in a pi session (issue 23 item 2): pi-facing factories and renderers for the
 * ones the extension keeps in its sandbox. `ui.custom`, `setWidget`, `setHeader` and `setFooter` get a factory that
 * makes a SandboxedComponent; `registerMessageRenderer`, `registerToolRenderer` (the 1.5.2+ resolver form) and
 * `registerMarkdownTransformer` get functions that make one synchronous call each. pi's lifecycle is kept: pi calls
 * the factory, disposes the component on close; a component pi drops without disposing (a message's, a tool row's)
 * is disposed in the guest once it is garbage; a reload loads a new sandbox whose components pi creates anew.
 */
import { stripTerminalControls } from '../../mediation/index.ts';
import type { ComponentAnswer, ComponentCall, ComponentSignal, Sandbox } from '../../sandbox/index.ts';
import { SandboxedComponent, type ComponentKind, type ComponentOwner } from './component.ts';
import { themeData } from './theme.ts';

type Fn = (...args: unknown[]) => unknown;
type Tui = { requestRender?: (force?: boolean) => void; terminal?: { rows?: unknown; columns?: unknown } };

/** `ctx.ui.*` members whose `{factory: id}` argument becomes a pi component factory, and what each makes. */
export const FACTORY_MEMBERS: Readonly<Record<string, ComponentKind>> = {
  custom: 'custom',
  setWidget: 'widget',
  setHeader: 'header',
  setFooter: 'footer',
};

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;

/** The held id in a `{factory: id}` argument. */
function factoryId(arg: unknown): number | undefined {
  const id = asObject(arg)?.factory;
  return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : undefined;
}

function terminalSize(tui: Tui | undefined): { rows?: number; columns?: number } {
  const t = tui?.terminal;
  return {
    ...(typeof t?.rows === 'number' ? { rows: t.rows } : {}),
    ...(typeof t?.columns === 'number' ? { columns: t.columns } : {}),
  };
}

export class ExtensionComponents {
  readonly extensionId: string;
  readonly #sandbox: Sandbox;
  readonly #owner: ComponentOwner;
  /** Live components by the guest's id (for signals), once the guest made them. */
  readonly #live = new Set<SandboxedComponent>();
  /** The TUI pi last handed a factory: where a renderer's requestRender goes. */
  #tui: Tui | undefined;
  /**
   * Tool renderer resolvers and markdown transformers (by held id) that went over a frame limit: never called again,
   * pi renders its own way. pi calls them for every tool row and every streamed message update, so one that loops
   * would otherwise cost a frame's CPU, and a breach in the ledger, each time.
   */
  readonly #spent = new Set<number>();
  readonly #gone: FinalizationRegistry<number>;

  constructor(extensionId: string, sandbox: Sandbox, tell: (message: string) => void) {
    this.extensionId = extensionId;
    this.#sandbox = sandbox;
    const told = new Set<string>();
    this.#owner = {
      extensionId,
      sandbox,
      told: (message) => {
        if (told.has(message)) return;
        told.add(message);
        tell(message);
      },
      dropped: (c) => this.#live.delete(c),
    };
    this.#gone = new FinalizationRegistry((id) => sandbox.forgetComponent(id));
    sandbox.onComponentSignal = (s) => this.#signal(s);
  }

  #signal(s: ComponentSignal): void {
    const c = s.id === 0 ? undefined : [...this.#live].find((x) => x.id === s.id);
    if (s.signal === 'done') {
      c?.done?.(s.value);
      return;
    }
    (c?.tui ?? this.#tui)?.requestRender?.();
  }

  #track(c: SandboxedComponent): SandboxedComponent {
    this.#live.add(c);
    return c;
  }

  /**
   * The arguments of a `ctx.ui.*` call as pi takes them: a `{factory: id}` becomes pi's factory. `done` of a
   * `ui.custom` overlay resolves pi's promise, whose value goes back to the extension.
   */
  uiArgs(member: string, args: readonly unknown[]): unknown[] {
    const kind = FACTORY_MEMBERS[member];
    if (kind === undefined) return [...args];
    return args.map((arg) => {
      const fn = factoryId(arg);
      if (fn === undefined) return arg;
      return (tui: Tui, theme: unknown, ...rest: unknown[]) => {
        this.#tui = tui;
        const done = kind === 'custom' && typeof rest[1] === 'function' ? (rest[1] as (v: unknown) => void) : undefined;
        return this.#track(
          new SandboxedComponent(
            this.#owner,
            kind,
            () => this.#sandbox.component({ op: 'create', kind, fn, theme: themeData(theme), ...terminalSize(tui) }),
            tui,
            done,
          ),
        );
      };
    });
  }

  /** A component the guest made (an id), proxied and disposed in the guest once pi lets go of it. */
  #made(kind: ComponentKind, value: unknown): SandboxedComponent | undefined {
    if (typeof value !== 'number') return undefined;
    // Not kept here (a signal of its goes to pi's TUI): pi holds it as long as it shows it and never disposes it.
    const c = new SandboxedComponent(this.#owner, kind, value, this.#tui);
    this.#gone.register(c, value);
    return c;
  }

  /** A component made at its first frame; disposed in the guest once pi lets go of it. */
  #lazy(kind: ComponentKind, make: () => ComponentAnswer): SandboxedComponent {
    const gone = this.#gone;
    const c: SandboxedComponent = new SandboxedComponent(this.#owner, kind, make, this.#tui, undefined, (id) => gone.register(c, id));
    return c;
  }

  /** pi's `MessageRenderer` for a renderer held in the guest: `(message, options, theme) => Component | undefined`. */
  messageRenderer(fn: number): Fn {
    return (message: unknown, options: unknown, theme: unknown) => {
      const o = asObject(options) ?? {};
      const call = {
        op: 'message',
        fn,
        message: plain(message),
        options: { expanded: o.expanded === true, ...(typeof o.outputPad === 'number' ? { outputPad: o.outputPad } : {}) },
        theme: themeData(theme),
      };
      const a = this.#sandbox.component(call);
      // pi draws a message as the extension sends it, inside the extension's own entry: the renderer runs at the first frame
      if (!a.ok && a.busy === true) return this.#lazy('message', () => this.#sandbox.component(call));
      // a renderer that fails: pi draws the message its own way
      return a.ok ? this.#made('message', a.value) : undefined;
    };
  }

  /** One call of a resolver or transformer: its answer, or undefined once it went over a frame limit. */
  #callOnce(fn: number, call: ComponentCall, what: string): ComponentAnswer | undefined {
    if (this.#spent.has(fn)) return undefined;
    const a = this.#sandbox.component(call);
    if (!a.ok && a.overrun !== undefined) {
      this.#spent.add(fn);
      const limit = a.overrun === 'frame_deadline' ? 'frame time' : 'output';
      this.#owner.told(`${what} over its ${limit} limit, no longer used: ${stripTerminalControls(a.error.message)}`);
    }
    return a;
  }

  /** pi's `ToolRendererResolver` (1.5.2+) for a resolver held in the guest. */
  toolResolver(fn: number): Fn {
    return (toolName: unknown, next: unknown) => {
      const a = this.#callOnce(fn, { op: 'resolve', fn, toolName: String(toolName) }, 'tool renderer');
      const found = a?.ok === true ? asObject(a.value) : undefined;
      if (found === undefined) return typeof next === 'function' ? (next as () => unknown)() : undefined;
      const functions = Array.isArray(found.functions) ? (found.functions as unknown[]) : [];
      const renderers: Record<string, unknown> = {};
      if (found.renderShell === 'default' || found.renderShell === 'self') renderers.renderShell = found.renderShell;
      const context = (c: unknown) => {
        const x = asObject(c) ?? {};
        return {
          args: plain(x.args),
          toolCallId: typeof x.toolCallId === 'string' ? x.toolCallId : '',
          cwd: typeof x.cwd === 'string' ? x.cwd : '',
          expanded: x.expanded === true,
        };
      };
      const make = (which: string, value: unknown, options: unknown, theme: unknown, ctx: unknown) => {
        const call = {
          op: 'tool',
          fn,
          toolName: String(toolName),
          which,
          value: plain(value),
          options: plain(options),
          theme: themeData(theme),
          context: context(ctx),
        };
        const r = this.#callOnce(fn, call, 'tool renderer');
        return (r?.ok === true ? this.#made('tool', r.value) : undefined) ?? emptyComponent;
      };
      if (functions.includes('renderCall'))
        renderers.renderCall = (args: unknown, theme: unknown, ctx: unknown) => make('renderCall', args, {}, theme, ctx);
      if (functions.includes('renderResult'))
        renderers.renderResult = (result: unknown, options: unknown, theme: unknown, ctx: unknown) =>
          make('renderResult', result, options, theme, ctx);
      return renderers;
    };
  }

  /**
   * The `renderCall`/`renderResult` of a tool the extension registered with them (its definition held in the guest
   * as a resolver of that tool, `renderFn`): drawn as a resolver's components, resolved at each use. One that cannot
   * be drawn (the guest is busy, the renderer overran, the sandbox stopped) throws, and pi draws the tool its own way.
   */
  toolDefinitionRenderers(fn: number, toolName: string, functions: readonly unknown[]): Record<string, Fn> {
    const resolve = this.toolResolver(fn);
    const out: Record<string, Fn> = {};
    for (const which of ['renderCall', 'renderResult'] as const) {
      if (!functions.includes(which)) continue;
      out[which] = (...args: unknown[]) => {
        const render = asObject(resolve(toolName, () => undefined))?.[which];
        if (typeof render !== 'function') throw new Error(`${toolName}: its ${which} cannot be drawn now`);
        return (render as Fn)(...args);
      };
    }
    return out;
  }

  /**
   * pi's `MarkdownTransformer` for one held in the guest: the markdown back as text (no terminal control in it); a
   * transformer that throws or answers anything but a string leaves pi's markdown as it was, as pi does.
   */
  markdownTransformer(fn: number): Fn {
    return (markdown: unknown, context: unknown) => {
      const text = String(markdown);
      const a = this.#callOnce(fn, { op: 'markdown', fn, markdown: text, context: plain(context) }, 'markdown transformer');
      return a?.ok === true && typeof a.value === 'string' ? stripTerminalControls(a.value) : text;
    };
  }
}

const emptyComponent = { render: () => [], invalidate: () => undefined };

/** pi's values as JSON data (functions and cycles dropped). */
function plain(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v ?? null, cycleFree())) as unknown;
  } catch {
    return null;
  }
}

function cycleFree(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_k, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (value !== null && typeof value === 'object') {
      if (seen.has(value)) return undefined;
      seen.add(value);
    }
    return value;
  };
}
