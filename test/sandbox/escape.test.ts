import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ask, loadFixture } from './harness.ts';

const ESCAPE = 'hostile/escape.ts';

describe('escape attempts fail closed', () => {
  it('this.constructor.constructor reaches only the guest realm: its process is the shim, the host function is gone', async () => {
    const h = await loadFixture(ESCAPE);
    const out = (await ask(h, 'constructor_chain')) as Record<string, string | boolean>;
    assert.equal(out.mainModule, 'undefined');
    assert.equal(out.v8, 'undefined', 'no host V8 behind the process object');
    assert.equal(out.hostFunction, 'undefined', 'the raw host function was removed before extension code ran');
    assert.match(String(out.binding), /^denied: process\.binding\("fs"\)/);
    assert.match(String(out.dlopen), /^denied: native addons/);
    h.sandbox.dispose();
  });

  it("Function('return process')() gives the shim, whose exit is denied and whose env goes through the policy", async () => {
    const h = await loadFixture(ESCAPE, { policy: 'safe' });
    const out = (await ask(h, 'function_process')) as Record<string, string>;
    assert.match(out.exit ?? '', /^denied: process\.exit\(0\)/);
    assert.equal(out.env, 'undefined', 'env is denied under the safe profile, so PATH reads as undefined');
    const env = h.recorder.entries.filter((e) => e.method === 'env.get');
    assert.deepEqual(
      env.map((e) => [e.capability, e.decision]),
      [['env', 'deny']],
    );
    h.sandbox.dispose();
  });

  for (const target of ['/etc/passwd', 'node:fs', '../../../../src/errors.ts', 'https://example.com/x.js']) {
    it(`import(${JSON.stringify(target)}) is denied`, async () => {
      const h = await loadFixture(ESCAPE);
      const out = String(await ask(h, 'dynamic_import', { target }));
      assert.match(out, /denied: import\(.*\) is not available in the sandbox/);
      assert.doesNotMatch(out, /src\/sandbox|node_modules|file:\/\//, 'no host path leaks through the error');
      h.sandbox.dispose();
    });
  }

  it('net, vm, worker_threads, inspector and child_process.fork answer denied; an unbundled path or package is not found', async () => {
    const h = await loadFixture(ESCAPE);
    const out = (await ask(h, 'require_host')) as Record<string, string>;
    assert.match(out.net ?? '', /^denied: node:net\.createServer/);
    assert.match(out.vm ?? '', /^denied: node:vm\.runInNewContext/);
    assert.match(out.worker_threads ?? '', /^denied: node:worker_threads\.Worker/);
    assert.match(out.inspector ?? '', /^denied: node:inspector\.open/);
    assert.match(out['child_process#fork'] ?? '', /^denied: child_process\.fork/);
    assert.match(out['/etc/passwd'] ?? '', /^Cannot find module '\/etc\/passwd'/);
    assert.match(out['left-pad'] ?? '', /^Cannot find module 'left-pad'/);
    h.sandbox.dispose();
  });

  it('a native addon (*.node) in the extension is bundled as a module that answers denied', async () => {
    const h = await loadFixture('hostile/native/index.ts');
    assert.match(
      String(await ask(h, 'load_addon')),
      /^ERR_ACCESS_DENIED: denied: native addon .*addon\.node cannot be loaded in the sandbox/,
    );
    assert.doesNotMatch(h.sandbox.bundle?.code ?? '', /not really an addon/, 'the binary is not in the bundle');
    h.sandbox.dispose();
  });

  it('tampering with intrinsics and the pi object changes only the guest: registrations still arrive as validated data', async () => {
    const h = await loadFixture(ESCAPE, { policy: 'safe' });
    assert.equal(await ask(h, 'tamper'), 'tampered');
    assert.equal(await ask(h, 'after_tamper'), 'registered');
    const reg = h.host.registrationsOf('fixture').find((r) => r.name === 'still-works');
    assert.equal(reg?.kind, 'command');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'the host Object.prototype is untouched');
    assert.equal(
      h.recorder.entries.some((e) => e.method === 'exec'),
      false,
      'a replaced JSON.stringify could not forge a hostcall',
    );
    h.sandbox.dispose();
  });

  it('getters on returned objects run in the guest: a throwing getter is a typed handler error, the host sees data only', async () => {
    const h = await loadFixture(ESCAPE);
    await assert.rejects(h.sandbox.emit('getter_result', {}), (err: Error & { code?: string }) => {
      assert.match(err.message, /not plain data|getter ran on the host\?/);
      return true;
    });
    assert.equal(h.sandbox.stopped, undefined);
    h.sandbox.dispose();
  });

  it('a looping getter on a returned object hits the CPU deadline in the guest', async () => {
    const h = await loadFixture(ESCAPE, { limits: { cpuMsPerEntry: 100 } });
    await assert.rejects(h.sandbox.emit('looping_getter', {}), (err: Error & { code?: string }) => err.code === 'timeout');
    assert.equal(h.sandbox.stopped?.code, 'timeout');
  });

  it('a huge string through a hostcall is refused with quota_exceeded before dispatch', async () => {
    const h = await loadFixture(ESCAPE);
    const out = String(await ask(h, 'huge_hostcall'));
    assert.match(out, /^quota_exceeded:.*exceeds the sandbox limit/);
    assert.equal(
      h.recorder.entries.some((e) => e.method === 'pi.appendEntry' || e.method === 'pi.setSessionName'),
      false,
    );
    h.sandbox.dispose();
  });

  it('a huge result is refused with quota_exceeded and the sandbox keeps working', async () => {
    const h = await loadFixture(ESCAPE);
    await assert.rejects(h.sandbox.emit('huge_result', {}), (err: Error & { code?: string }) => err.code === 'quota_exceeded');
    assert.equal(h.sandbox.stopped, undefined);
    assert.deepEqual(await ask(h, 'bad_hostcall'), [
      'exec with an empty command: invalid_request',
      'tool with an empty name: invalid_request',
      'flag of an unknown type: invalid_request',
    ]);
    h.sandbox.dispose();
  });

  it('re-entering the sandbox while it serves a hostcall is refused; the hostcall fails typed and the sandbox survives', async () => {
    let reentry = '';
    const holder: { h?: Awaited<ReturnType<typeof loadFixture>> } = {};
    const h = await loadFixture(ESCAPE, {
      operations: {
        'pi.getSessionName': () => {
          try {
            void holder.h?.sandbox.emit('ping', {});
            // emit() is async: its synchronous part already hit the guard, so the promise is rejected
          } catch (err) {
            reentry = String(err);
          }
          return 'session';
        },
      },
    });
    holder.h = h;
    const rejected: Promise<unknown>[] = [];
    const original = h.sandbox.emit.bind(h.sandbox);
    h.sandbox.emit = (...args) => {
      const p = original(...args);
      rejected.push(p.catch((e: Error & { code?: string }) => `${e.code}: ${e.message}`));
      return p;
    };
    assert.equal(await ask(h, 'reenter'), 'session');
    assert.equal(reentry, '');
    const messages = (await Promise.all(rejected)).filter((m) => typeof m === 'string');
    assert.equal(messages.length, 1, 'exactly the re-entrant emit was refused');
    assert.match(String(messages[0]), /^invalid_request: re-entrant call into sandbox fixture/);
    assert.equal(h.sandbox.stopped, undefined);
    h.sandbox.dispose();
  });

  it('the guest cannot choose the extension id or the call id of its hostcalls', async () => {
    const h = await loadFixture(ESCAPE, { extensionId: 'bound-id' });
    await ask(h, 'after_tamper');
    assert.ok(h.recorder.entries.length > 0);
    for (const e of h.recorder.entries) {
      assert.equal(e.extension_id, 'bound-id');
      assert.match(e.call_id, /^bound-id:\d+$/);
    }
    h.sandbox.dispose();
  });
});
