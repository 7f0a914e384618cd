/**
 * Collects what the store holds for an incident: ledger entries, alerts, risk scores and trust transitions of the
 * incident's extension(s) in its window. The store is opened read-only (a forensic copy stays untouched).
 *
 * Only stored, param-free fields reach the report, as in `ledger replay` and `alerts`; and fields a guest could have
 * chosen are reduced to the closed vocabularies they should belong to: an unknown method name or reason code is not
 * repeated (a hostile extension could spell a secret with it), and an alert's summary is left out because it may
 * quote a path or a host from the call (`pi-warden alerts` shows it to the operator).
 */
import type { DatabaseSync } from 'node:sqlite';
import { ALERT_CATEGORIES, openStore, parseEntry, queryAlerts, SEVERITIES, storedEntries, summarisedCount } from '../../evidence/index.ts';
import { METHOD_TABLE } from '../../policy/index.ts';
import { isReasonCode } from '../../replay/index.ts';
import { TrustRegistry } from '../../trust/index.ts';
import { LOOKBACK_MS, type IncidentReportInput, type ReportAlert, type ReportData, type ReportDecision } from './types.ts';

export const UNKNOWN_METHOD = 'unknown method';
export const UNKNOWN_REASON = 'unknown_reason_code';

const knownMethod = (m: string | null): string | null => (m === null ? null : METHOD_TABLE.has(m) ? m : UNKNOWN_METHOD);
const knownReasons = (codes: readonly unknown[]): string[] =>
  codes.map((c) => (typeof c === 'string' && isReasonCode(c) ? c : UNKNOWN_REASON));
const inVocabulary = (v: string, vocabulary: readonly string[]): string => (vocabulary.includes(v) ? v : 'unknown');

/** The evidence window in ms: the input's, else a day before opening to closing (or now). */
export function reportWindow(input: IncidentReportInput, nowMs: number): { fromMs: number; toMs: number } {
  const opened = Date.parse(input.incident.openedAt);
  const fromMs = input.window?.from !== undefined ? Date.parse(input.window.from) : opened - LOOKBACK_MS;
  const end = input.window?.to ?? input.incident.closedAt;
  return { fromMs, toMs: end !== undefined ? Date.parse(end) : nowMs };
}

function ledgerHead(db: DatabaseSync): { treeSize: number; lastHash: string | null } {
  const row = db.prepare('SELECT tree_size, last_hash FROM ledger_state WHERE id = 1').get() as
    { tree_size: number; last_hash: string | null } | undefined;
  return { treeSize: row?.tree_size ?? 0, lastHash: row?.last_hash ?? null };
}

export function collectReportData(home: string, input: IncidentReportInput, nowMs = Date.now()): ReportData {
  const window = reportWindow(input, nowMs);
  const only = input.incident.extension;
  const wanted = (ext: string, ts: number): boolean => ts >= window.fromMs && ts <= window.toMs && (only === undefined || ext === only);
  const db = openStore(home, { readOnly: true });
  try {
    const decisions: ReportDecision[] = [];
    for (const s of storedEntries(db)) {
      let e;
      try {
        e = parseEntry(s.entry, s.ledger_hash);
      } catch {
        continue; // unreadable entries are `ledger verify`'s to report
      }
      if (typeof e.extension_id !== 'string' || typeof e.ts_ms !== 'number' || !wanted(e.extension_id, e.ts_ms)) continue;
      const reasons = Array.isArray(e.reason_codes) ? e.reason_codes : [];
      decisions.push({
        seq: s.seq,
        ts_ms: e.ts_ms,
        extension_id: e.extension_id,
        method: knownMethod(typeof e.method === 'string' ? e.method : null) ?? UNKNOWN_METHOD,
        capability: e.capability,
        decision: e.decision === 'allow' || e.decision === 'deny' ? e.decision : 'error',
        rule: e.rule,
        reason_codes: knownReasons(reasons),
        risk_score: typeof e.risk_score === 'number' ? e.risk_score : null,
        calls: summarisedCount({ call_id: String(e.call_id), reason_codes: reasons }),
        ledger_hash: s.ledger_hash,
      });
    }
    // Store-wide alerts (ledger integrity) have no extension: they belong to every incident's window.
    const alerts: ReportAlert[] = queryAlerts(db, { since: window.fromMs, until: window.toMs })
      .filter((a) => only === undefined || a.extension_id === only || a.extension_id === '')
      .map((a) => ({
        seq: a.seq,
        ts_ms: a.ts_ms,
        extension_id: a.extension_id,
        category: inVocabulary(a.category, ALERT_CATEGORIES),
        severity: inVocabulary(a.severity, SEVERITIES),
        method: knownMethod(a.method),
        capability: a.capability,
        reason_codes: knownReasons(a.reason_codes),
      }));
    const trust = new TrustRegistry(db).history(only).filter((t) => wanted(t.extension_id, t.ts_ms));
    const extensions = [
      ...new Set([...(only === undefined ? [] : [only]), ...decisions.map((d) => d.extension_id), ...trust.map((t) => t.extension_id)]),
    ].sort();
    return { input, generatedMs: nowMs, window, extensions, decisions, alerts, trust, ledger: ledgerHead(db) };
  } finally {
    db.close();
  }
}
