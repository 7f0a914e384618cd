/**
 * Guest modules kept out of the boot snapshot (issue 18 item 5): compiled once by the host, evaluated into a guest
 * at its first use, inside the entry that asked and under its CPU budget and memory cap. (That AES and the curves
 * still work through this path is what crypto.test.ts checks.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootedGuest } from '../../src/sandbox/boot.ts';
import { GuestEngine, GuestFailure, GuestSnapshot } from '../../src/sandbox/engine.ts';
import { guestRuntimeSource, onDemandSources } from '../../src/sandbox/runtime.ts';
import { ask, loadSource } from './harness.ts';

const noHost = () => JSON.stringify({ ok: false, error: { code: 'internal', message: 'no host in this test' } });
const MiB = 1048576;

/**
 * A bare guest (no runtime: `__wardenHost` stays on its global object, so a script can ask for a module as the
 * runtime does) snapshotted with test modules beside it.
 */
async function bareGuestWith(sources: Record<string, string>): Promise<GuestSnapshot> {
  const compiler = await GuestEngine.create({ memoryLimitBytes: 64 * MiB, host: noHost });
  const modules = new Map(Object.entries(sources).map(([name, source]) => [name, compiler.compileScript(source, `${name}.js`)]));
  compiler.dispose();
  const template = await GuestEngine.create({ memoryLimitBytes: 64 * MiB, host: noHost });
  try {
    return template.snapshot(modules);
  } finally {
    template.dispose();
  }
}

const TEST_MODULES = {
  answer: '({ answer: 42, created: (globalThis.created = (globalThis.created ?? 0) + 1) })',
  spin: 'for (;;) {}',
  hog: '({ held: Array.from({ length: 64 }, () => new Uint8Array(1048576)) })',
};
const ASK = (name: string) =>
  `(() => { const m = __wardenHost('module', ${JSON.stringify(name)}); return typeof m === 'string' ? m : JSON.stringify(m); })()`;

describe('on-demand guest modules', () => {
  it('are not in the runtime the snapshot holds, but beside it as bytecode, and survive the trip to disk', async () => {
    const [runtime, sources, guest] = await Promise.all([guestRuntimeSource(), onDemandSources(), bootedGuest()]);
    assert.deepEqual([...sources.keys()], ['aes', 'curves', 'markdown']);
    assert.deepEqual([...guest.modules.keys()], ['aes', 'curves', 'markdown']);
    // `ghash` is GCM's hash in @noble/ciphers, `edwards` the curve family in @noble/curves: in the modules only.
    assert.match(sources.get('aes') ?? '', /ghash/i);
    assert.match(sources.get('curves') ?? '', /edwards/);
    assert.doesNotMatch(runtime, /ghash/i, 'expected no AES-GCM code in the runtime the snapshot holds');
    assert.doesNotMatch(runtime, /edwards/, 'expected no curve code in the runtime the snapshot holds');
    // pi-tui's Markdown drawing (its fence pattern) is in its module only
    assert.match(sources.get('markdown') ?? '', /\{3,\}\|~\{3,\}/);
    assert.doesNotMatch(runtime, /\{3,\}\|~\{3,\}/, 'expected no markdown drawing in the runtime the snapshot holds');
    const back = GuestSnapshot.deserialize(guest.serialize());
    assert.deepEqual([...back.modules.keys()], ['aes', 'curves', 'markdown']);
    for (const [name, bytecode] of guest.modules) assert.ok(Buffer.from(bytecode).equals(Buffer.from(back.modules.get(name) ?? [])), name);
    assert.equal(back.bytes, guest.bytes);
  });

  it("are evaluated into the guest that asks, each guest its own copy, and the module's exports come back", async () => {
    const snapshot = await bareGuestWith(TEST_MODULES);
    const a = await GuestEngine.create({ memoryLimitBytes: 16 * MiB, host: noHost, from: snapshot });
    const b = await GuestEngine.create({ memoryLimitBytes: 16 * MiB, host: noHost, from: snapshot });
    try {
      assert.equal(a.evalScript(ASK('answer'), 'a1.js', 1000, 10_000), '{"answer":42,"created":1}');
      assert.equal(a.evalScript(ASK('answer'), 'a2.js', 1000, 10_000), '{"answer":42,"created":2}');
      assert.equal(b.evalScript(ASK('answer'), 'b1.js', 1000, 10_000), '{"answer":42,"created":1}', 'expected b untouched by a');
      const unknown = JSON.parse(a.evalScript(ASK('nope'), 'a3.js', 1000, 10_000)) as { ok: boolean; error: { message: string } };
      assert.equal(unknown.ok, false);
      assert.match(unknown.error.message, /expected one of the on-demand modules \(answer, spin, hog\), found "nope"/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('are evaluated under the CPU budget of the entry that asked', async () => {
    const snapshot = await bareGuestWith(TEST_MODULES);
    const engine = await GuestEngine.create({ memoryLimitBytes: 16 * MiB, host: noHost, from: snapshot });
    try {
      assert.throws(
        () => engine.evalScript(ASK('spin'), 'spin.js', 50, 60_000),
        (err: unknown) => err instanceof GuestFailure && err.kind === 'interrupted',
      );
    } finally {
      engine.dispose();
    }
  });

  it('are evaluated under the memory cap of the guest that asked', async () => {
    const snapshot = await bareGuestWith(TEST_MODULES);
    const engine = await GuestEngine.create({ memoryLimitBytes: 16 * MiB, host: noHost, from: snapshot });
    try {
      assert.throws(
        () => engine.evalScript(ASK('hog'), 'hog.js', 10_000, 60_000),
        (err: unknown) => err instanceof GuestFailure && err.kind === 'out_of_memory',
      );
    } finally {
      engine.dispose();
    }
  });

  it("cost a sandbox nothing until it uses them, then only that sandbox's memory", async () => {
    const USER = `export default function (pi) {
      pi.on('seal', async () => {
        const key = await crypto.subtle.importKey('raw', new Uint8Array(32), 'AES-GCM', false, ['encrypt']);
        return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, new Uint8Array(4))).length;
      });
    }`;
    const user = await loadSource(USER);
    const idle = await loadSource(USER);
    const idleBefore = idle.sandbox.memoryUsed();
    const userBefore = user.sandbox.memoryUsed();
    assert.equal(await ask(user, 'seal'), 20);
    assert.ok(user.sandbox.memoryUsed() > userBefore, 'expected the module to be evaluated into the sandbox that used it');
    assert.equal(idle.sandbox.memoryUsed(), idleBefore, 'expected the other sandbox untouched');
    user.sandbox.dispose();
    idle.sandbox.dispose();
  });
});
