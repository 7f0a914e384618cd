/**
 * Assembles the pipeline the way pi-warden runs it: evidence writer (ledger, alerts, telemetry, breaches),
 * trust gate, risk controller (when enabled), quotas, mediation (src/mediation/index.ts), one prompt broker, and
 * the dispatcher, all over one store. The sandbox
 * and the pi bridge call `dispatch`; the CLI reads the same store.
 */
import type { DatabaseSync } from 'node:sqlite';
import {
  combineRecorders,
  createDispatcher,
  createPromptBroker,
  DEFAULT_HOST_BYTES,
  type Dispatcher,
  HostBytes,
  type Prompter,
  type Stage,
} from '../dispatch/index.ts';
import {
  type AlertSink,
  type BreachSink,
  type DecisionRecord,
  type DecisionRecorder,
  EvidenceWriter,
  type EvidenceWriterOptions,
  loadOrCreateKey,
  openStore,
} from '../evidence/index.ts';
import { FleetExporter, type FleetExporterOptions, resolveOtlpConfig } from '../export/index.ts';
import { createMediation, type FsScope, type MediationOptions } from '../mediation/index.ts';
import { assertLoadAllowed, hostListMatcher, type ResolvedPolicy } from '../policy/index.ts';
import { COOLDOWN_CALLS, DE_ESCALATION_MARGIN, RiskController } from '../risk/controller.ts';
import { RolloutMonitor, automaticRollbackTarget, readRollout, setRollout, type RolloutPhase } from '../risk/rollout.ts';
import { createRiskStage } from '../risk/stage.ts';
import { type ExtensionReport, scannerBypassCheck } from '../scanner/index.ts';
import { createQuotaStage, createTrustGate, quotaLookup, TrustRegistry } from '../trust/index.ts';
import { quarantiningBreaches } from './budgets.ts';

/** What the runtime passes through to mediation unchanged (documented on MediationOptions). */
type MediationSetup = Pick<
  MediationOptions,
  | 'operations'
  | 'heldSecrets'
  | 'parentEnv'
  | 'workspace'
  | 'osConfined'
  | 'fsLayout'
  | 'fsEnv'
  | 'extensionRoots'
  | 'authFile'
  | 'realHttp'
  | 'realFs'
  | 'piTools'
>;

export interface RuntimeOptions extends MediationSetup {
  readonly home: string;
  readonly policy: ResolvedPolicy;
  readonly prompter?: Prompter;
  /** Stops an extension's sandbox when it is quarantined (idempotent). */
  readonly onQuarantined?: (extensionId: string) => void;
  readonly writer?: EvidenceWriterOptions;
  /** Extra stages for their slots; one named `mediation` replaces the one createMediation builds. */
  readonly stages?: readonly Stage[];
  /** Install-time scan reports by extension id: a hostcall needing a capability its scan did not find raises scanner_bypass. */
  readonly scans?: ReadonlyMap<string, ExtensionReport>;
  /** More recorders that see every decision after the evidence writer (e.g. a probe's summary). */
  readonly recorders?: readonly DecisionRecorder[];
  readonly operationTimeoutMs?: number;
  /** Bytes the host may hold for one extension (response bodies in flight); default 64 MiB. Over it: quarantined. */
  readonly hostBytesPerExtension?: number;
  /** Fleet export timing (tests); where it sends comes from the user settings and OTEL_EXPORTER_OTLP_* (src/export). */
  readonly fleetExport?: Pick<FleetExporterOptions, 'pollMs' | 'retryMinMs' | 'retryMaxMs' | 'summaryEveryMs' | 'requestTimeoutMs'>;
}

/** scanner_bypass alerts (issue 8 item 6), at most one per extension and capability per process. */
function scanObserver(scans: ReadonlyMap<string, ExtensionReport>, alerts: AlertSink): DecisionRecorder {
  const raised = new Set<string>();
  return {
    record(r: DecisionRecord): void {
      const report = scans.get(r.extension_id);
      if (report === undefined || r.capability === null) return;
      const key = `${r.extension_id}\u0000${r.capability}`;
      if (raised.has(key)) return;
      const alert = scannerBypassCheck(report, r.capability, r.method);
      if (alert === undefined) return;
      raised.add(key);
      alerts.raise({ ...alert, extension_id: r.extension_id, ts_ms: r.ts_ms, call_id: r.call_id });
    },
  };
}

export interface WardenRuntime {
  readonly dispatcher: Dispatcher;
  readonly writer: EvidenceWriter;
  readonly trust: TrustRegistry;
  /** Where sandboxes report breaches: recorded, and an extension over a quarantining budget is quarantined. */
  readonly breaches: BreachSink;
  /** Bytes held per extension now and at peak (response bodies in flight). */
  readonly hostBytes: HostBytes;
  readonly fsScope: FsScope;
  /** Non-fatal set-up problems (e.g. an unreadable auth.json whose credentials are therefore not held). */
  readonly warnings: readonly string[];
  /** The rollout phase in force (re-read from the store at most once a second). */
  phase(): RolloutPhase;
  close(): Promise<void>;
}

