import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { limitsFromQuota } from '../../src/sandbox/index.ts';
import { policyFor, until } from '../helpers.ts';
import { ask, loadFixture, loadSource, type Harness } from './harness.ts';

const RUNAWAY = 'hostile/runaway.ts';

/** The runaway ends with `code`, the sandbox is stopped with a recorded event, and a neighbour still answers. */
async function assertStopped(h: Harness, neighbour: Harness, event: string, code: string): Promise<void> {
  await assert.rejects(h.sandbox.emit(event, {}), (err: Error & { code?: string }) => {
    assert.equal(err.code, code, err.message);
    return true;
  });
  assert.equal(h.sandbox.stopped?.code, code);
  const stopped = h.events.filter((e) => e.type === 'stopped');
  assert.equal(stopped.length, 1);
  assert.equal(stopped[0]?.code, code);
  assert.equal(h.sandbox.memoryUsed(), 0, 'the instance is disposed');
  await assert.rejects(h.sandbox.emit('ping', {}), (err: Error & { code?: string }) => err.code === code);
  assert.equal(await ask(neighbour, 'ping'), 'pong');
}

describe('limits: a runaway extension is stopped with a typed error while another keeps working', () => {
  it('an infinite loop hits the CPU deadline (timeout)', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { cpuMsPerEntry: 100 } });
    await assertStopped(h, neighbour, 'loop', 'timeout');
    // Stopped by the CPU deadline (an interrupt), not by the wall-time watchdog; how close to 100 ms it lands is
    // measured in bench/results/bounds.json.
    assert.deepEqual(h.sandbox.stopped?.reasonCodes, ['cpu_deadline']);
    neighbour.sandbox.dispose();
  });

  it('a memory bomb hits the memory cap (quota_exceeded)', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { memoryMb: 32, cpuMsPerEntry: 5000 } });
    await assertStopped(h, neighbour, 'memory_bomb', 'quota_exceeded');
    neighbour.sandbox.dispose();
  });

  it('a growing set of buffers hits the memory cap (quota_exceeded)', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { memoryMb: 32, cpuMsPerEntry: 5000 } });
    await assertStopped(h, neighbour, 'buffer_bomb', 'quota_exceeded');
    neighbour.sandbox.dispose();
  });

  it('an out-of-memory inside a promise job (an unhandled rejection) still stops the sandbox', async () => {
    const h = await loadFixture(RUNAWAY, { limits: { memoryMb: 16 } });
    await h.sandbox.emit('oom_in_job', {}).catch(() => undefined);
    assert.equal(h.sandbox.stopped?.code, 'quota_exceeded');
    assert.deepEqual(h.sandbox.stopped?.reasonCodes, ['memory_cap']);
  });

  it('a doubling string fails inside the guest (QuickJS string length limit) and the sandbox carries on', async () => {
    const h = await loadFixture(RUNAWAY, { limits: { memoryMb: 32, cpuMsPerEntry: 5000 } });
    const [o] = await h.sandbox.emit('string_bomb', {});
    assert.equal(o?.results[0]?.ok, false);
    assert.match(String(o?.results[0]?.error?.message), /string too long|out of memory/);
    assert.equal(await ask(h, 'ping'), 'pong');
    h.sandbox.dispose();
  });

  it('a promise storm hits the CPU deadline while the job queue drains (timeout)', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { cpuMsPerEntry: 100 } });
    await assertStopped(h, neighbour, 'promise_storm', 'timeout');
    neighbour.sandbox.dispose();
  });

  it('catastrophic regex backtracking is interrupted by the CPU deadline (timeout)', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { cpuMsPerEntry: 100 } });
    await assertStopped(h, neighbour, 'regex_bomb', 'timeout');
    neighbour.sandbox.dispose();
  });

  it('unbounded recursion is a RangeError inside the guest (stack limit) and the sandbox carries on', async () => {
    const h = await loadFixture(RUNAWAY);
    const [o] = await h.sandbox.emit('deep_recursion', {});
    assert.match(String(o?.results[0]?.error?.message), /RangeError: Maximum call stack size exceeded/);
    assert.equal(await ask(h, 'ping'), 'pong');
    h.sandbox.dispose();
  });

  it('guest recursion that exhausts the host native stack (WASM shares it) stops the sandbox as an engine fault', async () => {
    // Start the guest entry from deep in the host stack so V8's limit trips before QuickJS's own check.
    const deep = (n: number, fn: () => void): void => (n === 0 ? fn() : deep(n - 1, fn));
    const outcomes: string[] = [];
    for (const depth of [11_000, 10_000, 9_000, 8_000]) {
      const h = await loadFixture(RUNAWAY);
      let pending: Promise<unknown> | undefined;
      try {
        deep(depth, () => {
          pending = h.sandbox.emit('deep_recursion', {});
        });
      } catch {
        h.sandbox.dispose();
        continue; // the host recursion itself did not fit; try shallower
      }
      const outcome = await pending?.then(
        () => 'guest RangeError',
        (e: Error & { code?: string }) => `${e.code ?? ''}: ${e.message}`,
      );
      outcomes.push(String(outcome));
      if (h.sandbox.stopped !== undefined) {
        assert.equal(h.sandbox.stopped.code, 'internal');
        assert.deepEqual(h.sandbox.stopped.reasonCodes, ['engine_fault']);
        assert.equal(h.events[0]?.type, 'stopped');
      }
      h.sandbox.dispose();
    }
    assert.ok(
      outcomes.some((o) => /^internal: .*the engine failed while running the extension: RangeError/.test(o)),
      outcomes.join(' | '),
    );
  });

  it('the guest has no Atomics (so no Atomics.wait that an interrupt could not end)', async () => {
    const h = await loadFixture(RUNAWAY);
    assert.match(String(await ask(h, 'shared_memory')), /^undefined/);
    h.sandbox.dispose();
  });

  it('a synchronous hostcall flood is stopped by the per-entry hostcall cap (quota_exceeded)', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { maxHostcallsPerEntry: 2000, cpuMsPerEntry: 5000 } });
    await assertStopped(h, neighbour, 'sync_flood', 'quota_exceeded');
    assert.ok(
      h.recorder.entries.filter((e) => e.method === 'pi.getSessionName').length <= 2000,
      'the calls past the cap never reached dispatch',
    );
    neighbour.sandbox.dispose();
  });

  it('an asynchronous hostcall flood is refused past the pending cap without stopping the sandbox', async () => {
    // 3000 calls in one entry: the per-entry deadline counts elapsed time, which a loaded machine stretches past the
    // default 1000 ms; this test is about the pending cap, so the deadline is set out of its way.
    const h = await loadFixture(RUNAWAY, { limits: { maxPendingHostcalls: 100, cpuMsPerEntry: 30_000 } });
    const out = (await ask(h, 'async_flood')) as { rejected: number };
    assert.ok(out.rejected >= 2900, `refused ${out.rejected} of 3000`);
    assert.equal(h.sandbox.stopped, undefined);
    assert.equal(await ask(h, 'ping'), 'pong');
    h.sandbox.dispose();
  });

  it('a timer flood is refused past the timer cap', async () => {
    const h = await loadFixture(RUNAWAY, { limits: { maxPendingTimers: 50 } });
    assert.equal(await ask(h, 'timer_flood'), 1950);
    h.sandbox.dispose();
  });

  it('a loop inside a timer callback stops the sandbox when the timer fires', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { cpuMsPerEntry: 100 } });
    assert.equal(await ask(h, 'loop_in_timer'), 'scheduled');
    await until(() => h.sandbox.stopped !== undefined, 'the timer to fire and its loop to be stopped');
    assert.equal(h.sandbox.stopped?.code, 'timeout');
    assert.equal(h.events[0]?.type, 'stopped');
    assert.equal(await ask(neighbour, 'ping'), 'pong');
    neighbour.sandbox.dispose();
  });

  it('the smallest cap the settings allow (2 MiB) still runs a small extension, and allocating past it stops the sandbox', async () => {
    const neighbour = await loadFixture(RUNAWAY, { extensionId: 'neighbour' });
    const h = await loadFixture(RUNAWAY, { limits: { memoryMb: 2 } });
    assert.equal(await ask(h, 'ping'), 'pong');
    await assertStopped(h, neighbour, 'buffer_bomb', 'quota_exceeded');
    neighbour.sandbox.dispose();
  });

  it('the memory cap defaults to 256 MiB and follows the quota settings, per extension override first', async () => {
    const h = await loadFixture(RUNAWAY);
    assert.equal(h.sandbox.limits.memoryMb, 256);
    h.sandbox.dispose();
    const policy = policyFor({
      user: { extensionPolicy: { quota: { memoryMb: 64, cpuMsPerCall: 250 }, overrides: { tight: { quota: { memoryMb: 16 } } } } },
    });
    assert.deepEqual(limitsFromQuota(policy.quota), { memoryMb: 64, cpuMsPerEntry: 250 });
    assert.deepEqual(limitsFromQuota(policy.overrideQuotas.get('tight')), { memoryMb: 16 });
    const limited = await loadFixture(RUNAWAY, { limits: limitsFromQuota(policy.overrideQuotas.get('tight')) });
    assert.equal(limited.sandbox.limits.memoryMb, 16);
    limited.sandbox.dispose();
  });
});

