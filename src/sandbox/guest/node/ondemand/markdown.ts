/**
 * GUEST CODE, loaded on first use (guest/markdown.ts). pi-tui's `Markdown` drawing (components/markdown.js): the same
 * blocks, spacing, list markers, code fences, quote borders and theme calls, on a small parser of the CommonMark that
 * assistant text uses instead of `marked` (whose 40 KB would be one more module for one component). Partial, said in
 * docs/compat-tui.md: LaTeX draws as its source, emphasis follows simple delimiter pairs (not every
 * CommonMark flanking rule), links draw as `text (url)` (a sandboxed line keeps no OSC 8 link), and code blocks are
 * not syntax highlighted.
 */
import { visibleWidth, wrapTextWithAnsi } from '../../tui.ts';

type Style = (s: string) => string;

export interface MarkdownTheme {
  heading: Style;
  link: Style;
  linkUrl: Style;
  code: Style;
  codeBlock: Style;
  codeBlockBorder: Style;
  quote: Style;
  quoteBorder: Style;
  hr: Style;
  listBullet: Style;
  bold: Style;
  italic: Style;
  strikethrough: Style;
  underline: Style;
  codeBlockIndent?: string;
}

export interface TextStyle {
  color?: Style;
  bgColor?: Style;
  bold?: boolean;
  italic?: boolean;
  strikethrough?: boolean;
  underline?: boolean;
}

interface Inline {
  type: 'text' | 'strong' | 'em' | 'del' | 'codespan' | 'link' | 'br';
  text: string;
  href?: string;
  tokens?: Inline[];
}
interface ListItem {
  tokens: Block[];
  task?: boolean;
  checked?: boolean;
}
type Block =
  | { type: 'space' }
  | { type: 'heading'; depth: number; tokens: Inline[] }
  | { type: 'paragraph' | 'text'; tokens: Inline[] }
  | { type: 'code'; lang: string; text: string }
  | { type: 'hr' }
  | { type: 'blockquote'; tokens: Block[] }
  | { type: 'list'; ordered: boolean; start: number; loose: boolean; items: ListItem[] }
  | { type: 'table'; raw: string; header: Inline[][]; rows: Inline[][][] };

// --- inline: code spans, escapes, links, autolinks, emphasis by delimiter pairs ---

const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|~<>"'$]/;

function inline(src: string): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') out.push({ type: 'text', text });
    text = '';
  };
  const push = (t: Inline) => {
    flush();
    out.push(t);
  };
  for (let i = 0; i < src.length;) {
    const rest = src.slice(i);
    const ch = src[i] ?? '';
    if (ch === '\\' && rest[1] === '\n') {
      push({ type: 'br', text: '' });
      i += 2;
      continue;
    }
    if (ch === '\\' && ESCAPABLE.test(rest[1] ?? '')) {
      text += rest[1];
      i += 2;
      continue;
    }
    if (ch === ' ' && /^ {2,}\n/.test(rest)) {
      const m = /^ {2,}\n/.exec(rest)!;
      push({ type: 'br', text: '' });
      i += m[0].length;
      continue;
    }
    if (ch === '`') {
      const m = /^(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/.exec(rest);
      if (m !== null) {
        let code = (m[2] ?? '').replace(/\n/g, ' ');
        if (/^ .* $/.test(code) && code.trim() !== '') code = code.slice(1, -1);
        push({ type: 'codespan', text: code });
        i += m[0].length;
        continue;
      }
    }
    if (ch === '[') {
      const m = /^\[([^\]]*)\]\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)/.exec(rest);
      if (m !== null) {
        push({ type: 'link', text: m[1] ?? '', href: m[2] ?? '', tokens: inline(m[1] ?? '') });
        i += m[0].length;
        continue;
      }
    }
    if (ch === '<') {
      const m = /^<((?:https?|mailto):[^\s>]+)>/.exec(rest);
      if (m !== null) {
        push({ type: 'link', text: m[1] ?? '', href: m[1] ?? '', tokens: [{ type: 'text', text: m[1] ?? '' }] });
        i += m[0].length;
        continue;
      }
    }
    if ((ch === 'h' || ch === 'w') && (i === 0 || /[\s(]/.test(src[i - 1] ?? ''))) {
      const m = /^(?:https?:\/\/|www\.)[^\s<]*[^\s<?!.,:*_~)'"]/.exec(rest);
      if (m !== null) {
        const href = m[0].startsWith('www.') ? `http://${m[0]}` : m[0];
        push({ type: 'link', text: m[0], href, tokens: [{ type: 'text', text: m[0] }] });
        i += m[0].length;
        continue;
      }
    }
    const emphasis = delimited(rest, src[i - 1]);
    if (emphasis !== undefined) {
      push(emphasis.token);
      i += emphasis.length;
      continue;
    }
    if (ch === '*' || ch === '_' || ch === '~') {
      // a run that opened nothing is literal as a whole (its second `*` is not an opener of its own)
      const run = /^([*_~])\1*/.exec(rest)?.[0] ?? ch;
      text += run;
      i += run.length;
      continue;
    }
    text += ch;
    i++;
  }
  flush();
  return out;
}

