/**
 * The bridge's core (SPEC §10): one pi-warden runtime for a pi session and one sandbox per extension entry, each
 * loaded the way every load path loads (bundle inside the package boundary, the scan gate, the sandbox), with the
 * live host answering its calls. Both routes use it: the package route's extension (src/pi/extension.ts) and the
 * launcher (src/pi/launcher.ts); src/pi/proxy.ts registers what each sandbox registered with pi.
 *
 * Identity: an extension is known by the id its source gives it (the adoption list's id, or the locator's), and
 * two different sources with one id never load together: the second is refused with an error naming both.
 *
 * Lazy entries (ADR 0039): an entry whose recorded registrations may stand in for a boot (src/pi/recording.ts) gets
 * a LazySandbox instead (src/pi/lazy.ts); its first call boots it here, through the same scan gate and trust check
 * as a load, and the factory's registrations must equal the recording, or the extension is stopped.
 */
import { join } from 'node:path';
import type { Dispatcher, HostcallResult, OwnedParams } from '../dispatch/index.ts';
import { isWardenError, WardenError } from '../errors.ts';
import type { AlertInput } from '../evidence/index.ts';
import type { LocatedExtension } from '../extensions/index.ts';
import { classifySecretName, type PiFileToolKit } from '../mediation/index.ts';
import {
  assertLoadAllowed,
  egressRulesLookup,
  NO_NET_GRANT,
  overrideKey,
  resolvePolicy,
  verdictFor,
  type ResolvedPolicy,
} from '../policy/index.ts';
import { createRuntime, type WardenRuntime } from '../runtime/createRuntime.ts';
import {
  bundleEntry,
  hostBoot,
  limitsFromQuota,
  loadRefusalAlert,
  Sandbox,
  SealedCache,
  type BootInfo,
  type BuiltinToolDescription,
  type ExtensionBundle,
  type SandboxEvent,
} from '../sandbox/index.ts';
import { scanBeforeLoad, ScanVerdictCache, type ExtensionReport } from '../scanner/index.ts';
import { hostOperations, type Registration } from './host.ts';
import { osSandboxAvailability } from './confine/index.ts';
import { pinExtension } from './adopt.ts';
import type { DiscoveredExtension } from './discover.ts';
import { LazySandbox } from './lazy.ts';
import { LiveHost } from './liveHost.ts';
import {
  bootKey,
  eagerReason,
  isRegistering,
  readRecording,
  registrationChanges,
  sameRecording,
  writeRecording,
  type EagerReason,
  type RegistrationRecording,
} from './recording.ts';

/** An extension to run sandboxed: where it is and the id its source gives it. */
export type BridgeExtension = LocatedExtension;

/** One entry of an extension in its sandbox, with what it registered while loading. */
export interface SandboxedEntry {
  readonly extensionId: string;
  readonly entry: string;
  readonly bundleHash: string;
  /** The sandbox, or for a lazy entry the stand-in that boots it on first call (`lazy`). */
  readonly sandbox: Sandbox;
  /** What it registered while loading; for a lazy entry, the recording pi is given instead. */
  readonly registrations: readonly Registration[];
  /** Set when the entry waits for its first call to boot. */
  readonly lazy?: LazySandbox;
  /** Why a booted entry did not wait (absent for a lazy one). */
  readonly eager?: EagerReason;
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
  /** Entries whose recorded registrations allow it boot on first need (default true; false: every entry boots at load). */
  readonly lazy?: boolean;
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
  /** Entries waiting for their first call, and the ones that booted since. */
  readonly #lazy = new Map<string, LazySandbox[]>();
  /** An extension's boots one at a time: its registrations are told apart by their count before and after. */
  readonly #boots = new Map<string, Promise<unknown>>();
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

