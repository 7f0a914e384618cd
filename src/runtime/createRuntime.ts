/**
 * Assembles the pipeline the way pi-warden runs it: evidence writer (ledger, alerts, telemetry, breaches),
 * trust gate, risk controller (when enabled), quotas, and the dispatcher, all over one store. The sandbox
 * and the pi bridge call `dispatch`; the CLI reads the same store.
 */
import type { DatabaseSync } from 'node:sqlite';
import { createDispatcher, type Dispatcher, type Operation } from '../dispatch/dispatcher.ts';
import { combineRecorders } from '../dispatch/record.ts';
import type { AlertSink } from '../evidence/alerts.ts';
import { scannerBypassCheck } from '../scanner/gate.ts';
import type { ExtensionReport } from '../scanner/types.ts';
import type { Stage } from '../dispatch/stage.ts';
import { createPromptBroker, type Prompter } from '../dispatch/prompts.ts';
import { openStore } from '../evidence/store.ts';
import { EvidenceWriter, type EvidenceWriterOptions } from '../evidence/writer.ts';
import type { ResolvedPolicy } from '../policy/settings.ts';
import { COOLDOWN_CALLS, DE_ESCALATION_MARGIN, RiskController } from '../risk/controller.ts';
import { RolloutMonitor, automaticRollbackTarget, readRollout, setRollout, type RolloutPhase } from '../risk/rollout.ts';
import { createRiskStage } from '../risk/stage.ts';
import { createTrustGate } from '../trust/gate.ts';
import { TrustRegistry } from '../trust/lifecycle.ts';
import { createQuotaStage, quotaLookup } from '../trust/quota.ts';
import { classifySecretName } from '../mediation/secrets/names.ts';
import { createOutboundStage, secretNameHasher } from '../mediation/secrets/outbound.ts';
import { createExecStage } from '../mediation/exec/stage.ts';
import { alertEgressRefusals, createEgressStage } from '../mediation/http/egress.ts';
import { egressRulesLookup } from '../policy/egressSettings.ts';
import { chainStages, createSecretNameStage, filterEnvOperations } from '../mediation/secrets/nameFilter.ts';
import { SecretValueIndex, type HeldSecret } from '../mediation/secrets/values.ts';
import { createFsScopeStage, FsScope } from '../mediation/fs/scope.ts';
import { readAuthSecrets } from '../mediation/secrets/authFile.ts';
import { createToolCallStage } from '../mediation/tools/toolCalls.ts';
import { scanResults } from '../mediation/secrets/inbound.ts';
import { createFsOperations } from '../mediation/fs/operations.ts';
import { createHttpOperation } from '../mediation/http/operation.ts';
import type { FsLayout } from '../mediation/fs/paths.ts';
import { agentDir } from '../policy/settings.ts';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { newContext } from '../dispatch/hostcall.ts';
import { createFileToolOperation, type PiFileToolKit } from '../mediation/tools/fileTools.ts';
import type { OperationContext } from '../dispatch/dispatcher.ts';
import type { DecisionRecord, DecisionRecorder } from '../evidence/sinks.ts';

