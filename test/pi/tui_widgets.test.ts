/**
 * pi's drawing components that sandboxed extensions import — pi-tui's `SelectList`, `Loader`, and pi's
 * `DynamicBorder` and `BorderedLoader` — are real in the sandbox and draw what pi's own draw (issue 23, compat): an
 * extension loaded through the bridge draws one through `ctx.ui.custom`, and the same class of pi 1.6.0 run on the
 * host with the same input and pi's own dark theme must give the same lines, before and after the same keys.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { locateExtensions } from '../../src/extensions/index.ts';
import { stripTerminalControls } from '../../src/mediation/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import { resolvePolicy } from '../../src/policy/index.ts';

type Fn = (...a: unknown[]) => unknown;
interface Drawn {
  render(width: number): string[];
  handleInput?(data: string): void;
  dispose?(): void;
}
interface Theme {
  fg(color: string, s: string): string;
  bold(s: string): string;
}

const PI = fileURLToPath(new URL('../../node_modules/@earendil-works/pi-coding-agent/', import.meta.url));
const EXAMPLES = join(PI, 'examples', 'extensions');
const KEY = { up: '\u001b[A', down: '\u001b[B', pageDown: '\u001b[6~', pageUp: '\u001b[5~', enter: '\r', escape: '\u001b' };

/** pi 1.6.0's classes and its global theme (the one pi hands factories and its own components draw with), dark. */
let pi: {
  DynamicBorder: new (color?: (s: string) => string) => Drawn;
  BorderedLoader: new (tui: unknown, theme: unknown, message: string, o?: { cancellable?: boolean }) => Drawn;
  initTheme(name: string): void;
  getMarkdownTheme(): Record<string, unknown>;
};
let tui: {
  SelectList: new (items: unknown[], max: number, theme: unknown, layout?: unknown) => Drawn & { setFilter(f: string): void };
  Markdown: new (text: string, paddingX: number, paddingY: number, theme: unknown) => Drawn;
};
let theme: Theme;
before(async () => {
  pi = (await import('@earendil-works/pi-coding-agent')) as unknown as typeof pi;
  pi.initTheme('dark');
  // the global theme is not exported from pi's index; the module is the same one its index loaded
  theme = ((await import(join(PI, 'dist/modes/interactive/theme/theme.js'))) as { theme: Theme }).theme;
  tui = (await import('@earendil-works/pi-tui')) as unknown as typeof tui;
});

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** An extension (a shipped example, or a source) loaded through the bridge with `ui` and `session`; what it draws. */
async function load(file: string, source?: string, setup?: (root: string) => void) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-tui-widgets-')));
  roots.push(root);
  if (source === undefined) copyFileSync(join(EXAMPLES, file), join(root, file));
  else writeFileSync(join(root, file), source);
  setup?.(root);
  mkdirSync(join(root, 'agent'), { recursive: true });
  writeFileSync(
    join(root, 'agent', 'settings.json'),
    JSON.stringify({ extensionPolicy: { overrides: { [join(root, file)]: { allow: ['ui', 'session'] } } } }),
  );
  const env = { HOME: root, PI_CODING_AGENT_DIR: join(root, 'agent'), PATH: '/usr/bin:/bin' };
  const session = await BridgeSession.open({ cwd: root, home: join(root, 'warden'), env, policy: resolvePolicy({ env, cwd: root }) });
  after(() => session.close());
  const handlers: Array<{ event: string; handler: Fn }> = [];
  const commands = new Map<string, { handler: Fn }>();
  const notified: string[] = [];
  const api = {
    on: (event: string, handler: Fn) => void handlers.push({ event, handler }),
    registerCommand: (name: string, o: { handler: Fn }) => void commands.set(name, o),
    registerMessageRenderer: () => undefined,
    registerTool: () => undefined,
    registerFlag: () => undefined,
    registerShortcut: () => undefined,
    appendEntry: () => undefined,
    getFlag: () => undefined,
    getActiveTools: () => [],
    getAllTools: () => [],
    setActiveTools: () => undefined,
    setModel: async () => true,
    getThinkingLevel: () => 'off',
    setThinkingLevel: () => undefined,
    events: { on: () => undefined, emit: () => undefined },
  };
  const notices = [];
  for (const ext of locateExtensions(join(root, file))) notices.push(...(await loadInto(session, api, ext)));
  const drawn: Drawn[] = [];
  /** What each `done` was called with. */
  const closed: unknown[] = [];
  const frames = { requested: 0 };
  const host = { requestRender: () => void frames.requested++, terminal: { rows: 40, columns: 100 } };
  const ctx = {
    cwd: root,
    hasUI: true,
    mode: 'tui',
    model: { provider: 'faux', id: 'faux-1' },
    modelRegistry: { find: () => undefined, getAvailable: () => [] },
    sessionManager: { getEntries: (): unknown[] => [], getBranch: (): unknown[] => [] },
    ui: {
      notify: (m: string) => void notified.push(m),
      setStatus: () => undefined,
      setWidget: () => undefined,
      custom: (factory: Fn) =>
        new Promise((resolve) => {
          const done = (value: unknown) => {
            closed.push(value);
            resolve(value);
          };
          drawn.push(factory(host, theme, {}, done) as Drawn);
        }),
    },
  };
  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 5000 && !done(); i++) await new Promise((r) => setImmediate(r));
  };
  return { commands, handlers, drawn, closed, ctx, settle, notices, notified, frames, root };
}

