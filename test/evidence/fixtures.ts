/** Builds real stores through the real dispatcher and writer, for the evidence tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after } from 'node:test';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { loadOrCreateKey } from '../../src/evidence/keys.ts';
import { chunkLedger, MIGRATIONS } from '../../src/evidence/store.ts';
import { verifyStore, type VerificationReport } from '../../src/evidence/verify.ts';
import type { DecisionRecord } from '../../src/evidence/sinks.ts';
import { EvidenceWriter, type EvidenceWriterOptions } from '../../src/evidence/writer.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';

const SAFE_POLICY = compilePolicy(rulesFor('safe', false));

const homes: string[] = [];
after(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

/** An allowed `fs.read` decision of extension `e` under the safe profile, call `c<i>`, as the writer's tests record it. */
export function allowedRead(i: number, params: Record<string, unknown> = { path: `/p/${i}` }): DecisionRecord {
  return {
    ts_ms: Date.now(),
    extension_id: 'e',
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
    policy: SAFE_POLICY,
    params,
  };
}

export function tempHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'pi-warden-store-'));
  homes.push(h);
  return h;
}

/** Writes `n` decisions (a mix of allowed reads and denied execs) through a real dispatcher into a store. */
export async function buildStore(
  n: number,
  options: EvidenceWriterOptions & { home?: string; close?: boolean } = {},
): Promise<{ home: string; writer: EvidenceWriter }> {
  const home = options.home ?? tempHome();
  // Every entry written one by one: these stores' sizes and seqs are what the tests check (bursts: bursts.test.ts).
  const writer = await EvidenceWriter.open(home, { bursts: { burst: Number.MAX_SAFE_INTEGER }, ...options });
  const ops = new Map<string, Operation>([['fs.read', () => 'content']]);
  const d = createDispatcher({ policy: compilePolicy(rulesFor('safe', false)), operations: ops, recorder: writer, alerts: writer });
  for (let i = 0; i < n; i++) {
    await d.dispatch(
      i % 3 === 0 ? 'ext-b' : 'ext-a',
      i % 4 === 0
        ? { call_id: `c${i}`, method: 'exec', params: { cmd: 'curl', args: ['https://x'] } }
        : { call_id: `c${i}`, method: 'fs.read', params: { path: `/project/file-${i}.ts` } },
    );
  }
  if (options.close !== false) await writer.close();
  else await writer.flush();
  return { home, writer };
}

export function openRw(home: string): DatabaseSync {
  return new DatabaseSync(join(home, 'warden.db'));
}

export function verify(home: string): VerificationReport {
  return verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey });
}

/**
 * Lets a test edit the ledger as one SQL row per entry, as an attacker with SQL access would: the chunks are
 * unpacked into a table `ledger` (rowid = storage order, columns seq, entry, ledger_hash), `edit` runs, and the
 * rows are packed back by the schema-v6 migration (runs of consecutive seqs become chunks; a row that cannot
 * be a chunk entry is kept as an unreadable chunk). Gaps, duplicates and reordering stay where the edit put them.
 */
export function editAsRows(db: DatabaseSync, edit: (db: DatabaseSync) => void): void {
  db.exec(`CREATE TABLE ledger_edit (rowid INTEGER PRIMARY KEY, seq INTEGER NOT NULL, entry TEXT NOT NULL, ledger_hash TEXT NOT NULL);
    INSERT INTO ledger_edit (seq, entry, ledger_hash) SELECT seq, entry, ledger_hash FROM ledger ORDER BY chunk_id, seq;
    DROP VIEW ledger;
    DROP TABLE ledger_chunks;
    ALTER TABLE ledger_edit RENAME TO ledger;`);
  edit(db);
  chunkLedger(db);
}

/** Opens the store, edits it as rows (editAsRows), closes it. */
export function editStore(home: string, edit: (db: DatabaseSync) => void): void {
  const db = openRw(home);
  try {
    editAsRows(db, edit);
  } finally {
    db.close();
  }
}

/** A chunk row as stored (tests that tamper with the chunks themselves). */
export interface StoredChunk {
  id: number;
  first_seq: number;
  spans: string;
  hashes: Buffer;
  entries: Buffer;
}

export function readChunks(db: DatabaseSync): StoredChunk[] {
  return (
    db.prepare('SELECT id, first_seq, spans, hashes, entries FROM ledger_chunks ORDER BY id').all() as unknown as Array<
      StoredChunk & { hashes: Uint8Array; entries: Uint8Array }
    >
  ).map((c) => ({ ...c, hashes: Buffer.from(c.hashes), entries: Buffer.from(c.entries) }));
}

export function writeChunk(db: DatabaseSync, c: StoredChunk): void {
  db.prepare('UPDATE ledger_chunks SET first_seq = ?, spans = ?, hashes = ?, entries = ? WHERE id = ?').run(
    c.first_seq,
    c.spans,
    c.hashes,
    c.entries,
    c.id,
  );
}

/** Verifies with the helper thread doing the scanning (started and ready first, so small ledgers use it too). */
export function verifyInParallel(home: string): VerificationReport {
  return verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey, threads: 2, parallelFrom: 0 });
}

/** Verifies on this thread only. */
export function verifyOneThread(home: string): VerificationReport {
  return verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey, threads: 1 });
}

/**
 * Turns a store back into schema v5, as the v5 writer left it: table `ledger` with one row per entry (the v5
 * DDL, taken from migration 1), rows in storage order, schema_version 5. For the migration tests.
 */
export function downgradeToV5(db: DatabaseSync): void {
  const ddl = /CREATE TABLE ledger \([\s\S]*?\);\s*CREATE INDEX ledger_seq ON ledger\(seq\);/.exec(MIGRATIONS[0] as string)?.[0];
  if (ddl === undefined) throw new Error('the v5 ledger DDL is not in migration 1');
  const rows = db.prepare('SELECT seq, entry, ledger_hash FROM ledger ORDER BY chunk_id, seq').all() as Array<{
    seq: number;
    entry: string;
    ledger_hash: string;
  }>;
  db.exec('DROP VIEW ledger; DROP TABLE ledger_chunks;');
  db.exec(ddl);
  const insert = db.prepare('INSERT INTO ledger (seq, entry, ledger_hash) VALUES (?, ?, ?)');
  for (const r of rows) insert.run(r.seq, r.entry, r.ledger_hash);
  db.exec('DELETE FROM schema_version WHERE version > 5');
}
