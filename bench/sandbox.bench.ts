/**
 * Sandbox benchmarks (issue item 9) → bench/results/sandbox.json:
 * - cold start per extension (create the instance, install the runtime, load a cached bundle), p50/p99; target ≤ 20 ms p50
 * - idle memory per instance (QuickJS heap, WASM linear memory, process RSS growth); target ≤ 10 MiB
 * - hostcall round trip from guest code through dispatch, versus the same dispatch called directly and a plain call
 * - an event-handler workload in the sandbox versus the same extension loaded unsandboxed with jiti (pi's loader)
 */
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { createDispatcher, type Operation } from '../src/dispatch/index.ts';
import { hostOperations } from '../src/pi/index.ts';
import { HeadlessHost } from '../src/probe/index.ts';
import { resolvePolicy } from '../src/policy/settings.ts';
import { bundleEntry, hostBoot, Sandbox } from '../src/sandbox/index.ts';
import { benchAsync, benchSync, printResults, writeResults, type BenchResult } from './harness.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HELLO = join(ROOT, 'node_modules', '@earendil-works', 'pi-coding-agent', 'examples', 'extensions', 'hello.ts');
const WORKLOAD = join(ROOT, 'test', 'fixtures', 'extensions', 'workload.ts');
const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

function pct(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(3));
}

function setup() {
  const policy = resolvePolicy({ env: { HOME: tmpdir() }, cwd: tmpdir(), cliProfile: 'safe' });
  const host = new HeadlessHost({ cwd: tmpdir(), home: tmpdir() });
  const operations = new Map<string, Operation>(hostOperations(host));
  const dispatcher = createDispatcher({ policy: policy.compiled, operations });
  return { host, dispatcher, boot: hostBoot(tmpdir(), tmpdir()) };
}

async function coldStart(): Promise<Record<string, unknown>> {
  const { dispatcher, boot } = setup();
  const bundle = await bundleEntry(HELLO);
  const samples: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    const s = await Sandbox.create({ extensionId: `cold${i}`, dispatcher, boot });
    await s.load(bundle);
    samples.push(performance.now() - t);
    s.dispose();
  }
  const warm = samples.slice(10);
  return {
    extension: 'examples/extensions/hello.ts (bundle cached)',
    runs: warm.length,
    p50_ms: pct(warm, 0.5),
    p99_ms: pct(warm, 0.99),
    target_p50_ms: 20,
    meets_target: pct(warm, 0.5) <= 20,
  };
}

async function idleMemory(): Promise<Record<string, unknown>> {
  const { dispatcher, boot } = setup();
  const bundle = await bundleEntry(HELLO);
  gc?.();
  const before = process.memoryUsage().rss;
  const all: Sandbox[] = [];
  for (let i = 0; i < 50; i++) {
    const s = await Sandbox.create({ extensionId: `idle${i}`, dispatcher, boot });
    await s.load(bundle);
    all.push(s);
  }
  gc?.();
  const rssPer = (process.memoryUsage().rss - before) / all.length / MiB;
  const heap = all.reduce((n, s) => n + s.memoryUsed(), 0) / all.length / MiB;
  for (const s of all) s.dispose();
  return {
    instances: all.length,
    quickjs_heap_mib: Number(heap.toFixed(2)),
    rss_growth_per_instance_mib: Number(rssPer.toFixed(2)),
    target_mib: 10,
    meets_target: rssPer <= 10,
  };
}

