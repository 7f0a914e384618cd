/**
 * The evidence recorder on the dispatch side (SPEC §6.1–6.2, §6.5–6.6). `record()` and `raise()` are
 * synchronous and only buffer: params are hashed (never kept), the entry body is pre-encoded, and batches go to
 * the writer thread every `groupCommitMs` or `maxBatch` entries. `flush()` is the durability barrier: it
 * resolves when everything recorded before it is committed with fsync. An allowed call's decision is queued by
 * `admit()` before its operation runs; once the writer has failed (a batch rejected, the thread gone), `failure()`
 * says so and `admit()`, `record()` and the others throw, so dispatch runs no new operation (docs/ledger-format.md,
 * "When an entry is written").
 */
import { Worker } from 'node:worker_threads';
import { WardenError } from '../errors.ts';

import type { CompiledPolicy } from '../policy/index.ts';
import type { AlertInput, AlertSink } from './alerts.ts';

import { argsShapeHash, entryHashes, paramsHash, sha256Hex } from './canonical.ts';
import { snapshotOf } from './configSnapshot.ts';
import { BurstCounter, type BurstSettings, SUMMARY_REASON, summaryCallId } from './bursts.ts';
import { encodeBodyParts, OUTCOME_REASON } from './entry.ts';
import type { FromWorker, ToWorker, WriterConfig } from './writerWorker.ts';
import type {
  BreachSink,
  DecisionRecord,
  DecisionRecorder,
  ExecLog,
  ExecLogEntry,
  QuotaBreach,
  SecretBrokerLog,
  SecretBrokerLogEntry,
} from './sinks.ts';

export interface EvidenceWriterOptions {
  /** Longest time an entry waits in memory before its batch is sent (ms). */
  readonly groupCommitMs?: number;
  readonly maxBatch?: number;
  /** Sign a checkpoint every this many entries … */
  readonly checkpointEvery?: number;
  /** … or this often when there are unsigned entries (ms). */
  readonly checkpointIntervalMs?: number;
  readonly telemetry?: boolean;
  readonly telemetryRetention?: number;
  /** When repeated identical refusals and breaches are summarised (bursts.ts). */
  readonly bursts?: Partial<BurstSettings>;
  /**
   * Bytes of ledger entries and breach rows one extension may add to the store per `storeWindowMs` (default 32 MiB
   * per hour). Going over is a `store_bytes` breach, reported once per window (to `onStoreBudget` when set, which
   * quarantines; else recorded here).
   */
  readonly storeBytesPerWindow?: number;
  readonly storeWindowMs?: number;
}

/** Default store budget per extension: 32 MiB of evidence an hour (≈ 60,000 distinct ledger entries). */
export const DEFAULT_STORE_BYTES_PER_HOUR = 32 * 1024 * 1024;

/** A refusal counted into a summary: the record and its hashes. */
interface CountedRefusal {
  readonly r: DecisionRecord;
  readonly ph: string;
  readonly sh: string;
}

export interface FlushResult {
  readonly treeSize: number;
  readonly checkpointSize: number | null;
}

interface Pending {
  resolve(v: FromWorker & { t: 'ack' }): void;
  reject(e: Error): void;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './writerWorker.ts' : './writerWorker.js', import.meta.url);

/** A writer that failed or was closed: every later record is refused with one of these. */
export const WRITER_REASONS = ['evidence_writer_failed', 'evidence_writer_closed'] as const;
export type WriterReason = (typeof WRITER_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    writer: WriterReason;
  }
}

/** Hashes that cannot fail: a value that has no canonical form is recorded as such, not dropped. */
function safeHash(fn: (m: string, p: unknown) => string, method: string, params: unknown): string {
  try {
    return fn(method, params);
  } catch (err) {
    return sha256Hex(`unhashable:${err instanceof Error ? err.message : 'value'}`);
  }
}

/** An entry's params hash and shape hash, from one walk of the params where it can be; neither can fail. */
function safeHashes(method: string, params: unknown): readonly [string, string] {
  try {
    return entryHashes(method, params);
  } catch {
    return [safeHash(paramsHash, method, params), safeHash(argsShapeHash, method, params)];
  }
}

