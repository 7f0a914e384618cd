/**
 * The shipped pi examples whose UI was inert in the sandbox now draw (issue 23, compat): each is loaded through the
 * bridge into a pi-shaped recording API, its command or event is run with a ctx whose `ui` hands the factories it
 * gets a TUI and a theme as pi does, and the component pi would draw renders its own text, styling only.
 * (The same examples in the real TUI, under tmux: tui_components.test.ts.)
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { locateExtensions } from '../../src/extensions/index.ts';
import { stripTerminalControls } from '../../src/mediation/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import { resolvePolicy } from '../../src/policy/index.ts';

const EXAMPLES = fileURLToPath(new URL('../../node_modules/@earendil-works/pi-coding-agent/examples/extensions/', import.meta.url));

type Fn = (...a: unknown[]) => unknown;
interface Drawn {
  render(width: number): string[];
  handleInput?(data: string): void;
  dispose?(): void;
}

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** One shipped example loaded through the bridge, with `ui` and `session` granted; what it registers, recorded. */
async function loadExample(file: string) {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-tui-example-'));
  roots.push(root);
  copyFileSync(join(EXAMPLES, file), join(root, file));
  mkdirSync(join(root, 'agent'), { recursive: true });
  writeFileSync(
    join(root, 'agent', 'settings.json'),
    JSON.stringify({ extensionPolicy: { overrides: { [join(realpathSync(root), file)]: { allow: ['ui', 'session'] } } } }),
  );
  const env = { HOME: root, PI_CODING_AGENT_DIR: join(root, 'agent'), PATH: '/usr/bin:/bin' };
  const session = await BridgeSession.open({ cwd: root, home: join(root, 'warden'), env, policy: resolvePolicy({ env, cwd: root }) });
  after(() => session.close());
  const handlers: Array<{ event: string; handler: Fn }> = [];
  const commands = new Map<string, { handler: Fn }>();
  const renderers = new Map<string, Fn>();
  const api = {
    on: (event: string, handler: Fn) => void handlers.push({ event, handler }),
    registerCommand: (name: string, o: { handler: Fn }) => void commands.set(name, o),
    registerMessageRenderer: (type: string, r: Fn) => void renderers.set(type, r),
    registerTool: () => undefined,
    registerFlag: () => undefined,
    registerShortcut: () => undefined,
    appendEntry: () => undefined,
    events: { on: () => undefined, emit: () => undefined },
  };
  const notices = [];
  for (const ext of locateExtensions(join(root, file))) notices.push(...(await loadInto(session, api, ext)));
  // What pi's ui does with a component factory: call it with its TUI and theme, keep what it returns.
  const drawn: Drawn[] = [];
  const tui = { requestRender: () => undefined, terminal: { rows: 40, columns: 100 } };
  const theme = {
    fgAnsi: new Map([['accent', '\u001b[36m']]),
    getFgAnsi: () => '\u001b[36m',
    getBgAnsi: () => '\u001b[40m',
    bgAnsi: new Map([['customMessageBg', '\u001b[40m']]),
  };
  const ctx = {
    cwd: root,
    hasUI: true,
    mode: 'tui',
    model: { provider: 'faux', id: 'faux-1' },
    sessionManager: { getEntries: () => [], getBranch: () => [] },
    ui: {
      notify: () => undefined,
      setStatus: () => undefined,
      setWidget: () => undefined,
      custom: (factory: Fn) =>
        new Promise((resolve) => {
          drawn.push(factory(tui, theme, {}, resolve) as Drawn);
        }),
      setHeader: (factory: Fn | undefined) => factory !== undefined && drawn.push(factory(tui, theme) as Drawn),
      setFooter: (factory: Fn | undefined) =>
        factory !== undefined &&
        drawn.push(factory(tui, theme, { getGitBranch: () => null, getExtensionStatuses: () => new Map() }) as Drawn),
    },
  };
  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setImmediate(r));
  };
  return { commands, handlers, renderers, drawn, ctx, settle, notices };
}

/** The text of a render, every escape removed; asserts that no escape but SGR styling reached pi. */
function text(lines: string[]): string {
  for (const l of lines) assert.equal(stripTerminalControls(l, 'styling'), l, `only styling escapes in ${JSON.stringify(l)}`);
  return lines.map((l) => stripTerminalControls(l)).join('\n');
}

describe('shipped examples that were inert now draw from the sandbox', () => {
  for (const [file, command, expected] of [
    ['snake.ts', 'snake', /SNAKE/],
    ['space-invaders.ts', 'invaders', /INVADERS/i],
    ['tic-tac-toe.ts', 'tic-tac-toe', /[XO│|]/],
    ['custom-footer.ts', 'footer', /faux-1/],
  ] as const) {
    it(`${file}: /${command} draws its component`, async () => {
      const x = await loadExample(file);
      const run = x.commands.get(command);
      assert.ok(run !== undefined, `expected /${command} to be registered, notices: ${JSON.stringify(x.notices)}`);
      // the game ends when the session closes (after the test), which rejects its command: not this test's concern
      (run.handler('', x.ctx) as Promise<unknown>).catch(() => undefined);
      await x.settle(() => x.drawn.length > 0);
      const shown = text(x.drawn[0]!.render(100));
      assert.match(shown, expected);
      x.drawn[0]!.handleInput?.('q');
      x.drawn[0]!.dispose?.();
    });
  }

  it('custom-header.ts: its session_start header draws', async () => {
    const x = await loadExample('custom-header.ts');
    for (const h of x.handlers.filter((e) => e.event === 'session_start'))
      await h.handler({ type: 'session_start', reason: 'startup' }, x.ctx);
    await x.settle(() => x.drawn.length > 0);
    assert.ok(text(x.drawn[0]!.render(100)).trim().length > 0);
  });

  it('message-renderer.ts: a status-update message draws with its level', async () => {
    const x = await loadExample('message-renderer.ts');
    const render = x.renderers.get('status-update')!;
    const c = render(
      { role: 'custom', customType: 'status-update', content: 'disk full', details: { level: 'error' } },
      { expanded: false, outputPad: 1 },
      {},
    ) as Drawn;
    assert.match(text(c.render(60)), /\[ERROR\] disk full/);
  });
});
