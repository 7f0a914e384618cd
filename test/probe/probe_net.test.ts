/**
 * `probe` answers a sandboxed extension's socket the way a machine without its server would: the connect is
 * refused (ECONNREFUSED), nothing names the probe, and the activity says where it tried to connect.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { HeadlessHost } from '../../src/probe/index.ts';

it('the headless host refuses net.connect as a machine with nothing listening would, and records the target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-headless-net-'));
  const host = new HeadlessHost({ cwd: dir, home: dir });
  const op = { extensionId: 'x', callId: 'c', capability: 'net' as const, signal: new AbortController().signal };
  for (const params of [{ port: 5007 }, { path: join(dir, 'lsp.sock') }]) {
    assert.throws(
      () => host.perform('net.connect', params, op),
      (e: Error & { code?: string }) => e.code === 'io' && /^net\.connect: ECONNREFUSED: /.test(e.message) && !/probe/i.test(e.message),
    );
  }
  assert.deepEqual(
    host.activity.map((a) => a.summary),
    ['localhost:5007', join(dir, 'lsp.sock')],
  );
});