export class EvidenceWriter implements DecisionRecorder, AlertSink, BreachSink, SecretBrokerLog, ExecLog {
  readonly wantsStageTimings: boolean;
  readonly #worker: Worker;
  readonly #groupCommitMs: number;
  readonly #maxBatch: number;
  readonly #configHashes = new WeakMap<CompiledPolicy, string>();
  #ledger: string[] = [];
  #configs: Array<[string, string]> = [];
  #alerts: AlertInput[] = [];
  #telemetry: string[] = [];
  #breaches: QuotaBreach[] = [];
  #secrets: SecretBrokerLogEntry[] = [];
  #execs: ExecLogEntry[] = [];
  readonly #lastBreachAlert = new Map<string, number>();
  readonly #refusalBursts: BurstCounter<CountedRefusal>;
  readonly #breachBursts: BurstCounter<QuotaBreach>;
  readonly #burstCheckMs: number;
  #burstTimer: NodeJS.Timeout | undefined;
  readonly #storeBudget: number;
  readonly #storeWindowMs: number;
  /** Bytes each extension added in the current store window, and whether its breach was reported. */
  readonly #storeUse = new Map<string, { start: number; bytes: number; reported: boolean }>();
  /** Where a store-budget breach goes (the runtime's quarantining sink); undefined: recorded by this writer. */
  onStoreBudget: ((breach: QuotaBreach) => void) | undefined;
  /**
   * The group-commit timer, made once and re-armed with `refresh()` (a timer per batch cost the decision path a
   * Timeout and its async-hooks set-up each time); `#armed` says whether records wait for it.
   */
  #timer: NodeJS.Timeout | undefined;
  #armed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /**
   * The last record `admit` took and its hashes, for that call's final record (telemetry, outcome entry): usually
   * the next one (a WeakMap measured slower on the hot path); a call whose record comes later is hashed again.
   */
  #lastAdmitted: DecisionRecord | undefined;
  #lastParamsHash = '';
  #lastShapeHash = '';
  #failed: WardenError | undefined;
  #closed = false;
  /** Set when close() hands the thread its last message: from then on the thread's exit is expected, not a failure. */
  #closing = false;