describe('limits: every stop by a limit is a quota breach {extension_id, resource, limit, actual, ts_ms}', () => {
  it('CPU deadline and memory cap breaches reach the breach sink', async () => {
    const seen: Array<{ extension_id: string; resource: string; limit: number; actual: number }> = [];
    const breaches = {
      recordBreach: (b: { extension_id: string; resource: string; limit: number; actual: number }) => {
        seen.push(b);
      },
    };
    // The sandbox's CPU clock is held: each reading moves it 250 ms, so the entry that was interrupted measured exactly
    // one step between entering and being stopped (the interrupt itself fires on the engine's own CPU budget).
    let cpuClock = 0;
    const cpu = await loadFixture(RUNAWAY, {
      extensionId: 'spinner',
      limits: { cpuMsPerEntry: 100, cpuMsPerWindow: 0 },
      breaches,
      cpuClock: () => (cpuClock += 250),
    });
    await cpu.sandbox.emit('loop', {}).catch(() => undefined);
    const mem = await loadFixture(RUNAWAY, { extensionId: 'hog', limits: { memoryMb: 32, cpuMsPerEntry: 5000 }, breaches });
    await mem.sandbox.emit('memory_bomb', {}).catch(() => undefined);
    assert.deepEqual(
      seen.map((b) => [b.extension_id, b.resource, b.limit]),
      [
        ['spinner', 'cpu_ms_per_call', 100],
        ['hog', 'memory_mb', 32],
      ],
    );
    assert.ok(seen[1]!.actual >= seen[1]!.limit, 'memory in use is never reported under the cap');
    // What the entry measured, not the limit copied.
    assert.equal(seen[0]!.actual, 250);
    const ok = await loadFixture(RUNAWAY, { extensionId: 'calm', breaches });
    assert.equal(await ask(ok, 'ping'), 'pong');
    ok.sandbox.dispose();
    assert.equal(seen.length, 2, 'a disposal is not a breach');
  });
});

