/**
 * Exec benchmarks (bench/results/exec.json, issue 17): what the OS sandbox adds to starting a child, in one run.
 * Three arms, alternated call by call so a load spike on this shared machine falls on all of them, each through
 * `runChild` as the live host calls it (`/bin/true`, a scratch home and project):
 * 1. bare: the OS sandbox set `off` (the baseline);
 * 2. confined: bubblewrap with the view of the fs scope, no network (an extension without `http`);
 * 3. confined with the egress proxy: `http` granted, so a proxy on a unix socket and the forwarder inside;
 * and, to show where the time goes, building the view and the placeholders alone (no spawn).
 * Target (issue 17): at most 15 ms added at p50 for the confined arm. Every call is checked to have exited 0.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsScope } from '../src/mediation/index.ts';
import { confine, probeBubblewrap, type Confinement } from '../src/pi/confine/index.ts';
import { runChild } from '../src/pi/exec.ts';
import { egressRulesLookup } from '../src/policy/index.ts';
import { printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';

const RUNS = 150;
const TARGET_ADDED_P50_MS = 15;

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

function result(name: string, ns: number[]): BenchResult {
  const us = (x: number) => Number((x / 1000).toFixed(3));
  const total = ns.reduce((a, b) => a + b, 0) / 1e9;
  return {
    name,
    p50_us: us(percentile(ns, 0.5)),
    p99_us: us(percentile(ns, 0.99)),
    ops_per_s: Math.round(ns.length / total),
    iterations: ns.length,
  };
}

export async function run(): Promise<string> {
  const probe = probeBubblewrap();
  if (!probe.available) throw new Error(`exec bench: bubblewrap cannot run here (${probe.why})`);
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-exec-bench-')));
  try {
    const home = join(root, 'home');
    const project = join(root, 'project');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.bashrc'), '# rc\n');
    mkdirSync(join(project, '.git', 'hooks'), { recursive: true });
    const agent = join(home, '.pi', 'agent');
    const scope = new FsScope({
      layout: { projectRoot: project, home, agentDir: agent, wardenHome: join(agent, 'warden'), dataRoot: join(agent, 'warden', 'data') },
      env: { HOME: home },
    });
    const base: Confinement = { setting: 'on', scope, extensionId: 'bench', availability: probe };
    const http = egressRulesLookup({ user: { defaults: {}, overrides: {} }, project: undefined })('bench');
    const arms: ReadonlyArray<readonly [string, Confinement]> = [
      ['spawn /bin/true, bare (osSandbox off)', { ...base, setting: 'off' }],
      ['spawn /bin/true, bubblewrap, no network', base],
      ['spawn /bin/true, bubblewrap + egress proxy', { ...base, http }],
    ];
    const env = { PATH: '/usr/bin:/bin', HOME: home };
    const once = async (c: Confinement): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const r = await runChild({ cmd: '/bin/true' }, { cwd: project, env, isSecretName: () => false, confinement: c });
      const ns = Number(process.hrtime.bigint() - t0);
      if (r.code !== 0) throw new Error(`exec bench: /bin/true exited ${String(r.code)}: ${r.stderr}`);
      return ns;
    };
    // Where the time goes: building the view and the placeholders, without spawning anything.
    const prepare = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await (await confine(['/bin/true'], project, base)).release();
      return Number(process.hrtime.bigint() - t0);
    };
    const timed: ReadonlyArray<readonly [string, () => Promise<number>]> = [
      ...arms.map(([name, c]) => [name, () => once(c)] as const),
      ['confine() alone: view and placeholders, no spawn', prepare],
    ];
    for (const [, f] of timed) for (let i = 0; i < 5; i++) await f();
    const samples = timed.map(() => [] as number[]);
    const load = loadavg()[0];
    for (let i = 0; i < RUNS; i++) for (let a = 0; a < timed.length; a++) samples[a]!.push(await timed[a]![1]());
    const [bare, ...rest] = timed.map(([name], a) => result(name, samples[a]!));
    const results = [bare!, ...rest.map((r) => relativeTo(r, bare!))];
    const addedP50Ms = ((results[1]!.p50_us ?? 0) - (bare!.p50_us ?? 0)) / 1000;
    printResults('exec', results);
    process.stdout.write(`  bubblewrap adds ${addedP50Ms.toFixed(1)} ms at p50 (target ≤ ${TARGET_ADDED_P50_MS} ms)\n`);
    return writeResults('exec', results, {
      cpus: cpus().length,
      load_average_1m_at_start: load,
      load_average_1m_at_end: loadavg()[0],
      added_p50_ms: Number(addedP50Ms.toFixed(2)),
      target_added_p50_ms: TARGET_ADDED_P50_MS,
      meets_target: addedP50Ms <= TARGET_ADDED_P50_MS,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
