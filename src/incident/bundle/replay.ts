/**
 * Replay of a bundle's own entries under the policy snapshots it carries: what an investigator runs on a bundle
 * (after `bundle verify`) without the store. Redaction does not change the result: replay reads decisions, stages,
 * capabilities, reason codes and config hashes, never the params hashes the commitments replace.
 */
import { canonicalJson, type LedgerEntry } from '../../evidence/index.ts';
import type { BundleEntry } from '../../evidence/index.ts';
import { replayEntries, type EntriesReplay } from '../../replay/index.ts';

export function replayBundleText(text: string): EntriesReplay {
  const doc = JSON.parse(text) as {
    sections: { ledger: { entries: BundleEntry[] }; policy: { snapshots: Record<string, { config: unknown }> } };
  };
  const snapshots = doc.sections.policy.snapshots;
  return replayEntries(doc.sections.ledger.entries as unknown as LedgerEntry[], (h) =>
    Object.hasOwn(snapshots, h) ? canonicalJson((snapshots[h] as { config: unknown }).config) : undefined,
  );
}
