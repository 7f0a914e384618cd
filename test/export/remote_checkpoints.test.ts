/**
 * `ledger verify --remote-checkpoints`: checkpoints that left the machine catch what the local ones no longer can, a
 * tail rewritten after its newest local checkpoints were deleted (the ledger's stated limit, docs/ledger-format.md).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { leafHash } from '../../src/evidence/index.ts';
import { FleetExporter, parseRemoteCheckpoints } from '../../src/export/index.ts';
import { buildStore, editAsRows, openRw, tempHome, verify } from '../evidence/fixtures.ts';
import { FAST, OtlpReceiver, otlpConfig, waitFor } from './receiver.ts';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

/** An attacker with write access: deletes the checkpoints past `keep` and rewrites every entry after it consistently. */
function rewriteTailAfter(home: string, keep: number): void {
  const db = openRw(home);
  db.prepare('DELETE FROM checkpoints WHERE tree_size > ?').run(keep);
  editAsRows(db, () => {
    let prev = (db.prepare('SELECT ledger_hash FROM ledger WHERE seq = ?').get(keep) as { ledger_hash: string }).ledger_hash;
    for (const row of db.prepare('SELECT seq, entry FROM ledger WHERE seq > ? ORDER BY seq').all(keep) as Array<{
      seq: number;
      entry: string;
    }>) {
      const entry = row.entry
        .replace('"decision":"deny"', '"decision":"allow"')
        .replace(/"prev_ledger_hash":(null|"[0-9a-f]{64}")/, `"prev_ledger_hash":"${prev}"`);
      const h = leafHash(entry);
      db.prepare('UPDATE ledger SET entry = ?, ledger_hash = ? WHERE seq = ?').run(entry, h, row.seq);
      prev = h;
    }
  });
  db.close();
}

describe('ledger verify --remote-checkpoints', () => {
  const rx = new OtlpReceiver();
  after(() => rx.stop());

  it('a tail rewritten after its local checkpoints were deleted verifies intact locally, and as tampering against the exported ones', async () => {
    await rx.start();
    const home = tempHome();
    await buildStore(12, { home });
    await buildStore(12, { home });
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url), ...FAST });
    assert.ok(await waitFor(() => rx.of('pi_warden.checkpoint').some((r) => r.attributes.get('pi_warden.checkpoint.tree_size') === 24)));
    await exporter.close();
    // What the collector kept, as its file exporter writes it: one OTLP/JSON request per line.
    const dump = join(tempHome(), 'checkpoints.jsonl');
    writeFileSync(dump, rx.requests.map((r) => JSON.stringify(r)).join('\n'));
    assert.ok(parseRemoteCheckpoints(rx.requests.map((r) => JSON.stringify(r)).join('\n'), dump).checkpoints.length >= 2);

    const before = await cli(['ledger', 'verify', '--home', home, '--remote-checkpoints', dump, '--json']);
    assert.equal(before.code, 0, before.out + before.err);

    rewriteTailAfter(home, 12);
    assert.equal(verify(home).classification, 'intact', 'the local checkpoints no longer show the rewrite (the stated limit)');
    const r = await cli(['ledger', 'verify', '--home', home, '--remote-checkpoints', dump, '--json']);
    assert.equal(r.code, 1, r.out + r.err);
    const report = JSON.parse(r.out) as {
      classification: string;
      verification_errors: Array<{ kind: string }>;
      remote_checkpoints: { checked: number };
    };
    assert.equal(report.classification, 'tampering');
    assert.ok(report.verification_errors.some((e) => e.kind === 'checkpoint_mismatch'));
    assert.ok(report.remote_checkpoints.checked >= 2);
  });

  it('a dump with no checkpoint of this store is a usage error naming the key it expected', async () => {
    const { home } = await buildStore(3);
    const dump = join(tempHome(), 'other.json');
    writeFileSync(dump, JSON.stringify([{ tree_size: 3, root_hash: 'a'.repeat(64), ts_ms: 1, key_id: 'someone-else', signature: 'x' }]));
    const r = await cli(['ledger', 'verify', '--home', home, '--remote-checkpoints', dump]);
    assert.equal(r.code, 2);
    assert.match(r.err, /expected checkpoints signed by key \S+, found 1 checkpoint\(s\) of other keys/);
  });

  it('a remote checkpoint beyond the local ledger is truncation', async () => {
    const { home } = await buildStore(6);
    const db = openRw(home);
    const cps = (
      db.prepare('SELECT tree_size, root_hash, ts_ms, key_id, signature FROM checkpoints').all() as Array<Record<string, unknown>>
    ).map((c) => ({
      ...c,
    }));
    db.close();
    const dump = join(tempHome(), 'plain.json');
    writeFileSync(dump, JSON.stringify(cps));
    await buildStore(0, { home });
    const db2 = openRw(home);
    db2.exec('DELETE FROM checkpoints');
    editAsRows(db2, () => db2.exec('DELETE FROM ledger WHERE seq > 3'));
    db2.close();
    const r = await cli(['ledger', 'verify', '--home', home, '--remote-checkpoints', dump, '--json']);
    assert.equal(r.code, 1, r.out);
    assert.equal((JSON.parse(r.out) as { classification: string }).classification, 'truncation');
  });
});
