/**
 * Incident records in the evidence store (migration 8): one `incidents` row per incident and one `incident_steps`
 * row per step begun. A step row is written when the step starts and completed (done_ms, detail, the ledger seq
 * of its entry) when it ends, so a step cut short by a crash shows as begun and runs again.
 */
import { randomBytes } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import { type IncidentType, type Step, STEPS } from './phases.ts';

export interface IncidentRow {
  readonly id: string;
  readonly type: IncidentType;
  readonly extension_id: string | null;
  readonly opened_ms: number;
  readonly actor: string;
  readonly summary: string;
}

export interface StepRow {
  readonly step: Step;
  readonly started_ms: number;
  readonly done_ms: number | null;
  readonly actor: string;
  readonly detail: Record<string, unknown>;
  readonly ledger_seq: number | null;
}

/** `INC-2-20261206T171501Z-3fa9`: the type, the UTC opening second, and 16 random bits against collisions. */
export function newIncidentId(type: IncidentType, now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${type}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export function insertIncident(db: DatabaseSync, row: IncidentRow): void {
  db.prepare('INSERT INTO incidents (id, type, extension_id, opened_ms, actor, summary) VALUES (?, ?, ?, ?, ?, ?)').run(
    row.id,
    row.type,
    row.extension_id,
    row.opened_ms,
    row.actor,
    row.summary,
  );
}

export function noSuchIncident(id: string): WardenError {
  return new WardenError('usage', `no incident ${JSON.stringify(id)} in this store (see \`pi-warden incident list\`)`);
}

export function readIncident(db: DatabaseSync, id: string): IncidentRow {
  const row = db.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as IncidentRow | undefined;
  if (row === undefined) throw noSuchIncident(id);
  return row;
}

export function listIncidents(db: DatabaseSync): IncidentRow[] {
  return db.prepare('SELECT * FROM incidents ORDER BY opened_ms, id').all() as unknown as IncidentRow[];
}

export function readSteps(db: DatabaseSync, id: string): Map<Step, StepRow> {
  const rows = db.prepare('SELECT * FROM incident_steps WHERE incident_id = ?').all(id) as Array<
    Omit<StepRow, 'detail'> & { detail: string }
  >;
  const out = new Map<Step, StepRow>();
  for (const r of rows) out.set(r.step, { ...r, detail: JSON.parse(r.detail) as Record<string, unknown> });
  // In the workflow's order, whatever order SQLite returned them in.
  return new Map(STEPS.filter((s) => out.has(s)).map((s) => [s, out.get(s) as StepRow]));
}

/**
 * Marks a step begun and returns which attempt this is: a step begun before (and interrupted) keeps its first start
 * time and counts one more attempt in its detail, so a retry's ledger entry is told apart from the interrupted one's.
 */
export function beginStep(db: DatabaseSync, id: string, step: Step, actor: string, now: number): number {
  const row = db
    .prepare(
      `INSERT INTO incident_steps (incident_id, step, started_ms, actor, detail) VALUES (?, ?, ?, ?, '{"attempts":1}')
       ON CONFLICT(incident_id, step) DO UPDATE SET detail = json_set(detail, '$.attempts', coalesce(json_extract(detail, '$.attempts'), 1) + 1)
       RETURNING json_extract(detail, '$.attempts') AS attempts`,
    )
    .get(id, step, now, actor) as { attempts: number };
  return row.attempts;
}

export function finishStep(
  db: DatabaseSync,
  id: string,
  step: Step,
  detail: Record<string, unknown>,
  ledgerSeq: number,
  now: number,
): void {
  db.prepare('UPDATE incident_steps SET done_ms = ?, detail = ?, ledger_seq = ? WHERE incident_id = ? AND step = ?').run(
    now,
    JSON.stringify(detail),
    ledgerSeq,
    id,
    step,
  );
}
