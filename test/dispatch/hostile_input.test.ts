/** Regression tests from the independent review: hostile hostcalls and settings that once got through or crashed. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decideHostcall } from '../../src/dispatch/decide.ts';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { MemoryRecorder } from '../../src/dispatch/record.ts';
import { isWardenError } from '../../src/errors.ts';
import { diffPolicies } from '../../src/policy/diff.ts';
import { rememberPromptAnswer } from '../../src/policy/promptAnswers.ts';
import { resolvePolicy } from '../../src/policy/settings.ts';
import { policyFor, resolveIn, settingsDirs } from '../helpers.ts';

const permissive = () => policyFor({ user: { extensionPolicy: { profile: 'permissive' } } }).compiled;

describe('hostile hostcalls', () => {
  it('credential-bearing provider registration needs env: denied under safe and permissive without allowDangerous', () => {
    for (const method of ['pi.registerProvider', 'ctx.modelRegistry.registerProvider']) {
      for (const p of [policyFor().compiled, permissive()]) {
        const d = decideHostcall(p, 'ext', { call_id: 'c', method, params: { name: 'anthropic', baseUrl: 'https://proxy.example' } });
        assert.equal(d.capability, 'env');
        assert.equal(d.decision, 'deny');
      }
    }
  });

  it('a params getter cannot show one tool name to the check and another to the operation', async () => {
    let reads = 0;
    const params = {
      get name() {
        reads++;
        return reads === 1 ? 'summarise' : 'bash';
      },
      input: {},
    };
    const seen: unknown[] = [];
    const d = createDispatcher({ policy: permissive(), operations: new Map<string, Operation>([['tool', (p) => seen.push(p.name)]]) });
    const r = await d.dispatch('ext', { call_id: 'c', method: 'tool', params });
    assert.ok(r.ok);
    assert.deepEqual(seen, ['summarise']);
    assert.equal(reads, 1);
  });

  it('proxies and functions in params are invalid_request', async () => {
    const d = createDispatcher({ policy: permissive(), operations: new Map<string, Operation>([['tool', () => 'ran']]) });
    const proxied = new Proxy({ name: 'summarise' }, { get: (t, k) => (k === 'name' ? 'bash' : Reflect.get(t, k)) });
    for (const params of [proxied, { name: 'x', input: { f: () => 1 } }, { name: 'x', input: { s: Symbol('s') } }]) {
      const r = await d.dispatch('ext', { call_id: 'c', method: 'tool', params });
      assert.ok(!r.ok && r.error.code === 'invalid_request', String(r.ok));
    }
  });

  it('thrown values that cannot be printed still give typed results, never a rejection', async () => {
    const nullProto = Object.create(null) as object;
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    for (const thrown of [nullProto, hostile]) {
      const viaGetter = createDispatcher({ policy: permissive() });
      const r1 = await viaGetter.dispatch('ext', {
        call_id: 'c',
        get method(): string {
          throw thrown;
        },
        params: {},
      });
      assert.ok(!r1.ok && r1.error.code === 'invalid_request');
      const viaOp = createDispatcher({
        policy: permissive(),
        operations: new Map<string, Operation>([
          [
            'log',
            () => {
              throw thrown;
            },
          ],
        ]),
      });
      const r2 = await viaOp.dispatch('ext', { call_id: 'c', method: 'log', params: { level: 'info', message: 'x' } });
      assert.ok(!r2.ok && r2.error.code === 'internal');
      const viaStage = createDispatcher({
        policy: permissive(),
        stages: [
          {
            name: 'risk',
            run: () => {
              throw thrown;
            },
          },
        ],
      });
      const r3 = await viaStage.dispatch('ext', { call_id: 'c', method: 'log', params: { level: 'info', message: 'x' } });
      assert.ok(!r3.ok && r3.error.code === 'internal');
      assert.throws(
        () =>
          decideHostcall(permissive(), 'x', {
            call_id: 'c',
            get method(): string {
              throw thrown;
            },
            params: {},
          }),
        (e: unknown) => isWardenError(e) && e.code === 'invalid_request',
      );
    }
    const thenTrap = createDispatcher({
      policy: permissive(),
      stages: [
        {
          name: 'risk',
          run: () =>
            new Proxy(
              {},
              {
                get() {
                  throw new Error('then trap');
                },
              },
            ) as never,
        },
      ],
    });
    const r4 = await thenTrap.dispatch('ext', { call_id: 'c', method: 'log', params: { level: 'info', message: 'x' } });
    assert.ok(!r4.ok && r4.error.code === 'internal');
  });

  it('oversized method names and declared capabilities are bounded before they reach the record', async () => {
    const recorder = new MemoryRecorder();
    const d = createDispatcher({ policy: permissive(), recorder });
    await d.dispatch('ext', { call_id: 'c', method: `x${'\u001b[2J'.repeat(100_000)}`, params: {} });
    assert.ok(recorder.entries[0]!.method.length <= 130);
    const r = await d.dispatch('ext', {
      call_id: 'c',
      method: 'log',
      params: { level: 'info', message: 'x' },
      capability: 'c'.repeat(5_000_000),
    });
    assert.ok(!r.ok && r.error.code === 'invalid_request');
    assert.equal(recorder.entries[1]!.declared_capability, null);
  });

  it('records both the mismatch and the operation error code', async () => {
    const recorder = new MemoryRecorder();
    const d = createDispatcher({
      policy: permissive(),
      recorder,
      operations: new Map<string, Operation>([['fs.read', () => readFileSync('/no/such/file')]]),
    });
    await d.dispatch('ext', { call_id: 'c', method: 'fs.read', params: { path: '/no/such/file' }, capability: 'write' });
    assert.deepEqual([...recorder.entries[0]!.reason_codes].sort(), ['ENOENT', 'capability_mismatch']);
  });
});

describe('hostile settings', () => {
  it('profile names that are Object.prototype members fall back to safe from every source', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(policyFor({}, {}, name).profile, 'safe', `cli ${name}`);
      assert.equal(policyFor({}, { PI_EXTENSION_POLICY: name }).profile, 'safe', `env ${name}`);
      assert.equal(policyFor({ user: { extensionPolicy: { profile: name } } }).profile, 'safe', `user ${name}`);
    }
  });

  it('extension ids that collide with Object.prototype are refused, and nothing is polluted', () => {
    const p = resolveIn(settingsDirs({ project: '{"extensionPolicy":{"overrides":{"__proto__":{"deny":["read"]}}}}' }));
    assert.ok(p.errors.some((e) => /overrides\.__proto__: expected an extension id/.test(e.message)));
    const dirs = settingsDirs();
    for (const id of ['__proto__', 'constructor', 'prototype', 'a\nb', '']) {
      assert.throws(
        () => rememberPromptAnswer(dirs.userPath, id, 'ui', 'allow'),
        (e: unknown) => isWardenError(e) && e.code === 'invalid_request',
        id,
      );
    }
    assert.equal(({} as Record<string, unknown>).ui, undefined);
    assert.equal(existsSync(dirs.userPath), false);
  });

  it('an empty or relative HOME or agent dir never makes a repository file the user settings', () => {
    const dirs = settingsDirs({ project: { extensionPolicy: { profile: 'safe' } } });
    mkdirSync(join(dirs.cwd, '.pi', 'agent'), { recursive: true });
    writeFileSync(
      join(dirs.cwd, '.pi', 'agent', 'settings.json'),
      JSON.stringify({ extensionPolicy: { profile: 'permissive', trustProjectSettings: true } }),
    );
    for (const env of [{ HOME: '' }, { HOME: '.' }, { PI_CODING_AGENT_DIR: '.pi/agent' }]) {
      const p = resolvePolicy({ cwd: dirs.cwd, env });
      assert.equal(p.profile, 'safe', JSON.stringify(env));
      assert.ok(!p.userSettingsPath.startsWith(dirs.cwd), p.userSettingsPath);
    }
    assert.match(resolvePolicy({ cwd: dirs.cwd, env: { PI_CODING_AGENT_DIR: '.pi/agent' } }).warnings.join('\n'), /not an absolute path/);
  });

  it('a FIFO planted as settings.json is an error, not a hang', () => {
    const dirs = settingsDirs();
    execFileSync('mkfifo', [dirs.projectPath]);
    // Opening a FIFO for reading blocks until a writer comes, so reaching the next line at all is the proof that it
    // was refused before the read.
    const p = resolveIn(dirs);
    assert.equal(p.profile, 'safe');
    assert.match(p.errors[0]!.message, /ENOTREG: not a regular file/);
  });

  it('policy diff grades quota and disclosure changes', () => {
    const a = policyFor({
      user: { extensionPolicy: { quota: { memoryMb: 256 }, overrides: { x: { quota: { hostcallsPerSecond: 10 } } } } },
    });
    const b = policyFor({
      user: {
        extensionPolicy: { quota: { memoryMb: 65536 }, overrides: { x: {} }, secretBroker: { disclosureAllowlist: ['OPENAI_API_KEY'] } },
      },
    });
    const byField = Object.fromEntries(diffPolicies(a, b).map((c) => [c.field, c.direction]));
    assert.equal(byField['quota.memoryMb'], 'looser');
    assert.equal(byField['extension x: quota.hostcallsPerSecond'], 'looser');
    assert.equal(byField['secret_broker.disclosure_allowlist'], 'looser');
    const back = Object.fromEntries(diffPolicies(b, a).map((c) => [c.field, c.direction]));
    assert.equal(back['quota.memoryMb'], 'tighter');
    const gate = diffPolicies(policyFor(), policyFor({ user: { extensionPolicy: { overrides: { doom: { allowForbiddenScan: true } } } } }));
    assert.deepEqual(gate.find((c) => c.field === 'extension doom: allow_forbidden_scan')?.direction, 'looser');
  });
});
