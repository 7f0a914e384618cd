/**
 * The durable spool of fleet export (store tables `export_spool` and `export_state`). Records enter it from the
 * store's own tables (alerts, checkpoints, trust transitions, quota breaches: every process writes those, so one
 * exporter sees what the CLI and other sessions did too) and from the exporter's decision counts; they leave it
 * in seq order once the collector acknowledged them. Taking rows from a source table and advancing its cursor is
 * one transaction: a row is spooled once, whatever process dies when. At the bound new records are dropped and
 * counted (oldest kept, order kept), and the collector is told how many once there is room again.
 */
import type { DatabaseSync } from 'node:sqlite';
import { insertAlert } from '../evidence/index.ts';
import { dropsRecord, SOURCES, type ExportRecord } from './records.ts';

/** Why an export alert was raised (alert reason codes only: export decides nothing a ledger entry records). */
export const EXPORT_REASONS = ['export_spool_full'] as const;
export type ExportReason = (typeof EXPORT_REASONS)[number];

export interface SpooledRecord {
  readonly seq: number;
  readonly record: ExportRecord;
}

export interface SpoolStatus {
  readonly records: number;
  readonly bytes: number;
  readonly oldest_ts_ms: number | null;
  readonly dropped: number;
  readonly exported: number;
  readonly last_success_ms: number | null;
  readonly last_attempt_ms: number | null;
  readonly last_error: string | null;
  readonly cursors: Readonly<Record<string, number>>;
}

