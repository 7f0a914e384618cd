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
import { spliceEntry } from './entry.ts';
import { loadOrCreateKey, type SigningKey } from './keys.ts';
import { Frontier, leafHash } from './merkle.ts';
import { openStore } from './store.ts';
import { MAX_UNSIGNED_ENTRIES } from './verify.ts';
import type { AlertInput } from './alerts.ts';
import { severityRank } from './alerts.ts';
import type { QuotaBreach } from '../trust/quota.ts';
import type { SecretBrokerLogEntry } from '../mediation/outbound.ts';
import type { ExecLogEntry } from '../mediation/exec.ts';

export interface WriterConfig {
  readonly home: string;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  readonly telemetryRetention: number;
}

export type ToWorker =
  | { t: 'batch'; id: number; ledger: string; configs: Array<[string, string]>; alerts: AlertInput[]; telemetry: string[]; breaches: QuotaBreach[]; secrets: SecretBrokerLogEntry[]; execs: ExecLogEntry[] }
  | { t: 'checkpoint'; id: number }
  | { t: 'prune'; id: number; keepLast: number }
  | { t: 'close'; id: number };

export type FromWorker =
  | { t: 'ready'; treeSize: number }
  | { t: 'ack'; id: number; treeSize: number; checkpointSize: number | null; pruned?: number }
  | { t: 'error'; id: number | null; message: string };

interface State { treeSize: number; lastHash: string | null; frontier: Frontier }

