/**
 * GUEST CODE. pi-tui's `Loader` and `CancellableLoader` (components/loader.js, cancellable-loader.js): a spinner and a
 * message on a `Text`, advanced by the guest's `setInterval` (each frame is a `requestRender` signal, and its render is
 * charged to the component's CPU window like any other), cancelled with pi's `tui.select.cancel` keys.
 */
import { isSelectKey } from './selectList.ts';
import { Text } from './tui.ts';

type Style = (s: string) => string;

const DEFAULT_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const DEFAULT_INTERVAL_MS = 80;

interface Indicator {
  frames?: string[];
  intervalMs?: number;
}

export class Loader extends Text {
  frames: string[] = [...DEFAULT_FRAMES];
  intervalMs = DEFAULT_INTERVAL_MS;
  currentFrame = 0;
  intervalId: ReturnType<typeof setInterval> | null = null;
  ui: { requestRender(): void } | null;
  renderIndicatorVerbatim = false;
  spinnerColorFn: Style;
  messageColorFn: Style;
  message: string;

  constructor(
    ui: { requestRender(): void } | null,
    spinnerColorFn: Style,
    messageColorFn: Style,
    message = 'Loading...',
    indicator?: Indicator,
  ) {
    super('', 1, 0);
    this.ui = ui;
    this.spinnerColorFn = spinnerColorFn;
    this.messageColorFn = messageColorFn;
    this.message = message;
    this.setIndicator(indicator);
  }

  override render(width: number): string[] {
    return ['', ...super.render(width)];
  }

  start(): void {
    this.updateDisplay();
    this.restartAnimation();
  }

  stop(): void {
    if (this.intervalId !== null) {
      clearInterval(this.intervalId);
      this.intervalId = null;
    }
  }

  setMessage(message: string): void {
    this.message = message;
    this.updateDisplay();
  }

  override invalidate(): void {
    super.invalidate();
    this.updateDisplay();
  }

  setIndicator(indicator?: Indicator): void {
    this.renderIndicatorVerbatim = indicator !== undefined;
    this.frames = indicator?.frames !== undefined ? [...indicator.frames] : [...DEFAULT_FRAMES];
    this.intervalMs = indicator?.intervalMs !== undefined && indicator.intervalMs > 0 ? indicator.intervalMs : DEFAULT_INTERVAL_MS;
    this.currentFrame = 0;
    this.start();
  }

  restartAnimation(): void {
    this.stop();
    if (this.frames.length <= 1) return;
    this.intervalId = setInterval(() => {
      this.currentFrame = (this.currentFrame + 1) % this.frames.length;
      this.updateDisplay();
    }, this.intervalMs);
  }

  updateDisplay(): void {
    const frame = this.frames[this.currentFrame] ?? '';
    const rendered = this.renderIndicatorVerbatim ? frame : this.spinnerColorFn(frame);
    this.setText(`${rendered.length > 0 ? `${rendered} ` : ''}${this.messageColorFn(this.message)}`);
    this.ui?.requestRender();
  }
}

export class CancellableLoader extends Loader {
  readonly #controller = new AbortController();
  onAbort?: () => void;
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  get aborted(): boolean {
    return this.#controller.signal.aborted;
  }
  handleInput(data: string): void {
    if (isSelectKey(data, 'cancel')) {
      this.#controller.abort();
      this.onAbort?.();
    }
  }
  dispose(): void {
    this.stop();
  }
}
