/**
 * An extension's compiled code kept on disk (issue 18 item 4, SandboxOptions.codeCacheDir): a later load runs the
 * kept code instead of compiling the bundle again; an edited extension, or an entry that does not authenticate, is
 * compiled again and the entry replaced, never run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ask, loadFixture } from './harness.ts';

const root = mkdtempSync(join(tmpdir(), 'pi-warden-code-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** An extension whose `describe` event answers with a constant and its handler's own source text. */
function extension(dir: string, constant: string): string {
  const file = join(dir, 'ext.ts');
  writeFileSync(
    file,
    `export default function (pi) {
      const answer = () => ${JSON.stringify(constant)};
      pi.on('describe', () => ({ answer: answer(), source: answer.toString() }));
    }`,
  );
  return file;
}

/** The one code entry in `dir` (the key file aside) with its bytes and modification time. */
function entry(dir: string): { path: string; bytes: Buffer; mtimeMs: number } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin'));
  assert.equal(files.length, 1, `expected one code entry in ${dir}, found ${files.join(', ') || 'none'}`);
  const path = join(dir, files[0]!);
  return { path, bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs };
}

async function describeOnce(file: string, codeCacheDir: string): Promise<unknown> {
  const h = await loadFixture(file, { codeCacheDir });
  try {
    return await ask(h, 'describe');
  } finally {
    h.sandbox.dispose();
  }
}

describe('compiled extension code on disk', () => {
  it('is compiled and kept once, then run from disk, and the extension behaves the same (its source text included)', async () => {
    const dir = mkdtempSync(join(root, 'same-'));
    const cache = join(dir, 'code');
    const file = extension(dir, 'first');
    const expected = { answer: 'first', source: `() => "first"` };
    assert.deepEqual(await describeOnce(file, cache), expected);
    const kept = entry(cache);
    assert.deepEqual(await describeOnce(file, cache), expected);
    const again = entry(cache);
    assert.equal(again.mtimeMs, kept.mtimeMs, 'a load that found its code does not write it again');
    assert.ok(again.bytes.equals(kept.bytes));
  });

  it('an edited extension runs its new code, never the code kept for its earlier text', async () => {
    const dir = mkdtempSync(join(root, 'edited-'));
    const cache = join(dir, 'code');
    const file = extension(dir, 'before');
    assert.deepEqual(await describeOnce(file, cache), { answer: 'before', source: `() => "before"` });
    extension(dir, 'after');
    assert.deepEqual(await describeOnce(file, cache), { answer: 'after', source: `() => "after"` });
  });

  it('an entry changed on disk does not authenticate: compiled again and replaced, the extension unchanged', async () => {
    const dir = mkdtempSync(join(root, 'tampered-'));
    const cache = join(dir, 'code');
    const file = extension(dir, 'honest');
    await describeOnce(file, cache);
    const kept = entry(cache);
    const tampered = Buffer.from(kept.bytes);
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0xff;
    writeFileSync(kept.path, tampered);
    assert.deepEqual(await describeOnce(file, cache), { answer: 'honest', source: `() => "honest"` });
    assert.ok(entry(cache).bytes.equals(kept.bytes), 'the entry is written again as it was');
  });
});
