/**
 * The evidence writer's thread. It owns the chain: inside one `BEGIN IMMEDIATE` transaction per batch it reads
 * the tail (another process may have appended), assigns seq and prev, hashes, extends the Merkle frontier,
 * signs checkpoints when due, inserts alerts, telemetry and configuration snapshots, and commits with
 * synchronous=FULL. Dispatch never waits for this; `flush()` does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { describeValue } from '../describe.ts';
import { signCheckpoint, signPrune } from './checkpoint.ts';
import { CHUNK_ENTRIES, CHUNK_SELECT, chunkLayoutProblem, chunkRow, encodeChunk, entryStarts, spansOf, type ChunkRow } from './chunks.ts';
import { spliceEntry } from './entry.ts';
import { loadOrCreateKey, type SigningKey } from './keys.ts';
import { Frontier, leafHash } from './merkle.ts';
import { openStore } from './store.ts';
import { MAX_UNSIGNED_ENTRIES } from './verify.ts';
import { insertAlert, type AlertInput } from './alerts.ts';
import type { ExecLogEntry, QuotaBreach, SecretBrokerLogEntry } from './sinks.ts';

export interface WriterConfig {
  readonly home: string;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  readonly telemetryRetention: number;
}

export type ToWorker =
  | {
      t: 'batch';
      id: number;
      ledger: string;
      configs: Array<[string, string]>;
      alerts: AlertInput[];
      telemetry: string[];
      breaches: QuotaBreach[];
      secrets: SecretBrokerLogEntry[];
      execs: ExecLogEntry[];
    }
  | { t: 'checkpoint'; id: number }
  | { t: 'prune'; id: number; keepLast: number }
  | { t: 'close'; id: number };

export type FromWorker =
  | { t: 'ready'; treeSize: number }
  | { t: 'ack'; id: number; treeSize: number; checkpointSize: number | null; pruned?: number }
  | { t: 'error'; id: number | null; message: string };

interface State {
  treeSize: number;
  lastHash: string | null;
  frontier: Frontier;
}

/** The chunk being filled: what is stored already (when extending the tail chunk) and the new entries. */
interface OpenChunk {
  readonly firstSeq: number;
  /** Entries stored already (0 for a new chunk). */
  readonly count: number;
  /** The stored tail chunk being extended; undefined for a new chunk. */
  readonly stored?: { readonly id: number; readonly entries: Buffer; readonly hashes: Buffer };
  readonly texts: string[];
  readonly hashes: string[];
}

const newChunk = (firstSeq: number): OpenChunk => ({ firstSeq, count: 0, texts: [], hashes: [] });

/** Chunks with a readable first_seq and hashes, for the bookkeeping queries (garbage is skipped, never a throw). */
const SANE =
  "typeof(first_seq) = 'integer' AND first_seq BETWEEN 1 AND 9007199254740991 AND typeof(hashes) = 'blob' AND length(hashes) >= 32";

class ChainWriter {
  readonly #db: DatabaseSync;
  readonly #key: SigningKey;
  readonly #cfg: WriterConfig;
  readonly #insertChunk: StatementSync;
  readonly #updateChunk: StatementSync;
  readonly #tailChunk: StatementSync;
  readonly #insertTelemetry: StatementSync;
  readonly #insertConfig: StatementSync;
  readonly #insertCheckpoint: StatementSync;
  readonly #saveState: StatementSync;
  readonly #insertBreach: StatementSync;
  readonly #insertSecret: StatementSync;
  readonly #insertExec: StatementSync;
  #state: State = { treeSize: 0, lastHash: null, frontier: new Frontier() };
  #lastCheckpointSize = 0;
  #lastCheckpointMs = Date.now();
  #telemetrySinceCheck = 0;

