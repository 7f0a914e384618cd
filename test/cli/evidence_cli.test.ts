/** `ledger verify|replay`, `alerts`, `keys export` through the real bin. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildStore, editStore, tempHome } from '../evidence/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));

function cli(home: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, PI_WARDEN_HOME: home, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pi-warden ledger verify', () => {
  it('exit 0 and INTACT on an honest ledger', async () => {
    const { home } = await buildStore(20);
    const r = cli(home, ['ledger', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Ledger INTACT: 20 entries checked/);
  });

  it('on a tampered ledger prints the break point and classification, exits 1 and records a ledger_integrity alert', async () => {
    const { home } = await buildStore(30);
    editStore(home, (db) => db.exec('DELETE FROM ledger WHERE seq = 12'));
    const text = cli(home, ['ledger', 'verify']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /Ledger TAMPERING/);
    assert.match(text.stdout, /first break at seq 12/);
    const json = JSON.parse(cli(home, ['ledger', 'verify', '--json']).stdout);
    assert.equal(json.classification, 'tampering');
    assert.equal(json.first_break_seq, 12);
    const alerts = JSON.parse(cli(home, ['alerts', '--category', 'ledger_integrity', '--json']).stdout);
    assert.ok(alerts.count >= 1);
    assert.equal(alerts.alerts[0].severity, 'critical');
  });

  it('checks signatures against an exported public key, and a wrong key is refused as an operator error', async () => {
    const { home } = await buildStore(10);
    const exported = JSON.parse(cli(home, ['keys', 'export', '--json']).stdout);
    assert.match(exported.key_id, /^[0-9a-f]{16}$/);
    const pem = join(home, 'trusted.pem');
    writeFileSync(pem, exported.public_key_pem);
    assert.equal(cli(home, ['ledger', 'verify', '--public-key', pem]).code, 0);
    const other = tempHome();
    const otherKey = JSON.parse(cli(other, ['keys', 'export', '--json']).stdout);
    const wrong = join(home, 'wrong.pem');
    writeFileSync(wrong, otherKey.public_key_pem);
    // A key that signed none of the checkpoints is an operator error (exit 2), reported as JSON with --json.
    const raw = cli(home, ['ledger', 'verify', '--public-key', wrong, '--json']);
    assert.equal(raw.code, 2);
    const r = JSON.parse(raw.stdout);
    assert.equal(r.schema, 'pi-warden.error.v1');
    assert.match(r.error.message, /signed none of them/);
  });

  it('a missing store or a corrupt database file is a clear error with exit 2', () => {
    const empty = tempHome();
    const r = cli(empty, ['ledger', 'verify', '--home', join(empty, 'nowhere')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no signing key|no evidence store/);
    const corrupt = tempHome();
    writeFileSync(join(corrupt, 'warden.db'), 'garbage '.repeat(512));
    cli(corrupt, ['keys', 'export']);
    const c = cli(corrupt, ['ledger', 'verify']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /warden\.db: not a readable pi-warden store/);
  });
});

describe('pi-warden ledger replay and alerts', () => {
  it('replay reports matches and exits 0 on an honest ledger', async () => {
    const { home } = await buildStore(12);
    const r = JSON.parse(cli(home, ['ledger', 'replay', '--json']).stdout);
    assert.equal(r.matching, 12);
    assert.equal(cli(home, ['ledger', 'replay', '--until', '5']).code, 0);
    assert.equal(cli(home, ['ledger', 'replay', '--until', 'soon']).code, 2);
  });

  it('alerts filters and validates its options', async () => {
    const { home } = await buildStore(12);
    const all = JSON.parse(cli(home, ['alerts', '--json']).stdout);
    assert.ok(all.count >= 1);
    const text = cli(home, ['alerts', '--min-severity', 'high']);
    assert.match(text.stdout, /policy_violation/);
    assert.equal(cli(home, ['alerts', '--category', 'nonsense']).code, 2);
    assert.equal(cli(home, ['alerts', '--since', 'yesterday-ish']).code, 2);
    assert.equal(JSON.parse(cli(home, ['alerts', '--json']).stdout).count, all.count, 'listing removes nothing');
  });
});
