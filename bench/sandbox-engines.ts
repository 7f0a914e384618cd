/**
 * Engine comparison for ADR 0020: quickjs-wasi vs quickjs-emscripten (quickjs-ng release-sync).
 * `node --expose-gc bench/sandbox-engines.ts` prints JSON and writes bench/results/sandbox-engines.json.
 *
 * Each instance is a fresh WASM instance (own linear memory) as the sandbox will use it; the compiled
 * WebAssembly.Module is shared, which is what both engines allow.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuickJS } from 'quickjs-wasi';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import ngVariant from '@jitl/quickjs-ng-wasmfile-release-sync';

const require = createRequire(import.meta.url);
/** @types/node does not declare the WebAssembly namespace; this is the one call used here. */
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const MiB = 1024 * 1024;
const rss = () => process.memoryUsage().rss / MiB;

/** A shim-sized prelude (~20 KB of JS) so cold start includes parsing a realistic amount of code. */
const PRELUDE = Array.from(
  { length: 200 },
  (_, i) =>
    `globalThis.f${i} = function (a, b) { const o = { a, b, i: ${i} }; return JSON.stringify(o) + String(a ?? '') + [1,2,3].map(x => x * ${i}).join(','); };`,
).join('\n');
const LOOP = '(() => { let s = "x"; for (let i = 0; i < N; i++) s = host(s); return s; })()';
const BOMB = 'const a = []; for (;;) a.push(new Array(1e5).fill(1));';
const FIB = 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); } fib(24)';

function pct(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(3));
}
const now = () => performance.now();

// ---------------------------------------------------------------- quickjs-wasi
const wasiModule = await wasm.compile(readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')));

async function wasiCreate(deadline: { at: number }, memoryLimit = 256 * MiB): Promise<QuickJS> {
  const vm = await QuickJS.create({ wasm: wasiModule, memoryLimit, interruptHandler: () => performance.now() > deadline.at });
  return vm;
}

async function measureWasi(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const deadline = { at: Infinity };
  {
    gc();
    const before = rss();
    const vms: QuickJS[] = [];
    for (let i = 0; i < 50; i++) {
      const vm = await wasiCreate(deadline);
      vm.evalCode(PRELUDE).dispose();
      vms.push(vm);
    }
    gc();
    out.idle_rss_per_instance_mib = Number(((rss() - before) / vms.length).toFixed(2));
    out.quickjs_heap_per_instance_mib = Number((vms[0]!.getMemoryUsage().memoryUsedSize / MiB).toFixed(2));
    out.linear_memory_per_instance_mib = Number(
      ((vms[0] as unknown as { exports: { memory: { buffer: ArrayBuffer } } }).exports.memory.buffer.byteLength / MiB).toFixed(2),
    );
    for (const vm of vms) vm.dispose();
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    out.rss_retained_after_dispose_mib = Number((rss() - before).toFixed(1));
  }
  // cold start, fresh
  const fresh: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = now();
    const vm = await wasiCreate(deadline);
    vm.evalCode(PRELUDE).dispose();
    fresh.push(now() - t);
    vm.dispose();
  }
  out.cold_start_fresh_ms = { p50: pct(fresh, 0.5), p99: pct(fresh, 0.99) };
  const base = await wasiCreate(deadline);
  base.evalCode(PRELUDE).dispose();
  base.newFunction('host', (s) => base.newString(s?.toString() ?? '')).dispose();
  const snap = base.snapshot();
  out.snapshot_bytes = QuickJS.serializeSnapshot(snap).byteLength;
  base.dispose();
  const restored: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = now();
    const vm = await QuickJS.restore(snap, { wasm: wasiModule, memoryLimit: 256 * MiB, interruptHandler: () => false });
    restored.push(now() - t);
    vm.dispose();
  }
  out.cold_start_snapshot_ms = { p50: pct(restored, 0.5), p99: pct(restored, 0.99) };
  {
    const vm = await wasiCreate(deadline);
    const fn = vm.newFunction('host', (s) => vm.newString(s?.toString() ?? ''));
    vm.setProp(vm.global, 'host', fn);
    fn.dispose();
    const N = 20000;
    vm.evalCode(`globalThis.N = ${N}`).dispose();
    vm.evalCode(LOOP).dispose();
    const t = now();
    vm.evalCode(LOOP).dispose();
    out.hostcall_round_trip_us = Number((((now() - t) * 1000) / N).toFixed(3));
    const t2 = now();
    vm.evalCode(FIB).dispose();
    out.fib24_ms = Number((now() - t2).toFixed(1));
    vm.dispose();
  }
  {
    const lat: number[] = [];
    for (let i = 0; i < 10; i++) {
      const vm = await wasiCreate(deadline);
      deadline.at = now() + 20;
      try {
        vm.evalCode('while (true) {}').dispose();
      } catch (e) {
        (e as { dispose?: () => void }).dispose?.();
      }
      lat.push(now() - deadline.at);
      deadline.at = Infinity;
      vm.dispose();
    }
    out.interrupt_latency_ms = { p50: pct(lat, 0.5), max: pct(lat, 1) };
  }
  {
    gc();
    const before = rss();
    const vm = await wasiCreate(deadline, 32 * MiB);
    let message = '';
    const t = now();
    try {
      vm.evalCode(BOMB).dispose();
    } catch (e) {
      message = String((e as Error).message ?? e);
      (e as { dispose?: () => void }).dispose?.();
    }
    out.memory_cap_32mib = {
      error: message.slice(0, 80),
      ms: Number((now() - t).toFixed(1)),
      rss_growth_mib: Number((rss() - before).toFixed(1)),
    };
    const ok = vm.evalCode('1 + 1').consume((h) => h.toNumber());
    (out.memory_cap_32mib as Record<string, unknown>).usable_after = ok === 2;
    vm.dispose();
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    (out.memory_cap_32mib as Record<string, unknown>).rss_after_dispose_mib = Number((rss() - before).toFixed(1));
  }
  return out;
}

