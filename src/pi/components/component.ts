/**
 * One sandboxed TUI component as pi sees it: an object with pi's Component members (`render`, `handleInput`,
 * `invalidate`, `dispose`) whose every call is one synchronous component call into the extension's sandbox
 * (Sandbox.component). What comes back is drawn only as text and styling: every other terminal control (OSC 52
 * clipboard writes, OSC 8 links, titles, cursor moves, DCS/APC) is taken out, and each line is cut to the width pi
 * gave. A component that goes over a frame limit, throws, or whose sandbox stopped is replaced by a one-line notice;
 * pi's TUI keeps running.
 */
import { stripTerminalControls } from '../../mediation/index.ts';
import type { ComponentAnswer, ComponentCall, Sandbox } from '../../sandbox/index.ts';
import { fitLine } from './tuiText.ts';

/** What a component is for pi: how it was made, which decides its lifecycle. */
export type ComponentKind = 'custom' | 'widget' | 'header' | 'footer' | 'message' | 'tool';

export interface ComponentOwner {
  readonly extensionId: string;
  readonly sandbox: Sandbox;
  /** Tells the user once why a component was replaced. */
  readonly told: (message: string) => void;
  /** The component pi no longer holds. */
  readonly dropped: (c: SandboxedComponent) => void;
}

export class SandboxedComponent {
  readonly kind: ComponentKind;
  readonly #owner: ComponentOwner;
  /** Asks the guest for the component (the factory or renderer runs); undefined once asked. */
  #make: (() => ComponentAnswer) | undefined;
  #id: number | undefined;
  #failed: string | undefined;
  /** The last lines drawn: what a frame shows while the guest is busy (a render asked for from inside a hostcall). */
  #last: string[] = [];
  #lastWidth = -1;
  #disposed = false;
  /** The renderer made nothing: pi draws nothing for it. */
  #empty = false;
  readonly #onMade: ((id: number) => void) | undefined;
  /** pi's TUI of this component, for requestRender (factories get it; renderers do not). */
  readonly tui: { requestRender?: (force?: boolean) => void } | undefined;
  /** A `ui.custom` overlay's close: called with the value the extension passes to done(). */
  readonly done: ((value: unknown) => void) | undefined;
  /** pi's Component: true for overlays that want key-release events (never, for a sandboxed one). */
  readonly wantsKeyRelease = false;

  constructor(
    owner: ComponentOwner,
    kind: ComponentKind,
    make: (() => ComponentAnswer) | number,
    tui?: { requestRender?: (force?: boolean) => void },
    done?: (value: unknown) => void,
    made?: (id: number) => void,
  ) {
    this.#owner = owner;
    this.kind = kind;
    if (typeof make === 'number') this.#id = make;
    else this.#make = make;
    this.tui = tui;
    this.done = done;
    this.#onMade = made;
  }

  /** The guest's id of this component, once it exists. */
  get id(): number | undefined {
    return this.#id;
  }

  /** Whether the guest's component exists (false: not yet made, or replaced by the notice). */
  #ready(): boolean {
    if (this.#failed !== undefined || this.#disposed || this.#empty) return false;
    if (this.#id !== undefined) return true;
    const make = this.#make;
    if (make === undefined) return false;
    const a = make();
    if (!a.ok && a.busy === true) return false;
    this.#make = undefined;
    if (!a.ok) {
      this.#fail(a);
      return false;
    }
    if (a.value === null && this.kind === 'message') {
      this.#empty = true;
      return false;
    }
    if (typeof a.value !== 'number') {
      this.#fail({ ok: false, error: { code: 'invalid_request', message: 'the factory did not return a component' } });
      return false;
    }
    this.#id = a.value;
    this.#onMade?.(a.value);
    return true;
  }

  #call(call: Omit<ComponentCall, 'id'> & { op: string }): ComponentAnswer | undefined {
    if (!this.#ready()) return undefined;
    const a = this.#owner.sandbox.component({ ...call, id: this.#id });
    if (!a.ok && a.busy !== true) this.#fail(a);
    return a;
  }

  #fail(a: ComponentAnswer & { ok: false }): void {
    if (this.#failed !== undefined) return;
    const why = a.overrun !== undefined ? `over its ${a.overrun === 'frame_deadline' ? 'frame time' : 'output'} limit` : 'failed';
    this.#failed = `pi-warden: ${this.#owner.extensionId}: component ${why}, replaced`;
    // the notice names pi-warden and the extension; what the user is told gets them from the host that tells it
    this.#owner.told(`component ${why}, replaced: ${stripTerminalControls(a.error.message)}`);
    // The guest's component is gone for good; a modal overlay is closed so the user is never stuck in it.
    if (this.#id !== undefined) this.#owner.sandbox.forgetComponent(this.#id);
    if (this.done !== undefined) queueMicrotask(() => this.done?.(undefined));
    this.tui?.requestRender?.();
  }

  render(width: number): string[] {
    const w = Math.max(1, Math.floor(width));
    if (this.#failed !== undefined) return [fitLine(`\u001b[33m⚠ ${this.#failed}\u001b[39m`, w)];
    const a = this.#call({ op: 'render', width: w });
    if (this.#empty) return [];
    if (a === undefined || (!a.ok && a.busy === true)) return this.#failed !== undefined ? this.render(w) : this.#last;
    if (!a.ok) return this.render(w);
    if (a.value === 'unchanged' && this.#lastWidth === w) return this.#last;
    if (!Array.isArray(a.value)) return this.#last;
    const lines = (a.value as string[]).map((l) => fitLine(stripTerminalControls(l, 'styling'), w));
    this.#last = lines;
    this.#lastWidth = w;
    return lines;
  }

  handleInput(data: string): void {
    this.#call({ op: 'input', data: String(data) });
  }

  invalidate(): void {
    if (this.#id !== undefined) this.#call({ op: 'invalidate' });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const id = this.#id;
    if (id !== undefined && this.#failed === undefined) {
      const a = this.#owner.sandbox.component({ op: 'dispose', id });
      if (!a.ok && a.busy === true) this.#owner.sandbox.forgetComponent(id);
    }
    this.#owner.dropped(this);
  }
}
