/**
 * The free memory of a booted guest, zeroed in its snapshot (issue 18 item 5). Booting leaves garbage in the heap's
 * free chunks (the runtime's 260 KB of bytecode, parser temporaries); a restore writes every page that is not zero
 * (restore.ts), so garbage costs each sandbox resident memory for bytes no one will read before overwriting them.
 *
 * quickjs-wasi's heap is wasi-libc's dlmalloc (32-bit, 16-byte alignment). A chunk at `p` is `prev_foot` (p), `head`
 * (p+4: size | CINUSE 2 | PINUSE 1), then the payload; a free chunk keeps its bin links in its first 24 bytes after
 * the head (fd, bk, and a tree chunk's child[2], parent, index) and its size in the next chunk's `prev_foot`. Only the
 * bytes past those are zeroed, and only when the walk from the runtime's chunk to the end of memory is consistent
 * from start to end; any doubt leaves the image as it is (the sandbox is then as correct and only larger).
 */

const SIZE_BITS = ~7;
const PINUSE = 1;
const CINUSE = 2;
/** prev_foot, head, fd, bk, child[0], child[1], parent, index: what a free chunk keeps before its dead bytes. */
export const LIVE_PREFIX = 32;

export interface Chunk {
  readonly at: number;
  readonly size: number;
  readonly inUse: boolean;
}

/**
 * dlmalloc's chunks from the one at `first` to the end of `image`, or undefined when they do not read as a
 * consistent heap: sizes that fit, each chunk's PINUSE matching its predecessor, each free chunk's size repeated in
 * its successor's `prev_foot` (the top chunk excepted: its successor is the fake trailing chunk dlmalloc keeps
 * at the end of its segment).
 */
export function heapChunks(image: Uint8Array, first: number): Chunk[] | undefined {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const chunks: Chunk[] = [];
  let at = first;
  while (at < image.byteLength) {
    if (at + 8 > image.byteLength) return undefined;
    const head = view.getUint32(at + 4, true);
    const size = head & SIZE_BITS;
    if (size < 16 || at + size > image.byteLength) return undefined;
    const previous = chunks.at(-1);
    if (previous !== undefined && ((head & PINUSE) !== 0) !== previous.inUse) return undefined;
    chunks.push({ at, size, inUse: (head & CINUSE) !== 0 });
    at += size;
  }
  if (at !== image.byteLength || chunks.length < 2) return undefined;
  const trailing = chunks.at(-1) as Chunk;
  const top = chunks.at(-2) as Chunk;
  if (trailing.inUse || top.inUse) return undefined;
  for (let i = 0; i < chunks.length - 2; i++) {
    const c = chunks[i] as Chunk;
    if (!c.inUse && view.getUint32(c.at + c.size, true) !== c.size) return undefined;
  }
  return chunks;
}

/** The runtime is the first thing QuickJS allocates: the walk starts at its chunk, 8 bytes before it. */
export const heapStart = (runtimePtr: number): number => runtimePtr - 8;

/**
 * Zeroes the dead bytes of every free chunk after the runtime's (whose address the snapshot records) in `image`, a
 * snapshot's own copy of the memory. Returns how many bytes were zeroed (0 when the heap did not read as dlmalloc's).
 */
export function zeroFreeChunks(image: Uint8Array, runtimePtr: number): number {
  const chunks = heapChunks(image, heapStart(runtimePtr));
  if (chunks === undefined) return 0;
  let zeroed = 0;
  // The trailing chunk is not free memory but dlmalloc's segment record.
  for (const c of chunks.slice(0, -1)) {
    if (c.inUse || c.size <= LIVE_PREFIX) continue;
    image.fill(0, c.at + LIVE_PREFIX, c.at + c.size);
    zeroed += c.size - LIVE_PREFIX;
  }
  return zeroed;
}
