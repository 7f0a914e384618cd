/**
 * Runbook drills (issue 21 item 4): each incident class played end to end in a scratch store. The hostile fixture
 * runs in the sandbox (the probe: real runtime, real store), the drill does what the incident needs around it
 * (tampers with the ledger for INC-3, lifts a kill unreviewed for INC-5), then the workflow runs open → close, each
 * phase timed, and every "Expected Artifacts" line of the runbook is checked against the store and the files the
 * workflow wrote. Nothing outside the scratch folder is read or written: the settings come from the scratch HOME.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { describeValue } from '../../describe.ts';
import { type LedgerEntry, openStore, parseEntry, queryAlerts, storedEntries } from '../../evidence/index.ts';
import { probeExtension } from '../../probe/index.ts';
import { TrustRegistry } from '../../trust/index.ts';
import {
  type EvidenceTools,
  INCIDENT_TITLES,
  INCIDENT_TYPES,
  IncidentWorkflow,
  type IncidentType,
  PHASE_TABLE,
  sha256File,
  type StepResult,
  type Step,
} from '../workflow/index.ts';
import { DRILL_FIXTURES } from './fixtures.ts';

export const DRILL_TYPES = INCIDENT_TYPES;

/** Why INC-4's source line is not checked by the drill: pi-warden keeps no copy of an extension's source. */
export const SOURCE_NOT_KEPT =
  "the operator's: pi-warden keeps no copy of an extension's source (the bundle's ledger holds its calls, the scan verdict its hash)";

export interface ArtifactCheck {
  /** The runbook's line, verbatim. */
  readonly artifact: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Why it was not checked, or null when it was. */
  readonly skipped: string | null;
}

export interface PhaseTiming {
  readonly phase: string;
  readonly step: Step;
  readonly sla: string;
  /** How long the step took, in ms, measured around it. */
  readonly ms: number;
  readonly ok: boolean;
}

export interface DrillReport {
  readonly type: IncidentType;
  readonly title: string;
  /** Every phase ran and every checked artifact is there (skipped lines do not count). */
  readonly ok: boolean;
  readonly error: string | null;
  readonly incident_id: string | null;
  readonly extension_id: string | null;
  /** The scratch store, when kept (`--keep`). */
  readonly store: string | null;
  /** How long the hostile fixture ran, in ms. */
  readonly fixture_ms: number;
  readonly phases: readonly PhaseTiming[];
  readonly artifacts: readonly ArtifactCheck[];
}

export interface DrillOptions {
  readonly tools: EvidenceTools;
  /** Keep the scratch folder (default: removed). */
  readonly keep?: boolean;
}

interface Scene {
  readonly home: string;
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly extensionId: string;
  readonly steps: Map<Step, StepResult>;
}

const check = (artifact: string, ok: boolean, detail: string): ArtifactCheck => ({ artifact, ok, detail, skipped: null });
const skip = (artifact: string, why: string): ArtifactCheck => ({ artifact, ok: true, detail: '', skipped: why });

/** The bundle `collect` wrote, checked against the hash it recorded, or undefined. */
function collectedBundle(s: Scene): { sections?: Record<string, unknown> } | undefined {
  const b = detailOf(s, 'collect').bundle as { path?: string; file_sha256?: string } | undefined;
  return recordedFile(b?.path, b?.file_sha256);
}

/** A section of the collected bundle with rows of the extension: a check on the runbook's line. */
function bundleRows(s: Scene, artifact: string, section: string, note?: string): ArtifactCheck {
  const doc = collectedBundle(s);
  if (doc === undefined) return check(artifact, false, 'no bundle matching its recorded hash');
  const value = doc.sections?.[section];
  const rows = (section === 'ledger' ? (value as { entries?: unknown[] } | undefined)?.entries : value) as
    Array<{ extension_id?: unknown }> | undefined;
  const mine = Array.isArray(rows) ? rows.filter((r) => r.extension_id === s.extensionId).length : 0;
  return check(
    artifact,
    mine > 0,
    `${mine} row(s) of ${s.extensionId} in the bundle's ${section} section${note === undefined ? '' : `; ${note}`}`,
  );
}

