/**
 * Signed checkpoints (SPEC §6.2): `{tree_size, root_hash, ts_ms, key_id}` signed with Ed25519 over a
 * domain-separated canonical text, and signed prune records that summarise a removed prefix by its Merkle
 * frontier, so a pruned ledger still verifies and an unsigned prefix removal is detected.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import { signText, verifyText, type SigningKey } from './keys.ts';
import type { Frontier } from './merkle.ts';

export interface Checkpoint {
  readonly tree_size: number;
  readonly root_hash: string;
  readonly ts_ms: number;
  readonly key_id: string;
  readonly signature: string;
}

export interface PruneRecord {
  /** Entries with seq ≤ this were removed. */
  readonly pruned_through_seq: number;
  /** ledger_hash of the last removed entry: the first kept entry's prev_ledger_hash. */
  readonly anchor_hash: string;
  /** Merkle frontier over the removed prefix (RFC 6962 subtree roots). */
  readonly frontier: { size: number; nodes: Array<[number, string]> };
  readonly ts_ms: number;
  readonly key_id: string;
  readonly signature: string;
}

const CHECKPOINT_DOMAIN = 'pi-warden.ledger.checkpoint.v1\n';
const PRUNE_DOMAIN = 'pi-warden.ledger.prune.v1\n';

export function checkpointText(c: Omit<Checkpoint, 'signature'>): string {
  return CHECKPOINT_DOMAIN + canonicalJson({ key_id: c.key_id, root_hash: c.root_hash, tree_size: c.tree_size, ts_ms: c.ts_ms });
}

export function pruneText(p: Omit<PruneRecord, 'signature'>): string {
  return (
    PRUNE_DOMAIN +
    canonicalJson({
      anchor_hash: p.anchor_hash,
      frontier: p.frontier,
      key_id: p.key_id,
      pruned_through_seq: p.pruned_through_seq,
      ts_ms: p.ts_ms,
    })
  );
}

export function signCheckpoint(key: SigningKey, frontier: Frontier, tsMs: number): Checkpoint {
  const body = { tree_size: frontier.size, root_hash: frontier.root(), ts_ms: tsMs, key_id: key.keyId };
  return { ...body, signature: signText(key, checkpointText(body)) };
}

export function signPrune(key: SigningKey, frontier: Frontier, anchorHash: string, tsMs: number): PruneRecord {
  const body = { pruned_through_seq: frontier.size, anchor_hash: anchorHash, frontier: frontier.toJSON(), ts_ms: tsMs, key_id: key.keyId };
  return { ...body, signature: signText(key, pruneText(body)) };
}

export function checkpointSignatureValid(publicKey: KeyObject, c: Checkpoint): boolean {
  return verifyText(publicKey, checkpointText(c), c.signature);
}

export function pruneSignatureValid(publicKey: KeyObject, p: PruneRecord): boolean {
  return verifyText(publicKey, pruneText(p), p.signature);
}
