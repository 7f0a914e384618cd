/**
 * The records evidence keeps and the sinks that accept them (SPEC §6): every stage that produces evidence
 * writes through one of these interfaces, and the evidence writer implements them all. They live here so that
 * evidence depends on nothing above it: dispatch, mediation and trust import these, never the other way.
 */
import type { ReasonCode, WardenErrorCode } from '../errors.ts';
import type { Capability, CompiledPolicy, Rule } from '../policy/index.ts';
export type { AlertInput, AlertSink } from './alerts.ts';

export type RecordedDecision = 'allow' | 'deny' | 'error';

export interface DecisionRecord {
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly call_id: string;
  readonly method: string;
  /** null when the call was rejected before a capability could be derived. */
  readonly capability: Capability | null;
  readonly declared_capability: string | null;
  readonly decision: RecordedDecision;
  readonly rule: Rule | null;
  /** The code returned to the extension, or null when the call succeeded. */
  readonly error_code: WardenErrorCode | null;
  readonly reason_codes: readonly ReasonCode[];
  readonly duration_ms: number;
  /** Which stage stopped the call (`validate`, `policy`, …, `execute`), or null when it succeeded. */
  readonly stage: string | null;
  /** The policy the decision was made under (its snapshot hash goes into the ledger for replay). */
  readonly policy?: CompiledPolicy;
  /** The validated params, for hashing only: a recorder must never store them. */
  readonly params?: unknown;
  readonly risk_score?: number | null;
  readonly duration_us?: number;
  /** Time per pipeline stage in µs, when the recorder asked for it. */
  readonly stage_us?: Readonly<Record<string, number>>;
  /**
   * On the final record of a call whose operation ran: the record `admit` took before it ran. A ledger holds that
   * decision already, so the outcome adds an entry only when the call did not end in an allow.
   */
  readonly admitted?: DecisionRecord | undefined;
}

/**
 * Where dispatch hands decisions. No effect runs unrecorded (SPEC §4.5, §6.1): dispatch asks `failure()` before the
 * first stage and hands an allowed call's decision to `admit` before its operation runs; a recorder that cannot
 * take it throws, and the operation is never called. Observers that only watch outcomes implement `record` alone.
 */
export interface DecisionRecorder {
  /** Every call's final record, once: a refusal, or the outcome of an admitted call (with `admitted` set). */
  record(entry: DecisionRecord): void;
  /**
   * Takes an allowed call's decision before its operation runs, or throws. Taken means accepted: for the evidence
   * writer, queued for the next group commit (docs/ledger-format.md, "When an entry is written").
   */
  admit?(entry: DecisionRecord): void;
  /** Why records cannot be taken now (a failed or closed writer), or undefined while they can. */
  failure?(): Error | undefined;
  /** Ask the dispatcher to time each stage (telemetry). */
  readonly wantsStageTimings?: boolean;
}

export interface QuotaBreach {
  readonly extension_id: string;
  readonly resource: string;
  readonly limit: number;
  readonly actual: number;
  readonly ts_ms: number;
  /** How many identical breaches this row stands for (a burst summary, evidence/bursts.ts); 1 when absent. */
  readonly repeats?: number;
}

export interface BreachSink {
  recordBreach(breach: QuotaBreach): void;
}

export interface SecretBrokerLogEntry {
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly call_id: string;
  readonly method: string;
  /** SHA-256 of salt ‖ name: the same name hashes alike within one store, and the name cannot be read back. */
  readonly name_hash: string;
  /** Where in the call it was found, e.g. `http.headers.authorization`, `exec.args[2]`. */
  readonly path: string;
  readonly encoding: string;
  readonly decision: 'deny';
}

export interface SecretBrokerLog {
  recordSecretEvent(e: SecretBrokerLogEntry): void;
}

export interface ExecLogEntry {
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly call_id: string;
  /** SHA-256(store salt ‖ NUL ‖ command line): the same command hashes alike in one store; it cannot be read back. */
  readonly command_hash: string;
  /** The classes found, comma-separated, or `none`. */
  readonly class: string;
  readonly decision: 'allow' | 'deny';
  readonly reason_codes: readonly ReasonCode[];
}

export interface ExecLog {
  recordExecEvent(e: ExecLogEntry): void;
}
