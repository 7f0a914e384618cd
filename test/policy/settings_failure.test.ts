/**
 * Issue 15 item 3: a broken settings file never loosens the user's policy. An invalid project file is ignored with
 * an error and the user's policy stands in full; an invalid user file blocks loading until it is fixed; a UTF-8
 * byte order mark is accepted in either file, as pi accepts it. Checked through `resolvePolicy` and through real
 * dispatches (the real HTTP operation against a loopback server that records what reaches it).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { assertLoadAllowed, evaluateCapability, rememberPromptAnswer, type ResolvedPolicy } from '../../src/policy/index.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { resolveIn, settingsDirs } from '../helpers.ts';

/** The user settings: http denied, a capability denied for one extension, denyHosts, a file grant, risk on. */
const STRICT_USER = {
  extensionPolicy: {
    denyCaps: ['exec', 'env', 'http'],
    overrides: { 'notes-sync': { deny: ['write'], fs: { read: ['~/notes'] } } },
    http: { denyHosts: ['*.collector.test', 'localhost'] },
  },
  extensionRisk: { enabled: true, consecutiveUnsafe: 2 },
};

const TRUNCATED = '{ "extensionPolicy": ';

/** Every part of STRICT_USER, as the resolved policy carries it. */
function assertStrictUserStands(p: ResolvedPolicy, home: string): void {
  assert.equal(p.loadBlocked, false);
  assert.deepEqual(evaluateCapability(p.rules, 'http'), { decision: 'deny', rule: 'deny_caps', reason: 'deny_caps' });
  assert.deepEqual(evaluateCapability(p.rules, 'write', 'notes-sync'), {
    decision: 'deny',
    rule: 'extension_deny',
    reason: 'extension_deny',
  });
  assert.equal(evaluateCapability(p.rules, 'write', 'other').decision, 'allow', 'the deny is for notes-sync only');
  assert.deepEqual(p.httpEgress.user.defaults.denyHosts, ['*.collector.test', 'localhost']);
  assert.deepEqual(p.fsGrants.get('notes-sync'), { read: [join(home, 'notes')], write: [] });
  assert.equal(p.risk.enabled, true);
  assert.equal(p.risk.consecutiveUnsafe, 2);
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A loopback HTTP server that records every request that reaches it. */
async function sink(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen };
}

