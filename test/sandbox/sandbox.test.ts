import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleEntry } from '../../src/sandbox/index.ts';
import { locateExtensions } from '../../src/extensions/index.ts';

const entriesOf = (path: string) => locateExtensions(path).flatMap((e) => e.entries);
import { ask, createSandbox, EXAMPLES, fixture, loadFixture, loadSource } from './harness.ts';

const require = createRequire(import.meta.url);

const examples = EXAMPLES.earendil;

describe('loading', () => {
  it('a benign TypeScript extension registers its tool, command, flag, shortcut and events through dispatch', async () => {
    const h = await loadFixture('benign.ts');
    const regs = h.host.registrationsOf('fixture');
    const byKind = (k: string) => regs.filter((r) => r.kind === k).map((r) => r.name);
    assert.deepEqual(byKind('tool'), ['greet']);
    assert.deepEqual(byKind('command'), ['whoami']);
    assert.deepEqual(byKind('flag'), ['loud']);
    assert.deepEqual(byKind('shortcut'), ['ctrl+shift+g']);
    assert.deepEqual(byKind('event').sort(), ['legacy_ctx', 'probe_state', 'session_fork', 'session_start', 'session_switch', 'tool_call']);
    const tool = regs.find((r) => r.kind === 'tool');
    assert.deepEqual(tool?.description.parameters, {
      type: 'object',
      required: ['name', 'mood'],
      properties: {
        name: { type: 'string', description: 'who' },
        mood: { type: 'string', enum: ['happy', 'sad'] },
        times: { type: 'integer' },
      },
    });
    assert.deepEqual(tool?.description.functions, ['execute', 'renderCall']);
    const methods = new Set(h.recorder.entries.map((e) => e.method));
    for (const m of ['pi.registerTool', 'pi.registerCommand', 'pi.registerFlag', 'pi.registerShortcut', 'pi.on'])
      assert.ok(methods.has(m), m);
    assert.ok(h.recorder.entries.every((e) => e.extension_id === 'fixture'));
    h.sandbox.dispose();
  });

  it('a CommonJS extension whose module.exports is the factory loads', async () => {
    const h = await loadFixture('cjs-ext.cjs');
    const regs = h.host.registrationsOf('fixture');
    assert.deepEqual(
      regs.map((r) => r.name),
      ['cjs_tool'],
    );
    assert.equal(regs[0]?.description.description, 'cjs-ext.cjs', '__filename is the entry file');
    h.sandbox.dispose();
  });

  it('a folder with package.json pi.extensions, a .js specifier for a .ts file and a JSON import loads', async () => {
    assert.deepEqual(entriesOf(fixture('folder-ext')), [fixture('folder-ext/src/main.ts')]);
    const h = await loadFixture(fixture('folder-ext/src/main.ts'));
    assert.deepEqual(
      h.host.registrationsOf('fixture').map((r) => r.name),
      ['folder-json'],
    );
    h.sandbox.dispose();
  });

  it('package.json pi.extensions globs are expanded and !negations remove what they match', () => {
    assert.deepEqual(entriesOf(fixture('glob-package')), [
      fixture('glob-package/extensions/a/index.ts'),
      fixture('glob-package/single.ts'),
    ]);
  });

  it('an extension with its own npm dependency gets it bundled (pi example with-deps, installed in its own node_modules)', async () => {
    // Installed, the dependency is in the package's own node_modules; bundling reads nothing outside the package.
    const pkg = join(mkdtempSync(join(tmpdir(), 'pi-warden-with-deps-')), 'with-deps');
    cpSync(join(examples, 'with-deps'), pkg, { recursive: true, dereference: true });
    cpSync(dirname(require.resolve('ms/package.json')), join(pkg, 'node_modules', 'ms'), { recursive: true, dereference: true });
    const entries = entriesOf(pkg);
    const h = await loadFixture(entries[0]!);
    const tool = h.host.registrationsOf('fixture').find((r) => r.kind === 'tool');
    assert.equal(tool?.name, 'parse_duration');
    const out = await h.sandbox.runTool('parse_duration', 'c1', { duration: '2h' });
    assert.equal(out.ok, true);
    assert.match(JSON.stringify(out), /7200000|7,200,000/);
    h.sandbox.dispose();
  });

  it('a syntax error is a load error naming the file and line', async () => {
    await assert.rejects(bundleEntry(fixture('syntax-error.ts')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'invalid_request');
      assert.match(err.message, /syntax-error\.ts:\d+:\d+/);
      return true;
    });
  });

  it('a factory that throws, or a module without a factory, fails to load with the file and the cause', async () => {
    const h = await createSandbox();
    await assert.rejects(
      h.sandbox.load(await bundleEntry(fixture('throws-on-load.ts'))),
      /throws-on-load\.ts: the extension failed to load: Error: factory refuses to start/,
    );
    const h2 = await createSandbox();
    await assert.rejects(h2.sandbox.load(await bundleEntry(fixture('no-factory.ts'))), /no-factory\.ts: .*valid factory function/);
    h.sandbox.dispose();
    h2.sandbox.dispose();
  });

  it('bundles are cached by content hash and rebuilt when a file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-cache-'));
    const file = join(dir, 'ext.ts');
    writeFileSync(join(dir, 'package.json'), '{"name":"cached"}');
    copyFileSync(fixture('cjs-ext.cjs'), join(dir, 'dep.cjs'));
    writeFileSync(file, 'import f from "./dep.cjs"; export default f;');
    const first = await bundleEntry(file);
    const second = await bundleEntry(file);
    assert.equal(first.fromCache, false);
    assert.equal(second.fromCache, true);
    assert.equal(second.bundleHash, first.bundleHash);
    writeFileSync(join(dir, 'dep.cjs'), 'module.exports = function (pi) {};');
    const third = await bundleEntry(file);
    assert.equal(third.fromCache, false);
    assert.notEqual(third.bundleHash, first.bundleHash);
  });

  it('refuses an import from a sibling folder sharing the package name as prefix (containment is per component)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-inputs-'));
    mkdirSync(join(dir, 'ext'));
    mkdirSync(join(dir, 'ext-lib'));
    copyFileSync(fixture('cjs-ext.cjs'), join(dir, 'ext-lib', 'dep.cjs'));
    writeFileSync(join(dir, 'ext', 'ext.ts'), 'import f from "../ext-lib/dep.cjs"; export default f;');
    writeFileSync(join(dir, 'ext', 'package.json'), '{"name":"ext"}');
    await assert.rejects(bundleEntry(join(dir, 'ext', 'ext.ts')), (err: Error & { reasonCodes?: string[] }) => {
      assert.deepEqual(err.reasonCodes, ['bundle_failed', 'outside_package']);
      assert.match(err.message, /"\.\.\/ext-lib\/dep\.cjs" in .*ext\.ts/);
      return true;
    });
  });
});