describe('limits: a wall-time breach records how long the invocation really waited', () => {
  it('actual is the measured wait, not the limit copied', async () => {
    const seen: Array<{ resource: string; limit: number; actual: number }> = [];
    // The sandbox's clock is held at 0 while the invocation starts and moved to 80 before its 30 ms timer fires.
    let now = 0;
    const h = await loadFixture(RUNAWAY, {
      extensionId: 'sleeper',
      limits: { wallTimeMs: 30 },
      breaches: { recordBreach: (b) => seen.push(b) },
      clock: () => now,
    });
    const pending = assert.rejects(h.sandbox.emit('hang', {}), /did not settle within 30 ms/);
    now = 80;
    await pending;
    h.sandbox.dispose();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.resource, 'wall_time_ms');
    assert.equal(seen[0]!.limit, 30);
    assert.equal(seen[0]!.actual, 80, 'the measured wait, not the limit copied');
  });
});

describe('limits: one wall-time timer for all invocations', () => {
  it('fails an invocation at its own deadline, not at an earlier one the timer was armed for', async () => {
    // The sandbox's wall clock is held: 0 while a quick invocation arms the timer, 1000 when a hanging one starts.
    let now = 0;
    const h = await loadFixture(RUNAWAY, { extensionId: 'sleeper', limits: { wallTimeMs: 40 }, clock: () => now });
    try {
      assert.deepEqual((await h.sandbox.emit('ping', {}))[0]?.results[0]?.value, 'pong');
      now = 1000;
      let failed: unknown;
      const hang = h.sandbox.emit('hang', {}).then(
        () => assert.fail('expected the hanging invocation to time out'),
        (err: unknown) => {
          failed = err;
        },
      );
      // The timer fires for the first invocation's deadline (40) and again every 40 ms: the clock says 1000, not 1040.
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(failed, undefined, 'not failed before its own deadline on the sandbox clock');
      now = 1040;
      await hang;
      const error = failed as unknown as { code?: string; reasonCodes?: readonly string[] };
      assert.deepEqual([error.code, error.reasonCodes], ['timeout', ['wall_time']], "the wall-time limit's error");
    } finally {
      h.sandbox.dispose();
    }
  });

  it('lets an idle sandbox end its process: the timer holds it only while an invocation is pending', () => {
    const script = `
      import { loadFixture } from ${JSON.stringify(new URL('./harness.ts', import.meta.url).pathname)};
      const h = await loadFixture(${JSON.stringify(RUNAWAY)}, { limits: { wallTimeMs: 600000 } });
      const r = await h.sandbox.emit('ping', {});
      console.log(r[0].results[0].value);
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(
      out.signal,
      null,
      `expected the process to exit on its own, found it killed (${String(out.signal)}): ${out.stderr.slice(-500)}`,
    );
    assert.equal(out.status, 0, out.stderr.slice(-1000));
    assert.equal(out.stdout.trim(), 'pong');
  });
});

describe('limits: CPU budget per window', () => {
  it('an extension under the per-entry deadline but never resting is stopped when its window budget is spent', async () => {
    const seen: Array<{ resource: string; limit: number; actual: number }> = [];
    const handler = "export default function (pi: any) { pi.on('burn', () => 'ok'); }\n";
    // The sandbox's CPU clock is held: still while the extension loads, then each reading moves it 40 ms, so every
    // guest entry is charged exactly 40 ms (one reading on entering, one on leaving).
    const heldClock = () => {
      let t = 0;
      const clock = { step: 0, read: () => (t += clock.step) };
      return clock;
    };
    const clock = heldClock();
    const h = await loadSource(handler, {
      extensionId: 'burner',
      limits: { cpuMsPerEntry: 1000, cpuMsPerWindow: 150, windowMs: 60_000 },
      breaches: {
        recordBreach: (b) => {
          seen.push(b);
        },
      },
      cpuClock: () => clock.read(),
    });
    clock.step = 40;
    let stoppedAfter = 0;
    for (let i = 1; i <= 10 && h.sandbox.stopped === undefined; i++) {
      await h.sandbox.emit('burn', {}).catch(() => undefined);
      stoppedAfter = i;
    }
    assert.equal(h.sandbox.stopped?.code, 'quota_exceeded');
    assert.deepEqual(h.sandbox.stopped?.reasonCodes, ['cpu_window']);
    // 3 entries charge 120 ms, within 150; the fourth brings it to 160.
    assert.equal(stoppedAfter, 4);
    assert.deepEqual(
      seen.map((b) => [b.resource, b.limit, b.actual]),
      [['cpu_ms_per_window', 150, 160]],
    );
    const calmClock = heldClock();
    const calm = await loadSource(handler, { extensionId: 'calm', limits: { cpuMsPerWindow: 10_000 }, cpuClock: () => calmClock.read() });
    calmClock.step = 40;
    for (let i = 0; i < 5; i++) await calm.sandbox.emit('burn', {});
    assert.equal(calm.sandbox.stopped, undefined, 'within its budget nothing happens');
    calm.sandbox.dispose();
  });

  it("the host's side of the extension's hostcalls (policy, mediation, the ledger) is not charged to its window", async () => {
    const seen: Array<{ resource: string; limit: number; actual: number }> = [];
    // Three synchronous hostcalls (console.log) per entry. The held clock moves 40 ms per reading: entering and
    // leaving the entry, and before and after each hostcall's host side. An entry is 7 steps (280 ms), 3 of them
    // the host's: the window is charged 160 ms an entry, so a 200 ms budget stops it at the second entry, not the first.
    const handler =
      "export default function (pi: any) { pi.on('chatty', () => { console.log('a'); console.log('b'); console.log('c'); return 'ok'; }); }\n";
    let t = 0;
    let step = 0;
    const h = await loadSource(handler, {
      extensionId: 'chatty',
      limits: { cpuMsPerEntry: 1000, cpuMsPerWindow: 200, windowMs: 60_000 },
      breaches: { recordBreach: (b) => void seen.push(b) },
      cpuClock: () => (t += step),
    });
    step = 40;
    let stoppedAfter = 0;
    for (let i = 1; i <= 5 && h.sandbox.stopped === undefined; i++) {
      await h.sandbox.emit('chatty', {}).catch(() => undefined);
      stoppedAfter = i;
    }
    assert.deepEqual(h.sandbox.stopped?.reasonCodes, ['cpu_window']);
    assert.equal(stoppedAfter, 2);
    assert.deepEqual(
      seen.map((b) => [b.resource, b.limit, b.actual]),
      [['cpu_ms_per_window', 200, 320]],
    );
  });
});

describe('limits: what crosses into the guest is freed once the guest has it', () => {
  it('an honest handler that reads a 256 KiB event field 120 times stays under a 16 MiB memory cap', async () => {
    // Each read is one hostcall whose reply (the field's JSON) the engine hands the guest. Kept for good, 120 replies
    // are 30 MiB: the cap stopped the extension at about the 60th read.
    const h = await loadSource(`export default function (pi) { pi.on('turn_end', (event) => event.result.text.length); }`, {
      limits: { memoryMb: 16, cpuMsPerWindow: 0 },
    });
    const text = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 120; i++) {
      const run = await h.sandbox.emitHandler('turn_end', 1, { turnIndex: i, result: { text } }, {}, undefined, []);
      assert.equal(run.ok && run.value, text.length, `read ${i + 1}`);
    }
    assert.equal(h.sandbox.stopped, undefined);
    assert.ok(
      h.sandbox.linearMemoryBytes() < 16 * 1024 * 1024,
      `expected the guest's memory under the cap, found ${h.sandbox.linearMemoryBytes()} bytes`,
    );
    h.sandbox.dispose();
  });
});
