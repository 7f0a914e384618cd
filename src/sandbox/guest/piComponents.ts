/**
 * GUEST CODE. The interactive components of pi-coding-agent that extensions import to draw with
 * (modes/interactive/components/dynamic-border.js, bordered-loader.js), built on the guest's pi-tui. Where pi reaches
 * for its global theme (DynamicBorder's default colour, the cancel key hint) the guest has none: the border is
 * uncoloured and the hint uses the theme the loader was given (in pi they are the same theme).
 */
import { CancellableLoader, Loader } from './loader.ts';
import { Container, Spacer, Text } from './tui.ts';

type Style = (s: string) => string;
interface Theme {
  fg(color: string, s: string): string;
}

export class DynamicBorder {
  color: Style;
  constructor(color: Style = (s) => s) {
    this.color = color;
  }
  invalidate(): void {
    /* nothing cached */
  }
  render(width: number): string[] {
    return [this.color('─'.repeat(Math.max(1, width)))];
  }
}

/** pi's keyHint for `tui.select.cancel` with its default keys. */
const cancelHint = (theme: Theme) => theme.fg('dim', 'escape/ctrl+c') + theme.fg('muted', ' cancel');

export class BorderedLoader extends Container {
  readonly #loader: Loader | CancellableLoader;
  readonly #signal: AbortController | undefined;
  constructor(tui: { requestRender(): void }, theme: Theme, message: string, options?: { cancellable?: boolean }) {
    super();
    const cancellable = options?.cancellable ?? true;
    const border = (s: string) => theme.fg('border', s);
    this.addChild(new DynamicBorder(border));
    const spinner = (s: string) => theme.fg('accent', s);
    const muted = (s: string) => theme.fg('muted', s);
    this.#loader = cancellable ? new CancellableLoader(tui, spinner, muted, message) : new Loader(tui, spinner, muted, message);
    this.#signal = cancellable ? undefined : new AbortController();
    this.addChild(this.#loader);
    if (cancellable) {
      this.addChild(new Spacer(1));
      this.addChild(new Text(cancelHint(theme), 1, 0));
    }
    this.addChild(new Spacer(1));
    this.addChild(new DynamicBorder(border));
  }
  get signal(): AbortSignal {
    return this.#loader instanceof CancellableLoader ? this.#loader.signal : (this.#signal?.signal ?? new AbortController().signal);
  }
  set onAbort(fn: (() => void) | undefined) {
    if (this.#loader instanceof CancellableLoader) this.#loader.onAbort = fn;
  }
  handleInput(data: string): void {
    if (this.#loader instanceof CancellableLoader) this.#loader.handleInput(data);
  }
  dispose(): void {
    this.#loader.stop();
  }
}
