/**
 * The evidence store (SPEC §6.1): one SQLite database (`node:sqlite`) under `PI_WARDEN_HOME`
 * (default `~/.pi/agent/warden/`), WAL, versioned migrations, files 0600 in a 0700 directory.
 * Errors name the path and the cause: a file that is not a database, a directory that cannot be written,
 * a schema newer than this build.
 */
import { accessSync, chmodSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { describeValue } from '../describe.ts';
import { WardenError } from '../errors.ts';
import { CHUNK_ENTRIES, encodeChunk } from './chunks.ts';

export const STORE_SCHEMA_VERSION = 9;
export const DB_FILE = 'warden.db';

export const STORE_REASONS = ['schema_mismatch'] as const;
export type StoreReason = (typeof STORE_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    store: StoreReason;
  }
}

export function wardenHome(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.PI_WARDEN_HOME?.trim();
  if (configured !== undefined && configured !== '' && isAbsolute(configured)) return configured;
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  return join(home, '.pi', 'agent', 'warden');
}

/**
 * The operators' view of the ledger: one row per entry (seq, entry text, ledger_hash hex, the chunk holding it),
 * read through each chunk's spans. Verify and replay read the chunks themselves; verify checks the spans.
 */
export const LEDGER_VIEW = `CREATE VIEW ledger AS
  SELECT c.first_seq + s.key AS seq,
         CAST(substr(c.entries, json_extract(s.value, '$[0]') + 1, json_extract(s.value, '$[1]')) AS TEXT) AS entry,
         lower(hex(substr(c.hashes, 32 * s.key + 1, 32))) AS ledger_hash,
         c.id AS chunk_id
  FROM ledger_chunks c, json_each(CASE WHEN json_valid(c.spans) THEN c.spans ELSE '[]' END) s`;

/**
 * 6: the ledger as chunks of up to CHUNK_ENTRIES consecutive entries (ADR 0006, docs/ledger-format.md), so
 * verify reads a few rows and hashes slices of one blob. Every v5 row is kept: runs of consecutive seqs in
 * storage order become chunks with the same bytes and hashes; a row that cannot be a chunk entry (a seq that
 * is not a positive integer, an entry that is not text or holds U+0000, a hash that is not 64 lowercase hex)
 * is copied as it was, its entry as TEXT, which verify always reports as unreadable. Gaps, duplicates and
 * reordering stay where they were, so verify classifies a migrated store as it did before.
 */
export function chunkLedger(db: DatabaseSync): void {
  db.exec(`ALTER TABLE ledger RENAME TO ledger_v5;
   CREATE TABLE ledger_chunks (
     id INTEGER PRIMARY KEY,
     first_seq INTEGER NOT NULL,
     spans TEXT NOT NULL,
     hashes BLOB NOT NULL,
     entries BLOB NOT NULL
   );
   CREATE INDEX ledger_chunks_seq ON ledger_chunks(first_seq);`);
  const insert = db.prepare('INSERT INTO ledger_chunks (first_seq, spans, hashes, entries) VALUES (?, ?, ?, ?)');
  const asIs = db.prepare(
    "INSERT INTO ledger_chunks (first_seq, spans, hashes, entries) SELECT seq, '[]', ledger_hash, CAST(entry AS TEXT) FROM ledger_v5 WHERE rowid = ?",
  );
  let first = 0;
  let texts: string[] = [];
  let hashes: string[] = [];
  const flush = () => {
    if (texts.length === 0) return;
    const c = encodeChunk(texts, hashes);
    insert.run(first, c.spans, c.hashes, c.entries);
    texts = [];
    hashes = [];
  };
  const rows = db
    .prepare(
      `SELECT rowid AS r,
      CASE WHEN typeof(seq) = 'integer' AND seq BETWEEN 1 AND 9007199254740991 THEN seq ELSE -1 END AS seq,
      CASE WHEN typeof(entry) = 'text' THEN entry END AS entry,
      CASE WHEN typeof(ledger_hash) = 'text' THEN ledger_hash ELSE '' END AS h
    FROM ledger_v5 ORDER BY rowid`,
    )
    .iterate() as Iterable<{ r: number; seq: number; entry: string | null; h: string }>;
  for (const row of rows) {
    if (row.seq < 1 || row.entry === null || row.entry.includes('\u0000') || !/^[0-9a-f]{64}$/.test(row.h)) {
      flush();
      asIs.run(row.r);
      continue;
    }
    if (texts.length > 0 && (row.seq !== first + texts.length || texts.length >= CHUNK_ENTRIES)) flush();
    if (texts.length === 0) first = row.seq;
    texts.push(row.entry);
    hashes.push(row.h);
  }
  flush();
  db.exec('DROP TABLE ledger_v5');
  db.exec(LEDGER_VIEW);
}

