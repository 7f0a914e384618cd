/**
 * Ledger verification (SPEC §6.3): schema version, every hash recomputed, linkage, seq continuity, signed
 * checkpoints (Merkle roots) and signed prune records. Trusts no stored flag or bookkeeping row.
 *
 * The ledger is read as chunks (chunks.ts, docs/ledger-format.md). Scanning a chunk — each leaf hash
 * recomputed from a slice of its blob and compared, each entry's links read, its spans checked, its stored
 * hashes hashed into aligned Merkle subtrees — is most of the work and may run on a helper thread
 * (verifyPipeline.ts); everything sequential happens here, in storage order: seq continuity, linkage against
 * the previous accepted entry, the tree (a chunk's subtrees stand for its leaves only when all of it entered
 * the tree at the position its seqs give and no checkpoint falls inside it; otherwise leaf by leaf), and the
 * checkpoints at each tree size.
 *
 * Classification of the first break:
 * - corruption: one entry whose content no longer matches its own hash, chain and checkpoints intact
 *   (a bit flip or a bad write); also an unreadable entry or a schema version this build does not know;
 * - truncation: entries missing at the head (no signed prune record accounts for them) or at the tail
 *   (a signed checkpoint covers more entries than are present), everything present intact;
 * - tampering: anything else — broken linkage, gaps, duplicates, reordering, a checkpoint root that does not
 *   match, a signature that does not verify, spans that do not match a chunk's entries.
 * `first_break_seq` is the first entry that cannot be trusted: the first bad hash, missing or duplicate seq,
 * or the first entry whose prev_ledger_hash does not match its predecessor (the predecessor may be the one
 * altered: the break is that link). Only when the chain itself is whole does a failed checkpoint decide it:
 * then it is the first entry after the last checkpoint that did verify.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { describeValue } from '../describe.ts';
import { WardenError } from '../errors.ts';
import { checkpointSignatureValid, pruneSignatureValid, type Checkpoint, type PruneRecord } from './checkpoint.ts';
import { storedEntryAt, type EntryFinding } from './chunks.ts';
import { keyIdOf } from './keys.ts';
import { Frontier, RawFrontier } from './merkle.ts';
import { DB_FILE, openDatabaseReadOnly, schemaVersion, STORE_SCHEMA_VERSION } from './store.ts';
import { ChunkSource, Helper } from './verifyPipeline.ts';

export type Classification = 'intact' | 'corruption' | 'tampering' | 'truncation';

export type VerificationErrorKind =
  | 'schema_mismatch'
  | 'malformed_entry'
  | 'hash_mismatch'
  | 'prev_mismatch'
  | 'seq_mismatch'
  | 'missing_entry'
  | 'duplicate_seq'
  | 'truncated_head'
  | 'truncated_tail'
  | 'checkpoint_mismatch'
  | 'forged_checkpoint_signature'
  | 'forged_prune_signature'
  | 'seq_out_of_order'
  | 'missing_checkpoint'
  | 'malformed_checkpoint'
  | 'checkpoint_unverifiable'
  | 'spans_mismatch';

export interface VerificationError {
  readonly seq: number;
  readonly kind: VerificationErrorKind;
  readonly expected: string;
  readonly actual: string;
}

export interface VerificationReport {
  readonly schema: 'pi-warden.ledger_verification.v1';
  readonly schema_version: number;
  readonly entries_checked: number;
  readonly tree_size: number;
  readonly chain_valid: boolean;
  readonly checkpoints_valid: boolean;
  readonly checkpoints_checked: number;
  /** Entries after the last verified checkpoint: chained, but not yet covered by a signature. */
  readonly unsigned_tail: number;
  readonly first_break_seq: number | null;
  readonly classification: Classification;
  readonly verification_errors: readonly VerificationError[];
}

/** The writer signs a checkpoint at least every this many entries (it caps its own setting to this). */
export const MAX_UNSIGNED_ENTRIES = 4096;
/** Entries older than this with no signed checkpoint over them mean checkpoints were removed (the writer signs within 10 s, at start-up and at close). */
export const MAX_UNSIGNED_AGE_MS = 10 * 60_000;