export interface RuntimeOptions {
  readonly home: string;
  readonly policy: ResolvedPolicy;
  readonly operations?: ReadonlyMap<string, Operation>;
  readonly prompter?: Prompter;
  /** Stops an extension's sandbox when it is quarantined (idempotent). */
  readonly onQuarantined?: (extensionId: string) => void;
  readonly writer?: EvidenceWriterOptions;
  /** Extra stages (e.g. mediation) for their slots. */
  readonly stages?: readonly Stage[];
  /** Install-time scan reports by extension id: a hostcall needing a capability its scan did not find raises scanner_bypass. */
  readonly scans?: ReadonlyMap<string, ExtensionReport>;
  /**
   * Secret values the broker holds and looks for in outbound payloads (SPEC §5.2). Default: every variable of
   * this process's environment whose name the broker classifies as secret, plus the credentials in pi's auth.json
   * (`authFile`). Ignored when the broker is disabled.
   */
  readonly heldSecrets?: readonly HeldSecret[];
  /** The environment children inherit their base variables from (default: this process's). */
  readonly parentEnv?: Readonly<Record<string, string | undefined>>;
  /** Where child processes may run (their cwd must lie inside; default: this process's cwd). */
  readonly workspace?: string;
  /** Filesystem scope (SPEC §5.5): the project root is `workspace`; these default to the user's home, pi's agent dir and `<home>/data`. */
  readonly fsLayout?: Partial<Omit<FsLayout, 'projectRoot' | 'wardenHome'>>;
  /** The environment whose variables move the filesystem lists' entries (XDG_CONFIG_HOME, GNUPGHOME, PATH, ...; default: this process's). */
  readonly fsEnv?: Readonly<Record<string, string | undefined>>;
  /** Per extension id: its package folder, readable by it. */
  readonly extensionRoots?: ReadonlyMap<string, string>;
  /** pi's auth storage, whose credentials the broker holds with the environment's (default `<agent dir>/auth.json`). */
  readonly authFile?: string;
  /** Run `http` calls with the real, egress-confined operation (src/mediation/http/operation.ts) instead of the one in `operations`. */
  readonly realHttp?: boolean | { readonly ca?: string | Buffer };
  /**
   * Run `fs.*` calls with the confined real operations (src/mediation/fs/operations.ts) instead of those in `operations`. pi's
   * file tools called through `tool` (read, write, edit, ls, find, grep) then run on them too, built from `piTools`
   * (src/mediation/tools/fileTools.ts); without `piTools` those tool calls are refused rather than handed to a host that would act
   * on the unchecked path.
   */
  readonly realFs?: boolean;
  /** pi's tool-definition factories (the bridge passes the pi module it runs in). */
  readonly piTools?: PiFileToolKit;
  /** More recorders that see every decision after the evidence writer (e.g. a probe's summary). */
  readonly recorders?: readonly DecisionRecorder[];
  readonly operationTimeoutMs?: number;
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
  readonly fsScope: FsScope;
  /** Non-fatal set-up problems (e.g. an unreadable auth.json whose credentials are therefore not held). */
  readonly warnings: readonly string[];
  /** The rollout phase in force (re-read from the store at most once a second). */
  phase(): RolloutPhase;
  close(): Promise<void>;
}

