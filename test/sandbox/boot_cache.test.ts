/**
 * The booted guest kept on disk (issue 18 item 4): a fresh process restores it instead of starting esbuild and
 * evaluating the runtime; an entry that does not authenticate is booted again and replaced, never restored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBootedGuest } from '../../src/sandbox/boot.ts';
import { GuestEngine, type GuestSnapshot } from '../../src/sandbox/engine.ts';
import { guestRuntimeSource } from '../../src/sandbox/runtime.ts';

const noHost = () => JSON.stringify({ ok: false, error: { code: 'internal', message: 'no host in this test' } });

/** What a guest restored from `snapshot` says of itself: whether the runtime is installed, and a planted global. */
async function inspect(snapshot: GuestSnapshot): Promise<string> {
  const engine = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost, from: snapshot });
  try {
    return engine.evalScript('`${typeof __wardenEnter}/${typeof globalThis.planted}`', 'inspect.js', 1000, 10_000);
  } finally {
    engine.dispose();
  }
}

function entryFile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin'));
  assert.equal(files.length, 1, `expected one booted guest in ${dir}, found ${files.join(', ') || 'none'}`);
  return join(dir, files[0]!);
}

describe('the booted guest on disk (sealed, keyed by engine and runtime fingerprints)', () => {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-boot-cache-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('is booted and stored once, then restored from disk, and the restored guest has the runtime', async () => {
    const dir = join(root, 'plain');
    const first = await loadBootedGuest(dir);
    assert.equal(first.fromCache, false);
    const again = await loadBootedGuest(dir);
    assert.equal(again.fromCache, true);
    assert.equal(again.snapshot.bytes, first.snapshot.bytes);
    assert.equal(await inspect(again.snapshot), 'function/undefined');
  });

  it('two guests restored from the kept snapshot draw different Math.random sequences', async () => {
    const dir = join(root, 'random');
    await loadBootedGuest(dir);
    const kept = await loadBootedGuest(dir);
    assert.equal(kept.fromCache, true);
    const draws: string[] = [];
    for (let i = 0; i < 2; i++) {
      const engine = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost, from: kept.snapshot });
      draws.push(engine.evalScript('JSON.stringify([Math.random(), Math.random(), Math.random()])', 'draw.js', 1000, 10_000));
      engine.dispose();
    }
    assert.notEqual(draws[0], draws[1], 'expected each restored guest to draw from its own entropy');
  });

  it('a guest planted in the entry (data swapped, MAC kept) is never restored: booted again and the entry replaced', async () => {
    const dir = join(root, 'planted');
    await loadBootedGuest(dir);
    const file = entryFile(dir);
    const sealed = readFileSync(file);
    // A real guest of this engine, with something of the attacker's in its memory.
    const evil = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost });
    evil.evalScript('globalThis.__wardenEnter = () => "owned"; globalThis.planted = 1; ""', 'evil.js', 1000, 10_000);
    const planted = evil.snapshot().serialize();
    evil.dispose();
    writeFileSync(file, Buffer.concat([sealed.subarray(0, 32), planted]));
    const loaded = await loadBootedGuest(dir);
    assert.equal(loaded.fromCache, false, 'expected an entry that does not authenticate to be booted again');
    assert.equal(await inspect(loaded.snapshot), 'function/undefined');
    assert.equal((await loadBootedGuest(dir)).fromCache, true, 'expected the replaced entry to be restored next time');
  });

  it('an entry of another engine or runtime is removed when the current one is stored', async () => {
    const dir = join(root, 'stale');
    await loadBootedGuest(dir);
    const current = entryFile(dir);
    const stale = join(dir, `${'0'.repeat(64)}.bin`);
    writeFileSync(stale, readFileSync(current));
    writeFileSync(current, 'damaged');
    assert.equal((await loadBootedGuest(dir)).fromCache, false);
    assert.equal(entryFile(dir), current, 'expected only the current entry to remain');
  });

  it('a truncated entry, or one under a replaced key, is booted again', async () => {
    const dir = join(root, 'damaged');
    await loadBootedGuest(dir);
    const file = entryFile(dir);
    writeFileSync(file, readFileSync(file).subarray(0, 20));
    assert.equal((await loadBootedGuest(dir)).fromCache, false);
    writeFileSync(join(dir, 'key'), Buffer.alloc(32, 7));
    const rebooted = await loadBootedGuest(dir);
    assert.equal(rebooted.fromCache, false);
    assert.equal(await inspect(rebooted.snapshot), 'function/undefined');
  });
});

describe('the booted guest is small (issue 18 item 5: each restore copies it)', () => {
  it("is smaller than a guest that compiled the runtime itself: the parser's peak is not in it", async () => {
    const { snapshot } = await loadBootedGuest();
    const compiler = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost });
    compiler.compileScript(await guestRuntimeSource(), 'runtime.js');
    const withParserPeak = compiler.linearMemoryBytes();
    compiler.dispose();
    assert.ok(
      snapshot.bytes < withParserPeak,
      `expected the booted guest below ${withParserPeak} bytes (an instance that compiled the runtime), found ${snapshot.bytes}`,
    );
    const restored = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost, from: snapshot });
    assert.equal(restored.linearMemoryBytes(), snapshot.bytes, 'expected a restore to hold exactly the snapshot, no more');
    restored.dispose();
  });
});
