import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import type { Prompter } from '../../src/dispatch/prompts.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { loadOrCreateKey } from '../../src/evidence/keys.ts';
import { replayStore } from '../../src/replay/replay.ts';
import { openStore } from '../../src/evidence/store.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';
import { buildStore, editStore, openRw, tempHome, verify } from './fixtures.ts';

const replay = (home: string, o: { extension?: string; until?: number } = {}) =>
  replayStore(home, { publicKey: loadOrCreateKey(home).publicKey, ...o });

describe('ledger replay', () => {
  it('recomputes every decision of an honest ledger and finds them all matching', async () => {
    const { home } = await buildStore(40);
    const r = replay(home);
    assert.equal(r.entries_replayed, 40);
    assert.equal(r.matching, 40);
    assert.deepEqual(r.differences, []);
    assert.deepEqual(r.untrusted, { from_seq: null, count: 0 });
  });

  it('finds a decision the policy would not have made (a dispatch bypass recorded honestly)', async () => {
    const home = tempHome();
    const w = await EvidenceWriter.open(home);
    const policy = compilePolicy(rulesFor('safe', false));
    const base = {
      ts_ms: Date.now(),
      extension_id: 'sneaky',
      declared_capability: null,
      reason_codes: [],
      duration_ms: 0,
      policy,
      params: { cmd: 'sh' },
    };
    w.record({
      ...base,
      call_id: 'ok',
      method: 'exec',
      capability: 'exec',
      decision: 'deny',
      rule: 'deny_caps',
      stage: 'policy',
      error_code: 'denied',
      reason_codes: ['deny_caps'],
    });
    w.record({
      ...base,
      call_id: 'bypass',
      method: 'exec',
      capability: 'exec',
      decision: 'allow',
      rule: 'default_caps',
      stage: null,
      error_code: null,
    });
    w.record({
      ...base,
      call_id: 'relabelled',
      method: 'exec',
      capability: 'read',
      decision: 'allow',
      rule: 'default_caps',
      stage: null,
      error_code: null,
    });
    await w.close();
    const r = replay(home);
    assert.equal(verify(home).classification, 'intact');
    assert.deepEqual(
      r.differences.map((d) => [d.seq, d.recomputed.decision]),
      [
        [2, 'deny'],
        [3, 'deny'],
      ],
    );
    assert.match(r.differences[1]!.reason, /capability/);
  });

  it('replays prompt outcomes from their recorded answers and filters by extension and seq', async () => {
    const home = tempHome();
    const w = await EvidenceWriter.open(home);
    const answers = [
      { decision: 'allow', scope: 'once' },
      { decision: 'deny', scope: 'once' },
    ];
    const prompter: Prompter = { ask: async () => answers.shift() as never };
    const d = createDispatcher({
      policy: compilePolicy(rulesFor('balanced', false)),
      operations: new Map<string, Operation>([['ctx.ui.notify', () => 1]]),
      prompter,
      recorder: w,
    });
    await d.dispatch('a', { call_id: '1', method: 'ctx.ui.notify', params: {} });
    await d.dispatch('b', { call_id: '2', method: 'ctx.ui.notify', params: {} });
    await d.dispatch('a', { call_id: '3', method: 'exec', params: { cmd: 'x' } });
    await w.close();
    const all = replay(home);
    assert.equal(all.matching, 3);
    assert.equal(replay(home, { extension: 'a' }).entries_replayed, 2);
    assert.equal(replay(home, { until: 1 }).entries_replayed, 1);
  });

  it('stops at the first break and lists later entries as untrusted', async () => {
    const { home } = await buildStore(30);
    editStore(home, (db) => db.exec('DELETE FROM ledger WHERE seq = 21'));
    const r = replay(home);
    assert.equal(r.verification.classification, 'tampering');
    assert.deepEqual(r.untrusted, { from_seq: 21, count: 9 });
    assert.equal(r.entries_replayed, 20);
  });
});

