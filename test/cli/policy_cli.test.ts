/** The `pi-warden` bin, run as a real child process (built dist/, pinned Node), against throw-away settings. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CAPABILITIES } from '../../src/policy/capabilities.ts';
import { settingsDirs, type SettingsDirs } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));

function cli(dirs: SettingsDirs, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dirs.cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...dirs.env, NO_COLOR: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const REQUIRED = [
  'profile',
  'profile_source',
  'mode',
  'default_caps',
  'deny_caps',
  'allow_dangerous',
  'secret_broker_enabled',
  'overrides',
  'risk',
  'capabilities',
];

describe('pi-warden policy explain', () => {
  it('--json on the embedded defaults prints every required field, safe from default', () => {
    const r = cli(settingsDirs(), ['policy', 'explain', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    for (const key of REQUIRED) assert.ok(key in e, key);
    assert.equal(e.profile, 'safe');
    assert.equal(e.profile_source, 'default');
    assert.equal(e.mode, 'strict');
    assert.deepEqual(e.deny_caps, ['exec', 'env', 'net']);
    assert.equal(e.allow_dangerous, false);
    assert.equal(e.secret_broker_enabled, true);
    assert.deepEqual(Object.keys(e.capabilities).sort(), [...CAPABILITIES].sort());
    assert.deepEqual(e.capabilities.exec, { decision: 'deny', rule: 'deny_caps', reason: 'deny_caps', dangerous: true });
    assert.deepEqual(e.capabilities.read, { decision: 'allow', rule: 'default_caps', reason: 'default_caps', dangerous: false });
    assert.equal(e.risk.enabled, false);
    assert.ok(
      e.methods.some((m: { method: string; capability: string }) => m.method === 'ctx.modelRegistry.getApiKey' && m.capability === 'env'),
    );
  });

  it('--json with a settings file with overrides shows them and decides per extension', () => {
    const dirs = settingsDirs({
      user: {
        extensionPolicy: {
          profile: 'balanced',
          allowDangerous: true,
          overrides: { 'git-helper': { allow: ['exec'], deny: ['http'], quota: { memoryMb: 64 } } },
        },
        extensionRisk: { enabled: true, enforce: false },
      },
    });
    const global = JSON.parse(cli(dirs, ['policy', 'explain', '--json']).stdout);
    assert.equal(global.profile, 'balanced');
    assert.equal(global.profile_source, 'user');
    assert.deepEqual(global.overrides['git-helper'], { allow: ['exec'], deny: ['http'], quota: { memoryMb: 64 } });
    assert.equal(global.capabilities.exec.decision, 'prompt');
    assert.deepEqual(global.risk, {
      enabled: true,
      enforce: false,
      alpha: 0.01,
      window_size: 128,
      fail_closed: true,
      decision_timeout_ms: 50,
      ledger_limit: 2048,
      consecutive_unsafe: 3,
      allowed_hosts: [],
      rollout: { sample_window: 200, max_false_positive_rate: 0.05, max_error_rate: 0.02, max_avg_latency_us: 500 },
    });
    const ext = JSON.parse(cli(dirs, ['policy', 'explain', '--extension', 'git-helper', '--json']).stdout);
    assert.equal(ext.extension_id, 'git-helper');
    assert.deepEqual(ext.capabilities.exec, { decision: 'allow', rule: 'extension_allow', reason: 'extension_allow', dangerous: true });
    assert.deepEqual(ext.capabilities.http, { decision: 'deny', rule: 'extension_deny', reason: 'extension_deny', dangerous: false });
  });

  it('the runbook alias --explain-extension-policy prints the same explanation', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { profile: 'permissive' } } });
    const alias = JSON.parse(cli(dirs, ['--explain-extension-policy', '--json']).stdout);
    const direct = JSON.parse(cli(dirs, ['policy', 'explain', '--json']).stdout);
    assert.deepEqual(alias, direct);
    const one = JSON.parse(cli(dirs, ['--explain-extension-policy', '--extension', 'x', '--json']).stdout);
    assert.equal(one.extension_id, 'x');
  });

  it('--extension-policy, then PI_EXTENSION_POLICY, beat the settings and are named as the source', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { profile: 'balanced' } } });
    const viaCli = JSON.parse(cli(dirs, ['--extension-policy', 'permissive', 'policy', 'explain', '--json']).stdout);
    assert.deepEqual([viaCli.profile, viaCli.profile_source], ['permissive', 'cli']);
    const viaSub = JSON.parse(cli(dirs, ['policy', 'explain', '--extension-policy', 'safe', '--json']).stdout);
    assert.deepEqual([viaSub.profile, viaSub.profile_source], ['safe', 'cli']);
    const viaEnv = JSON.parse(cli(dirs, ['policy', 'explain', '--json'], { PI_EXTENSION_POLICY: 'permissive' }).stdout);
    assert.deepEqual([viaEnv.profile, viaEnv.profile_source], ['permissive', 'env']);
  });

  it('an invalid settings file: exit 2, an error naming file, key and expectation, and the safe policy', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: 'yes' } } });
    const r = cli(dirs, ['policy', 'explain', '--json']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(
        `${dirs.userPath.replaceAll('/', '\\/')}: extensionPolicy\\.allowDangerous: expected a value of type boolean, found "yes"`,
      ),
    );
    const e = JSON.parse(r.stdout);
    assert.equal(e.profile, 'safe');
    assert.equal(e.allow_dangerous, false);
    assert.equal(e.errors.length, 1);
  });

  it('text output is a readable table with every capability, its decision and rule', () => {
    const r = cli(settingsDirs(), ['policy', 'explain']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /profile: +safe \(from default\)/);
    for (const c of CAPABILITIES) assert.match(r.stdout, new RegExp(`│ ${c}`));
    assert.match(r.stdout, /dangerous_gate/);
    assert.match(r.stdout, /Hostcall methods by required capability/);
  });

  it('text and --json print the same exec mediation rules, for the profile in force and the extension asked about', () => {
    const dirs = settingsDirs({
      user: { extensionPolicy: { profile: 'balanced', allowDangerous: true, overrides: { helper: { allow: ['exec'] } } } },
    });
    const json = JSON.parse(cli(dirs, ['policy', 'explain', '--json', '--extension', 'helper']).stdout).exec_mediation;
    assert.equal(json.profile, 'balanced');
    assert.equal(json.granted_by_name, true);
    const text = cli(dirs, ['policy', 'explain', '--extension', 'helper']).stdout;
    assert.match(text, /Exec mediation \(profile balanced; exec granted to helper by name: yes/);
    const rows = new Map(
      text
        .split('\n')
        .map((l) => l.split('│').map((c) => c.trim()))
        .filter((c) => c.length > 4)
        .map((c) => [c[1], [c[2], c[3]]]),
    );
    for (const r of json.rules as Array<{ subject: string; granted: string; ungranted: string }>)
      assert.deepEqual(rows.get(r.subject), [r.granted, r.ungranted], r.subject);
    assert.deepEqual(rows.get('network_tool'), ['allow', 'prompt']);
  });

  it('says which applies to child processes: the OS sandbox, the refusal when it cannot run, or the user setting off', () => {
    const on = cli(settingsDirs(), ['policy', 'explain'], { PATH: '/nonexistent' });
    assert.match(
      on.stdout,
      /OS sandbox of child processes: on, but unavailable here \(bwrap \(bubblewrap\) is not installed\): exec is refused/,
    );
    assert.match(on.stdout, /apt-get install bubblewrap/);
    const json = JSON.parse(cli(settingsDirs(), ['policy', 'explain', '--json'], { PATH: '/nonexistent' }).stdout).exec_mediation
      .os_sandbox;
    assert.equal(json.setting, 'on');
    assert.equal(json.available, false);
    const off = settingsDirs({ user: { extensionPolicy: { exec: { osSandbox: 'off' } } } });
    assert.match(
      cli(off, ['policy', 'explain']).stdout,
      /OS sandbox of child processes: off \(user settings extensionPolicy\.exec\.osSandbox\)/,
    );
    const projectOff = settingsDirs({ project: { extensionPolicy: { exec: { osSandbox: 'off' } } } });
    assert.equal(JSON.parse(cli(projectOff, ['policy', 'explain', '--json']).stdout).exec_mediation.os_sandbox.setting, 'on');
  });

  it('--help explains the commands', () => {
    const r = cli(settingsDirs(), ['policy', 'explain', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /precedence rule/);
    assert.match(r.stdout, /--json/);
  });

  it('an unknown command is a usage error with exit 2', () => {
    const r = cli(settingsDirs(), ['polcy']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
  });
});

describe('pi-warden policy diff', () => {
  it('marks a rollback to safe as tighter and exits 1', () => {
    const dirs = settingsDirs();
    const before = join(dirs.root, 'before.json');
    const after = join(dirs.root, 'after.json');
    writeFileSync(before, JSON.stringify({ extensionPolicy: { profile: 'permissive', allowDangerous: true } }));
    writeFileSync(after, JSON.stringify({ extensionPolicy: { profile: 'safe', allowDangerous: false } }));
    const r = cli(dirs, ['policy', 'diff', before, after, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.identical, false);
    assert.equal(d.looser, false);
    const byField = Object.fromEntries(d.changes.map((c: { field: string; direction: string }) => [c.field, c.direction]));
    assert.equal(byField.profile, 'tighter');
    assert.equal(byField.allow_dangerous, 'tighter');
    assert.equal(byField['capabilities.exec'], 'tighter');
    assert.equal(byField['capabilities.ui'], 'tighter');
    const back = JSON.parse(cli(dirs, ['policy', 'diff', after, before, '--json']).stdout);
    assert.equal(back.looser, true);
    const text = cli(dirs, ['policy', 'diff', before, after]);
    assert.match(text.stdout, /capabilities\.exec.*allow \(mode\).*deny \(deny_caps\).*tighter/);
  });

  it('identical files exit 0; per-extension changes are listed', () => {
    const dirs = settingsDirs();
    const a = join(dirs.root, 'a.json');
    const b = join(dirs.root, 'b.json');
    writeFileSync(a, JSON.stringify({ extensionPolicy: { profile: 'balanced' } }));
    assert.equal(cli(dirs, ['policy', 'diff', a, a]).code, 0);
    writeFileSync(b, JSON.stringify({ extensionPolicy: { profile: 'balanced', overrides: { x: { allow: ['ui'] } } } }));
    const d = JSON.parse(cli(dirs, ['policy', 'diff', a, b, '--json']).stdout);
    assert.deepEqual(d.changes, [
      { field: 'extension x: capabilities.ui', a: 'prompt (mode)', b: 'allow (extension_allow)', direction: 'looser' },
    ]);
  });

  it('a missing or invalid file is an error with exit 2', () => {
    const dirs = settingsDirs();
    const bad = join(dirs.root, 'bad.json');
    writeFileSync(bad, '{"extensionPolicy": {"denyCaps": ["everything"]}}');
    const r = cli(dirs, ['policy', 'diff', bad, join(dirs.root, 'missing.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.json does not exist/);
    const r2 = cli(dirs, ['policy', 'diff', bad, bad]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /extensionPolicy\.denyCaps\[0\]/);
  });
});

describe('pi-warden policy forget', () => {
  it('removes remembered answers from the user settings and explain no longer shows them', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { profile: 'balanced', promptAnswers: { x: { ui: 'allow', log: 'deny' } } } } });
    const before = JSON.parse(cli(dirs, ['policy', 'explain', '--extension', 'x', '--json']).stdout);
    assert.deepEqual(before.remembered_prompts, { x: { ui: 'allow', log: 'deny' } });
    assert.equal(before.capabilities.ui.rule, 'remembered_prompt');
    const r = cli(dirs, ['policy', 'forget', '--extension', 'x', '--capability', 'ui', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).removed, 1);
    const after = JSON.parse(cli(dirs, ['policy', 'explain', '--extension', 'x', '--json']).stdout);
    assert.deepEqual(after.remembered_prompts, { x: { log: 'deny' } });
    assert.equal(after.capabilities.ui.decision, 'prompt');
    assert.equal(cli(dirs, ['policy', 'forget', '--extension', 'x', '--capability', 'bogus']).code, 2);
  });
});
