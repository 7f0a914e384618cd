/**
 * The bridge's core (SPEC §10): one pi-warden runtime for a pi session and one sandbox per extension entry, each
 * loaded the way every load path loads (bundle inside the package boundary, the scan gate, the sandbox), with the
 * live host answering its calls. Both routes use it: the package route's extension (src/pi/extension.ts) and the
 * launcher (src/pi/launcher.ts); src/pi/proxy.ts registers what each sandbox registered with pi.
 *
 * Identity: an extension is known by the id its source gives it (the adoption list's id, or the locator's), and
 * two different sources with one id never load together: the second is refused with an error naming both.
 */
import { join } from 'node:path';
import type { HostcallResult, OwnedParams } from '../dispatch/index.ts';
import { isWardenError, WardenError } from '../errors.ts';
import type { AlertInput } from '../evidence/index.ts';
import type { LocatedExtension } from '../extensions/index.ts';
import { classifySecretName, type PiFileToolKit } from '../mediation/index.ts';
import { assertLoadAllowed, egressRulesLookup, overrideKey, resolvePolicy, verdictFor, type ResolvedPolicy } from '../policy/index.ts';
import { createRuntime, type WardenRuntime } from '../runtime/createRuntime.ts';
import {
  bundleEntry,
  hostBoot,
  limitsFromQuota,
  loadRefusalAlert,
  Sandbox,
  SealedCache,
  type BuiltinToolDescription,
  type SandboxEvent,
} from '../sandbox/index.ts';
import { scanBeforeLoad, ScanVerdictCache, type ExtensionReport } from '../scanner/index.ts';
import { hostOperations, type Registration } from './host.ts';
import { osSandboxAvailability } from './confine/index.ts';
import { LiveHost } from './liveHost.ts';

/** An extension to run sandboxed: where it is and the id its source gives it. */
export type BridgeExtension = LocatedExtension;

/** One entry of an extension in its sandbox, with what it registered while loading. */
export interface SandboxedEntry {
  readonly extensionId: string;
  readonly entry: string;
  readonly bundleHash: string;
  readonly sandbox: Sandbox;
  readonly registrations: readonly Registration[];
}

/** An entry that did not load, and why (shown by `pi-warden status` and as a warning in the session). */
export interface LoadFailure {
  readonly extensionId: string;
  readonly entry: string;
  readonly code: string;
  readonly message: string;
}

export interface BridgeOptions {
  readonly cwd: string;
  /** pi-warden's home (evidence store, data folders). */
  readonly home: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The policy (default: resolved from the user's and the project's settings). */
  readonly policy?: ResolvedPolicy;
  /** pi's module, for its file tools (read/write/edit/ls/find/grep run on the confined fs operations). */
  readonly piTools?: PiFileToolKit;
  /** pi's built-in tool descriptions, for extensions that wrap them. */
  readonly builtinTools?: Readonly<Record<string, BuiltinToolDescription>>;
  /**
   * How long one event handler may run before pi goes on without it (a gate blocks). Default 3000 ms; the settings'
   * `quota.eventDeadlineMs` (global or per extension) takes precedence.
   */
  readonly eventDeadlineMs?: number;
  /** Messages on the shared bus from a sandbox, to hand to pi's `pi.events` (the proxy sets it). */
  readonly onBus?: (fromExtensionId: string, channel: string, data: unknown) => void;
}

export const DEFAULT_EVENT_DEADLINE_MS = 3000;

export class BridgeSession {
  readonly runtime: WardenRuntime;
  readonly host: LiveHost;
  readonly policy: ResolvedPolicy;
  readonly cwd: string;
  readonly eventDeadlineMs: number;
  readonly failures: LoadFailure[] = [];
  readonly sandboxEvents: SandboxEvent[] = [];
  readonly #sandboxes = new Map<string, Sandbox[]>();
  /** Which source each loaded id came from: a second source with the same id is refused. */
  readonly #sources = new Map<string, string>();
  readonly #scans: Map<string, ExtensionReport>;
  readonly #scanCache: ScanVerdictCache;
  readonly #options: BridgeOptions;
  readonly #roots: Map<string, string>;
  #seq = 0;
  #busHandler: ((from: string, channel: string, data: unknown) => void) | undefined;

  private constructor(
    options: BridgeOptions,
    runtime: WardenRuntime,
    host: LiveHost,
    policy: ResolvedPolicy,
    scans: Map<string, ExtensionReport>,
    roots: Map<string, string>,
  ) {
    this.#options = options;
    this.runtime = runtime;
    this.host = host;
    this.policy = policy;
    this.cwd = options.cwd;
    this.eventDeadlineMs = options.eventDeadlineMs ?? DEFAULT_EVENT_DEADLINE_MS;
    this.#scans = scans;
    this.#roots = roots;
    this.#scanCache = new ScanVerdictCache(new SealedCache(join(options.home, 'cache', 'scans')));
  }

