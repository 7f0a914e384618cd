/**
 * One handler entry's fixed cost (issue 18 item 3): a handler's value is settled without async wrappers (one promise
 * job for a value, none for a throw), and the ctx data crosses only when it changed. What the handler sees and what
 * comes back stay as before: its value, its error, a promise's outcome, an edit made before pi's `await` would read
 * the event, a fresh ctx per call that follows every change. On a real sandbox.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSource } from './harness.ts';

/** A sandbox that keeps the promise jobs and the characters sent in of each handler entry, the last one first. */
async function counted(source: string) {
  const jobs: number[] = [];
  const sent: number[] = [];
  const h = await loadSource(source, {
    jobs: (what, n) => {
      if (what === 'handler' || what === 'tool') jobs.unshift(n);
    },
    meter: (direction, what, chars) => {
      if (direction === 'in' && (what === 'handler' || what === 'tool')) sent.unshift(chars);
    },
  });
  return { ...h, jobs, sent };
}

describe('a handler entry', () => {
  it('settles a plain value in one promise job and a throw in none (the async wrappers took five or six)', async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_start', (e) => ({ seen: e.turnIndex }));
      pi.on('turn_end', () => { throw new Error('refused'); });
    }`);
    assert.deepEqual(await h.sandbox.emitHandler('turn_start', 1, { turnIndex: 3 }, {}, undefined, []), {
      ok: true,
      value: { seen: 3 },
      payload: { type: 'turn_start', turnIndex: 3 },
    });
    assert.equal(h.jobs[0], 1);
    const failed = await h.sandbox.emitHandler('turn_end', 2, { turnIndex: 3 }, {}, undefined, []);
    assert.deepEqual(failed.ok ? 'ok' : failed.error, { code: 'extension_error', message: 'Error: refused' });
    assert.equal(h.jobs[0], 0);
  });

  it("settles a tool's result in one promise job, with its updates; a throw or a rejection is the tool's failure", async () => {
    const h = await counted(`export default function (pi) {
      const tool = (name, execute) => pi.registerTool({ name, label: name, description: name, parameters: { type: 'object' }, execute });
      tool('echo', (_id, params, _signal, onUpdate) => {
        onUpdate({ content: [{ type: 'text', text: 'working' }] });
        return Promise.resolve({ content: [{ type: 'text', text: params.text }], details: {} });
      });
      tool('plain', () => ({ content: [], details: { sync: true } }));
      tool('throws', () => { throw new Error('broken'); });
      tool('rejects', async () => { throw new RangeError('later'); });
    }`);
    const echo = await h.sandbox.runTool('echo', 'c1', { text: 'hi' });
    assert.deepEqual(echo, {
      ok: true,
      value: {
        result: { content: [{ type: 'text', text: 'hi' }], details: {} },
        updates: [{ content: [{ type: 'text', text: 'working' }] }],
      },
    });
    assert.equal(h.jobs[0], 1);
    assert.deepEqual(await h.sandbox.runTool('plain', 'c2', {}), {
      ok: true,
      value: { result: { content: [], details: { sync: true } }, updates: [] },
    });
    assert.deepEqual(await h.sandbox.runTool('throws', 'c3', {}), {
      ok: false,
      error: { code: 'extension_error', message: 'Error: broken' },
    });
    assert.equal(h.jobs[0], 0);
    assert.deepEqual(await h.sandbox.runTool('rejects', 'c4', {}), {
      ok: false,
      error: { code: 'extension_error', message: 'RangeError: later' },
    });
    assert.deepEqual(await h.sandbox.runTool('missing', 'c5', {}), {
      ok: false,
      error: { code: 'extension_error', message: 'Error: no tool missing is registered' },
    });
  });

  it("takes a promise's value or rejection once it settles, also from a later entry (a timer)", async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_start', async (e) => ({ later: e.turnIndex + 1 }));
      pi.on('turn_end', () => Promise.reject(new TypeError('late')));
      pi.on('agent_end', () => new Promise((resolve) => setTimeout(() => resolve('after a timer'), 5)));
      pi.on('agent_start', () => ({ then: (ok) => ok('a thenable') }));
    }`);
    const value = async (event: string, id: number) => {
      const r = await h.sandbox.emitHandler(event, id, { turnIndex: 1 }, {}, undefined, []);
      return r.ok ? r.value : r.error;
    };
    assert.deepEqual(await value('turn_start', 1), { later: 2 });
    assert.deepEqual(await value('turn_end', 2), { code: 'extension_error', message: 'TypeError: late' });
    assert.equal(await value('agent_end', 3), 'after a timer');
    assert.equal(await value('agent_start', 4), 'a thenable');
  });

  it("sees an edit queued before a synchronous handler returned, as pi's await does", async () => {
    const h = await counted(`export default function (pi) {
      pi.on('tool_call', (e) => { Promise.resolve().then(() => { e.input.command = 'ls'; }); });
    }`);
    const r = await h.sandbox.emitHandler('tool_call', 1, { toolName: 'bash', input: { command: 'rm -rf /' } }, {}, undefined, ['input']);
    assert.deepEqual(r.payload.input, { command: 'ls' });
  });

  it('settles even when the extension replaced Promise.resolve and Promise.prototype.then', async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_end', () => {
        Promise.resolve = () => { throw new Error('replaced'); };
        Promise.prototype.then = function () { throw new Error('replaced'); };
        return 'replaced them';
      });
      pi.on('turn_start', async () => 'plain');
    }`);
    for (const [event, id, value] of [
      ['turn_end', 1, 'replaced them'],
      ['turn_start', 2, 'plain'],
    ] as const) {
      const r = await h.sandbox.emitHandler(event, id, {}, {}, undefined, []);
      assert.deepEqual(r.ok ? r.value : r.error, value);
    }
  });

  it("sends the ctx data only when it changed; every call still gets its own ctx, with the host's latest data", async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_start', (_e, ctx) => {
        const seen = { cwd: ctx.cwd.slice(0, 4), length: ctx.cwd.length, model: ctx.model.id, trusted: ctx.isProjectTrusted() };
        ctx.model.id = 'edited by the handler';
        ctx.cwd = 'edited too';
        return seen;
      });
    }`);
    const ctx = (cwd: string, model = 'm1', projectTrusted = true) => ({ cwd, model: { provider: 'p', id: model }, projectTrusted });
    const long = `/one${'/x'.repeat(2000)}`;
    const seen = async (c: ReturnType<typeof ctx>) => {
      const r = await h.sandbox.emitHandler('turn_start', 1, {}, c, undefined, []);
      return r.ok ? r.value : r.error;
    };
    assert.deepEqual(await seen(ctx(long)), { cwd: '/one', length: long.length, model: 'm1', trusted: true });
    assert.ok(h.sent[0]! > long.length, 'the first call carries the ctx');
    assert.deepEqual(await seen(ctx(long)), { cwd: '/one', length: long.length, model: 'm1', trusted: true });
    assert.ok(h.sent[0]! < 1000, `expected the same ctx not to cross again, found ${h.sent[0]} characters sent`);
    assert.deepEqual(await seen(ctx(long, 'm2')), { cwd: '/one', length: long.length, model: 'm2', trusted: true });
    assert.deepEqual(await seen(ctx('/two', 'm2', false)), { cwd: '/two', length: 4, model: 'm2', trusted: false });
    assert.deepEqual(await seen(ctx('/two', 'm2', false)), { cwd: '/two', length: 4, model: 'm2', trusted: false });
  });

  it('sends the whole ctx again after an entry that failed', async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_start', (_e, ctx) => ctx.cwd);
      pi.on('turn_end', () => { const cycle = {}; cycle.self = cycle; return cycle; });
    }`);
    const cwd = `/held${'/x'.repeat(2000)}`;
    await h.sandbox.emitHandler('turn_start', 1, {}, { cwd }, undefined, []);
    const failed = await h.sandbox.emitHandler('turn_end', 2, {}, { cwd }, undefined, []);
    assert.equal(failed.ok, false);
    assert.ok(h.sent[0]! < 1000, 'the failed entry had the ctx held');
    const r = await h.sandbox.emitHandler('turn_start', 1, {}, { cwd }, undefined, []);
    assert.equal(r.ok ? r.value : r.error, cwd);
    assert.ok(h.sent[0]! > cwd.length, `expected the ctx to cross again after the failure, found ${h.sent[0]} characters sent`);
  });

  it("a tool entry holds the same ctx data as a handler's: sent only when it changed, whole again after a failed call", async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_start', (_e, ctx) => ({ cwd: ctx.cwd.length, model: ctx.model.id }));
      pi.registerTool({ name: 'look', label: 'Look', description: 'x', parameters: { type: 'object' },
        async execute(_id, params, _s, _u, ctx) {
          if (params.fail) throw new Error('asked to fail');
          const seen = { cwd: ctx.cwd.length, model: ctx.model.id, tools: ctx.tools.map((t) => t.name) };
          ctx.model.id = 'edited by the tool';
          return { content: [], details: seen };
        } });
    }`);
    const cwd = `/held${'/x'.repeat(2000)}`;
    const ctx = (model: string) => ({ cwd, model: { provider: 'p', id: model } });
    const tools = [{ name: 'read', description: 'r', parameters: {} }];
    const tool = async (c: ReturnType<typeof ctx>, params: Record<string, unknown> = {}) => {
      const r = await h.sandbox.runTool('look', 'call-1', params, { ...c, tools });
      return r.ok ? (r.value as { result: { details: unknown } }).result.details : r.error.message;
    };
    const handler = async (c: ReturnType<typeof ctx>) => {
      const r = await h.sandbox.emitHandler('turn_start', 1, {}, c, undefined, []);
      return r.ok ? r.value : r.error;
    };
    assert.deepEqual(await handler(ctx('m1')), { cwd: cwd.length, model: 'm1' });
    assert.ok(h.sent[0]! > cwd.length, 'the first call carries the ctx');
    assert.deepEqual(await tool(ctx('m1')), { cwd: cwd.length, model: 'm1', tools: ['read'] });
    assert.ok(h.sent[0]! < 1000, `expected the tool entry to find the handler's ctx held, found ${h.sent[0]} characters sent`);
    assert.deepEqual(await handler(ctx('m1')), { cwd: cwd.length, model: 'm1' }, "the tool's edit of its ctx stays in its ctx");
    assert.ok(h.sent[0]! < 1000);
    assert.deepEqual(await tool(ctx('m2')), { cwd: cwd.length, model: 'm2', tools: ['read'] }, "the host's latest data");
    assert.ok(h.sent[0]! > cwd.length, 'a changed ctx crosses');
    assert.match(String(await tool(ctx('m2'), { fail: true })), /asked to fail/);
    assert.ok(h.sent[0]! < 1000, 'the failed call had the ctx held');
    assert.deepEqual(await tool(ctx('m2')), { cwd: cwd.length, model: 'm2', tools: ['read'] });
    assert.ok(h.sent[0]! > cwd.length, `expected the ctx to cross again after the failure, found ${h.sent[0]} characters sent`);
  });

  it('an entry that never reached the guest leaves nothing held: a later call, in the same tick or after, sends the ctx', async () => {
    const h = await counted(`export default function (pi) {
      pi.on('turn_start', (_e, ctx) => ctx.model.id);
      pi.registerTool({ name: 'look', label: 'Look', description: 'x', parameters: { type: 'object' },
        async execute(_id, _p, _s, _u, ctx) { return { content: [], details: ctx.model.id }; } });
    }`);
    const ctx = (m: string) => ({ cwd: '/w', model: { provider: 'p', id: m } });
    const handler = async (m: string) => {
      const r = await h.sandbox.emitHandler('turn_start', 1, {}, ctx(m), undefined, []);
      return r.ok ? r.value : r.error;
    };
    const tool = async (m: string, params: Record<string, unknown> = {}, tools: unknown[] = [{ name: 'read' }]) => {
      const r = await h.sandbox.runTool('look', 'c', params, { ...ctx(m), tools });
      return r.ok ? (r.value as { result: { details: unknown } }).result.details : r.error.message;
    };
    assert.equal(await handler('m1'), 'm1');
    // A tool list that cannot be serialized fails the call before anything is noted as held.
    await assert.rejects(tool('m2', {}, [{ name: 'x', n: 1n }]));
    assert.equal(await handler('m2'), 'm2');
    // Params that cannot be serialized fail the call on the host; a call started in the same tick still gets its ctx.
    assert.equal(await handler('m3'), 'm3');
    const [failed, same] = await Promise.allSettled([tool('m4', { n: 1n }), tool('m4')]);
    assert.equal(failed.status, 'rejected');
    assert.deepEqual(same, { status: 'fulfilled', value: 'm4' });
    assert.equal(await handler('m4'), 'm4');
  });
});
