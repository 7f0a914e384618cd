/**
 * The synchronous entry for pi's TUI (issue 23 item 1): a component call is answered before it returns, within a
 * per-call CPU deadline and output caps; a component over a limit is reported as `overrun` with a quota breach, and
 * the sandbox keeps running. Real sandbox, real dispatcher.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComponentSignal } from '../../src/sandbox/index.ts';
import { loadSource, type Harness } from './harness.ts';

interface Breach {
  readonly resource: string;
  readonly limit: number;
  readonly actual: number;
}

/** The held id of the message renderer registered for `customType`. */
function rendererId(h: Harness, customType: string): number {
  const r = h.host.registrationsOf('fixture').find((x) => x.kind === 'messageRenderer' && x.name === customType);
  assert.equal(typeof r?.description.fn, 'number', `a message renderer for ${customType} is held by id`);
  return r?.description.fn as number;
}

/** Creates the component the renderer for `customType` returns; its id. */
function create(h: Harness, customType: string, message: Record<string, unknown> = {}): number {
  const a = h.sandbox.component({ op: 'message', fn: rendererId(h, customType), message, options: {}, theme: {} });
  assert.ok(a.ok, `renderer for ${customType} answered: ${JSON.stringify(a)}`);
  assert.equal(typeof a.value, 'number');
  return a.value as number;
}

const SOURCE = `export default function (pi) {
  let keys = [];
  pi.registerMessageRenderer('echo', (message, options, theme) => ({
    render: (width) => [theme.fg('accent', String(message.content)), 'width ' + width, 'keys ' + keys.join(',')],
    handleInput: (data) => { keys.push(data); },
    invalidate: () => { keys = []; },
  }));
  pi.registerMessageRenderer('loop', () => ({ render: () => { for (;;) {} } }));
  pi.registerMessageRenderer('many', () => ({ render: () => Array.from({ length: Number(globalThis.LINES ?? 2001) }, (_, i) => 'line ' + i) }));
  pi.registerMessageRenderer('million', () => { globalThis.LINES = 1000000; return { render: () => { const a = []; for (let i = 0; i < 1000000; i++) a.push('x'); return a; } }; });
  pi.registerMessageRenderer('wide', () => ({ render: () => ['x'.repeat(2 * 1024 * 1024)] }));
  pi.registerMessageRenderer('throws', () => ({ render: () => { throw new Error('no canvas'); } }));
  pi.registerMessageRenderer('none', () => undefined);
}`;