  constructor(cfg: WriterConfig) {
    this.#cfg = cfg;
    this.#db = openStore(cfg.home);
    this.#key = loadOrCreateKey(cfg.home);
    const db = this.#db;
    this.#insertChunk = db.prepare('INSERT INTO ledger_chunks (first_seq, spans, hashes, entries) VALUES (?, ?, ?, ?)');
    this.#updateChunk = db.prepare('UPDATE ledger_chunks SET first_seq = ?, spans = ?, hashes = ?, entries = ? WHERE id = ?');
    this.#tailChunk = db.prepare(`${CHUNK_SELECT} ORDER BY id DESC LIMIT 1`);
    this.#tailChunk.setReturnArrays(true);
    this.#insertTelemetry =
      db.prepare(`INSERT INTO telemetry (ts_ms, extension_id, call_id, method, capability, decision, error_code, params_hash, args_shape_hash, duration_us, stages)
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'),
             json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]')
      FROM json_each(?)`);
    this.#insertBreach = db.prepare(
      'INSERT INTO quota_breaches (ts_ms, extension_id, resource, limit_value, actual, repeats) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#insertSecret = db.prepare(
      'INSERT INTO secret_broker_log (ts_ms, extension_id, call_id, method, name_hash, path, encoding, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertExec = db.prepare(
      'INSERT INTO exec_log (ts_ms, extension_id, call_id, command_hash, class, decision, reason_codes) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertConfig = db.prepare('INSERT OR IGNORE INTO config_snapshots (config_hash, config, first_seen_ms) VALUES (?, ?, ?)');
    this.#insertCheckpoint = db.prepare('INSERT INTO checkpoints (tree_size, root_hash, ts_ms, key_id, signature) VALUES (?, ?, ?, ?, ?)');
    this.#saveState = db.prepare(
      'INSERT INTO ledger_state (id, tree_size, last_hash, frontier) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET tree_size = excluded.tree_size, last_hash = excluded.last_hash, frontier = excluded.frontier',
    );
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#loadState();
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
    const cp = this.#db.prepare('SELECT MAX(tree_size) AS s FROM checkpoints').get() as { s: number | null };
    this.#lastCheckpointSize = cp.s ?? 0;
    // A tail left unsigned by a crash is signed now, so only a removed checkpoint leaves old entries unsigned.
    if (this.#state.treeSize > this.#lastCheckpointSize) this.checkpoint();
  }

  /** True when entries are waiting for a checkpoint (the thread's idle timer signs them). */
  get unsigned(): boolean {
    return this.#state.treeSize > this.#lastCheckpointSize;
  }

  get treeSize(): number {
    return this.#state.treeSize;
  }

