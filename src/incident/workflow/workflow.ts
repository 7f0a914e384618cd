/**
 * The incident workflow (SPEC §9, runbook General Incident Workflow): open → contain → collect → verify → analyze
 * → remediate → close, one step per phase, in that order only. Each step is
 * - recorded: a row in the store (UTC timestamps, what it did, hashes of what it wrote) and an entry in the
 *   ledger (stage `operator`, method `incident.<step>`) under a signed checkpoint, so the record of the response
 *   is as tamper-evident as the decisions it investigates;
 * - idempotent: a step done is not done again (remediate adds each distinct action once);
 * - ordered: a step whose predecessor is not done is refused, naming the phase that must come first;
 * - restartable: the row is written when the step begins and completed when it ends; a step cut short (a crash,
 *   a kill) shows as begun and runs again from the start, its effects being idempotent (a ledger entry may then be
 *   written twice; the row holds the last).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import {
  type Alert,
  DB_FILE,
  EvidenceWriter,
  loadOrCreateKey,
  OPERATOR_STAGE,
  openStore,
  parseEntry,
  queryAlerts,
  storedEntries,
} from '../../evidence/index.ts';
import { isValidExtensionId } from '../../policy/index.ts';
import { replayStore } from '../../replay/index.ts';
import { TrustRegistry } from '../../trust/index.ts';
import { contain } from './contain.ts';
import { lockStep } from './stepLock.ts';
import type { EvidenceTools } from './evidenceTools.ts';
import {
  INCIDENT_TITLES,
  type IncidentType,
  isIncidentType,
  INCIDENT_TYPES,
  PHASE_TABLE,
  type PhaseSpec,
  slaReading,
  type SlaReading,
  type Step,
  STEPS,
  specOfStep,
} from './phases.ts';
import {
  beginStep,
  finishStep,
  type IncidentRow,
  insertIncident,
  listIncidents,
  newIncidentId,
  noSuchIncident,
  readIncident,
  readSteps,
  type StepRow,
} from './record.ts';

export interface WorkflowOptions {
  /** The evidence store. */
  readonly home: string;
  readonly tools: EvidenceTools;
  /** Who runs the steps (kept in each step row and in the kill switch's audit record). */
  readonly actor: string;
  /** The project whose settings the config snapshot explains (default: the current directory). */
  readonly cwd?: string;
  /** The environment the config snapshot resolves settings under (default: the process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Wall clock, epoch ms (default Date.now). */
  readonly clock?: () => number;
}

export interface PhaseStatus extends SlaReading {
  readonly phase: PhaseSpec['phase'];
  readonly runbook: string;
  readonly nist: string;
  readonly sans: string;
  readonly step: Step;
  readonly sla: string;
  readonly state: 'done' | 'begun' | 'pending';
  readonly started_at: string | null;
  readonly done_at: string | null;
  readonly ledger_seq: number | null;
  readonly detail: Record<string, unknown>;
}

export interface IncidentStatus {
  readonly id: string;
  readonly type: IncidentType;
  readonly title: string;
  readonly extension_id: string | null;
  readonly opened_at: string;
  readonly actor: string;
  readonly summary: string;
  readonly closed: boolean;
  /** The next step to run, or null once closed. */
  readonly next_step: Step | null;
  readonly phases: readonly PhaseStatus[];
}

export interface StepResult {
  readonly step: Step;
  /** True when the step had been done already: nothing was run or recorded again. */
  readonly already: boolean;
  readonly detail: Record<string, unknown>;
  readonly incident: IncidentStatus;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Writes `value` as JSON into the incident's folder; returns its path and SHA-256. */
function writeEvidence(dir: string, name: string, value: unknown): { path: string; sha256: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  return { path, sha256: sha256File(path) };
}

export class IncidentWorkflow {
  readonly #o: WorkflowOptions;
  readonly #clock: () => number;

