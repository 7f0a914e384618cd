/**
 * Shell parser benchmark (bench/results/shell-parse.json, issue 17 item 6; ADR 0029): a new `sh -c` string's parse
 * cost (p50/p99 over a corpus of generated strings, each new), memory, and how the candidates read the same strings.
 * The corpus: 20,000 strings (PI_WARDEN_SHELL_CORPUS=200000 for ADR 0029's comparison) from a seeded generator of
 * commands, quoting, expansions, substitutions, pipes, lists, redirects, here-docs and compound commands, a third of
 * them broken by a random edit (what a parser must reject).
 *
 * mvdan-sh (in use) is always measured. The candidates are measured when PI_WARDEN_PARSER_CANDIDATES names a
 * node_modules folder holding them (`npm i sh-syntax web-tree-sitter tree-sitter-bash` in a scratch folder): they
 * are not dependencies of pi-warden.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sh from 'mvdan-sh';
import { parseUncached } from '../src/mediation/exec/shellParse.ts';
import { type BenchResult, printResults, writeResults } from './harness.ts';

/** mulberry32: a small seeded generator, so the corpus is the same on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROGRAMS = [
  'ls',
  'git',
  'rm',
  'echo',
  'cat',
  'grep',
  'sed',
  'awk',
  'find',
  'xargs',
  'curl',
  'node',
  'npm',
  'tar',
  'env',
  'sh',
  'bash',
  'timeout',
];
const WORDS = [
  '-rf',
  '-la',
  'status',
  'src/',
  '"a b"',
  "'x y'",
  '$HOME',
  '${X:-d}',
  '"$@"',
  '$(date)',
  '`id`',
  '~/.bashrc',
  '*.ts',
  '{a,b}',
  '--out=x',
  "$'\\x41'",
  '\\$x',
  '"$(echo "in")"',
  '<(ls)',
  '$((1+2))',
  'a=b',
  '-c',
  "'rm -rf ~'",
  '.',
];
const JOINS = [' | ', ' && ', ' || ', '; ', ' & ', '\n', ' |& '];
const REDIRECTS = ['> out', '2>&1', '< in', '<<< "x"', '>> log', '&> /dev/null', '>|f', '3<>/dev/tcp/h/80'];
const BREAKERS = `'"(){}|&;<>$\`\\[]`;

/** The corpus: `n` strings from `seed`. */
export function shellCorpus(n: number, seed = 17): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const simple = (): string => {
    const words = [pick(PROGRAMS)];
    for (let k = Math.floor(r() * 5); k > 0; k--) words.push(pick(WORDS));
    if (r() < 0.3) words.push(pick(REDIRECTS));
    if (r() < 0.1) words.unshift('X=1');
    return words.join(' ');
  };
  const command = (depth: number): string => {
    const c = r();
    if (depth > 2 || c < 0.55) return simple();
    if (c < 0.62) return `if ${simple()}; then ${list(depth + 1)}; fi`;
    if (c < 0.68) return `for i in a b $X; do ${list(depth + 1)}; done`;
    if (c < 0.74) return `( ${list(depth + 1)} )`;
    if (c < 0.8) return `{ ${list(depth + 1)}; }`;
    if (c < 0.85) return `while ${simple()}; do ${list(depth + 1)}; done`;
    if (c < 0.89) return `case $x in a) ${list(depth + 1)};; *) ${simple()};; esac`;
    if (c < 0.93) return `f() { ${list(depth + 1)}; }; f`;
    if (c < 0.97) return `cat <<${r() < 0.5 ? "'EOF'" : 'EOF'}\nbody $X \`id\`\nEOF`;
    return `sh -c "${simple().replace(/["\\$`]/g, '\\$&')}"`;
  };
  const list = (depth: number): string => {
    let s = command(depth);
    for (let k = Math.floor(r() * 3); k > 0; k--) s += pick(JOINS) + command(depth);
    return s;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = list(0);
    if (r() < 1 / 3) {
      const at = Math.floor(r() * (s.length + 1));
      s = r() < 0.5 ? s.slice(0, at) + pick([...BREAKERS]) + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
    }
    out.push(`${s} # ${i}`);
  }
  return out;
}

