/**
 * Incident bundle benchmarks (bench/results/bundle.json, issue 20): time to export and to verify a bundle of every
 * entry of a ledger of PI_WARDEN_BENCH_BUNDLE_ENTRIES (default 100,000), and of one extension's tenth of it, each
 * against raw SHA-256 over the same bundle bytes in the same run. Export includes the store's own verification and
 * replay (what a bundle carries); verify is `verifyBundleText` on the file's text (no store).
 */
import { hash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBundleText } from '../src/evidence/bundle/index.ts';
import { loadOrCreateKey } from '../src/evidence/keys.ts';
import type { DecisionRecord } from '../src/evidence/sinks.ts';
import { EvidenceWriter } from '../src/evidence/writer.ts';
import { exportBundle } from '../src/incident/bundle/index.ts';
import { compilePolicy } from '../src/policy/precedence.ts';
import { rulesFor } from '../src/policy/settings.ts';
import { writeResults, type BenchResult } from './harness.ts';

const round = (x: number, d = 3) => Number(x.toFixed(d));
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function timed(name: string, totalMs: number, iterations: number): BenchResult {
  return { name, p50_us: null, p99_us: null, ops_per_s: round(iterations / (totalMs / 1000), 1), iterations };
}

/** Median of `runs` timings of SHA-256 over `bytes` (ms). */
function rawSha(bytes: Buffer, runs = 5): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    hash('sha256', bytes, 'hex');
    t.push(ms(t0));
  }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
}

export async function run(): Promise<string> {
  const N = Number(process.env.PI_WARDEN_BENCH_BUNDLE_ENTRIES ?? 100_000);
  const home = mkdtempSync(join(tmpdir(), 'pi-warden-bundle-bench-'));
  const out = mkdtempSync(join(tmpdir(), 'pi-warden-bundle-out-'));
  try {
    const policy = compilePolicy(rulesFor('safe', false));
    const build0 = process.hrtime.bigint();
    const writer = await EvidenceWriter.open(home, { telemetry: false, bursts: { burst: Number.MAX_SAFE_INTEGER } });
    for (let i = 0; i < N; i++) {
      const r: DecisionRecord = {
        ts_ms: Date.now(),
        extension_id: `ext-${i % 10}`,
        call_id: `c${i}`,
        method: 'fs.read',
        capability: 'read',
        declared_capability: null,
        decision: 'allow',
        rule: 'default_caps',
        error_code: null,
        reason_codes: [],
        duration_ms: 0,
        stage: null,
        policy,
        params: { path: `/project/src/file-${i % 1000}.ts` },
      };
      writer.record(r);
      if (i % 4096 === 0) await new Promise((res) => setImmediate(res));
    }
    await writer.close();
    const buildMs = ms(build0);
    const key = loadOrCreateKey(home);
    const results: BenchResult[] = [];
    const extra: Record<string, unknown> = { entries: N, store_build_ms: round(buildMs, 1) };
    for (const [label, filter] of [
      ['all', {}],
      ['one_extension', { extension: 'ext-3' }],
      ['all_redacted', { redact: ['all'] as string[] }],
    ] as const) {
      const file = join(out, `${label}.json`);
      const e0 = process.hrtime.bigint();
      const r = await exportBundle({ home, out: file, ...filter });
      const exportMs = ms(e0);
      const text = readFileSync(file, 'utf8');
      const v0 = process.hrtime.bigint();
      const v = verifyBundleText(text, { publicKey: key.publicKey });
      const verifyMs = ms(v0);
      if (!v.ok) throw new Error(`bench bundle ${label} does not verify: ${JSON.stringify(v.failures.slice(0, 3))}`);
      const shaMs = rawSha(Buffer.from(text));
      results.push(
        timed(`export ${label} (${r.entries} entries)`, exportMs, r.entries),
        timed(`verify ${label} (${r.entries} entries)`, verifyMs, r.entries),
      );
      extra[label] = {
        entries: r.entries,
        bundle_bytes: r.bytes,
        export_ms: round(exportMs, 1),
        verify_ms: round(verifyMs, 1),
        raw_sha256_ms: round(shaMs, 2),
        export_ratio_to_raw_sha256: round(exportMs / shaMs, 1),
        verify_ratio_to_raw_sha256: round(verifyMs / shaMs, 1),
      };
    }
    extra['load_average_1m'] = round(loadavg()[0] ?? 0, 2);
    extra['note'] =
      'export includes the store verification and replay that go into the bundle; raw SHA-256 is one pass over the bundle file bytes. Telemetry off while building the store.';
    for (const [k, v] of Object.entries(extra)) process.stdout.write(`  ${k}: ${JSON.stringify(v)}\n`);
    return writeResults('bundle', results, extra);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}