  constructor(options: WorkflowOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** Where an incident's evidence files go by default: `<home>/incidents/<id>/`. */
  evidenceDir(id: string): string {
    return join(this.#o.home, 'incidents', id);
  }

  #withDb<T>(fn: (db: DatabaseSync) => T, readOnly = false): T {
    const db = openStore(this.#o.home, { readOnly });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  async open(o: { type: string; extension?: string; summary?: string }): Promise<StepResult> {
    if (!isIncidentType(o.type)) throw new WardenError('usage', `--type must be one of ${INCIDENT_TYPES.join(', ')}, found "${o.type}"`);
    if (o.extension !== undefined && !isValidExtensionId(o.extension))
      throw new WardenError('usage', `--extension: expected an extension id, found ${JSON.stringify(o.extension)}`);
    const now = this.#clock();
    const row: IncidentRow = {
      id: newIncidentId(o.type, now),
      type: o.type,
      extension_id: o.extension ?? null,
      opened_ms: now,
      actor: this.#o.actor,
      summary: o.summary ?? INCIDENT_TITLES[o.type],
    };
    this.#withDb((db) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        insertIncident(db, row);
        beginStep(db, row.id, 'open', this.#o.actor, now);
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    });
    return this.#complete(row.id, 'open', { type: row.type, title: INCIDENT_TITLES[row.type], extension_id: row.extension_id });
  }

  contain(id: string): Promise<StepResult> {
    return this.#step(id, 'contain', async (inc) => {
      if (inc.extension_id === null)
        throw new WardenError(
          'usage',
          `${id} names no extension: expected one to kill (open the incident with --extension ID); to stop every extension use \`pi-warden disable\` (the runbook's emergency step)`,
        );
      const c = await this.#withDbAsync((db) => contain(db, this.#o.home, inc.extension_id as string, this.#o.actor, `incident ${id}`));
      return { ...c };
    });
  }