// ---------------------------------------------------------------- quickjs-emscripten (ng)
const ngWasm = await wasm.compile(
  readFileSync(join(dirname(require.resolve('@jitl/quickjs-ng-wasmfile-release-sync')), 'emscripten-module.wasm')),
);
const ngFast = newVariant(ngVariant as unknown as QuickJSSyncVariant, { wasmModule: ngWasm });

async function ngModule(): Promise<QuickJSWASMModule> {
  return newQuickJSWASMModuleFromVariant(ngFast);
}

async function measureNg(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const deadline = { at: Infinity };
  const make = async (limit = 256 * MiB) => {
    const mod = await ngModule();
    const rt = mod.newRuntime();
    rt.setMemoryLimit(limit);
    rt.setInterruptHandler(() => performance.now() > deadline.at);
    const ctx = rt.newContext();
    return {
      mod,
      rt,
      ctx,
      dispose: () => {
        ctx.dispose();
        rt.dispose();
      },
    };
  };
  {
    gc();
    const before = rss();
    const all: Array<Awaited<ReturnType<typeof make>>> = [];
    for (let i = 0; i < 50; i++) {
      const s = await make();
      s.ctx.unwrapResult(s.ctx.evalCode(PRELUDE)).dispose();
      all.push(s);
    }
    gc();
    out.idle_rss_per_instance_mib = Number(((rss() - before) / all.length).toFixed(2));
    const mu = all[0]!.rt.computeMemoryUsage();
    out.quickjs_heap_per_instance_mib = Number(((all[0]!.ctx.dump(mu) as { memory_used_size: number }).memory_used_size / MiB).toFixed(2));
    mu.dispose();
    for (const s of all) s.dispose();
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    out.rss_retained_after_dispose_mib = Number((rss() - before).toFixed(1));
  }
  const fresh: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = now();
    const s = await make();
    s.ctx.unwrapResult(s.ctx.evalCode(PRELUDE)).dispose();
    fresh.push(now() - t);
    s.dispose();
  }
  out.cold_start_fresh_ms = { p50: pct(fresh, 0.5), p99: pct(fresh, 0.99) };
  out.cold_start_snapshot_ms = 'not offered by quickjs-emscripten';
  // a new context on an existing module (shares linear memory: not per-extension isolation of memory)
  {
    const mod = await ngModule();
    const ctxOnly: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t = now();
      const rt = mod.newRuntime();
      const ctx = rt.newContext();
      ctx.unwrapResult(ctx.evalCode(PRELUDE)).dispose();
      ctxOnly.push(now() - t);
      ctx.dispose();
      rt.dispose();
    }
    out.runtime_on_shared_module_ms = { p50: pct(ctxOnly, 0.5), p99: pct(ctxOnly, 0.99) };
  }
  {
    const s = await make();
    const fn = s.ctx.newFunction('host', (h) => s.ctx.newString(s.ctx.getString(h)));
    s.ctx.setProp(s.ctx.global, 'host', fn);
    fn.dispose();
    const N = 20000;
    s.ctx.unwrapResult(s.ctx.evalCode(`globalThis.N = ${N}`)).dispose();
    s.ctx.unwrapResult(s.ctx.evalCode(LOOP)).dispose();
    const t = now();
    s.ctx.unwrapResult(s.ctx.evalCode(LOOP)).dispose();
    out.hostcall_round_trip_us = Number((((now() - t) * 1000) / N).toFixed(3));
    const t2 = now();
    s.ctx.unwrapResult(s.ctx.evalCode(FIB)).dispose();
    out.fib24_ms = Number((now() - t2).toFixed(1));
    s.dispose();
  }
  {
    const lat: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await make();
      deadline.at = now() + 20;
      const r = s.ctx.evalCode('while (true) {}');
      lat.push(now() - deadline.at);
      r.dispose();
      deadline.at = Infinity;
      s.dispose();
    }
    out.interrupt_latency_ms = { p50: pct(lat, 0.5), max: pct(lat, 1) };
  }
  {
    gc();
    const before = rss();
    const s = await make(32 * MiB);
    const t = now();
    const r = s.ctx.evalCode(BOMB);
    let message = '';
    if (r.error) {
      message = JSON.stringify(s.ctx.dump(r.error)).slice(0, 80);
      r.error.dispose();
    } else r.value.dispose();
    const cap: Record<string, unknown> = {
      error: message,
      ms: Number((now() - t).toFixed(1)),
      rss_growth_mib: Number((rss() - before).toFixed(1)),
    };
    const ok = s.ctx.evalCode('1 + 1');
    cap.usable_after = !ok.error && s.ctx.getNumber(ok.value) === 2;
    ok.dispose();
    s.dispose();
    gc();
    await new Promise((r2) => setTimeout(r2, 50));
    gc();
    cap.rss_after_dispose_mib = Number((rss() - before).toFixed(1));
    out.memory_cap_32mib = cap;
  }
  return out;
}

