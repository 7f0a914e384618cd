/**
 * Frame limits of sandboxed TUI components (issue 23): the per-frame caps come from the quota settings
 * (`cpuMsPerFrame`, `frameHangMs`, `frameLines`, `frameBytes`, through limitsFromQuota) with bounds that keep pi
 * working, and a frame's CPU counts towards the extension's CPU window, so a component that stays under the
 * per-frame cap on every frame but renders all the time is still stopped. Real settings files, real sandbox, the
 * host-side component proxies pi holds; CPU is counted on a held CPU clock or the real thread clock, never on time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExtensionComponents } from '../../src/pi/components/index.ts';
import { threadCpuMs } from '../../src/sandbox/engine.ts';
import { DEFAULT_LIMITS, limitsFromQuota } from '../../src/sandbox/index.ts';
import { policyFor } from '../helpers.ts';
import { loadSource, type Harness } from '../sandbox/harness.ts';

interface Breach {
  readonly resource: string;
  readonly limit: number;
  readonly actual: number;
}

type Drawn = { render(width: number): string[] };

/** pi's side of the extension: its message renderer for `customType` as pi calls it, and what the user was told. */
function piSide(h: Harness, customType: string) {
  const told: string[] = [];
  const components = new ExtensionComponents('fixture', h.sandbox, (m) => told.push(m));
  const fn = h.host.registrationsOf('fixture').find((r) => r.kind === 'messageRenderer' && r.name === customType)?.description.fn;
  assert.equal(typeof fn, 'number', `a message renderer for ${customType} is held in the sandbox`);
  const renderer = components.messageRenderer(fn as number);
  return { told, draw: () => renderer({ customType, content: 'x' }, {}, {}) as Drawn };
}

const KEYS = ['cpuMsPerFrame', 'frameHangMs', 'frameLines', 'frameBytes'] as const;

describe('frame limits from the quota settings', () => {
  it('each frame key maps to its sandbox limit, globally and per extension, an override changing only what it names', () => {
    const policy = policyFor({
      user: {
        extensionPolicy: {
          quota: { cpuMsPerFrame: 20, frameHangMs: 500, frameLines: 300, frameBytes: 131_072 },
          overrides: { game: { quota: { cpuMsPerFrame: 200 } } },
        },
      },
    });
    assert.deepEqual(policy.errors, []);
    assert.deepEqual(limitsFromQuota(policy.quota), { frameCpuMs: 20, frameHangMs: 500, frameMaxLines: 300, frameMaxBytes: 131_072 });
    assert.deepEqual(limitsFromQuota(policy.overrideQuotas.get('game')), { frameCpuMs: 200 });
    // Without the keys the sandbox's defaults stand (issue 23: 50 ms, 1 s, 2000 lines, 1 MiB).
    assert.deepEqual(limitsFromQuota(policyFor({}).quota), {});
    assert.deepEqual(
      [DEFAULT_LIMITS.frameCpuMs, DEFAULT_LIMITS.frameHangMs, DEFAULT_LIMITS.frameMaxLines, DEFAULT_LIMITS.frameMaxBytes],
      [50, 1000, 2000, 1024 * 1024],
    );
  });

  for (const [key, value, expected] of [
    ['cpuMsPerFrame', 1, /≥ 10/],
    ['cpuMsPerFrame', 5000, /≤ 1000/],
    ['cpuMsPerFrame', 12.5, /integer/],
    ['frameHangMs', 10, /≥ 100/],
    ['frameHangMs', 60_000, /≤ 10000/],
    ['frameLines', 0, /≥ 100/],
    ['frameLines', 1_000_000, /≤ 100000/],
    ['frameBytes', 1024, /≥ 65536/],
    ['frameBytes', '1MiB', /integer/],
  ] as const) {
    it(`quota.${key} = ${JSON.stringify(value)} is a settings error naming the key and the bound, and the default stands`, () => {
      const policy = policyFor({ user: { extensionPolicy: { quota: { [key]: value } } } });
      assert.equal(policy.errors.length, 1, JSON.stringify(policy.errors));
      assert.equal(policy.errors[0]!.key, `extensionPolicy.quota.${key}`);
      assert.match(policy.errors[0]!.expected, expected);
      for (const k of KEYS) assert.equal((policy.quota as Record<string, unknown>)[k], undefined, `no ${k} from an invalid file`);
    });
  }

  it('a configured frameLines and cpuMsPerFrame decide: a render over them is replaced by the notice with their breach', async () => {
    const seen: Breach[] = [];
    const policy = policyFor({ user: { extensionPolicy: { quota: { frameLines: 100, cpuMsPerFrame: 10 } } } });
    const h = await loadSource(
      `export default function (pi) {
        pi.registerMessageRenderer('tall', () => ({ render: () => Array.from({ length: 150 }, (_, i) => 'row ' + i) }));
        pi.registerMessageRenderer('short', () => ({ render: () => Array.from({ length: 100 }, (_, i) => 'row ' + i) }));
        pi.registerMessageRenderer('loop', () => ({ render: () => { for (;;) {} } }));
      }`,
      { limits: limitsFromQuota(policy.quota), breaches: { recordBreach: (b) => void seen.push(b) } },
    );
    // 150 lines are within the default of 2000: only the setting makes them an overrun.
    assert.ok(DEFAULT_LIMITS.frameMaxLines > 150);
    const tall = piSide(h, 'tall');
    assert.deepEqual(tall.draw().render(80), ['\u001b[33m⚠ pi-warden: fixture: component over its output limit, replaced\u001b[39m']);
    // Told without the notice's own `pi-warden: <id>:` prefix: the host that tells the user adds it once.
    assert.deepEqual(tall.told, ['component over its output limit, replaced: render returned 150 lines, more than the limit of 100']);
    assert.equal(piSide(h, 'short').draw().render(80).length, 100, 'exactly the limit is drawn');
    const loop = piSide(h, 'loop');
    assert.match(loop.draw().render(80)[0] ?? '', /component over its frame time limit, replaced/);
    assert.deepEqual(
      seen.map((b) => [b.resource, b.limit]),
      [
        ['frame_lines', 100],
        ['cpu_ms_per_frame', 10],
      ],
    );
    assert.equal(seen[0]!.actual, 150);
    assert.equal(h.sandbox.stopped, undefined, 'a frame overrun replaces the component, not the extension');
    h.sandbox.dispose();
  });
});