  /** Where this session keeps bundles across processes: `<home>/cache/bundles`. */
  get bundleCacheDir(): string {
    return join(this.#options.home, 'cache', 'bundles');
  }

  /**
   * The pin of an adopted extension as it is on disk now, through this session's caches (bundles on disk, sealed
   * scan verdicts), so the check at session start does not bundle and scan again what the load then uses.
   */
  pin(e: Pick<DiscoveredExtension, 'id' | 'entries' | 'packageRoot'>): ReturnType<typeof pinExtension> {
    return pinExtension(e, this.policy, this.#scanCache, this.bundleCacheDir);
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
      netGrant: (id) => policy.netGrants.get(id) ?? NO_NET_GRANT,
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
        cacheDir: this.bundleCacheDir,
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
    const boot = this.#bootInfo(id);
    const key = bootKey(boot);
    const recording = readRecording(this.#options.home, id, bundle.entry);
    const eager = this.#options.lazy === false ? 'lazy_off' : eagerReason(recording, bundle.bundleHash, key);
    if (eager === undefined && recording !== undefined) {
      const lazy: LazySandbox = new LazySandbox(id, () => this.#bootLazy(extension, bundle, boot, recording, lazy));
      this.#lazy.set(id, [...(this.#lazy.get(id) ?? []), lazy]);
      return {
        extensionId: id,
        entry: bundle.entry,
        bundleHash: bundle.bundleHash,
        sandbox: lazy.standIn,
        registrations: recording.registrations,
        lazy,
      };
    }
    let booted: Booted;
    try {
      booted = await this.#boot(id, bundle, boot);
    } catch (err) {
      this.#fail(id, entry, isWardenError(err) ? err.code : 'invalid_request', err instanceof Error ? err.message : String(err));
      return undefined;
    }
    this.#record(recording, {
      extensionId: id,
      entry: bundle.entry,
      bundleHash: bundle.bundleHash,
      bootKey: key,
      ...booted.seen,
      stable: true,
    });
    return {
      extensionId: id,
      entry: bundle.entry,
      bundleHash: bundle.bundleHash,
      sandbox: booted.sandbox,
      registrations: booted.seen.registrations,
      eager,
    };
  }

  /** What the guest is told at boot. */
  #bootInfo(id: string): BootInfo {
    return {
      ...hostBoot(this.cwd),
      tmpdir: join(this.runtime.fsScope.dataFolder(id), 'tmp'),
      ...(this.#options.builtinTools === undefined ? {} : { builtinTools: this.#options.builtinTools }),
    };
  }

  /**
   * A sandbox with the bundle loaded, and what its factory did while loading: what it registered, and which other
   * methods it called (what it read: env, files, flags), which keep the entry from waiting next time. One boot of an
   * extension at a time. Throws why it did not load.
   */
  #boot(id: string, bundle: ExtensionBundle, boot: BootInfo): Promise<Booted> {
    const run = (this.#boots.get(id) ?? Promise.resolve()).then(async () => {
      const quota = this.policy.overrideQuotas.get(id) ?? this.policy.quota;
      const watch = { on: false, inputs: new Set<string>() };
      const sandbox = await Sandbox.create({
        extensionId: id,
        dispatcher: watched(this.runtime.dispatcher, watch),
        boot,
        limits: limitsFromQuota(quota),
        onEvent: (e) => this.sandboxEvents.push(e),
        breaches: this.runtime.breaches,
        bootCacheDir: join(this.#options.home, 'cache', 'boot'),
        codeCacheDir: join(this.#options.home, 'cache', 'code'),
      });
      const before = this.host.registrationsOf(id).length;
      watch.on = true;
      try {
        await sandbox.load(bundle);
      } catch (err) {
        sandbox.dispose();
        throw err;
      } finally {
        watch.on = false;
      }
      this.#sandboxes.set(id, [...(this.#sandboxes.get(id) ?? []), sandbox]);
      return { sandbox, seen: { registrations: this.host.registrationsOf(id).slice(before), inputs: [...watch.inputs].sort() } };
    });
    this.#boots.set(
      id,
      run.catch(() => undefined),
    );
    return run;
  }

  /**
   * The first call into a lazy entry: the kill switch and the scan gate as at load, the boot with pi kept out of
   * the factory's registrations, then the comparison with the recording. A difference stops the extension (its
   * stand-in refuses this call and every later one), tells the user, and is recorded so that the entry boots at
   * load from now on; pi never gets a tool or handler added or dropped behind its back.
   */
  async #bootLazy(
    extension: BridgeExtension,
    bundle: ExtensionBundle,
    boot: BootInfo,
    recording: RegistrationRecording,
    lazy: LazySandbox,
  ): Promise<Sandbox> {
    const id = extension.id;
    if (this.runtime.trust.stateOf(id) === 'quarantined')
      throw new WardenError(
        'quarantined',
        `${id} is quarantined by pi-warden (\`pi-warden trust status ${id}\`): its sandbox was not started`,
      );
    let booted: Booted;
    try {
      this.#scans.set(id, scanBeforeLoad(extension, bundle.bundleHash, this.policy, this.#scanCache).report);
      booted = await lazy.quietly(() => this.#boot(id, bundle, boot));
    } catch (err) {
      // Listed with the load failures, as if it had failed at load (the stand-in refuses every call from now on).
      this.#fail(id, bundle.entry, isWardenError(err) ? err.code : 'invalid_request', err instanceof Error ? err.message : String(err));
      throw err;
    }
    const stopped = lazy.stopped;
    if (stopped !== undefined) {
      // Stopped while it booted (the kill switch, a reload): this sandbox belongs to no generation.
      this.#sandboxes.set(
        id,
        (this.#sandboxes.get(id) ?? []).filter((sb) => sb !== booted.sandbox),
      );
      booted.sandbox.dispose();
      throw stopped;
    }
    const changes = registrationChanges(recording.registrations, booted.seen.registrations);
    const now = { ...recording, ...booted.seen, stable: changes.length === 0 };
    this.#record(recording, now);
    if (changes.length === 0) return booted.sandbox;
    const why = `registered differently when it started than its recording (${changes.join('; ')}); pi-warden stopped it rather than add or drop anything in pi. It starts with the session from now on: /reload or a new session loads it`;
    const error = new WardenError('invalid_request', `${id} ${why}`);
    booted.sandbox.stop(error);
    this.#fail(id, bundle.entry, error.code, error.message);
    this.host.tellUser(id, 'lazy', why);
    throw error;
  }

  /** Stores what a boot saw, unless the stored recording says the same already. */
  #record(previous: RegistrationRecording | undefined, now: Omit<RegistrationRecording, 'recordedAt'>): void {
    // One that registered differently from its recording stays eager until its bundle changes.
    const stable = now.stable && !(previous?.stable === false && previous.bundleHash === now.bundleHash);
    const next = { ...now, stable };
    if (sameRecording(previous, next)) return;
    try {
      writeRecording(this.#options.home, { ...next, recordedAt: new Date().toISOString() });
    } catch {
      // Without a recording the entry boots at load next time: slower, never less safe.
    }
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

  /** Whether each entry of an extension waits for its first call (`lazy`) or runs (`booted`), in load order. */
  loadStatesOf(extensionId: string): Array<'lazy' | 'booted'> {
    const lazy = this.#lazy.get(extensionId) ?? [];
    const waiting = lazy.filter((l) => l.state === 'lazy').length;
    return [...Array<'lazy'>(waiting).fill('lazy'), ...this.sandboxesOf(extensionId).map(() => 'booted' as const)];
  }

  /** The live sandboxes of an extension, one per entry (for status and tests). */
  sandboxesOf(extensionId: string): readonly Sandbox[] {
    return this.#sandboxes.get(extensionId) ?? [];
  }

  /** Stops and forgets an extension's sandboxes (before it is loaded again: `/reload`, a session switch). */
  unload(extensionId: string, error: WardenError): void {
    this.stopExtension(extensionId, error);
    for (const sb of this.#sandboxes.get(extensionId) ?? []) sb.dispose();
    for (const l of this.#lazy.get(extensionId) ?? []) l.dispose();
    this.#sandboxes.delete(extensionId);
    this.#lazy.delete(extensionId);
    this.#sources.delete(extensionId);
    this.host.forget(extensionId);
  }

  stopExtension(extensionId: string, error: WardenError): void {
    for (const sb of this.#sandboxes.get(extensionId) ?? []) sb.stop(error);
    for (const l of this.#lazy.get(extensionId) ?? []) l.stop(error);
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
    for (const list of this.#lazy.values()) for (const l of list) l.dispose();
    this.#sandboxes.clear();
    this.#lazy.clear();
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

/** A booted entry and what its factory did while loading. */
interface Booted {
  readonly sandbox: Sandbox;
  readonly seen: Pick<RegistrationRecording, 'registrations' | 'inputs'>;
}

/**
 * The runtime's dispatcher, noting while `watch.on` which methods the guest calls that are not registrations, and
 * registrations the pipeline refused (the factory saw a refusal): what its registrations may depend on.
 */
function watched(dispatcher: Dispatcher, watch: { on: boolean; inputs: Set<string> }): Dispatcher {
  const note = (hostcall: unknown, result: HostcallResult): HostcallResult => {
    const method = (hostcall as { method?: unknown } | null)?.method;
    const name = typeof method === 'string' ? method : 'unknown';
    if (!isRegistering(name) || !result.ok) watch.inputs.add(name);
    return result;
  };
  return {
    pipeline: dispatcher.pipeline,
    abortExtension: (id) => dispatcher.abortExtension(id),
    dispatchSync: (id, hostcall) => {
      const r = dispatcher.dispatchSync(id, hostcall);
      return watch.on ? note(hostcall, r) : r;
    },
    dispatch: (id, hostcall) => {
      const r = dispatcher.dispatch(id, hostcall);
      return watch.on ? r.then((x) => note(hostcall, x)) : r;
    },
  };
}