export async function createRuntime(o: RuntimeOptions): Promise<WardenRuntime> {
  const writer = await EvidenceWriter.open(o.home, o.writer);
  let db: DatabaseSync;
  try {
    db = openStore(o.home);
  } catch (err) {
    await writer.close();
    throw err;
  }
  const trust = new TrustRegistry(db);
  const gate = createTrustGate(trust, o.onQuarantined);
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
  let operations = o.operations;
  const warnings: string[] = [];
  const fsScope = new FsScope({
    layout: {
      projectRoot: o.workspace ?? process.cwd(), wardenHome: o.home,
      home: o.fsLayout?.home ?? homedir(), agentDir: o.fsLayout?.agentDir ?? agentDir(process.env), dataRoot: o.fsLayout?.dataRoot ?? join(o.home, 'data'),
    },
    grants: o.policy.fsGrants, extensionRoots: o.extensionRoots, env: o.fsEnv ?? process.env,
  });
  if (o.realFs === true) operations = new Map([...(operations ?? []), ...createFsOperations({ scope: fsScope })]);
  if (o.realHttp !== undefined && o.realHttp !== false) {
    const ca = typeof o.realHttp === 'object' ? o.realHttp.ca : undefined;
    operations = new Map(operations ?? []).set('http', createHttpOperation({ rules: egressRulesLookup(o.policy.httpEgress), ...(ca === undefined ? {} : { ca }) }));
  }
  const hostTool = operations?.get('tool');
  /** Filled by the secret broker when it is on: what pi's file tools run through. */
  let scanToolResults: ((ops: ReadonlyMap<string, Operation>) => ReadonlyMap<string, Operation>) | undefined;
  let checkWrite: ((content: string, path: string, ctx: OperationContext) => void) | undefined;
  if (!stages.some((s) => s.name === 'mediation')) {
    const salt = (db.prepare("SELECT value FROM store_meta WHERE key = 'name_hash_salt'").get() as { value: string } | undefined)?.value ?? '';
    const hash = secretNameHasher(salt);
    const parts: Stage[] = [];
    if (o.policy.secretBroker.enabled) {
      let held: readonly HeldSecret[];
      if (o.heldSecrets !== undefined) {
        held = o.heldSecrets;
      } else {
        const fromEnv = Object.entries(process.env)
          .filter((e): e is [string, string] => typeof e[1] === 'string' && classifySecretName(e[0], o.policy.secretBroker).secret)
          .map(([name, value]) => ({ name, value }));
        const auth = readAuthSecrets(o.authFile ?? join(o.fsLayout?.agentDir ?? agentDir(process.env), 'auth.json'));
        if (auth.problem !== undefined) warnings.push(auth.problem);
        for (const u of auth.unheld) warnings.push(`secret broker: auth.json credential ${u} is not held; its value is not looked for in outbound payloads`);
        held = [...fromEnv, ...auth.held];
      }
      const index = new SecretValueIndex(held);
      parts.push(createSecretNameStage({
        config: o.policy.secretBroker, policy: o.policy.compiled, nameHash: hash, alerts: writer, log: writer,
        honeytokens: new Set(held.filter((h) => h.honeytoken === true).map((h) => h.name)),
      }));
      parts.push(createOutboundStage({ index: () => index, salt, alerts: writer, log: writer }));
      const inbound = { index: () => index, nameHash: hash, alerts: writer, log: writer };
      if (operations !== undefined) {
        operations = filterEnvOperations(operations, o.policy.secretBroker, o.parentEnv ?? process.env);
        operations = scanResults(operations, inbound);
      }
      scanToolResults = (ops) => scanResults(ops, inbound);
      // What an edit writes is the file with the edit applied: held values only (a token-shaped fixture already
      // in the file is not the extension's to answer for).
      const writes = createOutboundStage({ index: () => index, salt, alerts: writer, log: writer, tokenFormats: false });
      checkWrite = (content, path, ctx) => {
        const c = newContext(ctx.extensionId, null);
        c.callId = ctx.callId;
        c.method = 'fs.write';
        c.params = { path, data: content };
        c.capability = 'write';
        const refused = writes.run(c);
        if (refused !== undefined) throw refused;
      };
    }
    // HTTP egress after the payload scan (a URL carrying a secret is a secret_exposure first), whether or not
    // the broker is on. The http operation re-checks every resolved address and redirect; its refusals alert too.
    parts.push(createEgressStage({ rules: egressRulesLookup(o.policy.httpEgress), alerts: writer }));
    const httpOp = operations?.get('http');
    if (operations !== undefined && httpOp !== undefined) operations = new Map(operations).set('http', alertEgressRefusals(httpOp, writer));
    const fsStage = createFsScopeStage({ scope: fsScope, alerts: writer });
    // Exec mediation runs whether or not the broker is on, after the payload scan: a command carrying a secret is
    // a secret_exposure first.
    const execStage = createExecStage({ policy: o.policy.compiled, workspace: o.workspace ?? process.cwd(), commandHash: hash, alerts: writer, log: writer, prompts });
    parts.push(fsStage, execStage, createToolCallStage([fsStage, execStage], fsScope.layout.home));
    stages.push(chainStages('mediation', parts));
  }
  if (o.realFs === true && operations !== undefined) {
    // The host's own tool operation, before the broker wrapped it: the combined operation is scanned once.
    const toolOp = createFileToolOperation({
      kit: o.piTools, fs: operations, projectRoot: fsScope.layout.projectRoot, home: fsScope.layout.home, checkWrite, fallback: hostTool,
    });
    const one = new Map([['tool', toolOp]]);
    operations = new Map(operations).set('tool', (scanToolResults?.(one) ?? one).get('tool') as Operation);
  }
  let observer;
  if (risk.enabled) {
    const allowed = new Set(risk.allowedHosts.map((h) => h.toLowerCase()));
    const controller = new RiskController({
      profile: o.policy.profile, alpha: risk.alpha, windowSize: risk.windowSize, cooldownCalls: COOLDOWN_CALLS, deEscalationMargin: DE_ESCALATION_MARGIN,
      allowlisted: (host) => allowed.has(host.toLowerCase()) || [...allowed].some((a) => a.startsWith('*.') && host.toLowerCase().endsWith(a.slice(1))),
    });
    const riskStage = createRiskStage({
      controller, settings: risk, phase, trust, alerts: writer, monitor: new RolloutMonitor(risk.rollout),
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
    policy: o.policy.compiled, operations, stages, recheck: gate.recheck, prompts,
    recorder: combineRecorders(writer, observer, o.scans === undefined ? undefined : scanObserver(o.scans, writer), ...(o.recorders ?? [])),
    alerts: writer, operationQuota: quota, breaches: writer, operationTimeoutMs: o.operationTimeoutMs,
  });
  return {
    dispatcher, writer, trust, phase, fsScope, warnings,
    async close() {
      await writer.close();
      db.close();
    },
  };
}
