/**
 * Width of terminal text as pi's TUI measures it. pi stops with "Rendered line exceeds terminal width" when a
 * component returns a line wider than the terminal, so a sandboxed component's lines are cut with pi-tui's own
 * `truncateToWidth`: the pi-tui next to the pi running this process (found from its entry script), else the one
 * pi-warden was installed with. Without either, a conservative cut: every non-ASCII character counts as two columns,
 * so a line may end early but never overflows.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';

interface PiTuiText {
  readonly truncateToWidth: (text: string, width: number, ellipsis?: string) => string;
  readonly visibleWidth: (text: string) => number;
}

const SCOPES = ['@earendil-works/pi-tui', '@mariozechner/pi-tui'] as const;

let found: PiTuiText | undefined;

function fromPi(): PiTuiText | undefined {
  const bases: string[] = [];
  try {
    if (process.argv[1] !== undefined) bases.push(realpathSync(process.argv[1]));
  } catch {
    // not a file: no pi entry script to start from
  }
  bases.push(import.meta.url);
  for (const base of bases) {
    const require = createRequire(base);
    for (const name of SCOPES) {
      try {
        const m = require(name) as Partial<PiTuiText>;
        if (typeof m.truncateToWidth === 'function' && typeof m.visibleWidth === 'function')
          return { truncateToWidth: m.truncateToWidth, visibleWidth: m.visibleWidth };
      } catch {
        // not installed there
      }
    }
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const SGR = /\u001b\[[0-9;:]*m/g;

/** A cut that never overflows: ASCII is one column, anything else two; styling is kept, then reset. */
const conservative: PiTuiText = {
  visibleWidth: (text) => {
    let w = 0;
    for (const ch of text.replace(SGR, '')) w += ch.charCodeAt(0) < 0x7f ? 1 : 2;
    return w;
  },
  truncateToWidth: (text, width) => {
    let w = 0;
    let out = '';
    for (let i = 0; i < text.length;) {
      SGR.lastIndex = i;
      const m = text[i] === '\u001b' ? SGR.exec(text) : null;
      if (m !== null && m.index === i) {
        out += m[0];
        i += m[0].length;
        continue;
      }
      const ch = String.fromCodePoint(text.codePointAt(i) ?? 0x3f);
      const cw = ch.charCodeAt(0) < 0x7f ? 1 : 2;
      if (w + cw > width) return `${out}\u001b[0m`;
      w += cw;
      out += ch;
      i += ch.length;
    }
    return out;
  },
};

export function tuiText(): PiTuiText {
  found ??= fromPi() ?? conservative;
  return found;
}

/** A line as pi may draw it in `width` columns: one line (tabs and breaks as spaces), cut to the width. */
export function fitLine(line: string, width: number): string {
  const flat = /[\t\n\r]/.test(line) ? line.replace(/\t/g, '   ').replace(/[\n\r]/g, ' ') : line;
  const text = tuiText();
  if (text.visibleWidth(flat) <= width) return flat;
  const cut = text.truncateToWidth(flat, width, '');
  // belt and braces: pi stops the whole TUI on a line one column too wide
  return text.visibleWidth(cut) <= width ? cut : conservative.truncateToWidth(flat, width);
}
