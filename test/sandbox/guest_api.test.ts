/**
 * The guest API the bridge into real pi needs (issue 14 items 3 and 7): one handler at a time by id, with its edits
 * to the payload copied back; `pi.on` returning an unsubscribe; `ctx.signal`.
 * Everything runs in a real sandbox against a real dispatcher.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/index.ts';
import { loadSource } from './harness.ts';

/** Event-loop turns (not time): dispatching a fire-and-forget hostcall with no I/O completes within a few. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * An operation that records its params; `seen` resolves the first time it runs, or after enough event-loop turns that
 * a call which was never made shows as missing instead of hanging the test.
 */
function watch(result: unknown = null): { op: Operation; calls: Array<Readonly<Record<string, unknown>>>; seen: Promise<void> } {
  const calls: Array<Readonly<Record<string, unknown>>> = [];
  let resolve = () => undefined as void;
  const seen = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    calls,
    seen: Promise.race([seen, turns(50)]),
    op: (params) => {
      calls.push(params);
      resolve();
      return result;
    },
  };
}

describe('per-handler invocation', () => {
  it('pi.on gives each handler an increasing id in registration order, and the registration carries it', async () => {
    const h = await loadSource(`export default function (pi) {
        pi.on('tool_call', () => 'first');
        pi.on('session_start', () => 'start');
        pi.on('tool_call', () => 'second');
      }`);
    const events = h.host.registrationsOf('fixture').filter((r) => r.kind === 'event');
    assert.deepEqual(
      events.map((r) => [r.name, r.description.handlerId]),
      [
        ['tool_call', 1],
        ['session_start', 2],
        ['tool_call', 3],
      ],
    );
    const payload = { toolCallId: 't', toolName: 'bash', input: { command: 'ls' } };
    assert.deepEqual(await h.sandbox.emitHandler('tool_call', 3, payload), {
      ok: true,
      value: 'second',
      payload: { type: 'tool_call', ...payload },
    });
    assert.equal((await h.sandbox.emitHandler('tool_call', 1, payload)).ok && 'first', 'first');
    await assert.rejects(h.sandbox.emitHandler('tool_call', 2, payload), /handler 2 listens to session_start, not to tool_call/);
    h.sandbox.dispose();
  });

  it('emitHandler copies back an in-place edit of input and of nested fields', async () => {
    const h = await loadSource(`export default function (pi) {
        pi.on('tool_call', (event) => {
          event.input.command = 'echo ' + event.input.command;
          event.input.options.env.PATH = '/evil';
          event.input.options.list.push('added');
          delete event.input.drop;
        });
        pi.on('tool_call', (event) => ({ sawCommand: event.input.command }));
      }`);
    const input = { command: 'ls', drop: 1, options: { env: { PATH: '/usr/bin' }, list: ['a'] } };
    const first = await h.sandbox.emitHandler('tool_call', 1, { toolCallId: 't', toolName: 'bash', input });
    assert.equal(first.ok, true);
    assert.deepEqual(first.payload.input, { command: 'echo ls', options: { env: { PATH: '/evil' }, list: ['a', 'added'] } });
    assert.deepEqual(input.options.env, { PATH: '/usr/bin' }, "the caller's object is not touched: the copy is data");
    // the bridge hands the edited payload to the next handler, as pi hands the same object on
    const second = await h.sandbox.emitHandler('tool_call', 2, first.payload);
    assert.deepEqual(second.ok && second.value, { sawCommand: 'echo ls' });
    h.sandbox.dispose();
  });

  it('a throwing handler gives ok:false with its error and the payload as it left it', async () => {
    const h = await loadSource(`export default function (pi) {
        pi.on('input', (event) => { event.text = 'half-done'; throw new Error('gate failed'); });
        pi.on('input', () => { const a = {}; a.self = a; return a; });
      }`);
    const thrown = await h.sandbox.emitHandler('input', 1, { text: 'hello', source: 'interactive' });
    assert.deepEqual(thrown, {
      ok: false,
      error: { code: 'extension_error', message: 'Error: gate failed' },
      payload: { type: 'input', text: 'half-done', source: 'interactive' },
    });
    const cyclic = await h.sandbox.emitHandler('input', 2, { text: 'hello' });
    assert.equal(cyclic.ok, false);
    assert.match(cyclic.ok ? '' : cyclic.error.message, /not plain data/);
    assert.deepEqual(cyclic.payload, { type: 'input', text: 'hello' });
    h.sandbox.dispose();
  });

  it('the unsubscribe pi.on returns stops the handler and tells the host with pi.off, once', async () => {
    const off = watch();
    const h = await loadSource(
      `export default function (pi) {
        let runs = 0;
        const unsubscribe = pi.on('turn_start', () => { runs++; return runs; });
        pi.on('stop', () => { unsubscribe(); unsubscribe(); return typeof unsubscribe; });
        pi.on('count', () => runs);
      }`,
      { operations: { 'pi.off': off.op } },
    );
    assert.deepEqual((await h.sandbox.emitHandler('turn_start', 1, {})).ok && 'ran', 'ran');
    assert.deepEqual(await h.sandbox.emitHandler('stop', 2, {}), { ok: true, value: 'function', payload: { type: 'stop' } });
    await off.seen;
    assert.deepEqual(await h.sandbox.emitHandler('turn_start', 1, { turnIndex: 4 }), {
      ok: true,
      value: undefined,
      payload: { type: 'turn_start', turnIndex: 4 },
    });
    const [batch] = await h.sandbox.emit('turn_start', {});
    assert.deepEqual(batch?.results, [], 'emit no longer runs it either');
    const [count] = await h.sandbox.emit('count', {});
    assert.deepEqual(count?.results, [{ ok: true, value: 1 }]);
    assert.deepEqual(off.calls, [{ event: 'turn_start', handlerId: 1 }]);
    assert.deepEqual(
      h.recorder.entries.filter((e) => e.method === 'pi.off').map((e) => [e.capability, e.decision]),
      [['events', 'allow']],
    );
    h.sandbox.dispose();
  });
});

