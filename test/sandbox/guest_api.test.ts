/**
 * The guest API the bridge into real pi needs (issue 14 items 3 and 7): one handler at a time by id, with its edits
 * to the payload copied back; `pi.on` returning an unsubscribe; `ctx.signal`; and the pi 1.5.2+/1.6.0 members
 * (`registerToolRenderer(resolver)`, native `Provider` objects, session projections, `ctx.tools`/`executeTool`).
 * Everything runs in a real sandbox against a real dispatcher.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/index.ts';
import { GuestEngine, type EntryKind } from '../../src/sandbox/engine.ts';
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

  it('with keep, an object field the handler does not edit for pi crosses into the guest only when the handler reads it', async () => {
    const h = await loadSource(`export default function (pi) {
        let saved;
        pi.on('turn_end', (event) => {
          saved = event;
          return { keys: Object.keys(event), index: event.turnIndex };
        });
        pi.on('turn_end', (event) => {
          const first = event.context;
          first.seen = true;
          return { same: event.context === first && event.context.seen, messages: event.context.messages, text: JSON.stringify(event) };
        });
        pi.on('turn_end', () => saved.context);
        pi.on('turn_end', (event) => { event.context = 'replaced'; return event.context; });
      }`);
    let reads = 0;
    const payload = () => ({
      turnIndex: 2,
      context: {
        get messages() {
          reads++;
          return [{ role: 'user', content: 'hi' }];
        },
      },
      outcome: 'completed',
    });
    const untouched = await h.sandbox.emitHandler('turn_end', 1, payload(), {}, undefined, []);
    assert.deepEqual(untouched.ok && untouched.value, { keys: ['type', 'turnIndex', 'context', 'outcome'], index: 2 }, 'key order kept');
    assert.equal(reads, 0, 'a handler that never reads the field never gets it');
    const read = await h.sandbox.emitHandler('turn_end', 2, payload(), {}, undefined, []);
    assert.deepEqual(read.ok && read.value, {
      same: true,
      messages: [{ role: 'user', content: 'hi' }],
      text: '{"type":"turn_end","turnIndex":2,"context":{"messages":[{"role":"user","content":"hi"}],"seen":true},"outcome":"completed"}',
    });
    assert.equal(reads, 1, 'read once, then an ordinary object in the guest');
    const late = await h.sandbox.emitHandler('turn_end', 3, payload(), {}, undefined, []);
    assert.equal(late.ok, false);
    assert.match(late.ok ? '' : late.error.message, /"context" is only readable while its handler runs/);
    const assigned = await h.sandbox.emitHandler('turn_end', 4, payload(), {}, undefined, []);
    assert.equal(assigned.ok && assigned.value, 'replaced');
    assert.equal(reads, 1, 'assigning before reading fetches nothing');
    await h.sandbox.emitHandler('turn_end', 1, payload());
    assert.equal(reads, 2, 'without keep the whole payload crosses (and comes back)');
    h.sandbox.dispose();
  });

  it('with keep, text over 1 KB crosses only when the handler reads it; shorter text always does', async () => {
    let chars = 0;
    const h = await loadSource(
      `export default function (pi) {
        let kept;
        pi.on('before_agent_start', (e) => { kept = e; return e.prompt.length; });
        pi.on('before_agent_start', (e) => ({ systemPrompt: e.systemPrompt + '!' }));
        pi.on('before_agent_start', () => {
          try {
            return [kept.prompt, kept.systemPrompt];
          } catch (err) {
            return [kept.prompt, err.message];
          }
        });
      }`,
      { meter: (direction, what, n) => void (direction === 'in' ? (chars += n) : undefined) },
    );
    const systemPrompt = 'You are a careful coding agent. '.repeat(400);
    const payload = () => ({ prompt: 'fix the bug', systemPrompt });
    const run = async (id: number) => {
      chars = 0;
      const out = await h.sandbox.emitHandler('before_agent_start', id, payload(), {}, undefined, []);
      return out.ok ? out.value : out.error.message;
    };
    assert.equal(await run(1), 'fix the bug'.length);
    assert.ok(chars < systemPrompt.length / 4, `a handler that never reads the prompt is not sent it: ${chars} chars in`);
    assert.deepEqual(await run(2), { systemPrompt: `${systemPrompt}!` });
    assert.ok(chars > systemPrompt.length, `read, it crosses: ${chars} chars in`);
    const [prompt, late] = (await run(3)) as [string, string];
    assert.equal(prompt, 'fix the bug', 'short text crossed with the event, readable later');
    assert.match(late, /"systemPrompt" is only readable while its handler runs/);
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

describe('fire-and-forget calls', () => {
  it('ctx.ui.notify and setStatus are dispatched and recorded, a refusal included, without a second entry into the guest', async () => {
    const notify = watch();
    const h = await loadSource(
      `export default function (pi) {
        pi.on('agent_start', (_e, ctx) => {
          const a = ctx.ui.notify('hello', 'info');
          const b = ctx.ui.setStatus('key', 'busy');
          ctx.ui.setTitle('refused');
          return [a, b];
        });
      }`,
      {
        operations: {
          'ctx.ui.notify': notify.op,
          'ctx.ui.setStatus': () => null,
          'ctx.ui.setTitle': () => Promise.reject(new Error('no title')),
        },
      },
    );
    const kinds: string[] = [];
    const enter = GuestEngine.prototype.enter;
    GuestEngine.prototype.enter = function (this: GuestEngine, kind: EntryKind, payload: string, budgetMs: number, hangMs: number): string {
      kinds.push(kind);
      return enter.call(this, kind, payload, budgetMs, hangMs);
    };
    try {
      assert.deepEqual(await h.sandbox.emitHandler('agent_start', 1, {}), {
        ok: true,
        value: [null, null],
        payload: { type: 'agent_start' },
      });
      await notify.seen;
      await turns(10);
    } finally {
      GuestEngine.prototype.enter = enter;
    }
    assert.deepEqual(kinds, ['invoke'], 'no resume entry for the results of fire-and-forget calls');
    assert.deepEqual(notify.calls, [{ args: ['hello', 'info'] }]);
    assert.deepEqual(
      h.recorder.entries.filter((e) => e.method.startsWith('ctx.ui.')).map((e) => [e.method, e.decision]),
      [
        ['ctx.ui.notify', 'allow'],
        ['ctx.ui.setStatus', 'allow'],
        ['ctx.ui.setTitle', 'error'],
      ],
    );
    h.sandbox.dispose();
  });

  it('count against the cap on pending hostcalls while their operations run', async () => {
    const started: unknown[] = [];
    const h = await loadSource(
      `export default function (pi) {
        pi.on('agent_start', (_e, ctx) => { for (let i = 0; i < 5; i++) ctx.ui.notify('n' + i); });
      }`,
      { limits: { maxPendingHostcalls: 2 }, operations: { 'ctx.ui.notify': (p) => (started.push(p.args), new Promise(() => undefined)) } },
    );
    assert.equal((await h.sandbox.emitHandler('agent_start', 1, {})).ok, true);
    await turns(10);
    assert.deepEqual(started, [['n0'], ['n1']]);
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

describe('pi 1.5.2 / 1.6.0 members', () => {
  it('registerToolRenderer takes a resolver (1.5.2+) or the older (toolName, renderer); a markdown transformer keeps its options', async () => {
    const h = await loadSource(`export default function (pi) {
        pi.registerToolRenderer((toolName, next) => next());
        pi.registerToolRenderer('bash', { renderCall: () => null, renderShell: 'self' });
        pi.registerMarkdownTransformer((markdown) => markdown, { messageTypes: ['assistant'] });
      }`);
    assert.deepEqual(h.host.registrationsOf('fixture').find((r) => r.kind === 'markdownTransformer')?.description, {
      messageTypes: ['assistant'],
      functions: ['transform'],
      fn: 2,
    });
    const renderers = h.host.registrationsOf('fixture').filter((r) => r.kind === 'toolRenderer');
    assert.deepEqual(
      renderers.map((r) => [r.name, r.description]),
      [
        ['toolRenderer', { resolver: true, fn: 1, functions: ['resolver'] }],
        ['bash', { renderShell: 'self', functions: ['renderCall'], toolName: 'bash' }],
      ],
    );
    h.sandbox.dispose();
  });

  it('registerProvider takes a native Provider object (1.5.2+), described as data under its id', async () => {
    const h = await loadSource(`export default function (pi) {
        const provider = {
          id: 'faux', name: 'Faux AI', baseUrl: 'http://127.0.0.1:9',
          auth: { apiKey: { resolve: async () => ({ configured: true }) } },
          getModels: () => [{ id: 'faux-1', name: 'Faux 1', provider: 'faux' }],
          stream: () => { throw new Error('never called here'); },
          streamSimple: () => { throw new Error('never called here'); },
        };
        pi.registerProvider(provider);
        pi.registerProvider('proxy', { baseUrl: 'http://127.0.0.1:8' });
        pi.on('later', (_e, ctx) => { ctx.modelRegistry.registerProvider({ ...provider, id: 'late' }); });
        pi.on('bad', () => pi.registerProvider({ name: 'no id' }));
      }`);
    const provider = () => h.host.registrationsOf('fixture').filter((r) => r.kind === 'provider');
    assert.deepEqual(
      provider().map((r) => [r.name, r.description]),
      [
        [
          'faux',
          {
            baseUrl: 'http://127.0.0.1:9',
            auth: ['apiKey'],
            functions: ['getModels', 'stream', 'streamSimple'],
            native: true,
            name: 'faux',
            displayName: 'Faux AI',
            models: [{ id: 'faux-1', name: 'Faux 1', provider: 'faux' }],
          },
        ],
        ['proxy', { baseUrl: 'http://127.0.0.1:8', name: 'proxy' }],
      ],
    );
    const reg = watch();
    const h2 = await loadSource(
      `export default function (pi) {
        pi.on('later', (_e, ctx) => { ctx.modelRegistry.registerProvider({ id: 'late', name: 'Late', getModels: () => [] }); });
      }`,
      { operations: { 'ctx.modelRegistry.registerProvider': reg.op } },
    );
    await h2.sandbox.emit('later', {});
    await reg.seen;
    assert.equal(reg.calls[0]?.name, 'late');
    assert.equal(reg.calls[0]?.native, true);
    const h3 = await loadSource(`export default function (pi) {
        class ProxyProvider {
          constructor() { this.id = 'classy'; }
          get name() { return 'Classy'; }
          getModels() { return []; }
          streamSimple() { throw new Error('never called here'); }
        }
        pi.registerProvider(new ProxyProvider());
      }`);
    assert.deepEqual(h3.host.registrationsOf('fixture').find((r) => r.kind === 'provider')?.description, {
      functions: ['getModels', 'streamSimple'],
      native: true,
      name: 'classy',
      displayName: 'Classy',
      models: [],
    });
    h3.sandbox.dispose();
    const [bad] = await h.sandbox.emit('bad', {});
    assert.match(String(bad?.results[0]?.error?.message), /a provider object needs a non-empty string id, got undefined/);
    h.sandbox.dispose();
    h2.sandbox.dispose();
  });

  it('ctx.sessionManager has the 1.5.2+ projections buildContextEntries and buildSessionProjection', async () => {
    const h = await loadSource(
      `export default function (pi) {
        pi.on('read', (_e, ctx) => [ctx.sessionManager.buildContextEntries(), ctx.sessionManager.buildSessionProjection()]);
      }`,
      {
        operations: {
          'ctx.sessionManager.buildContextEntries': () => [{ type: 'message', id: 'e1' }],
          'ctx.sessionManager.buildSessionProjection': () => ({ entries: [], messages: [], thinkingLevel: 'off', model: null }),
        },
      },
    );
    const [o] = await h.sandbox.emit('read', {});
    assert.deepEqual(o?.results[0]?.value, [
      [{ type: 'message', id: 'e1' }],
      { entries: [], messages: [], thinkingLevel: 'off', model: null },
    ]);
    assert.deepEqual(
      h.recorder.entries.filter((e) => e.method.startsWith('ctx.sessionManager.build')).map((e) => [e.method, e.capability, e.decision]),
      [
        ['ctx.sessionManager.buildContextEntries', 'session', 'allow'],
        ['ctx.sessionManager.buildSessionProjection', 'session', 'allow'],
      ],
    );
    h.sandbox.dispose();
  });

  it("a tool's ctx.tools crosses when it changed, is parsed when read, and stays in step after a failed call", async () => {
    let chars = 0;
    const h = await loadSource(
      `export default function (pi) {
        pi.registerTool({ name: 'names', label: 'n', description: 'lists tools', parameters: {},
          async execute(_id, _p, _s, _u, ctx) { const t = ctx.tools; t.push({ name: 'mine' }); return { content: [], details: t.map((x) => x.name) }; } });
        pi.registerTool({ name: 'quiet', label: 'q', description: 'reads nothing', parameters: {},
          async execute() { return { content: [], details: {} }; } });
      }`,
      { meter: (direction, what, n) => void (direction === 'in' && what === 'tool' ? (chars += n) : undefined) },
    );
    const tool = (name: string, description: string) => ({ name, label: name, description: description.padEnd(4000, '.'), parameters: {} });
    const first = [tool('read', 'Read a file'), tool('bash', 'Run a command')];
    const names = async (tools: unknown[]) => {
      const out = await h.sandbox.runTool('names', 'c', {}, { tools });
      return out.ok ? (out.value as { result: { details: unknown } }).result.details : out.error.message;
    };
    assert.deepEqual(await names(first), ['read', 'bash', 'mine']);
    chars = 0;
    assert.deepEqual(await names(structuredClone(first)), ['read', 'bash', 'mine'], "the guest's edit of one ctx is not the next one's");
    assert.ok(chars < 1000, `an unchanged list is not sent again: expected under 1000 chars in, found ${chars}`);
    const second = [tool('grep', 'Search files')];
    const failed = await h.sandbox.runTool('no-such-tool', 'c', {}, { tools: second });
    assert.equal(failed.ok, false);
    assert.deepEqual(await names(second), ['grep', 'mine'], 'a changed list is seen, even after a call that failed');
    assert.equal((await h.sandbox.runTool('quiet', 'c', {}, { tools: second })).ok, true);
    assert.deepEqual(await names([]), ['mine']);
    h.sandbox.dispose();
  });

  it('a ctx.tools list given again is known by identity only when frozen: a list changed in place still crosses', async () => {
    let chars = 0;
    const h = await loadSource(
      `export default function (pi) {
        pi.registerTool({ name: 'names', label: 'n', description: 'lists tools', parameters: {},
          async execute(_id, _p, _s, _u, ctx) { return { content: [], details: ctx.tools.map((x) => x.description) }; } });
      }`,
      { meter: (direction, what, n) => void (direction === 'in' && what === 'tool' ? (chars += n) : undefined) },
    );
    const descriptions = async (tools: readonly unknown[]) => {
      const out = await h.sandbox.runTool('names', 'c', {}, { tools });
      return out.ok ? (out.value as { result: { details: unknown } }).result.details : out.error.message;
    };
    const mutable = [{ name: 'read', description: 'Read a file' }];
    assert.deepEqual(await descriptions(mutable), ['Read a file']);
    (mutable[0] as { description: string }).description = 'Read any file';
    assert.deepEqual(await descriptions(mutable), ['Read any file'], 'the same array, changed in place');
    mutable.push({ name: 'bash', description: 'Run a command' });
    assert.deepEqual(await descriptions(mutable), ['Read any file', 'Run a command'], 'the same array, grown');
    const shallow = Object.freeze([{ name: 'read', description: 'Read a file' }]);
    assert.deepEqual(await descriptions(shallow), ['Read a file']);
    (shallow[0] as { description: string }).description = 'Read any file';
    assert.deepEqual(await descriptions(shallow), ['Read any file'], 'a frozen array of objects that are not');
    const frozen = Object.freeze([Object.freeze({ name: 'grep', description: 'Search files'.padEnd(4000, '.') })]);
    assert.equal(((await descriptions(frozen)) as string[])[0]?.length, 4000);
    chars = 0;
    assert.equal(((await descriptions(frozen)) as string[])[0]?.length, 4000);
    assert.ok(chars < 1000, `a deeply frozen list given again is not sent again: expected under 1000 chars in, found ${chars}`);
    h.sandbox.dispose();
  });

  it("a tool's ctx has tools and executeTool (1.5.2+): a nested call is the tool hostcall, and a denial resolves isError", async () => {
    const h = await loadSource(
      `export default function (pi) {
        pi.registerTool({ name: 'orchestrate', label: 'o', description: 'calls other tools', parameters: {},
          async execute(id, _params, _signal, _onUpdate, ctx) {
            const read = await ctx.executeTool('read', { path: 'README.md' });
            const bash = await ctx.executeTool('bash', { command: 'id' });
            const bad = await ctx.executeTool('read', 'README.md');
            return { content: [], details: { tools: ctx.tools.map((t) => t.name), read, bash, bad } };
          } });
      }`,
      { policy: 'safe' },
    );
    const tools = [{ name: 'read', label: 'read', description: 'Read a file', parameters: {} }];
    const out = await h.sandbox.runTool('orchestrate', 'call-7', {}, { tools });
    assert.equal(out.ok, true);
    const details = (out.ok ? (out.value as { result: { details: Record<string, unknown> } }).result.details : {}) as Record<
      string,
      { toolCall: { id: string }; isError: boolean; result: { content: Array<{ text: string }> } }
    > & { tools: string[] };
    assert.deepEqual(details.tools, ['read']);
    assert.deepEqual([details.read?.toolCall.id, details.read?.isError], ['call-7/0', false]);
    assert.deepEqual([details.bash?.toolCall.id, details.bash?.isError], ['call-7/1', true]);
    assert.match(String(details.bash?.result.content[0]?.text), /Capability 'exec' denied/);
    assert.match(String(details.bad?.result.content[0]?.text), /arguments of read must be an object, got string/);
    assert.deepEqual(
      h.recorder.entries.filter((e) => e.method === 'tool').map((e) => [e.capability, e.decision]),
      [
        ['read', 'allow'],
        ['exec', 'deny'],
      ],
    );
    h.sandbox.dispose();
  });

  it('an extension written the 0.73.1 way still loads and runs: on() used as a statement, (name, config) providers', async () => {
    const h = await loadSource(`import { Type } from '@sinclair/typebox';
      export default function (pi) {
        pi.on('session_start', async (_event, ctx) => { ctx.ui.notify('hello'); });
        pi.on('tool_call', async (event) => (event.toolName === 'bash' ? { block: true, reason: 'no' } : undefined));
        pi.registerProvider('my-proxy', { baseUrl: 'http://127.0.0.1:7', apiKey: 'MY_KEY', api: 'openai-completions', models: [] });
        pi.registerTool({ name: 'echo', label: 'Echo', description: 'echo', parameters: Type.Object({ text: Type.String() }),
          async execute(_id, params, _signal, _onUpdate, ctx) { return { content: [{ type: 'text', text: params.text + ':' + typeof ctx.signal }], details: {} }; } });
      }`);
    const [o] = await h.sandbox.emit('tool_call', { toolCallId: 't', toolName: 'bash', input: {} });
    assert.deepEqual(o?.results, [{ ok: true, value: { block: true, reason: 'no' } }]);
    const out = await h.sandbox.runTool('echo', 'c', { text: 'hi' });
    assert.deepEqual(out.ok && (out.value as { result: unknown }).result, { content: [{ type: 'text', text: 'hi:object' }], details: {} });
    assert.deepEqual(
      h.host
        .registrationsOf('fixture')
        .map((r) => [r.kind, r.name])
        .sort(),
      [
        ['event', 'session_start'],
        ['event', 'tool_call'],
        ['provider', 'my-proxy'],
        ['tool', 'echo'],
      ],
    );
    h.sandbox.dispose();
  });
});
