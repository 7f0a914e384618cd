/**
 * pi's `find` and `grep` tools, run on the confined fs operations (fileTools.ts). pi runs fd and ripgrep for
 * them: a child process that walks the tree with the user's rights, so a walk rooted at a granted `~` would read
 * `~/.ssh`. Here the walk lists every directory and reads every file through the confined operations: each one
 * is checked where the kernel says it is, and what the extension may not see is skipped and counted (`withheld`),
 * never read.
 *
 * Like fd and ripgrep: symlinks are not followed, `.git` and `node_modules` are skipped, `.gitignore` files are
 * honoured (plain patterns, `!` re-includes, `/` anchors, trailing `/` for folders; not global excludes or
 * `.ignore` files), binary files are not searched. Grep's pattern is a JavaScript regular expression (ripgrep's
 * syntax differs in places: possessive and Unicode-class forms); it runs in a worker thread with a deadline, so a
 * pattern that backtracks catastrophically ends in a `timeout` error instead of stalling the host.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { WardenError } from '../../errors.ts';
import { compileGlob, GlobBudget, type Glob } from './glob.ts';

/** One confined fs operation, run for the calling extension. */
/** A find or grep that was cancelled, waited too long for a matcher, had a bad pattern or ran past its deadline. */
export const SEARCH_REASONS = ['aborted', 'grep_busy', 'grep_pattern', 'grep_deadline'] as const;
export type SearchReason = (typeof SEARCH_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    search: SearchReason;
  }
}

export type FsCall = (method: string, params: Record<string, unknown>) => unknown;

export interface WalkEntry {
  readonly abs: string;
  /** Relative to the walk's root, `/`-separated. */
  readonly rel: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
}

export interface WalkCounts {
  /** Paths the file scope refused (not listed, not read). */
  withheld: number;
  /** The walk stopped at its entry limit. */
  truncated: boolean;
}

export const MAX_WALK_ENTRIES = 200_000;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** A `.gitignore` is read up to this many rules of at most this many characters (the rest is not applied). */
const MAX_IGNORE_RULES = 256;
const MAX_IGNORE_LINE = 256;
/** The walk gives the event loop a turn at least this often (ms), and checks for cancellation then. */
const YIELD_MS = 8;

interface IgnoreRule {
  readonly base: string;
  readonly glob: Glob;
  readonly negate: boolean;
  readonly dirOnly: boolean;
  readonly anchored: boolean;
}

function isDenied(err: unknown): boolean {
  return err instanceof WardenError && err.code === 'denied';
}

function parseIgnore(text: string, base: string, budget: GlobBudget): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (rules.length >= MAX_IGNORE_RULES) break;
    if (raw.length > MAX_IGNORE_LINE) continue;
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (line === '') continue;
    try {
      rules.push({ base, glob: compileGlob(line, false, budget), negate, dirOnly, anchored });
    } catch {
      // an over-complex line is skipped, as git skips lines it cannot read
    }
  }
  return rules;
}

function ignored(rules: readonly IgnoreRule[], rel: string, isDir: boolean): boolean {
  let out = false;
  for (const r of rules) {
    if (r.dirOnly && !isDir) continue;
    if (r.base !== '' && !rel.startsWith(`${r.base}/`)) continue;
    const local = r.base === '' ? rel : rel.slice(r.base.length + 1);
    const hit = r.anchored ? r.glob.matches(local) : r.glob.matches(local.slice(local.lastIndexOf('/') + 1));
    if (hit) out = !r.negate;
  }
  return out;
}

/**
 * Depth-first walk below `root` (a directory), in name order, through the confined operations. Yields files,
 * directories and symlinks (not followed); skips `.git`, `node_modules` and ignored paths.
 */
