/**
 * Fleet export benchmarks (bench/results/export.json): dispatch p99 with export on versus off in the same run
 * (target: at most 5% added), and export throughput (records/s from store to a local OTLP/HTTP receiver, JSON).
 * Both dispatchers record into an evidence writer and raise an alert every 50 calls, and yield to the event loop
 * every 500, so with export on the exporter has work (spool, batches to the receiver) while dispatch is timed; off and on alternate in rounds so
 * load from elsewhere on the machine hits both alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineRecorders, createDispatcher, type Operation } from '../src/dispatch/index.ts';
import { EvidenceWriter, insertAlert, openStore } from '../src/evidence/index.ts';
import { FleetExporter, type OtlpConfig } from '../src/export/index.ts';
import { compilePolicy, rulesFor } from '../src/policy/index.ts';
import { benchAsync, printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';

const round = (x: number, d = 3) => Number(x.toFixed(d));

/** A receiver that counts log records in OTLP/JSON requests and answers 200. */
async function receiver(): Promise<{ url: string; records: () => number; close: () => Promise<void> }> {
  let records = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: unknown[] }> }>;
      };
      for (const rl of doc.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) records += sl.logRecords?.length ?? 0;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1/logs`,
    records: () => records,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const config = (url: string, batch: number): OtlpConfig => ({
  url,
  headers: {},
  protocol: 'http/json',
  batch,
  spoolBytes: 256 * 1024 * 1024,
  source: 'settings',
});

export async function run(): Promise<string> {
  const rx = await receiver();
  const homes: string[] = [];
  const home = () => {
    const h = mkdtempSync(join(tmpdir(), 'pi-warden-bench-export-'));
    homes.push(h);
    return h;
  };
  try {
    const policy = compilePolicy(rulesFor('safe', false));
    const ops = new Map<string, Operation>([['fs.read', () => 'ok']]);
    const call = { call_id: 'c', method: 'fs.read', params: { path: '/project/src/index.ts' } };
    const alert = {
      extension_id: 'ext',
      category: 'anomaly',
      severity: 'low',
      summary: 's',
      reason_codes: ['r'],
      remediation: 'r',
    } as const;

    // 1. Dispatch p99, export off versus on.
    const offWriter = await EvidenceWriter.open(home());
    const off = createDispatcher({ policy, operations: ops, recorder: offWriter, alerts: offWriter });
    const onHome = home();
    const onWriter = await EvidenceWriter.open(onHome);
    const exporter = await FleetExporter.start({ home: onHome, config: config(rx.url, 256), pollMs: 50 });
    const on = createDispatcher({ policy, operations: ops, recorder: combineRecorders(onWriter, exporter), alerts: onWriter });
    // Every 500 calls the loop gets a turn (timers: group commit, the exporter's passes), as between real hostcalls.
    const step = async (i: number, writer: EvidenceWriter, d: typeof off): Promise<unknown> => {
      if (i % 50 === 0) writer.raise(alert);
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      return d.dispatch('ext', call);
    };
    const M = Number(process.env.PI_WARDEN_BENCH_DISPATCHES ?? 50_000);
    const rounds: Array<{ off: BenchResult; on: BenchResult }> = [];
    for (let round = 0; round < 3; round++) {
      const offR = await benchAsync('dispatch.pipeline, export off', M, (i) => step(i, offWriter, off));
      const onR = await benchAsync('dispatch.pipeline, export on', M, (i) => step(i, onWriter, on));
      rounds.push({ off: offR, on: onR });
    }
    await onWriter.flush();
    await exporter.flushNow();
    const exportedDuringDispatch = exporter.status().exported;
    await exporter.close();
    await offWriter.close();
    await onWriter.close();
    // The median round by the on/off p99 ratio: one noisy round does not decide it either way.
    const byRatio = [...rounds].sort((a, b) => (a.on.p99_us ?? 0) / (a.off.p99_us ?? 1) - (b.on.p99_us ?? 0) / (b.off.p99_us ?? 1));
    const mid = byRatio[1] as { off: BenchResult; on: BenchResult };
    const p99Ratio = round((mid.on.p99_us ?? 0) / Math.max(mid.off.p99_us ?? 0, 0.001), 3);

    // 2. Throughput: N alerts already in the store, exported in batches of 512 until the receiver has them all.
    const N = Number(process.env.PI_WARDEN_BENCH_EXPORT_RECORDS ?? 20_000);
    const tHome = home();
    const db = openStore(tHome);
    db.exec('BEGIN');
    for (let i = 0; i < N; i++) insertAlert(db, { ...alert, summary: `alert ${i}` });
    db.exec('COMMIT');
    db.close();
    const before = rx.records();
    const t0 = process.hrtime.bigint();
    const bulk = await FleetExporter.start({ home: tHome, config: config(rx.url, 512), pollMs: 5 });
    while (rx.records() - before < N) await new Promise((r) => setTimeout(r, 5));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await bulk.close();

    const results: BenchResult[] = [
      mid.off,
      relativeTo(mid.on, mid.off),
      {
        name: 'export throughput (store → spool → OTLP/JSON, batch 512)',
        p50_us: null,
        p99_us: null,
        ops_per_s: Math.round(N / seconds),
        iterations: N,
      },
    ];
    printResults('export', results);
    return writeResults('export', results, {
      dispatch_p99_ratio_on_to_off: p99Ratio,
      dispatch_p99_target_ratio: 1.05,
      dispatch_p99_meets_target: p99Ratio <= 1.05,
      dispatch_rounds: rounds.map((r) => ({ off_p99_us: r.off.p99_us, on_p99_us: r.on.p99_us })),
      records_exported_during_dispatch: exportedDuringDispatch,
      throughput_records: N,
      throughput_seconds: round(seconds),
      load_average_1m: round(loadavg()[0] ?? 0, 2),
    });
  } finally {
    await rx.close();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  }
}
