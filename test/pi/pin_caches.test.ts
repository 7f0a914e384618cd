/**
 * The pin check at session start (is the adopted extension still the bundle that was adopted?) goes through the
 * session's caches on disk: a new pi process does not bundle and scan again what its load then takes from the cache.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { clearBundleCache } from '../../src/sandbox/bundle.ts';
import { policyFor } from '../helpers.ts';

describe('the pin check at session start', () => {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-pin-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('bundles through the disk cache and keeps its scan verdict sealed on disk', async () => {
    const home = join(root, 'home');
    const dir = join(root, 'ext');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'index.ts'),
      'export default function (pi: any) { pi.registerTool({ name: "t", execute: async () => ({ content: [] }) }); }',
    );
    const ext = locateExtensions(join(dir, 'index.ts'))[0]!;
    const pins: string[] = [];
    for (let round = 0; round < 2; round++) {
      clearBundleCache(); // another process: nothing in memory
      const session = await BridgeSession.open({ cwd: root, home, env: {}, policy: policyFor({}) });
      try {
        pins.push((await session.pin(ext)).bundleHash);
      } finally {
        await session.close();
      }
      assert.ok(readdirSync(join(home, 'cache', 'bundles')).length > 0, 'the bundle is kept on disk');
      assert.ok(readdirSync(join(home, 'cache', 'scans')).length > 0, 'the scan verdict is kept on disk');
    }
    assert.equal(pins[0], pins[1]);
  });
});
