/**
 * Evidence tools for incident tests. The real config snapshot and ledger verification (src/incident/evidenceTools.ts);
 * the bundle is a stand-in until the evidence bundle (issue 20) is merged: a file holding the store's alerts and
 * the SHA-256 of its text, checked by recomputing it. Assertions about what a real bundle holds are skipped with
 * NEEDS_BUNDLE.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openStore, queryAlerts } from '../../src/evidence/index.ts';
import { evidenceTools } from '../../src/incident/evidenceTools.ts';
import type { EvidenceTools } from '../../src/incident/workflow/index.ts';

export const NEEDS_BUNDLE = 'needs bundle (issue 20)';

const sha256 = (t: string | Buffer) => createHash('sha256').update(t).digest('hex');

export const standInTools: EvidenceTools = {
  ...evidenceTools,
  exportBundle(o) {
    const db = openStore(o.home, { readOnly: true });
    const alerts = queryAlerts(db, o.extension === undefined ? {} : { extension: o.extension });
    db.close();
    const body = JSON.stringify({ stand_in: true, alerts });
    writeFileSync(o.out, JSON.stringify({ body, hash: sha256(body) }));
    return Promise.resolve({ path: o.out, bundleHash: sha256(body), fileSha256: sha256(readFileSync(o.out)), entries: alerts.length });
  },
  verifyBundle(file) {
    const { body, hash } = JSON.parse(readFileSync(file, 'utf8')) as { body: string; hash: string };
    const ok = sha256(body) === hash;
    return Promise.resolve({ ok, failures: ok ? [] : [{ section: 'body', reason: 'hash_mismatch', detail: `expected ${hash}` }] });
  },
};

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A scratch folder (removed after the test file). */
export function scratch(prefix = 'pi-warden-incident-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