async function roundTrip(): Promise<{ results: BenchResult[]; extra: Record<string, unknown> }> {
  const { dispatcher, boot } = setup();
  const s = await Sandbox.create({ extensionId: 'rt', dispatcher, boot });
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-bench-'));
  writeFileSync(
    join(dir, 'rt.ts'),
    `export default function (pi) {
    pi.on('loop', (e) => { let x; for (let i = 0; i < e.n; i++) x = pi.getSessionName(); return x ?? null; });
    pi.on('noop', () => null);
  }`,
  );
  await s.load(await bundleEntry(join(dir, 'rt.ts')));
  const N = 20_000;
  await s.emit('loop', { n: 2000 });
  const t = performance.now();
  await s.emit('loop', { n: N });
  const inGuestUs = ((performance.now() - t) * 1000) / N;
  const hostcall = { call_id: 'bench', method: 'pi.getSessionName', params: {} };
  const direct = benchSync('dispatchSync called directly (host)', 50_000, () => dispatcher.dispatchSync('rt', hostcall));
  const plain = benchSync('plain function call', 50_000, (i) => String(i));
  const entry = await benchAsync('one event into the guest and back (empty handler)', 2_000, () => s.emit('noop', {}));
  s.dispose();
  return {
    results: [direct, plain, entry],
    extra: {
      guest_hostcall_round_trip_us: Number(inGuestUs.toFixed(3)),
      direct_dispatch_p50_us: direct.p50_us,
      ratio_guest_to_direct_dispatch: Number((inGuestUs / Math.max(direct.p50_us ?? 0, 0.001)).toFixed(1)),
      note: 'the guest figure is pi.getSessionName() in a guest loop: guest shim + JSON both ways + dispatchSync (validate, capability, policy, record-free) + the operation',
    },
  };
}

async function workload(): Promise<Record<string, unknown>> {
  const events = [
    { toolCallId: 'a', toolName: 'bash', input: { command: 'ls -la src' } },
    { toolCallId: 'b', toolName: 'bash', input: { command: 'sudo rm -rf /' } },
    { toolCallId: 'c', toolName: 'write', input: { path: 'src/app/.env' } },
    { toolCallId: 'd', toolName: 'read', input: { path: 'README.md' } },
  ];
  const N = 4000;
  // Unsandboxed: pi's loader (jiti) and a direct handler call, as pi's runner does.
  const jiti = createJiti(import.meta.url, { moduleCache: false });
  const factory = await jiti.import<(pi: unknown) => void>(WORKLOAD, { default: true });
  const handlers = new Map<string, (e: unknown, ctx: unknown) => unknown>();
  factory({ on: (n: string, h: (e: unknown, ctx: unknown) => unknown) => handlers.set(n, h), registerTool: () => undefined });
  const h = handlers.get('tool_call')!;
  const blockedDirect = events.map((e) => h(structuredClone(e), {}));
  let t = performance.now();
  for (let i = 0; i < N; i++) await h(structuredClone(events[i % events.length]), {});
  const directUs = ((performance.now() - t) * 1000) / N;
  // Sandboxed.
  const { dispatcher, boot } = setup();
  const s = await Sandbox.create({ extensionId: 'workload', dispatcher, boot });
  await s.load(await bundleEntry(WORKLOAD));
  const blockedBox: unknown[] = [];
  for (const e of events) blockedBox.push((await s.emit('tool_call', e))[0]?.results[0]?.value);
  for (let i = 0; i < 500; i++) await s.emit('tool_call', events[i % events.length]!);
  t = performance.now();
  for (let i = 0; i < N; i++) await s.emit('tool_call', events[i % events.length]!);
  const boxUs = ((performance.now() - t) * 1000) / N;
  s.dispose();
  return {
    workload: 'tool_call gate (test/fixtures/extensions/workload.ts): 6 regexes on bash commands, path checks on write/edit',
    same_decisions: JSON.stringify(blockedDirect) === JSON.stringify(blockedBox),
    unsandboxed_jiti_us_per_event: Number(directUs.toFixed(2)),
    sandboxed_us_per_event: Number(boxUs.toFixed(2)),
    ratio_sandboxed_to_unsandboxed: Number((boxUs / Math.max(directUs, 0.001)).toFixed(1)),
  };
}

export async function run(): Promise<string> {
  const cold = await coldStart();
  const memory = await idleMemory();
  const rt = await roundTrip();
  const work = await workload();
  printResults('sandbox', rt.results);
  process.stdout.write(
    `  cold start p50 ${String(cold.p50_ms)} ms p99 ${String(cold.p99_ms)} ms; idle ${String(memory.rss_growth_per_instance_mib)} MiB RSS/instance; guest hostcall ${String(rt.extra.guest_hostcall_round_trip_us)} µs; workload ×${String(work.ratio_sandboxed_to_unsandboxed)}\n`,
  );
  return writeResults('sandbox', rt.results, {
    engine: 'quickjs-wasi 3.6.2 (ADR 0020)',
    cold_start: cold,
    idle_memory: memory,
    hostcall: rt.extra,
    event_workload: work,
  });
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await run();
