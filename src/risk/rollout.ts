/**
 * Graduated rollout of risk enforcement (SPEC §7.5), persisted in the store:
 *   shadow      decide and record in the ledger; no alerts, no blocking
 *   log_only    also raise alerts
 *   enforce_new also enforce for extensions not yet trusted (unknown, probation)
 *   enforce_all enforce for every extension
 * The monitor watches a sample window of risk decisions and steps back one phase when the rate of blocked calls
 * of trusted extensions (the false-positive proxy), the rate of risk errors/timeouts, or the mean decision
 * latency passes its limit. Every phase change is a profile_transition alert.
 */
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../errors.ts';
import { insertAlert } from '../evidence/index.ts';
import type { RolloutSettings } from '../policy/index.ts';

export const PHASES = ['shadow', 'log_only', 'enforce_new', 'enforce_all'] as const;
export type RolloutPhase = (typeof PHASES)[number];

/** With no phase stored, enforcement follows the settings as written (`enforce: true` enforces). */
export const DEFAULT_PHASE: RolloutPhase = 'enforce_all';

export interface RolloutStatus {
  readonly phase: RolloutPhase;
  readonly updated_ms: number | null;
  readonly actor: string | null;
  readonly reason: string | null;
}

export function readRollout(db: DatabaseSync): RolloutStatus {
  const row = db.prepare('SELECT phase, updated_ms, actor, reason FROM rollout_state WHERE id = 1').get() as
    { phase: RolloutPhase; updated_ms: number; actor: string; reason: string } | undefined;
  if (row === undefined || !(PHASES as readonly string[]).includes(row.phase))
    return { phase: DEFAULT_PHASE, updated_ms: null, actor: null, reason: null };
  return row;
}

/** Moves to `to` (any phase), records who and why, and raises the profile_transition alert, atomically. */
export function setRollout(db: DatabaseSync, to: RolloutPhase, actor: string, reason: string): { from: RolloutPhase; to: RolloutPhase } {
  if (reason.trim() === '') throw new WardenError('usage', 'a rollout change needs a reason');
  db.exec('BEGIN IMMEDIATE');
  try {
    const from = readRollout(db).phase;
    const now = Date.now();
    db.prepare(
      'INSERT INTO rollout_state (id, phase, updated_ms, actor, reason) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET phase = excluded.phase, updated_ms = excluded.updated_ms, actor = excluded.actor, reason = excluded.reason',
    ).run(to, now, actor, reason);
    const backwards = PHASES.indexOf(to) < PHASES.indexOf(from);
    insertAlert(db, {
      ts_ms: now,
      extension_id: '',
      category: 'profile_transition',
      severity: backwards ? 'medium' : 'info',
      summary: `risk rollout ${from} → ${to} by ${actor}: ${reason}`,
      reason_codes: [backwards ? 'rollout_rollback' : 'rollout_advance'],
      remediation: 'Check with `pi-warden rollout status`; see the runbook Rollback section',
    });
    db.exec('COMMIT');
    return { from, to };
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/**
 * Where an automatic rollback goes from `from`: one phase back, but never below enforce_new — errors or blocked
 * calls an extension can provoke must not switch enforcement off for new extensions; only an operator can.
 */
export function automaticRollbackTarget(from: RolloutPhase): RolloutPhase | undefined {
  const to = stepped(from, -1);
  return to !== from && PHASES.indexOf(to) >= PHASES.indexOf('enforce_new') ? to : undefined;
}

export function stepped(phase: RolloutPhase, by: 1 | -1): RolloutPhase {
  return PHASES[Math.min(PHASES.length - 1, Math.max(0, PHASES.indexOf(phase) + by))] as RolloutPhase;
}

export interface Sample {
  /** The call was blocked by risk although its extension is trusted: the false-positive proxy. */
  readonly falsePositive: boolean;
  /** Scoring threw or ran past its deadline. */
  readonly error: boolean;
  readonly latencyUs: number;
}

/** Watches decisions; `add` returns a rollback reason when a trigger fires over a full sample window. */
export class RolloutMonitor {
  readonly #cfg: RolloutSettings;
  readonly #samples: Sample[] = [];
  #next = 0;

  constructor(cfg: RolloutSettings) {
    this.#cfg = cfg;
  }

  add(s: Sample): string | undefined {
    if (this.#samples.length < this.#cfg.sampleWindow) this.#samples.push(s);
    else {
      this.#samples[this.#next] = s;
      this.#next = (this.#next + 1) % this.#cfg.sampleWindow;
    }
    if (this.#samples.length < this.#cfg.sampleWindow) return undefined;
    const n = this.#samples.length;
    let fp = 0;
    let err = 0;
    let lat = 0;
    for (const x of this.#samples) {
      if (x.falsePositive) fp++;
      if (x.error) err++;
      lat += x.latencyUs;
    }
    let why: string | undefined;
    if (fp / n > this.#cfg.maxFalsePositiveRate) why = `false-positive rate ${(fp / n).toFixed(3)} > ${this.#cfg.maxFalsePositiveRate}`;
    else if (err / n > this.#cfg.maxErrorRate) why = `error rate ${(err / n).toFixed(3)} > ${this.#cfg.maxErrorRate}`;
    else if (lat / n > this.#cfg.maxAvgLatencyUs)
      why = `mean decision latency ${(lat / n).toFixed(1)} µs > ${this.#cfg.maxAvgLatencyUs} µs`;
    if (why !== undefined) {
      this.#samples.length = 0;
      this.#next = 0;
    }
    return why;
  }
}
