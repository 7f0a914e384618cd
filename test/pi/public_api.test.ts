/**
 * The runtime pieces the bridge uses are exported and typed (issue 14 item 8): `pi-warden/runtime` and
 * `pi-warden/bridge` resolve through the package's exports to the built files, and a program can build a bridge
 * session from them alone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('public API', () => {
  it('pi-warden/runtime and pi-warden/bridge resolve to built, typed modules', async () => {
    for (const name of ['pi-warden/runtime', 'pi-warden/bridge', 'pi-warden']) {
      const file = fileURLToPath(import.meta.resolve(name));
      assert.ok(existsSync(file), `${name} → ${file} is missing`);
      assert.ok(existsSync(file.replace(/\.js$/, '.d.ts')), `${name} has no type declarations`);
    }
    const runtime = (await import('pi-warden/runtime')) as Record<string, unknown>;
    for (const k of ['createRuntime', 'Sandbox', 'bundleEntry', 'locateExtensions', 'scanBeforeLoad', 'hostOperations'])
      assert.equal(typeof runtime[k], 'function', k);
    const bridge = (await import('pi-warden/bridge')) as Record<string, unknown>;
    for (const k of ['BridgeSession', 'registerProxies', 'runLauncher', 'startPackageRoute', 'adopt', 'status'])
      assert.equal(typeof bridge[k], 'function', k);
  });

  it('a bridge session opens and closes from the exported API alone', async () => {
    const { BridgeSession } = await import('pi-warden/bridge');
    const root = mkdtempSync(join(tmpdir(), 'pi-warden-api-'));
    try {
      const env = { HOME: root, PI_CODING_AGENT_DIR: join(root, 'agent'), PATH: '/usr/bin:/bin' };
      const session = await BridgeSession.open({ cwd: root, home: join(root, 'warden'), env });
      assert.deepEqual(session.failures, []);
      await session.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