/** `**strong**`, `__strong__`, `*em*`, `_em_`, `~~del~~` at the start of `s`: a closer of the same run, not after a space. */
function delimited(s: string, before: string | undefined): { token: Inline; length: number } | undefined {
  for (const [run, type] of [
    ['***', 'strongem'],
    ['**', 'strong'],
    ['__', 'strong'],
    ['~~', 'del'],
    ['*', 'em'],
    ['_', 'em'],
  ] as const) {
    if (!s.startsWith(run) || /\s/.test(s[run.length] ?? ' ') || s[run.length] === run[0]) continue;
    // intraword underscores are literal (snake_case)
    if (run[0] === '_' && before !== undefined && /[\p{L}\p{N}]/u.test(before)) continue;
    let from = run.length;
    for (;;) {
      const close = s.indexOf(run, from);
      if (close < 0) break;
      if (close === run.length) {
        from = close + 1;
        continue;
      }
      const inner = s.slice(run.length, close);
      const after = s[close + run.length];
      const sameRunContinues = after === run[0] && run.length < 3;
      if (!/\s/.test(s[close - 1] ?? ' ') && !sameRunContinues && !(run[0] === '_' && after !== undefined && /[\p{L}\p{N}]/u.test(after))) {
        const length = close + run.length;
        if (type === 'strongem')
          return { token: { type: 'em', text: inner, tokens: [{ type: 'strong', text: inner, tokens: inline(inner) }] }, length };
        return { token: { type, text: inner, tokens: inline(inner) }, length };
      }
      from = close + (sameRunContinues ? run.length + 1 : 1);
    }
  }
  return undefined;
}

// --- blocks: ATX and setext headings, fences, rules, quotes, lists, paragraphs ---

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const BULLET = /^( {0,3})([-+*]|\d{1,9}[.)])(?:[ \t]+(.*)|$)/;
const blank = (l: string) => l.trim() === '';
const TABLE_DELIMITER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

/** A GFM table row's cells: split at unescaped pipes, the outer pipes dropped. */
function cells(row: string): string[] {
  let r = row.trim();
  if (r.startsWith('|')) r = r.slice(1);
  if (r.endsWith('|') && !r.endsWith('\\|')) r = r.slice(0, -1);
  return r.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Whether a table starts at line `i`: a header row and a delimiter row with as many columns. */
function tableAt(lines: string[], i: number): boolean {
  const head = lines[i] ?? '';
  const delimiter = lines[i + 1] ?? '';
  if (!TABLE_DELIMITER.test(delimiter) || !(head.includes('|') || delimiter.includes('|'))) return false;
  return cells(head).length === cells(delimiter).length;
}

/** A line that ends a paragraph by starting another block (a list only with a bullet or a `1.`, as CommonMark). */
function interrupts(line: string): boolean {
  if (FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line)) return true;
  const m = BULLET.exec(line);
  return m !== null && (m[3] ?? '').trim() !== '' && (/^[-+*]$/.test(m[2] ?? '') || /^1[.)]$/.test(m[2] ?? ''));
}

