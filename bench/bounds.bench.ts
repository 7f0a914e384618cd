/**
 * Bounds benchmarks (bench/results/bounds.json): how long the work bounds take to end hostile input. The tests
 * check these bounds by behaviour (the deadline's error, the budget's error, the count of files read, an abort
 * landing mid-walk) and never by the clock, because a loaded machine stretches any duration (`.ci/run` once saw a
 * 5 s limit take 8.5 s); the times live here, each next to an in-process baseline of ordinary work on the same
 * machine, so a regression shows as a ratio rather than as a flaky test.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as pi from '@earendil-works/pi-coding-agent';
import { createDispatcher, DEFAULT_HOST_BYTES } from '../src/dispatch/index.ts';
import { openStore } from '../src/evidence/index.ts';
import { createRuntime } from '../src/runtime/createRuntime.ts';
import { policyFor } from '../test/helpers.ts';
import { analyseExec } from '../src/mediation/exec/stage.ts';
import { parseShell } from '../src/mediation/exec/shellParse.ts';
import { createFsOperations } from '../src/mediation/fs/operations.ts';
import { FsScope } from '../src/mediation/fs/scope.ts';
import { createHttpOperation } from '../src/mediation/http/operation.ts';
import { hostOperations } from '../src/pi/index.ts';
import { createFileToolOperation, type PiFileToolKit } from '../src/mediation/tools/fileTools.ts';
import { egressRulesLookup } from '../src/policy/egressSettings.ts';
import { HeadlessHost } from '../src/probe/index.ts';
import { resolvePolicy } from '../src/policy/settings.ts';
import { bundleEntry, hostBoot, Sandbox } from '../src/sandbox/index.ts';
import { benchSlow, benchSync, printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';

function put(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** Runs `fn`, which must fail with one of `reasons` (or a message matching it): the bound under test ended it. */
async function endsWith(reasons: RegExp, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as { reasonCodes?: string[]; message?: string };
    if ((e.reasonCodes ?? []).some((c) => reasons.test(c)) || reasons.test(e.message ?? '')) return;
    throw err;
  }
  throw new Error(`expected the call to end with ${String(reasons)}; it succeeded`);
}

async function fileTools(root: string): Promise<BenchResult[]> {
  const project = join(root, 'project');
  const home = join(root, 'home');
  mkdirSync(join(home, '.pi', 'agent'), { recursive: true });
  const scope = new FsScope({
    layout: {
      projectRoot: project,
      home,
      agentDir: join(home, '.pi', 'agent'),
      wardenHome: join(root, 'w'),
      dataRoot: join(root, 'w', 'data'),
    },
  });
  const kit = pi as unknown as PiFileToolKit;
  const op = createFileToolOperation({ kit, fs: createFsOperations({ scope }), projectRoot: project, home });
  const deadline300 = createFileToolOperation({ kit, fs: createFsOperations({ scope }), projectRoot: project, home, grepDeadlineMs: 300 });
  const ctx = { extensionId: 'ext', callId: 'b', capability: 'read' as const, signal: new AbortController().signal };
  for (let i = 0; i < 400; i++) put(join(project, 'globs', `${'n'.repeat(200)}${i}.ts`), '');
  for (let i = 0; i < 400; i++) put(join(project, 'ignored', `${'n'.repeat(200)}${i}.ts`), '');
  put(join(project, 'ignored', '.gitignore'), Array.from({ length: 2000 }, (_, i) => `${'*n'.repeat(60)}${i}`).join('\n'));
  put(join(project, 'redos', 'x.txt'), `${'a'.repeat(40)}!\n`);
  let deep = join(project, 'amp');
  for (let i = 0; i < 12; i++) deep = join(deep, 'd'.repeat(200));
  for (let f = 0; f < 4; f++) put(join(deep, `f${f}.txt`), 'b\n'.repeat(60_000));
  const find = (pattern: string, path: string) => Promise.resolve(op({ name: 'find', input: { pattern, path } }, ctx));

  const plain = await benchSlow('find *.ts over 400 long names (baseline)', 10, () => find('*.ts', 'globs'));
  const pathological = `${'{*n,n*}'.repeat(5)}${'*n'.repeat(120)}x`;
  const glob = relativeTo(
    await benchSlow(
      'find, pathological glob until its work budget ends it',
      2,
      () => endsWith(/glob_too_complex/, () => find(pathological, 'globs')),
      false,
    ),
    plain,
  );
  const ignore = relativeTo(
    await benchSlow(
      'find *.ts under a 2000-rule .gitignore (rule cap, budget)',
      2,
      () =>
        find('*.ts', 'ignored').catch((e: unknown) =>
          endsWith(/glob_too_complex/, () => {
            throw e;
          }),
        ),
      false,
    ),
    plain,
  );
  const amp = relativeTo(
    await benchSlow('grep, context 1000 over 60k tiny lines until the output budget', 3, () =>
      Promise.resolve(op({ name: 'grep', input: { pattern: '^b$', path: 'amp', context: 1000, limit: 1_000_000 } }, ctx)),
    ),
    plain,
  );
  const redos = await benchSlow('grep, catastrophic pattern until its 300 ms deadline', 3, () =>
    endsWith(/grep_deadline/, () => deadline300({ name: 'grep', input: { pattern: '^(a+)+$', path: 'redos' } }, ctx)),
  );
  return [plain, glob, ignore, amp, redos];
}

