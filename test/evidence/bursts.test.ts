/**
 * Repeated identical refusals and breaches are summarised (issue 16 item 5): a refusal flood leaves a bounded number
 * of ledger entries and breach rows, the summaries' counts are exact (nothing silently lost), and the ledger still
 * verifies. Real writer thread, real SQLite store, real dispatcher; counts only, no clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatcher, type Operation } from '../../src/dispatch/index.ts';
import { EvidenceWriter, openStore, parseEntry, SUMMARY_REASON, summarisedCount } from '../../src/evidence/index.ts';
import { compilePolicy, rulesFor } from '../../src/policy/index.ts';
import { queryBreaches } from '../../src/trust/index.ts';
import { tempHome, verify } from './fixtures.ts';

describe('bursts: a refusal flood is summarised into signed counter entries', () => {
  it('5 rounds of 1,000 identical refusals: a bounded ledger, exact counts, verify passes; other calls are written one by one', async () => {
    const home = tempHome();
    const writer = await EvidenceWriter.open(home, { bursts: { quietMs: 20, summaryEveryMs: 50 } });
    const ops = new Map<string, Operation>([['fs.read', () => 'content']]);
    const d = createDispatcher({ policy: compilePolicy(rulesFor('safe', false)), operations: ops, recorder: writer, alerts: writer });
    const ROUNDS = 5;
    const PER_ROUND = 1000;
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) {
        const r = await d.dispatch('flood', { call_id: `x${round}-${i}`, method: 'exec', params: { cmd: 'curl', args: ['https://x'] } });
        if (!r.ok) refused++;
      }
      // Between rounds the writer's summary timer runs (a burst that ends, or a periodic summary).
      await new Promise((r) => setTimeout(r, 60));
    }
    // Different targets are different refusals: each is written.
    for (let i = 0; i < 30; i++) await d.dispatch('flood', { call_id: `y${i}`, method: 'exec', params: { cmd: `tool-${i}` } });
    for (let i = 0; i < 1000; i++)
      writer.recordBreach({ extension_id: 'flood', resource: 'hostcalls_per_second', limit: 100, actual: 101 + i, ts_ms: Date.now() });
    await writer.close();
    assert.equal(refused, ROUNDS * PER_ROUND);

    const db = openStore(home, { readOnly: true });
    let entries;
    let breaches;
    try {
      entries = (db.prepare('SELECT entry, ledger_hash FROM ledger ORDER BY seq').all() as Array<{ entry: string; ledger_hash: string }>)
        .map((row) => parseEntry(row.entry, row.ledger_hash))
        .filter((e) => e.extension_id === 'flood');
      breaches = queryBreaches(db, 'flood');
    } finally {
      db.close();
    }
    const flood = entries.filter((e) => e.method === 'exec' && !e.call_id.startsWith('y'));
    const summaries = flood.filter((e) => e.reason_codes.includes(SUMMARY_REASON));
    assert.ok(summaries.length >= 1, 'at least one summary entry');
    assert.equal(
      flood.reduce((n, e) => n + summarisedCount(e), 0),
      ROUNDS * PER_ROUND,
      'the entries written plus the summaries counts are every refusal',
    );
    assert.ok(flood.length < 200, `a bounded number of ledger entries for ${ROUNDS * PER_ROUND} refusals (${flood.length})`);
    assert.equal(flood.length - summaries.length, 20, 'the first 20 identical refusals are written one by one, then counted');
    assert.equal(entries.filter((e) => e.call_id.startsWith('y')).length, 30);
    assert.equal(
      breaches.reduce((n, b) => n + (b.repeats ?? 1), 0),
      1000,
      'breach rows likewise: exact counts',
    );
    assert.ok(breaches.length < 50, `a bounded number of breach rows (${breaches.length})`);
    const report = verify(home);
    assert.equal(report.classification, 'intact', JSON.stringify(report.verification_errors.slice(0, 3)));
  });
});