describe('pruning and retention', () => {
  it('a pruned ledger still verifies, through its signed prune record', async () => {
    const { home, writer } = await buildStore(60, { close: false, checkpointEvery: 16 });
    assert.equal(await writer.prune(25), 35);
    await writer.close();
    const r = verify(home);
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors));
    assert.equal(r.entries_checked, 25);
    assert.equal(r.tree_size, 60);
    const db = openRw(home);
    assert.equal((db.prepare('SELECT MIN(seq) AS s FROM ledger').get() as { s: number }).s, 36);
    db.close();
  });

  it('a forged prune record (wrong key) does not excuse a missing prefix', async () => {
    const { home, writer } = await buildStore(40, { close: false });
    await writer.prune(10);
    await writer.close();
    const db = openRw(home);
    const row = db.prepare('SELECT id, record FROM prunes').get() as { id: number; record: string };
    const rec = JSON.parse(row.record) as { signature: string };
    rec.signature = Buffer.alloc(64, 7).toString('base64');
    db.prepare('UPDATE prunes SET record = ? WHERE id = ?').run(JSON.stringify(rec), row.id);
    db.close();
    const r = verify(home);
    assert.equal(r.classification, 'tampering');
    assert.ok(r.verification_errors.some((e) => e.kind === 'forged_prune_signature'));
  });

  it('telemetry is bounded, with a signed checkpoint before rows are dropped', async () => {
    const { home } = await buildStore(300, {
      telemetryRetention: 100,
      checkpointEvery: 100_000,
      checkpointIntervalMs: 3_600_000,
      maxBatch: 50,
    });
    const db = openRw(home);
    const n = (db.prepare('SELECT COUNT(*) AS n FROM telemetry').get() as { n: number }).n;
    const cps = (db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n;
    const row = db.prepare('SELECT stages, duration_us FROM telemetry ORDER BY id DESC LIMIT 1').get() as {
      stages: string;
      duration_us: number;
    };
    db.close();
    assert.ok(n <= 200 && n >= 100, `telemetry rows ${n}`);
    assert.ok(cps >= 2, `checkpoints ${cps}: one before pruning, one at close`);
    const stages = JSON.parse(row.stages) as Record<string, number>;
    assert.deepEqual(Object.keys(stages).slice(0, 3), ['validate', 'derive_capability', 'policy']);
    // The row's duration is its stages' times added up (what each took is a measurement, not a test).
    assert.ok(Object.values(stages).every(Number.isFinite), row.stages);
    assert.equal(
      row.duration_us,
      Object.values(stages).reduce((a, b) => a + b, 0),
    );
    assert.equal(verify(home).classification, 'intact');
  });
});

describe('alerts', () => {
  it('policy_violation for denied calls, throttled per extension/capability/method, with monotonic seq', async (t) => {
    // The throttle counts Date.now() seconds: the clock is held still so the count does not depend on how long
    // writing 40 decisions takes on this machine.
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 0, 1, 12, 0, 0, 0) });
    const { home } = await buildStore(40);
    t.mock.timers.reset();
    const db = openStore(home, { readOnly: true });
    const all = queryAlerts(db);
    assert.deepEqual(
      all.map((a) => a.extension_id),
      ['ext-b', 'ext-a'],
      'ten denied execs by two extensions in one second: one alert each',
    );
    assert.ok(all.every((a) => a.category === 'policy_violation' && a.severity === 'high' && a.capability === 'exec'));
    assert.deepEqual(
      all.map((a) => a.seq),
      [...all.map((a) => a.seq)].sort((a, b) => a - b),
    );
    assert.equal(
      queryAlerts(db, { extension: 'ext-b' }).every((a) => a.extension_id === 'ext-b'),
      true,
    );
    assert.equal(queryAlerts(db, { minSeverity: 'critical' }).length, 0);
    assert.equal(queryAlerts(db, { category: 'quota_breach' }).length, 0);
    assert.equal(queryAlerts(db, { since: Date.now() + 60_000 }).length, 0);
    assert.equal(queryAlerts(db).length, all.length, 'reading does not remove');
    db.close();
  });
});

describe('several writer processes on one store', () => {
  it('two processes appending at once produce one intact chain with every entry', async () => {
    const home = tempHome();
    const child = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
    // Each child is killed only after it has flushed a few batches of its own, however slow the machine is.
    const run = () =>
      new Promise<number>((resolve) => {
        const p = spawn(process.execPath, [child, home], { stdio: ['ignore', 'pipe', 'inherit'] });
        let last = 0;
        let flushes = 0;
        const deadline = setTimeout(() => p.kill('SIGKILL'), 15_000);
        p.stdout.on('data', (c: Buffer) => {
          for (const m of c.toString().matchAll(/flushed (\d+)/g)) {
            last = Number(m[1]);
            if (++flushes === 20) p.kill('SIGKILL');
          }
        });
        p.on('exit', () => {
          clearTimeout(deadline);
          resolve(last);
        });
      });
    const [a, b] = await Promise.all([run(), run()]);
    const r = verify(home);
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors.slice(0, 3)));
    assert.ok(r.tree_size >= Math.max(a, b));
    const db = openRw(home);
    const writers = db.prepare("SELECT COUNT(DISTINCT json_extract(entry, '$.call_id')) AS n, COUNT(*) AS total FROM ledger").get() as {
      n: number;
      total: number;
    };
    db.close();
    assert.ok(writers.total > writers.n, 'both processes wrote (their call ids overlap)');
  });
});

describe('the signing key of a new store', () => {
  it('eight processes creating it at once all get the one key, none reads it half written', async () => {
    const home = tempHome();
    const keys = new URL('../../src/evidence/keys.ts', import.meta.url).href;
    const script = `const { loadOrCreateKey } = await import(${JSON.stringify(keys)}); process.stdout.write(loadOrCreateKey(process.argv[1]).keyId);`;
    const one = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script, home], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.stderr.on('data', (c: Buffer) => (err += c.toString()));
        p.on('exit', (code) => resolve({ code, out, err }));
      });
    const runs = await Promise.all(Array.from({ length: 8 }, one));
    assert.deepEqual(
      runs.map((r) => [r.code, r.err.includes('not a readable private key')]),
      runs.map(() => [0, false]),
    );
    assert.equal(new Set(runs.map((r) => r.out)).size, 1, 'one key for the store');
  });
});