export interface VerifyOptions {
  /** "Now" for the age rule (tests move it). */
  readonly now?: number;
  /** The trusted public key; checkpoints signed by any other key fail. */
  readonly publicKey: KeyObject;
  readonly onProgress?: (checked: number, total: number) => void;
  /**
   * Checkpoints kept off this machine (exported to a collector, `ledger verify --remote-checkpoints`): checked like
   * the stored ones, so a tail rewritten after its local checkpoints were deleted no longer matches them.
   */
  readonly extraCheckpoints?: readonly Checkpoint[];
  /**
   * 2 (the default on a machine with two cores or more): a helper thread scans chunks while this one reads
   * the store and scans chunks too, whenever it would otherwise wait. 1: everything on this thread.
   */
  readonly threads?: number;
  /** The helper thread is used from this many entries on (starting one costs ~20 ms; it is then kept). */
  readonly parallelFrom?: number;
}

const DEFAULT_THREADS = Math.min(2, availableParallelism());
const PARALLEL_FROM = 50_000;

const MAX_ERRORS = 1000;

/** Opens `<home>/warden.db` read-only and verifies it. */
export function verifyStore(home: string, options: VerifyOptions): VerificationReport {
  const path = join(home, DB_FILE);
  if (!existsSync(path)) throw new WardenError('io', `${path}: no evidence store here`, { where: path });
  let db: DatabaseSync;
  try {
    db = openDatabaseReadOnly(home);
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('PRAGMA mmap_size = 1073741824');
  } catch (err) {
    if (err instanceof WardenError) throw err;
    throw new WardenError('io', `${path}: cannot open the store: ${describeValue(err)}`, { where: path, cause: err });
  }
  try {
    return verifyLedger(db, options);
  } catch (err) {
    if (err instanceof WardenError) throw err;
    throw new WardenError('io', `${path}: not a readable pi-warden store (${describeValue(err)})`, { where: path, cause: err });
  } finally {
    db.close();
  }
}

export function verifyLedger(db: DatabaseSync, options: VerifyOptions): VerificationReport {
  const errors: VerificationError[] = [];
  const push = (e: VerificationError) => {
    if (errors.length < MAX_ERRORS) errors.push(e);
  };
  const version = schemaVersion(db);
  if (version !== STORE_SCHEMA_VERSION) {
    push({ seq: 1, kind: 'schema_mismatch', expected: String(STORE_SCHEMA_VERSION), actual: String(version) });
    return report(version, 0, 0, 0, errors, 0, true);
  }
  // One read transaction: a writer pruning meanwhile must not show up as a gap. Values are sanitised in SQL, so
  // an integer too large for JavaScript or a blob where text belongs is reported, not thrown.
  db.exec('BEGIN');
  try {
    return verifyInTransaction(db, options, version, push, errors);
  } finally {
    db.exec('COMMIT');
  }
}

const INT = (col: string) => `CASE WHEN typeof(${col}) = 'integer' AND ${col} BETWEEN 0 AND 9007199254740991 THEN ${col} ELSE -1 END`;
const TEXT = (col: string) => `CASE WHEN typeof(${col}) = 'text' THEN ${col} ELSE '' END`;

