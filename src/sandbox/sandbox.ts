/**
 * One extension in one sandbox. The host side of the string ABI (see engine.ts): every guest request is a
 * hostcall through the dispatcher with the extension id this sandbox was created for (never one the guest
 * names), every value crossing is JSON with a size cap, and every entry into the guest runs under a CPU deadline.
 *
 * Limits (SPEC §7, issue item 5): memory cap (`memoryMb`, default 256 MiB); CPU budget per entry and per window, in
 * CPU time of the host thread (ADR 0031: a busy machine never stops an honest extension), with a generous wall-clock
 * hang limit per entry; a cap on hostcalls per entry (flood) and on pending async hostcalls and timers; a wall-clock
 * cap per invocation.
 * A runaway guest (deadline, memory, flood) stops the sandbox: the instance is disposed, pending work fails with
 * the typed error, and a `stopped` event is reported. Other sandboxes are separate instances and keep working.
 */
import type { Dispatcher, HostcallResult } from '../dispatch/index.ts';
import { EXTENSION_ERROR_CODES, WardenError, type WardenErrorCode } from '../errors.ts';
import type { ExtensionBundle } from './bundle.ts';
import { legacyEventsFor } from './contract.ts';
import { engineFingerprint, GuestEngine, GuestFailure, threadCpuMs } from './engine.ts';
import { SealedCache, sha256 } from './bundleCache.ts';
import { bootedGuest } from './boot.ts';
import type { BreachSink } from '../evidence/index.ts';

/**
 * Why a sandbox refused or stopped: a load failure, a re-entrant call, an exception in the guest, and the limits
 * (each limit's code is what `#recordBreach` turns into a quota breach).
 */
export const SANDBOX_REASONS = [
  'load_failed',
  'reentrant',
  'guest_exception',
  'engine_fault',
  'cpu_deadline',
  'cpu_window',
  'entry_hang',
  'memory_cap',
  'wall_time',
  'hostcall_flood',
  'frame_deadline',
  'frame_output',
] as const;
export type SandboxReason = (typeof SANDBOX_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    sandbox: SandboxReason;
  }
}

export interface SandboxLimits {
  /** Memory cap of the guest heap. Default 256 (SPEC §7; `QuotaSettings.memoryMb`). */
  readonly memoryMb: number;
  /** CPU time one entry into the guest may use (an event, a tool call, a timer, a hostcall result). */
  readonly cpuMsPerEntry: number;
  /** CPU time evaluating the bundle and running the factory may use. */
  readonly loadCpuMs: number;
  /** Wall-clock time one entry may run whatever its CPU use (a hang, not work): far above any CPU budget. */
  readonly entryHangMs: number;
  /** Wall-clock cap for one invocation (load, event, tool, command) to settle. */
  readonly wallTimeMs: number;
  /** Hostcalls one entry may make before the sandbox is stopped as flooding. */
  readonly maxHostcallsPerEntry: number;
  readonly maxPendingHostcalls: number;
  readonly maxPendingTimers: number;
  /** Largest JSON payload accepted from or sent to the guest, in bytes (UTF-16 units). */
  readonly maxPayloadBytes: number;
  /**
   * CPU time all entries into the guest may use within one `windowMs` (SPEC §7.4), counted once the extension has
   * loaded: how long one extension may hold the host's event loop per window. 0 = no window budget.
   */
  readonly cpuMsPerWindow: number;
  readonly windowMs: number;
  /** CPU time one TUI component call (a frame's render, a key, an invalidate) may use (see `component`). */
  readonly frameCpuMs: number;
  /** Wall-clock time one component call may run whatever its CPU use. */
  readonly frameHangMs: number;
  /** Lines one render may return. */
  readonly frameMaxLines: number;
  /** Characters (UTF-16 units) one render may return, escape codes included. */
  readonly frameMaxBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  memoryMb: 256,
  cpuMsPerEntry: 1000,
  loadCpuMs: 5000,
  entryHangMs: 30_000,
  wallTimeMs: 60_000,
  maxHostcallsPerEntry: 100_000,
  maxPendingHostcalls: 1024,
  maxPendingTimers: 1000,
  maxPayloadBytes: 8 * 1024 * 1024,
  cpuMsPerWindow: 250,
  windowMs: 1000,
  frameCpuMs: 50,
  frameHangMs: 1000,
  frameMaxLines: 2000,
  frameMaxBytes: 1024 * 1024,
});

/** One of pi's built-in tools, as data (see src/probe/builtinTools.ts). */
export interface BuiltinToolDescription {
  readonly label: string;
  readonly description: string;
  readonly parameters: unknown;
}

/** What the host tells the guest about its world; plain data. */
export interface BootInfo {
  readonly cwd: string;
  readonly home: string;
  readonly tmpdir: string;
  readonly platform: string;
  readonly arch: string;
  readonly nodeVersion: string;
  readonly username: string;
  /** pi's built-in tool descriptions, when the host has them (wrapping extensions register pi's exact schema). */
  readonly builtinTools?: Readonly<Record<string, BuiltinToolDescription>>;
}

export type SandboxEvent =
  | {
      readonly type: 'stopped';
      readonly extensionId: string;
      readonly code: WardenErrorCode;
      readonly reason: string;
      readonly ts_ms: number;
    }
  | {
      readonly type: 'invocation_failed';
      readonly extensionId: string;
      readonly target: string;
      readonly code: WardenErrorCode;
      readonly reason: string;
      readonly ts_ms: number;
    };

export interface SandboxOptions {
  readonly extensionId: string;
  readonly dispatcher: Dispatcher;
  readonly boot: BootInfo;
  readonly limits?: Partial<SandboxLimits>;
  readonly onEvent?: (event: SandboxEvent) => void;
  /** Where resource breaches go as `{extension_id, resource, limit, actual, ts_ms}` (SPEC §7.4). */
  readonly breaches?: BreachSink;
  /** The wall clock invocations are timed with, in ms (default `performance.now`): what a wall-time breach records. */
  readonly clock?: () => number;
  /**
   * The CPU clock guest entries are charged with, in ms (default: CPU time of the host thread): what a CPU breach
   * records and what the CPU window charges. The per-entry budget itself fires on the engine's interrupt.
   */
  readonly cpuClock?: () => number;
  /** Where the booted guest is kept across processes (boot.ts; the bridge: `<home>/cache/boot`); default: this process only. */
  readonly bootCacheDir?: string;
  /**
   * Where an extension's compiled code is kept across processes (the bridge: `<home>/cache/code`), one sealed entry
   * per entry file; default: compiled on every load.
   */
  readonly codeCacheDir?: string;
  /**
   * Told the length of every text that crosses the boundary: into the guest (`in`: invocations, hostcall
   * replies, async results) and out of it (`out`: hostcalls, settles). For measurement; no effect on the sandbox.
   */
  readonly meter?: (direction: 'in' | 'out', what: string, chars: number) => void;
  /** Told how many promise jobs each invocation's entry ran in the guest (`what`: its target). For measurement. */
  readonly jobs?: (what: string, count: number) => void;
}

/** The host context an invocation carries into `ctx` (data only). */
export interface InvocationContext {
  readonly cwd?: string;
  readonly hasUI?: boolean;
  readonly mode?: string;
  readonly model?: unknown;
  readonly thinkingLevel?: string;
  readonly projectTrusted?: boolean;
  /**
   * The guest ctx gets an AbortSignal (pi's `ctx.signal`, defined while the agent streams). Set by the sandbox when
   * the call is given a host AbortSignal, whose abort then fires the guest's; without either `ctx.signal` is undefined.
   */
  readonly signal?: boolean;
  /** A tool's `ctx.tools` (pi 1.5.2+): the tools its `ctx.executeTool` can call, as data. */
  readonly tools?: readonly unknown[];
}

/** The guest's answer to an invocation: its value, or the error the extension's code threw. */
export type Settled =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export interface HandlerOutcome {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { code: string; message: string };
}
/** What one handler did (`emitHandler`): its return value or error, and the payload as it left the handler. */
export type HandlerRun =
  | { readonly ok: true; readonly value: unknown; readonly payload: Record<string, unknown> }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string }; readonly payload: Record<string, unknown> };