describe('an invalid project settings file is ignored and the user policy stands', () => {
  it('a truncated project file ({ "extensionPolicy": ): every denial of the user file still holds, with an error naming the file', () => {
    const dirs = settingsDirs({ user: STRICT_USER, project: TRUNCATED });
    const p = resolveIn(dirs);
    assertStrictUserStands(p, dirs.root);
    assert.equal(p.errors.length, 1);
    const e = p.errors[0]!;
    assert.deepEqual([e.scope, e.path, e.key, e.expected], ['project', dirs.projectPath, '(file)', 'valid JSON']);
    assert.equal(e.message, `${dirs.projectPath}: (file): expected valid JSON, found the end of the file before the JSON was complete`);
    assert.equal(p.sources.find((s) => s.scope === 'project')?.status, 'invalid');
    assert.match(
      p.warnings.join('\n'),
      /\.pi\/settings\.json is invalid and ignored until it is fixed: the user settings apply without it/,
    );
  });

  for (const [name, project, key, expected] of [
    ['a misspelt key', { extensionPolicy: { denyCapz: ['read'] } }, 'extensionPolicy.denyCapz', /no such key/],
    ['a wrong type', { extensionPolicy: { denyCaps: 'read' } }, 'extensionPolicy.denyCaps', /type array/],
    ['a misspelt section', { extensionPolicey: { profile: 'permissive' } }, 'extensionPolicey', /the key "extensionPolicy"/],
    ['a memory cap below 2 MiB', { extensionPolicy: { quota: { memoryMb: 1 } } }, 'extensionPolicy.quota.memoryMb', /a number ≥ 2/],
  ] as const) {
    it(`${name} in the project file: the user policy stands and the error names key and expectation`, () => {
      const dirs = settingsDirs({ user: STRICT_USER, project: project });
      const p = resolveIn(dirs);
      assertStrictUserStands(p, dirs.root);
      assert.equal(p.errors.length, 1, JSON.stringify(p.errors));
      assert.equal(p.errors[0]!.path, dirs.projectPath);
      assert.equal(p.errors[0]!.key, key);
      assert.match(p.errors[0]!.expected, expected);
    });
  }

  it('through a real dispatch: http to the loopback sink is refused by the user deny, not by a fallback rule, and nothing arrives', async () => {
    const { port, seen } = await sink();
    const dirs = settingsDirs({ user: STRICT_USER, project: TRUNCATED });
    const rt = await createRuntime({ home: tempHome(), policy: resolveIn(dirs), realHttp: true, heldSecrets: [] });
    const r = await rt.dispatcher.dispatch('notes-sync', {
      call_id: 'c1',
      method: 'http',
      params: { url: `http://localhost:${port}/upload`, method: 'POST', body: 'notes' },
    });
    await rt.close();
    assert.ok(!r.ok, JSON.stringify(r));
    assert.equal(r.error.code, 'denied');
    assert.deepEqual(r.error.reasonCodes, ['deny_caps'], JSON.stringify(r.error));
    assert.deepEqual(seen, []);
  });

  it("through a real dispatch: the user's egress rules stand: its allowPrivate grant reaches the sink, its denyHosts entry is refused", async () => {
    const { port, seen } = await sink();
    const dirs = settingsDirs({
      user: { extensionPolicy: { http: { allowPrivate: ['127.0.0.1'], denyHosts: ['localhost'] } } },
      project: TRUNCATED,
    });
    const rt = await createRuntime({ home: tempHome(), policy: resolveIn(dirs), realHttp: true, heldSecrets: [] });
    const post = (host: string, call: string) =>
      rt.dispatcher.dispatch('ext', { call_id: call, method: 'http', params: { url: `http://${host}:${port}/${call}`, method: 'POST' } });
    const allowed = await post('127.0.0.1', 'granted');
    const denied = await post('localhost', 'denied-host');
    await rt.close();
    assert.ok(allowed.ok, JSON.stringify(allowed));
    assert.ok(!denied.ok && denied.error.reasonCodes.includes('egress_host_denied'), JSON.stringify(denied));
    assert.deepEqual(seen, ['POST /granted']);
  });

  it('a project file that is a link to a credential file: the error never quotes the file', () => {
    const dirs = settingsDirs({ user: STRICT_USER });
    const credentials = join(dirs.root, 'credentials');
    writeFileSync(credentials, 'AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n');
    symlinkSync(credentials, dirs.projectPath);
    const p = resolveIn(dirs);
    assertStrictUserStands(p, dirs.root);
    assert.equal(p.errors.length, 1);
    const text = JSON.stringify(p.errors);
    assert.doesNotMatch(text, /AKIA|EXAMPLE/);
    assert.match(p.errors[0]!.message, /expected valid JSON, found a character that cannot appear in JSON there/);
  });
});