export async function* walk(
  call: FsCall,
  root: string,
  counts: WalkCounts,
  signal?: AbortSignal,
  budget: GlobBudget = new GlobBudget(),
  maxEntries = MAX_WALK_ENTRIES,
): AsyncGenerator<WalkEntry> {
  const stack: Array<{ abs: string; rel: string; rules: readonly IgnoreRule[] }> = [{ abs: root, rel: '', rules: [] }];
  let seen = 0;
  let turn = performance.now();
  const breathe = async () => {
    if (performance.now() - turn >= YIELD_MS) {
      await yieldToLoop();
      turn = performance.now();
    }
    if (signal?.aborted === true) throw new WardenError('timeout', 'the search was cancelled', { reasonCodes: ['aborted'] });
  };
  while (stack.length > 0) {
    const dir = stack.pop() as { abs: string; rel: string; rules: readonly IgnoreRule[] };
    await breathe();
    let entries: Array<{ name: string; type: WalkEntry['type'] }>;
    try {
      entries = call('fs.list', { path: dir.abs, withFileTypes: true }) as Array<{ name: string; type: WalkEntry['type'] }>;
    } catch (err) {
      if (isDenied(err)) counts.withheld++;
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let rules = dir.rules;
    if (entries.some((e) => e.name === '.gitignore' && e.type === 'file')) {
      try {
        rules = [...rules, ...parseIgnore(String(call('fs.read', { path: `${dir.abs}/.gitignore`, encoding: 'utf8' })), dir.rel, budget)];
      } catch (err) {
        if (isDenied(err)) counts.withheld++;
      }
    }
    const subdirs: Array<{ abs: string; rel: string; rules: readonly IgnoreRule[] }> = [];
    for (const e of entries) {
      if (++seen > maxEntries) {
        counts.truncated = true;
        return;
      }
      await breathe();
      const abs = dir.abs === '/' ? `/${e.name}` : `${dir.abs}/${e.name}`;
      const rel = dir.rel === '' ? e.name : `${dir.rel}/${e.name}`;
      if (e.type === 'dir' && SKIPPED_DIRS.has(e.name)) continue;
      if (ignored(rules, rel, e.type === 'dir')) continue;
      yield { abs, rel, type: e.type };
      if (e.type === 'dir') subdirs.push({ abs, rel, rules });
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as { abs: string; rel: string; rules: readonly IgnoreRule[] });
  }
}

/**
 * pi's FindOperations.glob: absolute paths below `root` matching `pattern` as fd reads it (a pattern without `/`
 * matches the name, with `/` the path, prefixed by `**∕` unless it starts with `/` or `**∕`; an all-lowercase
 * pattern matches case-insensitively), at most `limit`.
 */
export async function findFiles(
  call: FsCall,
  pattern: string,
  root: string,
  limit: number,
  counts: WalkCounts,
  signal?: AbortSignal,
): Promise<string[]> {
  const isPath = pattern.includes('/');
  let effective = pattern;
  if (isPath && !pattern.startsWith('/') && !pattern.startsWith('**/') && pattern !== '**') effective = `**/${pattern}`;
  const budget = new GlobBudget();
  const glob = compileGlob(effective, pattern === pattern.toLowerCase(), budget);
  const out: string[] = [];
  for await (const e of walk(call, root, counts, signal, budget)) {
    const subject = isPath ? (effective.startsWith('/') ? e.abs : e.rel) : e.rel.slice(e.rel.lastIndexOf('/') + 1);
    if (glob.matches(subject)) out.push(e.abs);
    if (out.length >= limit) break;
  }
  return out;
}

export interface GrepParams {
  readonly pattern: string;
  readonly glob?: string | undefined;
  readonly ignoreCase?: boolean | undefined;
  readonly literal?: boolean | undefined;
  readonly context?: number | undefined;
  readonly limit: number;
}

export interface GrepOutcome {
  readonly lines: string[];
  readonly matches: number;
  readonly limitReached: boolean;
  /** The output budget ran out: more lines may match. */
  readonly outputFull: boolean;
  readonly linesTruncated: boolean;
}

export const GREP_MAX_LINE = 500;
/** Files larger than this are skipped by grep (ripgrep would search them; the sandbox gets only the lines). */
export const GREP_MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Output grep collects at most (pi shows 50 KB); the matcher stops producing lines past it. */
export const GREP_OUTPUT_BUDGET = 64 * 1024;
/** Matcher threads running at once in the process; further greps wait their turn (within their deadline). */
const MAX_MATCHERS = 2;

/**
 * The matcher thread: plain JavaScript, no modules; one regular expression, one file's text per message. It
 * produces at most `budget` bytes of lines and `remaining` matches, so no file can make the reply large.
 */
const MATCHER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { source, flags, context, maxLine } = workerData;
const re = new RegExp(source, flags);
const cut = (s) => s.length <= maxLine ? [s, false] : [s.slice(0, maxLine) + '... [truncated]', true];
parentPort.on('message', ({ id, rel, text, remaining, budget }) => {
  const lines = text.split(/\\r?\\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const hits = [];
  for (let i = 0; i < lines.length && hits.length < remaining; i++) if (re.test(lines[i])) hits.push(i);
  const isHit = new Set(hits);
  const out = [];
  let truncated = false;
  let full = false;
  let bytes = 0;
  let last = -1;
  let matches = 0;
  for (const h of hits) {
    for (let i = Math.max(last + 1, h - context); i <= Math.min(lines.length - 1, h + context) && !full; i++) {
      const [t, tr] = cut(lines[i]);
      const line = isHit.has(i) ? rel + ':' + (i + 1) + ': ' + t : rel + '-' + (i + 1) + '- ' + t;
      bytes += line.length + 1;
      if (bytes > budget) { full = true; break; }
      truncated = truncated || tr;
      if (isHit.has(i)) matches++;
      out.push(line);
      last = i;
    }
    if (full) break;
  }
  parentPort.postMessage({ id, lines: out, matches, truncated, full });
});
`;

interface MatchReply {
  readonly lines: string[];
  readonly matches: number;
  readonly truncated: boolean;
  /** The output budget ran out in this file. */
  readonly full: boolean;
}

/** Turns for the matcher threads, first come first served. */
let matchersRunning = 0;
let matchersPeak = 0;
const matcherQueue: Array<() => void> = [];

/** Matcher threads running now and at most so far in this process (for tests and diagnostics). */
export function matcherStats(): { running: number; peak: number; limit: number } {
  return { running: matchersRunning, peak: matchersPeak, limit: MAX_MATCHERS };
}

function acquireMatcher(waitMs: number): Promise<void> {
  if (matchersRunning < MAX_MATCHERS) {
    matchersPeak = Math.max(matchersPeak, ++matchersRunning);
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const go = () => {
      clearTimeout(timer);
      matchersPeak = Math.max(matchersPeak, ++matchersRunning);
      resolve();
    };
    const timer = setTimeout(() => {
      const at = matcherQueue.indexOf(go);
      if (at >= 0) matcherQueue.splice(at, 1);
      reject(
        new WardenError('timeout', `grep: waited over ${waitMs} ms for a matcher thread (other searches are running)`, {
          reasonCodes: ['grep_busy'],
        }),
      );
    }, waitMs);
    matcherQueue.push(go);
  });
}

function releaseMatcher(): void {
  matchersRunning--;
  matcherQueue.shift()?.();
}

class Matcher {
  readonly #worker: Worker;
  #next = 1;
  #failed: Error | undefined;
  readonly #waiting = new Map<number, { resolve: (v: MatchReply) => void; reject: (e: Error) => void }>();

  constructor(source: string, flags: string, context: number) {
    this.#worker = new Worker(MATCHER_SOURCE, {
      eval: true,
      workerData: { source, flags, context, maxLine: GREP_MAX_LINE },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    this.#worker.unref();
    this.#worker.on('message', (m: MatchReply & { id: number }) => {
      this.#waiting.get(m.id)?.resolve(m);
      this.#waiting.delete(m.id);
    });
    this.#worker.on('error', (err: Error) => this.#fail(err));
    this.#worker.on('exit', () => this.#fail(new Error('the matcher thread stopped')));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const w of this.#waiting.values()) w.reject(err);
    this.#waiting.clear();
  }

  match(rel: string, text: string, remaining: number, budget: number): Promise<MatchReply> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, rel, text, remaining, budget });
    });
  }

  stop(): void {
    void this.#worker.terminate();
  }
}

function compilePattern(p: GrepParams): { source: string; flags: string } {
  const source = p.literal === true ? p.pattern.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : p.pattern;
  for (const flags of p.ignoreCase === true ? ['iu', 'i'] : ['u', '']) {
    try {
      new RegExp(source, flags);
      return { source, flags };
    } catch {
      // try without the u flag
    }
  }
  try {
    new RegExp(source);
  } catch (err) {
    throw new WardenError(
      'invalid_request',
      `grep: invalid pattern ${JSON.stringify(p.pattern.slice(0, 200))}: ${(err as Error).message}`,
      { reasonCodes: ['grep_pattern'] },
    );
  }
  return { source, flags: '' };
}

/**
 * Searches the files below `root` (or `root` itself when it is a file, shown by its base name) for `p.pattern`,
 * reading each through the confined operations. Rejects with `timeout` when the matching (or waiting for a matcher
 * thread) runs past `deadlineMs`. Collects at most GREP_OUTPUT_BUDGET bytes of lines (`limitReached` past it).
 */
export async function grepFiles(
  call: FsCall,
  p: GrepParams,
  root: string,
  isDirectory: boolean,
  counts: WalkCounts,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<GrepOutcome> {
  const { source, flags } = compilePattern(p);
  const budget = new GlobBudget();
  const filter = p.glob !== undefined && p.glob !== '' ? p.glob.replace(/^(!?)(?:\.\/)+/, '$1') : undefined;
  const negated = filter?.startsWith('!') === true;
  const fileGlob = filter === undefined ? undefined : compileGlob(negated ? filter.slice(1) : filter, false, budget);
  const wanted = (rel: string): boolean => {
    if (fileGlob === undefined) return true;
    const hit = fileGlob.matches(filter?.includes('/') === true ? rel : rel.slice(rel.lastIndexOf('/') + 1));
    return hit !== negated;
  };
  const started = Date.now();
  await acquireMatcher(deadlineMs);
  const matcher = new Matcher(source, flags, Math.max(0, Math.min(Math.floor(p.context ?? 0), 1000)));
  const lines: string[] = [];
  let matches = 0;
  let bytes = 0;
  let linesTruncated = false;
  try {
    const files: AsyncIterable<WalkEntry> | Iterable<WalkEntry> = isDirectory
      ? walk(call, root, counts, signal, budget)
      : [{ abs: root, rel: root.slice(root.lastIndexOf('/') + 1), type: 'file' }];
    for await (const f of files) {
      if (f.type !== 'file' || !wanted(f.rel)) continue;
      let text: string;
      try {
        // Size first: a file too large to search is not read (nor scanned) at all.
        const size = (call('fs.stat', { path: f.abs }) as { size: number }).size;
        if (size > GREP_MAX_FILE_BYTES) continue;
        // Whole (its size is checked): a `length` would make the broker's result scan read the file twice.
        text = String(call('fs.read', { path: f.abs, encoding: 'utf8' }));
      } catch (err) {
        if (isDenied(err)) counts.withheld++;
        continue;
      }
      if (text.slice(0, 8192).includes('\u0000')) continue; // binary
      const left = deadlineMs - (Date.now() - started);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new WardenError(
                'timeout',
                `grep: the pattern ran for over ${deadlineMs} ms (a pattern that backtracks heavily, e.g. nested repeats?); narrow it or the path`,
                { reasonCodes: ['grep_deadline'] },
              ),
            ),
          Math.max(1, left),
        );
      });
      let r: MatchReply;
      try {
        r = await Promise.race([matcher.match(f.rel, text, p.limit - matches, GREP_OUTPUT_BUDGET - bytes), late]);
      } finally {
        clearTimeout(timer);
      }
      for (const line of r.lines) {
        lines.push(line);
        bytes += line.length + 1;
      }
      matches += r.matches;
      linesTruncated ||= r.truncated;
      if (matches >= p.limit || r.full) return { lines, matches, limitReached: matches >= p.limit, outputFull: r.full, linesTruncated };
    }
    return { lines, matches, limitReached: false, outputFull: false, linesTruncated };
  } finally {
    matcher.stop();
    releaseMatcher();
  }
}
