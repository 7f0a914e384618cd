/**
 * The evidence tools the CLI and the drills give the incident workflow: the evidence bundle's export and verification
 * (issue 20, src/incident/bundle), the config snapshot and the ledger verification.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateKey, verifyStore } from '../evidence/index.ts';
import { explainPolicy, resolvePolicy } from '../policy/index.ts';
import { exportBundle, verifyBundle } from './bundle/index.ts';
import type { EvidenceTools } from './workflow/index.ts';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export const evidenceTools: EvidenceTools = {
  async exportBundle({ start, end, ...o }) {
    const r = await exportBundle({
      ...o,
      ...(start === undefined ? {} : { start: new Date(start).toISOString() }),
      ...(end === undefined ? {} : { end: new Date(end).toISOString() }),
    });
    return { path: r.path, bundleHash: r.bundleHash, fileSha256: r.fileSha256, entries: r.entries };
  },
  async verifyBundle(file, o = {}) {
    const publicKey = o.publicKey?.export({ type: 'spki', format: 'pem' }).toString();
    const r = await verifyBundle(file, {
      ...(publicKey === undefined ? {} : { publicKey }),
      ...(o.home === undefined ? {} : { home: o.home }),
    });
    return { ok: r.ok, failures: r.failures };
  },
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
