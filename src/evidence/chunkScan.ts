/**
 * Scanning a ledger chunk (chunks.ts): the bulk of `ledger verify`'s work, done by the main thread or by the
 * verify helper thread (verifyPipeline.ts). For each entry: the leaf hash SHA-256(0x00 ‖ entry) recomputed over
 * a slice of the chunk's blob and compared with the stored hash; prev_ledger_hash and seq read from the text;
 * the spans checked; and the stored hashes hashed into aligned Merkle subtrees.
 *
 * The scan has a reading half (links, spans, layout: plain JavaScript over the bytes) and a hashing half (leaf
 * hashes, subtrees: node:crypto calls). With two threads, the main thread does the reading half of every chunk
 * and the helper most of the hashing (verifyPipeline.ts explains why).
 *
 * Everything lives inside makeChunkScanner and refers to nothing outside it but its parameter and JavaScript /
 * Node globals: the helper thread runs this function's source text as is (type annotations are gone at run
 * time, under type stripping as in the build), because a worker that loads modules starts ~40 ms slower.
 */
import type { hash } from 'node:crypto';
import type { ChunkHashes, ChunkScan, EntryFinding } from './chunks.ts';

export type ScanChunk = (firstSeq: number, entries: Uint8Array, hashes: Uint8Array, spans: string | null) => ChunkScan;

/** A chunk's scan in two halves, so that the hashing half can run on another thread (verifyPipeline.ts). */
export interface ChunkScanner {
  /** Both halves here. */
  readonly scan: ScanChunk;
  /**
   * The reading half: layout, spans, each entry's seq and prev_ledger_hash (no hashing). Also gives the entry
   * bounds (separator offsets, then the blob's length) that the hashing half needs.
   */
  readonly read: (
    firstSeq: number,
    entries: Uint8Array,
    hashes: Uint8Array,
    spans: string | null,
  ) => { readonly scan: ChunkScan; readonly bounds: Int32Array };
  /** The hashing half: leaf hashes recomputed and compared, stored hashes into aligned subtrees from tree position `start`. */
  readonly hash: (entries: Uint8Array, bounds: Int32Array, hashes: Uint8Array, start: number) => ChunkHashes;
  /** A reading half completed with its hashing half. */
  readonly complete: (scan: ChunkScan, hashed: ChunkHashes) => ChunkScan;
}

