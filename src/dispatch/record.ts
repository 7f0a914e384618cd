/**
 * Recorders dispatch hands every decision to (SPEC §4.5: every error is also a ledger entry). The record and
 * the recorder interface are evidence's (`evidence/sinks.ts`); the evidence writer implements it, and
 * `MemoryRecorder` is a bounded in-process one.
 */
import type { DecisionRecord, DecisionRecorder } from '../evidence/index.ts';

/**
 * Hands each record to several recorders in order; the first that throws stops the chain (fail closed). The
 * combination is down when any of them is, and admits a decision only when every one that admits takes it.
 */
export function combineRecorders(...recorders: ReadonlyArray<DecisionRecorder | undefined>): DecisionRecorder {
  const list = recorders.filter((r): r is DecisionRecorder => r !== undefined);
  const admitting = list.filter((r) => r.admit !== undefined);
  const watched = list.filter((r) => r.failure !== undefined);
  return {
    wantsStageTimings: list.some((r) => r.wantsStageTimings === true),
    record(entry: DecisionRecord): void {
      for (const r of list) r.record(entry);
    },
    admit(entry: DecisionRecord): void {
      for (const r of admitting) r.admit?.(entry);
    },
    failure(): Error | undefined {
      for (const r of watched) {
        const down = r.failure?.();
        if (down !== undefined) return down;
      }
      return undefined;
    },
  };
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