/** The cost of an outer fence: one worker_thread per sandbox, messages for hostcalls. */
async function measureWorker(): Promise<Record<string, unknown>> {
  const { Worker } = await import('node:worker_threads');
  const spawn: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = now();
    const w = new Worker(
      'const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));',
      { eval: true },
    );
    await new Promise<void>((resolve) => {
      w.once('online', () => resolve());
    });
    spawn.push(now() - t);
    await w.terminate();
  }
  const w = new Worker(
    'const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));',
    { eval: true },
  );
  await new Promise<void>((resolve) => {
    w.once('online', () => resolve());
  });
  const N = 5000;
  const t = now();
  for (let i = 0; i < N; i++) {
    const reply = new Promise((resolve) => {
      w.once('message', resolve);
    });
    w.postMessage({ method: 'pi.getSessionName', params: {} });
    await reply;
  }
  const rt = ((now() - t) * 1000) / N;
  await w.terminate();
  return { spawn_to_online_ms: { p50: pct(spawn, 0.5), max: pct(spawn, 1) }, message_round_trip_us: Number(rt.toFixed(2)) };
}

const result = {
  date: new Date().toISOString(),
  node: process.version,
  'worker_thread per sandbox (outer fence)': await measureWorker(),
  'quickjs-wasi@3.6.2': await measureWasi(),
  'quickjs-emscripten-core@0.32.0 + quickjs-ng release-sync': await measureNg(),
};
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'sandbox-engines.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
