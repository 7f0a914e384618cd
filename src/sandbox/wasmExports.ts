/**
 * The engine's WASM module with only the exports someone calls (issue 18 item 5). quickjs.wasm exports 450
 * functions, the whole QuickJS C API; V8 makes a JS function object for each export of every instance, about 150 KiB
 * of host heap per sandbox. The ones used are those quickjs-wasi's glue calls by name and those its extensions
 * import from the main module; the others are dropped from the export section. Code, tables, memory layout and
 * function indices are unchanged: a snapshot of either module restores into the other.
 *
 * The glue's names are read from its own files: quickjs-wasi 3.6.2 is known to spell out every export it calls;
 * any other version keeps every export.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** @types/node does not declare the WebAssembly namespace; this is the one member used. */
interface WasmModuleApi {
  imports(module: object): ReadonlyArray<{ module: string; name: string; kind: string }>;
}
const WasmModule = (globalThis as unknown as { WebAssembly: { Module: WasmModuleApi } }).WebAssembly.Module;

/** The quickjs-wasi version whose glue is known to name every main-module export it calls in its source. */
const READ_FOR = '3.6.2';
const EXPORT_SECTION = 7;
const FUNCTION_KIND = 0;

/**
 * Every identifier in quickjs-wasi's JS (a superset of the exports it calls, whatever the access: `exports.x`,
 * `vm._getExports().x`), or undefined on another version than the one known to never compute an export's name.
 */
export function glueExportNames(): ReadonlySet<string> | undefined {
  const { version } = require('quickjs-wasi/package.json') as { version: string };
  if (version !== READ_FOR) return undefined;
  const dist = dirname(require.resolve('quickjs-wasi'));
  const names = new Set<string>();
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.js')))
    for (const m of readFileSync(join(dist, file), 'utf8').matchAll(/[A-Za-z_$][\w$]*/g)) names.add(m[0]);
  return names;
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
