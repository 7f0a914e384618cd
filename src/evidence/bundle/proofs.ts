/**
 * RFC 6962 proofs for a bundle: a multi-leaf inclusion proof (the selected entries and the subtree roots they do
 * not cover, in one depth-first walk of the tree) and consistency proofs between checkpoints (§2.1.2). The walk is
 * specified in docs/bundle-format.md, "Inclusion proof"; a filtered bundle proves its entries without the others.
 */
import { nodeHash } from '../merkle.ts';

/** RFC 6962 §2.1: k is the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The tree the exporter proves from: leaf hashes at `leaf(i)` for i ≥ `pruned`, and the pruned prefix [0, pruned)
 * only as its signed frontier (perfect subtree roots). Every subtree a proof needs over the prefix is one of those
 * roots: a subtree left of the first kept leaf that a proof reaches whole is a left sibling on that leaf's path.
 */
export interface ProvableTree {
  readonly size: number;
  readonly pruned: number;
  leaf(index: number): string;
  /** Frontier of the pruned prefix: [start, size, root]. */
  readonly prefix: ReadonlyArray<readonly [number, number, string]>;
}

/** RFC 6962 §2.1 MTH(D[a:b]). */
export function subtreeRoot(tree: ProvableTree, a: number, b: number): string {
  if (b <= tree.pruned) {
    const node = tree.prefix.find(([start, size]) => start === a && start + size === b);
    if (node === undefined) throw new Error(`subtree [${a}, ${b}) lies inside a pruned subtree: not provable`);
    return node[2];
  }
  if (b - a === 1) return tree.leaf(a);
  const k = split(b - a);
  return nodeHash(subtreeRoot(tree, a, a + k), subtreeRoot(tree, a + k, b));
}

/**
 * The nodes of a multi-leaf inclusion proof for `indices` (strictly increasing, each in [pruned, size)): walking
 * MTH(D[0:size]) depth first, left before right, a subtree holding no selected leaf contributes its root, in walk order.
 */
export function multiProof(tree: ProvableTree, indices: readonly number[]): string[] {
  const nodes: string[] = [];
  let next = 0;
  const walk = (a: number, b: number): void => {
    if (next >= indices.length || (indices[next] as number) >= b) {
      nodes.push(subtreeRoot(tree, a, b));
      return;
    }
    if (b - a === 1) {
      next++;
      return;
    }
    const k = split(b - a);
    walk(a, a + k);
    walk(a + k, b);
  };
  if (tree.size > 0) walk(0, tree.size);
  return nodes;
}

/** The root the multi-proof gives for these leaves, or a sentence saying why it gives none. */
export function rootFromMultiProof(
  size: number,
  leaves: ReadonlyArray<readonly [number, string]>,
  nodes: readonly string[],
): { root: string } | { problem: string } {
  for (let i = 0; i < leaves.length; i++) {
    const index = (leaves[i] as readonly [number, string])[0];
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      return { problem: `leaf index ${index} is outside the tree of ${size}` };
    if (i > 0 && index <= (leaves[i - 1] as readonly [number, string])[0])
      return { problem: `leaf index ${index} is not after the one before it` };
  }
  let used = 0;
  let next = 0;
  const walk = (a: number, b: number): string | undefined => {
    if (next >= leaves.length || (leaves[next] as readonly [number, string])[0] >= b) return nodes[used++];
    if (b - a === 1) return (leaves[next++] as readonly [number, string])[1];
    const k = split(b - a);
    const left = walk(a, a + k);
    const right = walk(a + k, b);
    return left === undefined || right === undefined ? undefined : nodeHash(left, right);
  };
  if (size === 0) return { problem: 'the tree is empty' };
  const root = walk(0, size);
  if (root === undefined) return { problem: `the proof has fewer nodes than the walk needs (${nodes.length})` };
  if (used !== nodes.length) return { problem: `the proof has ${nodes.length} nodes, the walk used ${used}` };
  return { root };
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]), for 0 < m ≤ n. */
export function consistencyProof(tree: ProvableTree, m: number, n: number): string[] {
  const sub = (m1: number, a: number, b: number, complete: boolean): string[] => {
    if (m1 === b - a) return complete ? [] : [subtreeRoot(tree, a, b)];
    const k = split(b - a);
    if (m1 <= k) return [...sub(m1, a, a + k, complete), subtreeRoot(tree, a + k, b)];
    return [...sub(m1 - k, a + k, b, false), subtreeRoot(tree, a, a + k)];
  };
  return sub(m, 0, n, true);
}

/** RFC 9162 §2.1.4.2: does `proof` show that the tree of size `m` with root `oldRoot` is a prefix of (`n`, `newRoot`)? */
export function consistencyHolds(m: number, n: number, oldRoot: string, newRoot: string, proof: readonly string[]): boolean {
  if (m < 1 || m > n) return false;
  if (m === n) return proof.length === 0 && oldRoot === newRoot;
  const path = (m & (m - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (fn & 1) {
    fn >>>= 1;
    sn >>>= 1;
  }
  let fr = path[0] as string;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn !== 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>>= 1;
    sn >>>= 1;
  }
  return fr === oldRoot && sr === newRoot && sn === 0;
}
