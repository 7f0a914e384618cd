/**
 * Tiny benchmark harness: per-call latency percentiles from individually timed calls, throughput from an untimed
 * loop, and results written to bench/results/<suite>.json. Absolute numbers on shared machines are noisy, so every
 * suite also measures a baseline in the same process and reports the ratio.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  /** null where a latency distribution does not apply (e.g. a sustained rate). */
  p50_us: number | null;
  p99_us: number | null;
  ops_per_s: number;
  iterations: number;
  target_p99_us?: number;
  meets_target?: boolean;
  baseline?: string;
  p50_ratio_to_baseline?: number;
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

function percentiles(samples: Float64Array): { p50: number; p99: number } {
  samples.sort();
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { p50: at(0.5) / 1000, p99: at(0.99) / 1000 };
}

export function benchSync(name: string, iterations: number, fn: (i: number) => unknown, target?: number): BenchResult {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(i);
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return finish(name, iterations, samples, seconds, target);
}

export async function benchAsync(
  name: string,
  iterations: number,
  fn: (i: number) => Promise<unknown>,
  target?: number,
): Promise<BenchResult> {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) await fn(i);
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return finish(name, iterations, samples, seconds, target);
}

/**
 * For operations that take milliseconds to seconds (a deadline firing, a work budget running out): `runs` timed
 * calls after one untimed warm-up (`warmUp` false skips it, for runs of seconds); the rate is derived from the same
 * calls, not from a separate loop.
 */
export async function benchSlow(name: string, runs: number, fn: (i: number) => Promise<unknown>, warmUp = true): Promise<BenchResult> {
  if (warmUp) await fn(-1);
  const samples = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return finish(name, runs, samples, samples.reduce((a, b) => a + b, 0) / 1e9);
}

function finish(name: string, iterations: number, samples: Float64Array, seconds: number, target?: number): BenchResult {
  const { p50, p99 } = percentiles(samples);
  const r: BenchResult = { name, p50_us: round(p50), p99_us: round(p99), ops_per_s: Math.round(iterations / seconds), iterations };
  if (target !== undefined) {
    r.target_p99_us = target;
    r.meets_target = p99 <= target;
  }
  return r;
}

export function relativeTo(result: BenchResult, baseline: BenchResult): BenchResult {
  return {
    ...result,
    baseline: baseline.name,
    p50_ratio_to_baseline: round((result.p50_us ?? 0) / Math.max(baseline.p50_us ?? 0, 0.001), 2),
  };
}

/** The load average when this suite's process started (each suite runs in its own process: bench/run.ts). */
const loadAtStart = loadavg();

/** The machine a result was measured on and how busy it was, start and end of the suite (1, 5, 15 min averages). */
export function machine(): Record<string, unknown> {
  const two = (xs: number[]) => xs.map((x) => round(x, 2));
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    load_average_start: two(loadAtStart),
    load_average_end: two(loadavg()),
  };
}

export function writeResults(suite: string, results: BenchResult[], extra: Record<string, unknown> = {}): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${suite}.json`);
  const doc = {
    suite,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    ...extra,
    // A suite's own machine fields (e.g. load around one phase) are added to these, never instead of them.
    machine: { ...machine(), ...(extra.machine as Record<string, unknown> | undefined) },
    results,
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

export function printResults(suite: string, results: BenchResult[]): void {
  process.stdout.write(`\n${suite}\n`);
  for (const r of results) {
    const target =
      r.target_p99_us === undefined ? '' : `  target p99 ≤ ${r.target_p99_us} µs: ${r.meets_target === true ? 'met' : 'MISSED'}`;
    const ratio = r.p50_ratio_to_baseline === undefined ? '' : `  ×${r.p50_ratio_to_baseline} of ${r.baseline ?? ''}`;
    const us = (v: number | null) => (v === null ? '-' : v.toFixed(3)).padStart(9);
    process.stdout.write(
      `  ${r.name.padEnd(44)} p50 ${us(r.p50_us)} µs  p99 ${us(r.p99_us)} µs  ${String(r.ops_per_s).padStart(10)} ops/s${ratio}${target}\n`,
    );
  }
}
