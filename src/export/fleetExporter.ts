/**
 * The background side of fleet export (SPEC §11). Dispatch only reaches `record()`, which bumps a counter in a
 * bounded map; everything else runs on a timer: new store rows and due decision summaries go into the spool, and
 * the spool goes to the collector batch by batch, oldest first, with exponential backoff while the collector is
 * away. A batch leaves the spool only once the collector acknowledged it, so a restart (or a kill -9) resumes with
 * the first record not yet taken. Delivery is at least once: a crash between the collector's answer and the
 * spool's delete resends that one batch, which carries the same `pi_warden.export.seq` values.
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../errors.ts';
import { openStore, type DecisionRecord, type DecisionRecorder } from '../evidence/index.ts';
import { OtlpSender } from './otlp.ts';
import { decisionSummaryRecord } from './records.ts';
import type { OtlpConfig } from './settings.ts';
import {
  acknowledge,
  peekSpool,
  recordFailure,
  releaseLease,
  spoolFromStore,
  spoolRecords,
  spoolStatus,
  takeLease,
  type SpoolStatus,
} from './spool.ts';

export interface FleetExporterOptions {
  readonly home: string;
  readonly config: OtlpConfig;
  /** How often new store rows are looked for (ms). */
  readonly pollMs?: number;
  /** Retry delays while the collector fails: doubling from `retryMinMs` up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** How often the decision summary is spooled (ms). */
  readonly summaryEveryMs?: number;
  /** One export request's time limit (ms). */
  readonly requestTimeoutMs?: number;
  /** How long the lease on the store's export lasts without renewal (ms). */
  readonly leaseMs?: number;
  /** Resource attributes (e.g. the store's key id, so a collector can tell machines apart). */
  readonly resource?: Readonly<Record<string, string>>;
}

/** Distinct (extension, capability, decision) keys one summary window counts; past it, decisions are only totalled. */
export const SUMMARY_KEYS = 10_000;

export interface ExportStatus extends SpoolStatus {
  readonly endpoint: string;
  readonly protocol: string;
  /** Decisions counted in memory, not yet in a spooled summary. */
  readonly queued: number;
  readonly leader: boolean;
}

export class FleetExporter implements DecisionRecorder {
  readonly #db: DatabaseSync;
  readonly #config: OtlpConfig;
  readonly #sender: OtlpSender;
  readonly #owner = randomUUID();
  readonly #pollMs: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #summaryEveryMs: number;
  readonly #leaseMs: number;
  #counts = new Map<string, number>();
  #uncounted = 0;
  #windowStart = Date.now();
  #retryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #leader = false;

  private constructor(db: DatabaseSync, o: FleetExporterOptions) {
    this.#db = db;
    this.#config = o.config;
    this.#sender = new OtlpSender(o.config, { timeoutMs: o.requestTimeoutMs ?? 10_000, resource: o.resource ?? {} });
    this.#pollMs = o.pollMs ?? 1000;
    this.#retryMinMs = o.retryMinMs ?? 500;
    this.#retryMaxMs = o.retryMaxMs ?? 60_000;
    this.#summaryEveryMs = o.summaryEveryMs ?? 60_000;
    this.#leaseMs = o.leaseMs ?? 30_000;
    this.#retryMs = this.#retryMinMs;
  }

  /** Opens its own connection to the store and starts the timer. */
  static start(o: FleetExporterOptions): FleetExporter {
    const exporter = new FleetExporter(openStore(o.home), o);
    exporter.#arm(0);
    return exporter;
  }

  /** Counts one decision (dispatch's only cost). */
  record(r: DecisionRecord): void {
    if (this.#closed) return;
    const key = `${r.extension_id}\u0000${r.capability ?? 'none'}\u0000${r.decision}`;
    const n = this.#counts.get(key);
    if (n !== undefined) this.#counts.set(key, n + 1);
    else if (this.#counts.size < SUMMARY_KEYS) this.#counts.set(key, 1);
    else this.#uncounted++;
  }

  #arm(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#pass().finally(() => {
        this.#running = undefined;
      });
    }, delayMs);
    this.#timer.unref();
  }

  #spoolSummary(now: number): void {
    if (this.#counts.size === 0 && this.#uncounted === 0) return;
    spoolRecords(this.#db, [decisionSummaryRecord(this.#counts, this.#windowStart, now, this.#uncounted)], this.#config.spoolBytes, now);
    this.#counts = new Map();
    this.#uncounted = 0;
    this.#windowStart = now;
  }

  /** One pass: collect, then send until the spool is empty or the collector fails; then re-arm. */
  async #pass(send = true): Promise<void> {
    let next = this.#pollMs;
    try {
      const now = Date.now();
      this.#leader = takeLease(this.#db, this.#owner, process.pid, now, this.#leaseMs);
      if (this.#leader) {
        spoolFromStore(this.#db, this.#config.spoolBytes, now);
        if (now - this.#windowStart >= this.#summaryEveryMs) this.#spoolSummary(now);
        const failed = send ? await this.#sendAll() : undefined;
        if (failed === undefined) this.#retryMs = this.#retryMinMs;
        else {
          next = this.#retryMs;
          this.#retryMs = Math.min(this.#retryMaxMs, this.#retryMs * 2);
        }
      }
    } catch (err) {
      // A busy or closed store: try again later; dispatch never sees it.
      next = this.#retryMs;
      if (this.#closed) return;
      try {
        recordFailure(this.#db, `exporter: ${(err as Error).message}`, Date.now());
      } catch {
        /* the store is unavailable: nothing to record it in */
      }
    }
    this.#arm(next);
  }

  /** Sends spooled batches in order until the spool is empty; returns the failure that stopped it, if any. */
  async #sendAll(): Promise<string | undefined> {
    for (;;) {
      const batch = peekSpool(this.#db, this.#sender.batchSize);
      if (batch.length === 0) return undefined;
      const failed = await this.#sender.send(batch);
      if (failed !== undefined) {
        recordFailure(this.#db, failed, Date.now());
        return failed;
      }
      acknowledge(this.#db, (batch[batch.length - 1] as { seq: number }).seq, batch.length, Date.now());
      if (this.#closed) return undefined;
    }
  }

  /**
   * Runs one pass now (after the one in flight) and resolves when it is done: everything in the store is spooled,
   * and sent if the collector answers. Tests and `close()` use it.
   */
  async flushNow(send = true): Promise<void> {
    if (this.#running !== undefined) await this.#running;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#spoolSummary(Date.now());
    const p = this.#pass(send);
    this.#running = p;
    await p;
  }

  status(): ExportStatus {
    return {
      ...spoolStatus(this.#db),
      endpoint: this.#config.url,
      protocol: this.#config.protocol,
      queued: [...this.#counts.values()].reduce((a, b) => a + b, 0) + this.#uncounted,
      leader: this.#leader,
    };
  }

  /**
   * A last pass, then stop: what the store holds is spooled, and sent unless the collector is failing already (a
   * session does not wait out a request timeout at exit; the next exporter sends it).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flushNow(this.#retryMs === this.#retryMinMs);
    } catch (err) {
      throw new WardenError('io', `fleet export: the last pass failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#closed = true;
      clearTimeout(this.#timer);
      if (this.#running !== undefined) await this.#running.catch(() => undefined);
      await this.#sender.shutdown();
      try {
        releaseLease(this.#db, this.#owner);
      } finally {
        this.#db.close();
      }
    }
  }
}
