/**
 * The loop of fleet export, run in its own thread (exportWorker.ts): new store rows and decision summaries go into
 * the spool, and the spool goes to the collector batch by batch, oldest first, with exponential backoff while the
 * collector is away. A batch leaves the spool only once the collector acknowledged it, so a restart (or a kill -9)
 * resumes with the first record not yet taken. Delivery is at least once: a crash between the collector's answer
 * and the spool's delete resends that one batch, which carries the same `pi_warden.export.seq` values.
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { openStore } from '../evidence/index.ts';
import { OtlpSender } from './otlp.ts';
import type { ExportRecord } from './records.ts';
import type { OtlpConfig } from './settings.ts';
import { acknowledge, peekSpool, recordFailure, releaseLease, spoolFromStore, spoolRecords, takeLease } from './spool.ts';

export interface ExportLoopOptions {
  readonly home: string;
  readonly config: OtlpConfig;
  /** How often new store rows are looked for (ms). */
  readonly pollMs?: number;
  /** Retry delays while the collector fails: doubling from `retryMinMs` up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** One export request's time limit (ms). */
  readonly requestTimeoutMs?: number;
  /** How long the lease on the store's export lasts without renewal (ms). */
  readonly leaseMs?: number;
  /** How long `close()` may spend sending what is left (ms). */
  readonly closeMs?: number;
  /** Resource attributes (e.g. the store's key id, so a collector can tell machines apart). */
  readonly resource?: Readonly<Record<string, string>>;
}

export class ExportLoop {
  readonly #db: DatabaseSync;
  readonly #config: OtlpConfig;
  readonly #sender: OtlpSender;
  readonly #owner = randomUUID();
  readonly #pollMs: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #leaseMs: number;
  #retryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #closing = false;
  #leader = false;
  readonly #closeMs: number;

  private constructor(db: DatabaseSync, o: ExportLoopOptions) {
    this.#db = db;
    this.#config = o.config;
    this.#sender = new OtlpSender(o.config, { timeoutMs: o.requestTimeoutMs ?? 5000, resource: o.resource ?? {} });
    this.#pollMs = o.pollMs ?? 1000;
    this.#retryMinMs = o.retryMinMs ?? 500;
    this.#retryMaxMs = o.retryMaxMs ?? 60_000;
    this.#leaseMs = o.leaseMs ?? 30_000;
    this.#closeMs = o.closeMs ?? 2000;
    this.#retryMs = this.#retryMinMs;
  }

  /** Opens its own connection to the store and starts the timer. */
  static start(o: ExportLoopOptions): ExportLoop {
    const exporter = new ExportLoop(openStore(o.home), o);
    exporter.#arm(0);
    return exporter;
  }

  #arm(delayMs: number): void {
    if (this.#closed || this.#closing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#pass().finally(() => {
        this.#running = undefined;
      });
    }, delayMs);
    this.#timer.unref();
  }

  /** Records made on the dispatch side (decision summaries), into the spool in order with the rest. */
  spool(records: readonly ExportRecord[]): void {
    if (records.length > 0) spoolRecords(this.#db, records, this.#config.spoolBytes, Date.now());
  }

  /** One pass: collect, then send until the spool is empty or the collector fails; then re-arm. */
  async #pass(): Promise<void> {
    let next = this.#pollMs;
    try {
      const now = Date.now();
      this.#leader = takeLease(this.#db, this.#owner, process.pid, now, this.#leaseMs);
      if (this.#leader) {
        // A backlog is taken a thousand rows per table at a time, sent between takes: no long stall of the loop.
        let failed: string | undefined;
        for (let more = true; more && failed === undefined && !this.#closing;) {
          more = spoolFromStore(this.#db, this.#config.spoolBytes, Date.now()).more === true;
          failed = await this.#sendAll();
        }
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
      if (this.#closed) return undefined;
      acknowledge(this.#db, (batch[batch.length - 1] as { seq: number }).seq, batch.length, Date.now());
    }
  }

  /**
   * Runs one pass now (after the one in flight) and resolves when it is done: everything in the store is spooled,
   * and sent if the collector answers (tests, and callers that want a barrier).
   */
  async flushNow(): Promise<void> {
    if (this.#running !== undefined) await this.#running;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const p = this.#pass();
    this.#running = p;
    await p;
  }

  get leader(): boolean {
    return this.#leader;
  }

  /**
   * Stops, after spooling what the store holds now and sending it if the collector answers within `closeMs`: a
   * session never waits out a collector outage at exit; the next exporter sends what is left. A request still in
   * flight at the deadline may have reached the collector without its answer being recorded: that batch is sent
   * again by the next exporter (at least once, with the same export seqs).
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      if (this.#leader) {
        spoolFromStore(this.#db, this.#config.spoolBytes, Date.now());
      }
    } catch {
      /* a busy store: what was not spooled stays in the store for the next exporter */
    }
    const last = (async () => {
      if (this.#running !== undefined) await this.#running;
      if (this.#leader && this.#retryMs === this.#retryMinMs) await this.#sendAll();
    })().then(
      () => true,
      () => true,
    );
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([last, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.#closeMs)))]);
    clearTimeout(timer);
    this.#closed = true;
    if (finished) await this.#sender.shutdown();
    else void this.#sender.shutdown();
    try {
      releaseLease(this.#db, this.#owner);
    } catch {
      /* the lease expires by itself */
    } finally {
      this.#db.close();
    }
  }
}
