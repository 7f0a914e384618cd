/**
 * The evidence tools the CLI gives the incident workflow. This build has no evidence bundle yet (issue 20): the
 * config snapshot and the ledger verification are real, the bundle export and verification refuse with a clear
 * error, so `incident collect` fails closed instead of recording a bundle that does not exist. The bundle's
 * merge replaces this one module.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../errors.ts';
import { loadOrCreateKey, verifyStore } from '../evidence/index.ts';
import { explainPolicy, resolvePolicy } from '../policy/index.ts';
import type { EvidenceTools } from './workflow/index.ts';

const unavailable = (what: string): WardenError =>
  new WardenError('internal', `bundle ${what} not available in this build: expected the evidence bundle (issue 20), found none`);

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export const evidenceTools: EvidenceTools = {
  exportBundle: () => Promise.reject(unavailable('export')),
  verifyBundle: () => Promise.reject(unavailable('verification')),
  snapshotConfig({ out, extension, cwd, env }) {
    const resolved = resolvePolicy({ cwd: cwd ?? process.cwd(), ...(env === undefined ? {} : { env }) });
    const snapshot = {
      schema: 'pi-warden.config_snapshot.v1',
      taken_at: new Date().toISOString(),
      extension_id: extension ?? null,
      // The settings files as they were: path, whether loaded, and the SHA-256 of their bytes (not their text).
      sources: resolved.sources.map((s) => ({
        ...s,
        sha256: s.status !== 'absent' && existsSync(s.path) ? sha256(readFileSync(s.path)) : null,
      })),
      errors: resolved.errors.map((e) => e.message),
      explanation: explainPolicy(resolved, extension),
    };
    const path = join(out, 'config-snapshot.json');
    const text = `${JSON.stringify(snapshot, null, 2)}\n`;
    writeFileSync(path, text, { mode: 0o600 });
    return { path, sha256: sha256(text) };
  },
  verifyLedger(home) {
    return verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey });
  },
};
