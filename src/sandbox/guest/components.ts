/**
 * GUEST CODE. The extension's TUI components stay here; the host holds a proxy per component and calls it by id
 * through the synchronous `component` entry (render, handleInput, invalidate, dispose). Factories (`ui.custom`,
 * `setWidget`/`setHeader`/`setFooter`) and renderers (message, tool, markdown) are kept by id too; the host asks for a
 * component when pi would call the factory. What pi's TUI hands a component crosses as data: the theme's escape codes,
 * the key's bytes, the terminal's size; `tui.requestRender` and `done` are signals.
 */
import { componentSignal } from './abi.ts';

type Fn = (...args: unknown[]) => unknown;
type Opts = Record<string, unknown>;

interface Component {
  render?: (width: number) => unknown;
  handleInput?: (data: string) => void;
  invalidate?: () => void;
  dispose?: () => void;
}

/** Factories and renderers the extension handed to pi, by the id the host knows them by. */
const held = new Map<number, Fn>();
let lastHeld = 0;
/** Components the host proxies; a factory that returned a promise holds its id until it resolves. */
const live = new Map<number, Component | 'pending'>();
let lastLive = 0;

/** What each component's last render returned (the array itself), and at which width. */
const drawn = new Map<number, { lines: unknown[]; width: number }>();

function sameLines(before: unknown[], now: unknown): boolean {
  if (!Array.isArray(now) || now.length !== before.length) return false;
  for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) return false;
  return true;
}
/** A render's answer when the component returned the very array it returned last time, at the same width. */
const UNCHANGED = 'unchanged';

/** Keeps a factory or renderer; its id replaces the function in what crosses to the host. */
export function holdFunction(fn: Fn): number {
  held.set(++lastHeld, fn);
  return lastHeld;
}

/** Theme as data: the escape codes pi's theme uses for each colour token (fg and bg), and its name. */
interface ThemeData {
  readonly name?: string;
  readonly fg?: Readonly<Record<string, string>>;
  readonly bg?: Readonly<Record<string, string>>;
}

const FG_RESET = '\u001b[39m';
const BG_RESET = '\u001b[49m';

/** The theme pi last handed a factory or renderer: pi's global theme, which its `get*Theme()` helpers draw with. */
let lastTheme: Opts | undefined;
export const currentTheme = (): Opts => lastTheme ?? themeOf(undefined);

/** pi's Theme rebuilt from data: the same colour functions, the same escape codes, no host object. */
export function themeOf(data: ThemeData | undefined): Opts {
  const fg = data?.fg ?? {};
  const bg = data?.bg ?? {};
  const wrap = (open: string, close: string) => (s: unknown) => `${open}${String(s)}${close}`;
  return (lastTheme = {
    name: data?.name ?? 'sandbox',
    fg: (c: unknown, s: unknown) => (Object.hasOwn(fg, String(c)) ? `${fg[String(c)]}${String(s)}${FG_RESET}` : String(s)),
    bg: (c: unknown, s: unknown) => (Object.hasOwn(bg, String(c)) ? `${bg[String(c)]}${String(s)}${BG_RESET}` : String(s)),
    getFgAnsi: (c: unknown) => fg[String(c)] ?? '',
    getBgAnsi: (c: unknown) => bg[String(c)] ?? '',
    bold: wrap('\u001b[1m', '\u001b[22m'),
    italic: wrap('\u001b[3m', '\u001b[23m'),
    underline: wrap('\u001b[4m', '\u001b[24m'),
    inverse: wrap('\u001b[7m', '\u001b[27m'),
    strikethrough: wrap('\u001b[9m', '\u001b[29m'),
    getColorMode: () => 'truecolor',
    style: (s: unknown) => String(s),
    getThinkingBorderColor: () => (s: unknown) => String(s),
    getBashModeBorderColor: () => (s: unknown) => String(s),
  });
}

/** The terminal's size as the host last told it. */
const terminal = { rows: 24, columns: 80 };

function tuiFor(id: number): Opts {
  return {
    requestRender: () => componentSignal('requestRender', id),
    terminal,
    get rows() {
      return terminal.rows;
    },
    get columns() {
      return terminal.columns;
    },
    setFocus: () => undefined,
    showOverlay: () => ({ hide: () => undefined, setHidden: () => undefined, isHidden: () => false }),
  };
}

const keybindings = { matches: () => false, getKeys: () => [], getBinding: () => undefined };

function asComponent(value: unknown): Component | undefined {
  return value !== null && typeof value === 'object' && typeof (value as Component).render === 'function' ? value : undefined;
}