describe('an invalid user settings file blocks loading until it is fixed', () => {
  it('loadBlocked is set, the error names file, key and expected value, and the project file cannot lift it', () => {
    const dirs = settingsDirs({
      user: { extensionPolicy: { denyCaps: ['http'], allowDangerus: false } },
      project: { extensionPolicy: { profile: 'safe' } },
    });
    const p = resolveIn(dirs);
    assert.equal(p.loadBlocked, true);
    assert.equal(p.errors.length, 1);
    assert.deepEqual(
      [p.errors[0]!.scope, p.errors[0]!.path, p.errors[0]!.key, p.errors[0]!.expected],
      ['user', dirs.userPath, 'extensionPolicy.allowDangerus', 'no such key (unknown setting; check the spelling)'],
    );
    assert.throws(
      () => assertLoadAllowed(p),
      (e: unknown) =>
        isWardenError(e) &&
        e.code === 'settings_invalid' &&
        e.where === dirs.userPath &&
        e.message.includes(`fix ${dirs.userPath}: extensionPolicy.allowDangerus: expected no such key`),
    );
  });

  it('a misspelt section in the user file blocks instead of silently dropping the policy it holds', () => {
    const dirs = settingsDirs({ user: { extensionRisk: { enabled: true }, ExtensionPolicy: STRICT_USER.extensionPolicy } });
    const p = resolveIn(dirs);
    assert.equal(p.loadBlocked, true);
    assert.deepEqual(
      p.errors.map((e) => [e.key, e.expected]),
      [['ExtensionPolicy', 'the key "extensionPolicy" (a misspelt section is not read)']],
    );
  });

  it("pi's own top-level keys, even ones that start like ours, are not lookalikes", () => {
    const p = resolveIn(settingsDirs({ user: { ...STRICT_USER, extensions: ['./x.ts'], enabledModels: [], theme: 'dark' } }));
    assert.deepEqual(p.errors, []);
  });

  it('a user file that is JSON but not an object: the error gives its kind, never its value', () => {
    const p = resolveIn(settingsDirs({ user: '"AKIAIOSFODNN7EXAMPLE"' }));
    assert.equal(p.loadBlocked, true);
    assert.equal(p.errors[0]!.actual, 'a string');
    assert.doesNotMatch(JSON.stringify(p.errors), /AKIA/);
  });

  it('a valid user file does not block, and an invalid project file alone does not block', () => {
    assert.equal(resolveIn(settingsDirs({ user: STRICT_USER })).loadBlocked, false);
    const p = resolveIn(settingsDirs({ user: STRICT_USER, project: TRUNCATED }));
    assert.doesNotThrow(() => assertLoadAllowed(p));
  });

  it('createRuntime refuses a blocked policy before it opens the store', async () => {
    const home = tempHome();
    const p = resolveIn(settingsDirs({ user: TRUNCATED }));
    assert.equal(p.loadBlocked, true);
    await assert.rejects(
      createRuntime({ home, policy: p, heldSecrets: [] }),
      (e: unknown) => isWardenError(e) && e.code === 'settings_invalid',
    );
    assert.deepEqual(readdirSync(home), [], 'no store was created');
  });
});

describe('a UTF-8 byte order mark is accepted, as pi accepts it', () => {
  it('in the user file: read, no error, nothing blocked', () => {
    const dirs = settingsDirs({ user: `\uFEFF${JSON.stringify(STRICT_USER)}` });
    const p = resolveIn(dirs);
    assert.deepEqual(p.errors, []);
    assertStrictUserStands(p, dirs.root);
  });

  it('in the project file: read and applied (its tightening holds)', () => {
    const dirs = settingsDirs({ user: STRICT_USER, project: `\uFEFF${JSON.stringify({ extensionPolicy: { denyCaps: ['read'] } })}` });
    const p = resolveIn(dirs);
    assert.deepEqual(p.errors, []);
    assert.equal(evaluateCapability(p.rules, 'read').decision, 'deny');
    assertStrictUserStands(p, dirs.root);
  });

  it('remembering a prompt answer rewrites a user file with a BOM instead of refusing it', () => {
    const dirs = settingsDirs({ user: `\uFEFF${JSON.stringify(STRICT_USER)}` });
    rememberPromptAnswer(dirs.userPath, 'notes-sync', 'ui', 'allow');
    const p = resolveIn(dirs);
    assert.deepEqual(p.errors, []);
    assert.equal(p.rules.promptAnswers.get('notes-sync')?.get('ui'), 'allow');
    assert.ok(existsSync(dirs.userPath));
  });
});
