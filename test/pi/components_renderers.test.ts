/**
 * The tool renderer resolver proxy (pi 1.5.2+ `registerToolRenderer((toolName, next) => ...)`) and the markdown
 * transformer proxy (issue 23), for pi 1.6.0 and 1.5.2: a sandboxed extension registers them through the bridge into
 * a real pi session (SDK, faux provider); pi's own ExtensionRunner resolves and applies them, and pi's own
 * ToolExecutionComponent and AssistantMessageComponent draw with them. Benign ones draw what the extension asked;
 * hostile ones (a loop, a throw, a non-string or non-object answer, huge output, terminal control sequences) are
 * contained: pi falls back to its own rendering, a frame limit records a breach and the proxy stops calling a
 * function that went over one, and pi's components keep drawing.
 */
import assert from 'node:assert/strict';
import { copyFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { openStore } from '../../src/evidence/index.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import { stripTerminalControls } from '../../src/mediation/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import type { PiObject } from '../../src/pi/liveHost.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import { ExtensionComponents } from '../../src/pi/components/index.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { loadSource } from '../sandbox/harness.ts';
import { PI_VERSIONS, runSdkSession, scratchPi, type PiVersion } from './harness.ts';

type Fn = (...args: unknown[]) => unknown;
interface Drawable {
  render(width: number): string[];
}
interface ToolRenderers {
  readonly renderShell?: string;
  readonly renderCall?: Fn;
  readonly renderResult?: Fn;
}
interface Runner {
  resolveToolRenderers(toolName: string, base: () => ToolRenderers | undefined): ToolRenderers | undefined;
  getMarkdownTransformers(): Array<(markdown: string, context: Record<string, unknown>) => string>;
}
interface PiModule {
  initTheme(name?: string): void;
  ToolExecutionComponent: new (
    toolName: string,
    toolCallId: string,
    args: unknown,
    options: Record<string, unknown>,
    renderers: ToolRenderers | undefined,
    ui: unknown,
    cwd: string,
  ) => Drawable & { updateResult(result: unknown, isPartial?: boolean): void };
  AssistantMessageComponent: new (
    message: unknown,
    hide?: boolean,
    theme?: unknown,
    label?: string,
    pad?: number,
    transformers?: unknown,
  ) => Drawable;
}

/** The renderers and transformers under test; `mode` (set by the `mode` event) picks the behaviour. */
const RENDERING = `export default function (pi) {
  let mode = 'benign';
  pi.on('mode', (e) => { mode = e.mode; return mode; });
  pi.registerToolRenderer((toolName, next) => {
    if (mode === 'resolver-loop') for (;;) {}
    if (mode === 'resolver-throws') throw new Error('no renderers today');
    if (mode === 'resolver-string') return 'renderCall';
    if (toolName !== 'ls') return next();
    return {
      renderCall: (args, theme) => ({
        render: () => {
          if (mode === 'call-osc') return ['\\u001b]52;c;cHduZWQ=\\u0007\\u001b]0;PWNED\\u0007' + theme.fg('accent', 'listing ' + args.path) + '\\u001b[2J\\u001b[H'];
          if (mode === 'call-million') return Array.from({ length: 1000000 }, () => 'x');
          if (mode === 'call-loop') for (;;) {}
          return [theme.bold('sandboxed ls of ' + args.path)];
        },
        invalidate: () => {},
      }),
      renderResult: (result, options) => ({ render: () => ['sandboxed result: ' + result.content.map((c) => c.text).join(' ') + (options.expanded ? ' (expanded)' : '')], invalidate: () => {} }),
    };
  });
  pi.registerMarkdownTransformer((markdown, context) => {
    if (mode === 'md-loop') for (;;) {}
    if (mode === 'md-throws') throw new Error('bad markdown');
    if (mode === 'md-number') return 42;
    if (mode === 'md-object') return { markdown: 'no' };
    if (mode === 'md-huge') return 'y'.repeat(4 * 1024 * 1024);
    if (mode === 'md-lines') return 'z\\n'.repeat(100000);
    if (mode === 'md-osc') return markdown + ' \\u001b]52;c;cHduZWQ=\\u0007\\u001b]2;PWNED\\u0007\\u001b[31mred\\u001b[0m';
    return markdown.replace(/TODO/g, 'DONE') + ' [' + context.messageType + ']';
  }, { messageTypes: ['assistant'] });
}
`;

const bridges: BridgeSession[] = [];
after(async () => {
  for (const b of bridges) await b.close();
});

/** One real pi session with an extension (by default the one above) loaded through the bridge; pi's runner and components. */
async function rig(version: PiVersion, from?: string) {
  const scratch = scratchPi();
  const file = join(scratch.cwd, from === undefined ? 'rendering.ts' : basename(from));
  if (from === undefined) writeFileSync(file, RENDERING);
  else copyFileSync(from, file);
  const home = join(scratch.root, 'warden');
  const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  // The tests here overrun one frame on purpose, one after another in one sandbox: the per-window CPU budget (its own
  // tests are in components_frame_limits) is widened so that their sum on a loaded machine does not stop it.
  writeFileSync(join(scratch.agentDir, 'settings.json'), JSON.stringify({ extensionPolicy: { quota: { cpuMsPerWindow: 60_000 } } }));
  const policy = resolvePolicy({ env, cwd: scratch.cwd });
  assert.deepEqual(policy.errors, []);
  assert.equal(policy.quota.cpuMsPerWindow, 60_000);
  const bridge = await BridgeSession.open({ cwd: scratch.cwd, home, env, policy });
  bridges.push(bridge);
  const factories = locateExtensions(file).map((ext) => async (pi: PiObject) => void (await loadInto(bridge, pi, ext)));
  const run = await runSdkSession({ version, scratch, extensionFactories: factories, script: [{ say: 'ready' }], prompt: 'hi' });
  const runner = (run.session as unknown as { extensionRunner: Runner }).extensionRunner;
  const tools = run.session as unknown as { getToolDefinition(name: string): ToolRenderers | undefined };
  const pi = (await import(version.codingAgent)) as PiModule;
  pi.initTheme('dark');
  return { bridge, runner, tools, pi, id: realpathSync(file), home, cwd: scratch.cwd };
}

type Rig = Awaited<ReturnType<typeof rig>>;

async function mode(r: Rig, m: string): Promise<void> {
  const s = r.bridge.sandboxesOf(r.id)[0];
  assert.ok(s !== undefined, `the extension ${r.id} is loaded in a sandbox`);
  const [outcome] = await s.emit('mode', { mode: m });
  assert.equal(outcome?.results[0]?.value, m);
}

/** pi's own tool row for `ls`, drawn with what pi resolves for it: the extension's resolver first, then pi's base. */
function toolRow(r: Rig, base: ToolRenderers | undefined = undefined): Drawable & { updateResult(result: unknown): void } {
  const renderers = r.runner.resolveToolRenderers('ls', () => base);
  const ui = { requestRender: () => undefined };
  return new r.pi.ToolExecutionComponent('ls', 'call-1', { path: 'src' }, {}, renderers, ui, r.cwd);
}

/** pi's own assistant message with the registered transformers: its text as drawn, escapes removed. */
function assistant(r: Rig, text: string): string {
  const message = { role: 'assistant', content: [{ type: 'text', text }], stopReason: 'stop', timestamp: 0 };
  const c = new r.pi.AssistantMessageComponent(message, false, undefined, undefined, 1, r.runner.getMarkdownTransformers());
  return plain(c.render(100));
}

function plain(lines: string[]): string {
  return lines
    .map((l) => stripTerminalControls(l))
    .join('\n')
    .replace(/[ \t]+$/gm, '');
}

async function breaches(r: Rig): Promise<string[]> {
  await r.bridge.runtime.writer.flush();
  const db = openStore(r.home, { readOnly: true });
  try {
    const rows = db.prepare('SELECT resource FROM quota_breaches WHERE extension_id = ?').all(r.id) as { resource: string }[];
    return rows.map((x) => x.resource);
  } finally {
    db.close();
  }
}

for (const version of PI_VERSIONS.filter((v) => v.id !== '0.73.1')) {
  describe(`tool renderer resolvers and markdown transformers of a sandboxed extension in pi ${version.id}`, () => {
    let r: Rig;
    it('loads through the bridge into a real pi session', async () => {
      r = await rig(version);
      assert.deepEqual(r.bridge.failures, []);
    });

    it("pi's tool row draws the sandboxed renderCall and renderResult; other tools get next() (pi's own)", async () => {
      await mode(r, 'benign');
      const row = toolRow(r);
      assert.match(plain(row.render(80)), /sandboxed ls of src/);
      row.updateResult({ content: [{ type: 'text', text: 'a.ts b.ts' }], isError: false });
      assert.match(plain(row.render(80)), /sandboxed result: a\.ts b\.ts/);
      const own: ToolRenderers = { renderCall: () => ({ render: () => ['pi own read'], invalidate: () => undefined }) };
      assert.equal(
        r.runner.resolveToolRenderers('read', () => own),
        own,
        'next() reaches the renderers pi had',
      );
    });

    it('a renderCall that emits OSC 52, a title and cursor moves draws its text and colour only', async () => {
      await mode(r, 'call-osc');
      const lines = toolRow(r).render(80);
      const joined = lines.join('\n');
      assert.match(plain(lines), /listing src/);
      // eslint-disable-next-line no-control-regex -- the escapes pi got are what is checked
      assert.doesNotMatch(joined, /\]52;|cHduZWQ=|PWNED|\u001b\[2J|\u001b\[H/);
    });

    it('a renderCall that returns a million lines, or loops, is replaced by a one-line notice; the row still draws', async () => {
      await mode(r, 'call-million');
      assert.match(plain(toolRow(r).render(200)), /component over its (output|frame time) limit, replaced/);
      await mode(r, 'call-loop');
      assert.match(plain(toolRow(r).render(200)), /component over its frame time limit, replaced/);
      assert.equal(r.bridge.sandboxesOf(r.id)[0]?.stopped, undefined, 'the extension keeps running');
    });

    it("a resolver that throws or answers a non-object gives pi's own renderers; the extension keeps running", async () => {
      const own: ToolRenderers = { renderCall: () => ({ render: () => ['pi own ls'], invalidate: () => undefined }) };
      await mode(r, 'resolver-throws');
      assert.equal(
        r.runner.resolveToolRenderers('ls', () => own),
        own,
      );
      await mode(r, 'resolver-string');
      assert.equal(
        r.runner.resolveToolRenderers('ls', () => own),
        own,
      );
      assert.match(plain(toolRow(r, own).render(80)), /pi own ls/);
    });

    it("the markdown transformer rewrites pi's assistant message; a throw or a non-string keeps pi's markdown", async () => {
      await mode(r, 'benign');
      assert.match(assistant(r, 'TODO: ship it'), /DONE: ship it \[assistant\]/);
      for (const m of ['md-throws', 'md-number', 'md-object']) {
        await mode(r, m);
        const drawn = assistant(r, 'TODO: ship it');
        assert.match(drawn, /TODO: ship it/, `${m}: pi's markdown stands`);
        assert.doesNotMatch(drawn, /42|object Object|DONE/, `${m}: nothing of the answer is drawn`);
      }
    });

    it('a transformer that emits OSC 52, a title or SGR gives text only', async () => {
      await mode(r, 'md-osc');
      const c = new r.pi.AssistantMessageComponent(
        { role: 'assistant', content: [{ type: 'text', text: 'hello' }], stopReason: 'stop', timestamp: 0 },
        false,
        undefined,
        undefined,
        1,
        r.runner.getMarkdownTransformers(),
      );
      const joined = c.render(100).join('\n');
      assert.match(stripTerminalControls(joined), /hello .*red/);
      assert.doesNotMatch(joined, /\]52;|cHduZWQ=|PWNED/);
    });

    it("a transformer whose answer is over the frame cap (4 MiB) keeps pi's markdown with a breach, and is not called again", async () => {
      await mode(r, 'md-huge');
      const before = (await breaches(r)).length;
      const drawn = assistant(r, 'short answer');
      assert.match(drawn, /short answer/);
      assert.doesNotMatch(drawn, /yyyy/);
      assert.deepEqual((await breaches(r)).slice(before), ['frame_bytes']);
      await mode(r, 'benign');
      assert.doesNotMatch(assistant(r, 'TODO again'), /DONE/, 'the transformer that overran is no longer called');
      assert.equal((await breaches(r)).length, before + 1, 'no breach per message after the first');
    });

    it("a resolver that loops: pi's own renderers, one breach, and it is not called again; the extension keeps running", async () => {
      const own: ToolRenderers = { renderCall: () => ({ render: () => ['pi own ls'], invalidate: () => undefined }) };
      await mode(r, 'resolver-loop');
      const before = (await breaches(r)).length;
      assert.equal(
        r.runner.resolveToolRenderers('ls', () => own),
        own,
      );
      assert.deepEqual((await breaches(r)).slice(before), ['cpu_ms_per_frame']);
      await mode(r, 'benign');
      assert.equal(
        r.runner.resolveToolRenderers('ls', () => own),
        own,
        'the resolver that overran is no longer called',
      );
      assert.match(plain(toolRow(r, own).render(80)), /pi own ls/);
      assert.equal((await breaches(r)).length, before + 1, 'one breach, not one per tool row');
      assert.equal(r.bridge.sandboxesOf(r.id)[0]?.stopped, undefined);
    });
  });
}

for (const version of PI_VERSIONS) {
  describe(`a sandboxed tool's own renderCall and renderResult in pi ${version.id} (the shipped truncated-tool example)`, () => {
    it("pi's tool row draws the example's renderCall and renderResult from the sandbox, not pi's fallback", async () => {
      const example = fileURLToPath(new URL('../examples/extensions/truncated-tool.ts', version.codingAgent));
      const r = await rig(version, example);
      assert.deepEqual(r.bridge.failures, []);
      const def = r.tools.getToolDefinition('rg');
      assert.equal(typeof def?.renderCall, 'function', 'pi holds a renderCall for the sandboxed rg tool');
      const row = new r.pi.ToolExecutionComponent(
        'rg',
        'call-1',
        { pattern: 'TODO', path: 'src' },
        {},
        def,
        { requestRender: () => undefined },
        r.cwd,
      );
      assert.match(plain(row.render(100)), /rg "TODO" in src/);
      row.updateResult({ content: [{ type: 'text', text: 'a.ts:1: TODO' }], details: {}, isError: false }, true);
      assert.match(plain(row.render(100)), /Searching\.\.\./, "the example's renderResult for a partial result");
    });
  });
}

describe('the markdown transformer proxy against its frame limits (real sandbox, no pi)', () => {
  const TRANSFORMERS = `export default function (pi) {
    let mode = 'benign';
    pi.on('mode', (e) => { mode = e.mode; return mode; });
    pi.registerMarkdownTransformer((markdown) => {
      if (mode === 'loop') for (;;) {}
      if (mode === 'lines') return 'z\\n'.repeat(100000);
      return markdown + '!';
    });
  }`;

  async function transformer() {
    const seen: string[] = [];
    const told: string[] = [];
    const h = await loadSource(TRANSFORMERS, { breaches: { recordBreach: (b) => void seen.push(b.resource) } });
    const fn = h.host.registrationsOf('fixture').find((x) => x.kind === 'markdownTransformer')?.description.fn;
    assert.equal(typeof fn, 'number', 'the transformer is held in the sandbox');
    const transform = new ExtensionComponents('fixture', h.sandbox, (m) => told.push(m)).markdownTransformer(fn as number) as (
      md: string,
      ctx: unknown,
    ) => string;
    const mode = async (m: string) => assert.equal((await h.sandbox.emit('mode', { mode: m }))[0]?.results[0]?.value, m);
    return { h, seen, told, transform, mode };
  }

  it("one that loops is interrupted at the frame deadline: pi's markdown, one breach, never called again, the extension runs on", async () => {
    const t = await transformer();
    await t.mode('loop');
    assert.equal(t.transform('# title', { messageType: 'assistant' }), '# title');
    assert.deepEqual(t.seen, ['cpu_ms_per_frame']);
    await t.mode('benign');
    assert.equal(t.transform('# title', { messageType: 'assistant' }), '# title', 'not called again');
    assert.deepEqual(t.seen, ['cpu_ms_per_frame']);
    assert.match(t.told.join('\n'), /markdown transformer over its frame time limit, no longer used/);
    assert.equal(t.h.sandbox.stopped, undefined);
    t.h.sandbox.dispose();
  });

  it('more lines than frameLines is an output overrun; markdown longer than the caps may come back as long as it came', async () => {
    const t = await transformer();
    const long = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n');
    assert.ok(long.split('\n').length > 2000);
    assert.equal(t.transform(long, {}), `${long}!`, 'an honest transformer of a long message is not cut');
    await t.mode('lines');
    assert.equal(t.transform('short', {}), 'short');
    assert.deepEqual(t.seen, ['frame_lines']);
    assert.match(
      t.told.join('\n'),
      /markdown transformer over its output limit, no longer used: markdown transformer returned 100001 lines/,
    );
    t.h.sandbox.dispose();
  });
});