function withStore<T>(home: string, fn: (db: DatabaseSync) => T): T {
  const db = openStore(home, { readOnly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function entriesOf(db: DatabaseSync, extensionId: string): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (const row of storedEntries(db)) {
    try {
      const e = parseEntry(row.entry, row.ledger_hash);
      if (e.extension_id === extensionId) out.push(e);
    } catch {
      // an altered entry may not parse: verify reports it
    }
  }
  return out;
}

const detailOf = (s: Scene, step: Step): Record<string, unknown> => s.steps.get(step)?.detail ?? {};

/** A JSON file the workflow wrote, checked against the hash it recorded. */
function recordedFile(path: unknown, sha256: unknown): Record<string, unknown> | undefined {
  if (typeof path !== 'string' || sha256File(path) !== sha256) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** Every "Expected Artifacts" line of the runbook, per incident, as a check. */
const ARTIFACTS: Readonly<Record<IncidentType, (s: Scene) => ArtifactCheck[]>> = {
  'INC-1': (s) =>
    withStore(s.home, (db) => {
      const alerts = queryAlerts(db, { extension: s.extensionId, category: 'policy_violation' });
      const denied = entriesOf(db, s.extensionId).filter((e) => e.decision === 'deny' && e.stage === 'policy' && e.method === 'exec');
      const snap = detailOf(s, 'collect').config_snapshot as { path?: string; sha256?: string } | undefined;
      const doc = recordedFile(snap?.path, snap?.sha256) as
        { explanation?: { capabilities?: { exec?: { decision?: string } } } } | undefined;
      return [
        check('Security alert with category policy_violation', alerts.length > 0, `${alerts.length} alert(s)`),
        check(
          'Risk ledger entry showing the denied call',
          denied.length > 0,
          `${denied.length} deny entr(ies) for exec at the policy stage`,
        ),
        check(
          'Policy explanation snapshot at time of incident',
          doc?.explanation?.capabilities?.exec?.decision === 'deny',
          doc === undefined ? 'no snapshot matching its recorded hash' : `exec: ${String(doc.explanation?.capabilities?.exec?.decision)}`,
        ),
      ];
    }),
  'INC-2': (s) =>
    withStore(s.home, (db) => {
      const rows = db.prepare('SELECT name_hash FROM secret_broker_log WHERE extension_id = ?').all(s.extensionId) as Array<{
        name_hash: string;
      }>;
      const hashed = rows.filter((r) => /^[0-9a-f]{16,}$/.test(r.name_hash) && !r.name_hash.includes('OPENAI'));
      const alerts = queryAlerts(db, { extension: s.extensionId, category: 'secret_exposure' });
      return [
        check(
          'Secret broker ledger entry with name_hash of the exposed variable',
          hashed.length > 0,
          `${hashed.length} secret broker entr(ies), names hashed`,
        ),
        check('Alert with category secret_exposure', alerts.length > 0, `${alerts.length} alert(s)`),
        bundleRows(s, 'Incident evidence bundle with secret_broker section populated', 'secret_broker_log'),
      ];
    }),
  'INC-3': (s) => {
    const v = detailOf(s, 'verify').ledger as { report?: string; report_sha256?: string } | undefined;
    const report = recordedFile(v?.report, v?.report_sha256) as
      { chain_valid?: boolean; verification_errors?: Array<{ seq: number; kind: string }> } | undefined;
    const errors = report?.verification_errors ?? [];
    return [
      check(
        'RuntimeRiskLedgerVerificationReport with chain_valid: false',
        report?.chain_valid === false,
        report === undefined ? 'no report matching its recorded hash' : `chain_valid: ${String(report.chain_valid)}`,
      ),
      check(
        'Specific verification_errors listing broken entries',
        errors.length > 0,
        errors
          .slice(0, 3)
          .map((e) => `seq ${e.seq}: ${e.kind}`)
          .join('; '),
      ),
      bundleRows(s, 'Evidence bundle with risk_ledger section', 'ledger'),
    ];
  },
  'INC-4': (s) =>
    withStore(s.home, (db) => {
      const bypass = queryAlerts(db, { extension: s.extensionId, category: 'scanner_bypass' });
      const executed = entriesOf(db, s.extensionId).filter((e) => e.method === 'exec' && e.stage !== 'operator');
      return [
        check('Scanner results for the extension (compat ledger)', bypass.length > 0, bypass[0]?.summary ?? 'no scanner_bypass alert'),
        skip('The extension source code', SOURCE_NOT_KEPT),
        check('Evidence of what the extension actually executed', executed.length > 0, `${executed.length} exec entr(ies) in the ledger`),
      ];
    }),
  'INC-5': (s) =>
    withStore(s.home, (db) => {
      const history = new TrustRegistry(db).history(s.extensionId);
      const alerts = queryAlerts(db, { extension: s.extensionId });
      const kills = alerts.filter((a) => a.reason_codes.includes('kill_switch'));
      const lifts = alerts.filter((a) => a.reason_codes.includes('kill_switch_lifted'));
      return [
        check(
          'Trust state transition history',
          history.some((h) => h.kind === 'kill') && history.some((h) => h.kind === 'lift'),
          history.map((h) => `${h.from_state}→${h.to_state} (${h.kind} by ${h.actor})`).join(', '),
        ),
        check(
          'Kill-switch activation/deactivation events',
          kills.length > 0 && lifts.length > 0,
          `${kills.length} kill, ${lifts.length} lift`,
        ),
        check(
          "Security alerts with the quarantined extension's ID",
          alerts.some((a) => a.category === 'quarantine'),
          `${alerts.length} alert(s) for ${s.extensionId}`,
        ),
      ];
    }),
  'INC-6': (s) =>
    withStore(s.home, (db) => {
      const breaches = db.prepare('SELECT COUNT(*) AS n FROM quota_breaches WHERE extension_id = ?').get(s.extensionId) as { n: number };
      const telemetry = db.prepare('SELECT COUNT(*) AS n FROM telemetry WHERE extension_id = ?').get(s.extensionId) as { n: number };
      const alerts = queryAlerts(db, { extension: s.extensionId, category: 'quota_breach' });
      return [
        bundleRows(s, 'Quota breach events in incident evidence bundle', 'quota_breaches', `${breaches.n} breach event(s) in the store`),
        check('Memory/resource usage telemetry', telemetry.n > 0, `${telemetry.n} telemetry row(s)`),
        check('Alert with category quota_breach', alerts.length > 0, `${alerts.length} alert(s)`),
      ];
    }),
};

/** INC-3: alters one recorded exec entry of the extension in place, the same length, as an attacker would. */
function tamper(home: string): void {
  const db = openStore(home);
  try {
    db.prepare(
      `UPDATE ledger_chunks SET entries = CAST(replace(CAST(entries AS TEXT), '"method":"exec"', '"method":"exed"') AS BLOB)
       WHERE id = (SELECT MIN(id) FROM ledger_chunks WHERE instr(CAST(entries AS TEXT), '"method":"exec"') > 0)`,
    ).run();
  } finally {
    db.close();
  }
}

/** INC-5: a kill, then a lift by an unattended script, before the extension runs again. */
function escapeQuarantine(home: string, extensionId: string): void {
  const db = openStore(home);
  try {
    const trust = new TrustRegistry(db);
    trust.transition(extensionId, 'kill', 'risk-controller', 'three unsafe decisions');
    trust.transition(extensionId, 'lift', 'nightly-script', 'auto-resume');
  } finally {
    db.close();
  }
}

async function step(s: Scene, wf: IncidentWorkflow, id: string, name: Step, phases: PhaseTiming[], type: IncidentType): Promise<void> {
  const t = performance.now();
  let r: StepResult | undefined;
  try {
    if (name === 'remediate') r = await wf.remediate(id, DRILL_FIXTURES[type].remediation);
    else if (name !== 'open') r = await wf[name](id);
  } finally {
    const spec = PHASE_TABLE.find((p) => p.step === name);
    const breached = r?.incident.phases.find((p) => p.step === name)?.breached ?? true;
    phases.push({
      phase: spec?.phase ?? name,
      step: name,
      sla: spec?.slaText ?? '',
      ms: Math.round(performance.now() - t),
      ok: r !== undefined && !breached,
    });
  }
  if (r !== undefined) s.steps.set(name, r);
}

export async function runDrill(type: IncidentType, o: DrillOptions): Promise<DrillReport> {
  const root = mkdtempSync(join(tmpdir(), `pi-warden-drill-${type}-`));
  const home = join(root, 'warden');
  const cwd = join(root, 'project');
  const agent = join(root, 'agent');
  mkdirSync(cwd);
  mkdirSync(agent);
  const fixture = DRILL_FIXTURES[type];
  writeFileSync(join(agent, 'settings.json'), JSON.stringify(fixture.settings));
  const env = { HOME: root, PI_CODING_AGENT_DIR: agent };
  const file = join(root, `hostile-${type.toLowerCase()}.js`);
  writeFileSync(file, fixture.source);
  const phases: PhaseTiming[] = [];
  let artifacts: ArtifactCheck[] = [];
  let error: string | null = null;
  let incidentId: string | null = null;
  let extensionId: string | null = null;
  const t0 = performance.now();
  let fixtureMs = 0;
  try {
    const play = () => probeExtension({ path: file, cwd, env, home });
    const first = await play();
    extensionId = first.extensions[0]?.extensionId ?? null;
    if (extensionId === null || first.extensions[0]?.loaded !== true)
      throw new Error(`the hostile fixture did not load: ${String(first.extensions[0]?.loadError)}`);
    if (type === 'INC-3') tamper(home);
    if (type === 'INC-5') {
      escapeQuarantine(home, extensionId);
      await play();
    }
    fixtureMs = Math.round(performance.now() - t0);
    const wf = new IncidentWorkflow({ home, tools: o.tools, actor: 'drill', cwd, env });
    const scene: Scene = { home, cwd, env, extensionId, steps: new Map() };
    const t = performance.now();
    const opened = await wf.open({ type, extension: extensionId, summary: `drill: ${INCIDENT_TITLES[type]}` });
    incidentId = opened.incident.id;
    scene.steps.set('open', opened);
    phases.push({ phase: 'detect', step: 'open', sla: 'Automatic', ms: Math.round(performance.now() - t), ok: true });
    for (const name of ['contain', 'collect', 'verify', 'analyze', 'remediate', 'close'] as const)
      await step(scene, wf, incidentId, name, phases, type);
    artifacts = ARTIFACTS[type](scene);
  } catch (err) {
    error = describeValue(err);
  } finally {
    if (o.keep !== true) rmSync(root, { recursive: true, force: true });
  }
  return {
    type,
    title: INCIDENT_TITLES[type],
    ok: error === null && phases.every((p) => p.ok) && artifacts.length > 0 && artifacts.every((a) => a.ok),
    error,
    incident_id: incidentId,
    extension_id: extensionId,
    store: o.keep === true ? home : null,
    fixture_ms: fixtureMs,
    phases,
    artifacts,
  };
}

/** One after the other: each drill has its own scratch store. */
export async function runDrills(types: readonly IncidentType[], o: DrillOptions): Promise<DrillReport[]> {
  const out: DrillReport[] = [];
  for (const t of types) out.push(await runDrill(t, o));
  return out;
}
