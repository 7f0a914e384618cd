/**
 * `bundle export` (SPEC §6.7, issue 20): collects the sections from a store opened read-only (the ledger with
 * proofs, the logs, replay, trust, the policy in force), redacts by commitments, seals and signs. Nothing in the
 * store is consumed, deleted or changed: every query is a SELECT on a read-only connection, quota breaches included
 * (the reference's export drained them).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { link, rm, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import { CAPABILITIES, evaluateCapability } from '../../policy/index.ts';
import {
  type Checkpoint,
  DB_FILE,
  keyPath,
  loadOrCreateKey,
  openDatabaseReadOnly,
  parseEntry,
  type PruneRecord,
  queryAlerts,
  rulesFromSnapshot,
  severityRank,
  storedEntries,
  STORE_SCHEMA_VERSION,
  verifyLedger,
  type SigningKey,
} from '../../evidence/index.ts';
import {
  BUNDLE_SCHEMA,
  bundleHashOf,
  commit,
  consistencyProof,
  multiProof,
  REDACTED_FIELDS,
  redactionKey,
  SECTIONS,
  signEnvelope,
  statementFor,
  summarise,
  type BundleDocument,
  type BundleEntry,
  type Commitment,
  type GapsSection,
  type LedgerSection,
  type ProvableTree,
  type RedactionClass,
  type RedactionKey,
  type RowSection,
} from '../../evidence/index.ts';
import { replayLedger } from '../../replay/index.ts';
import { parseFilter, parseRedaction, type BundleFilter } from './filter.ts';

export interface ExportOptions {
  readonly home: string;
  readonly out: string;
  readonly start?: string;
  readonly end?: string;
  readonly extension?: string;
  readonly category?: string;
  readonly minSeverity?: string;
  readonly redact?: string[];
  readonly onProgress?: (done: number, total: number) => void;
  readonly commandLine?: string[];
  /** The export's time (tests pin it); default now. */
  readonly nowMs?: number;
}

export interface ExportResult {
  readonly path: string;
  readonly bundleHash: string;
  readonly fileSha256: string;
  readonly entries: number;
  readonly bytes: number;
  readonly redaction: readonly RedactionClass[];
  readonly unsignedTail: GapsSection['unsigned_tail'];
}

/** At most this many checkpoints are carried (the last always), each with a consistency proof to the next. */
const MAX_CHECKPOINTS = 64;

/** The collecting tool for the custody record: name and version as the package declares them (src/ and dist/ alike sit three folders below it). */
export const TOOL = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
})();

const inWindow = (f: BundleFilter, ts: number): boolean =>
  (f.start_ms === null || ts >= f.start_ms) && (f.end_ms === null || ts <= f.end_ms);

/** Reads the signing key without creating one: an export never changes the installation. */
function existingKey(home: string): SigningKey {
  if (!existsSync(keyPath(home)))
    throw new WardenError('usage', `${keyPath(home)}: expected the installation's signing key, found none; a bundle is signed with it`);
  return loadOrCreateKey(home);
}

function rowsOf(db: DatabaseSync, table: RowSection, f: BundleFilter): Array<Record<string, unknown>> {
  const where: string[] = [];
  const args: Array<string | number> = [];
  const add = (clause: string, v: string | number | null): void => {
    if (v === null) return;
    where.push(clause);
    args.push(v);
  };
  add('ts_ms >= ?', f.start_ms);
  add('ts_ms <= ?', f.end_ms);
  add('extension_id = ?', f.extension_id);
  const sql = `SELECT * FROM ${table} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
  return (db.prepare(sql).all(...args) as Array<Record<string, unknown>>).map((r) => ({ ...r }));
}

function redactRows(
  section: 'ledger' | RowSection,
  rows: Array<Record<string, unknown>>,
  classes: readonly RedactionClass[],
  k: RedactionKey,
): void {
  const fields = classes.flatMap((c) => REDACTED_FIELDS[c].filter(([s]) => s === section).map(([, f]) => f));
  if (fields.length === 0) return;
  // Values repeat (one args shape for thousands of reads): each distinct one is committed once.
  const seen = new Map<string, Commitment>();
  for (const row of rows)
    for (const f of fields) {
      if (!(f in row)) continue;
      const label = `${section}.${f}`;
      const memo = `${label}\n${JSON.stringify(row[f])}`;
      let c = seen.get(memo);
      if (c === undefined) seen.set(memo, (c = commit(k, label, row[f])));
      row[f] = c;
    }
}

export async function exportBundle(opts: ExportOptions): Promise<ExportResult> {
  const filter = parseFilter(opts);
  const classes = parseRedaction(opts.redact);
  if (!existsSync(join(opts.home, DB_FILE)))
    throw new WardenError('io', `${join(opts.home, DB_FILE)}: expected an evidence store, found none`);
  const key = existingKey(opts.home);
  const k = redactionKey(key);
  const generatedAt = opts.nowMs ?? Date.now();
  const db = openDatabaseReadOnly(opts.home);
  let doc: BundleDocument;
  try {
    doc = collect(db, opts, filter, classes, key, k, generatedAt);
  } finally {
    db.close();
  }
  const text = `${JSON.stringify(doc)}\n`;
  // Written whole under a temporary name, then linked into place: never a half-written bundle, never over a file.
  const tmp = `${opts.out}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await link(tmp, opts.out);
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new WardenError(
      exists ? 'usage' : 'io',
      `${opts.out}: cannot write the bundle (${exists ? 'expected a new file, found one there' : (err as Error).message})`,
      {
        where: opts.out,
        cause: err,
      },
    );
  } finally {
    await rm(tmp, { force: true });
  }
  const ledger = doc.sections.ledger as LedgerSection;
  return {
    path: opts.out,
    bundleHash: doc.bundle_hash,
    fileSha256: createHash('sha256').update(text).digest('hex'),
    entries: ledger.entries.length,
    bytes: Buffer.byteLength(text),
    redaction: classes,
    unsignedTail: (doc.sections.gaps as GapsSection).unsigned_tail,
  };
}

