/** `pi-warden policy explain` shows a net grant (ADR 0038) in text and JSON, run as a real child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settingsDirs } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));

it('policy explain prints the sockets a net grant names, and says when its owner check is off', () => {
  const dirs = settingsDirs({
    user: {
      extensionPolicy: {
        allowDangerous: true,
        overrides: { lsp: { allow: ['exec', 'net'], net: { unix: ['/srv/lsp.sock'], tcpPorts: [5007, '6000-6010'], ownerCheck: false } } },
      },
    },
  });
  const run = (args: string[]) =>
    spawnSync(process.execPath, [BIN, 'policy', 'explain', '--extension', 'lsp', ...args], {
      cwd: dirs.cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...dirs.env, NO_COLOR: '1' },
    });
  const json = run(['--json']);
  assert.equal(json.status, 0, json.stderr);
  const e = JSON.parse(json.stdout) as { overrides: Record<string, { net?: unknown }>; capabilities: Record<string, { decision: string }> };
  assert.deepEqual(e.overrides.lsp?.net, { unix: ['/srv/lsp.sock'], tcp_ports: ['5007', '6000-6010'], owner_check: false });
  assert.equal(e.capabilities.net?.decision, 'allow');
  const text = run([]);
  assert.equal(text.status, 0, text.stderr);
  // The table wraps its cells: the grant's words are checked, not the line they land on.
  assert.match(text.stdout, /│ sockets +│/);
  assert.match(text.stdout, /unix \/srv\/lsp\.sock, tcp 5007, tcp 6000-6010,/);
  assert.match(text.stdout, /owner check off/);
  assert.match(text.stdout, /│ net \(dangerous\)/);
});
