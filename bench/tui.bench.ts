/**
 * TUI component benchmark (issue 23) → bench/results/tui.json: a frame's added latency when pi draws five
 * components of a sandboxed extension (each render one synchronous component call, the lines filtered to styling
 * and cut to the width) versus the same extension loaded by pi's loader (jiti) with pi-tui's real Box and Text.
 * Target: ≤ 1 ms p50 added per frame. Measured for a frame that draws what the last one did (pi's usual frame: its
 * components cache their lines, and so do the sandbox's) and for one where every component changed.
 */
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { createDispatcher, type Operation } from '../src/dispatch/index.ts';
import { ExtensionComponents } from '../src/pi/components/index.ts';
import { hostOperations } from '../src/pi/index.ts';
import { HeadlessHost } from '../src/probe/index.ts';
import { resolvePolicy } from '../src/policy/settings.ts';
import { bundleEntry, hostBoot, Sandbox } from '../src/sandbox/index.ts';
import { benchSync, printResults, relativeTo, writeResults } from './harness.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PANELS = join(ROOT, 'bench', 'fixtures', 'tui', 'panels.ts');
const COMPONENTS = 5;
const WIDTH = 100;
const FRAMES = 2000;

type Renderer = (message: unknown, options: unknown, theme: unknown) => { render(width: number): string[] } | undefined;

/** A theme with pi's shape: colour tables by token, getFgAnsi/getBgAnsi, fg/bg wrapping. */
function theme() {
  const fgAnsi = new Map([
    ['accent', '\u001b[38;5;39m'],
    ['dim', '\u001b[2m'],
  ]);
  const bgAnsi = new Map([['customMessageBg', '\u001b[48;5;236m']]);
  return {
    name: 'bench',
    fgAnsi,
    bgAnsi,
    getFgAnsi: (c: string) => fgAnsi.get(c) ?? '',
    getBgAnsi: (c: string) => bgAnsi.get(c) ?? '',
    fg: (c: string, s: string) => `${fgAnsi.get(c) ?? ''}${s}\u001b[39m`,
    bg: (c: string, s: string) => `${bgAnsi.get(c) ?? ''}${s}\u001b[49m`,
  };
}

export async function run(): Promise<string> {
  const t = theme();
  const messages = Array.from({ length: COMPONENTS }, (_, i) => ({ role: 'custom', customType: 'panel', content: `panel ${i}` }));
  // Loaded by pi directly: pi's loader and pi-tui's own components.
  const jiti = createJiti(import.meta.url, { moduleCache: false });
  const factory = await jiti.import<(pi: unknown) => void>(PANELS, { default: true });
  let direct: Renderer | undefined;
  factory({ registerMessageRenderer: (_type: string, r: Renderer) => (direct = r) });
  const directComponents = messages.map((m) => direct!(m, { expanded: false }, t)!);
  // Sandboxed: the same file in a sandbox, drawn through the bridge's component proxies.
  const policy = resolvePolicy({ env: { HOME: tmpdir() }, cwd: tmpdir(), cliProfile: 'safe' });
  const host = new HeadlessHost({ cwd: tmpdir(), home: tmpdir() });
  const dispatcher = createDispatcher({ policy: policy.compiled, operations: new Map<string, Operation>(hostOperations(host)) });
  // The CPU window (250 ms a second) is off: the bench draws frames back to back, pi draws at most a few dozen a second.
  const sandbox = await Sandbox.create({
    extensionId: 'panels',
    dispatcher,
    boot: hostBoot(tmpdir(), tmpdir()),
    limits: { cpuMsPerWindow: 0 },
  });
  await sandbox.load(await bundleEntry(PANELS));
  const fn = host.registrationsOf('panels').find((r) => r.kind === 'messageRenderer')?.description.fn;
  if (typeof fn !== 'number') throw new Error(`expected the panels fixture to register a held message renderer, found ${String(fn)}`);
  const components = new ExtensionComponents('panels', sandbox, (m) => process.stderr.write(`${m}\n`));
  const renderer = components.messageRenderer(fn) as Renderer;
  const sandboxed = messages.map((m) => renderer(m, { expanded: false }, t)!);
  const frame = (list: { render(width: number): string[] }[]) => {
    let lines = 0;
    for (const c of list) lines += c.render(WIDTH).length;
    return lines;
  };
  const directLines = frame(directComponents);
  const sandboxedLines = frame(sandboxed);
  const loadStart = loadavg()[0] ?? 0;
  const base = benchSync(`frame: ${COMPONENTS} components loaded by pi directly`, FRAMES, () => frame(directComponents));
  const boxed = relativeTo(
    benchSync(`frame: ${COMPONENTS} sandboxed components`, FRAMES, () => frame(sandboxed)),
    base,
  );
  const added = (boxed.p50_us ?? 0) - (base.p50_us ?? 0);
  // A frame where every component changed (invalidated first: nothing cached on either side).
  const redraw = (list: { render(width: number): string[]; invalidate(): void }[]) => {
    for (const c of list) c.invalidate();
    return frame(list);
  };
  const baseChanged = benchSync(`changed frame: ${COMPONENTS} loaded by pi directly`, FRAMES / 4, () => redraw(directComponents as never));
  const boxedChanged = relativeTo(
    benchSync(`changed frame: ${COMPONENTS} sandboxed`, FRAMES / 4, () => redraw(sandboxed as never)),
    baseChanged,
  );
  // Mean CPU time of the thread per frame, over all frames (the kernel accounts thread CPU in ticks, too coarse for
  // one frame): what a frame costs whatever else the shared machine is doing.
  const cpu = (list: { render(width: number): string[] }[]) => {
    const c = process.threadCpuUsage();
    for (let i = 0; i < FRAMES; i++) frame(list);
    const d = process.threadCpuUsage(c);
    return Number(((d.user + d.system) / FRAMES).toFixed(1));
  };
  const cpuDirect = cpu(directComponents);
  const cpuSandboxed = cpu(sandboxed);
  sandbox.dispose();
  const results = [base, boxed, baseChanged, boxedChanged];
  printResults('tui', results);
  const file = writeResults('tui', results, {
    components: COMPONENTS,
    width: WIDTH,
    lines_per_frame: { direct: directLines, sandboxed: sandboxedLines },
    added_p50_us: Number(added.toFixed(3)),
    added_p50_us_changed_frame: Number(((boxedChanged.p50_us ?? 0) - (baseChanged.p50_us ?? 0)).toFixed(3)),
    thread_cpu_mean_per_frame_us: { direct: cpuDirect, sandboxed: cpuSandboxed, added: Number((cpuSandboxed - cpuDirect).toFixed(1)) },
    target_added_p50_us: 1000,
    meets_target: added <= 1000,
    cpu_window: 'off (frames drawn back to back)',
    load_average_1m: Number(Math.max(loadStart, loadavg()[0] ?? 0).toFixed(2)),
  });
  process.stdout.write(
    `  added per frame, p50: ${added.toFixed(1)} µs wall, ${(cpuSandboxed - cpuDirect).toFixed(1)} µs thread CPU (mean) (target ≤ 1000 µs)\n`,
  );
  return file;
}
