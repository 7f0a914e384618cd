/**
 * Fleet export end to end with real parts: a real store written by the evidence writer, the OpenTelemetry SDK
 * exporter, and a local OTLP/HTTP receiver on 127.0.0.1 that the tests stop and start again.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { insertAlert, openStore, queryAlerts } from '../../src/evidence/index.ts';
import { FleetExporter } from '../../src/export/index.ts';
import { TrustRegistry } from '../../src/trust/index.ts';
import { buildStore, tempHome } from '../evidence/fixtures.ts';
import { FAST, OtlpReceiver, otlpConfig, waitFor } from './receiver.ts';

const CANARY = 'sk-canary-7f3a9c1e5b2d4f60';

const open: Array<{ close(): Promise<unknown> }> = [];
after(async () => {
  for (const x of open) await x.close().catch(() => undefined);
});

async function receiver(): Promise<OtlpReceiver> {
  const r = new OtlpReceiver();
  await r.start();
  open.push({ close: () => r.stop() });
  return r;
}

function addAlerts(home: string, n: number, summary = (i: number) => `alert ${i}`): void {
  const db = openStore(home);
  for (let i = 0; i < n; i++)
    insertAlert(db, {
      extension_id: 'ext-a',
      category: 'policy_violation',
      severity: i % 2 === 0 ? 'high' : 'low',
      method: 'http.fetch',
      capability: 'http',
      summary: summary(i),
      reason_codes: ['extension_deny'],
      remediation: 'r',
    });
  db.close();
}

function storeAlertSeqs(home: string): number[] {
  const db = openStore(home);
  try {
    return queryAlerts(db).map((a) => a.seq);
  } finally {
    db.close();
  }
}

function storeCheckpoints(home: string): Array<{ tree_size: number; root_hash: string }> {
  const db = openStore(home);
  try {
    return (
      db.prepare('SELECT tree_size, root_hash FROM checkpoints ORDER BY id').all() as Array<{ tree_size: number; root_hash: string }>
    ).map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}

const alertSeqs = (r: OtlpReceiver) => r.of('pi_warden.alert').map((x) => x.attributes.get('pi_warden.alert.seq') as number);

describe('fleet export to an OTLP collector', () => {
  it('sends every alert, checkpoint, trust transition and quota breach once, in order, with event.name and mapped severity', async () => {
    const rx = await receiver();
    const { home } = await buildStore(40);
    addAlerts(home, 25, (i) => `refused https://x.example/?k=${CANARY}&i=${i}`);
    const db = openStore(home);
    new TrustRegistry(db).transition('ext-a', 'kill', 'oncall', `INC-5 ${CANARY}`);
    db.prepare('INSERT INTO quota_breaches (ts_ms, extension_id, resource, limit_value, actual) VALUES (?, ?, ?, ?, ?)').run(
      Date.now(),
      'ext-a',
      'cpu_ms',
      250,
      400,
    );
    db.close();
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url), ...FAST });
    open.push(exporter);
    exporter.record({
      ts_ms: Date.now(),
      extension_id: 'ext-a',
      call_id: 'c1',
      method: 'http.fetch',
      capability: 'http',
      declared_capability: null,
      decision: 'deny',
      rule: null,
      error_code: 'denied',
      reason_codes: [],
      duration_ms: 0,
      stage: 'policy',
      params: { url: `https://x.example/?k=${CANARY}` },
    });
    await exporter.flushNow();

    assert.deepEqual(alertSeqs(rx), storeAlertSeqs(home), 'every alert of the store, once, in seq order');
    const cps = rx.of('pi_warden.checkpoint').map((r) => ({
      tree_size: r.attributes.get('pi_warden.checkpoint.tree_size'),
      root_hash: r.attributes.get('pi_warden.checkpoint.root_hash'),
    }));
    assert.deepEqual(cps, storeCheckpoints(home));
    assert.ok(cps.length > 0);
    const cp = rx.of('pi_warden.checkpoint')[0]!;
    assert.match(String(cp.attributes.get('pi_warden.checkpoint.signature')), /^[A-Za-z0-9+/=_-]{40,}$/);
    assert.ok(String(cp.attributes.get('pi_warden.checkpoint.key_id')).length > 0);
    const kill = rx.of('pi_warden.trust_transition');
    assert.equal(kill.length, 1);
    assert.equal(kill[0]!.attributes.get('pi_warden.trust.kind'), 'kill');
    assert.equal(kill[0]!.severityText, 'critical');
    assert.equal(rx.of('pi_warden.quota_breach')[0]?.attributes.get('pi_warden.quota.resource'), 'cpu_ms');
    const summary = rx.of('pi_warden.decision_summary');
    assert.equal(summary.length, 1);
    assert.deepEqual(JSON.parse(summary[0]!.body!).counts, [{ extension: 'ext-a', capability: 'http', decision: 'deny', count: 1 }]);
    // Severity on the OTel scale: high → ERROR (17), low → INFO2 (10); event.name as attribute too.
    const high = rx.of('pi_warden.alert').find((r) => r.severityText === 'high')!;
    assert.equal(high.severityNumber, 17);
    assert.equal(rx.of('pi_warden.alert').find((r) => r.severityText === 'low')!.severityNumber, 10);
    assert.equal(high.attributes.get('event.name'), 'pi_warden.alert');
    assert.equal(high.resource.get('service.name'), 'pi-warden');
    // Export seqs are unique: a collector can drop a batch resent after a crash.
    const seqs = rx.records.map((r) => r.attributes.get('pi_warden.export.seq'));
    assert.equal(new Set(seqs).size, seqs.length);
    // Planted in an alert summary, a transition reason and a call's params: none of it leaves.
    assert.ok(!rx.bodies.some((b) => b.includes(CANARY)), 'the canary never reaches the collector');
    assert.equal(exporter.status().records, 0, 'the spool is empty once the collector took everything');
  });

  it('a collector outage mid-run: records wait in the spool and arrive exactly once, in order, when it is back', async () => {
    const rx = await receiver();
    const home = tempHome();
    addAlerts(home, 30);
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url, { batch: 7 }), ...FAST });
    open.push(exporter);
    assert.ok(await waitFor(() => alertSeqs(rx).length === 30), 'the first 30 arrive');
    await rx.stop();
    addAlerts(home, 45);
    assert.ok(
      await waitFor(() => exporter.status().records === 45 && exporter.status().last_error !== null),
      JSON.stringify(exporter.status()),
    );
    assert.equal(alertSeqs(rx).length, 30, 'nothing arrives while the collector is away');
    await rx.start();
    assert.ok(await waitFor(() => alertSeqs(rx).length >= 75), `received ${alertSeqs(rx).length} of 75`);
    await exporter.flushNow();
    assert.deepEqual(alertSeqs(rx), storeAlertSeqs(home), 'all 75, each once, in order');
    const s = exporter.status();
    assert.equal(s.records, 0);
    assert.equal(s.dropped, 0);
    assert.equal(s.exported, 75);
    assert.ok(s.last_success_ms !== null);
    assert.equal(s.last_error, null);
  });

  it('a collector answering 503 is retried: the batch is not lost', async () => {
    const rx = await receiver();
    const home = tempHome();
    rx.failWith = 503;
    addAlerts(home, 5);
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url), ...FAST });
    open.push(exporter);
    assert.ok(await waitFor(() => exporter.status().last_error !== null));
    assert.equal(alertSeqs(rx).length, 0);
    rx.failWith = undefined;
    assert.ok(await waitFor(() => alertSeqs(rx).length === 5));
    assert.deepEqual(alertSeqs(rx), storeAlertSeqs(home));
  });

  it('past the spool bound: the oldest records are kept, the rest counted as dropped, one alert, and the collector is told', async () => {
    const rx = await receiver();
    await rx.stop();
    const home = tempHome();
    // Room for about ten alert records.
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url, { spoolBytes: 4000 }), ...FAST });
    open.push(exporter);
    addAlerts(home, 40);
    assert.ok(
      await waitFor(() => exporter.status().dropped > 0 && (exporter.status().cursors.alerts ?? 0) >= 40),
      JSON.stringify(exporter.status()),
    );
    const full = exporter.status();
    assert.ok(full.bytes <= 4000, `spool ${full.bytes} bytes within the 4000-byte bound`);
    const db = openStore(home);
    const raised = queryAlerts(db, { category: 'fleet_export' });
    db.close();
    assert.equal(raised.length, 1, 'one alert for the outage, not one per dropped record');
    assert.deepEqual(raised[0]!.reason_codes, ['export_spool_full']);
    await rx.start();
    assert.ok(await waitFor(() => exporter.status().records === 0 && rx.of('pi_warden.export_drops').length === 1));
    const kept = alertSeqs(rx);
    // The spool may also hold records of other kinds (a checkpoint, a decision summary on its timer): the alerts it held are the
    // oldest of the store, in order; the count below shows none was lost.
    const spooled = kept.filter((seq) => seq !== raised[0]!.seq);
    assert.ok(spooled.length > 0 && spooled.length <= full.records, `${spooled.length} alerts of ${full.records} spooled records`);
    assert.deepEqual(spooled, storeAlertSeqs(home).slice(0, spooled.length), 'what was spooled arrives: the oldest, in order');
    assert.ok(kept.includes(raised[0]!.seq), 'the spool-full alert itself reaches the collector once there is room');
    const told = rx.of('pi_warden.export_drops')[0]!;
    assert.equal(told.attributes.get('pi_warden.export.dropped'), exporter.status().dropped);
    assert.equal(kept.length + exporter.status().dropped, 41, '40 alerts and the spool-full alert: each spooled or counted');
  });
});