describe('ctx.signal', () => {
  const source = `export default function (pi) {
      const waitForAbort = (ctx) => new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => resolve('aborted:' + ctx.signal.aborted));
        ctx.ui.notify('waiting');
      });
      pi.on('agent_start', (_e, ctx) => (ctx.signal === undefined ? 'no signal' : waitForAbort(ctx)));
      pi.registerCommand('long', { handler: async (_args, ctx) => { await waitForAbort(ctx); ctx.ui.setStatus('long', 'stopped'); } });
    }`;

  it('is undefined without a host signal, as pi has none while idle', async () => {
    const h = await loadSource(source);
    assert.deepEqual(await h.sandbox.emitHandler('agent_start', 1, {}), { ok: true, value: 'no signal', payload: { type: 'agent_start' } });
    const [o] = await h.sandbox.emit('agent_start', {});
    assert.deepEqual(o?.results, [{ ok: true, value: 'no signal' }]);
    h.sandbox.dispose();
  });

  it('is a guest AbortSignal the host aborts, for a handler and for a command', async () => {
    const controller = new AbortController();
    const notify = watch();
    const status = watch();
    const h = await loadSource(source, {
      operations: {
        'ctx.ui.notify': (p, c) => {
          controller.abort();
          return notify.op(p, c);
        },
        'ctx.ui.setStatus': status.op,
      },
    });
    assert.deepEqual(await h.sandbox.emitHandler('agent_start', 1, {}, {}, controller.signal), {
      ok: true,
      value: 'aborted:true',
      payload: { type: 'agent_start' },
    });
    const second = new AbortController();
    const h2 = await loadSource(source, {
      operations: {
        'ctx.ui.notify': () => {
          second.abort();
          return null;
        },
        'ctx.ui.setStatus': status.op,
      },
    });
    assert.deepEqual(await h2.sandbox.runCommand('long', '', {}, second.signal), { ok: true, value: null });
    await status.seen;
    assert.deepEqual(status.calls[0]?.args, ['long', 'stopped']);
    h.sandbox.dispose();
    h2.sandbox.dispose();
  });
});
