/** The bundle's RFC 6962 proofs against the recursive definition (merkle.ts's merkleRoot), with and without a pruned prefix. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Frontier, leafHash, merkleRoot } from '../../../src/evidence/merkle.ts';
import {
  consistencyHolds,
  consistencyProof,
  multiProof,
  rootFromMultiProof,
  type ProvableTree,
} from '../../../src/evidence/bundle/proofs.ts';

const leaves = (n: number): string[] => Array.from({ length: n }, (_, i) => leafHash(`entry ${i}`));

/** A tree whose first `pruned` leaves are known only by their frontier, as after a prune. */
function tree(all: string[], pruned: number): ProvableTree {
  const f = new Frontier();
  for (const l of all.slice(0, pruned)) f.append(l);
  let start = 0;
  const prefix = f.nodes.map(([s, h]) => {
    const n: [number, number, string] = [start, s, h];
    start += s;
    return n;
  });
  return {
    size: all.length,
    pruned,
    prefix,
    leaf: (i) => {
      if (i < pruned) throw new Error(`leaf ${i} is pruned`);
      return all[i] as string;
    },
  };
}

/** Deterministic subsets: every index whose bit in `mask` (cycled) is set. */
const subset = (lo: number, hi: number, mask: number): number[] => {
  const out: number[] = [];
  for (let i = lo; i < hi; i++) if ((mask >> (i % 13)) & 1) out.push(i);
  return out;
};

describe('bundle proofs', () => {
  it('a multi-leaf proof of any subset gives the RFC 6962 root, also over a pruned prefix', () => {
    for (let n = 1; n <= 40; n++) {
      const all = leaves(n);
      const root = merkleRoot(all);
      for (const pruned of [0, 1, Math.floor(n / 2), n - 1]) {
        for (const mask of [1, 5, 0x1fff, 0x0a5a, 0x1000]) {
          const picked = subset(pruned, n, mask);
          const t = tree(all, pruned);
          const proof = multiProof(t, picked);
          const r = rootFromMultiProof(
            n,
            picked.map((i) => [i, all[i] as string]),
            proof,
          );
          assert.deepEqual(r, { root }, `n=${n} pruned=${pruned} picked=${picked.join(',')}`);
        }
      }
    }
  });

  it('a multi-leaf proof fails for a changed leaf, a missing leaf, a changed node, or an extra node', () => {
    const all = leaves(21);
    const t = tree(all, 0);
    const picked = [2, 3, 9, 17];
    const proof = multiProof(t, picked);
    const ls = picked.map((i) => [i, all[i] as string] as [number, string]);
    const root = merkleRoot(all);
    const bad = (r: ReturnType<typeof rootFromMultiProof>) => !('root' in r) || r.root !== root;
    assert.ok(
      bad(
        rootFromMultiProof(
          21,
          ls.map(([i, h], k) => [i, k === 1 ? (all[0] as string) : h]),
          proof,
        ),
      ),
    );
    assert.ok(bad(rootFromMultiProof(21, ls.slice(1), proof)));
    assert.ok(bad(rootFromMultiProof(21, ls, [leafHash('x'), ...proof.slice(1)])));
    assert.ok(bad(rootFromMultiProof(21, ls, [...proof, leafHash('x')])));
    assert.ok(bad(rootFromMultiProof(21, [ls[1] as [number, string], ls[0] as [number, string], ...ls.slice(2)], proof)));
  });

  it('consistency proofs hold for every 1 ≤ m ≤ n ≤ 33 and fail for a wrong old root', () => {
    for (let n = 1; n <= 33; n++) {
      const all = leaves(n);
      for (let m = 1; m <= n; m++) {
        const p = consistencyProof(tree(all, 0), m, n);
        const old = merkleRoot(all.slice(0, m));
        assert.ok(consistencyHolds(m, n, old, merkleRoot(all), p), `m=${m} n=${n}`);
        if (m < n) assert.ok(!consistencyHolds(m, n, leafHash('other'), merkleRoot(all), p), `m=${m} n=${n} wrong old root`);
      }
    }
  });
});