function blocks(lines: string[], tight = false): Block[] {
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (blank(line)) {
      while (i < lines.length && blank(lines[i] ?? '')) i++;
      if (out.length > 0 && i < lines.length) out.push({ type: 'space' });
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence !== null) {
      const marker = fence[1] ?? '```';
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`).test(lines[i] ?? ''))
        body.push(lines[i++] ?? '');
      i++;
      out.push({ type: 'code', lang: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading !== null) {
      out.push({ type: 'heading', depth: (heading[1] ?? '#').length, tokens: inline(heading[2] ?? '') });
      i++;
      continue;
    }
    if (HR.test(line)) {
      out.push({ type: 'hr' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && !blank(lines[i] ?? '') && (QUOTE.test(lines[i] ?? '') || body.length > 0)) {
        const l = lines[i] ?? '';
        if (!QUOTE.test(l) && interrupts(l)) break;
        body.push(l.replace(QUOTE, ''));
        i++;
      }
      out.push({ type: 'blockquote', tokens: blocks(body) });
      continue;
    }
    if (BULLET.test(line)) {
      i = list(lines, i, out);
      continue;
    }
    if (tableAt(lines, i)) {
      const header = cells(line);
      const raw = [line, lines[i + 1] ?? ''];
      i += 2;
      const rows: Inline[][][] = [];
      while (i < lines.length && !blank(lines[i] ?? '') && !interrupts(lines[i] ?? '')) {
        const row = cells(lines[i] ?? '');
        rows.push(header.map((_, k) => inline(row[k] ?? '')));
        raw.push(lines[i++] ?? '');
      }
      out.push({ type: 'table', raw: raw.join('\n'), header: header.map((h) => inline(h)), rows });
      continue;
    }
    const para: string[] = [line.trim()];
    i++;
    let setext = 0;
    while (i < lines.length && !blank(lines[i] ?? '')) {
      const l = lines[i] ?? '';
      if (/^ {0,3}=+[ \t]*$/.test(l)) setext = 1;
      else if (/^ {0,3}-+[ \t]*$/.test(l)) setext = 2;
      if (setext > 0) {
        i++;
        break;
      }
      if (interrupts(l) || tableAt(lines, i)) break;
      para.push(l.replace(/^[ \t]+/, ''));
      i++;
    }
    const text = para.join('\n').replace(/[ \t]+$/, '');
    if (setext > 0) out.push({ type: 'heading', depth: setext, tokens: inline(text) });
    else out.push({ type: tight ? 'text' : 'paragraph', tokens: inline(text) });
  }
  return out;
}

/** A list from line `i`: items of the same kind, their lines dedented to the item's content column. */
function list(lines: string[], start: number, out: Block[]): number {
  const first = BULLET.exec(lines[start] ?? '')!;
  const ordered = /\d/.test(first[2] ?? '');
  const delimiter = (first[2] ?? '').slice(-1);
  const items: string[][] = [];
  let loose = false;
  let gapBefore = false;
  let i = start;
  while (i < lines.length) {
    const m = BULLET.exec(lines[i] ?? '');
    if (m === null || /\d/.test(m[2] ?? '') !== ordered || (m[2] ?? '').slice(-1) !== delimiter) break;
    if (gapBefore) loose = true;
    const content =
      (m[1] ?? '').length +
      (m[2] ?? '').length +
      Math.min(4, Math.max(1, (lines[i] ?? '').length - (m[1] ?? '').length - (m[2] ?? '').length - (m[3] ?? '').length || 1));
    const item = [m[3] ?? ''];
    i++;
    gapBefore = false;
    while (i < lines.length) {
      const l = lines[i] ?? '';
      if (blank(l)) {
        let j = i;
        while (j < lines.length && blank(lines[j] ?? '')) j++;
        const next = lines[j] ?? '';
        if (j < lines.length && next.length - next.trimStart().length >= content) {
          for (; i < j; i++) item.push('');
          continue;
        }
        gapBefore = j < lines.length;
        i = j;
        break;
      }
      const indent = l.length - l.trimStart().length;
      if (indent >= content) item.push(l.slice(content));
      else if (BULLET.test(l) || interrupts(l)) break;
      else item.push(l.trim()); // a lazy continuation of the item's paragraph
      i++;
    }
    items.push(item);
    if (gapBefore && !(BULLET.test(lines[i] ?? '') && /\d/.test(BULLET.exec(lines[i] ?? '')?.[2] ?? '') === ordered)) break;
  }
  const startNumber = ordered ? Number.parseInt(first[2] ?? '1', 10) : 1;
  if (items.some((it) => it.slice(0, -1).some((l, k) => blank(l) && !blank(it[k + 1] ?? '')))) loose = true;
  const item = (it: string[]): ListItem => {
    const task = /^\[([ xX])\][ \t]+/.exec(it[0] ?? '');
    if (task === null) return { tokens: blocks(it, !loose) };
    return { tokens: blocks([(it[0] ?? '').slice(task[0].length), ...it.slice(1)], !loose), task: true, checked: task[1] !== ' ' };
  };
  out.push({ type: 'list', ordered, start: startNumber, loose, items: items.map(item) });
  // the blank line that ended a list before a block that follows is a space, as between any two blocks
  if (gapBefore && i < lines.length) out.push({ type: 'space' });
  return i;
}

// --- drawing, as pi-tui's Markdown draws marked's tokens ---

interface StyleContext {
  applyText: Style;
  stylePrefix: string;
}

const SENTINEL = '\u0000';
const prefixOf = (fn: Style) => {
  const styled = fn(SENTINEL);
  const at = styled.indexOf(SENTINEL);
  return at >= 0 ? styled.slice(0, at) : '';
};

class Drawing {
  readonly theme: MarkdownTheme;
  readonly defaultTextStyle: TextStyle | undefined;
  constructor(theme: MarkdownTheme, defaultTextStyle: TextStyle | undefined) {
    this.theme = theme;
    this.defaultTextStyle = defaultTextStyle;
  }

  applyDefaultStyle(text: string): string {
    const d = this.defaultTextStyle;
    if (d === undefined) return text;
    let s = text;
    if (d.color) s = d.color(s);
    if (d.bold) s = this.theme.bold(s);
    if (d.italic) s = this.theme.italic(s);
    if (d.strikethrough) s = this.theme.strikethrough(s);
    if (d.underline) s = this.theme.underline(s);
    return s;
  }

  defaultContext(): StyleContext {
    return {
      applyText: (t) => this.applyDefaultStyle(t),
      stylePrefix: this.defaultTextStyle === undefined ? '' : prefixOf((t) => this.applyDefaultStyle(t)),
    };
  }

  token(token: Block, width: number, next: Block['type'] | undefined, ctx?: StyleContext): string[] {
    const lines: string[] = [];
    const gap = () => {
      if (next !== undefined && next !== 'space') lines.push('');
    };
    switch (token.type) {
      case 'heading': {
        const fn: Style =
          token.depth === 1
            ? (t) => this.theme.heading(this.theme.bold(this.theme.underline(t)))
            : (t) => this.theme.heading(this.theme.bold(t));
        const text = this.inline(token.tokens, { applyText: fn, stylePrefix: prefixOf(fn) });
        lines.push(token.depth >= 3 ? fn(`${'#'.repeat(token.depth)} `) + text : text);
        gap();
        break;
      }
      case 'paragraph':
        lines.push(this.inline(token.tokens, ctx));
        if (next !== undefined && next !== 'list' && next !== 'space') lines.push('');
        break;
      case 'text':
        lines.push(this.inline(token.tokens, ctx));
        break;
      case 'code': {
        const indent = this.theme.codeBlockIndent ?? '  ';
        lines.push(this.theme.codeBlockBorder(`\`\`\`${token.lang}`));
        for (const l of token.text.split('\n')) lines.push(`${indent}${this.theme.codeBlock(l)}`);
        lines.push(this.theme.codeBlockBorder('```'));
        gap();
        break;
      }
      case 'list':
        lines.push(...this.list(token, 0, width, ctx));
        break;
      case 'blockquote': {
        const quoteStyle: Style = (t) => this.theme.quote(this.theme.italic(t));
        const quotePrefix = prefixOf(quoteStyle);
        const applyQuote = (l: string) => quoteStyle(quotePrefix ? l.replace(/\u001b\[0m/g, `\u001b[0m${quotePrefix}`) : l);
        if (width < 3) {
          token.tokens.forEach((t, k) => lines.push(...this.token(t, width, token.tokens[k + 1]?.type, ctx)));
          break;
        }
        const inner = width - 2;
        const quoted: string[] = [];
        const qctx = { applyText: (t: string) => t, stylePrefix: quotePrefix };
        token.tokens.forEach((t, k) => quoted.push(...this.token(t, inner, token.tokens[k + 1]?.type, qctx)));
        while (quoted.length > 0 && quoted[quoted.length - 1] === '') quoted.pop();
        for (const q of quoted) for (const w of wrapTextWithAnsi(applyQuote(q), inner)) lines.push(this.theme.quoteBorder('│ ') + w);
        gap();
        break;
      }
      case 'hr':
        lines.push(this.theme.hr('─'.repeat(Math.min(width, 80))));
        gap();
        break;
      case 'space':
        lines.push('');
        break;
      case 'table':
        lines.push(...this.table(token, width, next, ctx));
        break;
    }
    return lines;
  }

  /** pi-tui's renderTable: natural column widths, shrunk in proportion when they do not fit, cells wrapped. */
  table(token: Extract<Block, { type: 'table' }>, available: number, next: Block['type'] | undefined, ctx?: StyleContext): string[] {
    const n = token.header.length;
    const overhead = 3 * n + 1;
    const forCells = available - overhead;
    if (forCells < n) {
      const fallback = wrapTextWithAnsi(token.raw, available);
      if (next !== undefined && next !== 'space') fallback.push('');
      return fallback;
    }
    const longestWord = (t: string) => Math.min(30, Math.max(0, ...t.split(/\s+/).filter(Boolean).map(visibleWidth)));
    const natural: number[] = [];
    const minWords: number[] = [];
    token.header.forEach((h, k) => {
      const t = this.inline(h, ctx);
      natural[k] = visibleWidth(t);
      minWords[k] = Math.max(1, longestWord(t));
    });
    for (const row of token.rows)
      row.forEach((c, k) => {
        const t = this.inline(c, ctx);
        natural[k] = Math.max(natural[k] ?? 0, visibleWidth(t));
        minWords[k] = Math.max(minWords[k] ?? 1, longestWord(t));
      });
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    let mins = minWords;
    if (sum(mins) > forCells) {
      mins = Array<number>(n).fill(1);
      const remaining = forCells - n;
      if (remaining > 0) {
        const total = sum(minWords.map((w) => Math.max(0, w - 1)));
        const growth = minWords.map((w) => (total > 0 ? Math.floor((Math.max(0, w - 1) / total) * remaining) : 0));
        mins = mins.map((m, k) => m + (growth[k] ?? 0));
        let leftover = remaining - sum(growth);
        for (let k = 0; leftover > 0 && k < n; k++, leftover--) mins[k] = (mins[k] ?? 0) + 1;
      }
    }
    let widths: number[];
    if (sum(natural) + overhead <= available) widths = natural.map((w, k) => Math.max(w, mins[k] ?? 1));
    else {
      const potential = sum(natural.map((w, k) => Math.max(0, w - (mins[k] ?? 1))));
      const extra = Math.max(0, forCells - sum(mins));
      widths = mins.map((m, k) => m + (potential > 0 ? Math.floor((Math.max(0, (natural[k] ?? 0) - m) / potential) * extra) : 0));
      let remaining = forCells - sum(widths);
      while (remaining > 0) {
        let grew = false;
        for (let k = 0; k < n && remaining > 0; k++) {
          if ((widths[k] ?? 0) < (natural[k] ?? 0)) {
            widths[k] = (widths[k] ?? 0) + 1;
            remaining--;
            grew = true;
          }
        }
        if (!grew) break;
      }
    }
    const prefix = ctx?.stylePrefix ?? '';
    const wrapCell = (t: string, w: number) => {
      const ls = wrapTextWithAnsi(t, Math.max(1, w));
      return ls.map((l, k) => `${l}${k < ls.length - 1 ? '\u001b[22;23;24;25;27;28;29;39m' : ''}${prefix}`);
    };
    const rule = (l: string, m: string, r: string) => `${l}─${widths.map((w) => '─'.repeat(w)).join(`─${m}─`)}─${r}`;
    const rows = (cellsOf: Inline[][], style: (s: string) => string) => {
      const wrapped = cellsOf.map((c, k) => wrapCell(this.inline(c, ctx), widths[k] ?? 1));
      const height = Math.max(...wrapped.map((c) => c.length));
      const out: string[] = [];
      for (let r = 0; r < height; r++) {
        const parts = wrapped.map((c, k) => {
          const t = c[r] ?? '';
          return style(t + ' '.repeat(Math.max(0, (widths[k] ?? 0) - visibleWidth(t))));
        });
        out.push(`│ ${parts.join(' │ ')} │`);
      }
      return out;
    };
    const lines = [rule('┌', '┬', '┐'), ...rows(token.header, (s) => this.theme.bold(s)), rule('├', '┼', '┤')];
    token.rows.forEach((row, r) => {
      lines.push(...rows(row, (s) => s));
      if (r < token.rows.length - 1) lines.push(rule('├', '┼', '┤'));
    });
    lines.push(rule('└', '┴', '┘'));
    if (next !== undefined && next !== 'space') lines.push('');
    return lines;
  }

  inline(tokens: Inline[], ctx?: StyleContext): string {
    const { applyText, stylePrefix } = ctx ?? this.defaultContext();
    const withNewlines = (t: string) => t.split('\n').map(applyText).join('\n');
    const inner = (t: Inline) => this.inline(t.tokens ?? [], { applyText, stylePrefix });
    let out = '';
    for (const t of tokens) {
      switch (t.type) {
        case 'text':
          out += withNewlines(t.text);
          break;
        case 'strong':
          out += this.theme.bold(inner(t)) + stylePrefix;
          break;
        case 'em':
          out += this.theme.italic(inner(t)) + stylePrefix;
          break;
        case 'del':
          out += this.theme.strikethrough(inner(t)) + stylePrefix;
          break;
        case 'codespan':
          out += this.theme.code(t.text) + stylePrefix;
          break;
        case 'link': {
          const styled = this.theme.link(this.theme.underline(inner(t)));
          const href = t.href ?? '';
          const bare = href.startsWith('mailto:') ? href.slice(7) : href;
          out += t.text === href || t.text === bare ? styled + stylePrefix : styled + this.theme.linkUrl(` (${href})`) + stylePrefix;
          break;
        }
        case 'br':
          out += '\n';
          break;
      }
    }
    while (stylePrefix && out.endsWith(stylePrefix)) out = out.slice(0, -stylePrefix.length);
    return out;
  }

  list(token: Extract<Block, { type: 'list' }>, depth: number, width: number, ctx?: StyleContext): string[] {
    const lines: string[] = [];
    const indent = '    '.repeat(depth);
    token.items.forEach((item, i) => {
      const marker = (token.ordered ? `${token.start + i}. ` : '- ') + (item.task ? `[${item.checked ? 'x' : ' '}] ` : '');
      const firstPrefix = indent + this.theme.listBullet(marker);
      const continuation = indent + ' '.repeat(visibleWidth(marker));
      const itemWidth = Math.max(1, width - visibleWidth(firstPrefix));
      let any = false;
      for (const t of item.tokens) {
        if (t.type === 'list') {
          lines.push(...this.list(t, depth + 1, width, ctx));
          any = true;
          continue;
        }
        for (const l of this.token(t, itemWidth, undefined, ctx)) {
          for (const w of wrapTextWithAnsi(l, itemWidth)) {
            lines.push((any ? continuation : firstPrefix) + w);
            any = true;
          }
        }
      }
      if (!any) lines.push(firstPrefix);
      if (token.loose && i < token.items.length - 1) lines.push('');
    });
    return lines;
  }
}