function verifyInTransaction(
  db: DatabaseSync,
  options: VerifyOptions,
  version: number,
  push: (e: VerificationError) => void,
  errors: VerificationError[],
): VerificationReport {
  const total = (
    db
      .prepare(
        `SELECT COALESCE(SUM(CASE WHEN typeof(hashes) = 'blob' AND length(hashes) >= 32 THEN length(hashes) / 32 ELSE 1 END), 0) AS n FROM ledger_chunks`,
      )
      .get() as { n: number }
  ).n;
  const rawCheckpoints = db
    .prepare(
      `SELECT ${INT('tree_size')} AS tree_size, ${TEXT('root_hash')} AS root_hash, ${INT('ts_ms')} AS ts_ms, ${TEXT('key_id')} AS key_id, ${TEXT('signature')} AS signature FROM checkpoints ORDER BY tree_size, id`,
    )
    .all() as unknown as Checkpoint[];
  const checkpoints: Checkpoint[] = [];
  if (options.extraCheckpoints !== undefined) {
    rawCheckpoints.push(...options.extraCheckpoints);
    rawCheckpoints.sort((a, b) => a.tree_size - b.tree_size);
  }
  for (const c of rawCheckpoints) {
    if (c.tree_size < 1 || c.ts_ms < 0 || !/^[0-9a-f]{64}$/.test(c.root_hash)) {
      push({
        seq: Math.max(1, c.tree_size),
        kind: 'malformed_checkpoint',
        expected: 'a checkpoint row of the documented types',
        actual: JSON.stringify(c).slice(0, 120),
      });
    } else {
      checkpoints.push(c);
    }
  }
  const prunes = db.prepare(`SELECT ${TEXT('record')} AS record FROM prunes ORDER BY id`).all() as unknown as Array<{ record: string }>;
  const firstRow = db.prepare(`SELECT MIN(${INT('first_seq')}) AS s FROM ledger_chunks`).get() as { s: number | null };

  // Where the present entries should start, and from which frontier.
  let frontier = new Frontier();
  /** undefined: unknown (the head is missing and nothing says what preceded it). */
  let expectedPrev: string | null | undefined = null;
  let expectedSeq = 1;
  const firstSeq = firstRow.s ?? newestPruneEnd(prunes) + 1;
  if (firstSeq > 1) {
    const prune = findPrune(prunes, firstSeq - 1, options.publicKey, push);
    if (prune === undefined) {
      push({
        seq: 1,
        kind: 'truncated_head',
        expected: 'entries from seq 1, or a signed prune record',
        actual: `first entry is seq ${firstSeq}`,
      });
      expectedSeq = firstSeq;
      expectedPrev = undefined;
    } else {
      frontier = Frontier.fromJSON(prune.frontier);
      expectedPrev = prune.anchor_hash;
      expectedSeq = prune.pruned_through_seq + 1;
    }
  }
  const headUnknown = firstSeq > 1 && frontier.size === 0;

  const tree = RawFrontier.from(frontier);
  let cpIndex = 0;
  while (cpIndex < checkpoints.length && (checkpoints[cpIndex] as Checkpoint).tree_size <= tree.size) cpIndex++;
  let nextCheckpointSize = cpIndex < checkpoints.length ? (checkpoints[cpIndex] as Checkpoint).tree_size : -1;
  let lastVerifiedCheckpoint = tree.size;
  let checkpointsChecked = 0;
  let checkpointsValid = true;
  let checked = 0;
  let lastSeq = expectedSeq - 1;
  let prevStoredSeq: number | undefined;
  const progressEvery = 65_536;
  const onProgress = options.onProgress;
  // The previous entry's stored hash, as the chunk holding it and its index (hex only when needed).
  let prevChunk: Buffer | null = null;
  let prevIndex = 0;
  const expected = (): string | null | undefined =>
    prevChunk === null ? expectedPrev : prevChunk.toString('hex', prevIndex * 32, prevIndex * 32 + 32);

  /** Checks every checkpoint at the tree's present size, in order: signature, then root. */
  const checkpointsAtTreeSize = () => {
    while (tree.size === nextCheckpointSize) {
      const cp = checkpoints[cpIndex] as Checkpoint;
      checkpointsChecked++;
      const ok = checkCheckpoint(cp, tree.root(), lastVerifiedCheckpoint, options.publicKey, push);
      if (ok) lastVerifiedCheckpoint = cp.tree_size;
      else checkpointsValid = false;
      cpIndex++;
      nextCheckpointSize = cpIndex < checkpoints.length ? (checkpoints[cpIndex] as Checkpoint).tree_size : -1;
    }
  };

  // With a helper thread, most of the hashing (leaf hashes, the Merkle subtrees of each chunk) runs there.
  const helper =
    (options.threads ?? DEFAULT_THREADS) > 1 && total >= (options.parallelFrom ?? PARALLEL_FROM) ? Helper.acquire() : undefined;
  const source = new ChunkSource(db, helper);
  try {
    // Storage order (chunk id, then position) is append order: a chunk stored out of place is itself evidence
    // (entries appended later with earlier seqs).
    for (let c = source.next(); c !== undefined; c = source.next()) {
      const { row, scan, problem } = c;
      if (problem !== null || scan === null) {
        checked++;
        push({
          seq: Math.max(expectedSeq, 1),
          kind: 'malformed_entry',
          expected: 'a ledger chunk: first_seq a positive integer, one 0x00-separated entry per 32-byte hash',
          actual: `chunk ${row.id}: ${String(problem)}`,
        });
        continue;
      }
      if (!scan.spansOk)
        push({
          seq: Math.max(row.firstSeq, 1),
          kind: 'spans_mismatch',
          expected: 'spans matching the entry separators',
          actual: `chunk ${row.id}: ${(row.spans ?? 'null').slice(0, 60)}`,
        });
      const hashes = row.hashes as Buffer;
      const findings = scan.findings;
      const treeStart = tree.size;
      let skipped: number[] | null = null;
      let f = 0;
      const whole = findings.length === 0 && row.firstSeq === expectedSeq;
      if (whole) {
        // The common case, what the loop below does for it in one step: every seq where expected, and no entry
        // with a finding, so only the first entry's link (to the entry before the chunk) is left to check.
        const before = checked;
        checked += scan.count;
        if (onProgress !== undefined)
          for (let k = Math.floor(before / progressEvery) + 1; k * progressEvery <= checked; k++) onProgress(k * progressEvery, total);
        if (prevChunk !== null || expectedPrev !== undefined) {
          const want = expected();
          if (scan.firstPrev !== want)
            push({ seq: row.firstSeq, kind: 'prev_mismatch', expected: String(want), actual: String(scan.firstPrev) });
        }
        lastSeq = row.firstSeq + scan.count - 1;
        prevStoredSeq = lastSeq;
        prevChunk = hashes;
        prevIndex = scan.count - 1;
        expectedSeq = lastSeq + 1;
      }
      for (let i = whole ? scan.count : 0; i < scan.count; i++) {
        checked++;
        if (onProgress !== undefined && checked % progressEvery === 0) onProgress(checked, total);
        const seq = row.firstSeq + i;
        let finding: EntryFinding | undefined;
        if (f < findings.length && (findings[f] as [number, EntryFinding])[0] === i) finding = (findings[f++] as [number, EntryFinding])[1];
        if (seq < expectedSeq) {
          // Every seq from the first present one up to here has been seen: a repeat is a duplicate; below that it
          // is an entry stored out of place.
          const duplicate = prevStoredSeq !== undefined && seq >= firstSeq;
          push(
            duplicate
              ? { seq, kind: 'duplicate_seq', expected: `seq ${expectedSeq}`, actual: `a second entry with seq ${seq}` }
              : { seq, kind: 'seq_out_of_order', expected: `seq ${expectedSeq}`, actual: `seq ${seq} stored after seq ${expectedSeq - 1}` },
          );
          (skipped ??= []).push(i);
          continue;
        }
        if (seq > expectedSeq) {
          push({ seq: expectedSeq, kind: 'missing_entry', expected: `seq ${expectedSeq}`, actual: `seq ${seq}` });
        }
        prevStoredSeq = seq;
        if (finding !== undefined) {
          if (finding.malformed !== undefined) {
            push({ seq, kind: 'malformed_entry', expected: 'a canonical ledger entry', actual: finding.malformed });
          } else if (finding.seq !== undefined) {
            push({ seq, kind: 'seq_mismatch', expected: `seq ${seq}`, actual: `entry says seq ${finding.seq}` });
          }
        }
        if (finding?.malformed === undefined && (prevChunk !== null || expectedPrev !== undefined)) {
          // The entry's prev_ledger_hash: the scan says it is the stored hash of the entry before it in this
          // chunk unless it lists the value (and for the first entry of a chunk it always gives it).
          const explicit = i === 0 || (finding !== undefined && 'prev' in finding);
          if (explicit) {
            const text = i === 0 ? scan.firstPrev : finding?.prev;
            const want = expected();
            if (text !== want) push({ seq, kind: 'prev_mismatch', expected: String(want), actual: String(text) });
          } else if (prevChunk !== hashes || prevIndex !== i - 1) {
            const want = expected();
            const text = hashes.toString('hex', (i - 1) * 32, i * 32);
            if (text !== want) push({ seq, kind: 'prev_mismatch', expected: String(want), actual: text });
          }
        }
        if (finding?.recomputed !== undefined)
          push({ seq, kind: 'hash_mismatch', expected: finding.recomputed, actual: hashes.toString('hex', i * 32, i * 32 + 32) });
        prevChunk = hashes;
        prevIndex = i;
        expectedSeq = seq + 1;
        lastSeq = seq;
      }
      if (headUnknown) continue; // without the prefix the tree cannot be rebuilt
      // Every entry not skipped above enters the tree, in order. When the whole chunk entered at the position
      // its seqs give, the scan's subtrees stand for its leaves (no checkpoint may fall inside one of them);
      // otherwise, leaf by leaf.
      const subtrees = scan.subtrees;
      if (
        skipped === null &&
        subtrees !== undefined &&
        treeStart === row.firstSeq - 1 &&
        !(nextCheckpointSize > treeStart && nextCheckpointSize < treeStart + scan.count)
      ) {
        for (const [size, root] of subtrees) {
          tree.appendSubtree(size, root);
          checkpointsAtTreeSize();
        }
      } else {
        const stored = hashes.toString('latin1');
        for (let i = 0, k = 0; i < scan.count; i++) {
          if (skipped !== null && skipped[k] === i) {
            k++;
            continue;
          }
          tree.append(stored.slice(i * 32, i * 32 + 32));
          checkpointsAtTreeSize();
        }
      }
    }
  } finally {
    source.close();
  }
  if (headUnknown && checkpoints.length > 0) {
    // Without the head the roots cannot be recomputed: the checkpoints prove nothing about what is present.
    push({
      seq: 1,
      kind: 'checkpoint_unverifiable',
      expected: 'checkpoint roots recomputable from the ledger',
      actual: `${checkpoints.length} checkpoint(s) over entries that are missing`,
    });
  }
  for (; cpIndex < checkpoints.length; cpIndex++) {
    const cp = checkpoints[cpIndex] as Checkpoint;
    if (headUnknown) break;
    checkpointsChecked++;
    if (!checkpointSignatureValid(options.publicKey, cp)) {
      checkpointsValid = false;
      push({
        seq: lastVerifiedCheckpoint + 1,
        kind: 'forged_checkpoint_signature',
        expected: 'a signature by the trusted key',
        actual: `checkpoint at tree size ${cp.tree_size}`,
      });
    } else if (cp.tree_size > lastSeq) {
      push({
        seq: lastSeq + 1,
        kind: 'truncated_tail',
        expected: `${cp.tree_size} entries (signed checkpoint)`,
        actual: `${lastSeq} entries`,
      });
      break;
    }
  }
  // Checkpoints that should exist but do not: the writer signs at least every MAX_UNSIGNED_ENTRIES entries and
  // within seconds of writing (at start-up and close too), so a long or old unsigned run means they were removed.
  const unsigned = lastSeq - lastVerifiedCheckpoint;
  if (!headUnknown && unsigned > 0) {
    if (unsigned > MAX_UNSIGNED_ENTRIES) {
      push({
        seq: lastVerifiedCheckpoint + 1,
        kind: 'missing_checkpoint',
        expected: `a signed checkpoint at least every ${MAX_UNSIGNED_ENTRIES} entries`,
        actual: `${unsigned} entries after the last verified checkpoint`,
      });
    } else {
      const first = storedEntryAt(db, lastVerifiedCheckpoint + 1);
      const ts = Number(/"ts_ms":(\d+)\}$/.exec(first ?? '')?.[1] ?? Number.NaN);
      const age = (options.now ?? Date.now()) - ts;
      if (Number.isFinite(age) && age > MAX_UNSIGNED_AGE_MS) {
        push({
          seq: lastVerifiedCheckpoint + 1,
          kind: 'missing_checkpoint',
          expected: `a signed checkpoint within ${MAX_UNSIGNED_AGE_MS / 60_000} min of writing`,
          actual: `${unsigned} entries up to ${Math.round(age / 60_000)} min old under no checkpoint (removed, or a writer crashed and never restarted)`,
        });
      }
    }
  }
  options.onProgress?.(checked, total);
  return report(version, checked, lastSeq, lastSeq - lastVerifiedCheckpoint, errors, checkpointsChecked, checkpointsValid);
}

