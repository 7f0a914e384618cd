/**
 * Load time of sandboxed extensions against pi's own loader (issue 18 item 4; the `first_extension_load_ms`,
 * `load_ms_per_extension_warm` and `load_150_s` fields of bench/results/bridge.json). Every figure is taken in
 * fresh child processes, the two arms alternating, median of `RUNS`:
 * - first extension: the time to load one extension in a process that has loaded none (pi: its loader's
 *   `discoverAndLoadExtensions`, jiti; sandboxed: `BridgeSession.load`: bundle, scan, boot, sandbox, factory).
 *   Opening the BridgeSession (runtime, evidence store) is timed apart (`bridge_open_ms`), as pi's own start-up is;
 * - warm: each further extension in the same process (the 10 bench fixtures after a first one);
 * - 150: 150 extensions (15 copies of each bench fixture, each its own folder and id) loaded one after the other.
 * The sandboxed arm runs with the caches on disk (bundles, the booted guest, scan verdicts) as an earlier session
 * left them (a warm-up child fills them); the same with empty caches is reported as `*_cold_cache`. It boots every
 * entry at load (`lazy: false`), so these figures stay comparable with earlier runs.
 * - lazy (ADR 0039): 150 copies of the bench fixtures whose recorded registrations let them wait for their first use
 *   (`LAZY_ELIGIBLE`), loaded with lazy sandboxes after a session recorded them, against the same files booted at
 *   load; with the resident memory per extension after a forced GC.
 *   child: node --expose-gc bench/bridgeLoad.ts <pi|sandboxed|lazy> <home> <cwd> <first> <path>...
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const RUNS = 5;
/** The bench fixtures with no start-up event and no read while loading: a recording lets them wait (see `lazy_entries`). */
export const LAZY_ELIGIBLE = ['bash-guard.ts', 'echo-tool.ts', 'protected-files.ts', 'result-redactor.ts', 'tool-timing.ts'];

interface ChildTimes {
  /** ms to open the BridgeSession (sandboxed) or 0 (pi) */
  readonly open_ms: number;
  /** ms to load the first path */
  readonly first_ms: number;
  /** ms to load each further path, in order */
  readonly each_ms: readonly number[];
  readonly failures: readonly string[];
  /** MiB resident after a forced GC, once the session is open and once every path is loaded (sandboxed arms). */
  readonly rss_open_mib?: number;
  readonly rss_loaded_mib?: number;
  /** Entries that wait for their first use (the lazy arm). */
  readonly lazy_entries?: number;
}

