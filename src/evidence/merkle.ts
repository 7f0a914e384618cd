/**
 * RFC 6962 §2.1 Merkle tree hashing. Leaves are ledger entries: an entry's `ledger_hash` is its leaf hash
 * SHA-256(0x00 ‖ canonical entry), so the tree is built from the stored ledger hashes directly.
 */
import { hash } from 'node:crypto';

/** RFC 6962 §2.1: MTH of one entry = SHA-256(0x00 ‖ d). U+0000 is the single byte 0x00 in UTF-8. */
export function leafHash(canonicalEntry: string): string {
  return hash('sha256', `\u0000${canonicalEntry}`, 'hex');
}

/** RFC 6962 §2.1: interior node = SHA-256(0x01 ‖ left ‖ right), over one reused 65-byte buffer. */
export function nodeHash(leftHex: string, rightHex: string): string {
  NODE_INPUT.write(leftHex, 1, 32, 'hex');
  NODE_INPUT.write(rightHex, 33, 32, 'hex');
  return hash('sha256', NODE_INPUT, 'hex');
}
const NODE_INPUT = Buffer.alloc(65, 1);

/** SHA-256 of the empty string: the RFC 6962 hash of an empty tree. */
export const EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The right edge of the tree as perfect-subtree roots, largest first (a "compact range"): append is amortised
 * O(1) node hashes, the root at the current size is O(log n). Serialisable, so a pruned prefix can be summarised.
 */
export class Frontier {
  /** [subtree size (a power of two), root hex] from left to right, strictly decreasing sizes. */
  readonly nodes: Array<[number, string]>;
  size: number;

  constructor(size = 0, nodes: Array<[number, string]> = []) {
    this.size = size;
    this.nodes = nodes;
  }

  append(leafHex: string): void {
    let node: [number, string] = [1, leafHex];
    while (this.nodes.length > 0 && (this.nodes[this.nodes.length - 1] as [number, string])[0] === node[0]) {
      const left = this.nodes.pop() as [number, string];
      node = [left[0] * 2, nodeHash(left[1], node[1])];
    }
    this.nodes.push(node);
    this.size++;
  }

  /** RFC 6962 MTH of the leaves appended so far: fold the subtree roots right to left. */
  root(): string {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let acc = (this.nodes[this.nodes.length - 1] as [number, string])[1];
    for (let i = this.nodes.length - 2; i >= 0; i--) acc = nodeHash((this.nodes[i] as [number, string])[1], acc);
    return acc;
  }

  clone(): Frontier {
    return new Frontier(
      this.size,
      this.nodes.map(([s, h]) => [s, h]),
    );
  }

  toJSON(): { size: number; nodes: Array<[number, string]> } {
    return { size: this.size, nodes: this.nodes };
  }

  static fromJSON(value: unknown): Frontier {
    const v = value as { size?: unknown; nodes?: unknown };
    if (typeof v?.size !== 'number' || !Array.isArray(v.nodes)) throw new Error('malformed frontier');
    const nodes = v.nodes.map((n: unknown) => {
      if (!Array.isArray(n) || typeof n[0] !== 'number' || typeof n[1] !== 'string' || !/^[0-9a-f]{64}$/.test(n[1]))
        throw new Error('malformed frontier node');
      return [n[0], n[1]] as [number, string];
    });
    if (nodes.reduce((a, [s]) => a + s, 0) !== v.size) throw new Error('frontier sizes do not add up');
    return new Frontier(v.size, nodes);
  }
}

/**
 * The same compact range as Frontier, over raw 32-byte digests held as latin1 strings: what verify appends a
 * few hundred thousand times, so no hex conversions on the way (same merge rule as Frontier.append).
 */
export class RawFrontier {
  readonly #sizes: number[] = [];
  readonly #nodes: string[] = [];
  size = 0;

  static from(f: Frontier): RawFrontier {
    const r = new RawFrontier();
    for (const [s, h] of f.nodes) {
      r.#sizes.push(s);
      r.#nodes.push(Buffer.from(h, 'hex').toString('latin1'));
    }
    r.size = f.size;
    return r;
  }

  /** Appends a leaf given as its 32-byte digest (a latin1 string of 32 characters). */
  append(leaf: string): void {
    this.appendSubtree(1, leaf);
  }

  /**
   * Appends the root of a perfect subtree of `size` leaves (a power of two) that starts at this.size, which
   * must be a multiple of `size` (chunkScan.ts gives such pieces): the same as appending its leaves.
   */
  appendSubtree(size: number, root: string): void {
    let node = root;
    let s = size;
    const sizes = this.#sizes;
    const nodes = this.#nodes;
    while (sizes.length > 0 && sizes[sizes.length - 1] === s) {
      sizes.pop();
      RAW_INPUT.write(nodes.pop() as string, 1, 32, 'latin1');
      RAW_INPUT.write(node, 33, 32, 'latin1');
      node = hash('sha256', RAW_INPUT, 'binary');
      s *= 2;
    }
    sizes.push(s);
    nodes.push(node);
    this.size += size;
  }

  /** RFC 6962 MTH of the leaves so far, hex. */
  root(): string {
    const nodes = this.#nodes;
    if (nodes.length === 0) return EMPTY_ROOT;
    let acc = nodes[nodes.length - 1] as string;
    for (let i = nodes.length - 2; i >= 0; i--) {
      RAW_INPUT.write(nodes[i] as string, 1, 32, 'latin1');
      RAW_INPUT.write(acc, 33, 32, 'latin1');
      acc = hash('sha256', RAW_INPUT, 'binary');
    }
    return Buffer.from(acc, 'latin1').toString('hex');
  }
}
const RAW_INPUT = Buffer.alloc(65, 1);

/** Reference MTH straight from RFC 6962 §2.1's recursive definition (tests compare Frontier against it). */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as string;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}