function newestPruneEnd(prunes: Array<{ record: string }>): number {
  for (let i = prunes.length - 1; i >= 0; i--) {
    const rec = parseRecord((prunes[i] as { record: string }).record);
    if (rec !== undefined) return rec.pruned_through_seq;
  }
  return 0;
}

/** A prune record as stored, or undefined when it is not one (null, wrong types): never a throw. */
function parseRecord(text: string): PruneRecord | undefined {
  try {
    const rec = JSON.parse(text) as PruneRecord | null;
    if (
      rec === null ||
      typeof rec !== 'object' ||
      !Number.isSafeInteger(rec.pruned_through_seq) ||
      typeof rec.anchor_hash !== 'string' ||
      typeof rec.signature !== 'string'
    )
      return undefined;
    Frontier.fromJSON(rec.frontier);
    return rec;
  } catch {
    return undefined;
  }
}

function findPrune(
  prunes: Array<{ record: string }>,
  throughSeq: number,
  key: KeyObject,
  push: (e: VerificationError) => void,
): PruneRecord | undefined {
  for (let i = prunes.length - 1; i >= 0; i--) {
    const rec = parseRecord((prunes[i] as { record: string }).record);
    if (rec === undefined || rec.pruned_through_seq !== throughSeq) continue;
    let valid = false;
    try {
      valid = pruneSignatureValid(key, rec);
    } catch {
      valid = false;
    }
    if (!valid) {
      push({
        seq: 1,
        kind: 'forged_prune_signature',
        expected: 'a prune record signed by the trusted key',
        actual: `prune record through seq ${throughSeq}`,
      });
      return undefined;
    }
    return rec;
  }
  return undefined;
}

