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
import { WardenError } from '../errors.ts';
import { compileGlob, type Glob } from './glob.ts';

/** One confined fs operation, run for the calling extension. */
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
  /** Paths that could not be read (vanished, permissions). */
  unreadable: number;
  /** The walk stopped at its entry limit. */
  truncated: boolean;
}

export const MAX_WALK_ENTRIES = 200_000;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

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

function parseIgnore(text: string, base: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
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
      rules.push({ base, glob: compileGlob(line), negate, dirOnly, anchored });
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
export async function* walk(call: FsCall, root: string, counts: WalkCounts, signal?: AbortSignal, maxEntries = MAX_WALK_ENTRIES): AsyncGenerator<WalkEntry> {
  const stack: Array<{ abs: string; rel: string; rules: readonly IgnoreRule[] }> = [{ abs: root, rel: '', rules: [] }];
  let seen = 0;
  let listed = 0;
  while (stack.length > 0) {
    const dir = stack.pop() as { abs: string; rel: string; rules: readonly IgnoreRule[] };
    if (signal?.aborted === true) throw new WardenError('timeout', 'the search was cancelled', { reasonCodes: ['aborted'] });
    if (++listed % 64 === 0) await yieldToLoop();
    let entries: Array<{ name: string; type: WalkEntry['type'] }>;
    try {
      entries = call('fs.list', { path: dir.abs, withFileTypes: true }) as Array<{ name: string; type: WalkEntry['type'] }>;
    } catch (err) {
      if (isDenied(err)) counts.withheld++;
      else counts.unreadable++;
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let rules = dir.rules;
    if (entries.some((e) => e.name === '.gitignore' && e.type === 'file')) {
      try {
        rules = [...rules, ...parseIgnore(String(call('fs.read', { path: `${dir.abs}/.gitignore`, encoding: 'utf8' })), dir.rel)];
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
export async function findFiles(call: FsCall, pattern: string, root: string, limit: number, counts: WalkCounts, signal?: AbortSignal): Promise<string[]> {
  const isPath = pattern.includes('/');
  let effective = pattern;
  if (isPath && !pattern.startsWith('/') && !pattern.startsWith('**/') && pattern !== '**') effective = `**/${pattern}`;
  const glob = compileGlob(effective, pattern === pattern.toLowerCase());
  const out: string[] = [];
  for await (const e of walk(call, root, counts, signal)) {
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
  readonly linesTruncated: boolean;
}

export const GREP_MAX_LINE = 500;
/** Files larger than this are skipped by grep (ripgrep would search them; the sandbox gets only the lines). */
export const GREP_MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The matcher thread: plain JavaScript, no modules; one regular expression, one file's text per message. */
const MATCHER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { source, flags, context, maxLine } = workerData;
const re = new RegExp(source, flags);
const cut = (s) => s.length <= maxLine ? [s, false] : [s.slice(0, maxLine) + '... [truncated]', true];
parentPort.on('message', ({ id, rel, text, remaining }) => {
  const lines = text.split(/\\r?\\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const hits = [];
  for (let i = 0; i < lines.length && hits.length < remaining; i++) if (re.test(lines[i])) hits.push(i);
  const out = [];
  let truncated = false;
  let last = -1;
  for (const h of hits) {
    for (let i = Math.max(last + 1, h - context); i <= Math.min(lines.length - 1, h + context); i++) {
      const [t, tr] = cut(lines[i]);
      truncated = truncated || tr;
      const isHit = hits.includes(i);
      out.push(isHit ? rel + ':' + (i + 1) + ': ' + t : rel + '-' + (i + 1) + '- ' + t);
      last = i;
    }
  }
  parentPort.postMessage({ id, lines: out, matches: hits.length, truncated });
});
`;

class Matcher {
  readonly #worker: Worker;
  #next = 1;
  #failed: Error | undefined;
  readonly #waiting = new Map<number, { resolve: (v: { lines: string[]; matches: number; truncated: boolean }) => void; reject: (e: Error) => void }>();

  constructor(source: string, flags: string, context: number) {
    this.#worker = new Worker(MATCHER_SOURCE, { eval: true, workerData: { source, flags, context, maxLine: GREP_MAX_LINE }, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    this.#worker.unref();
    this.#worker.on('message', (m: { id: number; lines: string[]; matches: number; truncated: boolean }) => {
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

  match(rel: string, text: string, remaining: number): Promise<{ lines: string[]; matches: number; truncated: boolean }> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, rel, text, remaining });
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
    throw new WardenError('invalid_request', `grep: invalid pattern ${JSON.stringify(p.pattern.slice(0, 200))}: ${(err as Error).message}`, { reasonCodes: ['grep_pattern'] });
  }
  return { source, flags: '' };
}

/**
 * Searches the files below `root` (or `root` itself when it is a file, shown by its base name) for `p.pattern`,
 * reading each through the confined operations. Rejects with `timeout` when the matching runs past `deadlineMs`.
 */
export async function grepFiles(call: FsCall, p: GrepParams, root: string, isDirectory: boolean, counts: WalkCounts, deadlineMs: number, signal?: AbortSignal): Promise<GrepOutcome> {
  const { source, flags } = compilePattern(p);
  const filter = p.glob !== undefined && p.glob !== '' ? p.glob.replace(/^(!?)(?:\.\/)+/, '$1') : undefined;
  const negated = filter?.startsWith('!') === true;
  const fileGlob = filter === undefined ? undefined : compileGlob(negated ? filter.slice(1) : filter);
  const wanted = (rel: string): boolean => {
    if (fileGlob === undefined) return true;
    const hit = fileGlob.matches(filter?.includes('/') === true ? rel : rel.slice(rel.lastIndexOf('/') + 1));
    return hit !== negated;
  };
  const matcher = new Matcher(source, flags, Math.max(0, Math.min(Math.floor(p.context ?? 0), 1000)));
  const started = Date.now();
  const lines: string[] = [];
  let matches = 0;
  let linesTruncated = false;
  try {
    const files: AsyncIterable<WalkEntry> | Iterable<WalkEntry> = isDirectory
      ? walk(call, root, counts, signal)
      : [{ abs: root, rel: root.slice(root.lastIndexOf('/') + 1), type: 'file' }];
    for await (const f of files) {
      if (f.type !== 'file' || !wanted(f.rel)) continue;
      let data: Buffer;
      try {
        data = Buffer.from(String(call('fs.read', { path: f.abs })), 'base64');
      } catch (err) {
        if (isDenied(err)) counts.withheld++;
        else counts.unreadable++;
        continue;
      }
      if (data.length > GREP_MAX_FILE_BYTES || data.subarray(0, 8192).includes(0)) continue;
      const left = deadlineMs - (Date.now() - started);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new WardenError('timeout', `grep: the pattern ran for over ${deadlineMs} ms (a pattern that backtracks heavily, e.g. nested repeats?); narrow it or the path`, { reasonCodes: ['grep_deadline'] })), Math.max(1, left));
      });
      try {
        const r = await Promise.race([matcher.match(f.rel, data.toString('utf8'), p.limit - matches), late]);
        lines.push(...r.lines);
        matches += r.matches;
        linesTruncated ||= r.truncated;
      } finally {
        clearTimeout(timer);
      }
      if (matches >= p.limit) return { lines, matches, limitReached: true, linesTruncated };
    }
    return { lines, matches, limitReached: false, linesTruncated };
  } finally {
    matcher.stop();
  }
}
