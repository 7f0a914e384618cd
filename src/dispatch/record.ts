/**
 * What dispatch records for every call — allowed, denied or errored (SPEC §4.5: every error is also a ledger
 * entry). The evidence ledger implements `DecisionRecorder`; `MemoryRecorder` is a bounded in-process one.
 * Records carry the method, capability and reason codes, never raw params.
 */
import type { WardenErrorCode } from '../errors.ts';
import type { Capability } from '../policy/capabilities.ts';
import type { CompiledPolicy, Rule } from '../policy/precedence.ts';

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
  readonly reason_codes: readonly string[];
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
}

/** Hands each record to several recorders in order; the first that throws stops the chain (fail closed). */
export function combineRecorders(...recorders: ReadonlyArray<DecisionRecorder | undefined>): DecisionRecorder {
  const list = recorders.filter((r): r is DecisionRecorder => r !== undefined);
  return {
    wantsStageTimings: list.some((r) => r.wantsStageTimings === true),
    record(entry: DecisionRecord): void {
      for (const r of list) r.record(entry);
    },
  };
}

export interface DecisionRecorder {
  record(entry: DecisionRecord): void;
  /** Ask the dispatcher to time each stage (telemetry). */
  readonly wantsStageTimings?: boolean;
}

/** A bounded ring: the newest `limit` records, O(1) per record. */
export class MemoryRecorder implements DecisionRecorder {
  readonly #ring: Array<DecisionRecord | undefined>;
  #next = 0;
  #count = 0;

  constructor(limit = 10_000) {
    this.#ring = new Array<DecisionRecord | undefined>(Math.max(1, limit));
  }

  record(entry: DecisionRecord): void {
    this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (this.#count < this.#ring.length) this.#count++;
  }

  /** Oldest first. */
  get entries(): readonly DecisionRecord[] {
    const start = (this.#next - this.#count + this.#ring.length) % this.#ring.length;
    return Array.from({ length: this.#count }, (_, i) => this.#ring[(start + i) % this.#ring.length] as DecisionRecord);
  }

  clear(): void {
    this.#ring.fill(undefined);
    this.#next = 0;
    this.#count = 0;
  }
}
