/**
 * Issue 15 item 3 at the command line: every command that reads settings reports an invalid file and exits 2; an
 * invalid project file is left out and the user's policy is what the command shows and uses; an invalid user file
 * stops `probe` before it loads anything. The real bin (built dist/) in a child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixture } from '../sandbox/harness.ts';
import { settingsDirs, type SettingsDirs } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));

function cli(dirs: SettingsDirs, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dirs.cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...dirs.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const STRICT_USER = {
  extensionPolicy: {
    denyCaps: ['exec', 'env', 'http'],
    overrides: { 'notes-sync': { deny: ['write'], fs: { read: ['~/notes'] } } },
    http: { denyHosts: ['*.collector.test'] },
    secretBroker: { disclosureAllowlist: ['MY_PUBLIC_TOKEN'] },
  },
  extensionRisk: { enabled: true },
};
const TRUNCATED = '{ "extensionPolicy": ';
const BAD_USER = { extensionPolicy: { denyCaps: ['http'], allowDangerus: false } };

const storeHome = () => mkdtempSync(join(tmpdir(), 'pi-warden-settings-store-'));

describe('commands report an invalid project file, exit 2 and use the user policy', () => {
  const dirs = settingsDirs({ user: STRICT_USER, project: TRUNCATED });
  const projectError = `${dirs.projectPath}: (file): expected valid JSON, found the end of the file before the JSON was complete (this file is ignored until it is fixed; the user settings apply without it)`;

  it('policy explain', () => {
    const r = cli(dirs, ['policy', 'explain', '--json']);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`error: ${projectError}`), r.stderr);
    const e = JSON.parse(r.stdout);
    assert.equal(e.load_blocked, false);
    assert.deepEqual(e.deny_caps, ['exec', 'env', 'http']);
    assert.equal(e.risk.enabled, true);
    assert.deepEqual(e.http_egress.deny_hosts, ['*.collector.test']);
  });

  it('fs check: the user grant applies', () => {
    const r = cli(dirs, ['fs', 'check', join(dirs.root, 'notes', 'today.md'), '--extension', 'notes-sync', '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`error: ${projectError}`), r.stderr);
    assert.equal(JSON.parse(r.stdout).results[0].decision, 'allow');
  });

  it('secrets classify: the user allowlist applies', () => {
    const r = cli(dirs, ['secrets', 'classify', 'MY_PUBLIC_TOKEN', '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`error: ${projectError}`), r.stderr);
    assert.equal(JSON.parse(r.stdout).results[0].secret, false);
  });

  it('probe: the hostile extension runs under the user policy (its POST to the denied host refused) and the exit code is 2', () => {
    const home = storeHome();
    const r = cli(dirs, ['probe', fixture('hostile/post-to-denied-host.ts'), '--cwd', dirs.cwd, '--home', home, '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`error: ${projectError}`), r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.extensions[0].loaded, true);
    const http = report.denied.find((d: { method: string }) => d.method === 'http');
    assert.equal(http?.rule, 'deny_caps', JSON.stringify(report.denied));
  });
});

describe('an invalid user file: commands exit 2 and nothing loads', () => {
  const dirs = settingsDirs({ user: BAD_USER });
  const userError = `${dirs.userPath}: extensionPolicy.allowDangerus: expected no such key (unknown setting; check the spelling), found false`;

  it('policy explain says loading is blocked', () => {
    const r = cli(dirs, ['policy', 'explain']);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /LOADING BLOCKED: the user settings are invalid/);
    assert.ok(r.stderr.includes(`error: ${userError} (no extension loads until it is fixed`), r.stderr);
    assert.equal(JSON.parse(cli(dirs, ['policy', 'explain', '--json']).stdout).load_blocked, true);
  });

  for (const record of [true, false]) {
    it(`probe ${record ? 'with a store' : '--no-record'} refuses to load, names file and key, and records nothing`, () => {
      const home = storeHome();
      const args = ['probe', fixture('hostile/post-to-denied-host.ts'), '--cwd', dirs.cwd, '--home', home];
      const r = cli(dirs, record ? args : [...args, '--no-record']);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, /settings_invalid: no extension loads while the user settings are invalid/);
      assert.ok(r.stderr.includes(`fix ${dirs.userPath}: extensionPolicy.allowDangerus: expected no such key`), r.stderr);
      assert.equal(r.stdout, '', 'no report: nothing was loaded');
      assert.deepEqual(existsSync(home) ? readdirSync(home) : [], [], 'no store was opened');
    });
  }
});
