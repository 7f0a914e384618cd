/**
 * The copies of a result the inbound scan reads besides its text (issue 16 item 3): a value stored as UTF-16
 * (Windows tools, PowerShell redirection) or compressed as a whole (a git loose object is one zlib stream, a `.tgz`
 * one gzip stream around a tar) is decoded here as cheaply as the extension could decode it.
 *
 * - UTF-16, LE or BE, with or without a byte order mark: bytes with a NUL in them (every ASCII character of
 *   UTF-16 text has one) are also read as UTF-16LE from offset 0 and from offset 1, which covers both byte orders
 *   at both alignments.
 * - zlib (RFC 1950 header `78 01|5E|9C|DA`) and gzip (`1F 8B 08`, every member) at the start of a file read as
 *   bytes: inflated, and the output read again (one more level: a gzip inside a gzip), with at most
 *   `INFLATE_CAP` bytes of output for the whole result. The cap bounds memory and time (inflating is linear in
 *   its output; a broken stream costs at most 16 more bounded attempts). A stream that would inflate past it
 *   cannot be checked: the caller withholds it (fail closed) rather than pass what the extension could still
 *   inflate itself. A broken stream is read up to the break, as far as an inflater gets.
 *
 * Not decoded: compressed data that starts elsewhere (git packs, zip members, which are raw deflate), pack deltas,
 * other compressions (bzip2, xz, zstd, brotli), UTF-32, and bytes that came back as text (command output): README,
 * "Limits of the value scan".
 */
import { constants, gunzipSync, inflateSync } from 'node:zlib';

/** At most this many inflated bytes are read for one result. */
export const INFLATE_CAP = 8 * 1024 * 1024;

/** A decoded copy: how it was decoded (`utf16`, `zlib`, `gzip`, `gzip+utf16`, ...) and its text. */
export type ResultCopy = readonly [how: string, text: string];

/** zlib (RFC 1950 §2.2: deflate with a 32 KiB window, no preset dictionary, header checksum) or gzip (RFC 1952 §2.3.1). */
export function compression(bytes: Buffer): 'zlib' | 'gzip' | undefined {
  if (bytes.length < 3) return undefined;
  const [a, b, c] = [bytes[0] as number, bytes[1] as number, bytes[2] as number];
  if (a === 0x1f && b === 0x8b && c === 0x08) return 'gzip';
  if (a === 0x78 && (b & 0x20) === 0 && ((a << 8) | b) % 31 === 0) return 'zlib';
  return undefined;
}

/**
 * The decoded copies of `bytes`, or why they cannot be had (a stream over the cap). `text` says the bytes
 * came back as text (their compressed form, if any, was lost in decoding): they are not inflated.
 */
export function resultCopies(bytes: Buffer, options: { readonly text: boolean }): { copies: ResultCopy[] } | { uncheckable: string } {
  const copies: ResultCopy[] = [];
  const problem = decode(bytes, options.text, { left: INFLATE_CAP }, 0, '', copies);
  return problem === undefined ? { copies } : { uncheckable: problem };
}

function decode(
  bytes: Buffer,
  text: boolean,
  budget: { left: number },
  depth: number,
  prefix: string,
  out: ResultCopy[],
): string | undefined {
  const bom = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  if (bom || bytes.includes(0)) out.push([`${prefix}utf16`, utf16(bytes)], [`${prefix}utf16`, utf16(bytes.subarray(1))]);
  const kind = text || depth >= 2 ? undefined : compression(bytes);
  if (kind === undefined) return undefined;
  const inflated = inflateLeniently(kind, bytes, budget.left);
  if (inflated === undefined) return `its ${prefix}${kind} stream inflates past ${INFLATE_CAP} bytes`;
  budget.left -= inflated.length;
  out.push([`${prefix}${kind}`, inflated.toString('utf8')]);
  return decode(inflated, false, budget, depth + 1, `${prefix}${kind}+`, out);
}

/**
 * UTF-16LE text of the bytes, the odd last byte left out as `toString` leaves it out. Never `toString('utf16le')` on an
 * odd-length view at an odd offset: Node 24.21 corrupts its heap there (a few dozen 64 KiB socket reads abort the
 * process with "double free or corruption"); an even length is decoded alike and safely.
 */
function utf16(bytes: Buffer): string {
  return bytes.subarray(0, bytes.length & ~1).toString('utf16le');
}

/** Steps of the search for the longest prefix of a broken stream that inflates. */
const PREFIX_SEARCH_STEPS = 16;

/**
 * What `bytes` inflate to, as a streaming inflater in the extension would get it: a truncated stream gives what it
 * holds (Z_SYNC_FLUSH), a stream broken part-way (trailing garbage, a damaged block) what comes before the break,
 * found by bisecting on the input's length. Undefined when the output would pass `cap`.
 */
function inflateLeniently(kind: 'zlib' | 'gzip', bytes: Buffer, cap: number): Buffer | undefined {
  const inflate = (input: Buffer): Buffer | 'over_cap' | 'broken' => {
    try {
      const o = { maxOutputLength: Math.max(1, cap), finishFlush: constants.Z_SYNC_FLUSH };
      return kind === 'gzip' ? gunzipSync(input, o) : inflateSync(input, o);
    } catch (e) {
      return (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' ? 'over_cap' : 'broken';
    }
  };
  const whole = inflate(bytes);
  if (whole === 'over_cap') return undefined;
  if (whole !== 'broken') return whole;
  let best: Buffer = Buffer.alloc(0);
  let [lo, hi] = [0, bytes.length];
  for (let i = 0; i < PREFIX_SEARCH_STEPS && hi - lo > 1; i++) {
    const mid = (lo + hi) >>> 1;
    const r = inflate(bytes.subarray(0, mid));
    if (r === 'over_cap') return undefined;
    if (r === 'broken') hi = mid;
    else [best, lo] = [r, mid];
  }
  return best;
}
