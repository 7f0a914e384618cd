/**
 * Multi-pattern matching (Aho–Corasick) over UTF-16 code units: one linear pass finds every held secret in a
 * payload, whatever the number of patterns. Hand-written on purpose: the maintained npm implementation matches
 * on grapheme clusters, so a secret followed by a combining mark (`value + "\u0301"`) was not found — a bypass
 * for a secret scanner. Code units cannot be split that way. (ADR 0008.)
 *
 * With `normalize`, the pass also folds case and skips ignorable code points (textFold.ts) as it reads, so a
 * payload is never copied to be normalised.
 */
import { foldText, ignorablePair, UNIT_IGNORABLE, UNIT_PAIR_START, unitFolds, unitKinds } from './textFold.ts';

export interface PatternMatch {
  readonly pattern: number;
  /** The offset in the scanned text just after the match's last code unit. */
  readonly end: number;
}

export interface MatcherOptions {
  /** Match case-insensitively and skip ignorable code points inside the text (patterns are normalised the same way). */
  readonly normalize?: boolean;
}

export class MultiMatcher {
  /** The input alphabet: per code unit its symbol (0: in no pattern; `#ignore`: skipped; `#pair`: maybe skipped). */
  readonly #symbol = new Uint16Array(65536);
  readonly #symbols: number;
  readonly #ignore: number;
  readonly #pair: number;
  /** For a high surrogate that starts no ignorable pair here: its symbol. */
  readonly #pairSymbol = new Map<number, number>();
  /**
   * The automaton as a dense table (failure links resolved in advance): a state is the offset of its row, state ·
   * symbols, so one step is one load, `delta[state + symbol]`; an entry is negative (−offset − 1) when patterns
   * end in the state it leads to.
   */
  readonly #delta: Int32Array;
  /** Per state (row offset / symbols): the patterns that end there, merged along failure links. */
  readonly #out: number[][];
  readonly #states: number;

  constructor(patterns: readonly string[], options: MatcherOptions = {}) {
    const normalize = options.normalize === true;
    const ps = patterns.map((p) => (normalize ? foldText(p) : p));
    // Symbols: the distinct code units of the patterns, 1..n-1; everything else is 0.
    const own = new Uint16Array(65536);
    let n = 1;
    for (const p of ps) for (let i = 0; i < p.length; i++) if (own[p.charCodeAt(i)] === 0) own[p.charCodeAt(i)] = n++;
    this.#symbols = n + 2;
    this.#ignore = n;
    this.#pair = n + 1;
    if (normalize) {
      const fold = unitFolds();
      const kind = unitKinds();
      for (let c = 0; c < 65536; c++) {
        const k = kind[c];
        const sym = own[fold[c] as number] as number;
        if (k === UNIT_IGNORABLE) this.#symbol[c] = this.#ignore;
        else if (k === UNIT_PAIR_START) {
          this.#symbol[c] = this.#pair;
          this.#pairSymbol.set(c, sym);
        } else this.#symbol[c] = sym;
      }
    } else this.#symbol.set(own);
    // The trie.
    const next: Array<Map<number, number>> = [new Map<number, number>()];
    const out: number[][] = [[]];
    ps.forEach((p, id) => {
      if (p.length === 0) return;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const a = own[p.charCodeAt(i)] as number;
        let t = (next[s] as Map<number, number>).get(a);
        if (t === undefined) {
          t = next.length;
          next.push(new Map());
          out.push([]);
          (next[s] as Map<number, number>).set(a, t);
        }
        s = t;
      }
      (out[s] as number[]).push(id);
    });
    // Breadth-first: each state's row is its failure state's row with its own edges over it; outputs merge along
    // failure links.
    const states = next.length;
    const width = this.#symbols;
    const delta = new Int32Array(states * width);
    const fail = new Uint32Array(states);
    const queue: number[] = [];
    const row = (t: number) => ((out[t] as number[]).length > 0 ? -t * width - 1 : t * width);
    const state = (entry: number) => (entry < 0 ? -entry - 1 : entry) / width;
    for (const [a, t] of next[0] as Map<number, number>) {
      delta[a] = row(t);
      queue.push(t);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi] as number;
      const f = fail[s] as number;
      delta.copyWithin(s * width, f * width, f * width + width);
      for (const [a, t] of next[s] as Map<number, number>) {
        fail[t] = state(delta[f * width + a] as number);
        (out[t] as number[]).push(...(out[fail[t]] as number[]));
        delta[s * width + a] = row(t);
        queue.push(t);
      }
    }
    this.#delta = delta;
    this.#out = out;
    this.#states = states;
  }

  /** The number of automaton states (its table holds states × symbols entries). */
  get size(): number {
    return this.#states;
  }

  /** Every match in `text` (pattern id and end offset), in one pass, up to `limit`. */
  scan(text: string, limit = 64): PatternMatch[] {
    const found: PatternMatch[] = [];
    this.each(text, (pattern, end) => {
      found.push({ pattern, end });
      return found.length >= limit;
    });
    return found;
  }

  /** Calls `visit` for every match in `text`, in one pass; `visit` returns true to stop. */
  each(text: string, visit: (pattern: number, end: number) => boolean): void {
    const symbol = this.#symbol;
    const delta = this.#delta;
    const width = this.#symbols;
    const special = this.#ignore;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      let a = symbol[text.charCodeAt(i)] as number;
      if (a >= special) {
        if (a === special) continue;
        const c = text.charCodeAt(i);
        if (i + 1 < text.length && ignorablePair(c, text.charCodeAt(i + 1))) {
          i++;
          continue;
        }
        a = this.#pairSymbol.get(c) ?? 0;
      }
      s = delta[s + a] as number;
      if (s < 0) {
        s = -s - 1;
        for (const p of this.#out[s / width] as number[]) if (visit(p, i + 1)) return;
      }
    }
  }
}
