/**
 * Security alerts (SPEC §6.5): categories, severities, the one insert every raiser goes through, and the query
 * behind `pi-warden alerts`. Sequence numbers come from SQLite AUTOINCREMENT: monotonic across processes, never
 * reused.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { WardenError } from '../errors.ts';

export const ALERT_CATEGORIES = [
  'policy_violation',
  'secret_exposure',
  'ledger_integrity',
  'scanner_bypass',
  'quarantine',
  'quota_breach',
  'exec_mediation',
  'anomaly',
  'profile_transition',
  'kill_switch',
  'fleet_export',
] as const;
export type AlertCategory = (typeof ALERT_CATEGORIES)[number];

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export interface AlertInput {
  readonly ts_ms?: number;
  readonly extension_id: string;
  readonly category: AlertCategory;
  readonly severity: Severity;
  readonly capability?: string | null;
  readonly method?: string | null;
  readonly call_id?: string | null;
  readonly summary: string;
  readonly reason_codes: readonly string[];
  readonly remediation: string;
}

export interface Alert {
  readonly seq: number;
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly category: AlertCategory;
  readonly severity: Severity;
  readonly capability: string | null;
  readonly method: string | null;
  readonly call_id: string | null;
  readonly summary: string;
  readonly reason_codes: readonly string[];
  readonly remediation: string;
}

/** Receives alerts; the evidence writer persists them. */
export interface AlertSink {
  raise(alert: AlertInput): void;
}

const INSERT_ALERT = `INSERT INTO alerts (ts_ms, extension_id, category, severity, severity_rank, capability, method, call_id, summary, reason_codes, remediation)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** One prepared insert per connection: the writer raises alerts on the hot path. */
const inserts = new WeakMap<DatabaseSync, StatementSync>();

/**
 * Stores one alert (the evidence writer, trust transitions, rollout changes and `ledger verify` all come here) and
 * returns its seq. Runs inside the caller's transaction, if any, so an alert commits with the change it reports.
 * `severity_rank` is derived here, never passed, so `alerts --min-severity` cannot disagree with `severity`.
 */
export function insertAlert(db: DatabaseSync, a: AlertInput): number {
  if (!(ALERT_CATEGORIES as readonly string[]).includes(a.category))
    throw new WardenError('internal', `alert category ${JSON.stringify(a.category)}: expected one of ${ALERT_CATEGORIES.join(', ')}`);
  const rank = (SEVERITIES as readonly string[]).indexOf(a.severity);
  if (rank < 0) throw new WardenError('internal', `alert severity ${JSON.stringify(a.severity)}: expected one of ${SEVERITIES.join(', ')}`);
  let insert = inserts.get(db);
  if (insert === undefined) {
    insert = db.prepare(INSERT_ALERT);
    inserts.set(db, insert);
  }
  const info = insert.run(
    a.ts_ms ?? Date.now(),
    a.extension_id,
    a.category,
    a.severity,
    rank,
    a.capability ?? null,
    a.method ?? null,
    a.call_id ?? null,
    a.summary,
    JSON.stringify(a.reason_codes),
    a.remediation,
  );
  return Number(info.lastInsertRowid);
}

export interface AlertQuery {
  readonly since?: number;
  readonly until?: number;
  readonly extension?: string;
  readonly category?: AlertCategory;
  readonly minSeverity?: Severity;
  readonly limit?: number;
}

interface AlertRow {
  seq: number;
  ts_ms: number;
  extension_id: string;
  category: string;
  severity: string;
  capability: string | null;
  method: string | null;
  call_id: string | null;
  summary: string;
  reason_codes: string;
  remediation: string;
}

/** Inclusive time bounds; results in sequence order. Reading never removes anything. */
export function queryAlerts(db: DatabaseSync, q: AlertQuery = {}): Alert[] {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (q.since !== undefined) {
    where.push('ts_ms >= ?');
    args.push(q.since);
  }
  if (q.until !== undefined) {
    where.push('ts_ms <= ?');
    args.push(q.until);
  }
  if (q.extension !== undefined) {
    where.push('extension_id = ?');
    args.push(q.extension);
  }
  if (q.category !== undefined) {
    where.push('category = ?');
    args.push(q.category);
  }
  if (q.minSeverity !== undefined) {
    where.push('severity_rank >= ?');
    args.push(severityRank(q.minSeverity));
  }
  const sql = `SELECT seq, ts_ms, extension_id, category, severity, capability, method, call_id, summary, reason_codes, remediation
    FROM alerts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : ''}`;
  return (db.prepare(sql).all(...args) as unknown as AlertRow[]).map((r) => ({
    ...r,
    category: r.category as AlertCategory,
    severity: r.severity as Severity,
    reason_codes: JSON.parse(r.reason_codes) as string[],
  }));
}
