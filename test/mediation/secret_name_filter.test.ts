/**
 * Secret broker, names, on every call path (SPEC §5.1): env.get, env.list (process.env enumeration, also on the
 * synchronous path), exec environments (real child processes: printenv, /proc/self/environ, export in a shell
 * string, smuggling through the env option) and the pi credential calls.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Operation } from '../../src/dispatch/dispatcher.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { childEnvironment } from '../../src/mediation/secrets/nameFilter.ts';
import { classifySecretName } from '../../src/mediation/secrets/names.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

const SECRET = 'sk-live-7f3c9a1e5b2d4f60a8c1';
const DB_URL = 'postgres://app:hunter2hunter2@db.internal/prod';
const PARENT_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/tmp',
  LANG: 'C.UTF-8',
  TERM: 'xterm',
  PAYMENTS_API_KEY: SECRET,
  DATABASE_URL: DB_URL,
  GITHUB_TOKEN: 'ghp_0123456789abcdefghijklmnopqrstuvwxyz',
  EDITOR_THEME: 'dark',
};
const GRANTED = { extensionPolicy: { profile: 'permissive', allowDangerous: true } };

/** The real thing, as Node does it: the `env` option, or else the parent's whole environment. */
const realExec: Operation = (params) => {
  const r = spawnSync(String(params.cmd), (params.args ?? []) as string[], {
    env: (params.env as Record<string, string> | undefined) ?? PARENT_ENV,
    encoding: 'utf8',
    input: typeof params.stdin === 'string' ? params.stdin : '',
    timeout: 10_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
};

const hostOps = (): Map<string, Operation> =>
  new Map<string, Operation>([
    ['env.get', (p) => PARENT_ENV[String(p.name)] ?? null],
    ['env.list', () => Object.keys(PARENT_ENV)],
    ['exec', realExec],
    ['ctx.modelRegistry.getApiKey', () => SECRET],
  ]);

async function runtime(settings: unknown = GRANTED, extra: { honeytoken?: boolean } = {}) {
  const home = tempHome();
  const rt = await createRuntime({
    home,
    policy: policyFor({ user: settings }),
    operations: hostOps(),
    parentEnv: PARENT_ENV,
    heldSecrets: [
      { name: 'PAYMENTS_API_KEY', value: SECRET, honeytoken: extra.honeytoken === true },
      { name: 'DATABASE_URL', value: DB_URL },
    ],
  });
  return { home, rt };
}

describe('secret broker: names on the env paths', () => {
  it('env.get of a secret name is refused even with env granted; ordinary names and the disclosure allowlist pass', async () => {
    const { home, rt } = await runtime();
    const get = (name: string) => rt.dispatcher.dispatch('ext', { call_id: name, method: 'env.get', params: { name } });
    for (const name of ['PAYMENTS_API_KEY', 'DATABASE_URL', 'GITHUB_TOKEN', 'payments_api_key']) {
      const r = await get(name);
      assert.ok(!r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('secret_name_blocked'), name);
      assert.match(r.ok ? '' : r.error.message, /disclosureAllowlist/);
    }
    const ok = await get('EDITOR_THEME');
    assert.ok(ok.ok && ok.value === 'dark');
    await rt.close();
    const db = openStore(home, { readOnly: true });
    const log = db.prepare("SELECT name_hash, path, decision FROM secret_broker_log WHERE path = 'env.get'").all() as Array<{
      name_hash: string;
      decision: string;
    }>;
    assert.equal(log.length, 4);
    assert.ok(log.every((e) => /^[0-9a-f]{64}$/.test(e.name_hash) && e.decision === 'deny'));
    assert.equal(queryAlerts(db, { category: 'secret_exposure' }).length, 0, 'an ordinary refused read is logged, not alerted');
    db.close();

    const allow = await runtime({
      extensionPolicy: { ...GRANTED.extensionPolicy, secretBroker: { disclosureAllowlist: ['GITHUB_TOKEN'] } },
    });
    const r = await allow.rt.dispatcher.dispatch('ext', { call_id: 'a', method: 'env.get', params: { name: 'GITHUB_TOKEN' } });
    assert.ok(r.ok && typeof r.value === 'string', 'the operator disclosed it by name');
    await allow.rt.close();
  });

  it('reading a planted honeytoken name is a critical secret_exposure alert', async () => {
    const { home, rt } = await runtime(GRANTED, { honeytoken: true });
    const r = await rt.dispatcher.dispatch('thief', { call_id: 'h', method: 'env.get', params: { name: 'PAYMENTS_API_KEY' } });
    assert.ok(!r.ok && r.error.reasonCodes.includes('honeytoken'));
    await rt.close();
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'secret_exposure' });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.severity, 'critical');
    db.close();
  });

  it('enumeration (env.list) drops every secret name, on the synchronous path too', async () => {
    const { rt } = await runtime();
    const sync = rt.dispatcher.dispatchSync('ext', { call_id: 'l', method: 'env.list', params: {} });
    assert.ok(sync.ok, JSON.stringify(sync));
    assert.deepEqual(sync.value, ['PATH', 'HOME', 'LANG', 'TERM', 'EDITOR_THEME']);
    const async = await rt.dispatcher.dispatch('ext', { call_id: 'l2', method: 'env.list', params: {} });
    assert.deepEqual(async.ok ? async.value : undefined, sync.value);
    await rt.close();
  });

  it('a disabled broker hides nothing (the operator chose it; policy explain shows it)', async () => {
    const { rt } = await runtime({ extensionPolicy: { ...GRANTED.extensionPolicy, secretBroker: { enabled: false } } });
    const r = await rt.dispatcher.dispatch('ext', { call_id: 'g', method: 'env.get', params: { name: 'PAYMENTS_API_KEY' } });
    assert.ok(r.ok && r.value === SECRET);
    await rt.close();
  });

  it('the minimal child environment never carries a secret name, whatever the extension passes (property)', () => {
    const name = fc
      .tuple(
        fc.constantFrom('', 'MY_', 'CI_', 'AWS_', 'X'),
        fc.stringMatching(/^[A-Z0-9]{1,8}$/),
        fc.constantFrom('_API_KEY', '_TOKEN', '_SECRET', '_PASSWORD', '_DATABASE_URL', '', '_THEME', '_DIR'),
      )
      .map(([a, b, c]) => `${a}${b}${c}`);
    fc.assert(
      fc.property(fc.dictionary(name, fc.string({ maxLength: 8 })), fc.dictionary(name, fc.string({ maxLength: 8 })), (extEnv, parent) => {
        const env = childEnvironment(extEnv, { ...parent, ...PARENT_ENV }, { enabled: true, disclosureAllowlist: [] });
        for (const k of Object.keys(env)) assert.equal(classifySecretName(k).secret, false, k);
        assert.equal(env.PAYMENTS_API_KEY, undefined);
      }),
      { numRuns: 300 },
    );
  });
});