  static async open(options: BridgeOptions): Promise<BridgeSession> {
    const env = options.env ?? process.env;
    const policy = options.policy ?? resolvePolicy({ env, cwd: options.cwd });
    assertLoadAllowed(policy);
    const scans = new Map<string, ExtensionReport>();
    const roots = new Map<string, string>();
    // Filled once the runtime exists; the host and the trust gate call into it only after that.
    const ref: { session?: BridgeSession } = {};
    const egress = egressRulesLookup(policy.httpEgress);
    const host = new LiveHost({
      cwd: options.cwd,
      env,
      isSecretName: (name) => classifySecretName(name, policy.secretBroker).secret,
      onBus: (from, channel, data) => ref.session?.deliverBus(from, channel, data),
      confinement: (id) => {
        const runtime = ref.session?.runtime;
        if (runtime === undefined) throw new WardenError('internal', `exec for ${id} before the session's runtime exists`);
        // The network only through the egress proxy, and only when `http` is granted (a prompt is not a grant).
        const http = verdictFor(policy.compiled, 'http', id).decision === 'allow' ? egress(id) : undefined;
        return { setting: policy.osSandbox, scope: runtime.fsScope, extensionId: id, http, evidence: runtime.writer };
      },
    });
    const runtime = await createRuntime({
      home: options.home,
      policy,
      operations: hostOperations(host),
      workspace: options.cwd,
      // Children run confined only with the sandbox on and present; otherwise exec is refused or (user's `off`)
      // unconfined, and classification stays as strict as without one.
      osConfined: policy.osSandbox === 'on' && osSandboxAvailability().available,
      extensionRoots: roots,
      scans,
      realFs: true,
      realHttp: true,
      parentEnv: env,
      ...(options.piTools === undefined ? {} : { piTools: options.piTools }),
      onQuarantined: (id) =>
        ref.session?.stopExtension(id, new WardenError('quarantined', `${id} is quarantined: its sandbox was stopped`)),
    });
    const session = new BridgeSession(options, runtime, host, policy, scans, roots);
    ref.session = session;
    session.#busHandler = options.onBus;
    return session;
  }

  set onBus(handler: ((from: string, channel: string, data: unknown) => void) | undefined) {
    this.#busHandler = handler;
  }

  deliverBus(from: string, channel: string, data: unknown): void {
    this.#busHandler?.(from, channel, data);
  }

  /** Sandboxes every entry of one extension. Failures are recorded (and alerted where the load boundary refused). */
  async load(extension: BridgeExtension): Promise<SandboxedEntry[]> {
    const source = extension.root;
    const known = this.#sources.get(extension.id);
    if (known !== undefined && known !== source) {
      const message = `two extensions have the id ${extension.id} (${known} and ${source}); only the first is loaded`;
      this.#fail(extension.id, source, 'invalid_request', message);
      this.runtime.writer.raise({
        extension_id: extension.id,
        category: 'policy_violation',
        severity: 'high',
        summary: message,
        reason_codes: [],
        remediation: 'remove one of the two, or adopt them under their own sources (`pi-warden status` lists both)',
      });
      return [];
    }
    this.#sources.set(extension.id, source);
    this.#roots.set(extension.id, extension.packageRoot);
    const loaded: SandboxedEntry[] = [];
    for (const entry of extension.entries) {
      const one = await this.#loadEntry(extension, entry);
      if (one !== undefined) loaded.push(one);
    }
    return loaded;
  }

