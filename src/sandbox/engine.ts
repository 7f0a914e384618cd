/**
 * The engine wrapper (ADR 0020): one quickjs-wasi instance per extension, its own linear memory, a memory cap,
 * a CPU budget per entry in CPU time of the host thread and a generous wall-clock hang limit, both enforced by the
 * interrupt handler (ADR 0031), and a hard stop that disposes the instance.
 *
 * The ABI is strings only. The guest sees exactly one host function, `__wardenHost(op, payload) → string`, which
 * must never throw a host Error into the guest (quickjs-wasi copies a host Error's stack, and with it host paths);
 * the host calls exactly one guest function, `__wardenEnter(kind, payload) → string`. No handle to a host object
 * ever reaches the guest.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CompileFlags, JSException, QuickJS, type JSValueHandle, type Snapshot } from 'quickjs-wasi';
import { StringCrossing } from './crossing.ts';
import { WardenError } from '../errors.ts';
import { zeroFreeChunks } from './freeChunks.ts';
import { restoreSparse, restoreWrittenBytes } from './restore.ts';
import { extensionImportNames, glueExportNames, keepFunctionExports } from './wasmExports.ts';

const require = createRequire(import.meta.url);

/** @types/node does not declare the WebAssembly namespace; these are the two members used. */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Native quickjs-wasi extensions that add web APIs in C: they give the guest nothing of the host. */
const EXTENSIONS = ['url', 'encoding', 'crypto', 'structured-clone', 'headers'] as const;

interface Compiled {
  readonly module: object;
  readonly extensions: ReadonlyArray<{ name: string; wasm: object }>;
}
let compiled: Compiled | undefined;
let engineBytes: { readonly module: Buffer; readonly extensions: readonly Buffer[] } | undefined;

function wasmFiles(): { readonly module: Buffer; readonly extensions: readonly Buffer[] } {
  engineBytes ??= {
    module: readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')),
    extensions: EXTENSIONS.map((name) => readFileSync(require.resolve(`quickjs-wasi/${name}.so`))),
  };
  return engineBytes;
}

/**
 * Compiled once per process: every instance shares the code, never the memory. The main module keeps only the
 * function exports quickjs-wasi and the extensions call (wasmExports.ts): V8 builds the others for every instance.
 */
function compiledModules(): Compiled {
  if (compiled !== undefined) return compiled;
  const files = wasmFiles();
  const extensions = EXTENSIONS.map((name, i) => ({ name, wasm: new wasm.Module(files.extensions[i] as Buffer) }));
  const glue = glueExportNames();
  const main =
    glue === undefined
      ? files.module
      : keepFunctionExports(files.module, new Set([...glue, ...extensionImportNames(extensions.map((e) => e.wasm))]));
  compiled = { module: new wasm.Module(main), extensions };
  return compiled;
}

/** The function exports of the main module every instance is made from, against those of quickjs.wasm itself. */
export function engineFunctionExports(): { readonly kept: number; readonly of: number } {
  const api = wasm.Module as unknown as { exports(m: object): ReadonlyArray<{ kind: string }> };
  const count = (m: object) => api.exports(m).filter((e) => e.kind === 'function').length;
  return { kept: count(compiledModules().module), of: count(new wasm.Module(wasmFiles().module)) };
}

let fingerprint: string | undefined;

/**
 * What a guest's memory is only valid for: this engine build (the WASM code and its extensions, byte for byte) and
 * this wrapper (how an instance is set up). A snapshot taken under another fingerprint is never restored.
 */
export function engineFingerprint(): string {
  if (fingerprint === undefined) {
    const h = createHash('sha256').update(readFileSync(new URL(import.meta.url)));
    const files = wasmFiles();
    for (const b of [files.module, ...files.extensions]) h.update(createHash('sha256').update(b).digest());
    fingerprint = h.digest('hex');
  }
  return fingerprint;
}

/**
 * QuickJS seeds `Math.random` once per context, so every instance restored from one snapshot would draw the same
 * sequence (one extension could predict another's). A snapshot is taken with `Math.random` drawing from the
 * instance's own `crypto.getRandomValues` (host entropy on every refill), 53 bits per value like V8's, and its buffer
 * empty: each restored instance fills it from its own draw. Installed at snapshot time, not at every restore (that
 * evaluation was about 1 ms of each sandbox's creation).
 */
