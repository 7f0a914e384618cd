/**
 * Chunks in storage order, each with its scan (chunkScan.ts), for the verifier's sequential pass (ADR 0006).
 * Chunks are read ahead in jobs of a few. With a helper thread, this thread does the reading half of every
 * chunk's scan as it reads the chunk (plain JavaScript: layout, spans, links), and the hashing half (leaf hashes,
 * subtrees: node:crypto) of a job goes to the helper while that has room; this thread hashes a job itself only
 * when it would otherwise wait, so both cores stay busy whatever their relative speed. Split this way, the two
 * threads hash at the same time less often: on a VM whose two vCPUs share a core's SHA-256 unit, two threads
 * hashing at once each run up to ~1.4× slower, while JavaScript beside hashing slows neither. The sequential
 * pass left to this thread is light (seq and link bookkeeping, merging a few subtree roots per chunk,
 * checkpoint signatures).
 *
 * The helper gets the bytes this thread read (an entries blob is transferred, not copied): both work on one
 * snapshot. If the helper fails or stops answering, its jobs are read again here (same read transaction) and
 * scanned here. Waiting is synchronous (Atomics on a shared counter, then receiveMessageOnPort), so verify
 * stays a synchronous call. The helper outlives one verification (Helper.acquire).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { makeChunkScanner, type ChunkScanner } from './chunkScan.ts';
import { CHUNK_SELECT, chunkLayoutProblem, chunkRow, chunkScanner, type ChunkHashes, type ChunkRow, type ChunkScan } from './chunks.ts';

/** Chunks per job (≈ 1000 entries): large enough to amortise a message, small enough to balance. */
const JOB_CHUNKS = 8;
/** Jobs read ahead of the sequential pass, and at most while the helper is busy. */
const AHEAD = 8;
const MAX_AHEAD = 24;
/** Jobs the helper holds at once. */
const HELPER_DEPTH = 4;
/** A helper silent for this long is abandoned (its work is redone here). */
const HELPER_TIMEOUT_MS = 10_000;

/** A chunk to hash: the hashing half of its scan (unreadable chunks are sent as null, to keep indexes). */
interface HelperRow {
  readonly entries: Uint8Array;
  readonly bounds: Int32Array;
  readonly hashes: Uint8Array;
  /** Tree position of the chunk's first entry (first_seq − 1). */
  readonly start: number;
}
interface ToHelper {
  readonly job: number;
  readonly rows: ReadonlyArray<HelperRow | null>;
}
type FromHelper = { readonly job: number; readonly hashed: Array<ChunkHashes | null> } | { readonly job: number; readonly error: string };
interface HelperData {
  readonly port: MessagePort;
  /** [0] = 1 once listening; [1] counts results posted. */
  readonly signal: Int32Array;
}

