/** `pi-warden probe`, run as the real bin (built dist/) in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixture } from '../sandbox/harness.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));

function probe(args: string[], env: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'pi-warden-probe-home-'));
  const r = spawnSync(process.execPath, [BIN, 'probe', ...args], {
    cwd: home,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pi-warden probe', () => {
  it('--json on a benign extension lists its registrations and hostcalls and exits 0', () => {
    const r = probe([fixture('benign.ts'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const ext = report.extensions[0];
    assert.equal(ext.loaded, true);
    assert.deepEqual(
      ext.registrations.tools.map((t: { name: string }) => t.name),
      ['greet'],
    );
    assert.deepEqual(ext.registrations.commands, ['whoami']);
    assert.deepEqual(ext.registrations.flags, ['loud']);
    assert.ok(ext.steps.some((s: { step: string; ok: boolean }) => s.step === 'tool greet' && s.ok));
    assert.ok(
      ext.steps.some((s: { step: string }) => s.step === 'event session_start (new)'),
      'the legacy session_switch subscriber got its session_start',
    );
    assert.ok(
      report.hostcalls.some(
        (h: { method: string; capability: string; decision: string }) =>
          h.method === 'pi.registerTool' && h.capability === 'events' && h.decision === 'allow',
      ),
    );
    assert.equal(report.profile, 'safe');
  });

  it('under the safe profile an exfiltrating extension is denied env and exec, and no honeytoken leaks', () => {
    const r = probe([fixture('hostile/exfiltrate.ts'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const denied = report.denied.map((d: { method: string }) => d.method).sort();
    assert.deepEqual(denied, ['ctx.modelRegistry.getApiKey', 'env.get', 'env.list', 'exec']);
    assert.deepEqual(report.honeytokens.leaked, []);
  });

  it('when the policy lets env and http through, the secret broker hides the secret names, refuses the key and the honeytoken read, and the exit code is 1', () => {
    const r = probe([fixture('hostile/exfiltrate.ts'), '--json', '--extension-policy', 'permissive'], {
      PI_EXTENSION_ALLOW_DANGEROUS: '1',
    });
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.honeytokens.leaked, [], 'nothing got out');
    assert.deepEqual(
      [...new Set(report.honeytokens.blocked.map((b: { method: string }) => b.method))],
      ['env.get'],
      'the direct read of a planted name is the finding',
    );
    const refused = Object.fromEntries(
      report.denied.map((d: { method: string; stage: string; reason_codes: string[] }) => [
        d.method,
        `${d.stage}:${d.reason_codes.join(',')}`,
      ]),
    );
    assert.equal(refused['env.get'], 'mediation:secret_name_blocked,honeytoken');
    assert.equal(
      refused['ctx.modelRegistry.getApiKey'],
      'mediation:credential_not_granted',
      'a profile-wide env grant does not hand out keys',
    );
    const list = report.hostcalls.find((h: { method: string }) => h.method === 'env.list');
    assert.equal(
      list.decision,
      'allow',
      'enumeration is allowed, but filtered (nothing with KEY/TOKEN reached the payload: http was not blocked)',
    );
    assert.ok(!report.denied.some((d: { method: string }) => d.method === 'http'));
  });

  it('an extension granted env by name gets the key from the registry, and the broker blocks it on the way out', () => {
    const home = mkdtempSync(join(tmpdir(), 'pi-warden-probe-home-'));
    mkdirSync(join(home, '.pi', 'agent'), { recursive: true });
    writeFileSync(
      join(home, '.pi', 'agent', 'settings.json'),
      JSON.stringify({
        extensionPolicy: {
          profile: 'permissive',
          allowDangerous: true,
          overrides: { [realpathSync(fixture('hostile/exfiltrate.ts'))]: { allow: ['env', 'http', 'exec'] } },
        },
      }),
    );
    const r = spawnSync(process.execPath, [BIN, 'probe', fixture('hostile/exfiltrate.ts'), '--json'], {
      cwd: home,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' },
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.honeytokens.leaked, []);
    const blocked = new Set(report.honeytokens.blocked.map((b: { method: string }) => b.method));
    assert.ok(blocked.has('http') && blocked.has('env.get'), JSON.stringify(report.honeytokens.blocked));
    assert.ok(
      !report.denied.some((d: { method: string }) => d.method === 'ctx.modelRegistry.getApiKey'),
      'the named grant hands out the key',
    );
  });

  it('without a lasting store (--no-record) the secret broker still blocks the honeytokens, and the exit code is 1', () => {
    const r = probe([fixture('hostile/exfiltrate.ts'), '--json', '--no-record', '--extension-policy', 'permissive'], {
      PI_EXTENSION_ALLOW_DANGEROUS: '1',
    });
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.honeytokens.leaked, [], 'mediation runs: nothing leaves');
    assert.ok(report.honeytokens.blocked.length > 0, JSON.stringify(report.honeytokens));
    assert.equal(report.store, undefined);
  });

  it('human output names the extension, the denied calls and the honeytoken verdict', () => {
    const r = probe([fixture('hostile/exfiltrate.ts')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Extension \S*\/exfiltrate\.ts {2}loaded/);
    assert.match(r.stdout, /Denied\n( {2}.*\n)* {2}ctx\.modelRegistry\.getApiKey needs env \(deny_caps\)/);
    assert.match(r.stdout, /http POST https:\/\/collector\.invalid\/x/);
    assert.match(r.stdout, /none left the sandbox through an allowed call/);
  });

  it('a path that does not exist is a usage error (exit 2) naming the path', () => {
    const r = probe(['/nonexistent/ext.ts']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid_request: extension not found: \/nonexistent\/ext\.ts/);
  });

  it('an extension that fails to load is a finding (exit 1) with the file and cause', () => {
    const r = probe([fixture('throws-on-load.ts'), '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.match(report.extensions[0].load_error, /throws-on-load\.ts: the extension failed to load: Error: factory refuses to start/);
  });
});
