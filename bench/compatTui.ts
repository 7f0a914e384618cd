/**
 * Compat of the shipped examples' TUI (issue 23: "the shipped examples that are inert today render"). Every example
 * of pi 1.6.0, 1.5.2 and 0.73.1 that uses a TUI surface (`ctx.ui.custom`, widget/header/footer factories, message
 * and tool renderers, markdown transformers, the custom editor, raw terminal input) is loaded through the bridge into
 * a recording pi API with `ui` and `session` granted; its `session_start` handlers and each of its commands (no
 * arguments) run with a ctx whose `ui` hands every factory a TUI and a theme as pi does, its message and tool renderers
 * (resolvers, and the renderCall/renderResult of its tools) are called with a sample; whatever component comes back
 * is rendered. Each example gets an outcome:
 *   renders    a sandboxed component drew text (styling only)
 *   refused    it uses a member the bridge refuses with a reason (README: setEditorComponent, onTerminalInput, ...)
 *   no_ui_run  none of its UI ran without input this pass cannot give (a model turn, arguments, a tool call)
 *   failed     loading or the UI failed (each must be explained)
 * Writes bench/results/compat-tui.json; each outcome but `renders` is explained in docs/compat-tui.md.
 *   npm run bench -- compat-tui
 */
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateExtensions } from '../src/extensions/index.ts';
import { stripTerminalControls } from '../src/mediation/index.ts';
import { BridgeSession } from '../src/pi/bridge.ts';
import { loadInto } from '../src/pi/sessionExtensions.ts';
import { resolvePolicy } from '../src/policy/index.ts';
import { machine } from './harness.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = [
  { id: '1.6.0', dir: 'node_modules/@earendil-works/pi-coding-agent' },
  { id: '1.5.2', dir: 'node_modules/pi-coding-agent-1.5.2' },
  { id: '0.73.1', dir: 'node_modules/@mariozechner/pi-coding-agent' },
] as const;

/** The TUI surfaces issue 23 is about, as they appear in an extension's source. */
const TUI_SURFACE =
  /ui\.custom|setWidget|setHeader|setFooter|registerMessageRenderer|registerToolRenderer|registerMarkdownTransformer|setEditorComponent|onTerminalInput|renderCall|renderResult/;
const REFUSED = /setEditorComponent|getEditorComponent|onTerminalInput|addAutocompleteProvider|registerEntryRenderer/;

