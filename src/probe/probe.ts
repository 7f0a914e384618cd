/**
 * `probe`: run an extension in the sandbox against the headless host (a simulated pi session with honeytoken
 * secrets), fire the session lifecycle, invoke each registered command, tool and shortcut with sample input, and
 * report what it registered, every hostcall with its derived capability and decision, what was denied, and
 * whether a honeytoken left through an allowed call. Each extension passes the scan gate first, and every stage
 * of the pipeline runs whether or not the evidence is kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRecorder } from '../dispatch/index.ts';
import { isWardenError, WardenError } from '../errors.ts';
import { locateExtensions } from '../extensions/index.ts';
import { isInside } from '../paths.ts';
import { assertLoadAllowed, overrideKey, resolvePolicy, type ResolvedPolicy, type SettingsError } from '../policy/index.ts';
import {
  bundleEntry,
  hostBoot,
  limitsFromQuota,
  loadRefusalAlert,
  Sandbox,
  type ExtensionBundle,
  type InvocationContext,
  type SandboxEvent,
} from '../sandbox/index.ts';
import { builtinToolDescriptions, usesBuiltinTools } from './builtinTools.ts';
import { newDisguise, type SessionDisguise } from './disguise.ts';
import { HeadlessHost, type HoneytokenHit, type HostActivity } from './headlessHost.ts';
import { hostOperations, type Registration } from '../pi/index.ts';
import { createRuntime } from '../runtime/createRuntime.ts';
import type { DecisionRecord } from '../evidence/index.ts';
import { scanBeforeLoad, ScanVerdictCache, type ExtensionReport } from '../scanner/index.ts';

export interface ProbeOptions {
  readonly path: string;
  readonly cwd?: string;
  readonly profile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Skip invoking commands/tools/shortcuts (registration and lifecycle only). */
  readonly noInvoke?: boolean;
  /**
   * The evidence store to record into (ledger, alerts, telemetry). Without it the probe records into a temporary
   * store removed afterwards: where evidence goes is the only difference, every stage (trust gate, quotas, fs
   * scope, egress, secret broker, exec mediation, risk when enabled) runs either way.
   */
  readonly home?: string;
  /** Scan reports by bundle; a caller probing many times passes one cache (default: one per run). */
  readonly scanCache?: ScanVerdictCache;
}

