/**
 * Shell words after the parser: per-word flags for what the shell computes at run time, and bash brace expansion
 * (`r{m,}` → `rm r`, `-{r,f}` → `-r -f`, `{1..3}`), done here so a command is classified as it will run.
 */

/** Per-word flags. DYNAMIC: computed at run time (`$X`, `$(…)`, `$'\x72'`); GLOB: unquoted `* ? [` or an extglob. */
export const W_DYNAMIC = 1;
export const W_GLOB = 2;
/** The word came out of a brace expansion (`r{m,}`, `-{r,f}`); OVERFLOW: the expansion was cut short. */
export const W_BRACE = 4;
export const W_OVERFLOW = 8;
/** An extglob such as `*(…)`: in zsh a glob qualifier, which can run code (`*(e:'…':)`). */
export const W_EXTGLOB = 16;

/** One character of a word and whether the shell sees it unquoted (for brace expansion). */
export interface Tok {
  c: string;
  u: boolean;
}

/** Bash brace expansion of one word (`a{b,c}d`, `{1..3}`), at most `budget.n` words in all. */
function braceExpand(toks: Tok[], budget: { n: number }): Tok[][] {
  for (let i = 0; i < toks.length; i++) {
    if (toks[i]?.c !== '{' || toks[i]?.u !== true || (i > 0 && toks[i - 1]?.c === '$')) continue;
    let depth = 0;
    let close = -1;
    const commas: number[] = [];
    for (let j = i + 1; j < toks.length && close < 0; j++) {
      const t = toks[j] as Tok;
      if (!t.u) continue;
      if (t.c === '{') depth++;
      else if (t.c === '}') {
        if (depth === 0) close = j;
        else depth--;
      } else if (t.c === ',' && depth === 0) commas.push(j);
    }
    if (close < 0) continue;
    let alts: Tok[][];
    if (commas.length > 0) {
      alts = [];
      let from = i + 1;
      for (const c of [...commas, close]) {
        alts.push(toks.slice(from, c));
        from = c + 1;
      }
    } else {
      const seq = sequence(
        toks
          .slice(i + 1, close)
          .map((t) => t.c)
          .join(''),
        budget.n,
      );
      if (seq === undefined) continue;
      alts = seq.map((s) => [...s].map((c) => ({ c, u: false })));
    }
    const pre = toks.slice(0, i);
    const post = toks.slice(close + 1);
    const out: Tok[][] = [];
    for (const alt of alts) {
      for (const e of braceExpand([...pre, ...alt, ...post], budget)) {
        if (budget.n <= 0) return out;
        budget.n--;
        out.push(e);
      }
    }
    return out;
  }
  return [toks];
}

function sequence(body: string, max: number): string[] | undefined {
  const m = /^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$/.exec(body);
  if (m === null) return undefined;
  const [a, b] = [m[1] as string, m[2] as string];
  const num = /\d/.test(a);
  if (num !== /\d/.test(b)) return undefined;
  const from = num ? Number(a) : a.charCodeAt(0);
  const to = num ? Number(b) : b.charCodeAt(0);
  const step = Math.abs(Number(m[3] ?? 1)) || 1;
  const out: string[] = [];
  for (let v = from; from <= to ? v <= to : v >= to; v += from <= to ? step : -step) {
    out.push(num ? String(v) : String.fromCharCode(v));
    if (out.length > max) break;
  }
  return out;
}

/** The words of a command word after brace expansion, each with its flags. */
export function expand(
  w: { text: string; flags: number; braces: Tok[] | undefined },
  budget: { n: number },
): Array<{ text: string; flags: number }> {
  if (w.braces === undefined || !w.braces.some((t) => t.u && t.c === '}')) return [{ text: w.text, flags: w.flags }];
  const before = budget.n;
  const words = braceExpand(w.braces, budget);
  if (words.length === 1 && budget.n === before) return [{ text: w.text, flags: w.flags }];
  const flags = w.flags | W_BRACE | (budget.n <= 0 ? W_OVERFLOW : 0);
  return words.map((t) => ({ text: t.map((x) => x.c).join(''), flags }));
}