type Fn = (...a: unknown[]) => unknown;
interface Drawn {
  render(width: number): string[];
  dispose?(): void;
}
type Outcome = 'renders' | 'refused' | 'no_ui_run' | 'failed';
interface Result {
  readonly pi: string;
  readonly example: string;
  readonly outcome: Outcome;
  readonly surfaces: string[];
  readonly drawnBy: string[];
  readonly sample?: string;
  readonly notices: string[];
  readonly errors: string[];
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tryOne(pkg: (typeof PACKAGES)[number], name: string): Promise<Result> {
  const examples = join(ROOT, pkg.dir, 'examples', 'extensions');
  const src = join(examples, name);
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-compat-tui-'));
  const errors: string[] = [];
  const drawnBy: string[] = [];
  let sample: string | undefined;
  const source = statSync(src).isDirectory() ? readFileSync(join(src, 'index.ts'), 'utf8') : readFileSync(src, 'utf8');
  const surfaces = [...new Set(source.match(new RegExp(TUI_SURFACE.source, 'g')) ?? [])];
  let session: BridgeSession | undefined;
  try {
    const target = join(root, name);
    if (statSync(src).isDirectory()) cpSync(src, target, { recursive: true });
    else copyFileSync(src, target);
    mkdirSync(join(root, 'agent'), { recursive: true });
    const id = realpathSync(statSync(target).isDirectory() ? target : target);
    const grants = { allow: ['ui', 'session'] };
    writeFileSync(join(root, 'agent', 'settings.json'), JSON.stringify({ extensionPolicy: { overrides: { [id]: grants } } }));
    const env = { HOME: root, PI_CODING_AGENT_DIR: join(root, 'agent'), PATH: '/usr/bin:/bin' };
    session = await BridgeSession.open({ cwd: root, home: join(root, 'warden'), env, policy: resolvePolicy({ env, cwd: root }) });
    const handlers: Array<{ event: string; handler: Fn }> = [];
    const commands = new Map<string, { handler: Fn }>();
    const renderers = new Map<string, Fn>();
    const toolResolvers: Fn[] = [];
    const transformers: Fn[] = [];
    const toolDefs: Array<{ name: string; renderCall?: Fn; renderResult?: Fn }> = [];
    const api = {
      on: (event: string, handler: Fn) => void handlers.push({ event, handler }),
      registerCommand: (n: string, o: { handler: Fn }) => void commands.set(n, o),
      registerMessageRenderer: (type: string, r: Fn) => void renderers.set(type, r),
      registerToolRenderer: (r: Fn) => void toolResolvers.push(r),
      registerMarkdownTransformer: (t: Fn) => void transformers.push(t),
      registerTool: (def: { name: string; renderCall?: Fn; renderResult?: Fn }) => void toolDefs.push(def),
      registerFlag: () => undefined,
      getFlag: () => undefined,
      registerShortcut: () => undefined,
      registerProvider: () => undefined,
      appendEntry: () => undefined,
      sendMessage: () => undefined,
      setActiveTools: () => undefined,
      getActiveTools: () => [],
      getAllTools: () => [],
      events: { on: () => undefined, emit: () => undefined },
    };
    const notices: string[] = [];
    for (const ext of locateExtensions(target)) notices.push(...(await loadInto(session, api, ext)).map((n) => JSON.stringify(n)));
    let current = '';
    const drawn: Array<{ by: string; c: Drawn }> = [];
    const keep = (c: unknown) => {
      if (c !== null && typeof c === 'object' && typeof (c as Drawn).render === 'function') drawn.push({ by: current, c: c as Drawn });
    };
    const tui = { requestRender: () => undefined, terminal: { rows: 40, columns: 100 } };
    const theme = {
      fgAnsi: new Map([['accent', '\u001b[36m']]),
      getFgAnsi: () => '\u001b[36m',
      getBgAnsi: () => '\u001b[40m',
      bgAnsi: new Map([['customMessageBg', '\u001b[40m']]),
    };
    const told: string[] = [];
    const ctx = {
      cwd: root,
      hasUI: true,
      mode: 'tui',
      model: { provider: 'faux', id: 'faux-1' },
      sessionManager: { getEntries: () => [], getBranch: () => [], getSessionFile: () => undefined },
      isIdle: () => true,
      ui: {
        notify: (m: string) => void told.push(m),
        setStatus: () => undefined,
        setWorkingMessage: () => undefined,
        select: async () => undefined,
        confirm: async () => false,
        input: async () => undefined,
        editor: async () => undefined,
        setTitle: () => undefined,
        setEditorText: () => undefined,
        getEditorText: () => '',
        // lines as data are drawn by pi itself; a factory's component by the sandbox
        setWidget: (_key: string, f: unknown) =>
          typeof f === 'function'
            ? keep((f as Fn)(tui, theme))
            : Array.isArray(f) && f.length > 0 && drawnBy.push(`${current} (widget lines)`),
        custom: (f: Fn) => new Promise((resolve) => keep(f(tui, theme, {}, resolve))),
        setHeader: (f: unknown) => typeof f === 'function' && keep((f as Fn)(tui, theme)),
        setFooter: (f: unknown) =>
          typeof f === 'function' && keep((f as Fn)(tui, theme, { getGitBranch: () => null, getExtensionStatuses: () => new Map() })),
      },
    };
    const settle = async () => {
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      await wait(50);
    };
    const run = async (by: string, f: () => unknown) => {
      current = by;
      try {
        const p = f();
        if (p instanceof Promise) await Promise.race([p.catch((e: unknown) => errors.push(`${by}: ${String(e)}`)), wait(1500)]);
      } catch (e) {
        errors.push(`${by}: ${String(e)}`);
      }
      await settle();
    };
    for (const h of handlers.filter((x) => x.event === 'session_start'))
      await run('session_start', () => h.handler({ type: 'session_start', reason: 'startup' }, ctx));
    for (const [n, c] of commands) await run(`/${n}`, () => c.handler('', ctx));
    for (const [type, r] of renderers)
      await run(`renderer ${type}`, () =>
        keep(r({ role: 'custom', customType: type, content: 'sample', details: {} }, { expanded: false }, theme)),
      );
    for (const r of toolResolvers)
      for (const tool of ['read', 'bash', 'edit', 'write', 'grep', 'find', 'ls'])
        await run(`tool renderer ${tool}`, () => {
          const found = r(tool, () => undefined) as { renderCall?: Fn } | undefined;
          if (found?.renderCall !== undefined)
            keep(found.renderCall({ path: 'a.ts', command: 'ls' }, theme, { args: {}, expanded: false }));
        });
    const toolContext = { args: {}, toolCallId: 'call-1', cwd: root, expanded: false, invalidate: () => undefined };
    for (const def of toolDefs) {
      if (def.renderCall !== undefined) await run(`tool ${def.name} renderCall`, () => keep(def.renderCall?.({}, theme, toolContext)));
      if (def.renderResult !== undefined)
        await run(`tool ${def.name} renderResult`, () =>
          keep(
            def.renderResult?.({ content: [{ type: 'text', text: 'sample' }] }, { expanded: false, isPartial: false }, theme, toolContext),
          ),
        );
    }
    for (const t of transformers)
      await run('markdown transformer', () => {
        const out = t('**sample** text', { messageType: 'assistant', isStreaming: false, availableWidth: 80 });
        if (typeof out === 'string' && out.length > 0) drawnBy.push('markdown transformer');
      });
    for (const d of drawn) {
      try {
        const text = d.c
          .render(100)
          .map((l) => stripTerminalControls(l))
          .join('\n');
        if (text.trim().length > 0 && !/pi-warden: .*component (failed|over)/.test(text)) {
          drawnBy.push(d.by);
          sample ??= text
            .split('\n')
            .find((l) => l.trim().length > 0)
            ?.trim()
            .slice(0, 80);
        } else if (text.trim().length > 0) errors.push(`${d.by}: ${text.trim().slice(0, 200)}`);
        d.c.dispose?.();
      } catch (e) {
        errors.push(`${d.by}: render threw ${String(e)}`);
      }
    }
    notices.push(...told);
    const refused = surfaces.some((s) => REFUSED.test(s)) || notices.some((n) => /refused|cannot cross|not proxied/.test(n));
    const outcome: Outcome =
      drawnBy.length > 0 ? 'renders' : refused ? 'refused' : errors.length > 0 || session.failures.length > 0 ? 'failed' : 'no_ui_run';
    errors.push(...session.failures.map((f) => `load: ${f.message}`));
    return { pi: pkg.id, example: name, outcome, surfaces, drawnBy: [...new Set(drawnBy)], ...(sample ? { sample } : {}), notices, errors };
  } catch (e) {
    return { pi: pkg.id, example: name, outcome: 'failed', surfaces, drawnBy, notices: [], errors: [...errors, String(e)] };
  } finally {
    await session?.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<string> {
  const results: Result[] = [];
  for (const pkg of PACKAGES) {
    const dir = join(ROOT, pkg.dir, 'examples', 'extensions');
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const file = statSync(path).isDirectory() ? join(path, 'index.ts') : path;
      if (!file.endsWith('.ts')) continue;
      let source = '';
      try {
        source = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      if (!TUI_SURFACE.test(source)) continue;
      const r = await tryOne(pkg, name);
      results.push(r);
      process.stdout.write(`${pkg.id} ${name}: ${r.outcome}${r.drawnBy.length > 0 ? ` (${r.drawnBy.join(', ')})` : ''}\n`);
    }
  }
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  const out = {
    suite: 'compat-tui',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    machine: machine(),
    method:
      "shipped examples using a TUI surface, loaded through the bridge into a recording pi API (ui and session granted); session_start, every command without arguments, message and tool renderers with a sample; a component 'renders' when its render gives text",
    total: results.length,
    renders: count('renders'),
    refused: count('refused'),
    no_ui_run: count('no_ui_run'),
    failed: count('failed'),
    results,
  };
  const file = join(ROOT, 'bench', 'results', 'compat-tui.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(
    `renders ${out.renders}, refused ${out.refused}, no UI run ${out.no_ui_run}, failed ${out.failed} of ${out.total}\n`,
  );
  return file;
}