/** Runs `/name args` and waits for the component it draws. */
async function draw(x: Awaited<ReturnType<typeof load>>, name: string, args = '') {
  const run = x.commands.get(name);
  assert.ok(run !== undefined, `expected /${name} to be registered, notices: ${JSON.stringify(x.notices)}`);
  // a component left open is closed with the session (after the test), which rejects its command: not a finding
  const ran = (run.handler(args, x.ctx) as Promise<unknown>).catch(() => undefined);
  await x.settle(() => x.drawn.length > 0);
  assert.equal(
    x.drawn.length,
    1,
    `expected /${name} to draw one component, found ${x.drawn.length}, notices ${JSON.stringify(x.notified)}`,
  );
  /** What the component closed with (its `done` value), once it did. */
  const result = async () => {
    await x.settle(() => x.closed.length > 0);
    assert.equal(x.closed.length, 1, 'expected the component to have closed once');
    return x.closed[0];
  };
  return { component: x.drawn[0]!, result, ran };
}

const ITEMS = [
  { value: 'alpha', description: 'the first one' },
  { value: 'bravo', label: 'Bravo (active)', description: 'a description long enough to be cut at narrow widths, and then some more' },
  { value: 'charlie' },
  { value: 'delta', description: 'two\nlines' },
  { value: 'echo-with-a-name-longer-than-the-primary-column-of-thirty-two', description: 'long name' },
  { value: 'foxtrot', description: 'six' },
  { value: 'golf', description: 'seven' },
];

const SELECT = `import { SelectList } from '@earendil-works/pi-tui';
const ITEMS = ${JSON.stringify(ITEMS)};
export default function (pi) {
  pi.registerCommand('pick', {
    handler: async (args, ctx) => ctx.ui.custom((tui, theme, _kb, done) => {
      const list = new SelectList(ITEMS, 3, {
        selectedText: (s) => theme.fg('accent', s),
        description: (s) => theme.fg('muted', s),
        scrollInfo: (s) => theme.fg('dim', s),
        noMatch: (s) => theme.fg('warning', s),
      });
      if (args) list.setFilter(args);
      list.onSelect = (item) => done(item.value);
      list.onCancel = () => done(null);
      return list;
    }),
  });
}
`;

const WIDTHS = [100, 60, 41, 40, 20, 3];

