/** A policy_violation alert's remediation names an action that lifts the denial, checked by taking the action. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDispatcher } from '../../src/dispatch/index.ts';
import { evaluateCapability, type Capability } from '../../src/policy/index.ts';
import { policyFor, sampleParams } from '../helpers.ts';

async function remediationFor(extensionPolicy: unknown, method: string): Promise<string> {
  const raised: Array<{ remediation: string }> = [];
  const d = createDispatcher({
    policy: policyFor({ user: { extensionPolicy } }).compiled,
    operations: new Map([[method, () => 'done']]),
    alerts: { raise: (a: { remediation: string }) => raised.push(a) },
  });
  const r = await d.dispatch('x', { call_id: 'c1', method, params: sampleParams(method) });
  assert.ok(!r.ok && r.error.code === 'denied', 'the call is denied');
  assert.equal(raised.length, 1);
  return raised[0]!.remediation;
}

function decision(extensionPolicy: unknown, cap: Capability): string {
  return evaluateCapability(policyFor({ user: { extensionPolicy } }).rules, cap, 'x').decision;
}

describe('policy_violation remediation', () => {
  it('a global denyCaps is not lifted by a per-extension allow: the advice says so and its action works', async () => {
    const denied = { profile: 'balanced', denyCaps: ['read'], overrides: { x: { allow: ['read'] } } };
    assert.equal(decision(denied, 'read'), 'deny', 'the old advice (add it to overrides.x.allow) changes nothing');
    const text = await remediationFor(denied, 'fs.read');
    assert.match(text, /extensionPolicy\.denyCaps/);
    assert.match(text, /a per-extension allow cannot lift it/);
    assert.equal(decision({ profile: 'balanced', denyCaps: [], overrides: { x: { allow: ['read'] } } }, 'read'), 'allow');
  });

  it('the dangerous gate names allowDangerous, and with it the per-extension allow works', async () => {
    const gated = { profile: 'balanced', overrides: { x: { allow: ['exec'] } } };
    assert.equal(decision(gated, 'exec'), 'deny');
    const text = await remediationFor(gated, 'exec');
    assert.match(text, /extensionPolicy\.allowDangerous/);
    assert.equal(decision({ ...gated, allowDangerous: true }, 'exec'), 'allow');
  });

  it('a deny for this extension names its own deny list', async () => {
    const text = await remediationFor({ profile: 'balanced', overrides: { x: { deny: ['read'] } } }, 'fs.read');
    assert.match(text, /extensionPolicy\.overrides\.x\.deny/);
  });
});