const OWN_MATH_RANDOM = `(() => {
  const fill = crypto.getRandomValues.bind(crypto);
  const words = new Uint32Array(512);
  let next = words.length;
  const random = { random() {
    if (next + 2 > words.length) { fill(words); next = 0; }
    const hi = words[next++] >>> 5, lo = words[next++] >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  } }.random;
  Object.defineProperty(Math, 'random', { value: random, writable: true, enumerable: false, configurable: true });
})();`;

export type HostFunction = (op: string, payload: string) => string;

/**
 * CPU time of the host thread, in ms (ADR 0031): what a guest entry really consumed, whatever else the machine is
 * doing. About 0.26 µs a reading (Node 24, measured), against ≥ 0.2 ms of guest work between two interrupts: read on
 * every interrupt, no sampling needed.
 */
export function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/** The kinds of entry the guest runtime's `__wardenEnter` takes (each made once per instance as a guest string). */
export type EntryKind = 'boot' | 'invoke' | 'resume' | 'timer' | 'abort' | 'component';

/** What stopped an entry at the interrupt: its CPU budget, or the wall-clock hang limit. */
export type EntryLimit = 'cpu' | 'hang';

export interface EngineOptions {
  readonly memoryLimitBytes: number;
  readonly maxStackBytes?: number;
  readonly host: HostFunction;
  /** Start from this booted guest's memory instead of a fresh runtime (`GuestEngine.snapshot`). */
  readonly from?: GuestSnapshot;
}

/** The guest's modules kept out of its snapshot (guest/abi.ts `onDemandModule`): bytecode by module name. */
export type OnDemandModules = ReadonlyMap<string, Uint8Array>;

/** The hostcall by which the guest asks for an on-demand module (guest/abi.ts `onDemandModule`). */
const ON_DEMAND_OP = 'module';

/** Leads the serialized form: a booted guest of an older layout does not parse (and is booted again). */
const SERIAL_MAGIC = 0x31534750; // "PGS1"

/**
 * A guest's whole linear memory at one moment, to start further instances from: restoring copies the memory into a
 * new instance (its own memory, shared with nothing), skipping what the snapshotted guest already ran. With it, the
 * bytecode of the modules it loads on first use, compiled once per process and only read from then on.
 */
