/**
 * Fleet export as the runtime sees it (SPEC §11). Dispatch only reaches `record()`, which bumps a counter in a
 * bounded map; the counts go to the export thread as a decision summary every `summaryEveryMs`. Everything else
 * (spool, batches, retries: exportLoop.ts) runs in that thread, so a slow collector or a busy store never delays a
 * hostcall. The thread is unreferenced while idle: an exporter never keeps a process alive.
 */
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { WardenError } from '../errors.ts';
import { openStore, type DecisionRecord, type DecisionRecorder } from '../evidence/index.ts';
import type { ExportLoopOptions } from './exportLoop.ts';
import type { FromExportWorker, ToExportWorker } from './exportWorker.ts';
import { decisionSummaryRecord } from './records.ts';
import { spoolStatus, type SpoolStatus } from './spool.ts';

export interface FleetExporterOptions extends ExportLoopOptions {
  /** How often the decision summary is spooled (ms). */
  readonly summaryEveryMs?: number;
}

/** Distinct (extension, capability, decision) keys one summary window counts; past it, decisions are only totalled. */
export const SUMMARY_KEYS = 10_000;

export interface ExportStatus extends SpoolStatus {
  readonly endpoint: string;
  readonly protocol: string;
  /** Decisions counted in memory, not yet in a spooled summary. */
  readonly queued: number;
  /** Whether this exporter holds the store's export lease (one exporter per store sends). */
  readonly leader: boolean;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './exportWorker.ts' : './exportWorker.js', import.meta.url);

export class FleetExporter implements DecisionRecorder {
  readonly #worker: Worker;
  readonly #options: FleetExporterOptions;
  readonly #pending = new Map<number, { resolve(): void; reject(e: Error): void }>();
  #nextId = 1;
  #counts = new Map<string, number>();
  #uncounted = 0;
  #windowStart = Date.now();
  readonly #summaryTimer: NodeJS.Timeout;
  #leader = false;
  #failed: string | undefined;
  #closed = false;
  /** A read connection for status(), opened when first asked. */
  #statusDb: DatabaseSync | undefined;

  private constructor(worker: Worker, o: FleetExporterOptions) {
    this.#worker = worker;
    this.#options = o;
    worker.on('message', (m: FromExportWorker) => {
      if (m.t === 'ready') return;
      if (m.t === 'done') this.#leader = m.leader;
      if (m.id === null) {
        if (m.t === 'error') this.#failed = m.message;
        return;
      }
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) worker.unref();
      if (m.t === 'error') p?.reject(new WardenError('io', `fleet export: ${m.message}`));
      else p?.resolve();
    });
    worker.on('error', (err: Error) => {
      this.#failed = err.message;
      for (const p of this.#pending.values()) p.reject(new WardenError('io', `fleet export thread failed: ${err.message}`));
      this.#pending.clear();
    });
    worker.unref();
    this.#summaryTimer = setInterval(() => this.#sendSummary(), o.summaryEveryMs ?? 60_000);
    this.#summaryTimer.unref();
  }

  /** Starts the export thread over the store at `o.home`; rejects with the thread's reason when it cannot start. */
  static async start(o: FleetExporterOptions): Promise<FleetExporter> {
    const { summaryEveryMs: _, ...loop } = o;
    const worker = new Worker(WORKER_URL, { workerData: loop, execArgv: [] });
    const first = await new Promise<FromExportWorker>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', (err: Error) => resolve({ t: 'error', id: null, message: err.message }));
    });
    if (first.t !== 'ready') {
      await worker.terminate();
      throw new WardenError('io', `fleet export did not start: ${first.t === 'error' ? first.message : 'no answer'}`, { where: o.home });
    }
    return new FleetExporter(worker, o);
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

  #sendSummary(): void {
    if (this.#counts.size === 0 && this.#uncounted === 0) return;
    const now = Date.now();
    const message: ToExportWorker = { t: 'spool', records: [decisionSummaryRecord(this.#counts, this.#windowStart, now, this.#uncounted)] };
    this.#counts = new Map();
    this.#uncounted = 0;
    this.#windowStart = now;
    this.#worker.postMessage(message);
  }

  #request(t: 'flush' | 'close'): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(new WardenError('io', `fleet export thread failed: ${this.#failed}`));
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ t, id } satisfies ToExportWorker);
    });
  }

  /** A barrier: the counts so far and everything in the store are spooled, and sent if the collector answers. */
  async flushNow(): Promise<void> {
    this.#sendSummary();
    await this.#request('flush');
  }

  status(): ExportStatus {
    this.#statusDb ??= openStore(this.#options.home);
    return {
      ...spoolStatus(this.#statusDb),
      endpoint: this.#options.config.url,
      protocol: this.#options.config.protocol,
      queued: [...this.#counts.values()].reduce((a, b) => a + b, 0) + this.#uncounted,
      leader: this.#leader,
    };
  }

  /** Spools what is left and sends it if the collector answers within `closeMs` (exportLoop.ts), then stops the thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#sendSummary();
    this.#closed = true;
    clearInterval(this.#summaryTimer);
    try {
      await this.#request('close');
    } finally {
      await this.#worker.terminate();
      this.#statusDb?.close();
    }
  }
}
