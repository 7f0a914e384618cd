/**
 * Ledger storage since schema v6 (docs/ledger-format.md, ADR 0006): entries are stored in chunks of up to
 * CHUNK_ENTRIES consecutive entries, one row of table `ledger_chunks` each:
 * - `entries` (BLOB) is 0x00 ‖ e₁ ‖ 0x00 ‖ e₂ ‖ … with eᵢ the UTF-8 canonical entry text, so 0x00 ‖ eᵢ — the
 *   RFC 6962 leaf input — is a slice of the blob and verify hashes it without copying. Canonical entries never
 *   contain a 0x00 byte (JSON escapes control characters; UTF-8 encodes nothing else as 0x00), so the
 *   separators are unambiguous;
 * - `hashes` (BLOB) holds the entries' 32-byte ledger hashes in order;
 * - `spans` (TEXT) is `[[offset,length],…]`, the byte range of each entry text, only so that the SQL view
 *   `ledger` can show one row per entry; verify checks it against the separators;
 * - `first_seq` is the seq of the first entry; the others follow without gaps.
 * Verify and replay read chunks here; nothing trusts `spans`.
 */
import { hash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { makeChunkScanner } from './chunkScan.ts';

export const CHUNK_ENTRIES = 128;

/** A chunk row as read for verification: every column sanitised in SQL (a wrong type reads as null/-1, never a throw). */
export interface ChunkRow {
  readonly id: number;
  /** -1 when the stored value is not a safe non-negative integer. */
  readonly firstSeq: number;
  readonly spans: string | null;
  readonly hashes: Buffer | null;
  readonly entries: Buffer | null;
}

export const CHUNK_SELECT = `SELECT id,
  CASE WHEN typeof(first_seq) = 'integer' AND first_seq BETWEEN 0 AND 9007199254740991 THEN first_seq ELSE -1 END,
  CASE WHEN typeof(spans) = 'text' THEN spans END,
  CASE WHEN typeof(hashes) = 'blob' THEN hashes END,
  CASE WHEN typeof(entries) = 'blob' THEN entries END
  FROM ledger_chunks`;

const asBuffer = (v: unknown): Buffer | null => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : null);

/** Row arrays from a statement over CHUNK_SELECT (setReturnArrays) to ChunkRow. */
export function chunkRow(r: readonly unknown[]): ChunkRow {
  return { id: r[0] as number, firstSeq: r[1] as number, spans: r[2] as string | null, hashes: asBuffer(r[3]), entries: asBuffer(r[4]) };
}

/** Offsets of each entry's 0x00 separator in a chunk's entries blob (entry i is the text after starts[i]). */
export function entryStarts(entries: Uint8Array): number[] {
  const starts: number[] = [];
  for (let pos = 0; pos < entries.length;) {
    starts.push(pos);
    const next = entries.indexOf(0, pos + 1);
    pos = next < 0 ? entries.length : next;
  }
  return starts;
}

/** The spans text of an entries blob (whose entryStarts are `starts`): what the writer stores and verify expects. */
export function spansOf(entries: Uint8Array, starts: readonly number[] = entryStarts(entries)): string {
  const parts = starts.map((pos, i) => `[${pos + 1},${(starts[i + 1] ?? entries.length) - pos - 1}]`);
  return `[${parts.join(',')}]`;
}

/**
 * Encodes entries (canonical texts) and their hex ledger hashes as a chunk's three blobs; with `before` (a
 * stored chunk's blobs), as that chunk extended by them.
 */
export function encodeChunk(
  texts: readonly string[],
  hexHashes: readonly string[],
  before?: { readonly entries: Buffer; readonly hashes: Buffer },
): { entries: Buffer; hashes: Buffer; spans: string } {
  const addedEntries = Buffer.from(`\u0000${texts.join('\u0000')}`);
  const addedHashes = Buffer.from(hexHashes.join(''), 'hex');
  const entries = before === undefined ? addedEntries : Buffer.concat([before.entries, addedEntries]);
  return { entries, hashes: before === undefined ? addedHashes : Buffer.concat([before.hashes, addedHashes]), spans: spansOf(entries) };
}

/** Why a chunk cannot be read as entries, or null when its layout is sound. Cheap: no hashing. */
export function chunkLayoutProblem(row: ChunkRow): string | null {
  if (row.firstSeq < 1) return 'first_seq is not a positive integer';
  if (row.hashes === null || row.hashes.length === 0 || row.hashes.length % 32 !== 0) return 'hashes is not a blob of 32 bytes per entry';
  if (row.entries === null || row.entries.length === 0 || row.entries[0] !== 0) return 'entries is not a blob of 0x00-separated entries';
  return null;
}

