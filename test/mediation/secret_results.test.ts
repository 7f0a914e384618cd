/**
 * What comes back is scanned too (issue 6: an extension cannot *obtain* a held secret): a file, command output or
 * host tool's result holding a held value is withheld and alerted; the disclosure allowlist lets a named one
 * through.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/dispatcher.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

const SECRET = 'pk_live_51HxQe2ResultScanValue0987654321';
const HONEY = 'honey-result-0123456789abcdef';
const project = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-results-')));
mkdirSync(join(project, 'cfg'));
writeFileSync(join(project, '.env'), `PAYMENTS_API_KEY=${SECRET}\n`);
writeFileSync(join(project, 'cfg', 'b64.txt'), Buffer.from(`key=${SECRET}`).toString('base64'));
writeFileSync(join(project, 'cfg', 'honey.txt'), `token: ${HONEY}`);
writeFileSync(join(project, 'cfg', 'app.conf'), `stripe = ${SECRET}\n`);
writeFileSync(join(project, 'README.md'), 'nothing secret here; ghp_ looking text is fine\n');

const realExec: Operation = (p) => {
  const r = spawnSync(String(p.cmd), (p.args ?? []) as string[], { cwd: project, encoding: 'utf8', env: p.env as Record<string, string> });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
};

async function runtime(
  extensionPolicy: Record<string, unknown> = {},
  heldSecrets?: Array<{ name: string; value: string; honeytoken?: boolean }>,
) {
  const home = tempHome();
  const rt = await createRuntime({
    home,
    policy: policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true, ...extensionPolicy } } }),
    workspace: project,
    realFs: true,
    operations: new Map([
      ['exec', realExec],
      ['tool', () => ({ content: [{ type: 'text', text: `cat says ${SECRET}` }] })],
    ]),
    ...(heldSecrets === undefined ? {} : { heldSecrets }),
    parentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  return { home, rt };
}

describe('results holding a held secret are withheld', () => {
  it('fs.read (utf8 and base64), command output and a host tool result; alerts by severity; clean reads pass', async () => {
    const { home, rt } = await runtime({}, [
      { name: 'PAYMENTS_API_KEY', value: SECRET },
      { name: 'OPENAI_API_KEY', value: HONEY, honeytoken: true },
    ]);
    const d = (method: string, params: Record<string, unknown>) =>
      rt.dispatcher.dispatch('reader', { call_id: `${method}-${Math.random()}`, method, params });
    const withheld = async (method: string, params: Record<string, unknown>, what: string) => {
      const r = await d(method, params);
      assert.ok(
        !r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('secret_in_result'),
        `${what}: ${JSON.stringify(r).slice(0, 300)}`,
      );
      assert.equal(JSON.stringify(r).includes(SECRET), false);
    };
    await withheld('fs.read', { path: '.env', encoding: 'utf8' }, 'utf8 read');
    await withheld('fs.read', { path: '.env' }, 'base64 read');
    await withheld('fs.read', { path: 'cfg/b64.txt', encoding: 'utf8' }, 'a base64-encoded copy in a file');
    await withheld('exec', { cmd: 'cat', args: ['cfg/app.conf'] }, 'command output');
    await withheld('tool', { name: 'web_search', input: { query: 'x' } }, 'a host tool result');
    await withheld('fs.read', { path: 'cfg/honey.txt', encoding: 'utf8' }, 'honeytoken file');
    // In pieces: no 7-byte slice holds the value, the file does.
    await withheld('fs.read', { path: 'cfg/app.conf', encoding: 'utf8', offset: 9, length: 7 }, 'a slice of a file holding a secret');
    const slice = await d('fs.read', { path: 'README.md', encoding: 'utf8', offset: 8, length: 6 });
    assert.ok(slice.ok && slice.value === 'secret', 'a slice of a clean file is read as asked');
    const clean = await d('fs.read', { path: 'README.md', encoding: 'utf8' });
    assert.ok(clean.ok && String(clean.value).startsWith('nothing secret'));
    const ls = await d('exec', { cmd: 'ls', args: ['cfg'] });
    assert.ok(ls.ok, 'command output without a secret passes');
    await rt.close();
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'secret_exposure' }).filter((a) => a.reason_codes.includes('secret_in_result'));
    assert.equal(alerts.length, 7);
    assert.equal(alerts.filter((a) => a.severity === 'critical').length, 1, 'the honeytoken read');
    assert.ok(alerts.every((a) => !a.summary.includes(SECRET)));
    const log = db.prepare("SELECT path FROM secret_broker_log WHERE path LIKE 'result.%'").all() as Array<{ path: string }>;
    assert.ok(log.some((e) => e.path === 'result.fs.read') && log.some((e) => e.path === 'result.exec.stdout'));
    db.close();
  });

  it('secrets held from the environment by default; the disclosure allowlist lets a named one be read', async () => {
    process.env.PIW_RESULT_TEST_API_KEY = SECRET;
    try {
      const held = await runtime();
      const r = await held.rt.dispatcher.dispatch('reader', {
        call_id: 'a',
        method: 'fs.read',
        params: { path: '.env', encoding: 'utf8' },
      });
      assert.ok(!r.ok && r.error.reasonCodes.includes('secret_in_result'));
      await held.rt.close();
      const allowed = await runtime({ secretBroker: { disclosureAllowlist: ['PIW_RESULT_TEST_API_KEY'] } });
      const ok = await allowed.rt.dispatcher.dispatch('reader', {
        call_id: 'b',
        method: 'fs.read',
        params: { path: '.env', encoding: 'utf8' },
      });
      assert.ok(ok.ok && String(ok.value).includes(SECRET), JSON.stringify(ok).slice(0, 200));
      await allowed.rt.close();
    } finally {
      delete process.env.PIW_RESULT_TEST_API_KEY;
    }
  });
});
