/**
 * Glob matching for the confined `find` and `grep` tools (fileTools.ts), with fd's and ripgrep's reading of a
 * glob: `*` and `?` stay within one path component and match dotfiles, `**` crosses components, `**∕` also
 * matches nothing, `[...]`/`[!...]` classes, `{a,b}` alternatives.
 *
 * The pattern comes from an extension and runs outside the sandbox, so matching must not backtrack: it is a
 * set-of-positions simulation, O(tokens × length) per candidate whatever the pattern (a backtracking regex built
 * from `a*a*a*a*b` takes exponential time on a long name).
 */
import { WardenError } from '../../errors.ts';

/** A glob (or .gitignore rules) over the size or work budget. */
export const GLOB_REASONS = ['glob_too_complex'] as const;
export type GlobReason = (typeof GLOB_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    glob: GlobReason;
  }
}

type Token =
  | { readonly t: 'lit'; readonly c: string }
  | { readonly t: 'one' }
  | { readonly t: 'class'; readonly neg: boolean; readonly items: ReadonlyArray<readonly [string, string]> }
  | { readonly t: 'star' }
  | { readonly t: 'globstar' }
  /** `**∕`: nothing, or anything that ends with a `/`. */
  | { readonly t: 'globstarSlash' };

const MAX_PATTERN = 512;
const MAX_ALTERNATIVES = 32;

/**
 * Matching work left for one tool call, in token × character steps (a few ns each), shared by every glob of the
 * call (the pattern, each `.gitignore` rule): about 2 s of work. Spending it all is an error, not an endless search;
 * the walk gives the event loop turns meanwhile.
 */
export class GlobBudget {
  left: number;
  constructor(steps = 500_000_000) {
    this.left = steps;
  }
  spend(steps: number, pattern: string): void {
    this.left -= steps;
    if (this.left < 0) {
      throw new WardenError(
        'quota_exceeded',
        `glob matching ran out of its work budget (pattern ${JSON.stringify(pattern.slice(0, 60))}, or .gitignore rules): use a simpler pattern or a narrower path`,
        { reasonCodes: ['glob_too_complex'] },
      );
    }
  }
}

/** `{a,b}c` → `ac`, `bc` (nested braces too); a brace with no comma stays literal. */
function expandBraces(p: string, out: string[]): void {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '{') {
      if (depth++ === 0) open = i;
    } else if (ch === '}' && depth > 0 && --depth === 0) {
      const body = p.slice(open + 1, i);
      const parts: string[] = [];
      let d = 0;
      let from = 0;
      for (let j = 0; j < body.length; j++) {
        if (body[j] === '\\') j++;
        else if (body[j] === '{') d++;
        else if (body[j] === '}') d--;
        else if (body[j] === ',' && d === 0) {
          parts.push(body.slice(from, j));
          from = j + 1;
        }
      }
      if (parts.length === 0) continue; // `{x}`: literal braces
      parts.push(body.slice(from));
      for (const part of parts) {
        expandBraces(p.slice(0, open) + part + p.slice(i + 1), out);
        if (out.length > MAX_ALTERNATIVES)
          throw new WardenError(
            'invalid_request',
            `glob ${JSON.stringify(p.slice(0, 80))}: more than ${MAX_ALTERNATIVES} {…} alternatives`,
            { reasonCodes: ['glob_too_complex'] },
          );
      }
      return;
    }
  }
  out.push(p);
}

