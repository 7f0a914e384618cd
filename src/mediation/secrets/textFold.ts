/**
 * What the secret matcher treats as the same text, per UTF-16 code unit so matching stays one linear pass:
 * letters compare case-insensitively (simple case folding, `x → lower(upper(x))` when both are one unit), and
 * default-ignorable code points (Unicode DerivedCoreProperties `Default_Ignorable_Code_Point`: zero-width
 * characters, soft hyphen, bidi controls, variation selectors, the tags block, ...) are skipped, so that
 * `s\u200bk-…` or `s\u00adk-…` renders as the value and is found as the value.
 */

/** BMP ranges of Default_Ignorable_Code_Point (Unicode 15.1, DerivedCoreProperties.txt). */
const IGNORABLE_BMP: ReadonlyArray<readonly [number, number]> = [
  [0x00ad, 0x00ad], // soft hyphen
  [0x034f, 0x034f], // combining grapheme joiner
  [0x061c, 0x061c], // arabic letter mark
  [0x115f, 0x1160], // hangul fillers
  [0x17b4, 0x17b5], // khmer inherent vowels
  [0x180b, 0x180f], // mongolian free variation selectors, vowel separator
  [0x200b, 0x200f], // zero-width space/non-joiner/joiner, LRM, RLM
  [0x202a, 0x202e], // bidi embeddings and overrides
  [0x2060, 0x206f], // word joiner, invisible operators, bidi isolates, deprecated format controls
  [0x3164, 0x3164], // hangul filler
  [0xfe00, 0xfe0f], // variation selectors 1-16
  [0xfeff, 0xfeff], // zero-width no-break space (BOM)
  [0xffa0, 0xffa0], // halfwidth hangul filler
  [0xfff0, 0xfff8], // unassigned specials
];

/** Supplementary ranges, as (high surrogate, low surrogate range): U+1BCA0–1BCA3, U+1D173–1D17A, U+E0000–E0FFF. */
const IGNORABLE_PAIRS: ReadonlyArray<readonly [number, number, number]> = [
  [0xd82f, 0xdca0, 0xdca3], // shorthand format controls
  [0xd834, 0xdd73, 0xdd7a], // musical symbol format controls
  [0xdb40, 0xdc00, 0xdfff], // tags, variation selectors 17-256 (U+E0000–E03FF)
  [0xdb41, 0xdc00, 0xdfff], // U+E0400–E07FF
  [0xdb42, 0xdc00, 0xdfff], // U+E0800–E0BFF
  [0xdb43, 0xdc00, 0xdfff], // U+E0C00–E0FFF
];

/** Per code unit: 0 plain, 1 ignorable, 2 a high surrogate that may start an ignorable pair. */
export const UNIT_IGNORABLE = 1;
export const UNIT_PAIR_START = 2;

let kinds: Uint8Array | undefined;
let folds: Uint16Array | undefined;

export function unitKinds(): Uint8Array {
  if (kinds !== undefined) return kinds;
  kinds = new Uint8Array(65536);
  for (const [from, to] of IGNORABLE_BMP) kinds.fill(UNIT_IGNORABLE, from, to + 1);
  for (const [high] of IGNORABLE_PAIRS) kinds[high] = UNIT_PAIR_START;
  return kinds;
}

/** Whether `high` `low` is an ignorable supplementary code point. */
export function ignorablePair(high: number, low: number): boolean {
  for (const [h, from, to] of IGNORABLE_PAIRS) if (h === high) return low >= from && low <= to;
  return false;
}

/** The BMP blocks with letter case (Latin to Georgian/Glagolitic/Coptic, Cyrillic and Latin extensions, Cherokee, fullwidth). */
const CASED_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [0x0000, 0x2dff],
  [0xa640, 0xabbf],
  [0xff00, 0xffef],
];

/** The folded code unit for every code unit (units without case, or whose folding is not one unit, map to themselves). */
export function unitFolds(): Uint16Array {
  if (folds !== undefined) return folds;
  folds = new Uint16Array(65536);
  for (let c = 0; c < 65536; c++) folds[c] = c;
  for (const [from, to] of CASED_BLOCKS)
    for (let c = from; c <= to; c++) {
      const s = String.fromCharCode(c);
      const upper = s.toUpperCase();
      const lower = (upper.length === 1 ? upper : s).toLowerCase();
      if (lower.length === 1) folds[c] = lower.charCodeAt(0);
    }
  return folds;
}

/** `text` as the matcher sees it: ignorable code points removed, every unit folded. */
export function foldText(text: string): string {
  return normalized(text, true);
}

/** `text` with its ignorable code points removed (case kept). */
export function stripIgnorable(text: string): string {
  return normalized(text, false);
}

function normalized(text: string, foldCase: boolean): string {
  const kind = unitKinds();
  const fold = unitFolds();
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const k = kind[c];
    if (k === UNIT_IGNORABLE) continue;
    if (k === UNIT_PAIR_START && i + 1 < text.length && ignorablePair(c, text.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    out += String.fromCharCode(foldCase ? (fold[c] as number) : c);
  }
  return out;
}

/**
 * How the text before `end` relates to `pattern` (already stripped of ignorables), read backwards as the matcher
 * read it forwards: undefined when the units differ beyond case, else whether any unit differed in case and
 * whether ignorable code points were skipped inside the match.
 */
export function compareBefore(text: string, end: number, pattern: string): { caseDiffers: boolean; ignorable: boolean } | undefined {
  const kind = unitKinds();
  const fold = unitFolds();
  let caseDiffers = false;
  let ignorable = false;
  let j = end - 1;
  for (let k = pattern.length - 1; k >= 0; k--, j--) {
    for (;;) {
      if (j < 0) return undefined;
      const c = text.charCodeAt(j);
      if (kind[c] === UNIT_IGNORABLE) {
        ignorable = true;
        j--;
      } else if (j > 0 && c >= 0xdc00 && c <= 0xdfff && ignorablePair(text.charCodeAt(j - 1), c)) {
        ignorable = true;
        j -= 2;
      } else break;
    }
    const c = text.charCodeAt(j);
    const p = pattern.charCodeAt(k);
    if (c === p) continue;
    if (fold[c] !== fold[p]) return undefined;
    caseDiffers = true;
  }
  return { caseDiffers, ignorable };
}