describe("a frame's CPU counts towards the extension's CPU window", () => {
  const RENDERER = `export default function (pi) {
    pi.registerMessageRenderer('busy', () => {
      let frame = 0;
      return { render: () => { frame++; let x = 0; for (let i = 0; i < Number(globalThis.WORK ?? 0); i++) x += i % 7; return ['frame ' + frame + ' ' + (x % 2)]; } };
    });
    pi.on('work', (e) => { globalThis.WORK = e.iterations; return 'set'; });
  }`;

  it('10 ms a frame at 60 frames a second (600 ms a second) is stopped by the 250 ms window though no frame is over 50 ms', async () => {
    assert.deepEqual([DEFAULT_LIMITS.cpuMsPerWindow, DEFAULT_LIMITS.windowMs, DEFAULT_LIMITS.frameCpuMs], [250, 1000, 50]);
    const seen: Breach[] = [];
    // The held CPU clock: still while the extension loads and its component is made, then every reading moves it
    // 10 ms, so each frame (one reading entering, one leaving) is charged exactly 10 ms of CPU.
    let t = 0;
    let step = 0;
    const h = await loadSource(RENDERER, {
      breaches: { recordBreach: (b) => void seen.push(b) },
      cpuClock: () => (t += step),
    });
    const pi = piSide(h, 'busy');
    const component = pi.draw();
    step = 10;
    // One second of 60 frames: the 26th frame brings the window to 260 ms, over 250.
    let drawn = 0;
    for (let i = 0; i < 60 && h.sandbox.stopped === undefined; i++) {
      const lines = component.render(80);
      if (h.sandbox.stopped === undefined) {
        assert.deepEqual(lines, [`frame ${i + 1} 0`]);
        drawn++;
      }
    }
    assert.equal(drawn, 25, '25 frames of 10 ms fit the 250 ms window');
    assert.deepEqual(h.sandbox.stopped?.reasonCodes, ['cpu_window']);
    assert.deepEqual(
      seen.map((b) => [b.resource, b.limit, b.actual]),
      [['cpu_ms_per_window', 250, 260]],
    );
    assert.match(component.render(80)[0] ?? '', /⚠ pi-warden: fixture: component failed, replaced/);
    assert.match(pi.told.join('\n'), /used 260 ms of CPU within 1000 ms \(limit 250 ms\); sandbox stopped/);
  });

  it('on the real thread CPU clock: frames each well under the frame cap add up until the window stops the extension', async () => {
    const seen: Breach[] = [];
    // One window for the whole test, so how fast a loaded machine runs the frames does not matter: only CPU counts.
    const h = await loadSource(RENDERER, { limits: { windowMs: 3_600_000 }, breaches: { recordBreach: (b) => void seen.push(b) } });
    const pi = piSide(h, 'busy');
    const component = pi.draw();
    // Calibrate the work to about 5 ms of CPU a frame (a tenth of the 50 ms frame cap), measured on this machine.
    let iterations = 10_000;
    await h.sandbox.emit('work', { iterations });
    for (;;) {
      const before = threadCpuMs();
      component.render(80);
      const used = threadCpuMs() - before;
      if (used >= 5 || iterations > 1e9) break;
      iterations *= used < 0.5 ? 10 : 2;
      await h.sandbox.emit('work', { iterations });
    }
    let frames = 0;
    while (h.sandbox.stopped === undefined && frames < 2000) {
      component.render(80);
      frames++;
    }
    assert.deepEqual(h.sandbox.stopped?.reasonCodes, ['cpu_window']);
    assert.ok(frames > 5, `the window was spent over many frames (${frames}), not by one`);
    assert.deepEqual(
      seen.map((b) => b.resource),
      ['cpu_ms_per_window'],
      'no frame went over its own cap: the window caught the sum',
    );
    assert.ok(seen[0]!.actual > DEFAULT_LIMITS.cpuMsPerWindow);
  });
});