function tokenize(p: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] as string;
    if (ch === '\\' && i + 1 < p.length) {
      tokens.push({ t: 'lit', c: p[++i] as string });
    } else if (ch === '*') {
      let n = 1;
      while (p[i + 1] === '*') {
        i++;
        n++;
      }
      const atStart = i - n + 1 === 0 || p[i - n] === '/';
      if (n >= 2 && atStart && p[i + 1] === '/') {
        // `**/**/` is `**/`: consecutive ones add nothing but work.
        if (tokens[tokens.length - 1]?.t !== 'globstarSlash') tokens.push({ t: 'globstarSlash' });
        i++;
      } else {
        tokens.push({ t: n >= 2 && atStart && i + 1 === p.length ? 'globstar' : 'star' });
      }
    } else if (ch === '?') {
      tokens.push({ t: 'one' });
    } else if (ch === '[') {
      const close = p.indexOf(']', i + 2);
      if (close < 0) {
        tokens.push({ t: 'lit', c: '[' });
        continue;
      }
      let body = p.slice(i + 1, close);
      const neg = body.startsWith('!') || body.startsWith('^');
      if (neg) body = body.slice(1);
      const items: Array<[string, string]> = [];
      for (let j = 0; j < body.length; j++) {
        const a = body[j] as string;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          items.push([a, body[j + 2] as string]);
          j += 2;
        } else {
          items.push([a, a]);
        }
      }
      tokens.push({ t: 'class', neg, items });
      i = close;
    } else {
      tokens.push({ t: 'lit', c: ch });
    }
  }
  return tokens;
}

/** One token over the set of reachable positions `cur`, into `next` (both subject length + 1). */
function step(tok: Token, cur: Uint8Array, next: Uint8Array, text: string, nocase: boolean): void {
  const n = text.length;
  next.fill(0);
  switch (tok.t) {
    case 'lit': {
      const c = nocase ? tok.c.toLowerCase() : tok.c;
      for (let i = 0; i < n; i++) if (cur[i] === 1 && text[i] === c) next[i + 1] = 1;
      break;
    }
    case 'one':
      for (let i = 0; i < n; i++) if (cur[i] === 1 && text[i] !== '/') next[i + 1] = 1;
      break;
    case 'class':
      for (let i = 0; i < n; i++) {
        if (cur[i] !== 1 || text[i] === '/') continue;
        const c = text[i] as string;
        const inside = tok.items.some(([a, b]) => (c >= a && c <= b) || (nocase && c >= a.toLowerCase() && c <= b.toLowerCase()));
        if (inside !== tok.neg) next[i + 1] = 1;
      }
      break;
    case 'star':
      for (let i = 0; i <= n; i++) next[i] = cur[i] === 1 || (i > 0 && next[i - 1] === 1 && text[i - 1] !== '/') ? 1 : 0;
      break;
    case 'globstar':
      for (let i = 0; i <= n; i++) next[i] = cur[i] === 1 || (i > 0 && next[i - 1] === 1) ? 1 : 0;
      break;
    case 'globstarSlash': {
      let reached = false;
      for (let i = 0; i <= n; i++) {
        if (i > 0 && reached && text[i - 1] === '/') next[i] = 1;
        if (cur[i] === 1) {
          next[i] = 1;
          reached = true;
        }
      }
      break;
    }
  }
}

export interface Glob {
  /** Whether `text` (a `/`-separated path or a name) matches as a whole. */
  matches(text: string): boolean;
}

/**
 * Compiles `pattern`; `nocase` matches case-insensitively. Throws `invalid_request` for an over-complex glob, and
 * `quota_exceeded` from `matches` once `budget` is spent.
 */
export function compileGlob(pattern: string, nocase = false, budget: GlobBudget = new GlobBudget()): Glob {
  if (pattern.length > MAX_PATTERN)
    throw new WardenError('invalid_request', `glob is ${pattern.length} characters (at most ${MAX_PATTERN})`, {
      reasonCodes: ['glob_too_complex'],
    });
  const alternatives: string[] = [];
  expandBraces(nocase ? pattern.toLowerCase() : pattern, alternatives);
  const compiled = alternatives.map(tokenize);
  return {
    matches(text: string): boolean {
      const subject = nocase ? text.toLowerCase() : text;
      let a = new Uint8Array(subject.length + 1);
      let b = new Uint8Array(subject.length + 1);
      for (const tokens of compiled) {
        a.fill(0);
        a[0] = 1;
        let alive = true;
        for (const tok of tokens) {
          budget.spend(subject.length + 1, pattern);
          step(tok, a, b, subject, nocase);
          [a, b] = [b, a];
          if (!a.includes(1)) {
            alive = false;
            break;
          }
        }
        if (alive && a[subject.length] === 1) return true;
      }
      return false;
    },
  };
}