const FORGED_KEY = / \(key ([^)]*)\)$/;

/**
 * True when the only failures are checkpoint signatures and none of those checkpoints names the trusted key:
 * the operator most likely passed the wrong `--public-key`. It cannot be told apart from checkpoints re-signed
 * by another key, so the caller reports it as "not verified", never as intact.
 */
export function onlyOtherKeySignatures(r: VerificationReport, publicKey: KeyObject): boolean {
  if (r.verification_errors.length === 0) return false;
  const trusted = keyIdOf(publicKey);
  return r.verification_errors.every((e) => {
    if (e.kind !== 'forged_checkpoint_signature') return false;
    const named = FORGED_KEY.exec(e.actual)?.[1];
    return named !== undefined && named !== trusted;
  });
}

function checkCheckpoint(
  cp: Checkpoint,
  root: string,
  lastVerified: number,
  key: KeyObject,
  push: (e: VerificationError) => void,
): boolean {
  if (!checkpointSignatureValid(key, cp)) {
    push({
      seq: lastVerified + 1,
      kind: 'forged_checkpoint_signature',
      expected: 'a signature by the trusted key',
      actual: `checkpoint at tree size ${cp.tree_size} (key ${cp.key_id})`,
    });
    return false;
  }
  if (cp.root_hash !== root) {
    push({ seq: lastVerified + 1, kind: 'checkpoint_mismatch', expected: cp.root_hash, actual: root });
    return false;
  }
  return true;
}

