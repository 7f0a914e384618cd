/**
 * The engine's WASM module with only the exports someone calls (issue 18 item 5). quickjs.wasm exports 450
 * functions, the whole QuickJS C API; V8 makes a JS function object for each export of every instance, about 150 KiB
 * of host heap per sandbox. The ones used are those quickjs-wasi's glue calls by name and those its extensions
 * import from the main module; the others are dropped from the export section. Code, tables, memory layout and
 * function indices are unchanged: a snapshot of either module restores into the other.
 *
 * The glue's names were read from quickjs-wasi 3.6.2's files (GLUE_CALLS); any other version keeps every export.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @types/node does not declare the WebAssembly namespace; this is the one member used. */
interface WasmModuleApi {
  imports(module: object): ReadonlyArray<{ module: string; name: string; kind: string }>;
}
const WasmModule = (globalThis as unknown as { WebAssembly: { Module: WasmModuleApi } }).WebAssembly.Module;

/** The quickjs-wasi version whose glue was read for GLUE_CALLS. */
const READ_FOR = '3.6.2';
const EXPORT_SECTION = 7;
const FUNCTION_KIND = 0;

/**
 * The main-module functions quickjs-wasi 3.6.2's JS calls: every function export of quickjs.wasm whose name appears
 * in its dist files (a superset: `ceil` or `log` appear as words of its own code). wasm_exports.test.ts reads the
 * files and checks this list against them; the list, not a scan, is used at run time (the scan costs 6 ms).
 */
export const GLUE_CALLS: readonly string[] = [
  'JS_PromiseThen',
  'JS_ToCStringLen2',
  '_initialize',
  'ceil',
  'floor',
  'free',
  'log',
  'malloc',
  'qjs_call',
  'qjs_call_constructor',
  'qjs_compile',
  'qjs_compute_memory_usage',
  'qjs_define_prop_string',
  'qjs_define_prop_value',
  'qjs_dup_value',
  'qjs_eval',
  'qjs_eval_bytecode',
  'qjs_execute_pending_job',
  'qjs_free_cstring',
  'qjs_free_value',
  'qjs_get_array_buffer',
  'qjs_get_big_int64',
  'qjs_get_bool',
  'qjs_get_class_id',
  'qjs_get_class_name',
  'qjs_get_context_ptr',
  'qjs_get_exception',
  'qjs_get_false',
  'qjs_get_float64',
  'qjs_get_gc_threshold',
  'qjs_get_global',
  'qjs_get_null',
  'qjs_get_own_property_descriptor',
  'qjs_get_own_property_keys',
  'qjs_get_own_property_names',
  'qjs_get_own_property_names_all',
  'qjs_get_prop_string',
  'qjs_get_prop_uint32',
  'qjs_get_prop_value',
  'qjs_get_prototype_of',
  'qjs_get_proxy_handler',
  'qjs_get_proxy_target',
  'qjs_get_quickjs_version',
  'qjs_get_runtime_ptr',
  'qjs_get_string_len',
  'qjs_get_symbol_description',
  'qjs_get_true',
  'qjs_get_typed_array_buffer',
  'qjs_get_undefined',
  'qjs_get_value_ptr',
  'qjs_has_own_property',
  'qjs_has_own_property_value',
  'qjs_init',
  'qjs_init2',
  'qjs_is_array',
  'qjs_is_array_buffer',
  'qjs_is_big_int',
  'qjs_is_bool',
  'qjs_is_data_view',
  'qjs_is_date',
  'qjs_is_error',
  'qjs_is_exception',
  'qjs_is_function',
  'qjs_is_job_pending',
  'qjs_is_map',
  'qjs_is_null',
  'qjs_is_number',
  'qjs_is_object',
  'qjs_is_promise',
  'qjs_is_proxy',
  'qjs_is_regexp',
  'qjs_is_set',
  'qjs_is_string',
  'qjs_is_symbol',
  'qjs_is_undefined',
  'qjs_is_weak_map',
  'qjs_is_weak_ref',
  'qjs_is_weak_set',
  'qjs_new_array',
  'qjs_new_array_buffer',
  'qjs_new_big_int64',
  'qjs_new_error',
  'qjs_new_host_function',
  'qjs_new_number',
  'qjs_new_object',
  'qjs_new_promise',
  'qjs_new_string',
  'qjs_new_symbol',
  'qjs_new_uint8_array',
  'qjs_promise_mark_as_handled',
  'qjs_promise_result',
  'qjs_promise_state',
  'qjs_promise_then',
  'qjs_property_is_enumerable',
  'qjs_property_is_enumerable_value',
  'qjs_run_gc',
  'qjs_set_gc_threshold',
  'qjs_set_interrupt_handler',
  'qjs_set_max_stack_size',
  'qjs_set_memory_limit',
  'qjs_set_module_loader',
  'qjs_set_promise_rejection_handler',
  'qjs_set_prop_string',
  'qjs_set_prop_uint32',
  'qjs_set_prop_value',
  'qjs_set_runtime_and_context',
  'qjs_throw',
  'round',
  'wasm_free',
  'wasm_malloc',
];

/** The functions the glue calls, or undefined on another quickjs-wasi version than the one read. */
export function glueExportNames(): ReadonlySet<string> | undefined {
  const { version } = require('quickjs-wasi/package.json') as { version: string };
  return version === READ_FOR ? new Set(GLUE_CALLS) : undefined;
}

/** What the extension modules import from the main one by name (their `env` functions and globals, `GOT.func`). */
export function extensionImportNames(extensions: readonly object[]): ReadonlySet<string> {
  const names = new Set<string>();
  for (const ext of extensions)
    for (const imp of WasmModule.imports(ext)) if (imp.module === 'env' || imp.module === 'GOT.func') names.add(imp.name);
  return names;
}

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    if (at >= bytes.length) throw new Error(`expected a LEB128 number at ${at}, found the end of the module`);
    byte = bytes[at++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

function leb(value: number): Uint8Array {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Uint8Array.from(out);
}

/**
 * `module` (WASM binary) with its function exports cut to `keep`; other exports (memory, table, globals) stay.
 * Sections are copied as they are except the export section (WebAssembly core spec §5.5.10).
 */
export function keepFunctionExports(module: Uint8Array, keep: ReadonlySet<string>): Uint8Array {
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  let at = 8;
  while (at < module.length) {
    const id = module[at] as number;
    const [size, body] = readLeb(module, at + 1);
    const end = body + size;
    if (id !== EXPORT_SECTION) {
      parts.push(module.subarray(at, end));
      at = end;
      continue;
    }
    const [count, first] = readLeb(module, body);
    const kept: Uint8Array[] = [];
    let entry = first;
    for (let i = 0; i < count; i++) {
      const [nameLength, nameAt] = readLeb(module, entry);
      const name = Buffer.from(module.subarray(nameAt, nameAt + nameLength)).toString('utf8');
      const kind = module[nameAt + nameLength];
      const [, next] = readLeb(module, nameAt + nameLength + 1);
      if (kind !== FUNCTION_KIND || keep.has(name)) kept.push(module.subarray(entry, next));
      entry = next;
    }
    const content = Buffer.concat([leb(kept.length), ...kept]);
    parts.push(Uint8Array.of(EXPORT_SECTION), leb(content.length), content);
    at = end;
  }
  return Buffer.concat(parts);
}
