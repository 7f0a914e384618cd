/**
 * The engine's module with only the exports someone calls (issue 18 item 5): V8 builds a function object per
 * export of every instance, so each one dropped is host memory saved per sandbox. Everything the sandbox tests run
 * goes through the cut module; these check the cut itself.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { engineFunctionExports } from '../../src/sandbox/engine.ts';
import { extensionImportNames, GLUE_CALLS, glueExportNames, keepFunctionExports } from '../../src/sandbox/wasmExports.ts';

const require = createRequire(import.meta.url);
/** @types/node does not declare the WebAssembly namespace; these are the members used. */
interface WasmModuleApi {
  new (bytes: Uint8Array): object;
  exports(module: object): ReadonlyArray<{ name: string; kind: string }>;
}
const WasmModule = (globalThis as unknown as { WebAssembly: { Module: WasmModuleApi } }).WebAssembly.Module;
const main = readFileSync(require.resolve('quickjs-wasi/quickjs.wasm'));
const EXTENSIONS = ['url', 'encoding', 'crypto', 'structured-clone', 'headers'];
const extensions = EXTENSIONS.map((name) => new WasmModule(readFileSync(require.resolve(`quickjs-wasi/${name}.so`))));
const exportsOf = (bytes: Uint8Array) => WasmModule.exports(new WasmModule(bytes));

/** Every word of quickjs-wasi's JS files: any export it calls is named there, whatever the access. */
function glueWords(): Set<string> {
  const dist = dirname(require.resolve('quickjs-wasi'));
  const words = new Set<string>();
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.js')))
    for (const word of readFileSync(join(dist, file), 'utf8').split(/[^\w$]+/)) words.add(word);
  return words;
}

describe("the engine module's exports", () => {
  it('keep every function export of quickjs.wasm that the installed quickjs-wasi names in its JS', () => {
    const words = glueWords();
    const named = exportsOf(main)
      .filter((e) => e.kind === 'function' && words.has(e.name))
      .map((e) => e.name)
      .sort();
    assert.deepEqual([...GLUE_CALLS].sort(), named);
  });

  it('keep every function the glue names or an extension imports, and every memory, table and global', () => {
    const glue = glueExportNames();
    assert.ok(glue !== undefined, 'expected the installed quickjs-wasi to be the version whose glue was read');
    const needed = new Set([...glue, ...extensionImportNames(extensions)]);
    const before = exportsOf(main);
    const after = new Map(exportsOf(keepFunctionExports(main, needed)).map((e) => [e.name, e.kind]));
    for (const e of before) {
      const expected = e.kind !== 'function' || needed.has(e.name);
      assert.equal(after.has(e.name), expected, `expected ${e.name} (${e.kind}) ${expected ? 'kept' : 'dropped'}`);
      if (expected) assert.equal(after.get(e.name), e.kind);
    }
    for (const name of ['qjs_eval', 'qjs_set_runtime_and_context', 'malloc', 'memory', '__indirect_function_table', '__stack_pointer'])
      assert.ok(after.has(name), `expected ${name} kept`);
  });

  it('are cut in the module every sandbox is made from', () => {
    const { kept, of } = engineFunctionExports();
    assert.ok(kept < of, `expected fewer function exports than quickjs.wasm's ${of}, found ${kept}`);
  });

  it('leave the module as it was when everything is kept', () => {
    const all = new Set(exportsOf(main).map((e) => e.name));
    assert.ok(Buffer.from(keepFunctionExports(main, all)).equals(main), 'expected the same bytes back');
  });
});