  /** The tail as stored. If the bookkeeping row disagrees with the last entry, rebuild it and say so. */
  #loadState(): void {
    const row = this.#db.prepare('SELECT tree_size, last_hash, frontier FROM ledger_state WHERE id = 1').get() as
      { tree_size: number; last_hash: string | null; frontier: string } | undefined;
    const last = this.#db
      .prepare(
        `SELECT first_seq + length(hashes) / 32 - 1 AS seq, lower(hex(substr(hashes, -32))) AS ledger_hash FROM ledger_chunks WHERE ${SANE} ORDER BY first_seq DESC, id DESC LIMIT 1`,
      )
      .get() as { seq: number; ledger_hash: string } | undefined;
    if (row !== undefined && row.tree_size === (last?.seq ?? row.tree_size) && row.last_hash === (last?.ledger_hash ?? row.last_hash)) {
      try {
        this.#state = { treeSize: row.tree_size, lastHash: row.last_hash, frontier: Frontier.fromJSON(JSON.parse(row.frontier)) };
        return;
      } catch {
        // fall through to a rebuild
      }
    }
    if (row === undefined && last === undefined) return;
    this.#rebuildState(row !== undefined);
  }

  /** The newest prune record that parses (a planted garbage row is skipped, never a crash). */
  #latestPrune(): { frontier: Frontier; anchor: string } | undefined {
    for (const row of this.#db
      .prepare("SELECT CASE WHEN typeof(record) = 'text' THEN record ELSE '' END AS record FROM prunes ORDER BY id DESC")
      .iterate() as Iterable<{ record: string }>) {
      try {
        const rec = JSON.parse(row.record) as { frontier?: unknown; anchor_hash?: unknown } | null;
        if (rec === null || typeof rec !== 'object' || typeof rec.anchor_hash !== 'string') continue;
        return { frontier: Frontier.fromJSON(rec.frontier), anchor: rec.anchor_hash };
      } catch {
        continue;
      }
    }
    return undefined;
  }

  /** Recomputes the frontier from the latest prune record and the stored hashes; raises ledger_integrity. */
  #rebuildState(hadState: boolean): void {
    const prune = this.#latestPrune();
    let frontier = new Frontier();
    let lastHash: string | null = null;
    if (prune !== undefined) {
      frontier = prune.frontier;
      lastHash = prune.anchor;
    }
    for (const h of this.#storedHashes(frontier.size, Number.MAX_SAFE_INTEGER)) {
      frontier.append(h);
      lastHash = h;
    }
    this.#state = { treeSize: frontier.size, lastHash, frontier };
    this.#persistState();
    if (hadState) {
      this.#alert({
        extension_id: '',
        category: 'ledger_integrity',
        severity: 'high',
        summary: `ledger bookkeeping disagreed with the stored tail; rebuilt at tree size ${frontier.size}`,
        reason_codes: ['ledger_state_rebuilt'],
        remediation: 'run `pi-warden ledger verify` and keep the store for forensics',
      });
    }
  }

  /** Stored ledger hashes (hex) with after < seq ≤ through, in seq order. */
  *#storedHashes(after: number, through: number): Generator<string> {
    const stmt = this.#db.prepare(
      `SELECT first_seq, hashes FROM ledger_chunks WHERE ${SANE} AND first_seq <= ? AND first_seq + length(hashes) / 32 > ? ORDER BY first_seq, id`,
    );
    for (const r of stmt.iterate(through, after) as Iterable<{ first_seq: number; hashes: Uint8Array }>) {
      const hashes = Buffer.from(r.hashes.buffer, r.hashes.byteOffset, r.hashes.byteLength);
      for (let i = 0; i * 32 < hashes.length; i++) {
        const seq = r.first_seq + i;
        if (seq > after && seq <= through) yield hashes.toString('hex', i * 32, i * 32 + 32);
      }
    }
  }

  /**
   * The tail chunk (last in storage order) to extend, if it ends at the chain's tail, has room and is laid out
   * exactly as a writer leaves it (the writer copies stored bytes, never repairs them); else a new chunk.
   */
  #openChunk(nextSeq: number): OpenChunk {
    const fresh = newChunk(nextSeq);
    const r = this.#tailChunk.get() as unknown as unknown[] | undefined;
    if (r === undefined) return fresh;
    const row: ChunkRow = chunkRow(r);
    if (chunkLayoutProblem(row) !== null) return fresh;
    const hashes = row.hashes as Buffer;
    const entries = row.entries as Buffer;
    const count = hashes.length / 32;
    if (count >= CHUNK_ENTRIES || row.firstSeq + count !== nextSeq) return fresh;
    const starts = entryStarts(entries);
    if (starts.length !== count || row.spans !== spansOf(entries, starts)) return fresh;
    return { firstSeq: row.firstSeq, count, stored: { id: row.id, entries, hashes }, texts: [], hashes: [] };
  }

  #writeChunk(c: OpenChunk): void {
    if (c.texts.length === 0) return;
    const { entries, hashes, spans } = encodeChunk(c.texts, c.hashes, c.stored);
    if (c.stored === undefined) this.#insertChunk.run(c.firstSeq, spans, hashes, entries);
    else this.#updateChunk.run(c.firstSeq, spans, hashes, entries, c.stored.id);
  }

  #persistState(): void {
    const s = this.#state;
    this.#saveState.run(s.treeSize, s.lastHash, JSON.stringify(s.frontier.toJSON()));
  }

  #alert(a: AlertInput): void {
    insertAlert(this.#db, a);
  }

  #checkpointNow(): number {
    const c = signCheckpoint(this.#key, this.#state.frontier, Date.now());
    this.#insertCheckpoint.run(c.tree_size, c.root_hash, c.ts_ms, c.key_id, c.signature);
    this.#lastCheckpointSize = c.tree_size;
    this.#lastCheckpointMs = c.ts_ms;
    return c.tree_size;
  }

  /** Runs `body` in one immediate transaction after re-reading the tail (other writers may have appended). */
  #transaction<T>(body: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.#db.prepare('SELECT tree_size FROM ledger_state WHERE id = 1').get() as { tree_size: number } | undefined;
      if ((row?.tree_size ?? 0) !== this.#state.treeSize) this.#loadState();
      const out = body();
      this.#persistState();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // the transaction is gone already
      }
      // Our in-memory tail may be ahead of what was committed: reload it from the store.
      this.#loadState();
      throw err;
    }
  }

  batch(m: Extract<ToWorker, { t: 'batch' }>): number | null {
    return this.#transaction(() => {
      const now = Date.now();
      let checkpointed: number | null = null;
      for (const [hash, text] of m.configs) this.#insertConfig.run(hash, text, now);
      if (m.ledger.length > 0) {
        const s = this.#state;
        let chunk = this.#openChunk(s.treeSize + 1);
        for (const parts of m.ledger.split('\n')) {
          const seq = s.treeSize + 1;
          const text = spliceEntry(parts, seq, s.lastHash);
          const hash = leafHash(text);
          if (chunk.count + chunk.texts.length >= CHUNK_ENTRIES) {
            this.#writeChunk(chunk);
            chunk = newChunk(seq);
          }
          chunk.texts.push(text);
          chunk.hashes.push(hash);
          s.frontier.append(hash);
          s.treeSize = seq;
          s.lastHash = hash;
          if (seq - this.#lastCheckpointSize >= this.#cfg.checkpointEvery) checkpointed = this.#checkpointNow();
        }
        this.#writeChunk(chunk);
      }
      for (const a of m.alerts) this.#alert(a);
      for (const b of m.breaches) this.#insertBreach.run(b.ts_ms, b.extension_id, b.resource, b.limit, b.actual, b.repeats ?? 1);
      for (const e of m.secrets)
        this.#insertSecret.run(e.ts_ms, e.extension_id, e.call_id, e.method, e.name_hash, e.path, e.encoding, e.decision);
      for (const e of m.execs)
        this.#insertExec.run(e.ts_ms, e.extension_id, e.call_id, e.command_hash, e.class, e.decision, JSON.stringify(e.reason_codes));
      if (m.telemetry.length > 0) {
        this.#insertTelemetry.run(`[${m.telemetry.join(',')}]`);
        this.#telemetrySinceCheck += m.telemetry.length;
        if (this.#telemetrySinceCheck >= Math.min(10_000, this.#cfg.telemetryRetention)) this.#pruneTelemetry();
      }
      const due = this.#state.treeSize > this.#lastCheckpointSize && now - this.#lastCheckpointMs >= this.#cfg.checkpointIntervalMs;
      return due ? this.#checkpointNow() : checkpointed;
    });
  }

  /** Bounded telemetry: a signed checkpoint first, then the oldest rows go. */
  #pruneTelemetry(): void {
    this.#telemetrySinceCheck = 0;
    const row = this.#db.prepare('SELECT COUNT(*) AS n, MAX(id) AS top FROM telemetry').get() as { n: number; top: number | null };
    if (row.n <= this.#cfg.telemetryRetention || row.top === null) return;
    if (this.#state.treeSize > this.#lastCheckpointSize) this.#checkpointNow();
    this.#db.prepare('DELETE FROM telemetry WHERE id <= ?').run(row.top - this.#cfg.telemetryRetention);
  }

  /** Deletes the entries with seq ≤ cut: whole chunks, and the head of a chunk that straddles the cut. */
  #removeThrough(cut: number): number {
    const stmt = this.#db.prepare(`${CHUNK_SELECT} WHERE typeof(first_seq) = 'integer' AND first_seq <= ? ORDER BY id`);
    stmt.setReturnArrays(true);
    const remove = this.#db.prepare('DELETE FROM ledger_chunks WHERE id = ?');
    let removed = 0;
    for (const row of (stmt.all(cut) as unknown as unknown[][]).map(chunkRow)) {
      if (chunkLayoutProblem(row) !== null) {
        remove.run(row.id);
        removed++;
        continue;
      }
      const entries = row.entries as Buffer;
      const hashes = row.hashes as Buffer;
      const seps = entryStarts(entries);
      const keepFrom = cut - row.firstSeq + 1;
      if (keepFrom >= seps.length) {
        remove.run(row.id);
        removed += seps.length;
        continue;
      }
      const tail = entries.subarray(seps[keepFrom]);
      this.#updateChunk.run(cut + 1, spansOf(tail), hashes.subarray(keepFrom * 32), tail, row.id);
      removed += keepFrom;
    }
    return removed;
  }

  checkpoint(): number | null {
    return this.#transaction(() => (this.#state.treeSize > this.#lastCheckpointSize ? this.#checkpointNow() : null));
  }

  /** Keeps the newest `keepLast` entries: checkpoint, signed prune record with the prefix frontier, delete. */
  prune(keepLast: number): number {
    return this.#transaction(() => {
      const cut = this.#state.treeSize - Math.max(0, keepLast);
      const first = this.#db.prepare(`SELECT MIN(first_seq) AS s FROM ledger_chunks WHERE ${SANE}`).get() as { s: number | null };
      if (first.s === null || cut < first.s) return 0;
      if (this.#state.treeSize > this.#lastCheckpointSize) this.#checkpointNow();
      const frontier = this.#latestPrune()?.frontier ?? new Frontier();
      let anchor = '';
      for (const h of this.#storedHashes(frontier.size, cut)) {
        frontier.append(h);
        anchor = h;
      }
      const record = signPrune(this.#key, frontier, anchor, Date.now());
      this.#db.prepare('INSERT INTO prunes (record) VALUES (?)').run(JSON.stringify(record));
      return this.#removeThrough(cut);
    });
  }

  close(): number | null {
    const size = this.checkpoint();
    this.#db.close();
    return size;
  }
}