export interface EventOutcome {
  readonly event: string;
  readonly results: readonly HandlerOutcome[];
  readonly input?: unknown;
}

/** A call pi makes on a component synchronously (render, input, invalidate, ...), as data; see guest/components.ts. */
export type ComponentCall = Readonly<Record<string, unknown>> & { readonly op: string };

/**
 * The answer to a component call. A render's value is its lines, or `'unchanged'` when the component returned the
 * very array of its previous render at the same width (pi-tui's components cache theirs). `overrun` names the limit a call went over (the component must be replaced by a
 * notice: a quota breach is recorded); a failure without it is the extension's own exception, or a stopped sandbox.
 */
export type ComponentAnswer =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly overrun?: 'frame_deadline' | 'frame_output';
      readonly busy?: true;
      readonly error: { readonly code: string; readonly message: string };
    };

/** What a component tells the host between calls: redraw, or a `ui.custom` overlay is done with this value. */
export type ComponentSignal =
  { readonly signal: 'requestRender'; readonly id: number } | { readonly signal: 'done'; readonly id: number; readonly value: unknown };

interface PendingInvocation {
  readonly resolve: (s: Settled) => void;
  readonly reject: (e: WardenError) => void;
  /** What was invoked (`tool`, `handler`, …), for the wall-time error. */
  readonly what: string;
  /** When, on the sandbox's wall clock (`SandboxOptions.clock`); the wall-time limit later fails it. */
  readonly invoked: number;
}

/** The ctx as the guest receives it: `signal: true` when the host can abort the invocation. */
function withSignal(ctx: InvocationContext, signal: AbortSignal | undefined): InvocationContext {
  return signal === undefined ? ctx : { ...ctx, signal: true };
}

function reply(result: HostcallResult): string {
  return result.ok
    ? JSON.stringify({ ok: true, value: result.value ?? null })
    : JSON.stringify({ ok: false, error: result.error.toWire() });
}

function errorReply(code: WardenErrorCode, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message } });
}

/** Payload text longer than this crosses into a handler only if it reads it (see Sandbox.emitHandler). */
const LAZY_TEXT_CHARS = 1024;

/**
 * Text that may hold a `__proto__` key: literally, or with one of its letters as a \u escape (`"\u005f_proto__"`
 * is the same key to JSON.parse). One scan; JSON.parse with a reviver on every payload measured 5-7x slower.
 */
const PROTO_KEY = /__proto__|\\u00(?:5[fF]|6[fF]|7[024])/;

/** JSON from the guest: `__proto__` keys are dropped so no host object can get a guest-chosen prototype. */
export function parseGuest(text: string): unknown {
  return PROTO_KEY.test(text) ? JSON.parse(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)) : JSON.parse(text);
}

/**
 * An element of a synced array as it crosses, kept per element object: pi hands every handler of one emit the same
 * message objects (a fresh clone per emit), so each is serialized once per emit, not once per extension.
 *
 * A plain object with an object-valued field crosses split at its top level (guest/synced.ts reads it): `SPLIT`, the
 * length of the header, `SPLIT`, the header, then the JSON of each object-valued field in key order, back to back.
 * The header is `[fields, objectKeys]`: the object with each object-valued field replaced by the length of its JSON,
 * and the names of those fields. A handler that reads `m.role` parses a header of a few dozen bytes instead of the
 * whole message (a tool result can be 100 KB), and no field is copied out of the text until it is read. Anything
 * else crosses as its JSON, which never starts with a raw U+0001. An object with a `toJSON` crosses whole; a field's
 * `toJSON` is called without its key (pi's messages are structured clones: plain data, Dates at most).
 */
const SPLIT = '\u0001';
const elementTexts = new WeakMap<object, string>();
function elementJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  let text = elementTexts.get(v);
  if (text === undefined) {
    text = splitElement(v) ?? JSON.stringify(v) ?? 'null';
    elementTexts.set(v, text);
  }
  return text;
}

/**
 * The split form of a plain object with an object-valued field; undefined for anything else. Measured on a 90-message
 * conversation (25-300 KB) through a filter on `m.role`: 20-50% less time than parsing and re-serializing each whole
 * message in the guest, more the larger the messages; never slower for messages of a few hundred bytes.
 */