describe('secret broker: names in child processes (real programs)', () => {
  const exec = async (cmd: string, args: string[], env?: Record<string, string>) => {
    const { rt } = await runtime();
    const r = await rt.dispatcher.dispatch('ext', {
      call_id: 'x',
      method: 'exec',
      params: { cmd, args, ...(env === undefined ? {} : { env }) },
    });
    await rt.close();
    return r;
  };
  const output = (r: Awaited<ReturnType<typeof exec>>) => {
    assert.ok(r.ok, JSON.stringify(r));
    const v = r.value as { stdout: string; code: number };
    assert.equal(v.code, 0, JSON.stringify(v));
    return v.stdout;
  };

  // printenv, env, /proc/self/environ, `export` and awk's ENVIRON are refused outright by exec mediation
  // (exec_mediation.test.ts); these dump the environment from script files it lets through (it does not read a
  // local file's content), so what the child inherits is what is tested.
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-envdump-'));
  const script = join(dir, 'dump.mjs');
  writeFileSync(script, 'for (const [k, v] of Object.entries(process.env)) console.log(`${k}=${v}`);\n');
  const shScript = join(dir, 'dump.sh');
  writeFileSync(shScript, 'env\n');
  for (const [label, cmd, args] of [
    ['a shell script', 'sh', [shScript]],
    ['a node script', process.execPath, [script]],
    ['a shell script run from a shell string', 'sh', ['-c', `sh '${shScript}'`]],
  ] as const) {
    it(`${label}: the child sees the base variables and no secret`, async () => {
      const out = output(await exec(cmd, [...args]));
      assert.match(out, /PATH=/);
      assert.match(out, /LANG=/);
      for (const leaked of [SECRET, DB_URL, 'PAYMENTS_API_KEY', 'GITHUB_TOKEN', 'DATABASE_URL', 'EDITOR_THEME'])
        assert.equal(out.includes(leaked), false, `${leaked} reached the child`);
    });
  }

  it('the env option cannot smuggle a secret name into the child; ordinary entries pass', async () => {
    const smuggled = await exec('sh', ['-c', 'echo "$PAYMENTS_API_KEY"'], { PAYMENTS_API_KEY: 'whatever', NODE_OPTIONS: '' });
    assert.ok(!smuggled.ok && smuggled.error.reasonCodes.includes('secret_name_in_env'), JSON.stringify(smuggled));
    assert.match(smuggled.ok ? '' : smuggled.error.message, /PAYMENTS_API_KEY/);
    const fine = output(await exec('sh', ['-c', 'echo "$GREETING"'], { GREETING: 'hello' }));
    assert.equal(fine.trim(), 'hello');
  });

  it('a secret value exported inside a shell string is caught by the outbound check', async () => {
    const r = await exec('sh', ['-c', `export STOLEN=${SECRET}; echo "$STOLEN"`]);
    assert.ok(!r.ok && r.error.reasonCodes.includes('secret_exposure'));
  });
});

describe('secret broker: pi credential calls', () => {
  it('getApiKey needs env granted to that extension by name; a profile-wide grant is not enough', async () => {
    const wide = await runtime();
    const r = await wide.rt.dispatcher.dispatch('ext', {
      call_id: 'k',
      method: 'ctx.modelRegistry.getApiKey',
      params: { provider: 'anthropic' },
    });
    assert.ok(!r.ok && r.error.reasonCodes.includes('credential_not_granted'), JSON.stringify(r));
    await wide.rt.close();
    const named = await runtime({ extensionPolicy: { ...GRANTED.extensionPolicy, overrides: { ext: { allow: ['env'] } } } });
    const ok = await named.rt.dispatcher.dispatch('ext', {
      call_id: 'k',
      method: 'ctx.modelRegistry.getApiKey',
      params: { provider: 'anthropic' },
    });
    assert.ok(ok.ok && ok.value === SECRET);
    const other = await named.rt.dispatcher.dispatch('other', {
      call_id: 'k2',
      method: 'ctx.modelRegistry.getApiKey',
      params: { provider: 'anthropic' },
    });
    assert.ok(!other.ok, 'the grant is for ext only');
    await named.rt.close();
  });
});