/** MiB resident after a forced GC (the child runs with --expose-gc). */
function settledRssMib(): number {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  return process.memoryUsage().rss / (1024 * 1024);
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function child(arm: string, home: string, cwd: string, paths: readonly string[]): Promise<ChildTimes> {
  const failures: string[] = [];
  if (arm === 'pi') {
    const pi = (await import('@earendil-works/pi-coding-agent')) as unknown as {
      discoverAndLoadExtensions(p: string[], cwd: string, agentDir?: string): Promise<{ errors: { error: string }[] }>;
    };
    const times: number[] = [];
    for (const p of paths) {
      const t0 = process.hrtime.bigint();
      const r = await pi.discoverAndLoadExtensions([p], cwd, process.env.PI_CODING_AGENT_DIR);
      times.push(ms(t0));
      failures.push(...r.errors.map((e) => e.error.split('\n')[0] ?? ''));
    }
    return { open_ms: 0, first_ms: times[0] ?? 0, each_ms: times.slice(1), failures };
  }
  const { BridgeSession } = await import('../src/pi/index.ts');
  const { locateExtensions } = await import('../src/extensions/index.ts');
  const { resolvePolicy } = await import('../src/policy/index.ts');
  const env = { ...process.env };
  let t0 = process.hrtime.bigint();
  const bridge = await BridgeSession.open({ cwd, home, env, policy: resolvePolicy({ env, cwd }), lazy: arm === 'lazy' });
  const open = ms(t0);
  const rssOpen = settledRssMib();
  const times: number[] = [];
  let lazy = 0;
  for (const p of paths) {
    const [ext] = locateExtensions(p);
    if (ext === undefined) throw new Error(`expected an extension at ${p}, found none`);
    t0 = process.hrtime.bigint();
    const loaded = await bridge.load(ext);
    times.push(ms(t0));
    lazy += loaded.filter((e) => e.lazy !== undefined).length;
  }
  const rssLoaded = settledRssMib();
  failures.push(...bridge.failures.map((f) => `${f.extensionId}: ${f.message}`));
  await bridge.close();
  return {
    open_ms: open,
    first_ms: times[0] ?? 0,
    each_ms: times.slice(1),
    failures,
    rss_open_mib: rssOpen,
    rss_loaded_mib: rssLoaded,
    lazy_entries: lazy,
  };
}

function runChild(arm: 'pi' | 'sandboxed' | 'lazy', home: string, cwd: string, paths: readonly string[]): ChildTimes {
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', here, arm, home, cwd, ...paths], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, HOME: home, PI_CODING_AGENT_DIR: join(home, 'agent'), PI_OFFLINE: '1' },
  });
  if (r.status !== 0) throw new Error(`expected the ${arm} load child to exit 0, found ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  const times = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ChildTimes;
  if (times.failures.length > 0)
    throw new Error(`expected every extension to load (${arm}), found: ${times.failures.slice(0, 3).join('; ')}`);
  return times;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** `files` copied `copies` times, each copy in its own folder (its own extension and id). */
function copies(root: string, files: readonly string[], count: number): string[] {
  const out: string[] = [];
  for (let c = 0; c < count; c++)
    for (const f of files) {
      const dir = join(root, `copy-${c}-${out.length}`);
      mkdirSync(dir, { recursive: true });
      const to = join(dir, 'index.ts');
      cpSync(f, to);
      out.push(to);
    }
  return out;
}

/** Load figures for the bridge results file; `fixtures` are the 10 bench extensions, `root` a scratch folder. */
export function loadFigures(root: string, fixtures: readonly string[]): Record<string, unknown> {
  const cwd = join(root, 'load-project');
  mkdirSync(cwd, { recursive: true });
  const ten = copies(join(root, 'load-ten'), fixtures, 1);
  const many = copies(join(root, 'load-150'), fixtures, 15);
  const warmHome = join(root, 'load-home-warm');
  // Fills the bundle cache on disk as an earlier session would have (and is not measured).
  runChild('sandboxed', warmHome, cwd, [...ten, ...many]);
  const arms = { pi: [] as ChildTimes[], sandboxed: [] as ChildTimes[], sandboxedCold: [] as ChildTimes[] };
  const armsMany = { pi: [] as ChildTimes[], sandboxed: [] as ChildTimes[], sandboxedCold: [] as ChildTimes[] };
  for (let i = 0; i < RUNS; i++) {
    const cold = join(root, `load-home-cold-${i}`);
    arms.pi.push(runChild('pi', warmHome, cwd, ten));
    arms.sandboxed.push(runChild('sandboxed', warmHome, cwd, ten));
    arms.sandboxedCold.push(runChild('sandboxed', cold, cwd, ten));
    rmSync(cold, { recursive: true, force: true });
  }
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const cold = join(root, `load-home-cold-many-${i}`);
    armsMany.pi.push(runChild('pi', warmHome, cwd, many));
    armsMany.sandboxed.push(runChild('sandboxed', warmHome, cwd, many));
    armsMany.sandboxedCold.push(runChild('sandboxed', cold, cwd, many));
    rmSync(cold, { recursive: true, force: true });
  }
  const first = (rs: readonly ChildTimes[]) => round(median(rs.map((r) => r.first_ms)), 1);
  const warm = (rs: readonly ChildTimes[]) => round(median(rs.map((r) => median(r.each_ms))), 2);
  const total = (rs: readonly ChildTimes[]) => round(median(rs.map((r) => (r.first_ms + sum(r.each_ms)) / 1000)), 3);
  return {
    first_extension_load_ms: first(arms.sandboxed),
    load_ms_per_extension_warm: warm(arms.sandboxed),
    load_150_s: total(armsMany.sandboxed),
    load: {
      method:
        'fresh child processes, the arms alternating, median of runs; pi = discoverAndLoadExtensions (jiti), sandboxed = BridgeSession.load (bundle, scan, boot, sandbox, factory) with the caches on disk (bundles, booted guest, scan verdicts) as an earlier session left them; cold_cache = empty caches',
      runs: RUNS,
      runs_150: Math.min(RUNS, 3),
      baseline_pi: {
        first_extension_load_ms: first(arms.pi),
        load_ms_per_extension_warm: warm(arms.pi),
        load_150_s: total(armsMany.pi),
      },
      cold_cache: {
        first_extension_load_ms: first(arms.sandboxedCold),
        load_ms_per_extension_warm: warm(arms.sandboxedCold),
        load_150_s: total(armsMany.sandboxedCold),
      },
      bridge_open_ms: round(median(arms.sandboxed.map((r) => r.open_ms)), 1),
    },
    lazy: lazyFigures(root, cwd, fixtures),
  };
}

/** 150 lazy-eligible extensions: loaded lazily once a session recorded them, against the same files booted at load. */
export function lazyFigures(root: string, cwd: string, fixtures: readonly string[]): Record<string, unknown> {
  const eligible = fixtures.filter((f) => LAZY_ELIGIBLE.some((name) => f.endsWith(`/${name}`)));
  const many = copies(join(root, 'lazy-150'), eligible, Math.ceil(150 / eligible.length)).slice(0, 150);
  const home = join(root, 'lazy-home');
  // The session before: fills the caches and records every entry's registrations (not measured).
  runChild('lazy', home, cwd, many);
  const runs = { lazy: [] as ChildTimes[], eager: [] as ChildTimes[] };
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    runs.eager.push(runChild('sandboxed', home, cwd, many));
    runs.lazy.push(runChild('lazy', home, cwd, many));
  }
  const total = (rs: readonly ChildTimes[]) => round(median(rs.map((r) => (r.first_ms + sum(r.each_ms)) / 1000)), 3);
  const rssEach = (rs: readonly ChildTimes[]) =>
    round(median(rs.map((r) => ((r.rss_loaded_mib ?? 0) - (r.rss_open_mib ?? 0)) / many.length)), 3);
  const lazyEntries = Math.min(...runs.lazy.map((r) => r.lazy_entries ?? 0));
  if (lazyEntries !== many.length)
    throw new Error(`expected all ${many.length} recorded extensions to load lazily, found ${lazyEntries}: the eligible list is stale`);
  return {
    load_150_s: total(runs.lazy),
    idle_rss_mib_per_extension: rssEach(runs.lazy),
    eager: { load_150_s: total(runs.eager), idle_rss_mib_per_extension: rssEach(runs.eager) },
    lazy_entries: lazyEntries,
    method:
      'fresh child processes, lazy and eager alternating, median of runs; 150 copies of the lazy-eligible bench fixtures after a session recorded them; RSS per extension = (RSS after loading - RSS after opening the session) / 150, each after a forced GC; eager = the same files with lazy: false',
    extensions: eligible.map((f) => `bench/fixtures/bridge/${f.slice(f.lastIndexOf('/') + 1)}`),
    runs: Math.min(RUNS, 3),
  };
}

if (process.argv[1] === here) {
  const [arm, home, cwd, ...paths] = process.argv.slice(2);
  const times = await child(arm ?? '', home ?? '', cwd ?? '', paths);
  process.stdout.write(`${JSON.stringify(times)}\n`);
  // Extensions may leave timers; the figures are taken.
  process.exit(0);
}
