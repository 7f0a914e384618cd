import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleEntry, clearBundleCache } from '../../src/sandbox/index.ts';

/** An extension of two files and an empty cache folder. */
function extension(): { file: string; dep: string; cacheDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-disk-cache-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"cached"}');
  const dep = join(dir, 'dep.ts');
  writeFileSync(dep, 'export const greeting = "hello";');
  const file = join(dir, 'ext.ts');
  writeFileSync(file, 'import { greeting } from "./dep.ts"; export default function (pi) { pi.on("input", () => greeting); }');
  return { file, dep, cacheDir: join(dir, 'cache') };
}

function entryFile(cacheDir: string): string {
  const files = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1, `expected one cache entry in ${cacheDir}, found ${files.join(', ')}`);
  return join(cacheDir, files[0]!);
}

/** Rewrites the stored entry's bundle; `sign` re-authenticates it with the cache's own key (a forger who has it). */
function tamper(cacheDir: string, edit: (bundle: { code: string; bundleHash: string }) => void, sign: boolean): void {
  const path = entryFile(cacheDir);
  const file = JSON.parse(readFileSync(path, 'utf8')) as { body: string; mac: string };
  const body = JSON.parse(file.body) as { bundle: { code: string; bundleHash: string } };
  edit(body.bundle);
  const text = JSON.stringify(body);
  const mac = sign
    ? createHmac('sha256', readFileSync(join(cacheDir, 'key')))
        .update(text)
        .digest('hex')
    : file.mac;
  writeFileSync(path, JSON.stringify({ body: text, mac }));
}

const EVIL = 'module.exports = function () { globalThis.evil = true; };';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('bundles cached on disk', () => {
  it('a later process (an empty in-memory cache) reuses the bundle from disk, and rebuilds when an input changed', async () => {
    const { file, dep, cacheDir } = extension();
    const first = await bundleEntry(file, { cacheDir });
    clearBundleCache();
    const second = await bundleEntry(file, { cacheDir });
    assert.equal(first.fromCache, false);
    assert.equal(second.fromCache, true);
    assert.equal(second.code, first.code);
    assert.deepEqual(second.inputs, first.inputs);
    writeFileSync(dep, 'export const greeting = "changed";');
    clearBundleCache();
    const third = await bundleEntry(file, { cacheDir });
    assert.equal(third.fromCache, false);
    assert.match(third.code, /changed/);
  });

  it('an entry edited without the cache key (code and its hash swapped) is not run: rebuilt and overwritten', async () => {
    const { file, cacheDir } = extension();
    const built = await bundleEntry(file, { cacheDir });
    tamper(
      cacheDir,
      (b) => {
        b.code = EVIL;
        b.bundleHash = sha256(EVIL);
      },
      false,
    );
    clearBundleCache();
    const again = await bundleEntry(file, { cacheDir });
    assert.equal(again.fromCache, false);
    assert.equal(again.bundleHash, built.bundleHash);
    clearBundleCache();
    assert.equal((await bundleEntry(file, { cacheDir })).fromCache, true, 'expected the rebuilt entry to replace the tampered one');
  });

  it('an authenticated entry whose code does not hash to its bundleHash is not run', async () => {
    const { file, cacheDir } = extension();
    const built = await bundleEntry(file, { cacheDir });
    tamper(cacheDir, (b) => (b.code = EVIL), true);
    clearBundleCache();
    const again = await bundleEntry(file, { cacheDir });
    assert.equal(again.fromCache, false);
    assert.equal(again.code, built.code);
  });

  it('a truncated entry or a damaged key is a miss, not a failure', async () => {
    const { file, cacheDir } = extension();
    const built = await bundleEntry(file, { cacheDir });
    const path = entryFile(cacheDir);
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 100));
    clearBundleCache();
    assert.equal((await bundleEntry(file, { cacheDir })).fromCache, false);
    writeFileSync(join(cacheDir, 'key'), 'short');
    clearBundleCache();
    const again = await bundleEntry(file, { cacheDir });
    assert.equal(again.fromCache, false);
    assert.equal(again.bundleHash, built.bundleHash);
  });
});
