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
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDispatcher, type Operation } from '../src/dispatch/dispatcher.ts';

import { signCheckpoint } from '../src/evidence/checkpoint.ts';
import { loadOrCreateKey } from '../src/evidence/keys.ts';
import { Frontier, leafHash } from '../src/evidence/merkle.ts';
import { verifyStore } from '../src/evidence/verify.ts';
import { EvidenceWriter } from '../src/evidence/writer.ts';
import { compilePolicy } from '../src/policy/precedence.ts';
import { rulesFor } from '../src/policy/settings.ts';
import { benchAsync, benchSync, printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';
import type { DecisionRecord } from '../src/evidence/sinks.ts';

const round = (x: number, d = 3) => Number(x.toFixed(d));

/** A full collection before each timed section, so that garbage left by one is not collected during the next. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

export async function run(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'pi-warden-bench-'));
  try {
    const policy = compilePolicy(rulesFor('safe', false));
    const N = Number(process.env.PI_WARDEN_BENCH_ENTRIES ?? 200_000);

    // 1. Sustained append: record as fast as the caller can, until a final flush says it is all durable.
    const writer = await EvidenceWriter.open(home, { telemetry: false });
    const base: Omit<DecisionRecord, 'call_id' | 'params'> = {
      ts_ms: Date.now(),
      extension_id: 'bench-ext',
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

    // 2. Verify versus raw SHA-256 over the bytes verify must hash, read into memory first (untimed):
    // - headline: each entry's RFC 6962 leaf input 0x00 ‖ entry, as stored, hashed one by one with the fastest
    //   per-message form node:crypto offers (one-shot hash() of a Buffer, binary digest). Verify does more than
    //   this (interior nodes, reading, links, checkpoints), so the baseline is the stricter one;
    // - all messages: the same plus the 65-byte interior-node inputs 0x01 ‖ left ‖ right of the Merkle tree,
    //   which verify must also hash to check checkpoint roots;
    // - bulk: all entry bytes as one message (no per-message cost at all; no verifier can get there).
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
    // The interior-node inputs an incremental tree over the N leaves hashes (RFC 6962, as Frontier.append).
    const nodeInputs: Buffer[] = [];
    {
      const stack: Array<[number, Buffer]> = [];
      for (const leaf of leaves) {
        let node: [number, Buffer] = [1, hash('sha256', leaf, 'buffer')];
        while (stack.length > 0 && (stack[stack.length - 1] as [number, Buffer])[0] === node[0]) {
          const left = stack.pop() as [number, Buffer];
          const input = Buffer.concat([Buffer.from([1]), left[1], node[1]]);
          nodeInputs.push(input);
          node = [node[0] * 2, hash('sha256', input, 'buffer')];
        }
        stack.push(node);
      }
    }
    const publicKey = loadOrCreateKey(home).publicKey;
    const timeVerify = (threads: number): number => {
      collectGarbage();
      const v0 = process.hrtime.bigint();
      const report = verifyStore(home, { publicKey, threads });
      const seconds = Number(process.hrtime.bigint() - v0) / 1e9;
      if (report.classification !== 'intact' || report.entries_checked !== N)
        throw new Error(`bench ledger is not intact: ${JSON.stringify(report.verification_errors.slice(0, 2))}`);
      return seconds;
    };
    const timeHashing = (messages: readonly Buffer[]): number => {
      collectGarbage();
      const h0 = process.hrtime.bigint();
      for (const m of messages) hash('sha256', m, 'binary');
      return Number(process.hrtime.bigint() - h0) / 1e9;
    };
    // Interleaved rounds: load from elsewhere on the machine hits all of them alike. Best and median reported,
    // and the first verification of the process on its own (code not yet compiled, helper thread starting).
    const ROUNDS = 7;
    const times = {
      verify: [] as number[],
      verifyOneThread: [] as number[],
      perEntry: [] as number[],
      nodes: [] as number[],
      bulk: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      times.perEntry.push(timeHashing(leaves));
      times.verify.push(timeVerify(2));
      times.nodes.push(timeHashing(nodeInputs));
      times.verifyOneThread.push(timeVerify(1));
      times.bulk.push(timeHashing([all]));
    }
    if (process.env.PI_WARDEN_BENCH_DEBUG !== undefined)
      process.stdout.write(`${JSON.stringify(times, (_k, x: unknown) => (typeof x === 'number' ? Math.round(x * 1000) : x))}\n`);
    const best = (xs: number[]) => Math.min(...xs);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const verifySeconds = best(times.verify);
    const verifyOneThreadSeconds = best(times.verifyOneThread);
    const perEntrySeconds = best(times.perEntry);
    const allMessagesSeconds = perEntrySeconds + best(times.nodes);
    const bulkSeconds = best(times.bulk);
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
    const dispatchOn = relativeTo(
      await benchAsync('dispatch.pipeline, ledger + telemetry on', M, () => on.dispatch('ext', call), 50),
      dispatchOff,
    );
    await recorder.close();
    rmSync(ledgerHome, { recursive: true, force: true });

    const results: BenchResult[] = [
      {
        name: 'ledger.record (caller side, mean per entry)',
        p50_us: round(Number(recordNs) / N / 1000),
        p99_us: null,
        ops_per_s: Math.round(N / (Number(recordNs) / 1e9)),
        iterations: N,
      },
      { name: 'ledger.append sustained (durable, group commit)', p50_us: null, p99_us: null, ops_per_s: appendRate, iterations: N },
      signing,
      dispatchOff,
      dispatchOn,
    ];
    const verifyFigures = {
      entries: N,
      bytes,
      rounds: ROUNDS,
      cpus: availableParallelism(),
      interior_nodes: nodeInputs.length,
      verify_threads: 2,
      verify_seconds: round(verifySeconds),
      verify_median_seconds: round(median(times.verify)),
      verify_mb_per_s: round(mb / verifySeconds, 1),
      first_verify_seconds: round(times.verify[0] as number),
      first_verify_ratio_to_raw_per_entry: round(perEntrySeconds / (times.verify[0] as number), 2),
      raw_sha256_per_entry_mb_per_s: round(mb / perEntrySeconds, 1),
      raw_sha256_bulk_mb_per_s: round(mb / bulkSeconds, 1),
      ratio_to_raw_per_entry: round(perEntrySeconds / verifySeconds, 2),
      ratio_to_raw_per_entry_median: round(median(times.perEntry) / median(times.verify), 2),
      ratio_to_raw_all_messages: round(allMessagesSeconds / verifySeconds, 2),
      ratio_to_raw_bulk: round(bulkSeconds / verifySeconds, 2),
      single_thread_verify_seconds: round(verifyOneThreadSeconds),
      single_thread_verify_mb_per_s: round(mb / verifyOneThreadSeconds, 1),
      single_thread_ratio_to_raw_per_entry: round(perEntrySeconds / verifyOneThreadSeconds, 2),
      single_thread_ratio_to_raw_all_messages: round(allMessagesSeconds / verifyOneThreadSeconds, 2),
      target_ratio: 0.5,
    };
    printResults('ledger', results);
    process.stdout.write(`  append: ${appendRate} entries/s durable (target ≥ 100000): ${appendRate >= 100_000 ? 'met' : 'MISSED'}\n`);
    const v = verifyFigures;
    process.stdout.write(
      `  verify (2 threads): ${v.verify_mb_per_s} MB/s; raw SHA-256 per entry ${v.raw_sha256_per_entry_mb_per_s} MB/s: ratio ${v.ratio_to_raw_per_entry} (median ${v.ratio_to_raw_per_entry_median}; target ≥ 0.5: ${v.ratio_to_raw_per_entry >= 0.5 ? 'met' : 'MISSED'}); with interior nodes ${v.ratio_to_raw_all_messages}; bulk ${v.raw_sha256_bulk_mb_per_s} MB/s: ${v.ratio_to_raw_bulk}\n`,
    );
    process.stdout.write(
      `  first verify of the process (cold): ${v.first_verify_seconds} s, ratio ${v.first_verify_ratio_to_raw_per_entry}\n`,
    );
    process.stdout.write(
      `  verify (1 thread): ${v.single_thread_verify_mb_per_s} MB/s: ratio ${v.single_thread_ratio_to_raw_per_entry}; with interior nodes ${v.single_thread_ratio_to_raw_all_messages}\n`,
    );
    return writeResults('ledger', results, { append_entries_per_s: appendRate, append_target: 100_000, verify: verifyFigures });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
