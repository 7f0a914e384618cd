/**
 * GUEST CODE. The parts of pi-tui a sandboxed component draws with: the basic components (`Text`, `Box`,
 * `Container`, `Spacer`, `TruncatedText`) and key matching. They run here, on plain strings; the host cuts every
 * line to the width and keeps only styling escapes (src/pi/components), so a difference from pi-tui's own layout
 * can make a line shorter, never let it reach outside its component.
 */
type Opts = Record<string, unknown>;

const ANSI = /\u001b\[[0-9;:]*m/g;

const HIGH_SURROGATE = /[\uD800-\uDBFF]/g;
const ANY_SURROGATE = /[\uD800-\uDBFF]/;

/**
 * Columns a line takes: code points outside escapes. Counted without iterating characters (QuickJS spends about a
 * microsecond a character on `[...s]`; a frame of five 100-column panels spent 3 ms there).
 */
export function visibleWidth(s: string): number {
  let t = String(s);
  if (t.includes('\u001b')) t = t.replace(ANSI, '');
  if (!ANY_SURROGATE.test(t)) return t.length;
  return t.length - (t.match(HIGH_SURROGATE)?.length ?? 0);
}

/** The first `width` visible characters of a line, escapes kept. */
function cut(line: string, width: number): string {
  let out = '';
  let w = 0;
  for (let i = 0; i < line.length;) {
    if (line[i] === '\u001b') {
      ANSI.lastIndex = i;
      const m = ANSI.exec(line);
      if (m !== null && m.index === i) {
        out += m[0];
        i += m[0].length;
        continue;
      }
    }
    if (w >= width) break;
    const ch = String.fromCodePoint(line.codePointAt(i) ?? 0x3f);
    out += ch;
    w++;
    i += ch.length;
  }
  return out;
}

/**
 * The styling open at a point of a text, as pi-tui's AnsiCodeTracker keeps it: a wrapped line re-opens it, and closes
 * underline and strikethrough at its end so they do not bleed into the padding.
 */
class Sgr {
  #flags = new Set<string>();
  #fg: string | null = null;
  #bg: string | null = null;
  static readonly #OFF: Readonly<Record<string, readonly string[]>> = {
    '21': ['1'],
    '22': ['1', '2'],
    '23': ['3'],
    '24': ['4'],
    '25': ['5'],
    '27': ['7'],
    '28': ['8'],
    '29': ['9'],
  };
  read(line: string): void {
    if (!line.includes('\u001b')) return;
    for (const m of line.matchAll(/\u001b\[([0-9;]*)m/g)) this.#apply((m[1] ?? '').split(';'));
  }
  #apply(parts: string[]): void {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      const code = Number(p === '' ? 0 : p);
      if ((code === 38 || code === 48) && parts[i + 1] === '5' && parts[i + 2] !== undefined) {
        const c = parts.slice(i, i + 3).join(';');
        if (code === 38) this.#fg = c;
        else this.#bg = c;
        i += 2;
      } else if ((code === 38 || code === 48) && parts[i + 1] === '2' && parts[i + 4] !== undefined) {
        const c = parts.slice(i, i + 5).join(';');
        if (code === 38) this.#fg = c;
        else this.#bg = c;
        i += 4;
      } else if (code === 0) {
        this.#flags.clear();
        this.#fg = this.#bg = null;
      } else if (code >= 1 && code <= 9 && code !== 6) this.#flags.add(String(code));
      else if (Sgr.#OFF[String(code)] !== undefined) for (const f of Sgr.#OFF[String(code)] ?? []) this.#flags.delete(f);
      else if (code === 39) this.#fg = null;
      else if (code === 49) this.#bg = null;
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) this.#fg = String(code);
      else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107)) this.#bg = String(code);
    }
  }
  open(): string {
    const codes = ['1', '2', '3', '4', '5', '7', '8', '9'].filter((f) => this.#flags.has(f));
    if (this.#fg !== null) codes.push(this.#fg);
    if (this.#bg !== null) codes.push(this.#bg);
    return codes.length > 0 ? `\u001b[${codes.join(';')}m` : '';
  }
  lineEnd(): string {
    return (this.#flags.has('4') ? '\u001b[24m' : '') + (this.#flags.has('9') ? '\u001b[29m' : '');
  }
}

/** Text wrapped to `width` at spaces where it can, hard-cut where a word is longer; styling carried across lines. */
export function wrapTextWithAnsi(text: string, width: number): string[] {
  const out: string[] = [];
  const sgr = new Sgr();
  for (const para of String(text).split('\n')) {
    const lines = wrapParagraph(out.length > 0 ? sgr.open() + para : para, width);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (i === 0) {
        out.push(line);
        sgr.read(line);
        continue;
      }
      const prev = out.length - 1;
      out[prev] = (out[prev] ?? '') + sgr.lineEnd();
      const opened = sgr.open() + line;
      out.push(opened);
      sgr.read(line);
    }
  }
  return out;
}

function wrapParagraph(para: string, width: number): string[] {
  const w = Math.max(1, Math.floor(width));
  const out: string[] = [];
  if (visibleWidth(para) <= w) return [para];
  let line = '';
  // widths add up word by word (measuring the growing line each time was quadratic); -1: no word on the line yet
  let lineWidth = -1;
  for (const word of para.split(' ')) {
    const ww = visibleWidth(word);
    if (lineWidth < 0 ? ww <= w : lineWidth + 1 + ww <= w) {
      line = lineWidth < 0 ? word : `${line} ${word}`;
      lineWidth = lineWidth < 0 ? ww : lineWidth + 1 + ww;
      continue;
    }
    if (lineWidth >= 0) out.push(line);
    let rest = word;
    let restWidth = ww;
    while (restWidth > w) {
      const head = cut(rest, w);
      out.push(head);
      rest = rest.slice(head.length);
      restWidth = visibleWidth(rest);
    }
    line = rest;
    lineWidth = restWidth;
  }
  out.push(line);
  return out;
}

/** pi-tui's truncateToWidth: nothing for no width, a reset after the kept text and after a non-empty ellipsis. */
export function truncateToWidth(text: string, width: number, ellipsis = '...'): string {
  const s = String(text);
  if (width <= 0) return '';
  if (visibleWidth(s) <= width) return s;
  const kept = cut(s, Math.max(0, width - visibleWidth(ellipsis)));
  return ellipsis.length > 0 ? `${kept}\u001b[0m${cut(ellipsis, width)}\u001b[0m` : `${kept}\u001b[0m`;
}

interface Child {
  render(width: number): string[];
  invalidate?(): void;
}

const pad = (line: string, width: number) => line + ' '.repeat(Math.max(0, width - visibleWidth(line)));

/** A component's lines for one width, kept until something changes (pi-tui's components cache the same way). */
class Cache {
  width = -1;
  lines: string[] = [];
  get(width: number): string[] | undefined {
    return this.width === width ? this.lines : undefined;
  }
  set(width: number, lines: string[]): string[] {
    this.width = width;
    this.lines = lines;
    return lines;
  }
  clear(): void {
    this.width = -1;
  }
}

export class Container {
  children: Child[] = [];
  addChild(c: Child): void {
    this.children.push(c);
  }
  removeChild(c: Child): void {
    const i = this.children.indexOf(c);
    if (i >= 0) this.children.splice(i, 1);
  }
  clear(): void {
    this.children = [];
  }
  invalidate(): void {
    for (const c of this.children) c.invalidate?.();
  }
  render(width: number): string[] {
    const out: string[] = [];
    for (const c of this.children) for (const l of c.render(width)) out.push(l);
    return out;
  }
}

export class Box extends Container {
  readonly #px: number;
  readonly #py: number;
  #bg: ((s: string) => string) | undefined;
  constructor(paddingX = 1, paddingY = 1, bg?: (s: string) => string) {
    super();
    this.#px = paddingX;
    this.#py = paddingY;
    this.#bg = bg;
  }
  setBgFn(bg?: (s: string) => string): void {
    this.#bg = bg;
    this.#cache.clear();
  }
  /** The children's arrays the last render was made of: the same arrays at the same width draw the same box. */
  #from: string[][] = [];
  #cache = new Cache();
  override invalidate(): void {
    this.#cache.clear();
    super.invalidate();
  }
  override render(width: number): string[] {
    const inner = Math.max(1, width - 2 * this.#px);
    const parts = this.children.map((c) => c.render(inner));
    const cached = this.#cache.get(width);
    if (cached !== undefined && parts.length === this.#from.length && parts.every((p, i) => p === this.#from[i])) return cached;
    this.#from = parts;
    return this.#cache.set(width, this.#draw(width, parts));
  }
  #draw(width: number, parts: string[][]): string[] {
    const lines = [...Array<string>(this.#py).fill(''), ...parts.flat(), ...Array<string>(this.#py).fill('')];
    const left = ' '.repeat(this.#px);
    return lines.map((l) => {
      const full = pad(left + l, width);
      return this.#bg === undefined ? full : this.#bg(full);
    });
  }
}

export class Text {
  #text: string;
  readonly #px: number;
  readonly #py: number;
  #bg: ((s: string) => string) | undefined;
  constructor(text = '', paddingX = 1, paddingY = 1, bg?: (s: string) => string) {
    this.#text = String(text);
    this.#px = paddingX;
    this.#py = paddingY;
    this.#bg = bg;
  }
  readonly #cache = new Cache();
  setText(text: string): void {
    this.#text = String(text);
    this.#cache.clear();
  }
  setCustomBgFn(bg?: (s: string) => string): void {
    this.#bg = bg;
    this.#cache.clear();
  }
  invalidate(): void {
    this.#cache.clear();
  }
  render(width: number): string[] {
    return this.#cache.get(width) ?? this.#cache.set(width, this.#draw(width));
  }
  #draw(width: number): string[] {
    if (this.#text.trim() === '') return [];
    const inner = Math.max(1, width - 2 * this.#px);
    const left = ' '.repeat(this.#px);
    const body = wrapTextWithAnsi(this.#text, inner).map((l) => pad(left + l, width));
    const blank = ' '.repeat(Math.max(0, width));
    const lines = [...Array<string>(this.#py).fill(blank), ...body, ...Array<string>(this.#py).fill(blank)];
    return this.#bg === undefined ? lines : lines.map((l) => (this.#bg as (s: string) => string)(l));
  }
}

export class TruncatedText {
  #text: string;
  readonly #px: number;
  readonly #py: number;
  constructor(text = '', paddingX = 0, paddingY = 0) {
    this.#text = String(text);
    this.#px = paddingX;
    this.#py = paddingY;
  }
  setText(text: string): void {
    this.#text = String(text);
  }
  invalidate(): void {
    /* nothing cached */
  }
  render(width: number): string[] {
    const first = this.#text.split('\n')[0] ?? '';
    const line = ' '.repeat(this.#px) + truncateToWidth(first, Math.max(0, width - 2 * this.#px));
    const blank = '';
    return [...Array<string>(this.#py).fill(blank), line, ...Array<string>(this.#py).fill(blank)];
  }
}

export class Spacer {
  readonly #lines: number;
  constructor(lines = 1) {
    this.#lines = lines;
  }
  invalidate(): void {
    /* nothing cached */
  }
  render(): string[] {
    return Array<string>(this.#lines).fill('');
  }
}

const CSI_KEYS: Readonly<Record<string, string>> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
  Z: 'shift+tab',
  '1~': 'home',
  '7~': 'home',
  '4~': 'end',
  '8~': 'end',
  '2~': 'insert',
  '3~': 'delete',
  '5~': 'pageup',
  '6~': 'pagedown',
};
const SPECIAL: Readonly<Record<number, string>> = { 27: 'escape', 13: 'enter', 9: 'tab', 127: 'backspace', 32: 'space' };
const MODIFIER_ORDER = ['ctrl', 'shift', 'alt', 'super'];
const ALIASES: Readonly<Record<string, string>> = { esc: 'escape', return: 'enter', page_up: 'pageup', page_down: 'pagedown' };

/** A key id in one spelling: lower case, modifiers in pi's order, aliases resolved (`Key.ctrl('c')` → `ctrl+c`). */
function canonical(id: string): string {
  const parts = String(id).toLowerCase().split('+');
  const base = parts.pop() ?? '';
  const mods = MODIFIER_ORDER.filter((m) => parts.includes(m));
  return [...mods, ALIASES[base] ?? base].join('+');
}

function withModifiers(base: string, mod: number): string {
  const bits = Math.max(0, mod - 1);
  const mods = [bits & 4 ? 'ctrl' : '', bits & 1 ? 'shift' : '', bits & 2 ? 'alt' : '', bits & 8 ? 'super' : ''].filter(Boolean);
  return [...mods, base].join('+');
}

/** The key a terminal input stands for, in pi-tui's names (legacy sequences and the kitty keyboard protocol). */
export function parseKey(data: string): string | undefined {
  const d = String(data);
  if (d.length === 1) {
    const c = d.charCodeAt(0);
    if (SPECIAL[c] !== undefined) return SPECIAL[c];
    if (c === 10) return 'enter';
    if (c === 8) return 'backspace';
    if (c >= 1 && c <= 26) return `ctrl+${String.fromCharCode(c + 96)}`;
    if (d >= 'A' && d <= 'Z') return `shift+${d.toLowerCase()}`;
    return d;
  }
  const csi = /^\u001b(?:\[|O)(?:1;(\d+))?([A-DHFZ])$/.exec(d);
  if (csi !== null) return withModifiers(CSI_KEYS[csi[2] ?? ''] ?? '', Number(csi[1] ?? 1));
  const tilde = /^\u001b\[(\d+)(?:;(\d+))?~$/.exec(d);
  if (tilde !== null) {
    const base = CSI_KEYS[`${tilde[1] ?? ''}~`];
    return base === undefined ? undefined : withModifiers(base, Number(tilde[2] ?? 1));
  }
  const kitty = /^\u001b\[(\d+)(?::\d*)*(?:;(\d+)(?::\d+)?)?u$/.exec(d);
  if (kitty !== null) {
    const code = Number(kitty[1]);
    const base = SPECIAL[code] ?? String.fromCodePoint(code).toLowerCase();
    return withModifiers(base, Number(kitty[2] ?? 1));
  }
  if (d.length === 2 && d[0] === '\u001b') return `alt+${parseKey(d[1] ?? '') ?? ''}`;
  return undefined;
}

export function matchesKey(data: unknown, keyId: unknown): boolean {
  const key = parseKey(String(data));
  return key !== undefined && canonical(key) === canonical(String(keyId));
}

export const TUI_MEMBERS: Opts = {
  visibleWidth,
  truncateToWidth,
  wrapTextWithAnsi,
  matchesKey,
  parseKey,
  Text,
  Box,
  Container,
  Spacer,
  TruncatedText,
};