function getState(db: DatabaseSync, key: string): string | undefined {
  return (db.prepare('SELECT value FROM export_state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

function setState(db: DatabaseSync, key: string, value: string | number): void {
  db.prepare('INSERT INTO export_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
    key,
    String(value),
  );
}

function numState(db: DatabaseSync, key: string): number {
  return Number(getState(db, key) ?? 0);
}

function bump(db: DatabaseSync, key: string, by: number): void {
  setState(db, key, numState(db, key) + by);
}

function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

function spoolBytes(db: DatabaseSync): number {
  return (db.prepare('SELECT COALESCE(SUM(bytes), 0) AS b FROM export_spool').get() as { b: number }).b;
}

export interface AppendResult {
  readonly spooled: number;
  readonly dropped: number;
  /** A source had more rows than one call takes: call again. */
  readonly more?: boolean;
}

/**
 * Appends records within the bound, inside the caller's transaction. Records past the bound are counted as
 * dropped; the first drop of an outage raises one alert (in the same transaction); the collector taking records ends
 * the outage.
 */
function appendWithin(db: DatabaseSync, records: readonly ExportRecord[], boundBytes: number, nowMs: number): AppendResult {
  let bytes = spoolBytes(db);
  const insert = db.prepare('INSERT INTO export_spool (kind, ts_ms, record, bytes) VALUES (?, ?, ?, ?)');
  // Drops not yet told to the collector go first, as soon as there is room: the gap is then in order.
  const untold = numState(db, 'drops_untold');
  if (untold > 0) {
    const text = JSON.stringify(dropsRecord(untold, nowMs));
    if (bytes + text.length <= boundBytes) {
      insert.run('export_drops', nowMs, text, text.length);
      bytes += text.length;
      setState(db, 'drops_untold', 0);
    }
  }
  let spooled = 0;
  let dropped = 0;
  for (const r of records) {
    const text = JSON.stringify(r);
    if (bytes + text.length > boundBytes || numState(db, 'drops_untold') > 0) {
      dropped++;
      continue;
    }
    insert.run(r.kind, r.ts_ms, text, text.length);
    bytes += text.length;
    spooled++;
  }
  if (dropped > 0) {
    // One alert per outage: the outage ends when the collector takes records (acknowledge), not when the drop count
    // was told, which can fit into the spool while the collector is still away.
    const firstOfOutage = numState(db, 'outage_alerted') === 0;
    bump(db, 'drops_untold', dropped);
    bump(db, 'dropped', dropped);
    if (firstOfOutage) {
      setState(db, 'outage_alerted', 1);
      insertAlert(db, {
        ts_ms: nowMs,
        extension_id: 'pi-warden',
        category: 'fleet_export',
        severity: 'high',
        summary: `fleet export spool full (${bytes} of ${boundBytes} bytes): new records are dropped until the collector takes the backlog`,
        reason_codes: ['export_spool_full' satisfies ExportReason],
        remediation:
          'Check the collector at extensionPolicy.export.otlp.endpoint (`pi-warden export status`), or raise extensionPolicy.export.otlp.spoolMb; dropped records stay in the local store',
      });
    }
  }
  return { spooled, dropped };
}

/** Moves new rows of every source table into the spool, at most `limit` per table per call. */
export function spoolFromStore(db: DatabaseSync, boundBytes: number, nowMs: number, limit = 1000): AppendResult {
  return inTransaction(db, () => {
    let spooled = 0;
    let dropped = 0;
    let more = false;
    for (const source of SOURCES) {
      const key = `cursor.${source.table}`;
      const rows = source.read(db, numState(db, key), limit);
      if (rows.length === 0) continue;
      if (rows.length === limit) more = true;
      const r = appendWithin(
        db,
        rows.map((x) => x.record),
        boundBytes,
        nowMs,
      );
      spooled += r.spooled;
      dropped += r.dropped;
      setState(db, key, (rows[rows.length - 1] as { id: number }).id);
    }
    return { spooled, dropped, more };
  });
}

/** Appends records the exporter made itself (decision summaries). */
export function spoolRecords(db: DatabaseSync, records: readonly ExportRecord[], boundBytes: number, nowMs: number): AppendResult {
  return inTransaction(db, () => appendWithin(db, records, boundBytes, nowMs));
}

/** The oldest `limit` spooled records, in order. */
export function peekSpool(db: DatabaseSync, limit: number): SpooledRecord[] {
  const rows = db.prepare('SELECT seq, record FROM export_spool ORDER BY seq LIMIT ?').all(limit) as unknown as Array<{
    seq: number;
    record: string;
  }>;
  return rows.map((r) => ({ seq: r.seq, record: JSON.parse(r.record) as ExportRecord }));
}

/** The collector took everything up to `throughSeq`: those rows leave the spool. */
export function acknowledge(db: DatabaseSync, throughSeq: number, count: number, nowMs: number): void {
  inTransaction(db, () => {
    db.prepare('DELETE FROM export_spool WHERE seq <= ?').run(throughSeq);
    bump(db, 'exported', count);
    setState(db, 'last_success_ms', nowMs);
    setState(db, 'last_attempt_ms', nowMs);
    db.prepare("DELETE FROM export_state WHERE key = 'last_error'").run();
    setState(db, 'outage_alerted', 0);
  });
}

export function recordFailure(db: DatabaseSync, message: string, nowMs: number): void {
  inTransaction(db, () => {
    setState(db, 'last_attempt_ms', nowMs);
    setState(db, 'last_error', message.slice(0, 500));
  });
}

/**
 * One exporter per store at a time (several pi sessions share it): the lease names a live process. It is taken
 * when free, expired, or held by a process that no longer exists (a kill -9 does not wait out the lease).
 */
export function takeLease(db: DatabaseSync, owner: string, pid: number, nowMs: number, ttlMs: number): boolean {
  return inTransaction(db, () => {
    const held = getState(db, 'lease');
    if (held !== undefined) {
      const [holder, holderPid, until] = held.split(' ') as [string, string, string];
      if (holder !== owner && Number(until) > nowMs && processAlive(Number(holderPid))) return false;
    }
    setState(db, 'lease', `${owner} ${pid} ${nowMs + ttlMs}`);
    return true;
  });
}

export function releaseLease(db: DatabaseSync, owner: string): void {
  inTransaction(db, () => {
    if (getState(db, 'lease')?.startsWith(`${owner} `) === true) db.prepare("DELETE FROM export_state WHERE key = 'lease'").run();
  });
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

export function spoolStatus(db: DatabaseSync): SpoolStatus {
  const s = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, MIN(ts_ms) AS t FROM export_spool').get() as {
    n: number;
    b: number;
    t: number | null;
  };
  const state = new Map(
    (db.prepare('SELECT key, value FROM export_state').all() as unknown as Array<{ key: string; value: string }>).map((r) => [
      r.key,
      r.value,
    ]),
  );
  const num = (k: string): number | null => (state.has(k) ? Number(state.get(k)) : null);
  return {
    records: s.n,
    bytes: s.b,
    oldest_ts_ms: s.t,
    dropped: num('dropped') ?? 0,
    exported: num('exported') ?? 0,
    last_success_ms: num('last_success_ms'),
    last_attempt_ms: num('last_attempt_ms'),
    last_error: state.get('last_error') ?? null,
    cursors: Object.fromEntries(SOURCES.map((src) => [src.table, num(`cursor.${src.table}`) ?? 0])),
  };
}