/** A parser under test: accepts or rejects a string, and names the simple commands it reads (plain names only). */
interface Candidate {
  readonly name: string;
  parse(src: string): { ok: boolean; programs?: string[] };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- untyped parsers */
const syntax: any = (sh as any).syntax;
const PLAIN = /^[A-Za-z0-9_./-]+$/;

const mvdanRaw: Candidate = {
  name: 'mvdan-sh 0.10.1 (GopherJS), parse only',
  parse(src) {
    try {
      syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(src, '');
      return { ok: true };
    } catch {
      return { ok: false };
    }
  },
};
const mvdanRead: Candidate = {
  name: 'mvdan-sh 0.10.1, parse and read (shellParse.ts, as classification uses it)',
  parse(src) {
    try {
      const p = parseUncached(src);
      return { ok: true, programs: p.commands.map((c) => c.argv[0] ?? '').filter((w) => PLAIN.test(w)) };
    } catch {
      return { ok: false };
    }
  },
};

const packageVersion = (modules: string, name: string): string =>
  (JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')) as { version: string }).version;

async function treeSitter(modules: string): Promise<Candidate> {
  const req = createRequire(join(modules, 'x.js'));
  const ts: any = await import(pathToFileURL(req.resolve('web-tree-sitter')).href);
  await ts.Parser.init();
  const lang = await ts.Language.load(join(modules, 'tree-sitter-bash', 'tree-sitter-bash.wasm'));
  const parser = new ts.Parser();
  parser.setLanguage(lang);
  const version = packageVersion(modules, 'web-tree-sitter');
  return {
    name: `web-tree-sitter ${version} + tree-sitter-bash (WASM), parse, error check and command names`,
    parse(src) {
      const tree = parser.parse(src);
      try {
        const root = tree.rootNode;
        if (root.hasError) return { ok: false };
        const programs: string[] = [];
        for (const n of root.descendantsOfType('command')) {
          const name = n.childForFieldName('name')?.text ?? '';
          if (PLAIN.test(name)) programs.push(name);
        }
        return { ok: true, programs };
      } finally {
        tree.delete();
      }
    },
  };
}

/** sh-syntax's only API instantiates its WASM module per call and is asynchronous: measured on a sample. */
async function shSyntax(modules: string): Promise<{ name: string; parse(src: string): Promise<{ ok: boolean; hasCommands: boolean }> }> {
  const req = createRequire(join(modules, 'x.js'));
  const m: any = await import(pathToFileURL(req.resolve('sh-syntax')).href);
  const version = packageVersion(modules, 'sh-syntax');
  return {
    name: `sh-syntax ${version} (mvdan/sh as WASM), parse (async, one instance per call)`,
    async parse(src) {
      try {
        const file = await m.parse(src);
        // Its JSON gives each statement's Cmd as position only: no words, no pipeline (what classification reads).
        const cmd = file?.Stmts?.[0]?.Cmd;
        return { ok: true, hasCommands: cmd !== undefined && Object.keys(cmd).some((k) => k !== 'Pos' && k !== 'End') };
      } catch {
        return { ok: false, hasCommands: false };
      }
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function percentile(sorted: Float64Array, q: number): number {
  return Number(((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000).toFixed(3));
}

/** Each string once (every string is new to the parser): latency per string, heap and RSS growth over the run. */
function measure(
  c: Candidate,
  corpus: readonly string[],
): { result: BenchResult; readings: Array<{ ok: boolean; programs?: string[] }>; memory: Record<string, number> } {
  for (let i = 0; i < 200; i++) c.parse(`warm ${i} | up`);
  const before = process.memoryUsage();
  let peakRss = before.rss;
  const samples = new Float64Array(corpus.length);
  const readings: Array<{ ok: boolean; programs?: string[] }> = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < corpus.length; i++) {
    const t0 = process.hrtime.bigint();
    readings.push(c.parse(corpus[i] as string));
    samples[i] = Number(process.hrtime.bigint() - t0);
    if ((i & 4095) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const after = process.memoryUsage();
  samples.sort();
  const mb = (x: number) => Number((x / 1048576).toFixed(1));
  return {
    result: {
      name: c.name,
      p50_us: percentile(samples, 0.5),
      p99_us: percentile(samples, 0.99),
      ops_per_s: Math.round(corpus.length / seconds),
      iterations: corpus.length,
      target_p99_us: 50,
      meets_target: percentile(samples, 0.99) <= 50,
    },
    readings,
    memory: {
      rss_before_mb: mb(before.rss),
      rss_peak_mb: mb(peakRss),
      heap_before_mb: mb(before.heapUsed),
      heap_after_mb: mb(after.heapUsed),
    },
  };
}

/** How a candidate's reading differs from mvdan-sh's, per string: looser (it accepts what mvdan rejects), stricter, or other names. */
function differences(
  base: ReadonlyArray<{ ok: boolean; programs?: string[] }>,
  other: ReadonlyArray<{ ok: boolean; programs?: string[] }>,
  corpus: readonly string[],
) {
  let looser = 0;
  let stricter = 0;
  let names = 0;
  const examples: Record<string, string[]> = { looser: [], stricter: [], names: [] };
  for (let i = 0; i < base.length; i++) {
    const a = base[i] as { ok: boolean; programs?: string[] };
    const b = other[i] as { ok: boolean; programs?: string[] };
    const note = (k: 'looser' | 'stricter' | 'names') => {
      if (k === 'looser') looser++;
      else if (k === 'stricter') stricter++;
      else names++;
      if ((examples[k] as string[]).length < 5) (examples[k] as string[]).push(corpus[i] as string);
    };
    const sameNames =
      a.programs === undefined || b.programs === undefined || [...a.programs].sort().join() === [...b.programs].sort().join();
    if (!a.ok && b.ok) note('looser');
    else if (a.ok && !b.ok) note('stricter');
    else if (a.ok && b.ok && !sameNames) note('names');
  }
  return { looser_accepts_what_mvdan_rejects: looser, stricter_rejects_what_mvdan_accepts: stricter, other_command_names: names, examples };
}

export async function run(): Promise<string> {
  const n = Number(process.env.PI_WARDEN_SHELL_CORPUS ?? 20_000);
  const corpus = shellCorpus(n);
  const results: BenchResult[] = [];
  const extra: Record<string, unknown> = { corpus: { strings: n, seed: 17, rejected_by_mvdan: 0 } };
  const raw = measure(mvdanRaw, corpus);
  const read = measure(mvdanRead, corpus);
  results.push(raw.result, read.result);
  (extra.corpus as Record<string, number>).rejected_by_mvdan = read.readings.filter((r) => !r.ok).length;
  extra.memory = { [mvdanRaw.name]: raw.memory, [mvdanRead.name]: read.memory };
  const modules = process.env.PI_WARDEN_PARSER_CANDIDATES;
  if (modules !== undefined) {
    const ts = await treeSitter(modules);
    const m = measure(ts, corpus);
    results.push(m.result);
    (extra.memory as Record<string, unknown>)[ts.name] = m.memory;
    extra.differences = { [ts.name]: differences(read.readings, m.readings, corpus) };
    const ss = await shSyntax(modules);
    const sample = corpus.slice(0, 2000);
    const samples = new Float64Array(sample.length);
    let looser = 0;
    let withCommands = 0;
    for (let i = 0; i < sample.length; i++) {
      const t0 = process.hrtime.bigint();
      const r = await ss.parse(sample[i] as string);
      samples[i] = Number(process.hrtime.bigint() - t0);
      if (r.ok && !(read.readings[i] as { ok: boolean }).ok) looser++;
      if (r.hasCommands) withCommands++;
    }
    samples.sort();
    results.push({
      name: ss.name,
      p50_us: percentile(samples, 0.5),
      p99_us: percentile(samples, 0.99),
      ops_per_s: 0,
      iterations: sample.length,
      target_p99_us: 50,
      meets_target: false,
    });
    (extra.differences as Record<string, unknown>)[ss.name] = {
      sample: sample.length,
      looser_accepts_what_mvdan_rejects: looser,
      statements_whose_command_has_words: withCommands,
    };
  }
  printResults('shell-parse', results);
  process.stdout.write(`${JSON.stringify(extra, null, 2)}\n`);
  return writeResults('shell-parse', results, extra);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