/** The helper thread's loop. Self-contained like makeChunkScanner: its source text is what the thread runs. */
function helperMain(data: HelperData, scanner: ChunkScanner): void {
  const { port, signal } = data;
  port.on('message', (m: ToHelper) => {
    let out: FromHelper;
    try {
      out = { job: m.job, hashed: m.rows.map((r) => (r === null ? null : scanner.hash(r.entries, r.bounds, r.hashes, r.start))) };
    } catch (err) {
      out = { job: m.job, error: err instanceof Error ? err.message : 'scan failed' };
    }
    port.postMessage(out);
    Atomics.add(signal, 1, 1);
    Atomics.notify(signal, 1);
  });
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** The helper thread's program: plain JavaScript from the two functions' own source; it loads no module. */
const HELPER_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
(${helperMain.toString()})(workerData, (${makeChunkScanner.toString()})(hash));
`;

let shared: Helper | undefined;
/** Job ids are unique in the process: a late result from an earlier run is never taken for a new job. */
let nextJob = 1;

export class Helper {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  #broken = false;
  jobsInFlight = 0;

  private constructor(worker: Worker, port: MessagePort, signal: Int32Array) {
    this.#worker = worker;
    this.#port = port;
    this.#signal = signal;
  }

  /**
   * The process's helper, started on first use and kept (idle, unreferenced: it never keeps the process alive)
   * so that later verifications in the same process find it started and its code compiled; replaced if it
   * failed. A one-shot `pi-warden ledger verify` starts it once.
   */
  static acquire(): Helper | undefined {
    if (shared !== undefined && !shared.broken) return shared;
    shared?.close();
    shared = Helper.start();
    return shared;
  }

  static start(): Helper | undefined {
    try {
      const { port1, port2 } = new MessageChannel();
      const signal = new Int32Array(new SharedArrayBuffer(8));
      const data: HelperData = { port: port2, signal };
      const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: data, transferList: [port2], execArgv: [] });
      // A helper that fails to start is never ready: everything is done here. (Handled so it cannot throw.)
      worker.on('error', () => undefined);
      worker.unref();
      return new Helper(worker, port1, signal);
    } catch {
      return undefined;
    }
  }

  get ready(): boolean {
    return !this.#broken && Atomics.load(this.#signal, 0) === 1;
  }

  get broken(): boolean {
    return this.#broken;
  }

  post(message: ToHelper, transfer: ArrayBuffer[]): void {
    this.#port.postMessage(message, transfer);
    this.jobsInFlight++;
  }

  /** The count of results posted so far (for wait()), and the results not yet taken. */
  collect(): { seen: number; results: FromHelper[] } {
    const seen = Atomics.load(this.#signal, 1);
    const results: FromHelper[] = [];
    for (let m = receiveMessageOnPort(this.#port); m !== undefined; m = receiveMessageOnPort(this.#port)) {
      results.push(m.message as FromHelper);
      this.jobsInFlight--;
    }
    return { seen, results };
  }

  /** Blocks until the helper posts after `seen`; false (and the helper is abandoned) on timeout. */
  wait(seen: number): boolean {
    if (this.#broken) return false;
    if (Atomics.wait(this.#signal, 1, seen, HELPER_TIMEOUT_MS) === 'timed-out') this.#broken = true;
    return !this.#broken;
  }

  close(): void {
    this.#port.close();
    void this.#worker.terminate();
  }
}

export interface ScannedChunk {
  readonly row: ChunkRow;
  /** Why the chunk cannot be read (then `scan` is null), or null. */
  readonly problem: string | null;
  readonly scan: ChunkScan | null;
}

interface Job {
  readonly id: number;
  readonly rows: ChunkRow[];
  /** chunkLayoutProblem of each row, taken when read (a blob sent to the helper is no longer readable here). */
  readonly problems: Array<string | null>;
  /** With a helper: the reading half of each readable chunk's scan, done when read, and its entry bounds. */
  read?: Array<{ readonly scan: ChunkScan; readonly bounds: Int32Array } | null>;
  scans?: Array<ChunkScan | null>;
  /** Given to the helper (its scans come back from there). */
  posted: boolean;
}

/** Where the last ChunkSource's jobs were scanned (tests check that the helper really worked). */
export const lastRun = { helperJobs: 0, localJobs: 0 };

export class ChunkSource {
  readonly #db: DatabaseSync;
  readonly #rows: Iterator<unknown[]>;
  readonly #helper: Helper | undefined;
  readonly #queue: Job[] = [];
  readonly #byId = new Map<number, Job>();
  #exhausted = false;
  #current: Job | undefined;
  #index = 0;
  #byIdStmt: StatementSync | undefined;

  constructor(db: DatabaseSync, helper: Helper | undefined) {
    this.#db = db;
    const stmt = db.prepare(`${CHUNK_SELECT} ORDER BY id`);
    stmt.setReturnArrays(true);
    this.#rows = (stmt.iterate() as Iterable<unknown[]>)[Symbol.iterator]();
    this.#helper = helper;
    Object.assign(lastRun, { helperJobs: 0, localJobs: 0 });
  }

  /** Stops reading (the statement is reset). Results of jobs still at the helper are dropped when they come. */
  close(): void {
    this.#rows.return?.();
    this.#queue.length = 0;
    this.#byId.clear();
  }

  /** The next chunk in storage order, scanned; undefined at the end. */
  next(): ScannedChunk | undefined {
    while (this.#current === undefined || this.#index >= this.#current.rows.length) {
      if (this.#current !== undefined) this.#byId.delete(this.#current.id);
      this.#current = this.#take();
      this.#index = 0;
      if (this.#current === undefined) return undefined;
    }
    const job = this.#current;
    const i = this.#index++;
    const row = job.rows[i] as ChunkRow;
    const scan = (job.scans as Array<ChunkScan | null>)[i] as ChunkScan | null;
    return { row, scan, problem: job.problems[i] ?? scan?.layout ?? null };
  }

  #read(): Job | undefined {
    if (this.#exhausted) return undefined;
    const rows: ChunkRow[] = [];
    while (rows.length < JOB_CHUNKS) {
      const r = this.#rows.next();
      if (r.done === true) {
        this.#exhausted = true;
        break;
      }
      rows.push(chunkRow(r.value));
    }
    if (rows.length === 0) return undefined;
    const problems = rows.map(chunkLayoutProblem);
    const job: Job = { id: nextJob++, rows, problems, posted: false };
    // With a helper, the reading half now, while the blobs are in this core's cache (and before one is sent).
    if (this.#helper !== undefined)
      job.read = rows.map((r, i) =>
        problems[i] === null ? chunkScanner.read(r.firstSeq, r.entries as Buffer, r.hashes as Buffer, r.spans) : null,
      );
    this.#byId.set(job.id, job);
    return job;
  }

  /** Scans a job here: its hashing half when the reading half is done, the whole scan otherwise. */
  #scanHere(job: Job): void {
    lastRun.localJobs++;
    const read = job.read;
    job.scans = job.rows.map((r, i) => {
      if (job.problems[i] !== null) return null;
      const half = read?.[i];
      if (half === undefined || half === null) return chunkScanner.scan(r.firstSeq, r.entries as Buffer, r.hashes as Buffer, r.spans);
      return chunkScanner.complete(half.scan, chunkScanner.hash(r.entries as Buffer, half.bounds, r.hashes as Buffer, r.firstSeq - 1));
    });
  }

  #post(job: Job): void {
    const rows: Array<HelperRow | null> = [];
    const transfer: ArrayBuffer[] = [];
    for (let i = 0; i < job.rows.length; i++) {
      const r = job.rows[i] as ChunkRow;
      const half = job.read?.[i];
      if (job.problems[i] !== null || half === undefined || half === null) {
        rows.push(null);
        continue;
      }
      const entries = r.entries as Buffer;
      // Transfer the blob when it owns its memory (node:sqlite allocates one per value); copy it otherwise.
      const memory = entries.buffer;
      const sent =
        memory instanceof ArrayBuffer && entries.byteOffset === 0 && memory.byteLength === entries.byteLength
          ? new Uint8Array(memory)
          : new Uint8Array(entries);
      transfer.push(sent.buffer);
      rows.push({ entries: sent, bounds: half.bounds, hashes: r.hashes as Buffer, start: r.firstSeq - 1 });
    }
    (this.#helper as Helper).post({ job: job.id, rows }, transfer);
    job.posted = true;
  }

  /** Takes the helper's results; returns the count seen, for Helper.wait. */
  #collect(): number {
    const { seen, results } = (this.#helper as Helper).collect();
    for (const m of results) {
      const job = this.#byId.get(m.job);
      if (job === undefined) continue;
      if ('error' in m) {
        this.#redo(job);
        continue;
      }
      const read = job.read;
      const hashed = m.hashed;
      if (read === undefined || hashed.length !== job.rows.length || read.some((half, i) => (half === null) !== (hashed[i] === null))) {
        this.#redo(job);
        continue;
      }
      lastRun.helperJobs++;
      job.scans = read.map((half, i) => (half === null ? null : chunkScanner.complete(half.scan, hashed[i] as ChunkHashes)));
    }
    return seen;
  }

  /** Reads a job's chunks again (same read transaction, so the same bytes) and scans them here, both halves. */
  #redo(job: Job): void {
    this.#byIdStmt ??= this.#db.prepare(`${CHUNK_SELECT} WHERE id = ?`);
    this.#byIdStmt.setReturnArrays(true);
    const stmt = this.#byIdStmt;
    for (let i = 0; i < job.rows.length; i++) {
      const again = stmt.get((job.rows[i] as ChunkRow).id) as unknown as unknown[];
      job.rows[i] = chunkRow(again);
    }
    job.read = undefined;
    this.#scanHere(job);
  }

  #canPost(): boolean {
    const helper = this.#helper;
    return helper !== undefined && helper.ready && helper.jobsInFlight < HELPER_DEPTH;
  }

  /** Collects results and gives the helper the oldest jobs it has not been given, while it has room; returns the count seen. */
  #feed(): number {
    const seen = this.#collect();
    for (const job of this.#queue) {
      if (!this.#canPost()) break;
      if (!job.posted && job.scans === undefined && job.problems.includes(null)) this.#post(job);
    }
    return seen;
  }

  /** Keeps the helper supplied and reads ahead (feeding the helper after each job read); returns the count seen. */
  #pump(): number {
    let seen = this.#helper === undefined ? 0 : this.#feed();
    // Alone, this thread reads a job just before scanning it (while its blobs are still in this core's cache).
    while (this.#queue.length < (this.#helper === undefined ? 1 : AHEAD)) {
      const job = this.#read();
      if (job === undefined) break;
      this.#queue.push(job);
      if (this.#helper !== undefined) seen = this.#feed();
    }
    return seen;
  }

  #take(): Job | undefined {
    this.#pump();
    const head = this.#queue.shift();
    if (head === undefined) return undefined;
    const helper = this.#helper;
    while (head.scans === undefined) {
      if (!head.posted || helper === undefined) {
        this.#scanHere(head);
        break;
      }
      const seen = this.#pump();
      if (head.scans !== undefined) break;
      if (helper.broken) {
        this.#redo(head);
        break;
      }
      // Rather than wait for the helper, scan a job it has not been given (the furthest one), or read one.
      let spare: Job | undefined;
      for (let i = this.#queue.length - 1; i >= 0 && spare === undefined; i--) {
        const job = this.#queue[i] as Job;
        if (!job.posted && job.scans === undefined) spare = job;
      }
      if (spare === undefined && this.#queue.length < MAX_AHEAD) {
        spare = this.#read();
        if (spare !== undefined) this.#queue.push(spare);
      }
      if (spare !== undefined) {
        this.#scanHere(spare);
        continue;
      }
      helper.wait(seen);
    }
    return head;
  }
}
