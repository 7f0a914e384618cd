/**
 * Repeated identical refusals summarised (issue 16 item 5): a loop of refused calls grew the store by 142 MB in 20 s.
 * The first `burst` identical events within `windowMs` are written one by one; after that, each further one only
 * increments a counter, and one summary carrying the exact count is written when the burst ends (no identical event
 * for `quietMs`) or every `summaryEveryMs` while it goes on, and on every flush. Nothing is dropped: the written
 * events plus the summaries' counts are every event.
 */

/** The reason code a ledger summary entry adds to the refusal it stands for. */
export const SUMMARY_REASON = 'refusals_summarised';
export const BURST_REASONS = [SUMMARY_REASON] as const;
declare module '../errors.ts' {
  interface ReasonVocabularies {
    bursts: typeof SUMMARY_REASON;
  }
}

export interface BurstSettings {
  /** Identical events written one by one within a window before counting starts. */
  readonly burst: number;
  readonly windowMs: number;
  /** A burst has ended when no identical event came for this long. */
  readonly quietMs: number;
  /** While a burst goes on, a summary at least this often. */
  readonly summaryEveryMs: number;
}

export const DEFAULT_BURSTS: BurstSettings = Object.freeze({ burst: 20, windowMs: 10_000, quietMs: 1000, summaryEveryMs: 5000 });

/** What one summary stands for: `count` events like `last` (the first of them is `first`). */
export interface BurstSummary<T> {
  readonly first: T;
  readonly last: T;
  readonly count: number;
}

interface KeyState<T> {
  windowStart: number;
  seen: number;
  lastSeen: number;
  lastSummary: number;
  counted: number;
  first: T | undefined;
  last: T | undefined;
}

/** Most keys followed at once; past it every pending count is summarised and the keys are forgotten. */
const MAX_KEYS = 10_000;

export class BurstCounter<T> {
  readonly #settings: BurstSettings;
  readonly #keys = new Map<string, KeyState<T>>();
  /** Summaries forced out by the key limit, handed over on the next `due`. */
  #evicted: Array<BurstSummary<T>> = [];

  constructor(settings: Partial<BurstSettings> = {}) {
    this.#settings = { ...DEFAULT_BURSTS, ...settings };
  }

  /** `write`: write the event itself; `counted`: it is counted into the next summary of its key. */
  admit(key: string, event: T, now: number): 'write' | 'counted' {
    let st = this.#keys.get(key);
    if (st === undefined) {
      if (this.#keys.size >= MAX_KEYS) this.#evicted.push(...this.drain());
      st = { windowStart: now, seen: 0, lastSeen: now, lastSummary: now, counted: 0, first: undefined, last: undefined };
      this.#keys.set(key, st);
    } else if (st.seen < this.#settings.burst && now - st.windowStart >= this.#settings.windowMs) {
      st.windowStart = now;
      st.seen = 0;
    }
    st.lastSeen = now;
    if (st.seen < this.#settings.burst) {
      st.seen++;
      return 'write';
    }
    if (st.counted === 0) {
      st.first = event;
      st.lastSummary = now;
    }
    st.counted++;
    st.last = event;
    return 'counted';
  }

  /** Summaries due at `now` (burst ended or periodic); forgets keys whose burst is over. */
  due(now: number): Array<BurstSummary<T>> {
    const out = this.#evicted;
    this.#evicted = [];
    for (const [key, st] of this.#keys) {
      const quiet = now - st.lastSeen >= this.#settings.quietMs;
      if (st.counted > 0 && (quiet || now - st.lastSummary >= this.#settings.summaryEveryMs)) out.push(this.#take(st, now));
      if (st.counted === 0 && quiet && now - st.windowStart >= this.#settings.windowMs) this.#keys.delete(key);
    }
    return out;
  }

  /** Every pending count as a summary now (a flush, a close); the keys stay in their burst. */
  drain(): Array<BurstSummary<T>> {
    const out = this.#evicted;
    this.#evicted = [];
    for (const st of this.#keys.values()) if (st.counted > 0) out.push(this.#take(st, st.lastSeen));
    if (this.#keys.size >= MAX_KEYS) this.#keys.clear();
    return out;
  }

  /** Events counted and not yet summarised. */
  get pending(): number {
    let n = 0;
    for (const st of this.#keys.values()) n += st.counted;
    return n;
  }

  #take(st: KeyState<T>, now: number): BurstSummary<T> {
    const s = { first: st.first as T, last: st.last as T, count: st.counted };
    st.counted = 0;
    st.first = undefined;
    st.last = undefined;
    st.lastSummary = now;
    return s;
  }
}

/** The call id of a ledger summary entry: the exact count and the first and last call ids it stands for. */
export function summaryCallId(count: number, firstCallId: string, lastCallId: string): string {
  return `summary:${count}:${firstCallId.slice(0, 100)}..${lastCallId.slice(0, 100)}`;
}

/** The count a summary entry stands for (1 for an ordinary entry). */
export function summarisedCount(entry: { readonly call_id: string; readonly reason_codes: readonly string[] }): number {
  if (!entry.reason_codes.includes(SUMMARY_REASON)) return 1;
  const m = /^summary:(\d+):/.exec(entry.call_id);
  return m === null ? 1 : Number(m[1]);
}