const TAMPERING: ReadonlySet<VerificationErrorKind> = new Set([
  'prev_mismatch',
  'seq_mismatch',
  'missing_entry',
  'duplicate_seq',
  'checkpoint_mismatch',
  'forged_checkpoint_signature',
  'forged_prune_signature',
  'seq_out_of_order',
  'missing_checkpoint',
  'malformed_checkpoint',
  'spans_mismatch',
]);

function classify(errors: readonly VerificationError[]): Classification {
  if (errors.length === 0) return 'intact';
  if (errors.some((e) => TAMPERING.has(e.kind))) return 'tampering';
  const hashErrors = errors.filter((e) => e.kind === 'hash_mismatch' || e.kind === 'malformed_entry');
  if (hashErrors.length > 1) return 'tampering';
  if (errors.some((e) => e.kind === 'truncated_head' || e.kind === 'truncated_tail'))
    return hashErrors.length === 0 ? 'truncation' : 'tampering';
  return 'corruption';
}

function report(
  version: number,
  checked: number,
  treeSize: number,
  unsignedTail: number,
  errors: VerificationError[],
  cps: number,
  cpsValid: boolean,
): VerificationReport {
  const chainKinds: ReadonlySet<VerificationErrorKind> = new Set([
    'hash_mismatch',
    'prev_mismatch',
    'seq_mismatch',
    'missing_entry',
    'duplicate_seq',
    'seq_out_of_order',
    'malformed_entry',
    'truncated_head',
    'schema_mismatch',
  ]);
  const sorted = [...errors].sort((a, b) => a.seq - b.seq);
  // An error in the chain pinpoints the break; a failed checkpoint only bounds it (everything after the last
  // good checkpoint), so it decides first_break_seq only when the chain itself looks whole.
  const pinpointed = sorted.filter((e) => chainKinds.has(e.kind) || e.kind === 'truncated_tail');
  return {
    schema: 'pi-warden.ledger_verification.v1',
    schema_version: version,
    entries_checked: checked,
    tree_size: treeSize,
    chain_valid: !errors.some((e) => chainKinds.has(e.kind)),
    checkpoints_valid:
      cpsValid &&
      !errors.some((e) =>
        [
          'checkpoint_mismatch',
          'forged_checkpoint_signature',
          'truncated_tail',
          'missing_checkpoint',
          'malformed_checkpoint',
          'checkpoint_unverifiable',
        ].includes(e.kind),
      ),
    checkpoints_checked: cps,
    unsigned_tail: Math.max(0, unsignedTail),
    first_break_seq: (pinpointed[0] ?? sorted[0])?.seq ?? null,
    classification: classify(errors),
    verification_errors: sorted,
  };
}