const port = parentPort;
if (port !== null) {
  let writer: ChainWriter | undefined;
  try {
    const cfg = workerData as WriterConfig;
    // Verify treats more than MAX_UNSIGNED_ENTRIES unsigned entries as removed checkpoints: never exceed it.
    writer = new ChainWriter({ ...cfg, checkpointEvery: Math.min(cfg.checkpointEvery, MAX_UNSIGNED_ENTRIES) });
    port.postMessage({ t: 'ready', treeSize: writer.treeSize } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ t: 'error', id: null, message: describeValue(err) } satisfies FromWorker);
  }
  // Entries left unsigned while traffic stops are signed after the checkpoint interval, not only on the next batch.
  let idle: NodeJS.Timeout | undefined;
  const interval = (workerData as WriterConfig).checkpointIntervalMs;
  const armIdleCheckpoint = () => {
    if (idle !== undefined || writer?.unsigned !== true) return;
    idle = setTimeout(() => {
      idle = undefined;
      try {
        writer?.checkpoint();
      } catch {
        // the next batch or close tries again
      }
    }, interval);
  };
  port.on('message', (m: ToWorker) => {
    if (writer === undefined) {
      port.postMessage({ t: 'error', id: m.id, message: 'the evidence writer did not start' } satisfies FromWorker);
      return;
    }
    try {
      let checkpointSize: number | null = null;
      let pruned: number | undefined;
      if (m.t === 'batch') checkpointSize = writer.batch(m);
      else if (m.t === 'checkpoint') checkpointSize = writer.checkpoint();
      else if (m.t === 'prune') pruned = writer.prune(m.keepLast);
      else checkpointSize = writer.close();
      port.postMessage({
        t: 'ack',
        id: m.id,
        treeSize: writer.treeSize,
        checkpointSize,
        ...(pruned === undefined ? {} : { pruned }),
      } satisfies FromWorker);
      if (m.t === 'close') {
        clearTimeout(idle);
        port.close();
      } else {
        armIdleCheckpoint();
      }
    } catch (err) {
      port.postMessage({ t: 'error', id: m.id, message: describeValue(err) } satisfies FromWorker);
    }
  });
}
