/**
 * Multi-pattern matching (Aho–Corasick) over UTF-16 code units: one linear pass finds every held secret in a
 * payload, whatever the number of patterns. Hand-written on purpose: the maintained npm implementation matches
 * on grapheme clusters, so a secret followed by a combining mark (`value + "\u0301"`) was not found — a bypass
 * for a secret scanner. Code units cannot be split that way. (ADR 0008.)
 */
export interface PatternMatch {
  readonly pattern: number;
  readonly end: number;
}

export class MultiMatcher {
  /** goto[state] maps a code unit to the next state. */
  readonly #goto: Array<Map<number, number>> = [new Map<number, number>()];
  readonly #fail: number[] = [0];
  readonly #out: number[][] = [[]];
  /** Code units that start some pattern: at the root state every other unit is skipped without a lookup. */
  readonly #starts = new Uint8Array(65536);

  constructor(patterns: readonly string[]) {
    patterns.forEach((p, id) => {
      if (p.length === 0) return;
      this.#starts[p.charCodeAt(0)] = 1;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let next = (this.#goto[s] as Map<number, number>).get(c);
        if (next === undefined) {
          next = this.#goto.length;
          this.#goto.push(new Map());
          this.#fail.push(0);
          this.#out.push([]);
          (this.#goto[s] as Map<number, number>).set(c, next);
        }
        s = next;
      }
      (this.#out[s] as number[]).push(id);
    });
    // Breadth-first failure links; outputs are merged along them.
    const queue: number[] = [];
    for (const next of (this.#goto[0] as Map<number, number>).values()) queue.push(next);
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi] as number;
      for (const [c, next] of this.#goto[s] as Map<number, number>) {
        queue.push(next);
        let f = this.#fail[s] as number;
        while (f !== 0 && !(this.#goto[f] as Map<number, number>).has(c)) f = this.#fail[f] as number;
        const g = (this.#goto[f] as Map<number, number>).get(c);
        this.#fail[next] = g !== undefined && g !== next ? g : 0;
        (this.#out[next] as number[]).push(...(this.#out[this.#fail[next]] as number[]));
      }
    }
  }

  get size(): number {
    return this.#goto.length;
  }

  /** Every match in `text` (pattern id and end offset), in one pass. */
  scan(text: string, limit = 64): PatternMatch[] {
    const found: PatternMatch[] = [];
    let s = 0;
    const starts = this.#starts;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (s === 0 && starts[c] === 0) continue;
      let next = (this.#goto[s] as Map<number, number>).get(c);
      while (next === undefined && s !== 0) {
        s = this.#fail[s] as number;
        next = (this.#goto[s] as Map<number, number>).get(c);
      }
      s = next ?? 0;
      const out = this.#out[s] as number[];
      if (out.length > 0) {
        for (const p of out) found.push({ pattern: p, end: i + 1 });
        if (found.length >= limit) return found;
      }
    }
    return found;
  }
}
