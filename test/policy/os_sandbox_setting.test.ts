/**
 * `extensionPolicy.exec.osSandbox` (issue 17 item 3): on by default, turned off only by the user settings file. A
 * project file cannot turn it off, not even one the user trusts (`trustProjectSettings`): it would loosen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffPolicies } from '../../src/policy/index.ts';
import { policyFor } from '../helpers.ts';

const off = { extensionPolicy: { exec: { osSandbox: 'off' } } };

describe('extensionPolicy.exec.osSandbox', () => {
  it('is on when nothing sets it', () => {
    assert.equal(policyFor().osSandbox, 'on');
  });

  it('the user settings file turns it off', () => {
    assert.equal(policyFor({ user: off }).osSandbox, 'off');
  });

  it('a project file cannot turn it off, and the warning says so', () => {
    const p = policyFor({ project: off });
    assert.equal(p.osSandbox, 'on');
    assert.ok(
      p.warnings.some((w) => w.includes('extensionPolicy.exec.osSandbox "off" ignored')),
      p.warnings.join('\n'),
    );
  });

  it('nor can a project file the user trusts', () => {
    const p = policyFor({ user: { extensionPolicy: { trustProjectSettings: true } }, project: off });
    assert.equal(p.osSandbox, 'on');
  });

  it('policy diff marks turning it off as looser, and back on as tighter', () => {
    const on = policyFor();
    const offPolicy = policyFor({ user: off });
    assert.deepEqual(
      diffPolicies(on, offPolicy).find((c) => c.field === 'exec_os_sandbox'),
      { field: 'exec_os_sandbox', a: 'true', b: 'false', direction: 'looser' },
    );
    assert.equal(diffPolicies(offPolicy, on).find((c) => c.field === 'exec_os_sandbox')?.direction, 'tighter');
  });

  it('a value other than on or off makes the user file invalid (loading blocked), not silently off', () => {
    const p = policyFor({ user: { extensionPolicy: { exec: { osSandbox: 'no' } } } });
    assert.equal(p.loadBlocked, true);
    assert.equal(p.osSandbox, 'on');
  });
});
