import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDispatcher, MemoryRecorder } from '../../src/dispatch/index.ts';
import { hostcall, policyFor } from '../helpers.ts';

describe('dispatchSync: the same pipeline for calls the guest waits on', () => {
  it('allows, denies and records exactly as dispatch does', async () => {
    const policy = policyFor().compiled;
    const recorder = new MemoryRecorder();
    const d = createDispatcher({
      policy,
      recorder,
      operations: new Map([
        ['fs.read', () => 'text'],
        ['env.get', () => 'secret'],
      ]),
    });
    const ok = d.dispatchSync('ext', hostcall('fs.read', { path: '/x' }));
    assert.deepEqual(ok, { ok: true, callId: 'call-fs.read', value: 'text' });
    const denied = d.dispatchSync('ext', hostcall('env.get', { name: 'HOME' }));
    assert.equal(denied.ok, false);
    assert.equal(!denied.ok && denied.error.code, 'denied');
    const asyncDenied = await d.dispatch('ext', hostcall('env.get', { name: 'HOME' }));
    assert.equal(!asyncDenied.ok && asyncDenied.error.message, !denied.ok && denied.error.message);
    assert.deepEqual(
      recorder.entries.map((e) => [e.method, e.decision, e.rule]),
      [
        ['fs.read', 'allow', 'default_caps'],
        ['env.get', 'deny', 'deny_caps'],
        ['env.get', 'deny', 'deny_caps'],
      ],
    );
  });

  it('invalid params are invalid_request and never reach the operation', () => {
    let ran = false;
    const d = createDispatcher({
      policy: policyFor().compiled,
      operations: new Map([
        [
          'fs.read',
          () => {
            ran = true;
            return '';
          },
        ],
      ]),
    });
    const r = d.dispatchSync('ext', hostcall('fs.read', { path: '' }));
    assert.equal(!r.ok && r.error.code, 'invalid_request');
    assert.equal(ran, false);
  });

  it('a capability that needs a prompt is denied when asked synchronously, even with a prompter that would allow', () => {
    let asked = 0;
    const d = createDispatcher({
      policy: policyFor({ user: { extensionPolicy: { profile: 'balanced' } } }).compiled,
      prompter: {
        ask: async () => {
          asked++;
          return { decision: 'allow', scope: 'once' };
        },
      },
      operations: new Map([['ctx.ui.notify', () => null]]),
    });
    const r = d.dispatchSync('ext', hostcall('ctx.ui.notify', { args: ['hi'] }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'denied');
    assert.deepEqual(!r.ok && r.error.reasonCodes, ['sync_needs_prompt']);
    assert.ok(asked <= 1);
  });

  it('an operation that only has an asynchronous implementation fails closed as internal', () => {
    const d = createDispatcher({ policy: policyFor().compiled, operations: new Map([['fs.read', async () => 'late']]) });
    const r = d.dispatchSync('ext', hostcall('fs.read', { path: '/x' }));
    assert.equal(!r.ok && r.error.code, 'internal');
    assert.deepEqual(!r.ok && r.error.reasonCodes, ['operation_not_sync']);
  });

  it('an operation that throws an errno error is io, like dispatch', () => {
    const d = createDispatcher({
      policy: policyFor().compiled,
      operations: new Map([
        [
          'fs.read',
          () => {
            throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
          },
        ],
      ]),
    });
    const r = d.dispatchSync('ext', hostcall('fs.read', { path: '/x' }));
    assert.equal(!r.ok && r.error.code, 'io');
  });
});
