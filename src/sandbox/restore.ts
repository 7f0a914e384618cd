/**
 * A snapshot restored into a new instance writing only the pages that need it (issue 18 item 5). A new
 * WebAssembly.Memory is zero-filled by the kernel and its untouched pages take no RAM; quickjs-wasi's own
 * `QuickJS.restore` copies the whole image, zeros included, and so makes every page of every sandbox resident. Here
 * the pages a restore must write are listed once per snapshot: its non-zero pages, and the pages the instantiation
 * itself dirtied (data segments, the extensions' relocations) where the snapshot has zeros. Everything else stays
 * untouched zero, which is what the snapshot holds there.
 *
 * This is quickjs-wasi 3.6.2's `QuickJS.restore` step for step with the copy replaced and the extensions linked
 * synchronously (restoreExtensions.ts); it reaches the library's internals (its instantiation, its dylink parser), so
 * it runs only on the version it was written against: any other version takes the library's own restore, whole copy
 * and all.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { QuickJS, type Snapshot } from 'quickjs-wasi';
import { restoreExtensionsSync, type ParseDylink } from './restoreExtensions.ts';

const require = createRequire(import.meta.url);

/** The quickjs-wasi version whose `QuickJS.restore` this reproduces. */
const WRITTEN_FOR = '3.6.2';

/** The granularity of residency: the kernel's page, not WASM's 64 KiB one. */
export const PAGE_BYTES = 4096;

type RestoreOptions = Parameters<typeof QuickJS.restore>[1];

interface Instantiated {
  readonly instance: { readonly exports: Record<string, unknown> };
  readonly wasiBuiltins: unknown;
  readonly wasiUserOverrides: unknown;
  readonly memoryProxy: unknown;
}

/** The parts of quickjs-wasi's `QuickJS` that are private in its typings and that its own restore uses. */
interface Internals {
  normalizeOptions(options: RestoreOptions): { wasm?: unknown; wasi?: unknown; extensions?: readonly unknown[] };
  resolveModule(wasm: unknown): Promise<object>;
  instantiate(module: object, vm: QuickJS, wasi: unknown): Promise<Instantiated>;
  applyLimits(vm: QuickJS, options: object): void;
}
interface VmInternals {
  setInstance(instance: Instantiated['instance']): void;
  loadedExtensions: unknown[];
}
interface MainExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly __stack_pointer: { value: number };
  qjs_set_runtime_and_context(runtime: number, context: number): void;
}
/** What restore needs from the library's extension loader (dist/extensions.js): its dylink parser. */

let extensionLoader: Promise<ParseDylink | undefined> | undefined;
function ownRestoreAvailable(): Promise<ParseDylink | undefined> {
  extensionLoader ??= (async () => {
    const { version } = require('quickjs-wasi/package.json') as { version: string };
    const q = QuickJS as unknown as Partial<Internals>;
    if (version !== WRITTEN_FOR || typeof q.instantiate !== 'function' || typeof q.applyLimits !== 'function') return undefined;
    // Not in the package's exports map: reached by its file, next to the entry point.
    const file = pathToFileURL(require.resolve('quickjs-wasi')).href.replace(/index\.js$/, 'extensions.js');
    const mod = (await import(file)) as { parseDylink?: ParseDylink };
    return typeof mod.parseDylink === 'function' ? mod.parseDylink : undefined;
  })();
  return extensionLoader;
}

/** One run of pages to write: copied from the snapshot, or zeroed (dirtied by the instantiation, zero in the snapshot). */
interface Run {
  readonly start: number;
  readonly end: number;
  readonly zero: boolean;
}

const plans = new WeakMap<Snapshot, readonly Run[]>();

/** Whether a page of `bytes` is all zero: read 4 bytes at a time where the view allows (a snapshot's and a memory's do). */
function zeroPageTest(bytes: Uint8Array): (start: number) => boolean {
  if (bytes.byteOffset % 4 === 0 && bytes.byteLength % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return (start) => {
      const end = Math.min(start + PAGE_BYTES, bytes.byteLength) / 4;
      for (let i = start / 4; i < end; i++) if (words[i] !== 0) return false;
      return true;
    };
  }
  return (start) => {
    const end = Math.min(start + PAGE_BYTES, bytes.byteLength);
    for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
    return true;
  };
}

/**
 * The runs a restore of `snapshot` writes, given the memory of an instance just instantiated for it (read once per
 * snapshot and process: instantiating the same module with the same extension bases dirties the same pages).
 */
function planFor(snapshot: Snapshot, fresh: Uint8Array): readonly Run[] {
  const known = plans.get(snapshot);
  if (known !== undefined) return known;
  const image = snapshot.memory;
  const imageZero = zeroPageTest(image);
  const freshZero = zeroPageTest(fresh);
  const runs: Run[] = [];
  for (let page = 0; page < image.byteLength; page += PAGE_BYTES) {
    const zeroInImage = imageZero(page);
    if (zeroInImage && freshZero(page)) continue;
    const end = Math.min(page + PAGE_BYTES, image.byteLength);
    const last = runs.at(-1);
    if (last !== undefined && last.end === page && last.zero === zeroInImage) runs[runs.length - 1] = { ...last, end };
    else runs.push({ start: page, end, zero: zeroInImage });
  }
  plans.set(snapshot, runs);
  return runs;
}

/** Bytes a restore of `snapshot` writes (known after its first restore in this process; undefined before). */
export function restoreWrittenBytes(snapshot: Snapshot): number | undefined {
  return plans.get(snapshot)?.reduce((n, r) => n + r.end - r.start, 0);
}

/** A new instance holding `snapshot`'s memory, with only the pages that need writing written. */
export async function restoreSparse(snapshot: Snapshot, options: RestoreOptions): Promise<QuickJS> {
  const parseDylink = await ownRestoreAvailable();
  if (parseDylink === undefined) return QuickJS.restore(snapshot, options);
  const Q = QuickJS as unknown as Internals;
  const opts = Q.normalizeOptions(options);
  const module = await Q.resolveModule(opts.wasm);
  const vm = new (QuickJS as unknown as new (module: object) => QuickJS)(module);
  const internal = vm as unknown as VmInternals;
  const { instance, wasiBuiltins, wasiUserOverrides, memoryProxy } = await Q.instantiate(module, vm, opts.wasi);
  internal.setInstance(instance);
  const main = instance.exports as unknown as MainExports;
  // Grown first: the extensions' data lies where the snapshotted instance had allocated it.
  const pages = main.memory.buffer.byteLength / 65536;
  const needed = Math.ceil(snapshot.memory.byteLength / 65536);
  if (needed > pages) main.memory.grow(needed - pages);
  if (snapshot.extensions.length > 0) {
    internal.loadedExtensions = restoreExtensionsSync(
      (opts.extensions ?? []) as Parameters<typeof restoreExtensionsSync>[0],
      snapshot.extensions,
      instance.exports as Parameters<typeof restoreExtensionsSync>[2],
      wasiBuiltins as Record<string, unknown>,
      wasiUserOverrides as Record<string, unknown> | undefined,
      memoryProxy,
      parseDylink,
    );
  }
  const memory = new Uint8Array(main.memory.buffer);
  for (const run of planFor(snapshot, memory)) {
    if (run.zero) memory.fill(0, run.start, run.end);
    else memory.set(snapshot.memory.subarray(run.start, run.end), run.start);
  }
  main.qjs_set_runtime_and_context(snapshot.runtimePtr, snapshot.contextPtr);
  main.__stack_pointer.value = snapshot.stackPointer;
  Q.applyLimits(vm, opts);
  return vm;
}
