import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ask, loadSource } from './harness.ts';

/** An extension that answers `probe` with what it sees of its own instance. */
const PROBE = `export default function (pi) {
  pi.on('remember', (e) => { globalThis.remembered = e.value; return true; });
  pi.on('probe', () => ({
    random: [Math.random(), Math.random(), Math.random()],
    remembered: globalThis.remembered ?? null,
    nativeName: Math.random.name,
  }));
  pi.on('allocate', (e) => new Uint8Array(e.mib * 1048576).length);
}`;

interface Probe {
  random: number[];
  remembered: unknown;
  nativeName: string;
}

describe('sandboxes start from one booted guest (a snapshot restored into each)', () => {
  it('each sandbox has its own Math.random sequence and its own globals', async () => {
    const a = await loadSource(PROBE);
    const b = await loadSource(PROBE);
    await ask(a, 'remember', { value: 'only in a' });
    const pa = (await ask(a, 'probe')) as Probe;
    const pb = (await ask(b, 'probe')) as Probe;
    assert.notDeepEqual(pa.random, pb.random, 'expected two sandboxes to draw different Math.random values');
    for (const x of [...pa.random, ...pb.random]) assert.ok(x >= 0 && x < 1, `expected Math.random in [0, 1), found ${x}`);
    assert.equal(pa.remembered, 'only in a');
    assert.equal(pb.remembered, null, 'expected a global set in one sandbox to be absent from another');
    assert.equal(pa.nativeName, 'random');
    a.sandbox.dispose();
    b.sandbox.dispose();
  });

  it("a sandbox's own memory cap applies after the restore, above and below the boot template's", async () => {
    const roomy = await loadSource(PROBE, { limits: { memoryMb: 160 } });
    assert.equal(await ask(roomy, 'allocate', { mib: 96 }), 96 * 1048576);
    roomy.sandbox.dispose();
    const tight = await loadSource(PROBE, { limits: { memoryMb: 24 } });
    await assert.rejects(tight.sandbox.emit('allocate', { mib: 40 }), (err: Error & { code?: string }) => err.code === 'quota_exceeded');
    tight.sandbox.dispose();
  });
});