describe("pi's components drawn from the sandbox match pi's own", () => {
  it("SelectList: the same lines as pi-tui's at every width, through arrows, paging, wrap-around and enter", async () => {
    const x = await load('pick.ts', SELECT);
    const { component, result } = await draw(x, 'pick');
    const own = new tui.SelectList(ITEMS, 3, {
      selectedText: (s: string) => theme.fg('accent', s),
      description: (s: string) => theme.fg('muted', s),
      scrollInfo: (s: string) => theme.fg('dim', s),
      noMatch: (s: string) => theme.fg('warning', s),
    });
    const same = (after: string) => {
      for (const w of WIDTHS) assert.deepEqual(component.render(w), own.render(w), `width ${w} after ${after}`);
    };
    same('nothing');
    for (const [name, key] of [
      ['down', KEY.down],
      ['down', KEY.down],
      ['down', KEY.down],
      ['pageDown', KEY.pageDown],
      ['down (wraps to the top)', KEY.down],
      ['up (wraps to the bottom)', KEY.up],
      ['pageUp', KEY.pageUp],
      ['a letter', 'x'],
    ] as const) {
      component.handleInput?.(key);
      own.handleInput?.(key);
      same(name);
    }
    const chosen = (own as unknown as { getSelectedItem(): { value: string } }).getSelectedItem().value;
    component.handleInput?.(KEY.enter);
    assert.equal(await result(), chosen);
  });

  it("SelectList: a filter, and a filter nothing matches, draw pi-tui's lines; escape cancels", async () => {
    for (const filter of ['d', 'zzz']) {
      const x = await load('pick.ts', SELECT);
      const { component, result } = await draw(x, 'pick', filter);
      const own = new tui.SelectList(ITEMS, 3, {
        selectedText: (s: string) => theme.fg('accent', s),
        description: (s: string) => theme.fg('muted', s),
        scrollInfo: (s: string) => theme.fg('dim', s),
        noMatch: (s: string) => theme.fg('warning', s),
      });
      own.setFilter(filter);
      // (pi's own "No matching commands" is 22 columns at any width; the host cuts a sandboxed line to the width)
      for (const w of [100, 60, 41, 40, 22]) assert.deepEqual(component.render(w), own.render(w), `filter ${filter}, width ${w}`);
      component.handleInput?.(KEY.escape);
      assert.equal(await result(), null);
    }
  });

  it("DynamicBorder: the same line as pi's at every width", async () => {
    const x = await load(
      'border.ts',
      `import { DynamicBorder } from '@earendil-works/pi-coding-agent';
export default function (pi) {
  pi.registerCommand('border', { handler: async (_a, ctx) => ctx.ui.custom((_t, theme) => new DynamicBorder((s) => theme.fg('accent', s))) });
}
`,
    );
    const { component } = await draw(x, 'border');
    const own = new pi.DynamicBorder((s) => theme.fg('accent', s));
    for (const w of [...WIDTHS, 1, 0]) assert.deepEqual(component.render(w), own.render(w), `width ${w}`);
  });

  it("BorderedLoader: pi's lines, a spinner that turns by the guest's timer, and escape aborts its signal", async () => {
    const x = await load(
      'loader.ts',
      `import { BorderedLoader } from '@earendil-works/pi-coding-agent';
export default function (pi) {
  pi.registerCommand('wait', {
    handler: async (_a, ctx) => ctx.ui.custom((tui, theme, _kb, done) => {
      const loader = new BorderedLoader(tui, theme, 'Generating handoff prompt...');
      loader.onAbort = () => done('aborted:' + loader.signal.aborted);
      return loader;
    }),
  });
}
`,
    );
    const { component, result } = await draw(x, 'wait');
    const own = new pi.BorderedLoader({ requestRender: () => undefined }, theme, 'Generating handoff prompt...');
    try {
      for (const w of [100, 30]) assert.deepEqual(component.render(w), own.render(w), `width ${w}`);
    } finally {
      own.dispose?.();
    }
    // the spinner advances on the guest's interval and asks pi for a frame each time
    const first = component.render(100)[2];
    const asked = x.frames.requested;
    for (let i = 0; i < 500 && !(x.frames.requested > asked && component.render(100)[2] !== first); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(x.frames.requested > asked, 'expected the loader to ask pi for frames');
    assert.notEqual(component.render(100)[2], first, 'expected the spinner to have turned');
    component.handleInput?.(KEY.escape);
    assert.equal(await result(), 'aborted:true');
    component.dispose?.();
  });
});

const SUMMARY = [
  '# Conversation Summary',
  '',
  'The user asked for *three* things; **one** of them was `npm test`.',
  '',
  '## Done',
  '',
  '- fixed the ~~bug~~ parser',
  '- added **bold _nested_ text** to a list item that is long enough to wrap at sixty columns for sure',
  '  - a nested item',
  '- [x] a task',
  '',
  '1. first',
  '2. second',
  '',
  '```ts',
  'const x = 1;',
  '```',
  '',
  '### Next',
  '',
  '> a quote that says *something*',
  '',
  '| Step | What happened |',
  '| :--- | ---: |',
  '| `lint` | a **long** description that must wrap in narrow columns |',
  '| test | passed |',
  '',
  '---',
  '',
  'Done with a [link](https://example.com), snake_case and 2*3*4.',
].join('\n');

describe("pi-tui's Markdown drawn from the sandbox", () => {
  it("draws pi-tui's lines for headings, emphasis, lists, a code block, a quote, a table and a rule (no highlighting)", async () => {
    const x = await load(
      'md.ts',
      `import { getMarkdownTheme } from '@earendil-works/pi-coding-agent';
import { Markdown } from '@earendil-works/pi-tui';
export default function (pi) {
  pi.registerCommand('md', { handler: async (_a, ctx) => ctx.ui.custom(() => new Markdown(${JSON.stringify(SUMMARY)}, 1, 1, getMarkdownTheme())) });
}
`,
    );
    const { component } = await draw(x, 'md');
    // pi's markdown theme with the sandbox's one difference: code blocks are not syntax highlighted. Its bold, italic,
    // underline and strikethrough are chalk's, which writes nothing when this process has no colour terminal; these are
    // the codes chalk writes in one (and the sandbox's theme writes always).
    const { highlightCode: _highlighted, ...mdTheme } = pi.getMarkdownTheme();
    const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
    const styles = { bold: sgr(1, 22), italic: sgr(3, 23), underline: sgr(4, 24), strikethrough: sgr(9, 29) };
    const own = new tui.Markdown(SUMMARY, 1, 1, { ...mdTheme, ...styles });
    for (const w of [100, 60, 30]) assert.deepEqual(component.render(w), own.render(w), `width ${w}`);
  });
});

describe('shipped examples that were inert draw their pi components from the sandbox', () => {
  it('preset.ts with a presets.json: its select list draws, arrows move the marker, enter picks', async () => {
    const presets = { fast: { thinkingLevel: 'off' }, deep: { thinkingLevel: 'high', instructions: 'Think hard.' } };
    const x = await load('preset.ts', undefined, (root) => {
      mkdirSync(join(root, '.pi'), { recursive: true });
      writeFileSync(join(root, '.pi', 'presets.json'), JSON.stringify(presets));
    });
    for (const h of x.handlers.filter((e) => e.event === 'session_start'))
      await h.handler({ type: 'session_start', reason: 'startup' }, x.ctx);
    const { component, result } = await draw(x, 'preset');
    const text = (lines: string[]) => lines.map((l) => stripTerminalControls(l)).join('\n');
    const before = text(component.render(80));
    assert.match(before, /Select Preset/);
    assert.match(before, /→ fast/);
    assert.match(before, /^─{80}$/m);
    component.handleInput?.(KEY.down);
    assert.match(text(component.render(80)), /→ deep/);
    component.handleInput?.(KEY.enter);
    await result();
    await x.settle(() => x.notified.some((m) => /deep/.test(m)));
    assert.ok(
      x.notified.some((m) => /deep/.test(m)),
      `expected a notice that preset deep is active, found ${JSON.stringify(x.notified)}`,
    );
  });
});

describe('qna.ts draws its BorderedLoader from the sandbox', () => {
  it("pi's loader lines with the model's name; the model call does not cross into the sandbox, so it closes with null", async () => {
    const x = await load('qna.ts');
    const assistant = { role: 'assistant', stopReason: 'stop', content: [{ type: 'text', text: 'Which colour? Which size?' }] };
    x.ctx.sessionManager.getBranch = () => [{ type: 'message', message: assistant }];
    const { component, result } = await draw(x, 'qna');
    const own = new pi.BorderedLoader({ requestRender: () => undefined }, theme, 'Extracting questions using faux-1...');
    try {
      assert.deepEqual(component.render(100), own.render(100));
    } finally {
      own.dispose?.();
    }
    assert.equal(await result(), null);
    await x.settle(() => x.notified.includes('Cancelled'));
    assert.ok(x.notified.includes('Cancelled'), `expected qna to say Cancelled, found ${JSON.stringify(x.notified)}`);
  });
});