  private constructor(worker: Worker, options: EvidenceWriterOptions) {
    this.#worker = worker;
    this.#groupCommitMs = options.groupCommitMs ?? 5;
    this.#maxBatch = options.maxBatch ?? 2048;
    this.wantsStageTimings = options.telemetry !== false;
    this.#refusalBursts = new BurstCounter(options.bursts);
    this.#breachBursts = new BurstCounter(options.bursts);
    this.#storeBudget = options.storeBytesPerWindow ?? DEFAULT_STORE_BYTES_PER_HOUR;
    this.#storeWindowMs = options.storeWindowMs ?? 3_600_000;
    this.#burstCheckMs = Math.max(10, Math.min(options.bursts?.quietMs ?? 1000, options.bursts?.summaryEveryMs ?? 5000));
    worker.on('message', (m: FromWorker) => this.#onMessage(m));
    worker.on('error', (err: Error) => this.#fail(`the evidence writer thread failed: ${err.message}`));
    worker.on('exit', (code) => {
      // An exit after the close was acknowledged is the expected end; before that (a request still waiting) it is a failure.
      if (!this.#closed && !(this.#closing && this.#pending.size === 0)) this.#fail(`the evidence writer thread exited (code ${code})`);
    });
    // After the listeners (attaching one re-references the port): an idle writer never keeps a process alive.
    // While a flush, checkpoint or batch is awaited the worker is referenced (#post), so awaiting it works.
    worker.unref();
  }

  /** Opens the store under `home` in a writer thread; rejects with the store's own error (path and cause). */
  static async open(home: string, options: EvidenceWriterOptions = {}): Promise<EvidenceWriter> {
    const cfg: WriterConfig = {
      home,
      checkpointEvery: options.checkpointEvery ?? 4096,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 10_000,
      telemetryRetention: options.telemetryRetention ?? 100_000,
    };
    // The writer needs none of the host process's flags (some, like --input-type, break a worker).
    const worker = new Worker(WORKER_URL, { workerData: cfg, execArgv: [] });
    const first = await new Promise<FromWorker>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((err: unknown) => ({ t: 'error', id: null, message: err instanceof Error ? err.message : 'worker failed' }));
    if (first.t !== 'ready') {
      await worker.terminate();
      throw new WardenError('io', first.t === 'error' ? first.message : 'the evidence writer did not start', { where: home });
    }
    return new EvidenceWriter(worker, options);
  }

  #fail(message: string): void {
    if (this.#failed !== undefined) return;
    this.#failed = new WardenError('io', message, { reasonCodes: ['evidence_writer_failed'] });
    for (const p of this.#pending.values()) p.reject(this.#failed);
    this.#pending.clear();
    this.#worker.unref();
  }

  #onMessage(m: FromWorker): void {
    if (m.t === 'ready') return;
    if (m.t === 'error') {
      const err = new WardenError('io', `evidence writer: ${m.message}`, { reasonCodes: ['evidence_writer_failed'] });
      if (m.id === null) {
        this.#fail(err.message);
        return;
      }
      this.#pending.get(m.id)?.reject(err);
      this.#settled(m.id);
      // A failed batch means records were not written: stop accepting new ones.
      this.#fail(err.message);
      return;
    }
    this.#pending.get(m.id)?.resolve(m);
    this.#settled(m.id);
  }

  /** Why nothing more can be recorded: the writer failed or was closed; undefined while records are taken. */
  failure(): WardenError | undefined {
    if (this.#failed !== undefined) return this.#failed;
    if (this.#closed || this.#closing)
      return new WardenError('io', 'the evidence writer is closed', { reasonCodes: ['evidence_writer_closed'] });
    return undefined;
  }

  #check(): void {
    const failure = this.failure();
    if (failure !== undefined) throw failure;
  }

  #configHash(policy: CompiledPolicy): string {
    let h = this.#configHashes.get(policy);
    if (h === undefined) {
      const snap = snapshotOf(policy.rules);
      h = snap.hash;
      this.#configHashes.set(policy, h);
      this.#configs.push([snap.hash, snap.text]);
    }
    return h;
  }

  /** Charges evidence bytes to the extension's store budget; the first time over in a window is a breach. */
  #chargeStore(extensionId: string, bytes: number, ts: number): void {
    let use = this.#storeUse.get(extensionId);
    if (use === undefined || ts - use.start >= this.#storeWindowMs) {
      if (this.#storeUse.size > 10_000) this.#storeUse.clear();
      use = { start: ts, bytes: 0, reported: false };
      this.#storeUse.set(extensionId, use);
    }
    use.bytes += bytes;
    if (use.bytes <= this.#storeBudget || use.reported) return;
    use.reported = true;
    const breach: QuotaBreach = {
      extension_id: extensionId,
      resource: 'store_bytes',
      limit: this.#storeBudget,
      actual: use.bytes,
      ts_ms: ts,
    };
    // After this entry is queued: the breach (and the quarantine it brings) never loses the entry that caused it.
    queueMicrotask(() => {
      if (this.failure() !== undefined) return;
      if (this.onStoreBudget !== undefined) this.onStoreBudget(breach);
      else this.recordBreach(breach);
    });
  }

  #entry(r: DecisionRecord, reasonCodes: readonly string[], ph: string, sh: string): void {
    const parts = encodeBodyParts({
      ts_ms: r.ts_ms,
      extension_id: r.extension_id,
      call_id: r.call_id,
      method: r.method,
      capability: r.capability,
      declared_capability: r.declared_capability,
      decision: r.decision,
      rule: r.rule,
      stage: r.stage,
      error_code: r.error_code,
      reason_codes: reasonCodes,
      params_hash: ph,
      args_shape_hash: sh,
      risk_score: r.risk_score ?? null,
      config_hash: r.policy === undefined ? null : this.#configHash(r.policy),
    });
    this.#ledger.push(parts);
    this.#chargeStore(r.extension_id, parts.length, r.ts_ms);
  }

  /** An allowed call's decision, queued before its operation runs; throws once the writer has failed. */
  admit(r: DecisionRecord): void {
    this.#check();
    const [ph, sh] = safeHashes(r.method, r.params);
    this.#lastAdmitted = r;
    this.#lastParamsHash = ph;
    this.#lastShapeHash = sh;
    this.#entry(r, r.reason_codes, ph, sh);
    this.#schedule();
  }

  /**
   * A call's final record: the ledger entry of a refusal, or for an admitted call the outcome entry when it did not
   * end in an allow (with only the codes the operation added, so replay steps each decision once); telemetry always.
   */
  record(r: DecisionRecord): void {
    this.#check();
    const admitted = r.admitted;
    const known = admitted !== undefined && admitted === this.#lastAdmitted;
    const [ph, sh] = known ? [this.#lastParamsHash, this.#lastShapeHash] : safeHashes(r.method, r.params);
    if (admitted === undefined && r.decision !== 'allow') {
      // The same refusal of the same target again and again: past the burst it is counted into a summary entry.
      const key = [r.extension_id, r.method, r.decision, r.stage, r.error_code, r.rule, r.reason_codes.join(','), ph].join('\u0000');
      if (this.#refusalBursts.admit(key, { r, ph, sh }, r.ts_ms) === 'counted') {
        this.#armBursts();
        return;
      }
    }
    if (admitted === undefined) this.#entry(r, r.reason_codes, ph, sh);
    else if (r.decision !== 'allow')
      this.#entry(r, [...r.reason_codes.filter((c) => !admitted.reason_codes.includes(c)), OUTCOME_REASON], ph, sh);
    if (this.wantsStageTimings) {
      this.#telemetry.push(
        JSON.stringify([
          r.ts_ms,
          r.extension_id,
          r.call_id,
          r.method,
          r.capability,
          r.decision,
          r.error_code,
          ph,
          sh,
          r.duration_us ?? r.duration_ms * 1000,
          JSON.stringify(r.stage_us ?? {}),
        ]),
      );
    }
    this.#schedule();
  }

  raise(alert: AlertInput): void {
    this.#check();
    this.#alerts.push({ ...alert, ts_ms: alert.ts_ms ?? Date.now() });
    this.#schedule();
  }

  /** A quota breach (SPEC §7.4): always stored; a quota_breach alert at most every 10 s per extension and resource. */
  recordBreach(b: QuotaBreach): void {
    this.#check();
    if (this.#breachBursts.admit(`${b.extension_id}\u0000${b.resource}\u0000${b.limit}`, b, b.ts_ms) === 'counted') {
      this.#armBursts();
      return;
    }
    this.#breaches.push(b);
    this.#chargeStore(b.extension_id, 64 + b.extension_id.length + b.resource.length, b.ts_ms);
    const key = `${b.extension_id}\u0000${b.resource}`;
    const last = this.#lastBreachAlert.get(key);
    if (last === undefined || b.ts_ms - last >= 10_000) {
      if (this.#lastBreachAlert.size > 10_000) this.#lastBreachAlert.clear();
      this.#lastBreachAlert.set(key, b.ts_ms);
      this.#alerts.push({
        ts_ms: b.ts_ms,
        extension_id: b.extension_id,
        category: 'quota_breach',
        severity: 'medium',
        summary: `${b.extension_id} exceeded ${b.resource}: ${b.actual} > ${b.limit}`,
        reason_codes: ['quota_exceeded', b.resource],
        remediation: `Tighten or raise extensionPolicy.overrides.${b.extension_id}.quota after checking \`pi-warden quota breaches --extension ${b.extension_id}\` (runbook INC-6)`,
      });
    }
    this.#schedule();
  }

  /** A secret broker log entry (SPEC §5.3): salted name hash, path, decision; never the value. */
  recordSecretEvent(e: SecretBrokerLogEntry): void {
    this.#check();
    this.#secrets.push(e);
    this.#schedule();
  }

  /** An exec mediation log entry (SPEC §5.4): salted command hash, classes, decision, reason codes. */
  recordExecEvent(e: ExecLogEntry): void {
    this.#check();
    this.#execs.push(e);
    this.#schedule();
  }

  /** Checks for due summaries while counts are pending (an idle writer has no timer). */
  #armBursts(): void {
    if (this.#burstTimer !== undefined) return;
    this.#burstTimer = setTimeout(() => {
      this.#burstTimer = undefined;
      if (this.failure() !== undefined) return;
      this.#summarise(this.#refusalBursts.due(Date.now()), this.#breachBursts.due(Date.now()));
      if (this.#refusalBursts.pending + this.#breachBursts.pending > 0) this.#armBursts();
    }, this.#burstCheckMs);
    this.#burstTimer.unref();
  }

  /** Writes summaries: one ledger entry per refusal burst (exact count in its call id), one breach row per breach burst. */
  #summarise(refusals: ReturnType<BurstCounter<CountedRefusal>['due']>, breaches: ReturnType<BurstCounter<QuotaBreach>['due']>): void {
    for (const s of refusals) {
      this.#entry(
        { ...s.last.r, call_id: summaryCallId(s.count, s.first.r.call_id, s.last.r.call_id) },
        [...s.last.r.reason_codes, SUMMARY_REASON],
        s.last.ph,
        s.last.sh,
      );
    }
    for (const s of breaches) this.#breaches.push({ ...s.last, repeats: s.count });
    if (refusals.length + breaches.length > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#ledger.length + this.#telemetry.length >= this.#maxBatch) {
      void this.#send();
      return;
    }
    if (this.#armed) return;
    this.#armed = true;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        // A batch sent early (full, or a flush) leaves the timer to fire for nothing.
        if (this.#armed) void this.#send();
      }, this.#groupCommitMs);
      this.#timer.unref();
    } else this.#timer.refresh();
  }

