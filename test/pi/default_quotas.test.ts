/**
 * The default hostcall quotas against honest work (issue 18 item 2, ADR 0030): every extension shipped in pi
 * 1.6.0's examples/extensions/ is loaded through the bridge into one real pi session (SDK, faux model), the session
 * runs a scripted coding task with pi's built-in tools (read, bash, grep, find, ls, write, edit), a second prompt,
 * and pi's own /reload (every factory runs again: registrations are hostcalls too). The faux model answers at once,
 * so the session is compressed into seconds: per-second and per-minute rates here are higher than a real model's
 * pace allows, except for extensions driven by a timer while the agent works (a `sleep 2` keeps it busy). Nothing
 * may be refused for quota, and the busiest extension must stay a wide margin below each default; the peaks are
 * printed for the ADR.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/evidence/index.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import type { PiObject } from '../../src/pi/liveHost.ts';
import { PACED_BY_PI, resolvePolicy } from '../../src/policy/index.ts';
import { QUOTA_DEFAULTS } from '../../src/trust/index.ts';
import { PI_VERSIONS, runSdkSession, scratchPi, type FauxStep } from './harness.ts';

/** How far below the per-second default the busiest burst must stay. */
const MARGIN = 4;
/**
 * The per-minute default against a rate kept up for a whole minute: the busiest 2 s of each extension, as if it went
 * on for 60 s, must stay this far below it. (The compressed session lasts seconds, so its own minute says little.)
 */
const SUSTAINED_MARGIN = 2;

const version = PI_VERSIONS.find((v) => v.id === '1.6.0')!;
/** The realistic workload beside the examples: a file-reading tool the model calls twice (test/fixtures/bridge/todo-scan.ts). */
const FILE_TOOL = fileURLToPath(new URL('../fixtures/bridge/todo-scan.ts', import.meta.url));
const EXAMPLES = join(fileURLToPath(new URL('.', version.codingAgent)), '..', 'examples', 'extensions');

/** A small coding task: look around, read, search, change a file, run it. */
const TASK: FauxStep[] = [
  { call: 'ls', args: { path: '.' } },
  { call: 'read', args: { path: 'notes.md' } },
  { call: 'find', args: { pattern: '*.ts' } },
  { call: 'grep', args: { pattern: 'greet', path: '.' } },
  { call: 'read', args: { path: 'src/app.ts' } },
  { call: 'edit', args: { path: 'src/app.ts', edits: [{ oldText: 'hello', newText: 'hello, world' }] } },
  { call: 'write', args: { path: 'src/extra.ts', content: 'export const extra = 1;\n' } },
  { call: 'bash', args: { command: 'ls src && cat src/app.ts' } },
  // A command that takes a while: the agent is busy, and extensions driven by a timer while it works keep calling.
  { call: 'bash', args: { command: 'sleep 2' } },
  { call: 'todo_scan', args: {} },
  { say: 'done: {{toolResult}}' },
];
const FOLLOW_UP: FauxStep[] = [
  { call: 'read', args: { path: 'src/extra.ts' } },
  { call: 'bash', args: { command: 'echo checked' } },
  { call: 'todo_scan', args: {} },
  { say: 'checked' },
];

interface Peak {
  perSecond: number;
  /** the most hostcalls in any 2 s, times 30: a minute at that pace */
  sustainedPerMinute: number;
  total: number;
}

/** Per extension: the most counted hostcalls in one clock second (as the quota stage counts them) and in any 2 s. */
function peaks(rows: readonly { extension_id: string; ts_ms: number; method: string }[]): Map<string, Peak> {
  const byExt = new Map<string, number[]>();
  for (const r of rows) {
    if (PACED_BY_PI.has(r.method)) continue;
    const list = byExt.get(r.extension_id) ?? [];
    list.push(r.ts_ms);
    byExt.set(r.extension_id, list);
  }
  const out = new Map<string, Peak>();
  for (const [id, times] of byExt) {
    times.sort((a, b) => a - b);
    const seconds = new Map<number, number>();
    for (const t of times) seconds.set(Math.floor(t / 1000), (seconds.get(Math.floor(t / 1000)) ?? 0) + 1);
    let inTwoSeconds = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] as number) - (times[j] as number) >= 2000) j++;
      inTwoSeconds = Math.max(inTwoSeconds, i - j + 1);
    }
    out.set(id, { perSecond: Math.max(...seconds.values()), sustainedPerMinute: inTwoSeconds * 30, total: times.length });
  }
  return out;
}

/** Examples whose tools replace pi's built-in read/grep/find/ls/bash/edit/write: each runs the task alone. */
const WRAPPERS = ['minimal-mode.ts', 'built-in-tool-renderer.ts', 'tool-override.ts', 'ssh.ts', 'bash-spawn-hook.ts'];

type Row = { extension_id: string; ts_ms: number; method: string; error_code: string | null };

/** A project of 300 source files in 20 folders, the size where a file tool's per-file hostcalls add up. */
function project(cwd: string): void {
  writeFileSync(join(cwd, 'notes.md'), '# notes\nthe app should greet\n');
  mkdirSync(join(cwd, 'src'));
  writeFileSync(join(cwd, 'src', 'app.ts'), 'export function greet() {\n  return "hello";\n}\n');
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(cwd, 'src', `mod${d}`));
    for (let f = 0; f < 15; f++)
      writeFileSync(join(cwd, 'src', `mod${d}`, `file${f}.ts`), `export const v${f} = ${f}; // ${f % 3 === 0 ? 'greet TODO' : 'other'}\n`);
  }
}