export interface ProbeStep {
  readonly step: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ProbeExtensionReport {
  readonly extensionId: string;
  readonly entry: string;
  readonly bundleHash: string | null;
  readonly loaded: boolean;
  readonly loadError: string | null;
  /** The load gate's scan: its verdict and forbidden rule ids; null when the entry did not bundle. */
  readonly scan: { readonly verdict: string; readonly forbidden_rules: readonly string[]; readonly refused: boolean } | null;
  readonly registrations: {
    readonly tools: ReadonlyArray<{ name: string; parameters: unknown }>;
    readonly commands: readonly string[];
    readonly flags: readonly string[];
    readonly shortcuts: readonly string[];
    readonly events: readonly string[];
    readonly other: ReadonlyArray<{ kind: string; name: string }>;
  };
  readonly steps: readonly ProbeStep[];
}

export interface ProbeHostcall {
  readonly extension_id: string;
  readonly method: string;
  readonly capability: string | null;
  readonly decision: string;
  readonly rule: string | null;
  readonly error_code: string | null;
  /** The stage that refused the call (policy, trust, mediation, ...), null when it was allowed. */
  readonly stage: string | null;
  readonly reason_codes: readonly string[];
  readonly count: number;
}

/** What the extension did that a reviewer should see, even when the policy allowed it (`--fail-on`). */
export interface ProbeFindings {
  /** Network destinations (scheme://host:port) of allowed http calls: what it would have contacted. */
  readonly contacted: readonly string[];
  /** Files and folders it read outside the project and outside its own package. */
  readonly read_outside_project: readonly string[];
  /** Hostcalls refused (policy, trust, mediation, ...), counted. */
  readonly denied: number;
}

export interface ProbeReport {
  readonly path: string;
  readonly profile: string;
  /** The session id this run showed the extension (random per run, so a probe is not recognisable by it). */
  readonly session_id: string;
  readonly findings: ProbeFindings;
  readonly extensions: readonly ProbeExtensionReport[];
  readonly hostcalls: readonly ProbeHostcall[];
  readonly denied: readonly ProbeHostcall[];
  readonly activity: readonly HostActivity[];
  /**
   * `leaked`: honeytokens the host saw leave through an allowed call; `blocked`: calls the secret broker refused
   * because they carried a honeytoken.
   */
  readonly honeytokens: {
    readonly planted: readonly string[];
    readonly leaked: readonly HoneytokenHit[];
    readonly blocked: ReadonlyArray<{ readonly method: string; readonly call_id: string }>;
  };
  readonly sandboxEvents: readonly SandboxEvent[];
  /** Invalid settings files that did not block loading (a project file, ignored): the CLI reports them and exits 2. */
  readonly settingsErrors: readonly SettingsError[];
  /** Where the decisions were recorded, when the probe ran against a lasting evidence store (not `--no-record`). */
  readonly store?: { readonly home: string; readonly ledger_size: number };
}

/** A sample value for a JSON schema: what a cooperative model would pass. */
export function sampleFor(schema: unknown, depth = 0): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (depth > 6) return null;
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (Array.isArray(s.anyOf) && s.anyOf.length > 0) return sampleFor(s.anyOf[0], depth + 1);
  switch (s.type) {
    case 'string': {
      // A quoted example in the description ("like '1h', '5m'") is a better sample value than a made-up string.
      const example = typeof s.description === 'string' ? /['"`]([^'"`]{1,80})['"`]/.exec(s.description)?.[1] : undefined;
      return example ?? 'sample';
    }
    case 'number':
    case 'integer':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return Array.isArray(s.items) ? s.items.map((i) => sampleFor(i, depth + 1)) : [sampleFor(s.items, depth + 1)];
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(props)) out[k] = sampleFor(v, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

function summarise(regs: readonly Registration[]): ProbeExtensionReport['registrations'] {
  const names = (kind: string) => regs.filter((r) => r.kind === kind).map((r) => r.name);
  return {
    tools: regs.filter((r) => r.kind === 'tool').map((r) => ({ name: r.name, parameters: r.description.parameters ?? null })),
    commands: names('command'),
    flags: names('flag'),
    shortcuts: names('shortcut'),
    events: [...new Set(names('event'))],
    other: regs
      .filter((r) => !['tool', 'command', 'flag', 'shortcut', 'event'].includes(r.kind))
      .map((r) => ({ kind: r.kind, name: r.name })),
  };
}

function aggregate(records: readonly DecisionRecord[]): ProbeHostcall[] {
  const map = new Map<string, ProbeHostcall>();
  for (const r of records) {
    const key = `${r.extension_id}\u0000${r.method}\u0000${r.decision}\u0000${r.error_code ?? ''}\u0000${r.stage ?? ''}`;
    const prev = map.get(key);
    map.set(
      key,
      prev === undefined
        ? {
            extension_id: r.extension_id,
            method: r.method,
            capability: r.capability,
            decision: r.decision,
            rule: r.rule,
            error_code: r.error_code,
            stage: r.stage,
            reason_codes: r.reason_codes,
            count: 1,
          }
        : { ...prev, count: prev.count + 1 },
    );
  }
  return [...map.values()];
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The lifecycle a session goes through, in pi's order; `session_start` with new/fork also fires the legacy events.
 * Every value in it comes from the run's disguise or the real cwd and clock: nothing marks it as a probe.
 */
function lifecycle(d: SessionDisguise, cwd: string): ReadonlyArray<readonly [string, Record<string, unknown>]> {
  const now = Date.now();
  const command = `rm -rf ./${d.scratchDir}`;
  return [
    ['resources_discover', { cwd, reason: 'startup' }],
    ['session_start', { reason: 'startup' }],
    ['input', { text: d.prompt, source: 'interactive' }],
    [
      'before_agent_start',
      {
        prompt: d.prompt,
        systemPrompt: 'You are a helpful assistant.',
        systemPromptOptions: { selectedTools: ['read', 'bash', 'edit', 'write'], sections: {}, skills: [], cwd },
      },
    ],
    ['agent_start', {}],
    ['turn_start', { turnIndex: 0, timestamp: now }],
    ['context', { messages: [] }],
    // A destructive command, so that permission gates take their interesting path.
    ['tool_call', { toolCallId: d.toolCallId, toolName: 'bash', input: { command } }],
    [
      'tool_result',
      {
        toolCallId: d.toolCallId,
        toolName: 'bash',
        input: { command },
        content: [{ type: 'text', text: '' }],
        details: {},
        isError: false,
      },
    ],
    ['turn_end', { turnIndex: 0, message: { role: 'assistant', content: [] }, toolResults: [] }],
    ['agent_end', { messages: [] }],
    ['model_select', { model: d.model, previousModel: undefined, source: 'set' }],
    ['session_before_switch', { reason: 'new' }],
    ['session_start', { reason: 'new' }],
    ['session_before_fork', { entryId: d.entryId, position: 'at' }],
    ['session_start', { reason: 'fork' }],
    ['session_shutdown', { reason: 'quit' }],
  ];
}

/** The destination an http call names, as `scheme://host:port` (the query and path may carry data, not shown). */
function destination(summary: string): string {
  const url = summary.slice(summary.indexOf(' ') + 1);
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port === '' ? (u.protocol === 'http:' ? '80' : '443') : u.port}`;
  } catch {
    return url.slice(0, 200);
  }
}

const READS = new Set(['fs.read', 'fs.list']);

function findingsOf(
  activity: readonly HostActivity[],
  denied: readonly ProbeHostcall[],
  cwd: string,
  packageRoots: ReadonlyMap<string, string>,
): ProbeFindings {
  const contacted = new Set<string>();
  const outside = new Set<string>();
  for (const a of activity) {
    if (a.method === 'http') contacted.add(destination(a.summary));
    if (READS.has(a.method) && a.summary.startsWith('/')) {
      const own = packageRoots.get(a.extensionId);
      if (!isInside(cwd, a.summary) && (own === undefined || !isInside(own, a.summary))) outside.add(a.summary);
    }
  }
  return { contacted: [...contacted], read_outside_project: [...outside], denied: denied.reduce((n, d) => n + d.count, 0) };
}

export async function probeExtension(options: ProbeOptions): Promise<ProbeReport> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const policy: ResolvedPolicy = resolvePolicy({ ...(options.profile === undefined ? {} : { cliProfile: options.profile }), env, cwd });
  assertLoadAllowed(policy);
  const boot = hostBoot(cwd);
  const disguise = newDisguise();
  const host = new HeadlessHost({ cwd, home: boot.home, user: boot.username, disguise });
  const recorder = new MemoryRecorder(100_000);
  const live = new Map<string, Sandbox>();
  const scanCache = options.scanCache ?? new ScanVerdictCache();
  const scans = new Map<string, ExtensionReport>();
  // Locate first: a bad path is a usage error before anything is opened.
  const located = locateExtensions(options.path);
  const packageRoots = new Map(located.map((e) => [e.id, e.packageRoot]));
  // Without a store the evidence goes to a temporary one: mediation is part of the pipeline, not of recording.
  const scratch = options.home === undefined ? mkdtempSync(join(tmpdir(), 'pi-warden-probe-')) : undefined;
  let runtime;
  try {
    runtime = await createRuntime({
      home: options.home ?? (scratch as string),
      policy,
      operations: hostOperations(host),
      recorders: [recorder],
      operationTimeoutMs: 10_000,
      workspace: cwd,
      extensionRoots: packageRoots,
      scans,
      heldSecrets: [...host.honeytokens].map(([name, value]) => ({ name, value, honeytoken: true })),
      onQuarantined: (id) => live.get(id)?.stop(new WardenError('quarantined', `${id} is quarantined: its sandbox was stopped`)),
    });
  } catch (err) {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  const dispatcher = runtime.dispatcher;
  const sandboxEvents: SandboxEvent[] = [];
  const reports: ProbeExtensionReport[] = [];
  const ctx: InvocationContext = { cwd, hasUI: true, mode: 'tui', model: disguise.model, projectTrusted: false };

  let flushed: { treeSize: number } | undefined;
  try {
    // Each entry runs in a sandbox of its own, under its extension's id: policy, quotas and quarantine are per id.
    for (const { extension, entry } of located.flatMap((e) => e.entries.map((entry) => ({ extension: e, entry })))) {
      const extensionId = extension.id;
      const steps: ProbeStep[] = [];
      // An earlier entry of the same extension registered under the same id; this entry's are the ones after.
      const earlier = host.registrationsOf(extensionId).length;
      let bundle: ExtensionBundle;
      try {
        bundle = await bundleEntry(entry, { packageRoot: extension.packageRoot, env });
      } catch (err) {
        const alert = loadRefusalAlert(extensionId, err);
        if (alert !== undefined) runtime?.writer.raise(alert);
        // A bundle failure (syntax error, a dependency that is not installed) is a load failure of this entry.
        reports.push({
          extensionId,
          entry,
          bundleHash: null,
          loaded: false,
          loadError: message(err),
          scan: null,
          registrations: summarise([]),
          steps,
        });
        continue;
      }
      // The scan gate (issue 15 item 2): a forbidden verdict is not loaded unless the user's settings allow it.
      let scanned: ExtensionReport;
      try {
        scanned = scanBeforeLoad(extension, bundle.bundleHash, policy, scanCache).report;
      } catch (err) {
        if (!isWardenError(err) || err.code !== 'denied') throw err;
        const report = scanCache.get(extensionId, bundle.bundleHash);
        const rules = err.reasonCodes.filter((c) => c !== 'scan_forbidden');
        runtime.writer.raise({
          extension_id: extensionId,
          category: 'policy_violation',
          severity: 'high',
          summary: `${extensionId} was not loaded: its scan verdict is forbidden (${rules.join(', ')})`,
          reason_codes: err.reasonCodes,
          remediation: `review \`pi-warden scan ${extension.root}\`; only if you accept the risk set ${overrideKey(extensionId)}.allowForbiddenScan: true in your user settings`,
        });
        reports.push({
          extensionId,
          entry: bundle.entry,
          bundleHash: bundle.bundleHash,
          loaded: false,
          loadError: err.message,
          scan: { verdict: report?.verdict ?? 'forbidden', forbidden_rules: rules, refused: true },
          registrations: summarise([]),
          steps,
        });
        continue;
      }
      scans.set(extensionId, scanned);
      const scan = {
        verdict: scanned.verdict,
        forbidden_rules: [...new Set(scanned.findings.filter((f) => f.classification === 'forbidden').map((f) => f.ruleId))],
        refused: false,
      };
      const quota = policy.overrideQuotas.get(extensionId) ?? policy.quota;
      const builtinTools = usesBuiltinTools(bundle.code) ? await builtinToolDescriptions(cwd) : undefined;
      const sandbox = await Sandbox.create({
        // os.tmpdir() names the extension's data folder: the one place outside the project it may write.
        extensionId,
        dispatcher,
        boot: {
          ...boot,
          ...(runtime === undefined ? {} : { tmpdir: join(runtime.fsScope.dataFolder(extensionId), 'tmp') }),
          ...(builtinTools === undefined ? {} : { builtinTools }),
        },
        limits: { wallTimeMs: 15_000, ...limitsFromQuota(quota) },
        onEvent: (e) => sandboxEvents.push(e),
        ...(runtime === undefined ? {} : { breaches: runtime.writer }),
      });
      live.set(extensionId, sandbox);
      let loadError: string | null = null;
      try {
        await sandbox.load(bundle);
      } catch (err) {
        loadError = message(err);
      }
      const run = async (step: string, fn: () => Promise<string | undefined>) => {
        if (sandbox.stopped !== undefined) {
          steps.push({ step, ok: false, detail: `skipped: ${sandbox.stopped.message}` });
          return;
        }
        try {
          const detail = await fn();
          steps.push(detail === undefined ? { step, ok: true } : { step, ok: true, detail });
        } catch (err) {
          steps.push({ step, ok: false, detail: isWardenError(err) ? `${err.code}: ${err.message}` : message(err) });
        }
      };
      if (loadError === null) {
        const regs = () => host.registrationsOf(extensionId).slice(earlier);
        const subscribed = () =>
          new Set(
            regs()
              .filter((r) => r.kind === 'event')
              .map((r) => r.name),
          );
        for (const [event, payload] of lifecycle(disguise, cwd)) {
          const wanted = subscribed();
          const legacy =
            event === 'session_start' &&
            ((payload.reason === 'new' && wanted.has('session_switch')) || (payload.reason === 'fork' && wanted.has('session_fork')));
          if (!wanted.has(event) && !legacy) continue;
          await run(`event ${event}${typeof payload.reason === 'string' ? ` (${payload.reason})` : ''}`, async () => {
            const outcomes = await sandbox.emit(event, payload, ctx);
            const failed = outcomes.flatMap((o) => o.results.filter((r) => !r.ok).map((r) => `${o.event}: ${r.error?.message ?? ''}`));
            if (failed.length > 0) throw new WardenError('invalid_request', `handler threw: ${failed.join('; ')}`);
            return outcomes.map((o) => `${o.event}×${o.results.length}`).join(', ');
          });
        }
        if (options.noInvoke !== true) {
          for (const r of regs().filter((x) => x.kind === 'command')) {
            await run(`command /${r.name}`, async () => {
              const s = await sandbox.runCommand(r.name, '', ctx);
              if (!s.ok) throw new WardenError('invalid_request', `handler threw: ${s.error.message}`);
              return undefined;
            });
          }
          for (const r of regs().filter((x) => x.kind === 'tool')) {
            await run(`tool ${r.name}`, async () => {
              const s = await sandbox.runTool(r.name, disguise.toolInvocationId, sampleFor(r.description.parameters), ctx);
              if (!s.ok) throw new WardenError('invalid_request', `execute threw: ${s.error.message}`);
              return undefined;
            });
          }
          for (const r of regs().filter((x) => x.kind === 'shortcut')) {
            await run(`shortcut ${r.name}`, async () => {
              const s = await sandbox.runShortcut(r.name, ctx);
              if (!s.ok) throw new WardenError('invalid_request', `handler threw: ${s.error.message}`);
              return undefined;
            });
          }
        }
      }
      reports.push({
        extensionId,
        entry: bundle.entry,
        bundleHash: bundle.bundleHash,
        loaded: loadError === null,
        loadError,
        scan,
        registrations: summarise(host.registrationsOf(extensionId).slice(earlier)),
        steps,
      });
      sandbox.dispose();
      live.delete(extensionId);
    }
    flushed = await runtime.writer.flush();
  } finally {
    for (const sb of live.values()) sb.dispose();
    await runtime.close();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
  const hostcalls = aggregate(recorder.entries);
  const denied = hostcalls.filter((h) => h.decision === 'deny');
  return {
    path: options.path,
    profile: policy.profile,
    session_id: disguise.sessionId,
    findings: findingsOf(host.activity, denied, cwd, packageRoots),
    extensions: reports,
    hostcalls,
    denied,
    activity: host.activity.slice(0, 500),
    honeytokens: {
      planted: [...host.honeytokens.keys()],
      leaked: host.honeytokenHits,
      blocked: recorder.entries.filter((r) => r.reason_codes.includes('honeytoken')).map((r) => ({ method: r.method, call_id: r.call_id })),
    },
    sandboxEvents: sandboxEvents.filter((e) => e.type !== 'stopped' || !e.reason.includes('was disposed')),
    settingsErrors: policy.errors,
    ...(flushed === undefined || options.home === undefined ? {} : { store: { home: options.home, ledger_size: flushed.treeSize } }),
  };
}
