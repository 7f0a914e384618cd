/**
 * Text an extension has pi show in the terminal carries no terminal control (SPEC §5.2): a notification or a title
 * must not write the clipboard (OSC 52), plant a hyperlink (OSC 8), retitle the window, move the cursor to
 * overwrite what pi shows, or talk to the terminal (DCS, APC). What is kept is the text, line feeds and tabs.
 */
import { mapSent } from '../policy/index.ts';

const ESC = 0x1b;
const BEL = 0x07;
/** C1 string terminator (ST). */
const C1_ST = 0x9c;
/** C1 introducers of a control sequence (CSI) and of control strings (DCS, SOS, OSC, PM, APC). */
const C1_CSI = 0x9b;
const C1_STRINGS = new Set([0x90, 0x98, 0x9d, 0x9e, 0x9f]);
/** After ESC: the introducers of control strings (DCS `P`, SOS `X`, OSC `]`, PM `^`, APC `_`). */
const ESC_STRINGS = new Set(['P', 'X', ']', '^', '_']);

/**
 * The text without terminal control (with `keep: 'styling'`, SGR colour and attribute sequences stay: what a TUI
 * component may draw with): ESC sequences (CSI, OSC incl. OSC 52 and OSC 8, DCS, SOS, PM, APC and the
 * two-character ones), their 8-bit C1 forms, every other C1 and C0 control (BEL, CR, backspace, ...) and DEL, but
 * not `\n` or `\t`. A control string that never ends is dropped to the end of the text: a terminal would swallow
 * what follows until some later terminator, so nothing after it is safe to pass on.
 */
export function stripTerminalControls(text: string, keep: 'text' | 'styling' = 'text'): string {
  let out = '';
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const isControl = (c < 0x20 && c !== 0x0a && c !== 0x09) || (c >= 0x7f && c <= 0x9f);
    if (!isControl) {
      i++;
      continue;
    }
    out += text.slice(start, i);
    if (keep === 'styling' && c === ESC && text[i + 1] === '[') {
      const end = afterCsi(text, i + 2);
      // SGR only (ECMA-48 §8.3.117): colours and attributes, which cannot move the cursor or talk to the terminal.
      if (isSgr(text, i + 2, end)) out += text.slice(i, end);
      i = end;
    } else if (c === ESC) i = afterEscape(text, i + 1);
    else if (c === C1_CSI) i = afterCsi(text, i + 1);
    else if (C1_STRINGS.has(c)) i = afterString(text, i + 1);
    else i++;
    start = i;
  }
  return start === 0 ? text : out + text.slice(start);
}

/** The index after an ESC sequence whose ESC is just before `i`. */
function afterEscape(text: string, i: number): number {
  const next = text[i];
  if (next === undefined) return i;
  if (next === '[') return afterCsi(text, i + 1);
  if (ESC_STRINGS.has(next)) return afterString(text, i + 1);
  // ESC, intermediates (0x20–0x2F), one final (0x30–0x7E): nF and Fp/Fe/Fs escapes (ECMA-48 §5.3).
  let j = i;
  while (j < text.length && inRange(text.charCodeAt(j), 0x20, 0x2f)) j++;
  return j < text.length && inRange(text.charCodeAt(j), 0x30, 0x7e) ? j + 1 : j;
}

/** The index after a CSI's parameters (0x30–0x3F), intermediates (0x20–0x2F) and final byte (0x40–0x7E), ECMA-48 §5.4. */
function afterCsi(text: string, i: number): number {
  let j = i;
  while (j < text.length && inRange(text.charCodeAt(j), 0x20, 0x3f)) j++;
  return j < text.length && inRange(text.charCodeAt(j), 0x40, 0x7e) ? j + 1 : j;
}

/** The index after a control string's terminator: ST (ESC `\` or 0x9C) or, as xterm accepts for OSC, BEL. */
function afterString(text: string, i: number): number {
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BEL || c === C1_ST) return j + 1;
    // Any ESC ends the string; when it is not ST it starts the next sequence, stripped in its turn.
    if (c === ESC) return text[j + 1] === '\\' ? j + 2 : j;
  }
  return text.length;
}

const inRange = (c: number, lo: number, hi: number) => c >= lo && c <= hi;

/** Whether the CSI between `from` and `end` is `ESC [ <digits ; :> m`: Select Graphic Rendition and nothing else. */
function isSgr(text: string, from: number, end: number): boolean {
  if (end - from > 64 || text[end - 1] !== 'm') return false;
  for (let j = from; j < end - 1; j++) {
    const c = text.charCodeAt(j);
    if (!(inRange(c, 0x30, 0x39) || c === 0x3b || c === 0x3a)) return false;
  }
  return true;
}

/** A call's params with every string the channel table says reaches the terminal stripped of terminal control. */
export function forTerminal(method: string, params: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  return mapSent(method, params, 'terminal', stripTerminalControls);
}