/** Migration n brings the schema from version n-1 to n. Never edit a shipped migration; add one. */
export const MIGRATIONS: ReadonlyArray<string | ((db: DatabaseSync) => void)> = [
  `CREATE TABLE ledger (
     rowid INTEGER PRIMARY KEY,
     seq INTEGER NOT NULL,
     entry TEXT NOT NULL,
     ledger_hash TEXT NOT NULL
   );
   CREATE INDEX ledger_seq ON ledger(seq);
   CREATE TABLE ledger_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     tree_size INTEGER NOT NULL,
     last_hash TEXT,
     frontier TEXT NOT NULL
   );
   CREATE TABLE checkpoints (
     id INTEGER PRIMARY KEY,
     tree_size INTEGER NOT NULL,
     root_hash TEXT NOT NULL,
     ts_ms INTEGER NOT NULL,
     key_id TEXT NOT NULL,
     signature TEXT NOT NULL
   );
   CREATE TABLE prunes (
     id INTEGER PRIMARY KEY,
     record TEXT NOT NULL
   );
   CREATE TABLE config_snapshots (
     config_hash TEXT PRIMARY KEY,
     config TEXT NOT NULL,
     first_seen_ms INTEGER NOT NULL
   );
   CREATE TABLE alerts (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     ts_ms INTEGER NOT NULL,
     extension_id TEXT NOT NULL,
     category TEXT NOT NULL,
     severity TEXT NOT NULL,
     severity_rank INTEGER NOT NULL,
     capability TEXT,
     method TEXT,
     call_id TEXT,
     summary TEXT NOT NULL,
     reason_codes TEXT NOT NULL,
     remediation TEXT NOT NULL
   );
   CREATE INDEX alerts_ts ON alerts(ts_ms);
   CREATE TABLE telemetry (
     id INTEGER PRIMARY KEY,
     ts_ms INTEGER NOT NULL,
     extension_id TEXT NOT NULL,
     call_id TEXT NOT NULL,
     method TEXT NOT NULL,
     capability TEXT,
     decision TEXT NOT NULL,
     error_code TEXT,
     params_hash TEXT NOT NULL,
     args_shape_hash TEXT NOT NULL,
     duration_us REAL NOT NULL,
     stages TEXT NOT NULL
   );`,
  // 2: trust lifecycle and kill switch (SPEC §7.2–7.3), quota breaches (SPEC §7.4).
  `CREATE TABLE trust_state (
     extension_id TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     updated_ms INTEGER NOT NULL
   );
   CREATE TABLE trust_transitions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts_ms INTEGER NOT NULL,
     extension_id TEXT NOT NULL,
     from_state TEXT NOT NULL,
     to_state TEXT NOT NULL,
     kind TEXT NOT NULL,
     actor TEXT NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX trust_transitions_ext ON trust_transitions(extension_id, id);
   CREATE TABLE quota_breaches (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts_ms INTEGER NOT NULL,
     extension_id TEXT NOT NULL,
     resource TEXT NOT NULL,
     limit_value REAL NOT NULL,
     actual REAL NOT NULL
   );
   CREATE INDEX quota_breaches_ext ON quota_breaches(extension_id, id);`,
  // 3: risk rollout phase (SPEC §7.5).
  `CREATE TABLE rollout_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     phase TEXT NOT NULL,
     updated_ms INTEGER NOT NULL,
     actor TEXT NOT NULL,
     reason TEXT NOT NULL
   );`,
  // 4: secret broker log (SPEC §5.3) and the store's salt for name hashes.
  `CREATE TABLE secret_broker_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts_ms INTEGER NOT NULL,
     extension_id TEXT NOT NULL,
     call_id TEXT NOT NULL,
     method TEXT NOT NULL,
     name_hash TEXT NOT NULL,
     path TEXT NOT NULL,
     encoding TEXT NOT NULL,
     decision TEXT NOT NULL
   );
   CREATE TABLE store_meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   INSERT INTO store_meta (key, value) VALUES ('name_hash_salt', lower(hex(randomblob(16))));`,
  // 5: exec mediation log (SPEC §5.4): salted command hash, classes, decision; never the command line.
  `CREATE TABLE exec_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts_ms INTEGER NOT NULL,
     extension_id TEXT NOT NULL,
     call_id TEXT NOT NULL,
     command_hash TEXT NOT NULL,
     class TEXT NOT NULL,
     decision TEXT NOT NULL,
     reason_codes TEXT NOT NULL
   );
   CREATE INDEX exec_log_ext ON exec_log(extension_id, id);`,
  chunkLedger,
  // 7: a breach row may stand for a burst of identical breaches (evidence/bursts.ts): how many. Idempotent: a store
  // taken back to an older version keeps the column.
  (db: DatabaseSync) => {
    const columns = db.prepare('PRAGMA table_info(quota_breaches)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'repeats')) db.exec('ALTER TABLE quota_breaches ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1');
  },
  // 8: incident records (SPEC §9, runbook General Incident Workflow): one row per incident, one per step begun; a
  // step whose done_ms is null was interrupted and runs again (src/incident/workflow/). Idempotent, like 7: a store
  // taken back to an older version keeps its incidents.
  `CREATE TABLE IF NOT EXISTS incidents (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     extension_id TEXT,
     opened_ms INTEGER NOT NULL,
     actor TEXT NOT NULL,
     summary TEXT NOT NULL
   );
   CREATE TABLE IF NOT EXISTS incident_steps (
     incident_id TEXT NOT NULL REFERENCES incidents(id),
     step TEXT NOT NULL,
     started_ms INTEGER NOT NULL,
     done_ms INTEGER,
     actor TEXT NOT NULL,
     detail TEXT NOT NULL,
     ledger_seq INTEGER,
     PRIMARY KEY (incident_id, step)
   );`,
  // 9: fleet export (SPEC §11, src/export): records waiting for the collector, in order, and the exporter's cursors,
  // counters and lease. Idempotent: a store taken back to an older version keeps the tables.
  `CREATE TABLE IF NOT EXISTS export_spool (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     kind TEXT NOT NULL,
     ts_ms INTEGER NOT NULL,
     record TEXT NOT NULL,
     bytes INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS export_state (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
];

/**
 * A store marked read-only (a forensic copy: `chmod a-w` on the folder or the database, or a folder this process
 * cannot write) is evidence nobody may change, root included: commands read it and write nothing, not even
 * SQLite's -wal/-shm side files.
 */
export function isReadOnlyStore(home: string): boolean {
  const path = join(home, DB_FILE);
  for (const p of [home, path]) {
    try {
      if ((statSync(p).mode & 0o222) === 0) return true;
      accessSync(p, constants.W_OK);
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Opens the database for reading. A read-only store is opened immutable (SQLite then takes no locks and creates
 * no side files); one with a non-empty -wal cannot be read that way without missing its last commits, so it is
 * refused with what to do instead.
 */
export function openDatabaseReadOnly(home: string): DatabaseSync {
  const path = join(home, DB_FILE);
  if (!isReadOnlyStore(home)) return new DatabaseSync(path, { readOnly: true });
  let walBytes = 0;
  try {
    walBytes = statSync(`${path}-wal`).size;
  } catch {
    // no -wal: everything is in the database file
  }
  if (walBytes > 0)
    throw new WardenError(
      'io',
      `${path}: the read-only store has ${walBytes} bytes of uncheckpointed -wal, expected none; reading it would need SQLite to write a -shm file: verify a writable copy of the folder instead`,
      { where: path },
    );
  const url = pathToFileURL(path);
  url.searchParams.set('mode', 'ro');
  url.searchParams.set('immutable', '1');
  return new DatabaseSync(url, { readOnly: true });
}

export interface OpenOptions {
  readonly readOnly?: boolean;
}

function ioError(path: string, what: string, err: unknown): WardenError {
  const code = (err as { code?: unknown } | null)?.code;
  return new WardenError('io', `${path}: ${what}: ${typeof code === 'string' ? `${code} ` : ''}${describeValue(err)}`, {
    where: path,
    cause: err,
  });
}

function privatise(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

/** Opens (creating if needed) the store and brings its schema up to date. */
export function openStore(home: string, options: OpenOptions = {}): DatabaseSync {
  const path = join(home, DB_FILE);
  if (options.readOnly === true) {
    if (!existsSync(path))
      throw new WardenError('io', `${path}: no evidence store here (set PI_WARDEN_HOME or run pi-warden with extensions first)`, {
        where: path,
      });
  } else {
    try {
      mkdirSync(home, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(home, 'cannot create the store directory', err);
    }
  }
  let db: DatabaseSync;
  try {
    db = options.readOnly === true ? openDatabaseReadOnly(home) : new DatabaseSync(path);
  } catch (err) {
    if (err instanceof WardenError) throw err;
    throw ioError(path, 'cannot open the store', err);
  }
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    // Two processes opening a new store at once race for the WAL switch and the migration; SQLite answers
    // "database is locked" without waiting in that case, so the set-up is retried for a few seconds.
    retryWhileLocked(() => {
      if (options.readOnly !== true) {
        db.exec('PRAGMA journal_mode = WAL');
        db.exec('PRAGMA synchronous = FULL');
      }
      migrate(db, path, options.readOnly === true);
    });
    if (options.readOnly !== true) privatise(path);
  } catch (err) {
    db.close();
    if (err instanceof WardenError) throw err;
    const text = describeValue(err);
    if (/not a database|malformed|file is encrypted/i.test(text)) {
      throw new WardenError(
        'io',
        `${path}: not a pi-warden store or damaged beyond reading (${text}); move it aside to start a new one, keep it for forensics`,
        { where: path, cause: err },
      );
    }
    throw ioError(path, 'cannot use the store', err);
  }
  return db;
}

function retryWhileLocked(fn: () => void, deadlineMs = 5000): void {
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      fn();
      return;
    } catch (err) {
      if (!/database is locked|SQLITE_BUSY/i.test(describeValue(err)) || Date.now() - start > deadlineMs) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(100, 5 * 2 ** attempt));
    }
  }
}

export function schemaVersion(db: DatabaseSync): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (has === undefined) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: DatabaseSync, path: string, readOnly: boolean): void {
  const current = schemaVersion(db);
  if (current > STORE_SCHEMA_VERSION) {
    throw new WardenError(
      'io',
      `${path}: store schema version ${current} is newer than this pi-warden understands (${STORE_SCHEMA_VERSION}); upgrade pi-warden`,
      { where: path, reasonCodes: ['schema_mismatch'] },
    );
  }
  if (current === STORE_SCHEMA_VERSION) return;
  if (readOnly)
    throw new WardenError(
      'io',
      `${path}: store schema version ${current}, expected ${STORE_SCHEMA_VERSION}; open it once read-write to migrate`,
      { where: path, reasonCodes: ['schema_mismatch'] },
    );
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL)');
    const again = schemaVersion(db);
    for (let v = again + 1; v <= STORE_SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v - 1] as string | ((d: DatabaseSync) => void);
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.prepare('INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)').run(v, Date.now());
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