export function makeChunkScanner(sha256: typeof hash): ChunkScanner {
  const PREV_KEY = Buffer.from('"prev_ledger_hash":');
  const CODES_KEY = Buffer.from('"reason_codes":');

  /**
   * Right-to-left Horspool shifts for finding the last occurrence of any of `keys`: for a byte c at the start
   * of the window, the window can move left by the smallest j ≥ 1 with key[j] = c (or the key's length),
   * minimised over the keys. The searches below compare their keys' bytes explicitly (constants the JIT keeps).
   */
  function shifts(...keys: Buffer[]): Uint8Array {
    const t = new Uint8Array(256).fill(Math.min(...keys.map((k) => k.length)));
    for (const key of keys) for (let j = key.length - 1; j >= 1; j--) t[key[j] as number] = Math.min(t[key[j] as number] as number, j);
    return t;
  }
  const SEQ_SHIFT = shifts(Buffer.from('"seq":'));
  const PREV_SHIFT = shifts(PREV_KEY);
  const PREV_OR_CODES_SHIFT = shifts(PREV_KEY, CODES_KEY);

  const isPrevKey = (b: Uint8Array, s: number): boolean => {
    if (b[s] !== 34 || b[s + 1] !== 112 || b[s + 17] !== 34 || b[s + 18] !== 58) return false;
    for (let j = 2; j < 17; j++) if (b[s + j] !== PREV_KEY[j]) return false;
    return true;
  };
  const isCodesKey = (b: Uint8Array, s: number): boolean => {
    if (b[s] !== 34 || b[s + 1] !== 114 || b[s + 13] !== 34 || b[s + 14] !== 58) return false;
    for (let j = 2; j < 13; j++) if (b[s + j] !== CODES_KEY[j]) return false;
    return true;
  };

  /** Start of the last `"seq":` that starts in (min, from], or -1. */
  function lastSeqKey(b: Uint8Array, from: number, min: number): number {
    for (let s = from; s > min; s -= SEQ_SHIFT[b[s] as number] as number) {
      if (b[s] === 34 && b[s + 1] === 115 && b[s + 2] === 101 && b[s + 3] === 113 && b[s + 4] === 34 && b[s + 5] === 58) return s;
    }
    return -1;
  }

  /** Start of the last `"prev_ledger_hash":` that starts in (min, from], or -1. */
  function lastPrevKey(b: Uint8Array, from: number, min: number): number {
    for (let s = from; s > min; s -= PREV_SHIFT[b[s] as number] as number) if (isPrevKey(b, s)) return s;
    return -1;
  }

  /** Whether the 64 bytes at `at` in `b` equal those at `h` in `hex` (16 unaligned 32-bit loads each). */
  const same64 = (b: DataView, at: number, hex: DataView, h: number): boolean => {
    for (let k = 0; k < 64; k += 4) if (b.getUint32(at + k, true) !== hex.getUint32(h + k, true)) return false;
    return true;
  };

  /** Set by prevKeyBefore: the prev key it returns has, as its value, the 64 bytes it was given to expect. */
  let prevMatched = false;

  /**
   * Start of the last `"prev_ledger_hash":` before `q` (the seq key) in (min, q), or -1: exactly what
   * lastPrevKey(b, q - 19, min) gives, found faster for canonical entries, where prev_ledger_hash is followed by
   * its value (64 characters in quotes, or null) and then `,"reason_codes":`. The shorter search finds the last
   * of either key; if it is reason_codes and the prev key sits right before it with a value holding no `"` (so no
   * key can start inside it), that is the last prev key; anything else falls back to the full search. A value
   * equal to the expected hex (`hex` at `h`, when h ≥ 0) holds no `"`; then prevMatched is set.
   */
  function prevKeyBefore(b: Uint8Array, dv: DataView, q: number, min: number, hex: DataView, h: number): number {
    prevMatched = false;
    let r = -1;
    for (let s = q - 15; s > min; s -= PREV_OR_CODES_SHIFT[b[s] as number] as number) {
      if (s <= q - 19 && isPrevKey(b, s)) return s;
      if (isCodesKey(b, s)) {
        r = s;
        break;
      }
    }
    if (r < 0) return -1;
    if (b[r - 1] === 44) {
      if (b[r - 2] === 34) {
        const p = r - 86;
        if (p > min && b[p + 19] === 34 && isPrevKey(b, p)) {
          if (h >= 0 && same64(dv, p + 20, hex, h)) {
            prevMatched = true;
            return p;
          }
          let quoteFree = true;
          for (let k = p + 20; k < p + 84; k++) {
            if (b[k] === 34) {
              quoteFree = false;
              break;
            }
          }
          if (quoteFree) return p;
        }
      } else if (b[r - 2] === 108 && b[r - 3] === 108 && b[r - 4] === 117 && b[r - 5] === 110) {
        const p = r - 24;
        if (p > min && isPrevKey(b, p)) return p;
      }
    }
    return lastPrevKey(b, r - 1, min);
  }

  /**
   * Reads the decimal `value` written as spansOf writes it (no sign, no leading zero) at `at` in `text`, followed
   * by the character `then`: the index after that character, or -1.
   */
  function spanNumber(text: string, at: number, value: number, then: number): number {
    let v = 0;
    let k = at;
    for (let c = text.charCodeAt(k); c >= 48 && c <= 57; c = text.charCodeAt(++k)) v = v * 10 + (c - 48);
    if (v !== value || k === at || (k - at > 1 && text.charCodeAt(at) === 48)) return -1;
    return text.charCodeAt(k) === then ? k + 1 : -1;
  }

  /**
   * Offsets of each entry's 0x00 separator in a chunk's entries blob, then the blob's length: entry i is
   * entries[bounds[i], bounds[i + 1]) and that slice is its leaf input 0x00 ‖ entry.
   */
  function entryBounds(entries: Uint8Array, expected = 0): Int32Array {
    let bounds = new Int32Array(expected + 1);
    let count = 0;
    for (let pos = 0; pos < entries.length; count++) {
      if (count + 1 >= bounds.length) {
        const grown = new Int32Array(bounds.length * 2 + 8);
        grown.set(bounds);
        bounds = grown;
      }
      bounds[count] = pos;
      const next = entries.indexOf(0, pos + 1);
      pos = next < 0 ? entries.length : next;
    }
    bounds[count] = entries.length;
    return count + 1 === bounds.length ? bounds : bounds.subarray(0, count + 1);
  }

  /** Whether `spans` is exactly spansOf(entries), read in place (no string built). */
  function spansMatch(bounds: Int32Array, spans: string): boolean {
    if (spans.charCodeAt(0) !== 91) return false;
    let sp = 1;
    for (let i = 0; i + 1 < bounds.length && sp >= 0; i++) {
      const pos = bounds[i] as number;
      if (i > 0) sp = spans.charCodeAt(sp) === 44 ? sp + 1 : -1;
      if (sp >= 0) sp = spans.charCodeAt(sp) === 91 ? spanNumber(spans, sp + 1, pos + 1, 44) : -1;
      if (sp >= 0) sp = spanNumber(spans, sp, (bounds[i + 1] as number) - pos - 1, 93);
    }
    return sp >= 0 && sp === spans.length - 1 && spans.charCodeAt(sp) === 93;
  }

  /**
   * Scratch for interior nodes: 65-byte records 0x01 ‖ left ‖ right, hashed in place through views made once
   * (no allocation per node). A level's results are written into the records of the next level, in place.
   */
  let scratch = Buffer.alloc(65 * 64, 1);
  const records: Uint8Array[] = [];
  const recordsFor = (count: number): void => {
    if (count * 65 > scratch.length) {
      scratch = Buffer.alloc(count * 65, 1);
      records.length = 0;
    }
    while (records.length < count) records.push(new Uint8Array(scratch.buffer, scratch.byteOffset + records.length * 65, 65));
  };
  /** Root of the perfect subtree over the `size` (a power of two, ≥ 2) stored hashes at byte `at` of `hashes`. */
  const perfectRoot = (hashes: Buffer, at: number, size: number): string => {
    let n = size / 2;
    recordsFor(n);
    // Level 1: each pair of leaves is 64 adjacent bytes of the hashes blob.
    for (let j = 0; j < n; j++) hashes.copy(scratch, j * 65 + 1, at + j * 64, at + j * 64 + 64);
    for (;;) {
      if (n === 1) return sha256('sha256', records[0] as Uint8Array, 'binary');
      for (let j = 0; j < n; j++)
        scratch.write(sha256('sha256', records[j] as Uint8Array, 'binary'), (j >> 1) * 65 + 1 + (j & 1) * 32, 32, 'latin1');
      n /= 2;
    }
  };
  /**
   * The leaves at tree positions [start, start + count) — the 32-byte digests in `hashes` — as maximal aligned
   * perfect subtrees, left to right: [size, root (latin1)] with each piece starting at a multiple of its size
   * (RFC 6962 interior nodes SHA-256(0x01 ‖ left ‖ right)). Appending them in order to a frontier of size
   * `start` (RawFrontier.appendSubtree) equals appending the leaves one by one.
   */
  const subtrees = (hashes: Buffer, count: number, start: number): Array<[number, string]> => {
    const pieces: Array<[number, string]> = [];
    for (let i = 0; i < count;) {
      const at = start + i;
      let size = 1;
      while (at % (size * 2) === 0 && i + size * 2 <= count) size *= 2;
      pieces.push([size, size === 1 ? hashes.toString('latin1', i * 32, i * 32 + 32) : perfectRoot(hashes, i * 32, size)]);
      i += size;
    }
    return pieces;
  };
  /**
   * Recomputes the leaf hash of each entry (SHA-256 of its 0x00 ‖ entry slice, no copy) and compares it with
   * the stored one, and hashes the stored hashes into aligned subtrees from tree position `start`.
   */
  const hashChunk = (entries: Uint8Array, bounds: Int32Array, hashes: Buffer, start: number): ChunkHashes => {
    const mismatches: Array<[number, string]> = [];
    const count = hashes.length / 32;
    const n = Math.min(bounds.length - 1, count);
    const stored = hashes.toString('latin1');
    const memory = entries.buffer;
    const base = entries.byteOffset;
    // Compared all at once (one string), entry by entry only when something differs.
    const digests: string[] = [];
    let pos = bounds[0] as number;
    for (let i = 0; i < n; i++) {
      const end = bounds[i + 1] as number;
      digests.push(sha256('sha256', new Uint8Array(memory, base + pos, end - pos), 'binary'));
      pos = end;
    }
    if (n !== count || digests.join('') !== stored) {
      for (let i = 0; i < n; i++) {
        const digest = digests[i] as string;
        if (digest !== stored.slice(i * 32, i * 32 + 32)) mismatches.push([i, Buffer.from(digest, 'latin1').toString('hex')]);
      }
    }
    return { mismatches, subtrees: subtrees(hashes, count, start) };
  };

  /**
   * The reading half of a chunk's scan: one entry per stored hash, spans, and each entry's prev_ledger_hash and
   * seq. The keys are found from the end (the last occurrence, as JSON.parse would read a duplicated key); in
   * canonical JSON an unescaped `"` only delimits strings, so a key pattern cannot occur inside a value. This is
   * much of verify's work, so it avoids allocations on the normal path. `recomputed` is left to hashMismatches.
   */
  function scanLinks(firstSeq: number, entries: Buffer, bounds: Int32Array, hashes: Buffer, spans: string | null): ChunkScan {
    const n = hashes.length / 32;
    const count = bounds.length - 1;
    const storedHex = Buffer.from(hashes.toString('hex', 0, hashes.length), 'latin1');
    const hex = new DataView(storedHex.buffer, storedHex.byteOffset, storedHex.byteLength);
    const dv = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
    const findings: Array<[number, EntryFinding]> = [];
    let firstPrev: string | null | undefined;
    const last = Math.min(count, n);
    for (let i = 0; i < last; i++) {
      const pos = bounds[i] as number;
      const end = bounds[i + 1] as number;
      let finding: EntryFinding | undefined;
      // "seq":N and "prev_ledger_hash":V, found backwards from the end of this entry.
      const q = lastSeqKey(entries, end - 6, pos);
      // For i > 0 the search also compares the value with the stored hash of the entry before (in hex).
      const p = q > pos ? prevKeyBefore(entries, dv, q, pos, hex, i > 0 ? (i - 1) * 64 : -1) : -1;
      const matched = prevMatched && p > pos;
      let seq = -1;
      if (p > pos) {
        let v = 0;
        let d = q + 6;
        for (; d < end; d++) {
          const c = entries[d] as number;
          if (c < 48 || c > 57) break;
          v = v * 10 + (c - 48);
        }
        const digits = d - q - 6;
        if (digits > 0 && digits <= 16 && Number.isSafeInteger(v)) seq = v;
      }
      const at = p + 19;
      let prevKind = 0; // 0 malformed, 1 null, 2 a 64-character string
      if (seq >= 0) {
        if (entries[at] === 0x6e && entries[at + 1] === 0x75 && entries[at + 2] === 0x6c && entries[at + 3] === 0x6c) prevKind = 1;
        else if (entries[at] === 34 && at + 65 < end && entries[at + 65] === 34) prevKind = 2;
      }
      if (prevKind === 0) {
        finding = { malformed: entries.toString('utf8', pos + 1, Math.min(end, pos + 161)).slice(0, 80) };
        if (i === 0) firstPrev = undefined;
      } else {
        if (seq !== firstSeq + i) finding = { seq };
        if (i === 0) {
          firstPrev = prevKind === 1 ? null : entries.toString('utf8', at + 1, at + 65);
        } else if (prevKind === 1) {
          finding = { ...finding, prev: null };
        } else if (!matched && !same64(dv, at + 1, hex, (i - 1) * 64)) {
          // Not the stored hash of the entry before, in lowercase hex.
          finding = { ...finding, prev: entries.toString('utf8', at + 1, at + 65) };
        }
      }
      if (finding !== undefined) findings.push([i, finding]);
    }
    const layout = count === n ? null : `${count} entries between separators but ${n} stored hashes`;
    return { count, layout, spansOk: spans !== null && spansMatch(bounds, spans), firstPrev, findings };
  }

  /** Completes a scan with its hashing half. */
  function withHashes(scan: ChunkScan, hashed: ChunkHashes): ChunkScan {
    const mismatches = hashed.mismatches;
    if (mismatches.length === 0) return { ...scan, subtrees: hashed.subtrees };
    const byIndex = new Map<number, EntryFinding>(scan.findings.map(([i, f]) => [i, { ...f }]));
    for (const [i, hex] of mismatches) byIndex.set(i, { ...byIndex.get(i), recomputed: hex });
    return { ...scan, subtrees: hashed.subtrees, findings: [...byIndex.entries()].sort((a, b) => a[0] - b[0]) };
  }

  const asBuffer = (bytes: Uint8Array): Buffer =>
    Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (firstSeq: number, entries: Uint8Array, hashes: Uint8Array, spans: string | null) => {
    const e = asBuffer(entries);
    const h = asBuffer(hashes);
    const bounds = entryBounds(e, h.length / 32);
    return { scan: scanLinks(firstSeq, e, bounds, h, spans), bounds };
  };
  const hashHalf = (entries: Uint8Array, bounds: Int32Array, hashes: Uint8Array, start: number): ChunkHashes =>
    hashChunk(entries, bounds, asBuffer(hashes), start);
  return {
    scan: (firstSeq, entries, hashes, spans) => {
      const { scan, bounds } = read(firstSeq, entries, hashes, spans);
      return withHashes(scan, hashHalf(entries, bounds, hashes, firstSeq - 1));
    },
    read,
    hash: hashHalf,
    complete: withHashes,
  };
}