function exec(): BenchResult[] {
  let fresh = 0;
  const words = 2 + 3 * 160 + 1;
  const flat = benchSync(`parse a flat command of ${words} words (baseline)`, 20, () =>
    parseShell(`echo ${'a . b '.repeat(160)}c # ${fresh++}`),
  );
  const nested = relativeTo(
    benchSync(`parse find with 160 nested -exec (${words} words)`, 20, () =>
      parseShell(`find . ${'-exec find . '.repeat(160)}\\; # ${fresh++}`),
    ),
    flat,
  );
  const argv = benchSync('classify argv git status (baseline)', 20_000, () => analyseExec({ cmd: 'git', args: ['status', '--short'] }));
  const chainArgs = ['-9', ...Array.from({ length: 200 }, () => ['strace', '-9']).flat(), 'ls'];
  const chain = relativeTo(
    benchSync('classify 200 nested strace with unknown options (work budget)', 20, () => analyseExec({ cmd: 'strace', args: chainArgs })),
    argv,
  );
  const tmuxArgs = ['new', ...Array.from({ length: 3000 }, (_, i) => `w${i} x`)];
  const many = relativeTo(
    benchSync('classify tmux with 3000 command strings (work budget)', 20, () => analyseExec({ cmd: 'tmux', args: tmuxArgs })),
    argv,
  );
  return [flat, nested, argv, chain, many];
}

async function sandboxDeadline(root: string): Promise<BenchResult[]> {
  const policy = resolvePolicy({ env: { HOME: root }, cwd: root, cliProfile: 'safe' });
  const dispatcher = createDispatcher({
    policy: policy.compiled,
    operations: new Map(hostOperations(new HeadlessHost({ cwd: root, home: root }))),
  });
  const file = join(root, 'loop.ts');
  writeFileSync(
    file,
    "export default function (pi: any) { pi.on('loop', () => { for (;;) { /* spin */ } }); pi.on('ping', () => 'pong'); }\n",
  );
  const bundle = await bundleEntry(file);
  const load = async (i: number) => {
    const s = await Sandbox.create({
      extensionId: `loop${i}`,
      dispatcher,
      boot: hostBoot(root, root),
      limits: { cpuMsPerEntry: 100, wallTimeMs: 10_000 },
    });
    await s.load(bundle);
    return s;
  };
  const calm = await load(-2);
  const ping = await benchSlow('an event into the guest and back (baseline)', 50, () => calm.emit('ping', {}));
  calm.dispose();
  const ready: Sandbox[] = [];
  for (let i = -1; i < 3; i++) ready.push(await load(i));
  const stop = relativeTo(
    await benchSlow('an endless loop until the 100 ms CPU deadline stops it', 3, (i) =>
      endsWith(/timeout|cpu_deadline/, () => (ready[i + 1] as Sandbox).emit('loop', {})),
    ),
    ping,
  );
  return [ping, stop];
}

async function httpTimeout(): Promise<BenchResult[]> {
  const server = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const op = createHttpOperation({
    rules: egressRulesLookup({ user: { defaults: { allowPrivate: ['127.0.0.1'] }, overrides: {} }, project: undefined }),
  });
  const ctx = { extensionId: 'ext', callId: 'h', capability: 'http' as const, signal: new AbortController().signal };
  const r = await benchSlow('http to a server that never answers, until timeoutMs 150', 3, () =>
    endsWith(/http_timeout/, () => op({ url, timeoutMs: 150 }, ctx)),
  );
  server.closeAllConnections();
  await new Promise<void>((res) => server.close(() => res()));
  return [r];
}