export async function createRuntime(o: RuntimeOptions): Promise<WardenRuntime> {
  // Before the store opens: a runtime exists to run extensions, and none may run under invalid user settings.
  assertLoadAllowed(o.policy);
  const writer = await EvidenceWriter.open(o.home, o.writer);
  let db: DatabaseSync;
  try {
    db = openStore(o.home);
  } catch (err) {
    await writer.close();
    throw err;
  }
  const exportWarnings: string[] = [];
  let fleet: FleetExporter | undefined;
  try {
    const config = resolveOtlpConfig(o.policy.export);
    if (config !== undefined)
      fleet = await FleetExporter.start({
        home: o.home,
        config,
        resource: { 'pi_warden.store.key_id': loadOrCreateKey(o.home).keyId },
        ...o.fleetExport,
      });
  } catch (err) {
    // Export is reporting, not a decision: extensions still run, and the operator is told why nothing leaves.
    exportWarnings.push(`fleet export is off: ${(err as Error).message}`);
  }
  const trust = new TrustRegistry(db);
  const gate = createTrustGate(trust, o.onQuarantined);
  // Quarantined over a budget: its operations in flight are aborted and its sandboxes stopped (the dispatcher is
  // built below; a breach can only come once it exists).
  const built: { dispatcher?: Dispatcher } = {};
  const breaches = quarantiningBreaches(writer, trust, (id) => {
    built.dispatcher?.abortExtension(id);
    o.onQuarantined?.(id);
  });
  // Over its store budget (evidence bytes per hour), an extension is quarantined like over any other budget.
  writer.onStoreBudget = (b) => breaches.recordBreach(b);
  const hostBytes = new HostBytes(o.hostBytesPerExtension ?? DEFAULT_HOST_BYTES, breaches);
  const risk = o.policy.risk;
  let phaseCache: { phase: RolloutPhase; at: number } = { phase: readRollout(db).phase, at: Date.now() };
  const phase = (): RolloutPhase => {
    const now = Date.now();
    if (now - phaseCache.at > 1000) phaseCache = { phase: readRollout(db).phase, at: now };
    return phaseCache.phase;
  };
  // One broker for the policy stage and exec mediation: one session memory, one question per identical prompt.
  const prompts = createPromptBroker({ prompter: o.prompter });
  const quota = quotaLookup(o.policy.quota, o.policy.overrideQuotas);
  const stages: Stage[] = [gate.stage, createQuotaStage(quota, writer), ...(o.stages ?? [])];
  const salt =
    (db.prepare("SELECT value FROM store_meta WHERE key = 'name_hash_salt'").get() as { value: string } | undefined)?.value ?? '';
  const mediation = createMediation({
    policy: o.policy,
    wardenHome: o.home,
    sinks: writer,
    nameHashSalt: salt,
    operations: o.operations,
    prompts,
    withStage: !stages.some((s) => s.name === 'mediation'),
    heldSecrets: o.heldSecrets,
    parentEnv: o.parentEnv,
    workspace: o.workspace,
    osConfined: o.osConfined,
    fsLayout: o.fsLayout,
    fsEnv: o.fsEnv,
    extensionRoots: o.extensionRoots,
    authFile: o.authFile,
    realHttp: o.realHttp,
    realFs: o.realFs,
    piTools: o.piTools,
  });
  if (mediation.stage !== undefined) stages.push(mediation.stage);
  let observer;
  if (risk.enabled) {
    const controller = new RiskController({
      profile: o.policy.profile,
      alpha: risk.alpha,
      windowSize: risk.windowSize,
      cooldownCalls: COOLDOWN_CALLS,
      deEscalationMargin: DE_ESCALATION_MARGIN,
      allowlisted: hostListMatcher(risk.allowedHosts),
      places: mediation.fsScope.layout,
    });
    const riskStage = createRiskStage({
      controller,
      settings: risk,
      phase,
      trust,
      alerts: writer,
      monitor: new RolloutMonitor(risk.rollout),
      onRollback: (why) => {
        const to = automaticRollbackTarget(phase());
        if (to !== undefined) {
          setRollout(db, to, 'rollout-monitor', `automatic rollback: ${why}`);
          phaseCache = { phase: to, at: Date.now() };
        }
      },
    });
    stages.push(riskStage.stage);
    observer = riskStage.observer;
  }
  const dispatcher = createDispatcher({
    policy: o.policy.compiled,
    operations: mediation.operations,
    stages,
    recheck: gate.recheck,
    prompts,
    recorder: combineRecorders(
      writer,
      observer,
      o.scans === undefined ? undefined : scanObserver(o.scans, writer),
      fleet,
      ...(o.recorders ?? []),
    ),
    alerts: writer,
    operationQuota: quota,
    breaches: writer,
    hostBytes,
    operationTimeoutMs: o.operationTimeoutMs,
  });
  built.dispatcher = dispatcher;
  return {
    dispatcher,
    writer,
    trust,
    breaches,
    hostBytes,
    phase,
    fsScope: mediation.fsScope,
    warnings: [...mediation.warnings, ...exportWarnings],
    async close() {
      try {
        await writer.close();
      } finally {
        db.close();
        // After the writer: its final checkpoint is in the store for the exporter's last pass.
        await fleet?.close();
      }
    },
  };
}