describe('pi API shim', () => {
  it('a tool runs with its params and returns plain data, and its getFlag reads the flag default', async () => {
    const h = await loadFixture('benign.ts');
    const out = await h.sandbox.runTool('greet', 'call-1', { name: 'Ada', mood: 'happy' });
    assert.equal(out.ok, true);
    const value = (out as { value: { result: { content: Array<{ text: string }>; details: { hash: string; uuid: number } } } }).value;
    assert.equal(value.result.content[0]?.text, 'Hello, Ada.');
    assert.equal(value.result.details.hash, createHash('sha256').update('Hello, Ada.').digest('hex'));
    assert.equal(value.result.details.uuid, 36);
    h.sandbox.dispose();
  });

  it('session_start with reason new also fires session_switch, and with reason fork session_fork', async () => {
    const h = await loadFixture('benign.ts');
    const startup = await h.sandbox.emit('session_start', { reason: 'startup' });
    assert.deepEqual(
      startup.map((o) => o.event),
      ['session_start'],
    );
    const fresh = await h.sandbox.emit('session_start', { reason: 'new' });
    assert.deepEqual(
      fresh.map((o) => o.event),
      ['session_start', 'session_switch'],
    );
    const fork = await h.sandbox.emit('session_start', { reason: 'fork' });
    assert.deepEqual(
      fork.map((o) => o.event),
      ['session_start', 'session_fork'],
    );
    const state = (await ask(h, 'probe_state')) as { seen: string[]; firstLine: string };
    assert.deepEqual(state.seen, ['start:startup', 'start:new', 'switch', 'start:fork', 'fork']);
    assert.equal(state.firstLine, '/** Benign fixture: one of each registration, Node shims used the way real extensions use them. */');
    h.sandbox.dispose();
  });

  it('a tool_call handler can block, and its result reaches the host as data', async () => {
    const h = await loadFixture('benign.ts');
    const [o] = await h.sandbox.emit('tool_call', { toolCallId: 't', toolName: 'bash', input: { command: 'rm -rf /' } });
    assert.deepEqual(o?.results, [{ ok: true, value: { block: true, reason: 'no' } }]);
    assert.deepEqual(o?.input, { command: 'rm -rf /' });
    h.sandbox.dispose();
  });

  it('the old names ctx.hasQueuedMessages and ctx.modelRegistry.getApiKey are hostcalls under their own methods', async () => {
    const h = await loadFixture('benign.ts', { policy: 'safe' });
    const out = (await ask(h, 'legacy_ctx')) as { queued: boolean; key: string };
    assert.equal(out.queued, false);
    assert.match(out.key, /^denied:Capability 'env' denied/);
    const methods = h.recorder.entries.map((e) => [e.method, e.capability, e.decision]);
    assert.deepEqual(
      methods.filter(([m]) => m === 'ctx.hasPendingMessages'),
      [['ctx.hasPendingMessages', 'session', 'allow']],
    );
    assert.deepEqual(
      methods.filter(([m]) => m === 'ctx.modelRegistry.getApiKey'),
      [['ctx.modelRegistry.getApiKey', 'env', 'deny']],
    );
    h.sandbox.dispose();
  });

  it('commands and shortcuts run with a ctx whose ui calls are hostcalls; a ui denial does not break the handler', async () => {
    const h = await loadFixture('benign.ts', { policy: 'safe' });
    assert.deepEqual(await h.sandbox.runCommand('whoami', ''), { ok: true, value: null });
    assert.deepEqual(await h.sandbox.runShortcut('ctrl+shift+g'), { ok: true, value: null });
    const notify = h.recorder.entries.filter((e) => e.method === 'ctx.ui.notify');
    assert.equal(notify.length, 2);
    assert.ok(notify.every((e) => e.decision === 'deny' && e.capability === 'ui'));
    h.sandbox.dispose();
  });

  it('a wrapped built-in tool executes through the tool hostcall, whose capability follows the tool name (bash → exec)', async () => {
    const h = await loadSource(
      `import { createBashToolDefinition, createReadTool } from '@earendil-works/pi-coding-agent';
      export default function (pi) {
        const bash = createBashToolDefinition('/tmp');
        const read = createReadTool('/tmp');
        pi.on('run', async () => {
          const a = await bash.execute('c1', { command: 'id' }).then(() => 'ran', (e) => e.code);
          const b = await read.execute('c2', { path: 'README.md' }).then((r) => r.content[0].text, (e) => e.code);
          return [a, b];
        });
      }`,
      { policy: 'safe' },
    );
    assert.deepEqual(await ask(h, 'run'), ['denied', ''] /* the headless host's empty tool result: nothing naming the probe */);
    assert.deepEqual(
      h.recorder.entries.filter((e) => e.method === 'tool').map((e) => [e.capability, e.decision]),
      [
        ['exec', 'deny'],
        ['read', 'allow'],
      ],
    );
    h.sandbox.dispose();
  });

  it("a command's argument completions run in the guest and come back as data", async () => {
    const h = await loadSource(`export default function (pi) {
        pi.registerCommand('deploy', { getArgumentCompletions: (p) => ['prod', 'staging'].filter((x) => x.startsWith(p)).map((value) => ({ value, label: value })), handler: async () => undefined });
        pi.registerCommand('plain', { handler: async () => undefined });
      }`);
    assert.deepEqual(await h.sandbox.completeCommand('deploy', 'st'), { ok: true, value: [{ value: 'staging', label: 'staging' }] });
    assert.deepEqual(await h.sandbox.completeCommand('plain', ''), { ok: true, value: null });
    assert.equal(
      h.host
        .registrationsOf('fixture')
        .find((r) => r.name === 'deploy')
        ?.description.functions?.toString(),
      'getArgumentCompletions,handler',
    );
    h.sandbox.dispose();
  });

  it('aborting a running tool call fires the AbortSignal the tool got, inside the sandbox', async () => {
    const h = await loadSource(`export default function (pi) {
        pi.registerTool({ name: 'wait', label: 'wait', description: 'waits until aborted', parameters: {},
          execute: (_id, _p, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ content: [{ type: 'text', text: 'aborted' }], details: {} }))) });
      }`);
    const controller = new AbortController();
    const pending = h.sandbox.runTool('wait', 'c1', {}, {}, controller.signal);
    setTimeout(() => controller.abort(), 20);
    const out = await pending;
    assert.deepEqual(out, { ok: true, value: { result: { content: [{ type: 'text', text: 'aborted' }], details: {} }, updates: [] } });
    h.sandbox.dispose();
  });

  it('the pi.events bus: listeners register through dispatch, the host delivers, emit is a hostcall', async () => {
    const h = await loadSource(
      `export default function (pi) {
        const got = [];
        const off = pi.events.on('jobs', (data) => { got.push(data); });
        pi.on('emit', () => { pi.events.emit('jobs', { id: 7 }); off(); return got; });
      }`,
      { policy: 'safe' },
    );
    assert.equal((await h.sandbox.deliverBus('jobs', { id: 1 })).ok, true);
    assert.deepEqual(await ask(h, 'emit'), [{ id: 1 }]);
    assert.equal((await h.sandbox.deliverBus('jobs', { id: 2 })).ok, true);
    assert.deepEqual(await ask(h, 'emit'), [{ id: 1 }], 'the unsubscribed listener gets nothing more');
    assert.deepEqual(
      h.host
        .registrationsOf('fixture')
        .filter((r) => r.kind === 'busListener')
        .map((r) => r.name),
      ['jobs'],
    );
    assert.equal(h.recorder.entries.filter((e) => e.method === 'pi.events.emit' && e.decision === 'allow').length, 2);
    h.sandbox.dispose();
  });

  it('pi.exec is the exec hostcall, denied by the dangerous gate under the safe profile', async () => {
    const h = await loadSource(
      `export default function (pi) { pi.on('run', async () => pi.exec('git', ['status']).then(() => 'ran', (e) => e.code + ':' + e.message)); }`,
      { policy: 'safe' },
    );
    assert.match(String(await ask(h, 'run')), /^denied:Capability 'exec' denied/);
    const rec = h.recorder.entries.find((e) => e.method === 'exec');
    assert.equal(rec?.decision, 'deny');
    assert.equal(rec?.rule, 'deny_caps');
    h.sandbox.dispose();
  });
});

describe('idle memory', () => {
  it("the guest runtime's functions keep no source text in each instance's heap; the extension's own keep theirs", async () => {
    const h = await loadSource(`import { EventEmitter } from 'node:events';
      function mine() { return 'body of mine'; }
      export default function (pi) {
        pi.on('sources', () => ({ runtime: EventEmitter.prototype.on.toString(), own: mine.toString() }));
      }`);
    const sources = (await ask(h, 'sources')) as { runtime: string; own: string };
    assert.doesNotMatch(sources.runtime, /this\.|return|listener/, sources.runtime);
    assert.match(sources.own, /body of mine/);
    // Stripping is what took an idle instance's heap from about 458 KiB to about 342 KiB; the guest's crypto
    // (ADR 0037) adds about 340 KiB of compiled @noble code, AES and curves compiled but evaluated on first use.
    assert.ok(h.sandbox.memoryUsed() < 750 * 1024, `idle guest heap ${Math.round(h.sandbox.memoryUsed() / 1024)} KiB`);
    h.sandbox.dispose();
  });
});
