/**
 * What leaves the machine (SPEC §11): store rows mapped to export records, field by field. This is the only place
 * that decides what goes out. No free text that may carry an extension's parameters is exported: an alert's summary
 * (it can quote a refused path or URL) and a transition's reason stay in the store; what goes out is structured
 * (ids, categories, reason codes, counts, hashes) so a collector can alert on it and nothing secret rides along.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Severity } from '../evidence/index.ts';

export const RECORD_KINDS = ['alert', 'checkpoint', 'trust_transition', 'quota_breach', 'decision_summary', 'export_drops'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export type AttributeValue = string | number | boolean | readonly string[];

export interface ExportRecord {
  readonly kind: RecordKind;
  readonly ts_ms: number;
  readonly severity: Severity;
  readonly body: string;
  /** OTel semantic-convention names where they exist, `pi_warden.*` otherwise. */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** The OTel event name of a record kind (the log record's `event.name`). */
export function eventName(kind: RecordKind): string {
  return `pi_warden.${kind}`;
}

/** A store table the exporter tails, by its increasing id: the rows it maps and where its cursor is kept. */
export interface Source {
  readonly kind: RecordKind;
  readonly table: string;
  /** Rows after `afterId`, oldest first, at most `limit`. */
  read(db: DatabaseSync, afterId: number, limit: number): Array<{ id: number; record: ExportRecord }>;
}

interface AlertRow {
  id: number;
  ts_ms: number;
  extension_id: string;
  category: string;
  severity: Severity;
  capability: string | null;
  method: string | null;
  call_id: string | null;
  reason_codes: string;
}

const alerts: Source = {
  kind: 'alert',
  table: 'alerts',
  read(db, afterId, limit) {
    const rows = db
      .prepare(
        'SELECT seq AS id, ts_ms, extension_id, category, severity, capability, method, call_id, reason_codes FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?',
      )
      .all(afterId, limit) as unknown as AlertRow[];
    return rows.map((r) => {
      const codes = JSON.parse(r.reason_codes) as string[];
      const attributes: Record<string, AttributeValue> = {
        'pi_warden.alert.seq': r.id,
        'pi_warden.alert.category': r.category,
        'pi_warden.extension.id': r.extension_id,
        'pi_warden.reason_codes': codes,
      };
      if (r.capability !== null) attributes['pi_warden.capability'] = r.capability;
      if (r.method !== null) attributes['pi_warden.method'] = r.method;
      if (r.call_id !== null) attributes['pi_warden.call.id'] = r.call_id;
      const body = `${r.category} (${r.severity}) ${r.extension_id}${r.method === null ? '' : ` ${r.method}`}: ${codes.join(', ')}`;
      return { id: r.id, record: { kind: 'alert', ts_ms: r.ts_ms, severity: r.severity, body, attributes } };
    });
  },
};

interface CheckpointRow {
  id: number;
  tree_size: number;
  root_hash: string;
  ts_ms: number;
  key_id: string;
  signature: string;
}

const checkpoints: Source = {
  kind: 'checkpoint',
  table: 'checkpoints',
  read(db, afterId, limit) {
    const rows = db
      .prepare('SELECT id, tree_size, root_hash, ts_ms, key_id, signature FROM checkpoints WHERE id > ? ORDER BY id LIMIT ?')
      .all(afterId, limit) as unknown as CheckpointRow[];
    return rows.map((r) => ({
      id: r.id,
      record: {
        kind: 'checkpoint',
        ts_ms: r.ts_ms,
        severity: 'info',
        body: `ledger checkpoint at tree size ${r.tree_size}`,
        attributes: {
          'pi_warden.checkpoint.tree_size': r.tree_size,
          'pi_warden.checkpoint.root_hash': r.root_hash,
          'pi_warden.checkpoint.ts_ms': r.ts_ms,
          'pi_warden.checkpoint.key_id': r.key_id,
          'pi_warden.checkpoint.signature': r.signature,
        },
      },
    }));
  },
};

interface TransitionRow {
  id: number;
  ts_ms: number;
  extension_id: string;
  from_state: string;
  to_state: string;
  kind: string;
  actor: string;
}

const transitions: Source = {
  kind: 'trust_transition',
  table: 'trust_transitions',
  read(db, afterId, limit) {
    const rows = db
      .prepare('SELECT id, ts_ms, extension_id, from_state, to_state, kind, actor FROM trust_transitions WHERE id > ? ORDER BY id LIMIT ?')
      .all(afterId, limit) as unknown as TransitionRow[];
    return rows.map((r) => ({
      id: r.id,
      record: {
        kind: 'trust_transition',
        ts_ms: r.ts_ms,
        severity: r.kind === 'kill' ? 'critical' : r.kind === 'quarantine' ? 'high' : 'info',
        body: `${r.extension_id}: ${r.from_state} → ${r.to_state} (${r.kind} by ${r.actor})`,
        attributes: {
          'pi_warden.extension.id': r.extension_id,
          'pi_warden.trust.from': r.from_state,
          'pi_warden.trust.to': r.to_state,
          'pi_warden.trust.kind': r.kind,
          'pi_warden.trust.actor': r.actor,
          'pi_warden.trust.transition_id': r.id,
        },
      },
    }));
  },
};

interface BreachRow {
  id: number;
  ts_ms: number;
  extension_id: string;
  resource: string;
  limit_value: number;
  actual: number;
  repeats: number;
}

const breaches: Source = {
  kind: 'quota_breach',
  table: 'quota_breaches',
  read(db, afterId, limit) {
    const rows = db
      .prepare(
        'SELECT id, ts_ms, extension_id, resource, limit_value, actual, repeats FROM quota_breaches WHERE id > ? ORDER BY id LIMIT ?',
      )
      .all(afterId, limit) as unknown as BreachRow[];
    return rows.map((r) => ({
      id: r.id,
      record: {
        kind: 'quota_breach',
        ts_ms: r.ts_ms,
        severity: 'medium',
        body: `${r.extension_id} exceeded ${r.resource}: ${r.actual} > ${r.limit_value}`,
        attributes: {
          'pi_warden.extension.id': r.extension_id,
          'pi_warden.quota.resource': r.resource,
          'pi_warden.quota.limit': r.limit_value,
          'pi_warden.quota.actual': r.actual,
          'pi_warden.quota.repeats': r.repeats,
          'pi_warden.quota.breach_id': r.id,
        },
      },
    }));
  },
};

/** The tables tailed, in the order one pass reads them. */
export const SOURCES: readonly Source[] = [alerts, checkpoints, transitions, breaches];

/** Decisions counted by extension, capability and decision over one window: counts only, never a call's content. */
export function decisionSummaryRecord(counts: ReadonlyMap<string, number>, fromMs: number, toMs: number, overflow: number): ExportRecord {
  const rows = [...counts].map(([key, count]) => {
    const [extension, capability, decision] = key.split('\u0000') as [string, string, string];
    return { extension, capability, decision, count };
  });
  const total = rows.reduce((a, r) => a + r.count, 0) + overflow;
  return {
    kind: 'decision_summary',
    ts_ms: toMs,
    severity: 'info',
    body: JSON.stringify({ from_ms: fromMs, to_ms: toMs, counts: rows, uncounted: overflow }),
    attributes: { 'pi_warden.summary.from_ms': fromMs, 'pi_warden.summary.to_ms': toMs, 'pi_warden.summary.decisions': total },
  };
}

/** Tells the collector that records were dropped at the spool bound: the gap is visible where the records are missing. */
export function dropsRecord(dropped: number, nowMs: number): ExportRecord {
  return {
    kind: 'export_drops',
    ts_ms: nowMs,
    severity: 'high',
    body: `${dropped} export record(s) dropped at the spool bound during a collector outage`,
    attributes: { 'pi_warden.export.dropped': dropped },
  };
}