/** One entry's findings that differ from the normal case (see ChunkScan). */
export interface EntryFinding {
  /** The recomputed leaf hash (hex), when it differs from the stored one. */
  recomputed?: string;
  /** prev_ledger_hash as written in the entry, when it is not the stored hash of the entry before it in this chunk. */
  prev?: string | null;
  /** seq as written in the entry, when it is not first_seq + index. */
  seq?: number;
  /** The entry's first characters, when prev_ledger_hash and seq cannot be read from it. */
  malformed?: string;
}

/**
 * What scanning a chunk found: every leaf hash recomputed and compared, each entry's prev_ledger_hash and seq
 * read. Only deviations are listed, so a sound chunk's scan is a few numbers (cheap to pass between threads).
 * The verifier decides what the deviations mean (it knows the chain around the chunk).
 */
export interface ChunkScan {
  /** Entries found between separators. */
  readonly count: number;
  /** Set when the separators do not give one entry per stored hash: the chunk is unreadable. */
  readonly layout: string | null;
  readonly spansOk: boolean;
  /** prev_ledger_hash of the first entry (null for seq 1); undefined when it is malformed. */
  readonly firstPrev: string | null | undefined;
  /** [index, finding] for each entry with a finding, by index. */
  readonly findings: Array<[number, EntryFinding]>;
  /**
   * The stored hashes as aligned subtrees (see makeHashChunk) from tree position first_seq − 1, which
   * is where they go when the chain runs normally; the verifier uses them only when that holds.
   */
  readonly subtrees?: Array<[number, string]>;
}

/** The hashing half of a chunk's scan. */
export interface ChunkHashes {
  /** [index, recomputed hex] for each entry whose leaf hash differs from the stored one. */
  readonly mismatches: Array<[number, string]>;
  readonly subtrees: Array<[number, string]>;
}

/** The chunk scanner (chunkScan.ts) of this thread. */
export const chunkScanner = makeChunkScanner(hash);
/** Scans one chunk (both halves) on this thread. */
export const scanChunk = chunkScanner.scan;

/** One stored entry, as replay and tests read it (no verification: run verify first). */
export interface StoredEntry {
  readonly seq: number;
  readonly entry: string;
  readonly ledger_hash: string;
}

/**
 * Stored entries in seq order (chunks by first_seq, then storage order), optionally only seq ≤ `untilSeq`.
 * Chunks verify would call unreadable are skipped.
 */
export function* storedEntries(db: DatabaseSync, untilSeq = Number.MAX_SAFE_INTEGER): Generator<StoredEntry> {
  const stmt = db.prepare(`${CHUNK_SELECT} WHERE first_seq <= ? ORDER BY first_seq, id`);
  stmt.setReturnArrays(true);
  for (const r of stmt.iterate(untilSeq) as Iterable<unknown[]>) {
    const row = chunkRow(r);
    if (chunkLayoutProblem(row) !== null) continue;
    const entries = row.entries as Buffer;
    const hashes = row.hashes as Buffer;
    const starts = entryStarts(entries);
    for (let i = 0; i < starts.length && i * 32 < hashes.length; i++) {
      const seq = row.firstSeq + i;
      if (seq > untilSeq) break;
      yield {
        seq,
        entry: entries.toString('utf8', (starts[i] as number) + 1, starts[i + 1] ?? entries.length),
        ledger_hash: hashes.toString('hex', i * 32, i * 32 + 32),
      };
    }
  }
}

/** The text of the first stored entry (in storage order) at `seq`, or undefined. */
export function storedEntryAt(db: DatabaseSync, seq: number): string | undefined {
  const stmt = db.prepare(
    `${CHUNK_SELECT} WHERE typeof(first_seq) = 'integer' AND first_seq <= ?1 AND typeof(hashes) = 'blob' AND first_seq + length(hashes) / 32 > ?1 ORDER BY id`,
  );
  stmt.setReturnArrays(true);
  for (const r of stmt.iterate(seq) as Iterable<unknown[]>) {
    const row = chunkRow(r);
    if (chunkLayoutProblem(row) !== null) continue;
    const entries = row.entries as Buffer;
    const starts = entryStarts(entries);
    const i = seq - row.firstSeq;
    if (i < starts.length) return entries.toString('utf8', (starts[i] as number) + 1, starts[i + 1] ?? entries.length);
  }
  return undefined;
}