  #post(message: ToWorker): Promise<FromWorker & { t: 'ack' }> {
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(message.id, { resolve, reject });
      this.#worker.postMessage(message);
    });
  }

  #settled(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  /** Sends what is buffered; the returned promise settles when it is committed. */
  #send(): Promise<FromWorker & { t: 'ack' }> {
    this.#armed = false;
    const message: ToWorker = {
      t: 'batch',
      id: this.#nextId++,
      ledger: this.#ledger.join('\n'),
      configs: this.#configs,
      alerts: this.#alerts,
      telemetry: this.#telemetry,
      breaches: this.#breaches,
      secrets: this.#secrets,
      execs: this.#execs,
    };
    this.#breaches = [];
    this.#secrets = [];
    this.#execs = [];
    this.#ledger = [];
    this.#configs = [];
    this.#alerts = [];
    this.#telemetry = [];
    const p = this.#post(message);
    p.catch(() => undefined);
    return p;
  }

  /** Durability barrier: resolves when every record and alert given before this call is committed. */
  async flush(): Promise<FlushResult> {
    this.#check();
    this.#summarise(this.#refusalBursts.drain(), this.#breachBursts.drain());
    const ack = await this.#send();
    return { treeSize: ack.treeSize, checkpointSize: ack.checkpointSize };
  }

  /** Flushes and signs a checkpoint over everything recorded so far. */
  async checkpoint(): Promise<FlushResult> {
    await this.flush();
    const ack = await this.#post({ t: 'checkpoint', id: this.#nextId++ });
    return { treeSize: ack.treeSize, checkpointSize: ack.checkpointSize };
  }

  /** Keeps the newest `keepLast` ledger entries, after a signed checkpoint and a signed prune record. */
  async prune(keepLast: number): Promise<number> {
    await this.flush();
    const ack = await this.#post({ t: 'prune', id: this.#nextId++, keepLast });
    return ack.pruned ?? 0;
  }

  /** Clean shutdown: flush, sign a final checkpoint, stop the thread. */
  async close(): Promise<FlushResult> {
    if (this.#closed) return { treeSize: 0, checkpointSize: null };
    const failed = this.#failed;
    if (failed !== undefined) {
      // Nothing more can be committed: stop the thread and say why.
      this.#closed = true;
      clearTimeout(this.#timer);
      await this.#worker.terminate();
      throw failed;
    }
    await this.flush();
    this.#closing = true;
    clearTimeout(this.#timer);
    const ack = await this.#post({ t: 'close', id: this.#nextId++ });
    this.#closed = true;
    await this.#worker.terminate();
    return { treeSize: ack.treeSize, checkpointSize: ack.checkpointSize };
  }
}
