/**
 * `rollback policy|risk`: the runbook's JSON written into the user settings with a backup, other keys kept, and the
 * result checked through policy explain, which fails when a higher-precedence source still wins.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { rollback } from '../../src/incident/rollback/index.ts';
import { explainPolicy } from '../../src/policy/index.ts';
import { resolveIn, settingsDirs } from '../helpers.ts';

const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, Record<string, unknown>>;

describe('rollback', () => {
  it("policy: writes the runbook's safe profile over a permissive one with allowDangerous, keeps the rest, backs up, verifies", () => {
    const before = {
      theme: 'dark',
      extensionPolicy: { profile: 'permissive', allowDangerous: true, overrides: { 'my-ext': { allow: ['http'] } } },
    };
    const dirs = settingsDirs({ user: before });
    assert.equal(explainPolicy(resolveIn(dirs)).allow_dangerous, true, 'the fixture starts dangerous');
    const r = rollback('policy', { env: dirs.env, cwd: dirs.cwd, now: Date.UTC(2026, 11, 6) });
    assert.equal(r.verified, true);
    assert.deepEqual(
      r.checks.map((c) => [c.setting, c.found, c.ok]),
      [
        ['profile', 'safe', true],
        ['allow_dangerous', false, true],
      ],
    );
    const after = read(dirs.userPath);
    assert.deepEqual(after.extensionPolicy, { profile: 'safe', allowDangerous: false, overrides: { 'my-ext': { allow: ['http'] } } });
    assert.equal(after.theme, 'dark', "pi's own keys are kept");
    assert.deepEqual(JSON.parse(readFileSync(r.backup as string, 'utf8')), before, 'the backup is the file as it was');
    const e = explainPolicy(resolveIn(dirs));
    assert.deepEqual([e.profile, e.allow_dangerous], ['safe', false]);
  });

  it("risk: writes the runbook's extensionRisk values exactly and verifies them", () => {
    const dirs = settingsDirs({
      user: { extensionRisk: { enabled: true, enforce: false, alpha: 0.2, windowSize: 16, failClosed: false } },
    });
    const r = rollback('risk', { env: dirs.env, cwd: dirs.cwd });
    assert.equal(r.verified, true, JSON.stringify(r.checks));
    assert.deepEqual(read(dirs.userPath).extensionRisk, { enabled: false, enforce: true, alpha: 0.01, windowSize: 128, failClosed: true });
    assert.deepEqual(r.written, { extensionRisk: { enabled: false, enforce: true, alpha: 0.01, windowSize: 128, failClosed: true } });
  });

  it('no settings file: created, no backup', () => {
    const dirs = settingsDirs();
    const r = rollback('policy', { env: dirs.env, cwd: dirs.cwd });
    assert.equal(r.backup, null);
    assert.equal(r.verified, true);
  });

  it('is not verified when the environment still picks another profile, and says where the profile comes from', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { profile: 'permissive' } } }, { PI_EXTENSION_POLICY: 'permissive' });
    const r = rollback('policy', { env: dirs.env, cwd: dirs.cwd });
    assert.equal(r.verified, false);
    assert.deepEqual(r.checks[0], { setting: 'profile', expected: 'safe', found: 'permissive', ok: false });
    assert.match(r.profile_source, /PI_EXTENSION_POLICY|env/i);
  });

  it('refuses to rewrite a settings file it cannot parse, and writes no backup', () => {
    const dirs = settingsDirs({ user: '{ "extensionPolicy": ' });
    assert.throws(
      () => rollback('policy', { env: dirs.env, cwd: dirs.cwd }),
      (e: unknown) => isWardenError(e) && e.code === 'settings_invalid',
    );
    assert.equal(readFileSync(dirs.userPath, 'utf8'), '{ "extensionPolicy": ');
    writeFileSync(dirs.userPath, '{}');
  });
});