class ChainWriter {
  readonly #db: DatabaseSync;
  readonly #key: SigningKey;
  readonly #cfg: WriterConfig;
  readonly #insertEntry: StatementSync;
  readonly #insertAlert: StatementSync;
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
    this.#insertEntry = db.prepare('INSERT INTO ledger (seq, entry, ledger_hash) VALUES (?, ?, ?)');
    this.#insertAlert = db.prepare(`INSERT INTO alerts (ts_ms, extension_id, category, severity, severity_rank, capability, method, call_id, summary, reason_codes, remediation)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#insertTelemetry = db.prepare(`INSERT INTO telemetry (ts_ms, extension_id, call_id, method, capability, decision, error_code, params_hash, args_shape_hash, duration_us, stages)
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'),
             json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]')
      FROM json_each(?)`);
    this.#insertBreach = db.prepare('INSERT INTO quota_breaches (ts_ms, extension_id, resource, limit_value, actual) VALUES (?, ?, ?, ?, ?)');
    this.#insertSecret = db.prepare('INSERT INTO secret_broker_log (ts_ms, extension_id, call_id, method, name_hash, path, encoding, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#insertExec = db.prepare('INSERT INTO exec_log (ts_ms, extension_id, call_id, command_hash, class, decision, reason_codes) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#insertConfig = db.prepare('INSERT OR IGNORE INTO config_snapshots (config_hash, config, first_seen_ms) VALUES (?, ?, ?)');
    this.#insertCheckpoint = db.prepare('INSERT INTO checkpoints (tree_size, root_hash, ts_ms, key_id, signature) VALUES (?, ?, ?, ?, ?)');
    this.#saveState = db.prepare('INSERT INTO ledger_state (id, tree_size, last_hash, frontier) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET tree_size = excluded.tree_size, last_hash = excluded.last_hash, frontier = excluded.frontier');
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
    const row = this.#db.prepare('SELECT tree_size, last_hash, frontier FROM ledger_state WHERE id = 1').get() as { tree_size: number; last_hash: string | null; frontier: string } | undefined;
    const last = this.#db.prepare('SELECT seq, ledger_hash FROM ledger ORDER BY seq DESC, rowid DESC LIMIT 1').get() as { seq: number; ledger_hash: string } | undefined;
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
    for (const row of this.#db.prepare("SELECT CASE WHEN typeof(record) = 'text' THEN record ELSE '' END AS record FROM prunes ORDER BY id DESC").iterate() as Iterable<{ record: string }>) {
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
    for (const r of this.#db.prepare('SELECT seq, ledger_hash FROM ledger WHERE seq > ? ORDER BY seq, rowid').iterate(frontier.size) as Iterable<{ seq: number; ledger_hash: string }>) {
      frontier.append(r.ledger_hash);
      lastHash = r.ledger_hash;
    }
    this.#state = { treeSize: frontier.size, lastHash, frontier };
    this.#persistState();
    if (hadState) {
      this.#alert({
        extension_id: '', category: 'ledger_integrity', severity: 'high',
        summary: `ledger bookkeeping disagreed with the stored tail; rebuilt at tree size ${frontier.size}`,
        reason_codes: ['ledger_state_rebuilt'], remediation: 'run `pi-warden ledger verify` and keep the store for forensics',
      });
    }
  }

  #persistState(): void {
    const s = this.#state;
    this.#saveState.run(s.treeSize, s.lastHash, JSON.stringify(s.frontier.toJSON()));
  }

  #alert(a: AlertInput): void {
    this.#insertAlert.run(a.ts_ms ?? Date.now(), a.extension_id, a.category, a.severity, severityRank(a.severity), a.capability ?? null,
      a.method ?? null, a.call_id ?? null, a.summary, JSON.stringify(a.reason_codes), a.remediation);
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
        for (const parts of m.ledger.split('\n')) {
          const seq = s.treeSize + 1;
          const text = spliceEntry(parts, seq, s.lastHash);
          const hash = leafHash(text);
          this.#insertEntry.run(seq, text, hash);
          s.frontier.append(hash);
          s.treeSize = seq;
          s.lastHash = hash;
          if (seq - this.#lastCheckpointSize >= this.#cfg.checkpointEvery) checkpointed = this.#checkpointNow();
        }
      }
      for (const a of m.alerts) this.#alert(a);
      for (const b of m.breaches) this.#insertBreach.run(b.ts_ms, b.extension_id, b.resource, b.limit, b.actual);
      for (const e of m.secrets) this.#insertSecret.run(e.ts_ms, e.extension_id, e.call_id, e.method, e.name_hash, e.path, e.encoding, e.decision);
      for (const e of m.execs) this.#insertExec.run(e.ts_ms, e.extension_id, e.call_id, e.command_hash, e.class, e.decision, JSON.stringify(e.reason_codes));
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

  checkpoint(): number | null {
    return this.#transaction(() => (this.#state.treeSize > this.#lastCheckpointSize ? this.#checkpointNow() : null));
  }

  /** Keeps the newest `keepLast` entries: checkpoint, signed prune record with the prefix frontier, delete. */
  prune(keepLast: number): number {
    return this.#transaction(() => {
      const cut = this.#state.treeSize - Math.max(0, keepLast);
      const first = this.#db.prepare('SELECT MIN(seq) AS s FROM ledger').get() as { s: number | null };
      if (first.s === null || cut < first.s) return 0;
      if (this.#state.treeSize > this.#lastCheckpointSize) this.#checkpointNow();
      const frontier = this.#latestPrune()?.frontier ?? new Frontier();
      let anchor = '';
      for (const r of this.#db.prepare('SELECT ledger_hash FROM ledger WHERE seq > ? AND seq <= ? ORDER BY seq, rowid').iterate(frontier.size, cut) as Iterable<{ ledger_hash: string }>) {
        frontier.append(r.ledger_hash);
        anchor = r.ledger_hash;
      }
      const record = signPrune(this.#key, frontier, anchor, Date.now());
      this.#db.prepare('INSERT INTO prunes (record) VALUES (?)').run(JSON.stringify(record));
      const del = this.#db.prepare('DELETE FROM ledger WHERE seq <= ?').run(cut);
      return Number(del.changes);
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
      port.postMessage({ t: 'ack', id: m.id, treeSize: writer.treeSize, checkpointSize, ...(pruned === undefined ? {} : { pruned }) } satisfies FromWorker);
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