export class GuestSnapshot {
  readonly #snapshot: Snapshot;
  readonly modules: OnDemandModules;
  constructor(snapshot: Snapshot, modules: OnDemandModules = new Map()) {
    this.#snapshot = snapshot;
    this.modules = modules;
  }
  /** Bytes of linear memory each restored instance holds. */
  get bytes(): number {
    return this.#snapshot.memory.byteLength;
  }
  /** Bytes each restore writes, and so makes resident (restore.ts); known once one restore has run in this process. */
  get writtenBytes(): number | undefined {
    return restoreWrittenBytes(this.#snapshot);
  }
  static unwrap(s: GuestSnapshot): Snapshot {
    return s.#snapshot;
  }
  /**
   * To keep on disk (boot.ts): magic, module count, each module as name length, name, bytecode length, bytecode
   * (little-endian u32 lengths), then quickjs-wasi's versioned binary form of the memory.
   */
  serialize(): Uint8Array {
    const parts: Uint8Array[] = [];
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      parts.push(b);
    };
    u32(SERIAL_MAGIC);
    u32(this.modules.size);
    for (const [name, bytecode] of this.modules) {
      const n = Buffer.from(name, 'utf8');
      u32(n.byteLength);
      parts.push(n);
      u32(bytecode.byteLength);
      parts.push(bytecode);
    }
    parts.push(QuickJS.serializeSnapshot(this.#snapshot));
    return Buffer.concat(parts);
  }
  /** Throws when the bytes are not a snapshot of this format; whether they may be trusted is the caller's check. */
  static deserialize(bytes: Uint8Array): GuestSnapshot {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    const u32 = () => {
      if (at + 4 > b.byteLength) throw new Error(`expected 4 more bytes at ${at} of a ${b.byteLength}-byte booted guest, found the end`);
      at += 4;
      return b.readUInt32LE(at - 4);
    };
    const take = (n: number) => {
      if (at + n > b.byteLength) throw new Error(`expected ${n} more bytes at ${at} of a ${b.byteLength}-byte booted guest, found the end`);
      at += n;
      return b.subarray(at - n, at);
    };
    const magic = u32();
    if (magic !== SERIAL_MAGIC)
      throw new Error(`expected a booted guest (magic ${SERIAL_MAGIC.toString(16)}), found ${magic.toString(16)}`);
    const modules = new Map<string, Uint8Array>();
    for (let i = u32(); i > 0; i--) {
      const name = take(u32()).toString('utf8');
      modules.set(name, new Uint8Array(take(u32())));
    }
    // A plain Uint8Array, not a Buffer: quickjs-wasi takes the memory with `slice`, a copy only on a Uint8Array
    // (on a Buffer, a view into the file just read, at whatever alignment the header left it).
    return new GuestSnapshot(QuickJS.deserializeSnapshot(new Uint8Array(b.buffer, b.byteOffset + at, b.byteLength - at)), modules);
  }
}

/**
 * Why a guest entry failed. `interrupted` (CPU budget), `hung` (wall-clock hang limit) and `out_of_memory` end the
 * sandbox; `exception` is the guest's own.
 */
export type GuestFailureKind = 'interrupted' | 'hung' | 'out_of_memory' | 'host_fault' | 'exception';

export class GuestFailure extends Error {
  readonly kind: GuestFailureKind;
  constructor(kind: GuestFailureKind, message: string) {
    super(message);
    this.name = 'GuestFailure';
    this.kind = kind;
  }
}

/** Reads a guest exception as plain text; never keeps a handle. */
function describe(err: unknown): string {
  const e = err as { message?: unknown; dispose?: () => void };
  const text = typeof e?.message === 'string' ? e.message : String(err);
  try {
    e?.dispose?.();
  } catch {
    // already disposed
  }
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

export class GuestEngine {
  readonly #vm: QuickJS;
  readonly #strings: StringCrossing;
  readonly #memoryLimit: number;
  /** Thread CPU time (ms) past which the running entry is interrupted. */
  #cpuDeadline = Number.POSITIVE_INFINITY;
  /** Wall-clock time (performance.now) past which the running entry is interrupted as hung. */
  #hangDeadline = Number.POSITIVE_INFINITY;
  #interrupted: EntryLimit | undefined;
  #entryCpuStart = 0;
  #lastEntryCpuMs = 0;
  #cpuMsTotal = 0;
  #lastEntryJobs = 0;
  #outOfMemory = false;
  #enter: JSValueHandle | undefined;
  /**
   * The last hostcall's reply. quickjs-wasi hands the guest a duplicate of what a host function returns and leaves
   * the returned handle to its creator: never disposed, every reply stayed in the guest's memory for good (48 bytes
   * for `{"ok":true}`, a whole event field for a field read), counted against the memory cap and walked by every GC.
   */
  #reply: JSValueHandle | undefined;
  #disposed = false;
  /** Module sources the guest's `import()` may load, by name, each once (`defineModule`). */
  readonly #modules = new Map<string, string>();

  private constructor(vm: QuickJS, memoryLimit: number) {
    this.#vm = vm;
    this.#strings = new StringCrossing(vm);
    this.#memoryLimit = memoryLimit;
  }

  static async create(options: EngineOptions): Promise<GuestEngine> {
    const { module, extensions } = compiledModules();
    const holder: { engine?: GuestEngine } = {};
    const vmOptions = {
      wasm: module as never,
      extensions: extensions as never,
      memoryLimit: options.memoryLimitBytes,
      // QuickJS's own limit must trip before V8's native stack, which WASM frames share with the host (≈1 MB).
      maxStackSize: options.maxStackBytes ?? 256 * 1024,
      interruptHandler: () => holder.engine !== undefined && holder.engine.#checkDeadline(),
      // An out-of-memory that ends as an unhandled rejection (inside a promise job) still means the cap was hit.
      onUnhandledRejection: (_promise: JSValueHandle, reason: JSValueHandle, isHandled: boolean) => {
        if (isHandled || holder.engine === undefined) return;
        let text = '';
        try {
          text = reason.toString();
        } catch {
          text = '';
        }
        if (/out of memory/i.test(text)) holder.engine.#outOfMemory = true;
      },
      // import() of anything (host paths included) fails closed: a bundle has every module it may use. The one
      // exception is the extension's own module bundle (`defineModule`), served once.
      moduleLoader: {
        normalize: (_base: string, specifier: string) => specifier,
        load: (name: string) => {
          const modules = holder.engine === undefined ? undefined : holder.engine.#modules;
          const source = modules?.get(name);
          if (source !== undefined) {
            modules?.delete(name);
            return source;
          }
          // A string, not an Error: quickjs-wasi copies a host Error's stack (host file paths) into the guest.
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw `denied: import(${JSON.stringify(name.slice(0, 200))}) is not available in the sandbox; modules are bundled at load time`;
        },
      },
    };
    const vm =
      options.from === undefined ? await QuickJS.create(vmOptions) : await restoreSparse(GuestSnapshot.unwrap(options.from), vmOptions);
    const engine = new GuestEngine(vm, options.memoryLimitBytes);
    holder.engine = engine;
    const host = options.host;
    const modules = options.from?.modules ?? new Map<string, Uint8Array>();
    const hostFunction = (...args: JSValueHandle[]) => {
      // The previous reply has reached the guest by now (no hostcall runs inside another): ours can go.
      engine.#releaseReply();
      const strings = engine.#strings;
      const op = args[0] === undefined ? '' : strings.read(args[0]);
      const payload = args[1] === undefined ? '' : strings.read(args[1]);
      if (op === ON_DEMAND_OP) return engine.#loadOnDemand(modules, payload);
      let reply: string;
      try {
        reply = host(op, payload);
      } catch (err) {
        // A host bug must not hand a host Error (and its stack) to the guest.
        reply = JSON.stringify({
          ok: false,
          error: { code: 'internal', message: `host failure in ${op}: ${err instanceof Error ? err.message : String(err)}` },
        });
      }
      engine.#reply = strings.newString(reply);
      return engine.#reply;
    };
    if (options.from !== undefined) {
      // The function object is in the restored memory; only the host side of it is new.
      vm.registerHostCallback('__wardenHost', hostFunction);
      return engine;
    }
    const fn = vm.newFunction('__wardenHost', hostFunction);
    vm.setProp(vm.global, '__wardenHost', fn);
    fn.dispose();
    return engine;
  }

  /**
   * Evaluates an on-demand module's bytecode into this guest and answers with its exports. It runs inside the entry
   * that asked: the entry's CPU deadline and the memory cap apply to it as to the guest's own code.
   */
  #loadOnDemand(modules: OnDemandModules, name: string): JSValueHandle {
    const bytecode = modules.get(name);
    let failure = `expected one of the on-demand modules (${[...modules.keys()].join(', ')}), found ${JSON.stringify(name.slice(0, 100))}`;
    if (bytecode !== undefined) {
      try {
        this.#reply = this.#vm.evalBytecode(bytecode);
        return this.#reply;
      } catch (err) {
        failure = `cannot load the on-demand module ${name}: ${describe(err)}`;
        if (/out of memory/i.test(failure)) this.#outOfMemory = true;
      }
    }
    this.#reply = this.#vm.newString(JSON.stringify({ ok: false, error: { code: 'internal', message: failure } }));
    return this.#reply;
  }

  #releaseReply(): void {
    const reply = this.#reply;
    this.#reply = undefined;
    // A disposed instance freed its memory whole; the handle's memory is gone with it.
    if (!this.#disposed) reply?.dispose();
  }

  #checkDeadline(): boolean {
    if (threadCpuMs() > this.#cpuDeadline) this.#interrupted = 'cpu';
    else if (performance.now() > this.#hangDeadline) this.#interrupted = 'hang';
    return this.#interrupted !== undefined;
  }

  /** CPU time (ms of the host thread) the last entry used, measured when it ended. */
  get lastEntryCpuMs(): number {
    return this.#lastEntryCpuMs;
  }

  /** CPU time (ms of the host thread) all entries used so far: the sandbox's per-entry charge without reading the clock again. */
  get cpuMsTotal(): number {
    return this.#cpuMsTotal;
  }

  /** Promise jobs the last `enter` ran after the guest function returned (what an entry's async plumbing costs). */
  get lastEntryJobs(): number {
    return this.#lastEntryJobs;
  }

  /**
   * Runs `fn` as one entry into the guest: interrupted past `budgetMs` of thread CPU time (a busy machine slows the
   * entry but does not use its budget), or past `hangMs` of wall time whatever the CPU. Classifies failures.
   */
  #entry<T>(budgetMs: number, hangMs: number, fn: () => T): T {
    if (this.#disposed) throw new WardenError('quarantined', 'the sandbox has been stopped');
    this.#entryCpuStart = threadCpuMs();
    this.#cpuDeadline = this.#entryCpuStart + budgetMs;
    this.#hangDeadline = performance.now() + hangMs;
    this.#interrupted = undefined;
    this.#outOfMemory = false;
    try {
      const result = fn();
      // An interrupt is uncatchable by guest code, but QuickJS turns one raised while a module body runs into a
      // rejection of the module's promise: the entry then returns as if nothing happened. Over its limit is over it.
      if (this.#interrupted !== undefined) throw this.#limitFailure(this.#interrupted, budgetMs, hangMs);
      if (this.#outOfMemory)
        throw new GuestFailure('out_of_memory', `the extension exceeded its memory cap of ${Math.round(this.#memoryLimit / 1048576)} MiB`);
      // A limit that stopped guest code the entry then got past (an on-demand module's evaluation, whose failure
      // reaches the guest as an answer) still ends the entry.
      if (this.#interrupted === 'cpu') throw new GuestFailure('interrupted', `the extension used more than its ${budgetMs} ms of CPU time`);
      if (this.#interrupted === 'hang')
        throw new GuestFailure('hung', `the extension ran past the hang limit of ${hangMs} ms of wall time`);
      return result;
    } catch (err) {
      if (err instanceof GuestFailure) throw err;
      // Not a guest exception: the host itself failed while WASM was running (V8's native stack exhausted by deep
      // guest recursion, a trap). QuickJS was unwound mid-call and its state cannot be trusted: the caller stops it.
      // (quickjs-wasi reports a failed promise job as a plain Error "Job execution error: ..."; that is the guest's.)
      const jobFailure = err instanceof Error && err.message.startsWith('Job execution error:');
      if (!(err instanceof JSException) && !jobFailure && this.#interrupted === undefined) {
        throw new GuestFailure(
          'host_fault',
          `the engine failed while running the extension: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
        );
      }
      const message = describe(err);
      if (this.#interrupted !== undefined) throw this.#limitFailure(this.#interrupted, budgetMs, hangMs);
      if (/out of memory/i.test(message) || this.memoryUsed() > this.#memoryLimit * 0.95) {
        throw new GuestFailure('out_of_memory', `the extension exceeded its memory cap of ${Math.round(this.#memoryLimit / 1048576)} MiB`);
      }
      throw new GuestFailure('exception', message);
    } finally {
      this.#lastEntryCpuMs = threadCpuMs() - this.#entryCpuStart;
      this.#cpuMsTotal += this.#lastEntryCpuMs;
      this.#releaseReply();
      this.#cpuDeadline = Number.POSITIVE_INFINITY;
      this.#hangDeadline = Number.POSITIVE_INFINITY;
    }
  }

  #limitFailure(limit: EntryLimit, budgetMs: number, hangMs: number): GuestFailure {
    return limit === 'cpu'
      ? new GuestFailure('interrupted', `the extension used more than its ${budgetMs} ms of CPU time`)
      : new GuestFailure('hung', `the extension ran past the hang limit of ${hangMs} ms of wall time`);
  }

  /** Evaluates a script (not a module) and returns its completion value as a string. */
  evalScript(code: string, filename: string, budgetMs: number, hangMs: number): string {
    return this.#entry(budgetMs, hangMs, () =>
      this.#vm.evalCode(code, filename).consume((h) => (this.#vm.typeof(h) === 'string' ? h.toString() : '')),
    );
  }

  /**
   * Compiles a script to QuickJS bytecode without running it (the runtime is compiled once per process). Without
   * the functions' source text, which only `Function.prototype.toString` reads: every instance's heap is 116 KiB
   * smaller and its WASM memory stops at 2.0 MiB instead of 2.5 (line numbers stay for stack traces). An extension's
   * code keeps its source (`keepSource`): what its functions' `toString` gives is what it wrote.
   */
  compileScript(code: string, filename: string, keepSource = false): Uint8Array {
    const start = threadCpuMs();
    try {
      return this.#vm.compile(code, filename, 0, keepSource ? 0 : CompileFlags.STRIP_SOURCE);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new GuestFailure(/out of memory/i.test(message) ? 'out_of_memory' : 'exception', message);
    } finally {
      // Parsing the extension's code is its CPU time too (charged to its window like an entry's).
      this.#cpuMsTotal += threadCpuMs() - start;
    }
  }

  /** Runs bytecode from `compileScript` of an instance of the same engine build. */
  evalBytecode(bytecode: Uint8Array, budgetMs: number, hangMs: number): void {
    this.#entry(budgetMs, hangMs, () => this.#vm.evalBytecode(bytecode).dispose());
  }

  /**
   * Lets the guest `import(name)` this module source, once: an extension bundled as an ES module (bundle.ts) is
   * evaluated by the guest's own import inside its load invocation, so its top-level awaits run under the same CPU
   * budget, hang limit and hostcall limits as any other guest code, and the import settles when they do.
   */
  defineModule(name: string, source: string): void {
    if (this.#disposed) throw new WardenError('quarantined', 'the sandbox has been stopped');
    this.#modules.set(name, source);
  }

  /** Calls the guest's `__wardenEnter(kind, payload)`; then runs the microtasks it queued, under the same budgets. */
  enter(kind: EntryKind, payload: string, budgetMs: number, hangMs: number): string {
    return this.#entry(budgetMs, hangMs, () => {
      const vm = this.#vm;
      if (this.#enter === undefined) {
        const h = vm.global.getProp('__wardenEnter');
        if (vm.typeof(h) !== 'function') {
          h.dispose();
          throw new Error('the guest runtime is not installed');
        }
        this.#enter = h;
      }
      const strings = this.#strings;
      const k = strings.fixed(kind);
      if (k === undefined)
        throw new GuestFailure('out_of_memory', `the extension exceeded its memory cap of ${Math.round(this.#memoryLimit / 1048576)} MiB`);
      const p = strings.newString(payload);
      try {
        this.#lastEntryJobs = 0;
        const out = vm.callFunction(this.#enter, vm.undefined, k, p).consume((h) => (strings.isString(h) ? strings.read(h) : ''));
        this.#lastEntryJobs = vm.executePendingJobs();
        return out;
      } finally {
        p.dispose();
      }
    });
  }

  /**
   * This guest's memory as it is now, to start others from (only between entries: no guest code is running), with
   * the bytecode of the modules a restored guest loads on first use.
   */
  snapshot(modules?: OnDemandModules): GuestSnapshot {
    if (this.#disposed) throw new WardenError('quarantined', 'the sandbox has been stopped');
    // Last before the memory is taken: nothing may draw from the buffer the restored instances would then share.
    this.#vm.evalCode(OWN_MATH_RANDOM, 'pi-warden-random.js').dispose();
    this.#vm.runGC();
    const snapshot = this.#vm.snapshot();
    // The snapshot's own copy: the garbage in its free chunks is not restored into every sandbox (freeChunks.ts).
    zeroFreeChunks(snapshot.memory, snapshot.runtimePtr);
    return new GuestSnapshot(snapshot, modules);
  }

  /** Bytes of WASM linear memory this instance holds (it grows with the heap's peak and never shrinks). */
  linearMemoryBytes(): number {
    if (this.#disposed) return 0;
    return (this.#vm as unknown as { exports: { memory: { buffer: ArrayBuffer } } }).exports.memory.buffer.byteLength;
  }

  /** QuickJS heap in use, bytes. */
  memoryUsed(): number {
    if (this.#disposed) return 0;
    return this.#vm.getMemoryUsage().memoryUsedSize;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Hard stop: frees the instance and its linear memory. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      this.#enter?.dispose();
      this.#vm.dispose();
    } catch {
      // An instance that failed mid-call may refuse an orderly teardown; dropping it frees the memory anyway.
    }
  }
}
