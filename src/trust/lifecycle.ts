/**
 * Trust lifecycle and kill switch (SPEC §7.2–7.3, runbook INC-5). States: unknown → probation → trusted, and
 * quarantined from any state. The store is the source of truth. A transition made in this process is seen by
 * the next hostcall; one made by another process (the operator's `pi-warden trust kill`) within
 * `TRUST_STALE_MS`: SQLite's data_version is read at most that often, not per hostcall (it cost ~2 µs, twice
 * per async call). No polling thread. Leaving quarantine has one path only: `lift`, with actor and reason, to
 * probation.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { WardenError } from '../errors.ts';
import { insertAlert, type AlertCategory, type Severity } from '../evidence/index.ts';
import { isValidExtensionId } from '../policy/index.ts';

export const TRUST_STATES = ['unknown', 'probation', 'trusted', 'quarantined'] as const;
export type TrustState = (typeof TRUST_STATES)[number];

/** How long a state read from the store may be served before another process's change must be looked for. */
export const TRUST_STALE_MS = 250;

/**
 * Bumped by every transition any registry of this process commits: a registry on the same connection (where
 * data_version does not move) or on another connection of this process sees it on the next hostcall.
 */
let generation = 0;

export interface TrustRegistryOptions {
  /** Default TRUST_STALE_MS; 0 reads data_version on every hostcall. */
  readonly staleMs?: number;
  /** Monotonic ms (default performance.now), injectable for the staleness test. */
  readonly clock?: () => number;
}

export type TransitionKind = 'promote' | 'quarantine' | 'kill' | 'lift';

export const TRUST_REASONS = ['illegal_transition'] as const;
export type TrustReason = (typeof TRUST_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    trust: TrustReason;
  }
}

export interface Transition {
  readonly id: number;
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly from_state: TrustState;
  readonly to_state: TrustState;
  readonly kind: TransitionKind;
  readonly actor: string;
  readonly reason: string;
}

export type Move = { readonly ok: true; readonly to: TrustState } | { readonly ok: false; readonly why: string };

/** The only legal moves. Everything else is refused with the reason. */
export function nextState(from: TrustState, kind: TransitionKind): Move {
  const to = (s: TrustState): Move => ({ ok: true, to: s });
  const no = (why: string): Move => ({ ok: false, why });
  switch (kind) {
    case 'promote':
      if (from === 'unknown') return to('probation');
      if (from === 'probation') return to('trusted');
      if (from === 'trusted') return no('already trusted');
      return no('a quarantined extension can only leave quarantine with `trust lift`');
    case 'quarantine':
    case 'kill':
      return from === 'quarantined' ? no('already quarantined') : to('quarantined');
    case 'lift':
      return from === 'quarantined' ? to('probation') : no(`${from} is not quarantined: nothing to lift`);
  }
}

function alertFor(kind: TransitionKind, to: TrustState): { category: AlertCategory; severity: Severity } {
  if (to === 'quarantined') return { category: 'quarantine', severity: 'critical' };
  if (kind === 'lift') return { category: 'kill_switch', severity: 'medium' };
  return { category: 'profile_transition', severity: 'info' };
}

/** Reads and changes trust state in one store. One instance per process; cheap to query per hostcall. */
export class TrustRegistry {
  readonly #db: DatabaseSync;
  readonly #getState: StatementSync;
  readonly #dataVersion: StatementSync;
  readonly #cache = new Map<string, TrustState>();
  readonly #staleMs: number;
  readonly #clock: () => number;
  #seenVersion = -1;
  #seenGeneration = -1;
  /** When data_version was last read; -Infinity forces the next read. */
  #checkedAt = Number.NEGATIVE_INFINITY;

