/**
 * The turn and tool-call parts of the bridge bench alone (bridge.bench.ts), for profiling and for before/after
 * comparisons while working on the per-turn overhead. Writes no results (the bridge suite does, in one run with
 * everything else).
 *   node bench/bridgeTurn.ts [rounds] [tool prompts]    the bench's interleaved figures, with the load average
 *   node bench/bridgeTurn.ts loop ARM SESSIONS [echo]   SESSIONS sessions of ARM (direct|sandboxed), 10 prompts each
 *                                                       as in the bench, for `node --cpu-prof`; writes the time
 *                                                       windows of the prompts (µs, the profile's clock) to
 *                                                       $TURN_WINDOWS, to keep start-up out of the profile
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  driver,
  ECHO_EXTENSION,
  openSession,
  scratch,
  timedPrompt,
  toolCall,
  turnsAndStartup,
  TURN_EXTENSIONS,
  type Arm,
} from './bridge.bench.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-bench-turn-')));
// pi reads these lazily where no option reaches (auth storage, keybindings); keep them in the scratch dir.
process.env.HOME = root;
process.env.PI_CODING_AGENT_DIR = join(root, 'agent');
process.env.PI_OFFLINE = '1';
const before = loadavg().map((x) => x.toFixed(2));
try {
  if (process.argv[2] === 'loop') {
    const arm = (process.argv[3] ?? 'sandboxed') as Arm;
    const sessions = Number(process.argv[4] ?? 10);
    const echo = process.argv[5] === 'echo';
    const n = 10;
    const windows: [number, number][] = [];
    const cpu: number[] = [];
    for (let s = 0; s < sessions; s++) {
      const dir = scratch(root, `loop-${s}`);
      const o = echo
        ? await openSession(arm, dir, [ECHO_EXTENSION], driver('echo', { text: 'hello' }, n))
        : await openSession(arm, dir, TURN_EXTENSIONS, driver('noop', {}, n));
      try {
        for (let i = 0; i < n; i++) {
          const t0 = process.hrtime.bigint();
          const c0 = process.threadCpuUsage();
          await timedPrompt(o, `step ${i}`);
          const c = process.threadCpuUsage(c0);
          windows.push([Number(t0 / 1000n), Number(process.hrtime.bigint() / 1000n)]);
          cpu.push(c.user + c.system);
        }
      } finally {
        await o.close();
      }
    }
    const wall = windows.map(([a, b]) => b - a).sort((a, b) => a - b);
    const sorted = [...cpu].sort((a, b) => a - b);
    process.stdout.write(
      `${arm}: ${windows.length} prompts, p50 per prompt: wall ${wall[wall.length >> 1]} µs, CPU ${sorted[sorted.length >> 1]} µs (mean ${Math.round(cpu.reduce((a, b) => a + b, 0) / cpu.length)}); load average before ${before.join(' ')}, after ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`,
    );
    writeFileSync(process.env.TURN_WINDOWS ?? join(tmpdir(), 'bridge-turn-windows.json'), JSON.stringify(windows));
  } else {
    const rounds = Number(process.argv[2] ?? 6);
    const toolPrompts = Number(process.argv[3] ?? 200);
    const { turns, prompts } = await turnsAndStartup(root, rounds);
    const tool = toolPrompts > 0 ? await toolCall(root, toolPrompts) : undefined;
    const after = loadavg().map((x) => x.toFixed(2));
    process.stdout.write(
      `turn p50 direct ${turns.direct.p50_ms} ms, sandboxed ${turns.sandboxed.p50_ms} ms: turn_added_us_p50 ${Math.round(turns.added_p50_ms * 1000)}\n` +
        `prompt (2 turns) added p50 ${prompts.added_p50_ms} ms\n` +
        (tool === undefined
          ? ''
          : `tool call p50 direct ${tool.direct.p50_ms} ms, sandboxed ${tool.sandboxed.p50_ms} ms: call_ratio_p50 ${tool.ratio_p50}\n`) +
        `load average before ${before.join(' ')}, after ${after.join(' ')}\n`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
