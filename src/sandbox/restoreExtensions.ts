/**
 * quickjs-wasi 3.6.2's `restoreExtensions` (dist/extensions.js) for a restore, synchronous and with what it reads
 * from each extension module kept per module: the library parses every module's import and export lists and its
 * dylink section again on every restore and instantiates each of the five extensions through its own promise (about
 * 1 ms of a 2.5 ms sandbox creation, measured). The linking is the library's step for step: the same bases, the same
 * table slots in the same order, the same relocations and constructors; only the bookkeeping is done once.
 *
 * Reached only through restore.ts, which runs it on the version it was written against; `versions` (the library's
 * report of the extensions' native library versions, which pi-warden never reads) is left out.
 */
import type { Snapshot } from 'quickjs-wasi';

/** The WebAssembly API this needs (the project's typings have no DOM lib). */
interface ImportDescriptor {
  readonly module: string;
  readonly name: string;
  readonly kind: string;
}
type WasmModule = object;
interface WasmGlobal {
  value: number;
}
interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
}
interface WasmApi {
  Module: (new (bytes: Uint8Array) => WasmModule) & {
    imports(module: WasmModule): ImportDescriptor[];
    exports(module: WasmModule): { name: string; kind: string }[];
  };
  Instance: new (module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
  Global: new (descriptor: { value: 'i32'; mutable: boolean }, value: number) => WasmGlobal;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** One extension as the library describes it (`normalizeOptions(...).extensions`). */
interface Descriptor {
  readonly name: string;
  readonly wasm: unknown;
  readonly initFn?: string;
  readonly wasi?: (memoryProxy: unknown) => Record<string, unknown> | undefined;
}

/** What the library's loader reads from a module, once per module here. */
interface ModuleFacts {
  readonly dylink: { readonly tableSize: number };
  readonly imports: readonly ImportDescriptor[];
  readonly exported: ReadonlySet<string>;
  readonly needsWasi: boolean;
}

const facts = new WeakMap<WasmModule, ModuleFacts>();

function factsOf(module: WasmModule, name: string, parseDylink: ParseDylink): ModuleFacts {
  let f = facts.get(module);
  if (f !== undefined) return f;
  const dylink = parseDylink(module);
  if (dylink === null) throw new Error(`Extension "${name}" is not a WASM shared library (missing dylink.0 section)`);
  const imports = wasm.Module.imports(module);
  f = {
    dylink,
    imports,
    exported: new Set(
      wasm.Module.exports(module)
        .filter((e) => e.kind === 'function')
        .map((e) => e.name),
    ),
    needsWasi: imports.some((i) => i.module === 'wasi_snapshot_preview1'),
  };
  facts.set(module, f);
  return f;
}

interface MainExports {
  readonly memory: object;
  readonly __indirect_function_table: WasmTable;
  readonly __stack_pointer: WasmGlobal;
  readonly [name: string]: unknown;
}

/** The library's dylink.0 parser (null for a module that is not a shared library). */
export type ParseDylink = (module: WasmModule) => ModuleFacts['dylink'] | null;

type Fn = (...args: unknown[]) => unknown;

/** The extensions of `meta` instantiated into a restored instance, as the library's `restoreExtensions` leaves them. */
export function restoreExtensionsSync(
  descriptors: readonly Descriptor[],
  meta: Snapshot['extensions'],
  main: MainExports,
  wasiBuiltins: Record<string, unknown>,
  wasiUserOverrides: Record<string, unknown> | undefined,
  memoryProxy: unknown,
  parseDylink: ParseDylink,
): unknown[] {
  const loaded: unknown[] = [];
  const table = main.__indirect_function_table;
  for (const m of meta) {
    const descriptor = descriptors.find((d) => d.name === m.name);
    if (descriptor === undefined) throw new Error(`Extension "${m.name}" required by snapshot but not provided`);
    const module = descriptor.wasm instanceof wasm.Module ? descriptor.wasm : new wasm.Module(descriptor.wasm as Uint8Array);
    const f = factsOf(module, descriptor.name, parseDylink);
    const { memoryBase, tableBase } = m;
    if (tableBase + f.dylink.tableSize > table.length) table.grow(tableBase + f.dylink.tableSize - table.length);
    const env: Record<string, unknown> = {};
    const gotMem: Record<string, WasmGlobal> = {};
    const gotFunc: Record<string, WasmGlobal> = {};
    const imports: Record<string, Record<string, unknown>> = { env, 'GOT.mem': gotMem, 'GOT.func': gotFunc };
    if (f.needsWasi) {
      const own = descriptor.wasi !== undefined && memoryProxy !== undefined ? descriptor.wasi(memoryProxy) : undefined;
      imports.wasi_snapshot_preview1 = { ...wasiBuiltins, ...own, ...wasiUserOverrides };
    }
    const wrappers = new Map<string, { target: Fn | undefined }>();
    for (const imp of f.imports) {
      if (imp.module === 'env') {
        if (imp.name === 'memory' && imp.kind === 'memory') env.memory = main.memory;
        else if (imp.name === '__indirect_function_table' && imp.kind === 'table') env.__indirect_function_table = table;
        else if (imp.name === '__memory_base' && imp.kind === 'global')
          env.__memory_base = new wasm.Global({ value: 'i32', mutable: false }, memoryBase);
        else if (imp.name === '__table_base' && imp.kind === 'global')
          env.__table_base = new wasm.Global({ value: 'i32', mutable: false }, tableBase);
        else if (imp.name === '__stack_pointer' && imp.kind === 'global') env.__stack_pointer = main.__stack_pointer;
        else if (imp.kind === 'function') {
          const resolved = main[imp.name];
          if (typeof resolved === 'function') env[imp.name] = resolved;
          else if (f.exported.has(imp.name)) {
            // The library's self-resolution: a symbol both imported and exported forwards to the instance's own export.
            const wrapper: { target: Fn | undefined } = { target: undefined };
            wrappers.set(imp.name, wrapper);
            env[imp.name] = (...args: unknown[]) => {
              if (wrapper.target === undefined)
                throw new Error(`Extension "${descriptor.name}" called unresolved symbol during init: env.${imp.name}`);
              return wrapper.target(...args);
            };
          } else
            env[imp.name] = () => {
              throw new Error(`Extension "${descriptor.name}" called unresolved symbol: env.${imp.name}`);
            };
        } else if (imp.kind === 'global') {
          const resolved = main[imp.name];
          env[imp.name] = resolved instanceof wasm.Global ? resolved : new wasm.Global({ value: 'i32', mutable: true }, 0);
        }
      } else if (imp.module === 'GOT.mem' && imp.kind === 'global') {
        gotMem[imp.name] = new wasm.Global({ value: 'i32', mutable: true }, 0);
      } else if (imp.module === 'GOT.func' && imp.kind === 'global') {
        const resolved = main[imp.name];
        if (typeof resolved === 'function') {
          const idx = table.length;
          table.grow(1);
          table.set(idx, resolved);
          gotFunc[imp.name] = new wasm.Global({ value: 'i32', mutable: true }, idx);
        } else gotFunc[imp.name] = new wasm.Global({ value: 'i32', mutable: true }, 0);
      }
    }
    const instance = new wasm.Instance(module, imports);
    const exports = instance.exports;
    for (const [name, wrapper] of wrappers) {
      const own = exports[name];
      if (typeof own === 'function') wrapper.target = own as Fn;
    }
    if (typeof exports.__wasm_apply_data_relocs === 'function') (exports.__wasm_apply_data_relocs as Fn)();
    if (typeof exports.__wasm_call_ctors === 'function') (exports.__wasm_call_ctors as Fn)();
    loaded.push({
      name: descriptor.name,
      module,
      instance,
      dylink: f.dylink,
      memoryBase,
      tableBase,
      initFn: m.initFn,
    });
  }
  return loaded;
}