  async #loadEntry(extension: BridgeExtension, entry: string): Promise<SandboxedEntry | undefined> {
    const id = extension.id;
    const env = this.#options.env ?? process.env;
    let bundle;
    try {
      bundle = await bundleEntry(entry, {
        packageRoot: extension.packageRoot,
        env,
        cacheDir: join(this.#options.home, 'cache', 'bundles'),
      });
    } catch (err) {
      const alert = loadRefusalAlert(id, err);
      if (alert !== undefined) this.runtime.writer.raise(alert);
      this.#fail(id, entry, isWardenError(err) ? err.code : 'invalid_request', err instanceof Error ? err.message : String(err));
      return undefined;
    }
    try {
      this.#scans.set(id, scanBeforeLoad(extension, bundle.bundleHash, this.policy, this.#scanCache).report);
    } catch (err) {
      if (!isWardenError(err) || err.code !== 'denied') throw err;
      const rules = err.reasonCodes.filter((c) => c !== 'scan_forbidden');
      this.runtime.writer.raise(scanRefusal(id, extension.root, rules));
      this.#fail(id, entry, 'denied', err.message);
      return undefined;
    }
    const quota = this.policy.overrideQuotas.get(id) ?? this.policy.quota;
    const boot = hostBoot(this.cwd);
    const sandbox = await Sandbox.create({
      extensionId: id,
      dispatcher: this.runtime.dispatcher,
      boot: {
        ...boot,
        tmpdir: join(this.runtime.fsScope.dataFolder(id), 'tmp'),
        ...(this.#options.builtinTools === undefined ? {} : { builtinTools: this.#options.builtinTools }),
      },
      limits: limitsFromQuota(quota),
      onEvent: (e) => this.sandboxEvents.push(e),
      breaches: this.runtime.breaches,
      bootCacheDir: join(this.#options.home, 'cache', 'boot'),
    });
    const before = this.host.registrationsOf(id).length;
    try {
      await sandbox.load(bundle);
    } catch (err) {
      sandbox.dispose();
      this.#fail(id, entry, isWardenError(err) ? err.code : 'invalid_request', err instanceof Error ? err.message : String(err));
      return undefined;
    }
    const list = this.#sandboxes.get(id) ?? [];
    list.push(sandbox);
    this.#sandboxes.set(id, list);
    return {
      extensionId: id,
      entry: bundle.entry,
      bundleHash: bundle.bundleHash,
      sandbox,
      registrations: this.host.registrationsOf(id).slice(before),
    };
  }

  #fail(extensionId: string, entry: string, code: string, message: string): void {
    this.failures.push({ extensionId, entry, code, message });
  }

  /** The event deadline of one extension: its quota's `eventDeadlineMs`, else the global quota's, else the session's. */
  deadlineFor(extensionId: string): number {
    return this.policy.overrideQuotas.get(extensionId)?.eventDeadlineMs ?? this.policy.quota.eventDeadlineMs ?? this.eventDeadlineMs;
  }

  /** Why the extension's proxies must not run now (killed, quarantined, stopped), or undefined. */
  refusal(extensionId: string, sandbox: Sandbox): string | undefined {
    if (this.runtime.trust.stateOf(extensionId) === 'quarantined') {
      this.stopExtension(extensionId, new WardenError('quarantined', `${extensionId} is quarantined: its sandbox was stopped`));
      return `${extensionId} is quarantined by pi-warden (\`pi-warden trust status ${extensionId}\`)`;
    }
    if (sandbox.stopped !== undefined) return `${extensionId} was stopped by pi-warden: ${sandbox.stopped.message}`;
    return undefined;
  }

  /** The live sandboxes of an extension, one per entry (for status and tests). */
  sandboxesOf(extensionId: string): readonly Sandbox[] {
    return this.#sandboxes.get(extensionId) ?? [];
  }

  /** Stops and forgets an extension's sandboxes (before it is loaded again: `/reload`, a session switch). */
  unload(extensionId: string, error: WardenError): void {
    this.stopExtension(extensionId, error);
    for (const sb of this.#sandboxes.get(extensionId) ?? []) sb.dispose();
    this.#sandboxes.delete(extensionId);
    this.#sources.delete(extensionId);
    this.host.forget(extensionId);
  }

  stopExtension(extensionId: string, error: WardenError): void {
    for (const sb of this.#sandboxes.get(extensionId) ?? []) sb.stop(error);
    this.host.stopChildren(extensionId);
  }

  /** A call the bridge makes for the extension (what its handler or tool hands pi): the whole pipeline decides. */
  decide(extensionId: string, method: string, params: Record<string, unknown> | OwnedParams): Promise<HostcallResult> {
    this.#seq += 1;
    return this.runtime.dispatcher.dispatch(extensionId, { call_id: `bridge-${this.#seq}`, method, params });
  }

  raise(alert: AlertInput): void {
    this.runtime.writer.raise(alert);
  }

  /** Disposes every sandbox and closes the runtime (the evidence is flushed). */
  async close(): Promise<void> {
    for (const list of this.#sandboxes.values()) for (const sb of list) sb.dispose();
    this.#sandboxes.clear();
    this.host.stopChildren();
    await this.runtime.close();
  }
}

function scanRefusal(id: string, root: string, rules: readonly string[]): AlertInput {
  return {
    extension_id: id,
    category: 'policy_violation',
    severity: 'high',
    summary: `${id} was not loaded: its scan verdict is forbidden (${rules.join(', ')})`,
    reason_codes: ['scan_forbidden', ...rules],
    remediation: `review \`pi-warden scan ${root}\`; only if you accept the risk set ${overrideKey(id)}.allowForbiddenScan: true in your user settings`,
  };
}
