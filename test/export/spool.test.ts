/**
 * The spool's bound (issue 22 item 3): one alert per collector outage, however the drops fall into batches. The
 * outage ends when the collector takes records, not when the count of drops has been written into the spool.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore, queryAlerts } from '../../src/evidence/index.ts';
import { acknowledge, peekSpool, spoolRecords } from '../../src/export/spool.ts';
import { dropsRecord, type ExportRecord } from '../../src/export/records.ts';
import { tempHome } from '../evidence/fixtures.ts';

const big = (i: number): ExportRecord => ({ ...dropsRecord(0, i), body: `record ${i} ${'x'.repeat(600)}` });
const size = (r: ExportRecord) => JSON.stringify(r).length;

describe('export spool bound', () => {
  it('drops in several batches of one outage raise one alert; a new outage after the collector took records raises another', () => {
    const db = openStore(tempHome());
    try {
      // Room for ten big records and one drop count, not for an eleventh big record.
      const bound = 10 * size(big(0)) + size(dropsRecord(99, 0)) + 10;
      const alerts = () => queryAlerts(db, { category: 'fleet_export' }).length;
      assert.deepEqual(
        spoolRecords(
          db,
          Array.from({ length: 10 }, (_, i) => big(i)),
          bound,
          1,
        ),
        { spooled: 10, dropped: 0 },
      );
      assert.equal(spoolRecords(db, [big(10)], bound, 2).dropped, 1);
      assert.equal(alerts(), 1);
      // The drop count fits and is written; the next record still does not: the same outage.
      assert.equal(spoolRecords(db, [big(11)], bound, 3).dropped, 1);
      assert.ok(
        peekSpool(db, 100).some((r) => r.record.kind === 'export_drops'),
        'the drop count is in the spool',
      );
      assert.equal(alerts(), 1, 'one alert for the outage');
      // The collector takes everything: the outage is over, and the next one is alerted again.
      const all = peekSpool(db, 100);
      acknowledge(db, all[all.length - 1]!.seq, all.length, 4);
      spoolRecords(
        db,
        Array.from({ length: 10 }, (_, i) => big(20 + i)),
        bound,
        5,
      );
      assert.equal(spoolRecords(db, [big(30)], bound, 6).dropped, 1);
      assert.equal(alerts(), 2);
    } finally {
      db.close();
    }
  });
});
