/** The one alert insert (SPEC §6.5) and its raisers, against a real store. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { insertAlert, queryAlerts, SEVERITIES, type AlertInput } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { setRollout } from '../../src/risk/rollout.ts';
import { TrustRegistry } from '../../src/trust/lifecycle.ts';
import { tempHome } from './fixtures.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const BASE: AlertInput = {
  extension_id: 'ext',
  category: 'anomaly',
  severity: 'high',
  summary: 's',
  reason_codes: ['risk:deny'],
  remediation: 'r',
};

describe('insertAlert', () => {
  it('stores every field, derives severity_rank from severity, and returns the seq the query reads back', () => {
    const db = openStore(tempHome());
    const seqs = SEVERITIES.map((severity, i) =>
      insertAlert(db, { ...BASE, severity, ts_ms: 1000 + i, capability: i === 0 ? 'exec' : null, method: 'exec', call_id: `c${i}` }),
    );
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'seq is monotonic',
    );
    const all = queryAlerts(db);
    assert.deepEqual(
      all.map((a) => a.seq),
      seqs,
    );
    assert.deepEqual(all[0], {
      seq: seqs[0],
      ts_ms: 1000,
      extension_id: 'ext',
      category: 'anomaly',
      severity: 'info',
      capability: 'exec',
      method: 'exec',
      call_id: 'c0',
      summary: 's',
      reason_codes: ['risk:deny'],
      remediation: 'r',
    });
    // --min-severity reads severity_rank: each threshold returns exactly the alerts at or above it.
    for (const [i, min] of SEVERITIES.entries())
      assert.deepEqual(
        queryAlerts(db, { minSeverity: min }).map((a) => a.severity),
        SEVERITIES.slice(i),
      );
    const rows = db.prepare('SELECT severity, severity_rank FROM alerts ORDER BY seq').all() as Array<{
      severity: string;
      severity_rank: number;
    }>;
    assert.deepEqual(
      rows.map((r) => r.severity_rank),
      rows.map((r) => SEVERITIES.indexOf(r.severity as never)),
    );
    db.close();
  });

  it('fills optional fields: the current time, and null capability, method and call id', (t) => {
    const db = openStore(tempHome());
    // The clock is held, so "the current time" is one known value.
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    insertAlert(db, BASE);
    t.mock.timers.reset();
    const [a] = queryAlerts(db);
    assert.equal(a?.ts_ms, 1_700_000_000_000);
    assert.deepEqual([a.capability, a.method, a.call_id], [null, null, null]);
    db.close();
  });

  it('refuses a category or severity outside the vocabulary and stores nothing', () => {
    const db = openStore(tempHome());
    assert.throws(() => insertAlert(db, { ...BASE, severity: 'urgent' as never }), /severity "urgent": expected one of info, low/);
    assert.throws(() => insertAlert(db, { ...BASE, category: 'gossip' as never }), /category "gossip": expected one of policy_violation/);
    assert.equal(queryAlerts(db).length, 0);
    db.close();
  });

  it('commits with the caller: an alert inside a rolled-back transaction is gone with it', () => {
    const db = openStore(tempHome());
    db.exec('BEGIN IMMEDIATE');
    insertAlert(db, BASE);
    db.exec('ROLLBACK');
    assert.equal(queryAlerts(db).length, 0);
    db.close();
  });

  it('the writer, trust transitions and rollout changes all store their alerts through it (consistent ranks)', async () => {
    const home = tempHome();
    const writer = await EvidenceWriter.open(home);
    writer.raise({ ...BASE, severity: 'critical' });
    await writer.close();
    const db = openStore(home);
    new TrustRegistry(db).transition('ext', 'kill', 'ops', 'test');
    setRollout(db, 'shadow', 'ops', 'test');
    const alerts = queryAlerts(db);
    assert.deepEqual(
      alerts.map((a) => [a.category, a.severity]),
      [
        ['anomaly', 'critical'],
        ['quarantine', 'critical'],
        ['profile_transition', 'medium'],
      ],
    );
    assert.deepEqual(
      queryAlerts(db, { minSeverity: 'critical' }).map((a) => a.category),
      ['anomaly', 'quarantine'],
    );
    db.close();
  });

  it('is the only place in src that writes the alerts table', () => {
    const writers = sourceFiles(SRC).filter((f) => /INSERT\s+(OR\s+\w+\s+)?INTO\s+alerts\b/i.test(readFileSync(f, 'utf8')));
    assert.deepEqual(
      writers.map((f) => f.slice(SRC.length)),
      ['evidence/alerts.ts'],
    );
  });
});