describe('the synchronous component entry', () => {
  it('a renderer creates a component whose render, handleInput and invalidate are answered in the call', async () => {
    const h = await loadSource(SOURCE);
    const theme = { fg: { accent: '\u001b[36m' }, bg: {} };
    const made = h.sandbox.component({ op: 'message', fn: rendererId(h, 'echo'), message: { content: 'hi' }, options: {}, theme });
    assert.ok(made.ok);
    const id = made.value as number;
    assert.deepEqual(h.sandbox.component({ op: 'input', id, data: 'q' }), { ok: true, value: null });
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 40 }), {
      ok: true,
      value: ['\u001b[36mhi\u001b[39m', 'width 40', 'keys q'],
    });
    h.sandbox.component({ op: 'invalidate', id });
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 7 }), {
      ok: true,
      value: ['\u001b[36mhi\u001b[39m', 'width 7', 'keys '],
    });
    // A renderer that returns nothing gives no component (pi renders its default).
    assert.deepEqual(h.sandbox.component({ op: 'message', fn: rendererId(h, 'none'), message: {}, options: {}, theme: {} }), {
      ok: true,
      value: null,
    });
    h.sandbox.dispose();
  });

  it("a render that returns what the last one did answers 'unchanged'; a refilled array or another width is sent again", async () => {
    const h = await loadSource(`export default function (pi) {
      const lines = ['a', 'b'];
      pi.registerMessageRenderer('same', () => ({ render: () => lines, handleInput: (d) => { lines[1] = d; } }));
    }`);
    const fn = h.host.registrationsOf('fixture').find((r) => r.kind === 'messageRenderer')?.description.fn;
    const made = h.sandbox.component({ op: 'message', fn, message: {}, options: {}, theme: {} });
    const id = made.ok ? (made.value as number) : -1;
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 10 }), { ok: true, value: ['a', 'b'] });
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 10 }), { ok: true, value: 'unchanged' });
    h.sandbox.component({ op: 'input', id, data: 'z' });
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 10 }), { ok: true, value: ['a', 'z'] });
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 11 }), { ok: true, value: ['a', 'z'] });
    h.sandbox.dispose();
  });

  it("pi-tui's matchesKey in the sandbox names keys from their bytes (legacy and kitty sequences)", async () => {
    const h = await loadSource(`import { matchesKey, Key } from '@earendil-works/pi-tui';
    export default function (pi) {
      const names = ['escape', 'enter', 'up', 'left', Key.ctrl('c'), 'shift+tab', 'ctrl+up', 'pageUp', 'q'];
      let seen = [];
      pi.registerMessageRenderer('keys', () => ({
        render: () => [seen.join(' ')],
        handleInput: (d) => { seen.push(names.filter((n) => matchesKey(d, n)).join('|') || '-'); },
      }));
    }`);
    const fn = h.host.registrationsOf('fixture').find((r) => r.kind === 'messageRenderer')?.description.fn;
    const made = h.sandbox.component({ op: 'message', fn, message: {}, options: {}, theme: {} });
    const id = made.ok ? (made.value as number) : -1;
    for (const data of [
      '\u001b',
      '\r',
      '\u001b[A',
      '\u001bOD',
      '\u0003',
      '\u001b[Z',
      '\u001b[1;5A',
      '\u001b[5~',
      'q',
      '\u001b[27u',
      '\u001b[99;5u',
      'x',
    ])
      h.sandbox.component({ op: 'input', id, data });
    assert.deepEqual(h.sandbox.component({ op: 'render', id, width: 200 }), {
      ok: true,
      value: ['escape enter up left ctrl+c shift+tab ctrl+up pageUp q escape ctrl+c -'],
    });
    h.sandbox.dispose();
  });

  it('a render that loops is interrupted at the frame deadline: overrun, a cpu_ms_per_frame breach, the sandbox keeps running', async () => {
    const seen: Breach[] = [];
    const h = await loadSource(SOURCE, { breaches: { recordBreach: (b) => void seen.push(b) }, limits: { frameCpuMs: 20 } });
    const echo = create(h, 'echo', { content: 'still here' });
    const loop = create(h, 'loop');
    const a = h.sandbox.component({ op: 'render', id: loop, width: 80 });
    assert.equal(a.ok, false);
    assert.equal(!a.ok && a.overrun, 'frame_deadline');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.resource, 'cpu_ms_per_frame');
    assert.equal(seen[0]?.limit, 20);
    assert.ok((seen[0]?.actual ?? 0) >= 20);
    assert.equal(h.sandbox.stopped, undefined, 'the sandbox is not stopped');
    assert.deepEqual(h.sandbox.component({ op: 'render', id: echo, width: 80 }), { ok: true, value: ['still here', 'width 80', 'keys '] });
    h.sandbox.dispose();
  });

  it('more lines than frameMaxLines, or more characters than frameMaxBytes, is an output overrun with its breach', async () => {
    const seen: Breach[] = [];
    const h = await loadSource(SOURCE, { breaches: { recordBreach: (b) => void seen.push(b) } });
    const many = create(h, 'many');
    const a = h.sandbox.component({ op: 'render', id: many, width: 80 });
    assert.equal(!a.ok && a.overrun, 'frame_output');
    assert.match(!a.ok ? a.error.message : '', /2001 lines, more than the limit of 2000/);
    const wide = create(h, 'wide');
    const b = h.sandbox.component({ op: 'render', id: wide, width: 80 });
    assert.equal(!b.ok && b.overrun, 'frame_output');
    assert.deepEqual(
      seen.map((x) => [x.resource, x.limit, x.actual]),
      [
        ['frame_lines', 2000, 2001],
        ['frame_bytes', 1024 * 1024, 2 * 1024 * 1024],
      ],
    );
    assert.equal(h.sandbox.stopped, undefined);
    h.sandbox.dispose();
  });

  it('a render of a million lines is contained (deadline or output cap) and the sandbox keeps running', async () => {
    const seen: Breach[] = [];
    const h = await loadSource(SOURCE, { breaches: { recordBreach: (b) => void seen.push(b) } });
    const million = create(h, 'million');
    const a = h.sandbox.component({ op: 'render', id: million, width: 80 });
    assert.equal(a.ok, false);
    assert.ok(!a.ok && (a.overrun === 'frame_output' || a.overrun === 'frame_deadline'), JSON.stringify(a));
    assert.equal(seen.length, 1);
    assert.equal(h.sandbox.stopped, undefined);
    h.sandbox.dispose();
  });

  it("an exception in render is the extension's failure, without a breach", async () => {
    const seen: Breach[] = [];
    const h = await loadSource(SOURCE, { breaches: { recordBreach: (b) => void seen.push(b) } });
    const a = h.sandbox.component({ op: 'render', id: create(h, 'throws'), width: 80 });
    assert.deepEqual(a, { ok: false, error: { code: 'extension_error', message: 'Error: no canvas' } });
    assert.equal(seen.length, 0);
    h.sandbox.dispose();
  });

  it('a component call while the guest is running is refused as busy, never nested', async () => {
    let during: unknown;
    const ref: { h?: Harness; id?: number } = {};
    const h = await loadSource(
      `export default function (pi) {
        pi.registerMessageRenderer('echo', () => ({ render: () => ['ok'] }));
        pi.registerCommand('peek', { handler: async (_a, ctx) => { ctx.ui.getEditorText(); } });
      }`,
      {
        operations: {
          'ctx.ui.getEditorText': () => {
            during = ref.h?.sandbox.component({ op: 'render', id: ref.id, width: 10 });
            return '';
          },
        },
      },
    );
    ref.h = h;
    ref.id = create(h, 'echo');
    const s = await h.sandbox.runCommand('peek', '');
    assert.ok(s.ok, JSON.stringify(s));
    assert.equal((during as { busy?: boolean } | undefined)?.busy, true);
    assert.deepEqual(h.sandbox.component({ op: 'render', id: ref.id, width: 10 }), { ok: true, value: ['ok'] });
    h.sandbox.dispose();
  });

  it('tui.requestRender from a timer and done(value) from handleInput reach the host after the entry, as data', async () => {
    const h = await loadSource(`export default function (pi) {
      pi.registerCommand('game', { handler: async (_a, ctx) => {
        const result = await ctx.ui.custom((tui, theme, kb, done) => {
          setTimeout(() => tui.requestRender(), 0);
          return { render: () => ['game'], handleInput: (d) => done({ pressed: d }) };
        });
        pi.appendEntry('result', result);
      } });
    }`);
    const signals: ComponentSignal[] = [];
    h.sandbox.onComponentSignal = (s) => signals.push(s);
    // The factory is held when ctx.ui.custom is called: its id is the first held function (the command handler is not held).
    void h.sandbox.runCommand('game', '');
    await new Promise((r) => setImmediate(r));
    const made = h.sandbox.component({ op: 'create', kind: 'custom', fn: 1, theme: {} });
    assert.ok(made.ok, JSON.stringify(made));
    const id = made.value as number;
    for (let i = 0; i < 200 && signals.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(signals, [{ signal: 'requestRender', id }]);
    h.sandbox.component({ op: 'input', id, data: 'x' });
    assert.equal(signals.length, 1, 'done is delivered after the entry, not inside it');
    await Promise.resolve();
    assert.deepEqual(signals[1], { signal: 'done', id, value: { pressed: 'x' } });
    h.sandbox.dispose();
  });
});