  collect(id: string, o: { out?: string } = {}): Promise<StepResult> {
    return this.#step(id, 'collect', async (inc) => {
      const dir = resolve(o.out ?? this.evidenceDir(id));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const snapshot = this.#o.tools.snapshotConfig({
        home: this.#o.home,
        out: dir,
        ...(inc.extension_id === null ? {} : { extension: inc.extension_id }),
        ...(this.#o.cwd === undefined ? {} : { cwd: this.#o.cwd }),
        ...(this.#o.env === undefined ? {} : { env: this.#o.env }),
      });
      const bundle = await this.#o.tools.exportBundle({
        home: this.#o.home,
        out: join(dir, `${id}.bundle`),
        ...(inc.extension_id === null ? {} : { extension: inc.extension_id }),
        commandLine: ['pi-warden', 'incident', 'collect', id],
      });
      return {
        dir,
        config_snapshot: { path: snapshot.path, sha256: snapshot.sha256 },
        bundle: { path: bundle.path, bundle_hash: bundle.bundleHash, file_sha256: bundle.fileSha256, entries: bundle.entries },
      };
    });
  }

  verify(id: string): Promise<StepResult> {
    return this.#step(id, 'verify', async (inc, steps) => {
      const collected = steps.get('collect')?.detail as { dir: string; bundle: { path: string; file_sha256: string } };
      const fileNow = sha256File(collected.bundle.path);
      const publicKey = loadOrCreateKey(this.#o.home).publicKey;
      const bundle = await this.#o.tools.verifyBundle(collected.bundle.path, { publicKey, home: this.#o.home });
      const ledger = this.#o.tools.verifyLedger(this.#o.home);
      const report = writeEvidence(collected.dir, 'ledger-verification.json', ledger);
      const alerts = this.#withDb((db) => queryAlerts(db, inc.extension_id === null ? {} : { extension: inc.extension_id }));
      return {
        bundle: {
          ok: bundle.ok && fileNow === collected.bundle.file_sha256,
          file_unchanged: fileNow === collected.bundle.file_sha256,
          failures: bundle.failures,
        },
        ledger: {
          classification: ledger.classification,
          chain_valid: ledger.chain_valid,
          checkpoints_valid: ledger.checkpoints_valid,
          first_break_seq: ledger.first_break_seq,
          verification_errors: ledger.verification_errors.length,
          report: report.path,
          report_sha256: report.sha256,
        },
        alert_count: alerts.length,
      };
    });
  }

  analyze(id: string): Promise<StepResult> {
    return this.#step(id, 'analyze', (inc, steps) => {
      const dir = (steps.get('collect')?.detail as { dir: string }).dir;
      const ext = inc.extension_id ?? undefined;
      const publicKey = loadOrCreateKey(this.#o.home).publicKey;
      // Replay stops at the first break by itself: later entries are counted as untrusted, not replayed.
      const replay = replayStore(this.#o.home, { publicKey, ...(ext === undefined ? {} : { extension: ext }) });
      const analysis = this.#withDb((db) => ({
        alerts: queryAlerts(db, ext === undefined ? {} : { extension: ext }),
        risk_timeline: riskTimeline(db, ext),
        trust_history: ext === undefined ? [] : new TrustRegistry(db).history(ext),
      }));
      const file = writeEvidence(dir, 'analysis.json', { incident: id, extension_id: inc.extension_id, replay, ...analysis });
      return Promise.resolve({
        replay: {
          entries_replayed: replay.entries_replayed,
          matching: replay.matching,
          differences: replay.differences.length,
          untrusted_from_seq: replay.untrusted.from_seq,
          untrusted: replay.untrusted.count,
        },
        alerts: countBy(analysis.alerts),
        risk_points: analysis.risk_timeline.length,
        trust_transitions: analysis.trust_history.length,
        analysis: file.path,
        analysis_sha256: file.sha256,
      });
    });
  }

  /** Records a remediation (policy update, scanner rule, trust lift, bead filed); each distinct action once. */
  async remediate(id: string, action: string): Promise<StepResult> {
    const text = action.trim();
    if (text === '')
      throw new WardenError('usage', '--action: expected what was changed (policy update, scanner rule, trust lift), found nothing');
    const steps = this.#withDb((db) => readSteps(db, id));
    const done = steps.get('remediate');
    const actions = ((done?.detail.actions as string[] | undefined) ?? []).slice();
    if (done?.done_ms != null && !steps.has('close')) {
      if (actions.includes(text)) return this.#result(id, 'remediate', true, done.detail);
      // Another action after the first: recorded like a step of its own.
      actions.push(text);
      return this.#complete(id, 'remediate', { actions });
    }
    return this.#step(id, 'remediate', () => Promise.resolve({ actions: [...actions, text] }));
  }

  close(id: string, o: { postmortem?: string } = {}): Promise<StepResult> {
    return this.#step(id, 'close', (inc, steps) => {
      const dir = (steps.get('collect')?.detail as { dir: string }).dir;
      const postmortem = o.postmortem === undefined ? undefined : { path: resolve(o.postmortem), sha256: sha256File(o.postmortem) };
      const timings = this.status(id).phases.map((p) => ({ phase: p.phase, elapsed_ms: p.elapsed_ms, breached: p.breached }));
      const file = writeEvidence(dir, 'timeline.json', { incident: id, type: inc.type, phases: timings });
      return Promise.resolve({ timeline: file.path, timeline_sha256: file.sha256, ...(postmortem === undefined ? {} : { postmortem }) });
    });
  }

  status(id: string): IncidentStatus {
    return this.#read(
      (db) => statusOf(readIncident(db, id), readSteps(db, id), this.#clock()),
      () => {
        throw noSuchIncident(id);
      },
    );
  }

  list(): IncidentStatus[] {
    return this.#read(
      (db) => listIncidents(db).map((inc) => statusOf(inc, readSteps(db, inc.id), this.#clock())),
      () => [],
    );
  }

  /**
   * Reads open the store read-only: a report or status of a forensic copy must not change it (no migration, no
   * journal, no chmod). A home without a store has no incidents.
   */
  #read<T>(fn: (db: DatabaseSync) => T, noStore: () => T): T {
    return existsSync(join(this.#o.home, DB_FILE)) ? this.#withDb(fn, true) : noStore();
  }

  async #withDbAsync<T>(fn: (db: DatabaseSync) => Promise<T>): Promise<T> {
    const db = openStore(this.#o.home);
    try {
      return await fn(db);
    } finally {
      db.close();
    }
  }

  /**
   * Runs a step unless done, after checking its predecessor; the row is begun first and completed last. The whole
   * run holds the step's lock (stepLock.ts), and the state is read under it, so a second run of the same step waits
   * its turn as a refusal, and one that comes after the first finished sees the step done.
   */
  async #step(
    id: string,
    step: Step,
    act: (inc: IncidentRow, steps: Map<Step, StepRow>) => Promise<Record<string, unknown>>,
  ): Promise<StepResult> {
    this.#withDb((db) => readIncident(db, id));
    const lock = lockStep(this.evidenceDir(id), id, step, this.#clock());
    try {
      const { inc, steps } = this.#withDb((db) => ({ inc: readIncident(db, id), steps: readSteps(db, id) }));
      const mine = steps.get(step);
      if (mine?.done_ms != null) return this.#result(id, step, true, mine.detail);
      const before = STEPS[STEPS.indexOf(step) - 1] as Step;
      if (steps.get(before)?.done_ms == null) {
        const next = STEPS.find((s) => steps.get(s)?.done_ms == null) as Step;
        throw new WardenError(
          'incident_out_of_order',
          `cannot ${step} ${id}: expected phase ${specOfStep(next).runbook} to be done first (\`pi-warden incident ${next} ${id}\`), found it ${steps.has(next) ? 'begun but not finished' : 'not begun'}`,
        );
      }
      const attempt = this.#withDb((db) => beginStep(db, id, step, this.#o.actor, this.#clock()));
      return await this.#complete(id, step, await act(inc, steps), attempt);
    } finally {
      lock.release();
    }
  }

  /** Writes the step's ledger entry under a signed checkpoint, then completes its row. */
  async #complete(id: string, step: Step, detail: Record<string, unknown>, attempt = 1): Promise<StepResult> {
    const inc = this.#withDb((db) => readIncident(db, id));
    const seq = await recordStep(this.#o.home, inc, step, detail, attempt, this.#clock());
    this.#withDb((db) => finishStep(db, id, step, detail, seq, this.#clock()));
    return this.#result(id, step, false, detail);
  }

  #result(id: string, step: Step, already: boolean, detail: Record<string, unknown>): StepResult {
    return { step, already, detail, incident: this.status(id) };
  }
}

