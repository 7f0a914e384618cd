/** Trust lifecycle, kill switch (INC-5) and quotas (INC-6), against a real store and real child processes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import type { Prompter } from '../../src/dispatch/prompts.ts';
import { isWardenError } from '../../src/errors.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';
import { queryBreaches } from '../../src/trust/breaches.ts';
import { createTrustGate } from '../../src/trust/gate.ts';
import { nextState, TRUST_STALE_MS, TRUST_STATES, TrustRegistry, type TransitionKind } from '../../src/trust/lifecycle.ts';
import { createQuotaStage, QUOTA_DEFAULTS, quotaLookup } from '../../src/trust/quota.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { until } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));
const cli = (home: string, args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args, '--home', home], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' },
  });
const READ = { call_id: 'c', method: 'fs.read', params: { path: '/p' } };

function runtime(
  home: string,
  ops: Map<string, Operation>,
  extra: { prompter?: Prompter; profile?: 'safe' | 'balanced'; clock?: () => number } = {},
) {
  const db = openStore(home);
  const registry = new TrustRegistry(db, extra.clock === undefined ? {} : { clock: extra.clock });
  const stopped: string[] = [];
  const gate = createTrustGate(registry, (id) => stopped.push(id));
  const d = createDispatcher({
    policy: compilePolicy(rulesFor(extra.profile ?? 'safe', false)),
    operations: ops,
    stages: [gate.stage],
    recheck: gate.recheck,
    prompter: extra.prompter,
  });
  return { d, registry, stopped, db };
}

describe('trust lifecycle', () => {
  it('allows exactly the legal transitions', () => {
    const legal: Record<string, string> = {
      'unknown/promote': 'probation',
      'probation/promote': 'trusted',
      'unknown/quarantine': 'quarantined',
      'probation/quarantine': 'quarantined',
      'trusted/quarantine': 'quarantined',
      'unknown/kill': 'quarantined',
      'probation/kill': 'quarantined',
      'trusted/kill': 'quarantined',
      'quarantined/lift': 'probation',
    };
    for (const from of TRUST_STATES) {
      for (const kind of ['promote', 'quarantine', 'kill', 'lift'] as TransitionKind[]) {
        const move = nextState(from, kind);
        const want = legal[`${from}/${kind}`];
        if (want === undefined) assert.equal(move.ok, false, `${from}/${kind} must be refused`);
        else assert.deepEqual(move, { ok: true, to: want }, `${from}/${kind}`);
      }
    }
  });

  it('records every transition with actor, reason and time, raises its alert, and refuses illegal ones', () => {
    const home = tempHome();
    const db = openStore(home);
    const reg = new TrustRegistry(db);
    reg.transition('ext', 'promote', 'alice', 'reviewed');
    reg.transition('ext', 'promote', 'alice', 'two weeks clean');
    reg.transition('ext', 'kill', 'bob', 'exfiltration suspected');
    assert.throws(
      () => reg.transition('ext', 'promote', 'mallory', 'trust me'),
      (e: unknown) => isWardenError(e) && /only leave quarantine with `trust lift`/.test(e.message),
    );
    assert.throws(() => reg.transition('ext', 'lift', 'bob', ''), /actor and a reason/);
    reg.transition('ext', 'lift', 'bob', 'false positive, rotated keys anyway');
    assert.throws(() => reg.transition('ext', 'lift', 'bob', 'again'), /not quarantined/);
    assert.deepEqual(
      reg.history('ext').map((t) => [t.from_state, t.to_state, t.kind, t.actor]),
      [
        ['unknown', 'probation', 'promote', 'alice'],
        ['probation', 'trusted', 'promote', 'alice'],
        ['trusted', 'quarantined', 'kill', 'bob'],
        ['quarantined', 'probation', 'lift', 'bob'],
      ],
    );
    const alerts = queryAlerts(db, { extension: 'ext' });
    assert.deepEqual(
      alerts.map((a) => a.category),
      ['profile_transition', 'profile_transition', 'quarantine', 'kill_switch'],
    );
    assert.equal(alerts[2]!.severity, 'critical');
    assert.equal(reg.stateOf('ext'), 'probation');
    db.close();
  });
});

describe('kill switch', () => {
  it('a kill issued by another process stops the hostcalls of a running dispatcher within TRUST_STALE_MS, and survives restart', async () => {
    const home = tempHome();
    let now = 1000;
    const { d, stopped, db } = runtime(home, new Map([['fs.read', () => 'data']]), { clock: () => now });
    assert.ok((await d.dispatch('ext', READ)).ok);
    const kill = cli(home, ['trust', 'kill', 'ext', '--reason', 'INC-5 drill', '--json']);
    assert.equal(kill.status, 0, kill.stderr);
    assert.equal(JSON.parse(kill.stdout).to_state, 'quarantined');
    // The store is not asked per hostcall: within the bound the state read last is served...
    now += TRUST_STALE_MS - 1;
    assert.ok((await d.dispatch('ext', READ)).ok, 'the state is cached, not queried per hostcall');
    // ...and once the bound has passed since the store was last asked, the kill holds.
    now += 1;
    const r = await d.dispatch('ext', READ);
    assert.ok(!r.ok && r.error.code === 'quarantined');
    assert.deepEqual(stopped, ['ext']);
    assert.ok((await d.dispatch('other', READ)).ok, 'other extensions keep working');
    db.close();
    const restarted = runtime(home, new Map([['fs.read', () => 'data']]));
    const again = await restarted.d.dispatch('ext', READ);
    assert.ok(!again.ok && again.error.code === 'quarantined');
    assert.equal(cli(home, ['trust', 'lift', 'ext', '--reason', 'drill over']).status, 0);
    assert.ok((await restarted.d.dispatch('ext', READ)).ok);
    restarted.db.close();
  });

  it('a transition made in this process holds from the next hostcall, whichever registry or connection made it', async () => {
    const home = tempHome();
    const now = 1000;
    const { d, db } = runtime(home, new Map([['fs.read', () => 'data']]), { clock: () => now });
    assert.ok((await d.dispatch('ext', READ)).ok);
    // Same connection: SQLite's data_version does not move for a connection's own writes.
    new TrustRegistry(db).transition('ext', 'kill', 'op', 'same connection');
    const r = await d.dispatch('ext', READ);
    assert.ok(!r.ok && r.error.code === 'quarantined', 'a kill on the same connection, clock not advanced');
    assert.ok((await d.dispatch('other', READ)).ok);
    const second = openStore(home);
    new TrustRegistry(second).transition('other', 'kill', 'op', 'another connection');
    const o = await d.dispatch('other', READ);
    assert.ok(!o.ok && o.error.code === 'quarantined', 'a kill on another connection of this process, clock not advanced');
    second.close();
    db.close();
  });

  it('a clock that goes backwards makes the store be asked again (fails closed)', async () => {
    const home = tempHome();
    let now = 1000;
    const { d, db } = runtime(home, new Map([['fs.read', () => 'data']]), { clock: () => now });
    assert.ok((await d.dispatch('ext', READ)).ok);
    assert.equal(cli(home, ['trust', 'kill', 'ext', '--reason', 'drill']).status, 0);
    now -= 1;
    const r = await d.dispatch('ext', READ);
    assert.ok(!r.ok && r.error.code === 'quarantined');
    db.close();
  });

  it('refuses every method, even the ones every profile allows', async () => {
    const home = tempHome();
    const ops = new Map<string, Operation>([
      ['fs.read', () => 1],
      ['pi.registerTool', () => 1],
      ['pi.on', () => 1],
      ['log', () => 1],
    ]);
    const { d, registry, db } = runtime(home, ops);
    registry.transition('ext', 'quarantine', 'risk-controller', 'three unsafe decisions');
    for (const call of [
      READ,
      { call_id: 'r', method: 'pi.registerTool', params: { name: 't' } },
      { call_id: 'o', method: 'pi.on', params: { event: 'session_start' } },
    ]) {
      const r = await d.dispatch('ext', call);
      assert.ok(!r.ok && r.error.code === 'quarantined', call.method);
    }
    db.close();
  });

  it('withholds the result of an operation that was running when the kill landed', async () => {
    const home = tempHome();
    let release: (v: string) => void = () => undefined;
    const ran: string[] = [];
    const ops = new Map<string, Operation>([
      [
        'fs.read',
        () => {
          ran.push('read');
          return new Promise<string>((r) => {
            release = r;
          });
        },
      ],
    ]);
    const { d, registry, db } = runtime(home, ops);
    const pending = d.dispatch('ext', READ);
    await until(() => ran.length === 1, 'the read to start');
    registry.transition('ext', 'kill', 'op', 'mid-flight');
    release('secret contents');
    const r = await pending;
    assert.deepEqual(ran, ['read']);
    assert.ok(!r.ok && r.error.code === 'quarantined', 'the pending promise gets no data');
    db.close();
  });

  it('a call waiting for a prompt when the kill lands never reaches its operation', async () => {
    const home = tempHome();
    const ran: string[] = [];
    let answer: ((v: unknown) => void) | undefined;
    const prompter: Prompter = {
      ask: () =>
        new Promise((r) => {
          answer = r;
        }) as never,
    };
    const { d, registry, db } = runtime(home, new Map([['ctx.ui.notify', () => ran.push('notify')]]), { prompter, profile: 'balanced' });
    const pending = d.dispatch('ext', { call_id: 'u', method: 'ctx.ui.notify', params: {} });
    await until(() => answer !== undefined, 'the prompt to be asked');
    registry.transition('ext', 'kill', 'op', 'while asking');
    answer!({ decision: 'allow', scope: 'once' });
    const r = await pending;
    assert.ok(!r.ok && r.error.code === 'quarantined');
    assert.deepEqual(ran, []);
    db.close();
  });

  it('trust status shows state and history; illegal CLI transitions exit 2', () => {
    const home = tempHome();
    assert.equal(cli(home, ['trust', 'promote', 'ext', '--reason', 'ok']).status, 0);
    assert.equal(cli(home, ['trust', 'lift', 'ext', '--reason', 'nothing to lift']).status, 2);
    assert.notEqual(cli(home, ['trust', 'kill', 'ext']).status, 0, '--reason is required');
    const s = JSON.parse(cli(home, ['trust', 'status', 'ext', '--json']).stdout);
    assert.equal(s.state, 'probation');
    assert.equal(s.history.length, 1);
  });
});

describe('quotas', () => {
  it('refuses calls past the per-second limit with quota_exceeded, records non-destructive breaches, spares other extensions', async (t) => {
    // The windows are calendar seconds of Date.now(): the test holds the clock still in the middle of one, so the
    // count does not depend on how fast this machine dispatches (or on a second boundary falling between calls).
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 0, 1, 12, 0, 0, 500) });
    const home = tempHome();
    const writer = await EvidenceWriter.open(home);
    const limits = quotaLookup({ hostcallsPerSecond: 1000 }, new Map([['greedy', { hostcallsPerSecond: 5 }]]));
    const d = createDispatcher({
      policy: compilePolicy(rulesFor('safe', false)),
      operations: new Map([['fs.read', () => 1]]),
      stages: [createQuotaStage(limits, writer)],
      recorder: writer,
      alerts: writer,
    });
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await d.dispatch('greedy', READ));
    for (let i = 0; i < 8; i++) assert.ok((await d.dispatch('polite', READ)).ok, 'another extension is not limited by the greedy one');
    const refused = results.filter((r) => !r.ok);
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, true, true, true, false, false, false],
      'five a second, the rest refused',
    );
    assert.ok(refused.every((r) => !r.ok && r.error.code === 'quota_exceeded'));
    t.mock.timers.tick(1000);
    assert.ok((await d.dispatch('greedy', READ)).ok, 'the next second has a fresh window');
    await writer.close();
    const db = openStore(home, { readOnly: true });
    const first = queryBreaches(db, 'greedy');
    assert.equal(first.length, refused.length);
    assert.deepEqual(Object.keys(first[0]!).sort(), ['actual', 'extension_id', 'limit', 'resource', 'ts_ms']);
    assert.equal(first[0]!.resource, 'hostcalls_per_second');
    assert.equal(first[0]!.limit, 5);
    assert.deepEqual(queryBreaches(db, 'greedy'), first, 'reading twice gives the same breaches');
    assert.equal(queryAlerts(db, { category: 'quota_breach' }).length, 1, 'one alert per 10 s per extension and resource');
    db.close();
    const out = JSON.parse(cli(home, ['quota', 'breaches', '--extension', 'greedy', '--json']).stdout);
    assert.equal(out.count, first.length);
  });

  it('per-extension quota overrides apply field by field over the defaults', () => {
    const limits = quotaLookup({ hostcallsPerMinute: 50 }, new Map([['x', { hostcallsPerSecond: 7 }]]));
    assert.deepEqual({ ...limits('x') }, { memoryMb: 256, hostcallsPerSecond: 7, hostcallsPerMinute: 50 });
    assert.deepEqual({ ...limits('y') }, { memoryMb: 256, hostcallsPerSecond: QUOTA_DEFAULTS.hostcallsPerSecond, hostcallsPerMinute: 50 });
  });
});

describe('rollout CLI', () => {
  it('status, rollback and advance move through the phases with a reason', () => {
    const home = tempHome();
    assert.equal(cli(home, ['rollout', 'status', '--json']).status, 2, 'status does not create a store');
    assert.equal(cli(home, ['rollout', 'advance', '--reason', 'x']).status, 2, 'already at the last phase');
    assert.equal(JSON.parse(cli(home, ['rollout', 'status', '--json']).stdout).phase, 'enforce_all', 'the default phase');
    assert.equal(JSON.parse(cli(home, ['rollout', 'rollback', '--to', 'shadow', '--reason', 'start over', '--json']).stdout).to, 'shadow');
    assert.equal(JSON.parse(cli(home, ['rollout', 'advance', '--reason', 'clean week', '--json']).stdout).to, 'log_only');
    assert.notEqual(cli(home, ['rollout', 'advance']).status, 0, '--reason is required');
    assert.equal(cli(home, ['rollout', 'advance', '--to', 'everything', '--reason', 'x']).status, 2);
  });
});

describe('operation quotas', () => {
  it('wall time and output size past their quota are quota_exceeded breaches', async () => {
    const home = tempHome();
    const { createRuntime } = await import('../../src/runtime/createRuntime.ts');
    const { policyFor } = await import('../helpers.ts');
    const policy = policyFor({
      user: { extensionPolicy: { overrides: { slow: { quota: { wallTimeMs: 20 } }, chatty: { quota: { outputBytes: 100 } } } } },
    });
    const rt = await createRuntime({
      home,
      policy,
      operations: new Map<string, Operation>([
        ['fs.read', (p) => (p.path === 'big' ? 'x'.repeat(1000) : new Promise((r) => setTimeout(() => r('late'), 200)))],
      ]),
    });
    const slow = await rt.dispatcher.dispatch('slow', { call_id: 's', method: 'fs.read', params: { path: 'wait' } });
    assert.ok(!slow.ok && slow.error.code === 'quota_exceeded' && slow.error.reasonCodes.includes('wall_time_ms'));
    const big = await rt.dispatcher.dispatch('chatty', { call_id: 'b', method: 'fs.read', params: { path: 'big' } });
    assert.ok(!big.ok && big.error.code === 'quota_exceeded' && big.error.reasonCodes.includes('output_bytes'));
    assert.ok((await rt.dispatcher.dispatch('other', { call_id: 'o', method: 'fs.read', params: { path: 'big' } })).ok);
    await rt.close();
    const db = openStore(home, { readOnly: true });
    assert.deepEqual(
      queryBreaches(db).map((b) => [b.extension_id, b.resource, b.limit]),
      [
        ['slow', 'wall_time_ms', 20],
        ['chatty', 'output_bytes', 100],
      ],
    );
    db.close();
  });
});

describe('kill switch in every risk mode', () => {
  it('a killed extension gets nothing whether risk is disabled, shadow or enforcing', async () => {
    const { createRuntime } = await import('../../src/runtime/createRuntime.ts');
    const { policyFor } = await import('../helpers.ts');
    for (const risk of [{ enabled: false }, { enabled: true, enforce: false }, { enabled: true, enforce: true }]) {
      const home = tempHome();
      const rt = await createRuntime({
        home,
        policy: policyFor({ user: { extensionRisk: risk } }),
        operations: new Map([['fs.read', () => 'data']]),
      });
      assert.equal(cli(home, ['trust', 'kill', 'ext', '--reason', 'test']).status, 0);
      const r = await rt.dispatcher.dispatch('ext', READ);
      assert.ok(!r.ok && r.error.code === 'quarantined', JSON.stringify(risk));
      await rt.close();
    }
  });
});