async function fifoSettings(root: string): Promise<BenchResult[]> {
  const cwd = join(root, 'fifo');
  mkdirSync(join(cwd, '.pi'), { recursive: true });
  execFileSync('mkfifo', [join(cwd, '.pi', 'settings.json')]);
  const env = { HOME: root, PI_CODING_AGENT_DIR: join(root, 'agent') };
  const plainCwd = join(root, 'plain');
  mkdirSync(join(plainCwd, '.pi'), { recursive: true });
  writeFileSync(join(plainCwd, '.pi', 'settings.json'), '{}');
  const plain = await benchSlow('resolve settings, project file a regular file (baseline)', 50, async () =>
    resolvePolicy({ cwd: plainCwd, env }),
  );
  const fifo = relativeTo(
    await benchSlow('resolve settings, project file a FIFO (refused, not read)', 50, async () => {
      if (resolvePolicy({ cwd, env }).errors.length === 0) throw new Error('the FIFO must be an error');
    }),
    plain,
  );
  return [plain, fifo];
}

/**
 * What one hostile extension costs the host under the default budgets (issue 16 item 5): the event loop's delay
 * next to 20 timers each busy 900 ms (vs a calm neighbour), bytes held under 90 stalled 15 MiB downloads, and store
 * growth under a flood of identical refusals. The tests assert the bounds by counts; the times and sizes are here.
 */
export async function hostBudgets(root: string): Promise<Record<string, unknown>> {
  const loopDelay = async (busyMs: number): Promise<{ max_ms: number; p99_ms: number; stopped: string | null }> => {
    const dir = mkdtempSync(join(root, 'loop-'));
    const file = join(dir, 'ext.ts');
    writeFileSync(
      file,
      `export default function (pi: any) { pi.on('go', () => { for (let i = 0; i < 20; i++) setTimeout(() => { const t = Date.now(); while (Date.now() - t < ${busyMs}) {} }, 10 * i); }); }\n`,
    );
    const host = new HeadlessHost({ cwd: dir, home: dir });
    const policy = resolvePolicy({ cliProfile: 'permissive', env: { HOME: dir }, cwd: dir });
    const d = createDispatcher({ policy: policy.compiled, operations: new Map(hostOperations(host)) });
    const s = await Sandbox.create({ extensionId: 'neighbour', dispatcher: d, boot: hostBoot(dir, dir) });
    await s.load(await bundleEntry(file));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    await s.emit('go', {});
    await new Promise((r) => setTimeout(r, 20 * 10 + 2000));
    h.disable();
    const out = { max_ms: round1(h.max / 1e6), p99_ms: round1(h.percentile(99) / 1e6), stopped: s.stopped?.reasonCodes[0] ?? null };
    s.dispose();
    return out;
  };
  const hostile = await loopDelay(900);
  const calm = await loopDelay(1);

  const server = createServer((_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 15; i++) res.write(chunk);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const home = mkdtempSync(join(root, 'rt-'));
  const rt = await createRuntime({
    home,
    policy: policyFor({
      user: { extensionPolicy: { profile: 'permissive', defaultCaps: ['http'], http: { allowPrivate: ['127.0.0.1'] } } },
    }),
    realHttp: true,
  });
  const rssBefore = process.memoryUsage().rss;
  const calls = Array.from({ length: 90 }, (_, i) => rt.dispatcher.dispatch('hog', { call_id: `d${i}`, method: 'http', params: { url } }));
  await Promise.all(calls);
  const download = {
    calls: 90,
    bytes_held_peak: rt.hostBytes.peak('hog'),
    budget_bytes: DEFAULT_HOST_BYTES,
    rss_growth_mib: round1((process.memoryUsage().rss - rssBefore) / 1048576),
    quarantined: rt.trust.stateOf('hog') === 'quarantined',
  };
  server.closeAllConnections();
  server.close();

  const FLOOD = 20_000;
  const started = performance.now();
  for (let i = 0; i < FLOOD; i++) await rt.dispatcher.dispatch('flooder', { call_id: `f${i}`, method: 'exec', params: { cmd: 'curl' } });
  const floodMs = performance.now() - started;
  await rt.close();
  const db = openStore(home, { readOnly: true });
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM ledger WHERE entry LIKE \'%"extension_id":"flooder"%\'').get() as { n: number }).n;
  db.close();
  return {
    event_loop_delay: { hostile_neighbour: hostile, calm_neighbour: calm },
    stalled_downloads: download,
    refusal_flood: {
      refusals: FLOOD,
      seconds: round1(floodMs / 1000),
      ledger_rows: rows,
      store_bytes: statSync(join(home, 'warden.db')).size,
    },
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export async function run(): Promise<string> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-bench-bounds-')));
  try {
    const results = [
      ...(await fileTools(root)),
      ...exec(),
      ...(await sandboxDeadline(root)),
      ...(await httpTimeout()),
      ...(await fifoSettings(root)),
    ];
    printResults('bounds', results);
    const budgets = await hostBudgets(root);
    process.stdout.write(`  host budgets: ${JSON.stringify(budgets)}\n`);
    return writeResults('bounds', results, {
      note: 'times of the work bounds the tests check by behaviour; ratios are to the baseline named in each row',
      host_budgets: budgets,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
