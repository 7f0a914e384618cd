/**
 * Evidence benchmarks (bench/results/ledger.json): sustained append rate with group commit, verify throughput
 * as a ratio to raw SHA-256 over the same bytes in the same run, checkpoint signing cost, and dispatch p99
 * with ledger recording on versus off. Targets: ≥ 100k entries/s, verify ≥ 0.5 of raw SHA-256, dispatch p99
 * with recording ≤ 50 µs.
 */
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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

    // 2. Verify versus raw SHA-256 over exactly the bytes verify must hash: each entry's RFC 6962 leaf input
    // 0x00 ‖ entry, as stored, read into memory first (untimed). The baseline is the fastest per-entry form
    // node:crypto offers (one-shot hash() of a Buffer, binary digest), without the interior nodes, reading,
    // link checks and checkpoints that verify also does; the bulk figure hashes all bytes as one message.
    const db = new DatabaseSync(join(home, 'warden.db'), { readOnly: true });
    const leaves: Buffer[] = [];
    for (const r of db.prepare('SELECT entries FROM ledger_chunks ORDER BY id').all() as Array<{ entries: Uint8Array }>) {
      const body = Buffer.from(r.entries);
      for (let pos = 0; pos < body.length;) {
        let end = body.indexOf(0, pos + 1);
        if (end < 0) end = body.length;
        leaves.push(body.subarray(pos, end));
        pos = end;
      }
    }
    db.close();
    if (leaves.length !== N) throw new Error(`read ${leaves.length} leaves, expected ${N}`);
    const bytes = leaves.reduce((a, t) => a + t.length, 0);
    const all = Buffer.concat(leaves);
    const publicKey = loadOrCreateKey(home).publicKey;
    const timeVerify = (threads: number): number => {
      const v0 = process.hrtime.bigint();
      const report = verifyStore(home, { publicKey, threads });
      const seconds = Number(process.hrtime.bigint() - v0) / 1e9;
      if (report.classification !== 'intact' || report.entries_checked !== N) throw new Error(`bench ledger is not intact: ${JSON.stringify(report.verification_errors.slice(0, 2))}`);
      return seconds;
    };
    const timeRaw = (): number => {
      const h0 = process.hrtime.bigint();
      for (const t of leaves) hash('sha256', t, 'binary');
      return Number(process.hrtime.bigint() - h0) / 1e9;
    };
    const timeBulk = (): number => {
      const b0 = process.hrtime.bigint();
      hash('sha256', all, 'binary');
      return Number(process.hrtime.bigint() - b0) / 1e9;
    };
    // Interleaved rounds, best of each: load from other processes on the machine hits all of them alike.
    const ROUNDS = 5;
    let verifySeconds = Infinity;
    let verifyOneThreadSeconds = Infinity;
    let perEntrySeconds = Infinity;
    let bulkSeconds = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      perEntrySeconds = Math.min(perEntrySeconds, timeRaw());
      verifySeconds = Math.min(verifySeconds, timeVerify(2));
      verifyOneThreadSeconds = Math.min(verifyOneThreadSeconds, timeVerify(1));
      bulkSeconds = Math.min(bulkSeconds, timeBulk());
    }
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
      entries: N, bytes, rounds: ROUNDS, cpus: availableParallelism(),
      verify_threads: 2, verify_seconds: round(verifySeconds), verify_mb_per_s: round(mb / verifySeconds, 1),
      raw_sha256_per_entry_mb_per_s: round(mb / perEntrySeconds, 1), raw_sha256_bulk_mb_per_s: round(mb / bulkSeconds, 1),
      ratio_to_raw_per_entry: round(perEntrySeconds / verifySeconds, 2), ratio_to_raw_bulk: round(bulkSeconds / verifySeconds, 2),
      single_thread_verify_seconds: round(verifyOneThreadSeconds), single_thread_verify_mb_per_s: round(mb / verifyOneThreadSeconds, 1),
      single_thread_ratio_to_raw_per_entry: round(perEntrySeconds / verifyOneThreadSeconds, 2),
      target_ratio: 0.5,
    };
    printResults('ledger', results);
    process.stdout.write(`  append: ${appendRate} entries/s durable (target ≥ 100000): ${appendRate >= 100_000 ? 'met' : 'MISSED'}\n`);
    process.stdout.write(`  verify (2 threads): ${verifyFigures.verify_mb_per_s} MB/s; raw SHA-256 per entry ${verifyFigures.raw_sha256_per_entry_mb_per_s} MB/s (ratio ${verifyFigures.ratio_to_raw_per_entry}), bulk ${verifyFigures.raw_sha256_bulk_mb_per_s} MB/s (ratio ${verifyFigures.ratio_to_raw_bulk}); target ratio ≥ 0.5: ${verifyFigures.ratio_to_raw_per_entry >= 0.5 ? 'met' : 'MISSED'}\n`);
    process.stdout.write(`  verify (1 thread): ${verifyFigures.single_thread_verify_mb_per_s} MB/s (ratio ${verifyFigures.single_thread_ratio_to_raw_per_entry})\n`);
    return writeResults('ledger', results, { append_entries_per_s: appendRate, append_target: 100_000, verify: verifyFigures });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
