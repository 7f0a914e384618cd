/** `pi-warden bundle export|verify|disclose` through the real CLI entry (NO_COLOR): exit codes and --json documents. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../../src/cli/main.ts';
import { keyPath } from '../../../src/evidence/keys.ts';
import { tempHome } from '../fixtures.ts';
import { buildIncidentStore } from './stores.ts';

process.env['NO_COLOR'] = '1';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

describe('pi-warden bundle', () => {
  it('export then verify exits 0; a tampered bundle exits 1 naming section, entry and reason; --json prints one document', async () => {
    const { home } = await buildIncidentStore(8);
    const file = join(tempHome(), 'b.json');
    const exp = await run(['bundle', 'export', '--home', home, '--out', file, '--redact', 'params,remediation', '--json']);
    assert.equal(exp.code, 0, exp.err);
    const doc = JSON.parse(exp.out) as { schema: string; bundle_hash: string; file_sha256: string; entries: number };
    assert.equal(doc.schema, 'pi-warden.bundle_export.v1');
    assert.equal(doc.entries, 8);
    const ok = await run(['bundle', 'verify', file, '--home', home, '--public-key', keyPath(home)]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /Bundle VERIFIED/);
    const text = readFileSync(file, 'utf8').replace('"decision":"allow"', '"decision":"error"');
    const bad = join(tempHome(), 'bad.json');
    writeFileSync(bad, text);
    const r = await run(['bundle', 'verify', bad, '--home', home, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out) as {
      schema: string;
      ok: boolean;
      failures: Array<{ section: string; entry?: string; reason: string }>;
    };
    assert.equal(report.schema, 'pi-warden.bundle_verification.v1');
    assert.equal(report.ok, false);
    assert.ok(report.failures.some((f) => f.section === 'bundle' && f.reason === 'bundle_hash_mismatch'));
    assert.ok(report.failures.some((f) => f.section === 'summary' && f.reason === 'summary_mismatch'));
  });

  it('refuses an export without a signing key, an unknown redaction class and an existing output file, each with exit 2', async () => {
    const { home } = await buildIncidentStore(2);
    const file = join(tempHome(), 'b.json');
    assert.equal((await run(['bundle', 'export', '--home', home, '--out', file, '--redact', 'secrets'])).code, 2);
    assert.equal((await run(['bundle', 'export', '--home', tempHome(), '--out', file])).code, 2);
    assert.equal((await run(['bundle', 'export', '--home', home, '--out', file])).code, 0);
    const again = await run(['bundle', 'export', '--home', home, '--out', file]);
    assert.equal(again.code, 2);
    assert.match(again.err, /cannot write the bundle/);
  });

  it('disclose prints the value and salt of one redacted field and exits 0 when the commitment opens', async () => {
    const { home } = await buildIncidentStore(4);
    const file = join(tempHome(), 'b.json');
    assert.equal((await run(['bundle', 'export', '--home', home, '--out', file, '--redact', 'all'])).code, 0);
    const r = await run([
      'bundle',
      'disclose',
      file,
      '--home',
      home,
      '--section',
      'exec_log',
      '--entry',
      '1',
      '--field',
      'command_hash',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const d = JSON.parse(r.out) as { schema: string; opens: boolean; value: string };
    assert.equal(d.schema, 'pi-warden.bundle_disclosure.v1');
    assert.equal(d.opens, true);
    assert.match(d.value, /^c0ffee/);
  });
});