/** Keeps what a factory or renderer returned as a live component (a promise: once it resolves). Its id, or null. */
function adopt(value: unknown): number | null {
  const id = ++lastLive;
  if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
    live.set(id, 'pending');
    (value as Promise<unknown>).then(
      (c) => {
        const component = asComponent(c);
        if (live.get(id) !== 'pending') return;
        if (component === undefined) live.delete(id);
        else live.set(id, component);
        componentSignal('requestRender', id);
      },
      () => live.delete(id),
    );
    return id;
  }
  const component = asComponent(value);
  if (component === undefined) return null;
  live.set(id, component);
  return id;
}

function heldFunction(msg: Opts): Fn {
  const fn = held.get(Number(msg.fn));
  if (fn === undefined) throw new Error(`no factory or renderer ${String(msg.fn)} is held`);
  return fn;
}

function toolRenderers(msg: Opts): Opts | undefined {
  const r = heldFunction(msg)(String(msg.toolName), () => undefined);
  return r !== null && typeof r === 'object' ? (r as Opts) : undefined;
}

function component(msg: Opts): Component | undefined {
  const c = live.get(Number(msg.id));
  return c === 'pending' ? undefined : c;
}

/**
 * One synchronous component call from the host. Returns what pi expects back: a component id, rendered lines, a
 * string (markdown), or null. Throws what the extension's code threw.
 */
export function runComponent(msg: Opts): unknown {
  if (Array.isArray(msg.gone)) for (const id of msg.gone as unknown[]) disposeLive(Number(id));
  if (typeof msg.rows === 'number') terminal.rows = msg.rows;
  if (typeof msg.columns === 'number') terminal.columns = msg.columns;
  switch (msg.op) {
    case 'create': {
      // ui.custom (tui, theme, keybindings, done), setFooter (tui, theme, footerData), setWidget/setHeader (tui, theme)
      const id = lastLive + 1;
      const theme = themeOf(msg.theme as ThemeData | undefined);
      const done = (value: unknown) => componentSignal('done', id, value);
      const footerData = { getGitBranch: () => null, getExtensionStatuses: () => new Map(), onBranchChange: () => () => undefined };
      const extra = msg.kind === 'custom' ? [keybindings, done] : msg.kind === 'footer' ? [footerData] : [];
      return adopt(heldFunction(msg)(tuiFor(id), theme, ...extra));
    }
    case 'message':
      // registerMessageRenderer: (message, options, theme) => Component | undefined
      return adopt(heldFunction(msg)(msg.message, msg.options ?? {}, themeOf(msg.theme as ThemeData | undefined)));
    case 'resolve': {
      // a tool renderer resolver (pi 1.5.2+): which renderers it gives this tool, as data
      const renderers = toolRenderers(msg);
      if (renderers === undefined) return null;
      return {
        functions: ['renderCall', 'renderResult'].filter((k) => typeof renderers[k] === 'function'),
        ...(typeof renderers.renderShell === 'string' ? { renderShell: renderers.renderShell } : {}),
      };
    }
    case 'tool': {
      // renderCall(args, theme, context) or renderResult(result, options, theme, context) => Component
      const render = toolRenderers(msg)?.[String(msg.which)];
      if (typeof render !== 'function') return null;
      const theme = themeOf(msg.theme as ThemeData | undefined);
      const context = { ...((msg.context as Opts | undefined) ?? {}), invalidate: () => componentSignal('requestRender', 0) };
      return adopt(
        msg.which === 'renderCall'
          ? (render as Fn)(msg.value, theme, context)
          : (render as Fn)(msg.value, msg.options ?? {}, theme, context),
      );
    }
    case 'markdown': {
      // pi uses a transformer's answer only when it is a string
      const out = heldFunction(msg)(String(msg.markdown ?? ''), msg.context ?? {});
      return typeof out === 'string' ? out : null;
    }
    case 'render': {
      const c = component(msg);
      if (c === undefined) return [];
      const width = Number(msg.width);
      const lines = c.render?.(width) ?? [];
      // Most frames draw what the last one did (pi-tui's components cache their lines): the host keeps its copy.
      // Compared by content, as a component may refill the array it returned before.
      const last = drawn.get(Number(msg.id));
      if (last !== undefined && last.width === width && sameLines(last.lines, lines)) return UNCHANGED;
      drawn.set(Number(msg.id), { lines: Array.isArray(lines) ? [...(lines as unknown[])] : [], width });
      return lines;
    }
    case 'input': {
      const c = component(msg);
      c?.handleInput?.(String(msg.data));
      return null;
    }
    case 'invalidate':
      drawn.delete(Number(msg.id));
      component(msg)?.invalidate?.();
      return null;
    case 'dispose':
      disposeLive(Number(msg.id));
      return null;
    case 'release':
      held.delete(Number(msg.fn));
      return null;
    default:
      throw new Error(`unknown component operation ${String(msg.op)}`);
  }
}

function disposeLive(id: number): void {
  const c = live.get(id);
  live.delete(id);
  drawn.delete(id);
  if (c === undefined || c === 'pending') return;
  try {
    c.dispose?.();
  } catch {
    // a component that fails to clean up is gone all the same
  }
}