/** One real pi session with `paths` sandboxed; the task, a follow-up and /reload; returns every hostcall's telemetry. */
async function session(paths: readonly string[]): Promise<{ rows: Row[]; breaches: unknown[]; tools: number; failures: string[] }> {
  const scratch = scratchPi();
  const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin', PI_EXTENSION_ALLOW_DANGEROUS: '1' };
  project(scratch.cwd);
  const home = join(scratch.root, 'warden');
  const piModule = (await import(version.codingAgent)) as Record<string, unknown>;
  // Every capability allowed, so every call an example makes reaches the quota stage (a denied call never does).
  const policy = resolvePolicy({ cliProfile: 'permissive', env, cwd: scratch.cwd });
  const bridge = await BridgeSession.open({ cwd: scratch.cwd, home, env, policy, piTools: piModule as never });
  after(() => bridge.close());
  const run = await runSdkSession({
    version,
    scratch,
    extensionFactories: paths
      .flatMap((p) => locateExtensions(p))
      .map((ext) => async (pi: PiObject) => void (await loadInto(bridge, pi, ext))),
    script: [...TASK, ...FOLLOW_UP],
    prompt: 'tidy up src/app.ts',
  });
  await run.session.prompt('check it');
  await (run.session as unknown as { reload(): Promise<void> }).reload();
  await bridge.runtime.writer.flush();
  const db = openStore(home);
  try {
    return {
      rows: db.prepare('SELECT extension_id, ts_ms, method, error_code FROM telemetry').all() as never,
      breaches: db.prepare('SELECT * FROM quota_breaches').all(),
      tools: run.toolResults.length,
      failures: bridge.failures.map(
        (f) => `${f.extensionId.slice(f.extensionId.lastIndexOf('/') + 1)} (${f.code}: ${f.message.slice(0, 80)})`,
      ),
    };
  } finally {
    db.close();
  }
}

describe('default quotas: no shipped example, nor a file-reading tool, trips them in a real session', () => {
  it(`pi ${version.id}: every example through the bridge (all in one session, and each built-in wrapper alone), a coding task, a follow-up and /reload`, async (t) => {
    const runs = [await session([EXAMPLES, FILE_TOOL])];
    for (const w of WRAPPERS) runs.push(await session([join(EXAMPLES, w), FILE_TOOL]));
    const rows = runs.flatMap((r) => r.rows);
    assert.deepEqual(
      runs.flatMap((r) => r.breaches),
      [],
      'expected no quota breach recorded',
    );
    assert.deepEqual(
      rows.filter((r) => r.error_code === 'quota_exceeded'),
      [],
      'expected no hostcall refused for quota',
    );
    for (const r of runs) assert.ok(r.tools >= TASK.length - 1, `expected the task's tool calls to run, found ${r.tools}`);

    // Extension ids are the same in every run; each run is its own minute, so peaks are taken run by run.
    const measured = new Map<string, Peak>();
    for (const r of runs)
      for (const [id, p] of peaks(r.rows)) {
        const was = measured.get(id);
        measured.set(id, {
          perSecond: Math.max(p.perSecond, was?.perSecond ?? 0),
          sustainedPerMinute: Math.max(p.sustainedPerMinute, was?.sustainedPerMinute ?? 0),
          total: Math.max(p.total, was?.total ?? 0),
        });
      }
    const bySecond = [...measured].sort((a, b) => b[1].perSecond - a[1].perSecond);
    assert.ok(bySecond.length >= 20, `expected hostcalls from most examples, found them from ${bySecond.length}`);
    const name = (id: string) => id.slice(id.lastIndexOf('/') + 1);
    t.diagnostic(
      `not loaded in the shared session: ${runs[0]?.failures.join(', ')}; peaks (per second / per minute at its busiest 2 s pace / total), busiest first: ` +
        bySecond
          .slice(0, 15)
          .map(([id, p]) => `${name(id)} ${p.perSecond}/${p.sustainedPerMinute}/${p.total}`)
          .join(', '),
    );
    const [busiestSecond] = bySecond;
    const busiestMinute = [...measured].sort((a, b) => b[1].sustainedPerMinute - a[1].sustainedPerMinute)[0];
    assert.ok(
      (busiestSecond?.[1].perSecond ?? 0) * MARGIN <= QUOTA_DEFAULTS.hostcallsPerSecond,
      `expected the busiest example to stay ${MARGIN}× below ${QUOTA_DEFAULTS.hostcallsPerSecond}/s, found ${busiestSecond?.[0]} at ${busiestSecond?.[1].perSecond}/s`,
    );
    assert.ok(
      (busiestMinute?.[1].sustainedPerMinute ?? 0) * SUSTAINED_MARGIN <= QUOTA_DEFAULTS.hostcallsPerMinute,
      `expected the busiest example's pace kept up for a minute to stay ${SUSTAINED_MARGIN}× below ${QUOTA_DEFAULTS.hostcallsPerMinute}/min, found ${busiestMinute?.[0]} at ${busiestMinute?.[1].sustainedPerMinute}/min`,
    );
  });
});
