/**
 * CPU budgets are CPU time, never wall time (issue 18 item 1, ADR 0031): a machine busy with other work never stops
 * an honest extension, and a guest spinning for ever is still stopped by its CPU budget, not by the hang limit.
 * The host here is a real child process starved by real spinning processes; no assertion reads a clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, setPriority } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { threadCpuMs } from '../../src/sandbox/engine.ts';
import { DEFAULT_LIMITS } from '../../src/sandbox/index.ts';
import { loadSource } from './harness.ts';

const WORKER = join(import.meta.dirname, 'busyHostWorker.ts');

/** Busy processes; each also ends when its parent does (an interrupted test run leaves no spinner behind) or after 5 min. */
const SPIN = 'const p = process.ppid, end = Date.now() + 300_000; while (process.ppid === p && Date.now() < end) {}';

function spinners(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' }));
}

/** Starts the worker, lets it load at normal priority, then starves it (nice 15 next to two spinners per core) and runs it. */
async function runStarved(env: Record<string, string>): Promise<{ honest: string; spinnerStopped: string[] | null }> {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`the worker ended before it was ready: ${err}`)));
  });
  const busy = spinners(2 * availableParallelism());
  let code: number | null;
  try {
    setPriority(child.pid as number, 15);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin?.write('go\n');
    code = await exited;
  } finally {
    for (const p of busy) p.kill('SIGKILL');
  }
  assert.equal(code, 0, `the worker failed: ${err}`);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as { honest: string; spinnerStopped: string[] | null };
}

describe('CPU budgets are CPU time: a busy host never stops an honest extension', () => {
  it('an honest extension completes under its 1000 ms CPU budget while every core spins; a spinning guest is stopped by its CPU budget', async () => {
    const result = await runStarved({ CPU_BUDGET_MS: '1000', SPIN_BUDGET_MS: '50' });
    assert.equal(result.honest, 'completed');
    assert.deepEqual(result.spinnerStopped, ['cpu_deadline'], 'stopped by the CPU budget, not by the wall-clock hang limit');
  });
});

describe('CPU budget per window is on by default: one extension cannot hold the event loop for ever', () => {
  it('20 timers each busy 900 ms: the window budget is spent, the sandbox is stopped before the timers run out, the host loop ticks on', async () => {
    assert.ok(DEFAULT_LIMITS.cpuMsPerWindow > 0 && DEFAULT_LIMITS.cpuMsPerWindow < 900, 'a window budget is on by default');
    const source = `export default function (pi: any) {
      pi.on('attack', () => {
        for (let i = 0; i < 20; i++) setTimeout(() => { const t = Date.now(); while (Date.now() - t < 900) {} }, 0);
        return 'armed';
      });
    }\n`;
    const breaches: Array<{ resource: string; limit: number; actual: number }> = [];
    // Each guest entry reads the CPU clock once entering and once leaving: the count of readings counts the entries.
    let readings = 0;
    const h = await loadSource(source, {
      extensionId: 'hog',
      breaches: { recordBreach: (b) => breaches.push(b) },
      cpuClock: () => {
        readings++;
        return threadCpuMs();
      },
    });
    // The host's own event loop: a tick that keeps running once the extension is stopped.
    let ticks = 0;
    const tick = setInterval(() => ticks++, 1);
    try {
      readings = 0;
      assert.equal((await h.sandbox.emit('attack', {}))[0]?.results[0]?.value, 'armed');
      while (h.sandbox.stopped === undefined) await new Promise((r) => setImmediate(r));
      const ticksAtStop = ticks;
      while (ticks < ticksAtStop + 3) await new Promise((r) => setTimeout(r, 1));
      assert.deepEqual(h.sandbox.stopped.reasonCodes, ['cpu_window']);
      // On an idle machine one busy timer spends the budget; a loaded one gives each timer less CPU, so a few may run.
      const timersRun = readings / 2 - 1;
      assert.ok(timersRun >= 1 && timersRun < 20, `the budget stopped the extension before its 20 timers ran (${timersRun} ran)`);
      assert.deepEqual(
        breaches.map((b) => [b.resource, b.limit]),
        [['cpu_ms_per_window', DEFAULT_LIMITS.cpuMsPerWindow]],
      );
      assert.ok(breaches[0]!.actual > DEFAULT_LIMITS.cpuMsPerWindow, 'the CPU charged went over the budget');
    } finally {
      clearInterval(tick);
    }
  });
});
