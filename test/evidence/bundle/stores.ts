/**
 * Incident stores for the bundle tests, written by the real dispatcher and evidence writer: two extensions, every
 * log a bundle carries (alerts, telemetry, exec and secret logs, quota breaches, trust transitions), a signed
 * prune, and canary values planted in every field a redaction class covers.
 */
import { createDispatcher, type Operation } from '../../../src/dispatch/dispatcher.ts';
import { loadOrCreateKey, type SigningKey } from '../../../src/evidence/keys.ts';
import { EvidenceWriter } from '../../../src/evidence/writer.ts';
import { bundleHashOf, signEnvelope, statementFor, type BundleDocument } from '../../../src/evidence/bundle/index.ts';
import { compilePolicy } from '../../../src/policy/precedence.ts';
import { rulesFor } from '../../../src/policy/settings.ts';
import { TrustRegistry } from '../../../src/trust/index.ts';
import { openStore } from '../../../src/evidence/store.ts';
import { tempHome } from '../fixtures.ts';

/** Planted in the fields `--redact all` covers; none may appear in a fully redacted bundle. */
export const CANARIES = {
  context: 'CANARY-CONTEXT-summary-4e1d',
  remediation: 'CANARY-REMEDIATION-text-93b0',
  command: 'c0ffee0000000000000000000000000000000000000000000000000000c0ffee',
  name: 'face0000000000000000000000000000000000000000000000000000000dface',
} as const;

export interface IncidentStore {
  readonly home: string;
  readonly key: SigningKey;
}

/**
 * `n` decisions by ext-a and ext-b (reads allowed, execs denied by the safe profile), with a checkpoint every
 * `checkpointEvery` entries; then the first `prune` entries pruned (0: none), then the logs.
 */
export async function buildIncidentStore(
  n: number,
  o: { checkpointEvery?: number; prune?: number; home?: string } = {},
): Promise<IncidentStore> {
  const home = o.home ?? tempHome();
  const writer = await EvidenceWriter.open(home, { bursts: { burst: Number.MAX_SAFE_INTEGER }, checkpointEvery: o.checkpointEvery ?? 4 });
  const ops = new Map<string, Operation>([['fs.read', () => 'content']]);
  const d = createDispatcher({ policy: compilePolicy(rulesFor('safe', false)), operations: ops, recorder: writer, alerts: writer });
  for (let i = 0; i < n; i++) {
    await d.dispatch(
      i % 3 === 0 ? 'ext-b' : 'ext-a',
      i % 4 === 0
        ? { call_id: `c${i}`, method: 'exec', params: { cmd: 'curl', args: ['https://x'] } }
        : { call_id: `c${i}`, method: 'fs.read', params: { path: `/project/file-${i}.ts` } },
    );
    if ((i + 1) % (o.checkpointEvery ?? 4) === 0) await writer.checkpoint();
  }
  await writer.checkpoint();
  if ((o.prune ?? 0) > 0) await writer.prune(n - (o.prune ?? 0));
  const ts = Date.now();
  writer.raise({
    extension_id: 'ext-a',
    category: 'exec_mediation',
    severity: 'high',
    summary: CANARIES.context,
    reason_codes: ['exec_mediation'],
    remediation: CANARIES.remediation,
  });
  writer.recordExecEvent({
    ts_ms: ts,
    extension_id: 'ext-a',
    call_id: 'c-exec',
    command_hash: CANARIES.command,
    class: 'network',
    decision: 'deny',
    reason_codes: ['exec_mediation'],
  });
  writer.recordSecretEvent({
    ts_ms: ts,
    extension_id: 'ext-b',
    call_id: 'c-secret',
    method: 'http.fetch',
    name_hash: CANARIES.name,
    path: 'http.headers.authorization',
    encoding: 'raw',
    decision: 'deny',
  });
  writer.recordBreach({ extension_id: 'ext-b', resource: 'hostcalls_per_minute', limit: 60, actual: 75, ts_ms: ts });
  await writer.close();
  const db = openStore(home);
  try {
    new TrustRegistry(db).transition('ext-b', 'quarantine', 'bundle-test', 'quota breach during the incident');
  } finally {
    db.close();
  }
  return { home, key: loadOrCreateKey(home) };
}

/** Recomputes the bundle hash and signs it again with `key`: a tamperer holding the key, so only the targeted check is left to fail. */
export function reseal(doc: BundleDocument, key: SigningKey): BundleDocument {
  const bundleHash = bundleHashOf(doc.sections);
  const generated = (doc.sections.meta as { generated_at_ms: number }).generated_at_ms;
  return { ...doc, bundle_hash: bundleHash, envelope: signEnvelope(key, statementFor(bundleHash, generated, key.keyId)) };
}

/** Recomputes the bundle hash only: a tamperer without the key. */
export function rehash(doc: BundleDocument): BundleDocument {
  return { ...doc, bundle_hash: bundleHashOf(doc.sections) };
}
