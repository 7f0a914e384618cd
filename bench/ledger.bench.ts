/**
 * Evidence benchmarks (bench/results/ledger.json): sustained append rate with group commit, verify throughput
 * as a ratio to raw SHA-256 over the same bytes in the same run, checkpoint signing cost, and dispatch p99
 * with ledger recording on versus off. Targets: ≥ 100k entries/s, verify ≥ 0.5 of raw SHA-256, dispatch p99
 * with recording ≤ 50 µs.
 */
import { createHash, hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createDispatcher, type Operation } from '../src/dispatch/dispatcher.ts';
import type { DecisionRecord } from '../src/dispatch/record.ts';
import { signCheckpoint } from '../src/evidence/checkpoint.ts';
import { loadOrCreateKey } from '../src/evidence/keys.ts';
import { Frontier, leafHash } from '../src/evidence/merkle.ts';
import { verifyStore } from '../src/evidence/verify.ts';
import { EvidenceWriter } from '../src/evidence/writer.ts';
import { compilePolicy } from '../src/policy/precedence.ts';
import { rulesFor } from '../src/policy/settings.ts';
import { benchAsync, benchSync, printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';

const round = (x: number, d = 3) => Number(x.toFixed(d));

export async function run(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'pi-warden-bench-'));
  try {
    const policy = compilePolicy(rulesFor('safe', false));
    const N = Number(process.env.PI_WARDEN_BENCH_ENTRIES ?? 200_000);

    // 1. Sustained append: record as fast as the caller can, until a final flush says it is all durable.
    const writer = await EvidenceWriter.open(home, { telemetry: false });
    const base: Omit<DecisionRecord, 'call_id' | 'params'> = {
      ts_ms: Date.now(), extension_id: 'bench-ext', method: 'fs.read', capability: 'read', declared_capability: null, decision: 'allow',
      rule: 'default_caps', error_code: null, reason_codes: [], duration_ms: 0, stage: null, policy,
    };
    const t0 = process.hrtime.bigint();
    let recordNs = 0n;
    for (let i = 0; i < N; i++) {
      const r0 = process.hrtime.bigint();
      writer.record({ ...base, call_id: `c${i}`, params: { path: `/project/src/file-${i % 1000}.ts`, encoding: 'utf8' } });
      recordNs += process.hrtime.bigint() - r0;
      if (i % 4096 === 0) await new Promise((r) => setImmediate(r));
    }
    await writer.close();
    const appendSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const appendRate = Math.round(N / appendSeconds);

    // 2. Verify versus raw SHA-256 over the same entry bytes (read into memory first, untimed).
    const db = new DatabaseSync(join(home, 'warden.db'), { readOnly: true });
    const texts = (db.prepare('SELECT entry FROM ledger ORDER BY seq').all() as Array<{ entry: string }>).map((r) => r.entry);
    db.close();
    const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
    const publicKey = loadOrCreateKey(home).publicKey;
    const v0 = process.hrtime.bigint();
    const report = verifyStore(home, { publicKey });
    const verifySeconds = Number(process.hrtime.bigint() - v0) / 1e9;
    if (report.classification !== 'intact') throw new Error(`bench ledger is not intact: ${JSON.stringify(report.verification_errors.slice(0, 2))}`);
    const h0 = process.hrtime.bigint();
    for (const t of texts) hash('sha256', t);
    const perEntrySeconds = Number(process.hrtime.bigint() - h0) / 1e9;
    const b0 = process.hrtime.bigint();
    const bulk = createHash('sha256');
    for (const t of texts) bulk.update(t);
    bulk.digest();
    const bulkSeconds = Number(process.hrtime.bigint() - b0) / 1e9;
    const mb = bytes / 1e6;

    // 3. Checkpoint signing over a tree of N leaves.
    const key = loadOrCreateKey(home);
    const frontier = new Frontier();
    for (let i = 0; i < 1000; i++) frontier.append(leafHash(String(i)));
    frontier.size = N; // the root cost depends on the number of subtrees, not on N itself
    const signing = benchSync('checkpoint.sign (root + Ed25519)', 2000, () => signCheckpoint(key, frontier, Date.now()));

    // 4. Dispatch with the ledger on and off.
    const ops = new Map<string, Operation>([['fs.read', () => 'ok']]);
    const call = { call_id: 'c', method: 'fs.read', params: { path: '/project/src/index.ts' } };
    const off = createDispatcher({ policy, operations: ops });
    const ledgerHome = mkdtempSync(join(tmpdir(), 'pi-warden-bench-'));
    const recorder = await EvidenceWriter.open(ledgerHome);
    const on = createDispatcher({ policy, operations: ops, recorder, alerts: recorder });
    const M = 100_000;
    const dispatchOff = await benchAsync('dispatch.pipeline, ledger off', M, () => off.dispatch('ext', call), 50);
    const dispatchOn = relativeTo(await benchAsync('dispatch.pipeline, ledger + telemetry on', M, () => on.dispatch('ext', call), 50), dispatchOff);
    await recorder.close();
    rmSync(ledgerHome, { recursive: true, force: true });

    const results: BenchResult[] = [
      { name: 'ledger.record (caller side, mean per entry)', p50_us: round(Number(recordNs) / N / 1000), p99_us: null, ops_per_s: Math.round(N / (Number(recordNs) / 1e9)), iterations: N },
      { name: 'ledger.append sustained (durable, group commit)', p50_us: null, p99_us: null, ops_per_s: appendRate, iterations: N },
      signing, dispatchOff, dispatchOn,
    ];
    const verifyFigures = {
      entries: N, bytes, verify_seconds: round(verifySeconds), verify_mb_per_s: round(mb / verifySeconds, 1),
      raw_sha256_per_entry_mb_per_s: round(mb / perEntrySeconds, 1), raw_sha256_bulk_mb_per_s: round(mb / bulkSeconds, 1),
      ratio_to_raw_per_entry: round(perEntrySeconds / verifySeconds, 2), ratio_to_raw_bulk: round(bulkSeconds / verifySeconds, 2),
      target_ratio: 0.5,
    };
    printResults('ledger', results);
    process.stdout.write(`  append: ${appendRate} entries/s durable (target ≥ 100000): ${appendRate >= 100_000 ? 'met' : 'MISSED'}\n`);
    process.stdout.write(`  verify: ${verifyFigures.verify_mb_per_s} MB/s; raw SHA-256 per entry ${verifyFigures.raw_sha256_per_entry_mb_per_s} MB/s (ratio ${verifyFigures.ratio_to_raw_per_entry}), bulk ${verifyFigures.raw_sha256_bulk_mb_per_s} MB/s (ratio ${verifyFigures.ratio_to_raw_bulk}); target ratio ≥ 0.5\n`);
    return writeResults('ledger', results, { append_entries_per_s: appendRate, append_target: 100_000, verify: verifyFigures });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