/** The lines pi-tui's `Markdown` draws for `text` at `width` (its padding included). */
export function renderMarkdown(
  text: string,
  width: number,
  paddingX: number,
  paddingY: number,
  theme: MarkdownTheme,
  defaultTextStyle?: TextStyle,
): string[] {
  if (!text || text.trim() === '') return [];
  const contentWidth = Math.max(1, width - paddingX * 2);
  const drawing = new Drawing(theme, defaultTextStyle);
  const tokens = blocks(text.replace(/\t/g, '   ').split(/\r\n|\r|\n/));
  const margin = ' '.repeat(paddingX);
  const bg = defaultTextStyle?.bgColor;
  const fit = (line: string) => {
    const padded = line + ' '.repeat(Math.max(0, width - visibleWidth(line)));
    return bg === undefined ? padded : bg(padded);
  };
  const content: string[] = [];
  tokens.forEach((t, i) => {
    for (const line of drawing.token(t, contentWidth, tokens[i + 1]?.type)) {
      for (const w of wrapTextWithAnsi(line, contentWidth)) content.push(fit(margin + w + margin));
    }
  });
  const empty = Array.from({ length: paddingY }, () => fit(' '.repeat(width)));
  const result = [...empty, ...content, ...empty];
  return result.length > 0 ? result : [''];
}