  constructor(db: DatabaseSync, options: TrustRegistryOptions = {}) {
    this.#db = db;
    this.#getState = db.prepare('SELECT state FROM trust_state WHERE extension_id = ?');
    this.#dataVersion = db.prepare('PRAGMA data_version');
    this.#dataVersion.setReturnArrays(true);
    this.#staleMs = options.staleMs ?? TRUST_STALE_MS;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /**
   * The current state: a transition of this process is seen at once, another process's within `staleMs` (the
   * store is asked again once that long has passed since it was last asked, or the clock went backwards).
   */
  stateOf(extensionId: string): TrustState {
    const now = this.#clock();
    const age = now - this.#checkedAt;
    if (this.#seenGeneration !== generation || !(age >= 0 && age < this.#staleMs)) {
      const v = (this.#dataVersion.get() as unknown as [number])[0];
      if (v !== this.#seenVersion || this.#seenGeneration !== generation) {
        this.#cache.clear();
        this.#seenVersion = v;
        this.#seenGeneration = generation;
      }
      this.#checkedAt = now;
    }
    let s = this.#cache.get(extensionId);
    if (s === undefined) {
      const row = this.#getState.get(extensionId) as { state: TrustState } | undefined;
      s = row?.state ?? 'unknown';
      this.#cache.set(extensionId, s);
    }
    return s;
  }

  /** Applies a transition with its audit record and alert, atomically; refuses illegal ones. */
  transition(extensionId: string, kind: TransitionKind, actor: string, reason: string): Transition {
    if (!isValidExtensionId(extensionId)) throw new WardenError('usage', `not an extension id: ${JSON.stringify(extensionId)}`);
    if (actor.trim() === '' || reason.trim() === '') throw new WardenError('usage', `${kind} needs an actor and a reason (audit metadata)`);
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.#getState.get(extensionId) as { state: TrustState } | undefined;
      const from = row?.state ?? 'unknown';
      const move = nextState(from, kind);
      if (!move.ok) throw new WardenError('usage', `cannot ${kind} ${extensionId}: ${move.why}`, { reasonCodes: ['illegal_transition'] });
      const to = move.to;
      const now = Date.now();
      this.#db
        .prepare(
          'INSERT INTO trust_state (extension_id, state, updated_ms) VALUES (?, ?, ?) ON CONFLICT(extension_id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms',
        )
        .run(extensionId, to, now);
      const info = this.#db
        .prepare(
          'INSERT INTO trust_transitions (ts_ms, extension_id, from_state, to_state, kind, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(now, extensionId, from, to, kind, actor, reason);
      insertAlert(this.#db, {
        ts_ms: now,
        extension_id: extensionId,
        ...alertFor(kind, to),
        summary: `${extensionId}: ${from} → ${to} (${kind} by ${actor}: ${reason})`,
        reason_codes: kind === 'kill' ? ['kill_switch'] : kind === 'lift' ? ['kill_switch_lifted'] : [kind],
        remediation:
          to === 'quarantined'
            ? `No hostcall of ${extensionId} is served until \`pi-warden trust lift ${extensionId} --reason …\` (runbook INC-5)`
            : 'Review with `pi-warden trust status`',
      });
      this.#db.exec('COMMIT');
      generation++;
      return {
        id: Number(info.lastInsertRowid),
        ts_ms: now,
        extension_id: extensionId,
        from_state: from,
        to_state: to,
        kind,
        actor,
        reason,
      };
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  history(extensionId?: string): Transition[] {
    const rows =
      extensionId === undefined
        ? this.#db.prepare('SELECT * FROM trust_transitions ORDER BY id').all()
        : this.#db.prepare('SELECT * FROM trust_transitions WHERE extension_id = ? ORDER BY id').all(extensionId);
    return rows as unknown as Transition[];
  }

  all(): Array<{ extension_id: string; state: TrustState; updated_ms: number }> {
    return this.#db.prepare('SELECT extension_id, state, updated_ms FROM trust_state ORDER BY extension_id').all() as unknown as Array<{
      extension_id: string;
      state: TrustState;
      updated_ms: number;
    }>;
  }
}