function splitElement(v: object): string | undefined {
  if (Array.isArray(v) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return undefined;
  let header = '';
  let keys = '';
  let fields = '';
  for (const k of Object.keys(v)) {
    const json = JSON.stringify((v as Record<string, unknown>)[k]);
    // Left out by JSON.stringify (undefined, a function, a symbol): left out here.
    if (json === undefined) continue;
    const key = JSON.stringify(k);
    const c = json.charCodeAt(0);
    const object = c === 0x7b || c === 0x5b;
    header += `${header === '' ? '' : ','}${key}:${object ? json.length : json}`;
    if (!object) continue;
    keys += `${keys === '' ? '' : ','}${key}`;
    fields += json;
  }
  if (fields === '') return undefined;
  header = `[{${header}},[${keys}]]`;
  return `${SPLIT}${header.length}${SPLIT}${header}${fields}`;
}

/**
 * Puts back the synced arrays a handler changed into `into` (its payload or its returned value): each element the
 * guest names by index is the one sent, any other is the guest's value. Undefined when the changes are malformed.
 */
function rebuildSynced(
  sent: Record<string, unknown>,
  changes: unknown,
  into: Record<string, unknown>,
): Record<string, unknown> | undefined {
  if (changes === undefined || changes === null) return into;
  if (typeof changes !== 'object') return undefined;
  for (const [k, list] of Object.entries(changes)) {
    const original = sent[k];
    if (!Array.isArray(list) || !Array.isArray(original)) return undefined;
    const out: unknown[] = [];
    for (const e of list as unknown[]) {
      if (typeof e === 'number') {
        if (!Number.isInteger(e) || e < 0 || e >= original.length) return undefined;
        out.push(original[e]);
      } else if (e !== null && typeof e === 'object' && Object.hasOwn(e, 'value')) out.push((e as { value: unknown }).value);
      else if (e !== null && typeof e === 'object') out.push(undefined);
      else return undefined;
    }
    into[k] = out;
  }
  return into;
}

/**
 * JSON of a `ctx.tools` list the caller can no longer change: deeply frozen plain data (data properties only, no
 * functions), as the bridge hands over one copy per distinct pi tool list (pi/toolList.ts). Known by identity, its
 * text is made once; any other list is serialized on every call.
 */
const frozenToolsText = new WeakMap<object, string>();
function toolsText(tools: readonly unknown[]): string {
  const known = frozenToolsText.get(tools);
  if (known !== undefined) return known;
  const text = JSON.stringify(tools);
  if (immutableData(tools)) frozenToolsText.set(tools, text);
  return text;
}

function immutableData(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'function';
  if (!Object.isFrozen(v)) return false;
  for (const d of Object.values(Object.getOwnPropertyDescriptors(v))) if (!('value' in d) || !immutableData(d.value)) return false;
  return true;
}

export class Sandbox {
  readonly extensionId: string;
  readonly limits: SandboxLimits;
  readonly #dispatcher: Dispatcher;
  readonly #onEvent: ((e: SandboxEvent) => void) | undefined;
  readonly #breaches: BreachSink | undefined;
  readonly #clock: () => number;
  readonly #cpuClock: () => number;
  /** A CPU clock given in the options (tests): read around every entry; else the engine's own readings are used. */
  readonly #ownCpuClock: boolean;
  readonly #meter: SandboxOptions['meter'];
  readonly #jobs: SandboxOptions['jobs'];
  readonly #codeCache: SealedCache | undefined;
  #windowStart = Date.now();
  #windowCpuMs = 0;
  /** CPU time of the host's side of hostcalls made in the current entry (not charged to the window). */
  #hostCpuThisEntryMs = 0;
  /** The window budget counts from the end of the load (the load has its own `loadCpuMs`). */
  #windowOpen = false;
  /** How long the entry that ran past its CPU deadline really ran. */
  #overrunMs: number | undefined;
  #engine: GuestEngine | undefined;
  #stopped: WardenError | undefined;
  #inGuest = false;
  #callSeq = 0;
  #ticketSeq = 0;
  #hostcallsThisEntry = 0;
  /** Set inside an entry when the guest must be stopped once it returns (flood, out of memory). */
  #pendingStop: WardenError | undefined;
  readonly #pendingCalls = new Set<number>();
  /** Pending invocations, oldest first: all have the same wall-time limit, so also by deadline. */
  readonly #invocations = new Map<number, PendingInvocation>();
  /**
   * One wall-time timer for all invocations (#wallDue), armed for the oldest pending one and re-armed with
   * `refresh()`: a timer made and cleared per invocation cost every guest entry a Timeout and its async-hooks set-up.
   * It holds the process only while an invocation is pending.
   */
  #wallTimer: NodeJS.Timeout | undefined;
  #wallArmed = false;
  readonly #timers = new Map<number, NodeJS.Timeout>();
  /** Payloads of running handlers whose object fields the guest reads on demand (`field`), by lazy id. */
  readonly #lazy = new Map<number, Record<string, unknown>>();
  #lazySeq = 0;
  /** Per `event.field`, the JSON of each element of the array the guest holds (see emitHandler's synced fields). */
  readonly #synced = new Map<string, string[]>();
  #bundle: ExtensionBundle | undefined;
  /** The JSON of the last handler ctx sent; the guest keeps it (see #ctxOnce). */
  #ctxHeld: string | undefined;
  /** The JSON of the last `ctx.tools` sent; the guest takes it first thing in a tool entry (see #toolsOnce). */
  #toolsHeld: string | undefined;
  /** Components the host no longer holds: disposed in the guest at the next component call. */
  #goneComponents: number[] = [];
  #onComponentSignal: ((s: ComponentSignal) => void) | undefined;
  readonly #componentSignals: ComponentSignal[] = [];

  private constructor(options: SandboxOptions) {
    this.extensionId = options.extensionId;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#dispatcher = options.dispatcher;
    this.#onEvent = options.onEvent;
    this.#breaches = options.breaches;
    this.#clock = options.clock ?? (() => performance.now());
    this.#cpuClock = options.cpuClock ?? threadCpuMs;
    this.#ownCpuClock = options.cpuClock !== undefined;
    this.#meter = options.meter;
    this.#jobs = options.jobs;
    this.#codeCache = options.codeCacheDir === undefined ? undefined : new SealedCache(options.codeCacheDir);
  }

  /** Creates the instance and installs the guest runtime. */
  static async create(options: SandboxOptions): Promise<Sandbox> {
    const sandbox = new Sandbox(options);
    sandbox.#engine = await GuestEngine.create({
      memoryLimitBytes: sandbox.limits.memoryMb * 1024 * 1024,
      host:
        options.meter === undefined
          ? (op, payload) => sandbox.#host(op, payload)
          : (op, payload) => {
              options.meter?.('out', op, payload.length);
              const answer = sandbox.#host(op, payload);
              options.meter?.('in', op, answer.length);
              return answer;
            },
      // The runtime is already evaluated in this memory (boot.ts): a restore, not a parse and run.
      from: await bootedGuest(options.bootCacheDir),
    });
    try {
      sandbox.#guard('install the runtime', () => {
        const engine = sandbox.#engine as GuestEngine;
        engine.enter(
          'boot',
          JSON.stringify({ ...options.boot, extensionPath: '/extension.js' }),
          sandbox.limits.cpuMsPerEntry,
          sandbox.limits.entryHangMs,
        );
      });
    } catch (err) {
      sandbox.#engine.dispose();
      throw err;
    }
    return sandbox;
  }

  get stopped(): WardenError | undefined {
    return this.#stopped;
  }

  get bundle(): ExtensionBundle | undefined {
    return this.#bundle;
  }

  /** Guest heap in use, bytes (0 once stopped). */
  memoryUsed(): number {
    return this.#engine?.memoryUsed() ?? 0;
  }

  /** Bytes of WASM linear memory the instance holds (the restored template's, plus whatever the extension grew it by). */
  linearMemoryBytes(): number {
    return this.#engine?.linearMemoryBytes() ?? 0;
  }

  /** Evaluates the bundle and runs the extension's factory with the `pi` shim. Throws WardenError naming the file. */
  async load(bundle: ExtensionBundle): Promise<void> {
    if (this.#bundle !== undefined)
      throw new WardenError('invalid_request', `sandbox ${this.extensionId} already holds ${this.#bundle.entry}`);
    this.#bundle = bundle;
    const dir = bundle.entry.slice(0, bundle.entry.lastIndexOf('/'));
    this.#guard('boot', () =>
      this.#engine?.enter(
        'boot',
        JSON.stringify({ extensionPath: bundle.entry, entryDir: dir }),
        this.limits.cpuMsPerEntry,
        this.limits.entryHangMs,
      ),
    );
    try {
      // A module is evaluated by the guest's import() in the load invocation; a script is defined here, run there.
      if (bundle.format === 'esm') this.#engine?.defineModule(bundle.entry, bundle.code);
      else {
        const wrapped = `__wardenDefine(function (module, exports, require, __filename, __dirname) {\n${bundle.code}\n});`;
        this.#guard('evaluate the bundle', () => this.#evaluate(wrapped, bundle.entry));
      }
    } catch (err) {
      throw this.#loadError(bundle, err);
    }
    const settled = await this.#invoke({ type: 'load', module: bundle.format === 'esm' }, this.limits.loadCpuMs);
    if (!settled.ok) {
      throw new WardenError('invalid_request', `${bundle.entry}: the extension failed to load: ${settled.error.message}`, {
        where: bundle.entry,
        reasonCodes: ['load_failed'],
      });
    }
    this.#windowOpen = true;
    this.#windowStart = Date.now();
    this.#windowCpuMs = 0;
  }

  /**
   * Runs the wrapped bundle: from its compiled code when the code cache holds it for this text, engine and entry
   * (sealed: a file changed by anyone without the cache's key is not read), else compiled here and kept. The text's
   * hash is part of the entry, so an edited extension is never run from the code of its earlier version.
   */
  #evaluate(code: string, filename: string): void {
    const engine = this.#engine;
    if (engine === undefined) return;
    const cache = this.#codeCache;
    if (cache === undefined) {
      engine.evalScript(code, filename, this.limits.loadCpuMs, this.limits.entryHangMs);
      return;
    }
    const lookup = `extension-code\u0000${engineFingerprint()}\u0000${filename}`;
    const hash = Buffer.from(sha256(code), 'hex');
    const kept = cache.read(lookup);
    let bytecode: Uint8Array;
    if (kept !== undefined && kept.length > 32 && kept.subarray(0, 32).equals(hash)) bytecode = kept.subarray(32);
    else {
      bytecode = engine.compileScript(code, filename, true);
      cache.write(lookup, Buffer.concat([hash, bytecode]));
    }
    engine.evalBytecode(bytecode, this.limits.loadCpuMs, this.limits.entryHangMs);
  }

  #loadError(bundle: ExtensionBundle, err: unknown): WardenError {
    if (err instanceof WardenError && err.code !== 'invalid_request') return err;
    const message = err instanceof Error ? err.message : String(err);
    return new WardenError('invalid_request', `${bundle.entry}: the extension failed to load: ${message}`, {
      where: bundle.entry,
      reasonCodes: ['load_failed'],
      cause: err,
    });
  }

  /**
   * Fires one event to all this extension's handlers as one batch; also the legacy events derived from it
   * (session_switch/fork). `signal` becomes the handlers' `ctx.signal`.
   */
  async emit(event: string, payload: Record<string, unknown>, ctx: InvocationContext = {}, signal?: AbortSignal): Promise<EventOutcome[]> {
    const out: EventOutcome[] = [];
    for (const e of [{ event, payload: { type: event, ...payload } }, ...legacyEventsFor(event, payload)]) {
      const settled = await this.#invoke(
        { type: 'event', event: e.event, payload: e.payload, ctx: withSignal(ctx, signal) },
        this.limits.cpuMsPerEntry,
        signal,
      );
      if (!settled.ok) throw this.#eventError(e.event, settled.error);
      const value = settled.value as { results: HandlerOutcome[]; input?: unknown };
      out.push({ event: e.event, results: value.results, ...(value.input === undefined ? {} : { input: value.input }) });
    }
    return out;
  }

  /**
   * Runs exactly one handler, by the `handlerId` its `pi.on` registration carried (the bridge registers one pi
   * handler per guest handler, in that order). Returns the handler's value, or the error it threw, with the payload
   * as it is after the handler ran (pi lets a `tool_call` handler edit `input` in place; the caller copies it back).
   * A handler the extension unsubscribed gives `{ok: true, value: undefined}` and the payload unchanged. A stopped
   * sandbox, a wall-time overrun or a handler id of another event rejects with WardenError. `keep` names the payload
   * fields to bring back (the caller copies only those); without it the whole payload comes back. A kept field that
   * holds an array crosses as changes against the guest's copy: unchanged, the payload holds the very array sent; changed,
   * another array whose unchanged elements are the objects sent (so is such an array in the handler's returned value).
   */
  async emitHandler(
    event: string,
    handlerId: number,
    payload: Record<string, unknown>,
    ctx: InvocationContext = {},
    signal?: AbortSignal,
    keep?: readonly string[],
  ): Promise<HandlerRun> {
    const sent = { type: event, ...payload };
    // Object fields the handler cannot edit in place for pi cross only if it reads them (a turn_end carries the
    // whole conversation; most handlers never look). Without `keep` the whole payload comes back: all eager.
    let lazy: { id: number; fields: string[] } | undefined;
    let eager: Record<string, unknown> = sent;
    // Arrays the handler may edit in place (a context event's messages) cross as changes against the guest's copy.
    let synced: Record<string, { keep: number; tail: string[] }> | undefined;
    const syncKeys: string[] = [];
    if (keep !== undefined) {
      for (const [k, v] of Object.entries(sent)) {
        // Long text (a before_agent_start's system prompt, 10-20 KB in a real session) crosses only if read, as an
        // object does: the guest parses what it is sent at about 45 MB/s.
        const longText = typeof v === 'string' && v.length > LAZY_TEXT_CHARS && !keep.includes(k);
        if (!longText && (v === null || typeof v !== 'object')) continue;
        if (eager === sent) eager = { ...sent };
        // The key stays where pi put it (key order), the guest replaces it.
        eager[k] = null;
        if (!keep.includes(k)) {
          lazy ??= { id: ++this.#lazySeq, fields: [] };
          lazy.fields.push(k);
        } else if (Array.isArray(v)) {
          const update = this.#syncUpdate(`${event}.${k}`, v);
          if (typeof update === 'string') return { ok: false, error: { code: 'invalid_request', message: update }, payload: sent };
          (synced ??= {})[k] = update;
          syncKeys.push(`${event}.${k}`);
        } else eager[k] = v;
      }
    }
    if (lazy !== undefined) this.#lazy.set(lazy.id, sent);
    let settled: Settled;
    try {
      settled = await this.#invoke(
        {
          type: 'handler',
          event,
          handlerId,
          payload: eager,
          ...this.#ctxOnce(ctx),
          ...(signal === undefined ? {} : { signal: true }),
          keep,
          ...(lazy === undefined ? {} : { lazy }),
          ...(synced === undefined ? {} : { synced }),
        },
        this.limits.cpuMsPerEntry,
        signal,
      );
    } catch (err) {
      // Whether the guest took the update is unknown: the next emit sends the whole array (and the whole ctx).
      for (const key of syncKeys) this.#synced.delete(key);
      this.#ctxHeld = undefined;
      throw err;
    } finally {
      // A field read after the handler settled is refused in the guest: the host keeps no event past its handler.
      if (lazy !== undefined) this.#lazy.delete(lazy.id);
    }
    if (!settled.ok) {
      for (const key of syncKeys) this.#synced.delete(key);
      this.#ctxHeld = undefined;
      // A return value that is not plain data fails the whole settle: the handler failed, its edits are unknown.
      if (settled.error.code === 'invalid_request' && settled.error.message.startsWith('result is not plain data'))
        return { ok: false, error: settled.error, payload: sent };
      throw this.#eventError(event, settled.error);
    }
    const run = settled.value as {
      ok?: unknown;
      value?: unknown;
      valueSynced?: unknown;
      error?: { code: string; message: string };
      payload?: unknown;
      synced?: unknown;
    };
    const returned = run.payload !== null && typeof run.payload === 'object' ? (run.payload as Record<string, unknown>) : undefined;
    // With `keep`, only those fields came back: the rest is as it was sent.
    const after = returned === undefined ? sent : keep === undefined ? returned : { ...sent, ...returned };
    let value = run.value;
    if (synced !== undefined) {
      const rebuilt = rebuildSynced(sent, run.synced, after);
      const rebuiltValue =
        value !== null && typeof value === 'object' ? rebuildSynced(sent, run.valueSynced, { ...(value as Record<string, unknown>) }) : {};
      if (rebuilt === undefined || rebuiltValue === undefined) {
        for (const key of syncKeys) this.#synced.delete(key);
        return {
          ok: false,
          error: { code: 'invalid_request', message: `${event} handler: edits of the event came back malformed` },
          payload: sent,
        };
      }
      if (value !== null && typeof value === 'object') value = rebuiltValue;
    }
    return run.ok === true
      ? { ok: true, value, payload: after }
      : { ok: false, error: run.error ?? { code: 'extension_error', message: 'failed' }, payload: after };
  }

  /**
   * A handler's ctx data as it crosses: in full when it differs from what the guest holds, else only `ctxHeld` (the
   * guest keeps the last one, guest/index.ts runHandler). It rarely changes between handlers, and every text the
   * guest parses costs it about 45 MB/s.
   */
  #ctxOnce(ctx: InvocationContext): { ctx: InvocationContext } | { ctxHeld: true } {
    const text = JSON.stringify(ctx);
    if (text === this.#ctxHeld) return { ctxHeld: true };
    this.#ctxHeld = text;
    return { ctx };
  }

  /**
   * What the guest needs to hold `array` as the elements' JSON: how many of the elements it holds for `key` are still
   * right, and the JSON of the rest. Recorded as what the guest holds once it has this (taken back if the entry fails).
   * A string when the array is not plain data.
   */
  #syncUpdate(key: string, array: readonly unknown[]): { keep: number; tail: string[] } | string {
    const json: string[] = new Array<string>(array.length);
    try {
      for (let i = 0; i < array.length; i++) json[i] = elementJson(array[i]);
    } catch (err) {
      this.#synced.delete(key);
      return `event field ${key} is not plain data: ${err instanceof Error ? err.message : String(err)}`;
    }
    const held = this.#synced.get(key) ?? [];
    let same = 0;
    while (same < held.length && same < json.length && held[same] === json[same]) same++;
    this.#synced.set(key, json);
    return { keep: same, tail: json.slice(same) };
  }

  #eventError(event: string, error: { code: string; message: string }): WardenError {
    const code = (EXTENSION_ERROR_CODES as readonly string[]).includes(error.code) ? (error.code as WardenErrorCode) : 'internal';
    return new WardenError(code, `event ${event}: ${error.message}`);
  }

  /**
   * Runs a registered tool's `execute`. An extension that throws gives `{ok: false}` (pi: an isError result).
   * When `signal` aborts, the tool's own AbortSignal (also its `ctx.signal`) fires inside the sandbox (pi's Esc);
   * the tool decides how to end.
   */
  async runTool(name: string, toolCallId: string, params: unknown, ctx: InvocationContext = {}, signal?: AbortSignal): Promise<Settled> {
    try {
      const target = { type: 'tool', name, toolCallId, params, ...this.#toolContext(ctx) };
      const settled = await this.#invoke(target, this.limits.cpuMsPerEntry, signal);
      if (!settled.ok) this.#forgetHeld();
      return settled;
    } catch (err) {
      this.#forgetHeld();
      throw err;
    }
  }

  /**
   * A tool's ctx data as it crosses: the ctx without its tools as a handler's (#ctxOnce: only `ctxHeld` when the guest
   * holds the same), and `ctx.tools` as its JSON text when it differs from the list the guest holds, else only
   * `toolsHeld` (pi's built-in tools alone are 5 KB, parsed in the guest on every call: 65 µs of a 118 µs echo call,
   * measured). The guest keeps the text and parses it only for a tool that reads `ctx.tools`.
   */
  #toolContext(ctx: InvocationContext): Record<string, unknown> {
    const { tools, ...rest } = ctx;
    // Read before anything is noted as held: a list that cannot be serialized leaves the held state as it was.
    const text = tools === undefined ? undefined : toolsText(tools);
    const held = this.#ctxOnce(rest);
    if (text === undefined) return held;
    if (text === this.#toolsHeld) return { ...held, toolsHeld: true };
    this.#toolsHeld = text;
    return { ...held, toolsJson: text };
  }

  /**
   * After an entry that failed, whether the guest took what it was sent (the ctx, the tool list, a context event's
   * messages) is unknown: the next entry sends it whole.
   */
  #forgetHeld(): void {
    this.#ctxHeld = undefined;
    this.#toolsHeld = undefined;
    this.#synced.clear();
  }

  /** Runs a command's handler; `signal` becomes its `ctx.signal`. */
  runCommand(name: string, args: string, ctx: InvocationContext = {}, signal?: AbortSignal): Promise<Settled> {
    return this.#invoke({ type: 'command', name, args, ctx: withSignal(ctx, signal) }, this.limits.cpuMsPerEntry, signal);
  }

  /** A command's `getArgumentCompletions(prefix)`: its items, or null when it has none. */
  completeCommand(name: string, prefix: string): Promise<Settled> {
    return this.#invoke({ type: 'completions', name, prefix });
  }

  runShortcut(key: string, ctx: InvocationContext = {}, signal?: AbortSignal): Promise<Settled> {
    return this.#invoke({ type: 'shortcut', key, ctx: withSignal(ctx, signal) }, this.limits.cpuMsPerEntry, signal);
  }

  /** Delivers a message of the shared `pi.events` bus to this extension's listeners. */
  deliverBus(channel: string, data: unknown): Promise<Settled> {
    return this.#invoke({ type: 'bus', channel, data });
  }

  /** Hard stop: disposes the instance; pending work fails with `error`. Idempotent. */
  stop(error: WardenError = new WardenError('quarantined', `sandbox ${this.extensionId} was stopped`)): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = error;
    this.#engine?.dispose();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    clearTimeout(this.#wallTimer);
    this.#wallArmed = false;
    for (const [ticket, inv] of this.#invocations) {
      this.#invocations.delete(ticket);
      inv.reject(error);
    }
    this.#pendingCalls.clear();
    this.#recordBreach(error, this.#overrunMs);
    this.#onEvent?.({ type: 'stopped', extensionId: this.extensionId, code: error.code, reason: error.message, ts_ms: Date.now() });
  }

  /**
   * A stop or failure caused by a limit is a quota breach. `actual` is what was measured: memory in use, the time
   * the entry or invocation really ran (`measuredMs`; at least the limit), the count that went over.
   */
  #recordBreach(error: WardenError, measuredMs?: number): void {
    // Timers may fire a fraction of a millisecond early against the clock: never report under the limit.
    const ms = (limit: number) => (measuredMs === undefined ? limit : Math.max(limit, Math.ceil(measuredMs * 10) / 10));
    const codes = error.reasonCodes;
    let breach: { resource: string; limit: number; actual: number } | undefined;
    if (codes.includes('memory_cap')) {
      let used = this.limits.memoryMb;
      try {
        used = Math.max(used, this.memoryUsed() / (1024 * 1024));
      } catch {
        // the engine is gone: the cap is the lower bound
      }
      breach = { resource: 'memory_mb', limit: this.limits.memoryMb, actual: Math.round(used * 10) / 10 };
    } else if (codes.includes('cpu_deadline'))
      breach = { resource: 'cpu_ms_per_call', limit: this.limits.cpuMsPerEntry, actual: ms(this.limits.cpuMsPerEntry) };
    else if (codes.includes('hostcall_flood'))
      breach = { resource: 'hostcalls_per_entry', limit: this.limits.maxHostcallsPerEntry, actual: this.limits.maxHostcallsPerEntry + 1 };
    else if (codes.includes('wall_time'))
      breach = { resource: 'wall_time_ms', limit: this.limits.wallTimeMs, actual: ms(this.limits.wallTimeMs) };
    else if (codes.includes('entry_hang'))
      breach = { resource: 'entry_hang_ms', limit: this.limits.entryHangMs, actual: this.limits.entryHangMs };
    else if (codes.includes('cpu_window'))
      // Rounded up: a window over its limit by a fraction of a millisecond must not read as exactly the limit.
      breach = { resource: 'cpu_ms_per_window', limit: this.limits.cpuMsPerWindow, actual: Math.ceil(this.#windowCpuMs) };
    if (breach === undefined) return;
    try {
      this.#breaches?.recordBreach({ extension_id: this.extensionId, ...breach, ts_ms: Date.now() });
    } catch {
      // the stop stands even if the breach cannot be recorded
    }
  }

  dispose(): void {
    this.stop(new WardenError('quarantined', `sandbox ${this.extensionId} was disposed`));
  }

  // ---------------------------------------------------------------- TUI components

  /** Where `requestRender` and `done` of this extension's components go (the bridge's component layer). */
  set onComponentSignal(fn: ((s: ComponentSignal) => void) | undefined) {
    this.#onComponentSignal = fn;
  }

  /** A component the host dropped without disposing (pi forgot a rendered message): disposed at the next call. */
  forgetComponent(id: number): void {
    if (this.#goneComponents.length < 10_000) this.#goneComponents.push(id);
  }

  /**
   * The synchronous entry for pi's TUI (issue 23): one component call answered before it returns, as pi's `render`,
   * `handleInput` and `invalidate` are synchronous. Bounded per call by `frameCpuMs` of CPU time (and `frameHangMs` of
   * wall time), and a render by `frameMaxLines` and `frameMaxBytes`: a call over one of them records a quota breach and
   * answers `overrun`, and the caller replaces the component; the sandbox keeps running (QuickJS's interrupt unwinds
   * the guest cleanly, and nothing of the overrunning call is kept). Memory, flood and engine faults stop the sandbox
   * as in every other entry. A call while the guest runs (a component asked for from inside a hostcall) is refused
   * as `busy`, never nested.
   */
  component(call: ComponentCall): ComponentAnswer {
    if (this.#stopped !== undefined) return { ok: false, error: { code: this.#stopped.code, message: this.#stopped.message } };
    const engine = this.#engine;
    if (engine === undefined || this.#inGuest)
      return {
        ok: false,
        busy: true,
        error: { code: 'invalid_request', message: `sandbox ${this.extensionId} is running; component call deferred` },
      };
    const gone = this.#goneComponents;
    this.#goneComponents = [];
    const payload = JSON.stringify(gone.length === 0 ? call : { ...call, gone });
    this.#inGuest = true;
    this.#hostcallsThisEntry = 0;
    this.#hostCpuThisEntryMs = 0;
    const entered = this.#entryCpu();
    let text: string;
    try {
      text = engine.enter('component', payload, this.limits.frameCpuMs, this.limits.frameHangMs);
    } catch (err) {
      return this.#componentFailure(call.op, err, entered);
    } finally {
      this.#inGuest = false;
      this.#chargeCpu(Math.max(0, this.#entryCpu() - entered - this.#hostCpuThisEntryMs));
      const pending = this.#pendingStop;
      this.#pendingStop = undefined;
      if (pending !== undefined) this.stop(pending);
      this.#deliverComponentSignals();
    }
    const stopped = this.stopped;
    if (stopped !== undefined) return { ok: false, error: { code: stopped.code, message: stopped.message } };
    let answer: { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
    try {
      answer = parseGuest(text) as typeof answer;
    } catch {
      return { ok: false, error: { code: 'internal', message: `${call.op}: the guest's answer is not JSON` } };
    }
    if (answer.ok !== true) {
      const code = typeof answer.error?.code === 'string' ? answer.error.code : 'extension_error';
      const message = typeof answer.error?.message === 'string' ? answer.error.message : 'failed';
      if (code === 'out_of_memory') {
        this.stop(
          new WardenError('quota_exceeded', `${this.extensionId}: ${message} (component ${call.op}); sandbox stopped`, {
            reasonCodes: ['memory_cap'],
          }),
        );
      }
      return { ok: false, error: { code, message } };
    }
    if (call.op === 'render') return this.#renderedLines(answer.value);
    if (call.op === 'markdown') return this.#transformedMarkdown(answer.value, typeof call.markdown === 'string' ? call.markdown : '');
    return { ok: true, value: answer.value ?? null };
  }

  /**
   * A markdown transformer's answer within the render caps (pi draws it as a message), or within the size of the
   * markdown it was given when that is larger: over them, a breach and `overrun`.
   */
  #transformedMarkdown(value: unknown, given: string): ComponentAnswer {
    if (typeof value !== 'string') return { ok: true, value: null };
    const lineCount = (s: string) => s.split('\n').length;
    const maxLines = Math.max(this.limits.frameMaxLines, lineCount(given));
    const maxChars = Math.max(this.limits.frameMaxBytes, given.length);
    const over: [string, number, number, string] | undefined =
      value.length > maxChars
        ? ['frame_bytes', maxChars, value.length, 'characters']
        : lineCount(value) > maxLines
          ? ['frame_lines', maxLines, lineCount(value), 'lines']
          : undefined;
    if (over === undefined) return { ok: true, value };
    const [resource, limit, actual, unit] = over;
    this.#frameBreach(resource, limit, actual);
    return {
      ok: false,
      overrun: 'frame_output',
      error: { code: 'quota_exceeded', message: `markdown transformer returned ${actual} ${unit}, more than the limit of ${limit}` },
    };
  }

  /** A render's lines within the output caps, as strings; over a cap: a breach and `overrun`. `unchanged` passes. */
  #renderedLines(value: unknown): ComponentAnswer {
    if (value === 'unchanged') return { ok: true, value };
    const lines = Array.isArray(value) ? (value as unknown[]) : [];
    const { frameMaxLines: maxLines, frameMaxBytes: maxBytes } = this.limits;
    if (lines.length > maxLines) {
      this.#frameBreach('frame_lines', maxLines, lines.length);
      return {
        ok: false,
        overrun: 'frame_output',
        error: { code: 'quota_exceeded', message: `render returned ${lines.length} lines, more than the limit of ${maxLines}` },
      };
    }
    const out = new Array<string>(lines.length);
    let chars = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // pi's TUI takes strings only: anything else renders as an empty line
      out[i] = typeof line === 'string' ? line : '';
      chars += out[i]!.length;
    }
    if (chars > maxBytes) {
      this.#frameBreach('frame_bytes', maxBytes, chars);
      return {
        ok: false,
        overrun: 'frame_output',
        error: { code: 'quota_exceeded', message: `render returned ${chars} characters, more than the limit of ${maxBytes}` },
      };
    }
    return { ok: true, value: out };
  }

  #componentFailure(op: string, err: unknown, entered: number): ComponentAnswer {
    if (err instanceof GuestFailure && (err.kind === 'interrupted' || err.kind === 'hung')) {
      const used = Math.ceil((this.#entryCpu() - entered) * 10) / 10;
      if (err.kind === 'interrupted') this.#frameBreach('cpu_ms_per_frame', this.limits.frameCpuMs, Math.max(this.limits.frameCpuMs, used));
      else this.#frameBreach('frame_hang_ms', this.limits.frameHangMs, this.limits.frameHangMs);
      return { ok: false, overrun: 'frame_deadline', error: { code: 'timeout', message: `component ${op}: ${err.message}` } };
    }
    // Memory, an engine fault, or an exception outside the guest's own handling: as in every other entry.
    const reason = err instanceof GuestFailure && err.kind === 'out_of_memory' ? 'memory_cap' : 'engine_fault';
    const message = err instanceof Error ? err.message : String(err);
    this.stop(
      new WardenError(
        reason === 'memory_cap' ? 'quota_exceeded' : 'internal',
        `${this.extensionId}: ${message} (component ${op}); sandbox stopped`,
        {
          reasonCodes: [reason],
        },
      ),
    );
    return { ok: false, error: { code: this.#stopped?.code ?? 'internal', message } };
  }

  #frameBreach(resource: string, limit: number, actual: number): void {
    try {
      this.#breaches?.recordBreach({ extension_id: this.extensionId, resource, limit, actual, ts_ms: Date.now() });
    } catch {
      // the component is replaced even if the breach cannot be recorded
    }
  }

  /** A component's signal from inside an entry: kept, and handed on once the guest has returned (never nested). */
  #componentSignal(payload: string): string {
    const flood = this.#countHostcall();
    if (flood !== undefined) return flood;
    let msg: { signal?: unknown; id?: unknown; value?: unknown };
    try {
      msg = parseGuest(payload) as typeof msg;
    } catch {
      return errorReply('invalid_request', 'component signal is not valid JSON');
    }
    const id = Number(msg.id);
    if (msg.signal === 'requestRender') {
      if (!this.#componentSignals.some((s) => s.signal === 'requestRender' && s.id === id))
        this.#componentSignals.push({ signal: 'requestRender', id });
    } else if (msg.signal === 'done') this.#componentSignals.push({ signal: 'done', id, value: msg.value ?? null });
    else return errorReply('invalid_request', `unknown component signal ${JSON.stringify(String(msg.signal).slice(0, 40))}`);
    if (!this.#inGuest) this.#deliverComponentSignals();
    return '{"ok":true}';
  }

  #deliverComponentSignals(): void {
    if (this.#componentSignals.length === 0) return;
    const signals = this.#componentSignals.splice(0);
    const to = this.#onComponentSignal;
    if (to === undefined || this.#stopped !== undefined) return;
    // After the entry and outside it: pi's done() disposes the overlay, which is itself a component call.
    queueMicrotask(() => {
      for (const s of signals) {
        try {
          to(s);
        } catch {
          // pi's side of a redraw failing is pi's; the guest is not affected
        }
      }
    });
  }

  // ---------------------------------------------------------------- entries into the guest

  /** One synchronous entry: refuses re-entry, applies the deadline, stops the sandbox on a runaway guest. */
  #guard<T>(what: string, fn: () => T): T {
    if (this.#stopped !== undefined) throw this.#stopped;
    if (this.#inGuest) {
      throw new WardenError('invalid_request', `re-entrant call into sandbox ${this.extensionId} (${what}) while it is running; refused`, {
        reasonCodes: ['reentrant'],
      });
    }
    this.#inGuest = true;
    this.#hostcallsThisEntry = 0;
    this.#hostCpuThisEntryMs = 0;
    const entered = this.#entryCpu();
    try {
      return fn();
    } catch (err) {
      if (err instanceof GuestFailure) {
        if (err.kind === 'interrupted') {
          // What the entry really used, recorded with the breach (the interrupt fires some time after the budget).
          this.#overrunMs = this.#entryCpu() - entered;
          this.stop(
            new WardenError('timeout', `${this.extensionId}: ${err.message} (${what}); sandbox stopped`, { reasonCodes: ['cpu_deadline'] }),
          );
        } else if (err.kind === 'hung')
          this.stop(
            new WardenError('timeout', `${this.extensionId}: ${err.message} (${what}); sandbox stopped`, { reasonCodes: ['entry_hang'] }),
          );
        else if (err.kind === 'out_of_memory')
          this.stop(
            new WardenError('quota_exceeded', `${this.extensionId}: ${err.message} (${what}); sandbox stopped`, {
              reasonCodes: ['memory_cap'],
            }),
          );
        else if (err.kind === 'host_fault')
          this.stop(
            new WardenError('internal', `${this.extensionId}: ${err.message} (${what}); sandbox stopped`, {
              reasonCodes: ['engine_fault'],
            }),
          );
        else throw new WardenError('invalid_request', `${this.extensionId}: ${what}: ${err.message}`, { reasonCodes: ['guest_exception'] });
        throw this.stopped ?? new WardenError('internal', err.message);
      }
      throw err;
    } finally {
      this.#inGuest = false;
      this.#chargeCpu(Math.max(0, this.#entryCpu() - entered - this.#hostCpuThisEntryMs));
      // A flood or an out-of-memory seen inside the entry stops the sandbox once the guest has returned control.
      const pending = this.#pendingStop;
      this.#pendingStop = undefined;
      if (pending !== undefined) this.stop(pending);
      this.#deliverComponentSignals();
    }
  }

  /**
   * CPU budget per window: CPU time spent inside the guest is summed per fixed window of wall time; going over stops
   * the sandbox (`quota_exceeded`, `cpu_window`). Bounds an extension that stays under the per-entry budget but never
   * rests (20 timers each busy 900 ms held the host's event loop 18 s of every 20).
   */
  #chargeCpu(ms: number): void {
    const budget = this.limits.cpuMsPerWindow;
    if (budget <= 0 || !this.#windowOpen || this.#stopped !== undefined) return;
    const now = Date.now();
    if (now - this.#windowStart >= this.limits.windowMs) {
      this.#windowStart = now;
      this.#windowCpuMs = 0;
    }
    this.#windowCpuMs += ms;
    if (this.#windowCpuMs > budget) {
      this.#pendingStop ??= new WardenError(
        'quota_exceeded',
        `${this.extensionId}: used ${Math.round(this.#windowCpuMs)} ms of CPU within ${this.limits.windowMs} ms (limit ${budget} ms); sandbox stopped`,
        { reasonCodes: ['cpu_window'] },
      );
    }
  }

  /** Arms the wall-time timer for a new invocation unless it is armed; it holds the process while one is pending. */
  #armWallTimer(): void {
    if (!this.#wallArmed) {
      this.#wallArmed = true;
      if (this.#wallTimer === undefined) this.#wallTimer = setTimeout(() => this.#wallDue(), this.limits.wallTimeMs);
      // (a timer last made for a shorter wait fires early: #wallDue then arms it again for the rest)
      else this.#wallTimer.refresh();
    }
    this.#wallTimer?.ref();
  }

  /** An invocation that ended (settled, failed to start, timed out): the timer stops holding the process when none is left. */
  #settled(ticket: number): void {
    this.#invocations.delete(ticket);
    if (this.#invocations.size === 0) this.#wallTimer?.unref();
  }

  /** The wall-time timer fired: fails every invocation past its deadline, oldest first, and arms for the next. */
  #wallDue(): void {
    this.#wallArmed = false;
    const now = this.#clock();
    for (const [ticket, inv] of this.#invocations) {
      const due = inv.invoked + this.limits.wallTimeMs;
      if (due > now) {
        this.#wallArmed = true;
        this.#wallTimer = setTimeout(() => this.#wallDue(), Math.ceil(due - now));
        return;
      }
      this.#settled(ticket);
      const error = new WardenError('timeout', `${this.extensionId}: ${inv.what} did not settle within ${this.limits.wallTimeMs} ms`, {
        reasonCodes: ['wall_time'],
      });
      this.#recordBreach(error, this.#clock() - inv.invoked);
      this.#onEvent?.({
        type: 'invocation_failed',
        extensionId: this.extensionId,
        target: inv.what,
        code: 'timeout',
        reason: error.message,
        ts_ms: Date.now(),
      });
      inv.reject(error);
    }
  }

  #invoke(target: Record<string, unknown>, budgetMs = this.limits.cpuMsPerEntry, signal?: AbortSignal): Promise<Settled> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    const ticket = ++this.#ticketSeq;
    const result = new Promise<Settled>((resolve, reject) => {
      const what = String(target.type);
      this.#invocations.set(ticket, { resolve, reject, what, invoked: this.#clock() });
      this.#armWallTimer();
      try {
        const text = JSON.stringify({ ticket, target });
        this.#meter?.('in', String(target.type), text.length);
        this.#guard(String(target.type), () => this.#engine?.enter('invoke', text, budgetMs, this.limits.entryHangMs));
        this.#jobs?.(String(target.type), this.#engine?.lastEntryJobs ?? 0);
      } catch (err) {
        this.#settled(ticket);
        // At once, not when the caller sees the rejection: an entry started in the same tick must not refer to a ctx
        // or messages this one never delivered.
        this.#forgetHeld();
        reject(err instanceof WardenError ? err : new WardenError('internal', String(err)));
      }
    });
    if (signal !== undefined) {
      const abort = () => {
        if (!this.#invocations.has(ticket) || this.#stopped !== undefined) return;
        // Delivered as its own entry, after the current one if the abort fires while the guest runs.
        setImmediate(() => {
          if (!this.#invocations.has(ticket) || this.#stopped !== undefined) return;
          try {
            this.#guard('abort', () =>
              this.#engine?.enter('abort', `{"ticket":${ticket}}`, this.limits.cpuMsPerEntry, this.limits.entryHangMs),
            );
          } catch {
            // a runaway abort handler stops the sandbox inside #guard
          }
        });
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
      void result.finally(() => signal.removeEventListener('abort', abort)).catch(() => undefined);
    }
    return result;
  }

  // ---------------------------------------------------------------- the host function

  /**
   * A reading to measure the CPU time of the entries between two readings: the engine's running total (it reads the
   * thread's CPU clock at each entry's start and end; each reading is a system call, about 3 µs on a small VM, four
   * per entry before), or the clock given in the options.
   */
  #entryCpu(): number {
    return this.#ownCpuClock ? this.#cpuClock() : (this.#engine?.cpuMsTotal ?? 0);
  }

  /**
   * Runs the host's side of a hostcall (dispatch: policy, mediation, the ledger) and notes its CPU time, which the
   * CPU window does not charge to the extension: the host's own checks (a shell parse, a scan, a SQLite write, the
   * garbage they leave) are not the extension's computation, and hostcalls are bounded by their own quotas. A shipped
   * example (git-checkpoint) went over 250 ms a second on a loaded machine only through them.
   */
  #mediating(fn: () => string): string {
    const start = this.#cpuClock();
    try {
      return fn();
    } finally {
      this.#hostCpuThisEntryMs += this.#cpuClock() - start;
    }
  }

  #host(op: string, payload: string): string {
    if (this.#stopped !== undefined) return errorReply('quarantined', this.#stopped.message);
    if (payload.length > this.limits.maxPayloadBytes) {
      const message = `${op}: payload of ${payload.length} bytes exceeds the sandbox limit of ${this.limits.maxPayloadBytes}`;
      // An oversized result still settles its invocation (as a failure), read from the envelope's first key.
      const ticket = op === 'settle' ? /^\{"ticket":(\d+)/.exec(payload.slice(0, 40))?.[1] : undefined;
      if (ticket !== undefined)
        this.#settle(JSON.stringify({ ticket: Number(ticket), ok: false, error: { code: 'quota_exceeded', message } }));
      return errorReply('quota_exceeded', message);
    }
    switch (op) {
      case 'call':
        return this.#mediating(() => this.#callSync(payload));
      case 'callAsync':
        return this.#mediating(() => this.#callAsync(payload));
      case 'fire':
        return this.#mediating(() => this.#callFire(payload));
      case 'settle':
        return this.#settle(payload);
      case 'timer':
        return this.#timer(payload);
      case 'field':
        return this.#field(payload);
      case 'component':
        return this.#componentSignal(payload);
      default:
        return errorReply('invalid_request', `unknown host operation ${JSON.stringify(op.slice(0, 40))}`);
    }
  }

  #envelope(payload: string): { call_id: string; method: unknown; params: unknown } | string {
    let parsed: unknown;
    try {
      parsed = parseGuest(payload);
    } catch {
      return errorReply('invalid_request', 'hostcall is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object') return errorReply('invalid_request', 'hostcall must be an object');
    const p = parsed as { method?: unknown; params?: unknown };
    // The call id is the host's; the extension id is bound by dispatch's caller (this sandbox), never the guest.
    return { call_id: `${this.extensionId}:${++this.#callSeq}`, method: p.method, params: p.params };
  }

  #countHostcall(): string | undefined {
    this.#hostcallsThisEntry++;
    if (this.#hostcallsThisEntry > this.limits.maxHostcallsPerEntry) {
      this.#pendingStop ??= new WardenError(
        'quota_exceeded',
        `${this.extensionId}: more than ${this.limits.maxHostcallsPerEntry} hostcalls in one entry; sandbox stopped`,
        { reasonCodes: ['hostcall_flood'] },
      );
      return errorReply('quota_exceeded', `more than ${this.limits.maxHostcallsPerEntry} hostcalls in one entry`);
    }
    return undefined;
  }

  #bounded(text: string): string {
    return text.length > this.limits.maxPayloadBytes
      ? errorReply('quota_exceeded', `result of ${text.length} bytes exceeds the sandbox limit of ${this.limits.maxPayloadBytes}`)
      : text;
  }

  #callSync(payload: string): string {
    const flood = this.#countHostcall();
    if (flood !== undefined) return flood;
    const envelope = this.#envelope(payload);
    if (typeof envelope === 'string') return envelope;
    return this.#bounded(reply(this.#dispatcher.dispatchSync(this.extensionId, envelope)));
  }

  /** Counts an async or fire-and-forget call against the flood and pending caps and starts its dispatch, or refuses it. */
  #startDispatch(payload: string): { readonly ticket: number; readonly result: Promise<HostcallResult> } | string {
    const flood = this.#countHostcall();
    if (flood !== undefined) return flood;
    if (this.#pendingCalls.size >= this.limits.maxPendingHostcalls) {
      return errorReply('quota_exceeded', `more than ${this.limits.maxPendingHostcalls} hostcalls pending`);
    }
    const envelope = this.#envelope(payload);
    if (typeof envelope === 'string') return envelope;
    const ticket = ++this.#ticketSeq;
    this.#pendingCalls.add(ticket);
    return { ticket, result: this.#dispatcher.dispatch(this.extensionId, envelope) };
  }

  #callAsync(payload: string): string {
    const started = this.#startDispatch(payload);
    if (typeof started === 'string') return started;
    const { ticket } = started;
    void started.result.then((result) => {
      if (!this.#pendingCalls.delete(ticket) || this.#stopped !== undefined) return;
      const text = this.#bounded(reply(result));
      this.#resume(ticket, text);
    });
    return JSON.stringify({ ok: true, ticket });
  }

  /**
   * A fire-and-forget call: the same dispatch as an async call (so a prompt can still be asked, and the ledger
   * records it), bounded by the same pending cap, but the guest is not entered again with the result.
   */
  #callFire(payload: string): string {
    const started = this.#startDispatch(payload);
    if (typeof started === 'string') return started;
    void started.result.then(() => this.#pendingCalls.delete(started.ticket));
    return '{"ok":true}';
  }

  #resume(ticket: number, replyText: string): void {
    this.#meter?.('in', 'resume', replyText.length);
    try {
      this.#guard('hostcall result', () =>
        this.#engine?.enter('resume', `{"ticket":${ticket},"reply":${replyText}}`, this.limits.cpuMsPerEntry, this.limits.entryHangMs),
      );
    } catch (err) {
      if (this.#inGuest) {
        // Only reachable if a host operation resolved synchronously inside an entry; retry after it.
        setImmediate(() => this.#resume(ticket, replyText));
        return;
      }
      if (!(err instanceof WardenError) || this.#stopped === undefined)
        this.stop(err instanceof WardenError ? err : new WardenError('internal', String(err)));
    }
  }

  #settle(payload: string): string {
    let msg: { ticket?: unknown; ok?: unknown; value?: unknown; error?: unknown };
    try {
      msg = parseGuest(payload) as typeof msg;
    } catch {
      return errorReply('invalid_request', 'settle is not valid JSON');
    }
    // The guest runtime reports an out-of-memory it caught in a handler; the cap was reached, so the sandbox ends.
    if (payload.includes('"code":"out_of_memory"')) {
      this.#pendingStop ??= new WardenError(
        'quota_exceeded',
        `${this.extensionId}: the extension exceeded its memory cap of ${this.limits.memoryMb} MiB; sandbox stopped`,
        { reasonCodes: ['memory_cap'] },
      );
    }
    const ticket = Number(msg.ticket);
    const inv = this.#invocations.get(ticket);
    if (inv === undefined) return JSON.stringify({ ok: true });
    this.#settled(ticket);
    if (this.#pendingStop !== undefined) {
      inv.reject(this.#pendingStop);
      return JSON.stringify({ ok: true });
    }
    const e = msg.error as { code?: unknown; message?: unknown } | undefined;
    const code = typeof e?.code === 'string' ? e.code : 'extension_error';
    const text = typeof e?.message === 'string' ? e.message : 'failed';
    inv.resolve(msg.ok === true ? { ok: true, value: msg.value ?? null } : { ok: false, error: { code, message: text } });
    return JSON.stringify({ ok: true });
  }

  /** A lazy payload field the guest reads (`{id, name}`): its JSON, only while the handler that got it runs. */
  #field(payload: string): string {
    const flood = this.#countHostcall();
    if (flood !== undefined) return flood;
    let msg: { id?: unknown; name?: unknown };
    try {
      msg = parseGuest(payload) as typeof msg;
    } catch {
      return errorReply('invalid_request', 'field is not valid JSON');
    }
    const held = this.#lazy.get(Number(msg.id));
    const name = String(msg.name);
    if (held === undefined || !Object.hasOwn(held, name))
      return errorReply('invalid_request', `event field ${JSON.stringify(name.slice(0, 80))} is only readable while its handler runs`);
    let text: string;
    try {
      text = JSON.stringify(held[name]) ?? 'null';
    } catch (err) {
      return errorReply('internal', `event field ${name} is not plain data: ${err instanceof Error ? err.message : String(err)}`);
    }
    return this.#bounded(`{"ok":true,"value":${text}}`);
  }

  #timer(payload: string): string {
    let msg: { op?: unknown; id?: unknown; ms?: unknown };
    try {
      msg = parseGuest(payload) as typeof msg;
    } catch {
      return errorReply('invalid_request', 'timer is not valid JSON');
    }
    const id = Number(msg.id);
    const existing = this.#timers.get(id);
    if (existing !== undefined) {
      clearTimeout(existing);
      this.#timers.delete(id);
    }
    if (msg.op === 'clear') return JSON.stringify({ ok: true });
    if (this.#timers.size >= this.limits.maxPendingTimers)
      return errorReply('quota_exceeded', `more than ${this.limits.maxPendingTimers} timers pending`);
    const ms = Math.min(Math.max(0, Number(msg.ms) || 0), 2 ** 31 - 1);
    const t = setTimeout(() => {
      this.#timers.delete(id);
      if (this.#stopped !== undefined) return;
      try {
        this.#guard('timer', () => this.#engine?.enter('timer', `{"id":${id}}`, this.limits.cpuMsPerEntry, this.limits.entryHangMs));
      } catch {
        // a runaway timer stops the sandbox inside #guard; nothing else to do here
      }
    }, ms);
    // Timers never keep the host process alive on their own (pi's own loop does that).
    t.unref();
    this.#timers.set(id, t);
    return JSON.stringify({ ok: true });
  }
}