function collect(
  db: DatabaseSync,
  opts: ExportOptions,
  filter: BundleFilter,
  classes: readonly RedactionClass[],
  key: SigningKey,
  k: RedactionKey,
  generatedAt: number,
): BundleDocument {
  // The store's own state goes into the custody record: a bundle from a broken store says so (and will not verify).
  const storeCheck = verifyLedger(db, { publicKey: key.publicKey });
  const prunes = (db.prepare('SELECT record FROM prunes ORDER BY id').all() as Array<{ record: string }>).map(
    (r) => JSON.parse(r.record) as PruneRecord,
  );
  const lastPrune = prunes.at(-1);
  const pruned = lastPrune?.pruned_through_seq ?? 0;
  const allCheckpoints = db
    .prepare('SELECT tree_size, root_hash, ts_ms, key_id, signature FROM checkpoints WHERE tree_size >= ? ORDER BY tree_size, id')
    .all(Math.max(1, pruned)) as unknown as Checkpoint[];
  const bySize = new Map<number, Checkpoint>();
  for (const c of allCheckpoints) if (!bySize.has(c.tree_size)) bySize.set(c.tree_size, { ...c });
  let checkpoints = [...bySize.values()];
  if (checkpoints.length > MAX_CHECKPOINTS) {
    const step = (checkpoints.length - 1) / (MAX_CHECKPOINTS - 1);
    checkpoints = Array.from({ length: MAX_CHECKPOINTS }, (_, i) => checkpoints[Math.round(i * step)] as Checkpoint);
  }
  const size = checkpoints.at(-1)?.tree_size ?? 0;
  const top = (db.prepare('SELECT tree_size FROM ledger_state').get() as { tree_size: number } | undefined)?.tree_size ?? size;

  // One pass over the stored entries: every leaf hash (for the proofs), the selected entries parsed.
  const leaves: string[] = new Array<string>(Math.max(0, size - pruned));
  const entries: BundleEntry[] = [];
  const unreadable: Array<{ section: string; detail: string }> = [];
  const total = Math.max(0, size - pruned);
  let done = 0;
  for (const row of storedEntries(db, size)) {
    if (row.seq <= pruned) continue;
    leaves[row.seq - 1 - pruned] = row.ledger_hash;
    if (++done % 4096 === 0) opts.onProgress?.(done, total);
    let e: ReturnType<typeof parseEntry>;
    try {
      e = parseEntry(row.entry, row.ledger_hash);
    } catch {
      unreadable.push({ section: 'ledger', detail: `seq ${row.seq}: the stored entry is not JSON` });
      continue;
    }
    if (!inWindow(filter, e.ts_ms) || (filter.extension_id !== null && e.extension_id !== filter.extension_id)) continue;
    entries.push({ ...(e as unknown as Record<string, unknown>), seq: e.seq, ledger_hash: e.ledger_hash });
  }
  opts.onProgress?.(total, total);
  const tree: ProvableTree = {
    size,
    pruned,
    leaf: (i) => {
      const h = leaves[i - pruned];
      if (h === undefined)
        throw new WardenError(
          'ledger_chain_broken',
          `the store has no entry at seq ${i + 1} under the checkpoint of size ${size}: run \`pi-warden ledger verify\``,
        );
      return h;
    },
    prefix: prefixNodes(lastPrune),
  };
  const configHashes = new Set(entries.map((e) => e['config_hash']).filter((h): h is string => typeof h === 'string'));
  const inclusion = multiProof(
    tree,
    entries.map((e) => e.seq - 1),
  );
  const consistency = checkpoints.slice(1).map((c, i) => consistencyProof(tree, (checkpoints[i] as Checkpoint).tree_size, c.tree_size));
  redactRows('ledger', entries, classes, k);
  const ledger: LedgerSection = { tree_size: size, entries, inclusion_proof: inclusion, checkpoints, consistency };

  const alerts = queryAlerts(db, {
    ...(filter.start_ms === null ? {} : { since: filter.start_ms }),
    ...(filter.end_ms === null ? {} : { until: filter.end_ms }),
    ...(filter.extension_id === null ? {} : { extension: filter.extension_id }),
  })
    .filter((a) => filter.alert_categories === null || filter.alert_categories.includes(a.category))
    .filter((a) => filter.min_severity === null || severityRank(a.severity) >= severityRank(filter.min_severity))
    .map((a) => ({ ...a }));
  const rows = {
    alerts,
    telemetry: rowsOf(db, 'telemetry', filter),
    exec_log: rowsOf(db, 'exec_log', filter),
    secret_broker_log: rowsOf(db, 'secret_broker_log', filter),
    quota_breaches: rowsOf(db, 'quota_breaches', filter),
    trust_transitions: rowsOf(db, 'trust_transitions', filter),
  };
  for (const [name, list] of Object.entries(rows)) redactRows(name as RowSection, list, classes, k);

  const replay = replayLedger(db, {
    publicKey: key.publicKey,
    ...(filter.extension_id === null ? {} : { extension: filter.extension_id }),
  });
  const snapshots: Record<string, unknown> = {};
  const read = db.prepare('SELECT config FROM config_snapshots WHERE config_hash = ?');
  for (const h of [...configHashes].sort()) {
    const row = read.get(h) as { config: string } | undefined;
    if (row === undefined) {
      unreadable.push({ section: 'policy', detail: `config snapshot ${h}: named by an entry, not in the store` });
      continue;
    }
    const rules = rulesFromSnapshot(row.config);
    const explanation = Object.fromEntries(
      CAPABILITIES.map((c) => {
        const v = evaluateCapability(rules, c, filter.extension_id ?? undefined);
        return [c, { decision: v.decision, rule: v.rule, reason: v.reason }];
      }),
    );
    snapshots[h] = { config: JSON.parse(row.config) as unknown, explanation };
  }

  const now = new Date(generatedAt);
  const sections: Record<string, unknown> = {
    meta: { generated_at_ms: generatedAt, generated_at: now.toISOString(), filter, redaction: classes },
    custody: {
      collector: { host: hostname(), user: safeUser() },
      tool: TOOL,
      command_line: opts.commandLine ?? process.argv.slice(1),
      collected_at: now.toISOString(),
      clock_source: 'system clock of the collecting host (Date.now, UTC, not externally synchronised by pi-warden)',
      method: 'read-only SQLite connection to the evidence store; nothing consumed, deleted or changed',
      store: {
        path: join(opts.home, DB_FILE),
        schema_version: STORE_SCHEMA_VERSION,
        tree_size: top,
        verification: { classification: storeCheck.classification, first_break_seq: storeCheck.first_break_seq },
      },
      key_id: key.keyId,
    },
    ledger,
    ...rows,
    risk_replay: replay,
    policy: { snapshots },
    gaps: { prunes, unsigned_tail: top > size ? { from_seq: size + 1, to_seq: top } : null, unreadable } satisfies GapsSection,
  };
  sections['summary'] = summarise(sections);
  const ordered = Object.fromEntries(SECTIONS.map((s) => [s, sections[s]])) as BundleDocument['sections'];
  const bundleHash = bundleHashOf(ordered);
  return {
    schema: BUNDLE_SCHEMA,
    bundle_hash: bundleHash,
    sections: ordered,
    envelope: signEnvelope(key, statementFor(bundleHash, generatedAt, key.keyId)),
    public_key: key.publicKeyPem,
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}

/** The pruned prefix's frontier as [start, size, root] (start of each subtree from the left). */
function prefixNodes(p: PruneRecord | undefined): Array<[number, number, string]> {
  if (p === undefined) return [];
  let start = 0;
  return p.frontier.nodes.map(([s, h]) => {
    const node: [number, number, string] = [start, s, h];
    start += s;
    return node;
  });
}
