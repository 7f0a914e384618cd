/**
 * GUEST CODE. pi-tui's `Markdown` component. Its drawing (a parser and pi's layout, node/ondemand/markdown.ts) is
 * loaded on the first render, like the crypto modules (ADR 0037), so an extension that never draws markdown keeps
 * the boot snapshot as small as before.
 */
import { onDemandModule } from './abi.ts';
import type * as MarkdownModule from './node/ondemand/markdown.ts';

type Drawing = typeof MarkdownModule;
let drawing: Drawing | undefined;
const markdownModule = (): Drawing => (drawing ??= onDemandModule('markdown') as Drawing);

export class Markdown {
  #text: string;
  readonly #paddingX: number;
  readonly #paddingY: number;
  readonly #theme: MarkdownModule.MarkdownTheme;
  readonly #style: MarkdownModule.TextStyle | undefined;
  #cached: { width: number; lines: string[] } | undefined;
  constructor(
    text: string,
    paddingX: number,
    paddingY: number,
    theme: MarkdownModule.MarkdownTheme,
    defaultTextStyle?: MarkdownModule.TextStyle,
  ) {
    this.#text = String(text ?? '');
    this.#paddingX = Number(paddingX) || 0;
    this.#paddingY = Number(paddingY) || 0;
    this.#theme = theme;
    this.#style = defaultTextStyle;
  }
  setText(text: string): void {
    this.#text = String(text ?? '');
    this.#cached = undefined;
  }
  invalidate(): void {
    this.#cached = undefined;
  }
  render(width: number): string[] {
    if (this.#cached?.width === width) return this.#cached.lines;
    // no text draws nothing, without loading the drawing
    const lines =
      this.#text.trim() === ''
        ? []
        : markdownModule().renderMarkdown(this.#text, width, this.#paddingX, this.#paddingY, this.#theme, this.#style);
    this.#cached = { width, lines };
    return lines;
  }
}