/**
 * The step as a ledger entry: no params are kept, only their hash (incident, step and the detail's hashes), and a
 * checkpoint is signed at once so the entry is covered by a signature when the command returns. A step run again
 * after an interruption (attempt 2, 3, …) gets its own call id: the interrupted run's entry, if it was written, stays
 * as what it was — a run that did not finish.
 */
async function recordStep(
  home: string,
  inc: IncidentRow,
  step: Step,
  detail: Record<string, unknown>,
  attempt: number,
  now: number,
): Promise<number> {
  const writer = await EvidenceWriter.open(home, { telemetry: false });
  try {
    writer.record({
      ts_ms: now,
      extension_id: inc.extension_id ?? '',
      call_id: attempt === 1 ? `${inc.id}/${step}` : `${inc.id}/${step}#attempt-${attempt}`,
      method: `incident.${step}`,
      capability: null,
      declared_capability: null,
      decision: 'allow',
      rule: null,
      error_code: null,
      reason_codes: ['incident_step'],
      duration_ms: 0,
      stage: OPERATOR_STAGE,
      params: { incident: inc.id, type: inc.type, step, attempt, detail },
    });
    const r = await writer.checkpoint();
    return r.treeSize;
  } finally {
    await writer.close();
  }
}

function statusOf(inc: IncidentRow, steps: Map<Step, StepRow>, now: number): IncidentStatus {
  const phases = PHASE_TABLE.map((spec): PhaseStatus => {
    const row = steps.get(spec.step);
    const done = row?.done_ms ?? null;
    return {
      phase: spec.phase,
      runbook: spec.runbook,
      nist: spec.nist,
      sans: spec.sans,
      step: spec.step,
      sla: spec.slaText,
      state: done !== null ? 'done' : row !== undefined ? 'begun' : 'pending',
      started_at: iso(row?.started_ms ?? null),
      done_at: iso(done),
      ledger_seq: row?.ledger_seq ?? null,
      detail: row?.detail ?? {},
      ...slaReading(spec, inc.opened_ms, done, now),
    };
  });
  const next = STEPS.find((s) => steps.get(s)?.done_ms == null) ?? null;
  return {
    id: inc.id,
    type: inc.type,
    title: INCIDENT_TITLES[inc.type],
    extension_id: inc.extension_id,
    opened_at: iso(inc.opened_ms) as string,
    actor: inc.actor,
    summary: inc.summary,
    closed: next === null,
    next_step: next,
    phases,
  };
}

/** Risk scores the ledger recorded for the extension (or all), in seq order: the analysis's risk timeline. */
function riskTimeline(db: DatabaseSync, extension: string | undefined): Array<{ seq: number; ts_ms: number; risk_score: number }> {
  const out: Array<{ seq: number; ts_ms: number; risk_score: number }> = [];
  for (const row of storedEntries(db)) {
    try {
      const e = parseEntry(row.entry, row.ledger_hash);
      if (e.risk_score !== null && (extension === undefined || e.extension_id === extension))
        out.push({ seq: row.seq, ts_ms: e.ts_ms, risk_score: e.risk_score });
    } catch {
      // an unreadable entry is verify's finding, not a risk point
    }
  }
  return out;
}

function countBy(alerts: readonly Alert[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of alerts) out[a.category] = (out[a.category] ?? 0) + 1;
  return out;
}
