/**
 * Security alerts (SPEC §6.5): categories, severities, and the query behind `pi-warden alerts`.
 * Sequence numbers come from SQLite AUTOINCREMENT: monotonic across processes, never reused.
 */
import type { DatabaseSync } from 'node:sqlite';

export const ALERT_CATEGORIES = [
  'policy_violation', 'secret_exposure', 'ledger_integrity', 'scanner_bypass', 'quarantine', 'quota_breach',
  'exec_mediation', 'anomaly', 'profile_transition', 'kill_switch',
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

export interface AlertQuery {
  readonly since?: number;
  readonly until?: number;
  readonly extension?: string;
  readonly category?: AlertCategory;
  readonly minSeverity?: Severity;
  readonly limit?: number;
}

interface AlertRow {
  seq: number; ts_ms: number; extension_id: string; category: string; severity: string; capability: string | null;
  method: string | null; call_id: string | null; summary: string; reason_codes: string; remediation: string;
}

/** Inclusive time bounds; results in sequence order. Reading never removes anything. */
export function queryAlerts(db: DatabaseSync, q: AlertQuery = {}): Alert[] {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (q.since !== undefined) { where.push('ts_ms >= ?'); args.push(q.since); }
  if (q.until !== undefined) { where.push('ts_ms <= ?'); args.push(q.until); }
  if (q.extension !== undefined) { where.push('extension_id = ?'); args.push(q.extension); }
  if (q.category !== undefined) { where.push('category = ?'); args.push(q.category); }
  if (q.minSeverity !== undefined) { where.push('severity_rank >= ?'); args.push(severityRank(q.minSeverity)); }
  const sql = `SELECT seq, ts_ms, extension_id, category, severity, capability, method, call_id, summary, reason_codes, remediation
    FROM alerts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : ''}`;
  return (db.prepare(sql).all(...args) as unknown as AlertRow[]).map((r) => ({
    ...r, category: r.category as AlertCategory, severity: r.severity as Severity, reason_codes: JSON.parse(r.reason_codes) as string[],
  }));
}
