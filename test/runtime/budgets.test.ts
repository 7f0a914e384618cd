/**
 * Host exhaustion under default limits (issue 16 item 5): bytes the host holds for one extension are capped, and an
 * extension over a budget is quarantined through the trust registry. Real loopback server, real dispatcher, real
 * store; the bound is asserted through the exposed counter, never through a clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HOST_BYTES } from '../../src/dispatch/index.ts';
import { queryBreaches } from '../../src/trust/index.ts';
import { openStore } from '../../src/evidence/index.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

const MIB = 1024 * 1024;

describe('budgets: bytes the host holds for one extension', () => {
  it('90 downloads of a server that sends 15 MiB and stalls: the host holds at most the budget, the extension is quarantined', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(MIB, 0x61);
      for (let i = 0; i < 15; i++) res.write(chunk);
      // ...and never ends.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big`;
    const home = tempHome();
    const quarantined: string[] = [];
    const rt = await createRuntime({
      home,
      policy: policyFor({
        user: { extensionPolicy: { profile: 'permissive', defaultCaps: ['http'], http: { allowPrivate: ['127.0.0.1'] } } },
      }),
      realHttp: true,
      onQuarantined: (id) => quarantined.push(id),
    });
    try {
      const calls = Array.from({ length: 90 }, (_, i) =>
        rt.dispatcher.dispatch('hog', { call_id: `c${i}`, method: 'http', params: { url, timeoutMs: 120_000 } }),
      );
      let settled = false;
      const all = Promise.all(calls).finally(() => (settled = true));
      while (rt.trust.stateOf('hog') !== 'quarantined' && !settled) await new Promise((r) => setTimeout(r, 5));
      assert.equal(rt.trust.stateOf('hog'), 'quarantined');
      assert.ok(rt.hostBytes.peak('hog') > 0, 'the downloads were charged');
      assert.ok(
        rt.hostBytes.peak('hog') <= DEFAULT_HOST_BYTES,
        `the host never held more than the budget: peak ${rt.hostBytes.peak('hog')} of ${DEFAULT_HOST_BYTES} bytes`,
      );
      assert.deepEqual(quarantined, ['hog'], 'the sandbox is told to stop');
      // The stalled downloads are aborted by the quarantine (the server never ends them); every call failed, at
      // least one by the budget.
      const results = await all;
      assert.equal(
        results.every((r) => !r.ok),
        true,
      );
      assert.ok(results.some((r) => !r.ok && r.error.code === 'quota_exceeded' && r.error.reasonCodes.includes('host_bytes')));
      assert.ok(
        results.some((r) => !r.ok && r.error.code === 'quarantined'),
        'the stalled downloads under the budget were aborted by the quarantine, not left to their timeout',
      );
      assert.equal(rt.hostBytes.held('hog'), 0, 'everything held is released when the calls end');
      const after = await rt.dispatcher.dispatch('hog', { call_id: 'after', method: 'http', params: { url } });
      assert.equal(after.ok ? 'ok' : after.error.code, 'quarantined', 'a quarantined extension gets no further call');
    } finally {
      server.closeAllConnections();
      server.close();
      await rt.close();
    }
    const db = openStore(home, { readOnly: true });
    try {
      const breaches = queryBreaches(db, 'hog');
      assert.ok(breaches.some((b) => b.resource === 'host_bytes' && b.limit === DEFAULT_HOST_BYTES && b.actual > DEFAULT_HOST_BYTES));
      const row = db.prepare("SELECT to_state, actor FROM trust_transitions WHERE extension_id = 'hog' ORDER BY id DESC LIMIT 1").get();
      assert.deepEqual({ ...row }, { to_state: 'quarantined', actor: 'pi-warden-budgets' });
    } finally {
      db.close();
    }
  });
});

describe('budgets: an extension over its CPU window is quarantined, not only stopped', () => {
  it('20 busy timers under the default window budget: the breach quarantines the extension through the trust registry', async () => {
    const home = tempHome();
    const stopped: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-budgets-'));
    const host = new HeadlessHost({ cwd: dir, home });
    const rt = await createRuntime({
      home,
      policy: policyFor({}),
      operations: hostOperations(host),
      onQuarantined: (id) => stopped.push(id),
    });
    const file = join(dir, 'hog.ts');
    writeFileSync(
      file,
      `export default function (pi: any) {
        pi.on('attack', () => {
          for (let i = 0; i < 20; i++) setTimeout(() => { const t = Date.now(); while (Date.now() - t < 900) {} }, 0);
        });
      }\n`,
    );
    const sandbox = await Sandbox.create({
      extensionId: 'hog',
      dispatcher: rt.dispatcher,
      boot: hostBoot(dir, home),
      breaches: rt.breaches,
    });
    try {
      await sandbox.load(await bundleEntry(file));
      await sandbox.emit('attack', {});
      while (sandbox.stopped === undefined) await new Promise((r) => setImmediate(r));
      assert.deepEqual(sandbox.stopped.reasonCodes, ['cpu_window']);
      assert.equal(rt.trust.stateOf('hog'), 'quarantined');
      assert.deepEqual(stopped, ['hog']);
      assert.equal(rt.trust.stateOf('calm'), 'unknown', 'only the extension over its budget');
    } finally {
      sandbox.dispose();
      await rt.close();
    }
  });
});

describe('budgets: evidence bytes one extension adds to the store', () => {
  it('a flood of distinct refusals passes the store budget: a store_bytes breach with an alert, and the extension is quarantined', async () => {
    const home = tempHome();
    const rt = await createRuntime({ home, policy: policyFor({}), writer: { storeBytesPerWindow: 50_000 } });
    try {
      let calls = 0;
      while (rt.trust.stateOf('noisy') !== 'quarantined' && calls < 10_000) {
        await rt.dispatcher.dispatch('noisy', { call_id: `n${calls}`, method: 'exec', params: { cmd: `tool-${calls}` } });
        calls++;
      }
      assert.equal(rt.trust.stateOf('noisy'), 'quarantined');
      assert.equal(rt.trust.stateOf('quiet'), 'unknown', 'only the extension over its budget');
    } finally {
      await rt.close();
    }
    const db = openStore(home, { readOnly: true });
    try {
      const breaches = queryBreaches(db, 'noisy').filter((b) => b.resource === 'store_bytes');
      assert.equal(breaches.length, 1, 'one breach per window');
      assert.equal(breaches[0]!.limit, 50_000);
      assert.ok(breaches[0]!.actual > 50_000);
      const alerts = db.prepare("SELECT category FROM alerts WHERE extension_id = 'noisy'").all() as Array<{ category: string }>;
      assert.ok(
        alerts.some((a) => a.category === 'quota_breach'),
        'the breach is alerted',
      );
    } finally {
      db.close();
    }
  });
});
