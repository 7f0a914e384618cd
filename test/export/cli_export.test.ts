/** `pi-warden export status` and `alerts --json --format ocsf` on real stores. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { insertAlert, openStore } from '../../src/evidence/index.ts';
import { FleetExporter, OCSF_CLASSES } from '../../src/export/index.ts';
import { TrustRegistry } from '../../src/trust/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { FAST, OtlpReceiver, otlpConfig, waitFor } from './receiver.ts';

process.env.NO_COLOR = '1';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

function withAlerts(home: string, n: number): void {
  const db = openStore(home);
  for (let i = 0; i < n; i++)
    insertAlert(db, {
      extension_id: 'ext-a',
      category: 'secret_exposure',
      severity: 'critical',
      summary: `s${i}`,
      reason_codes: ['secret_in_body'],
      remediation: 'r',
    });
  new TrustRegistry(db).transition('ext-a', 'kill', 'oncall', 'INC-5');
  db.close();
}

describe('export status', () => {
  const rx = new OtlpReceiver();
  after(() => rx.stop());

  it('shows the destination, what is queued and spooled, exported, dropped, the last success and the last error', async () => {
    await rx.start();
    const agent = mkdtempSync(join(tmpdir(), 'pi-warden-export-cli-'));
    writeFileSync(
      join(agent, 'settings.json'),
      JSON.stringify({
        extensionPolicy: { export: { otlp: { endpoint: rx.url, protocol: 'http/json', headers: { 'x-k': '${EXPORT_TEST_KEY}' } } } },
      }),
    );
    const saved = { ...process.env };
    process.env.PI_CODING_AGENT_DIR = agent;
    process.env.EXPORT_TEST_KEY = 'secret-header-value';
    try {
      const home = tempHome();
      withAlerts(home, 4);
      const before = JSON.parse((await cli(['export', 'status', '--home', home, '--json'])).out) as Record<string, unknown>;
      assert.equal(before.schema, 'pi-warden.export_status.v1');
      assert.equal(before.enabled, true);
      assert.deepEqual(before.destination, {
        endpoint: rx.url,
        protocol: 'http/json',
        source: 'settings',
        header_names: ['x-k'],
        batch: 256,
      });
      assert.equal(before.queued, 6, '5 alerts (4 and the kill alert) and 1 trust transition written, none spooled yet');
      assert.equal(before.last_success_ms, null);
      assert.ok(!JSON.stringify(before).includes('secret-header-value'), 'header values are never shown');

      const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url), ...FAST });
      assert.ok(await waitFor(() => exporter.status().exported === 6));
      await exporter.close();
      const done = JSON.parse((await cli(['export', 'status', '--home', home, '--json'])).out) as Record<string, unknown>;
      assert.equal(done.queued, 0);
      assert.equal(done.records, 0);
      assert.equal(done.exported, 6);
      assert.equal(done.dropped, 0);
      assert.equal(typeof done.last_success_ms, 'number');
      const human = await cli(['export', 'status', '--home', home]);
      assert.equal(human.code, 0);
      assert.match(human.out, new RegExp(`Fleet export: http/json to ${rx.url.replace(/[/.]/g, '\\$&')} \\(from settings\\)`));
    } finally {
      process.env = saved;
    }
  });

  it('says export is off when nothing configures it', async () => {
    const agent = mkdtempSync(join(tmpdir(), 'pi-warden-export-cli-'));
    const saved = { ...process.env };
    process.env.PI_CODING_AGENT_DIR = agent;
    for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_EXPORTER_OTLP')) delete process.env[k];
    try {
      const home = tempHome();
      withAlerts(home, 1);
      const r = await cli(['export', 'status', '--home', home]);
      assert.equal(r.code, 0);
      assert.match(r.out, /Fleet export: off \(no extensionPolicy\.export\.otlp\.endpoint and no OTEL_EXPORTER_OTLP_ENDPOINT\)/);
    } finally {
      process.env = saved;
    }
  });
});

describe('alerts --json --format ocsf', () => {
  it('maps an alert to a Detection Finding (2004) and a kill-switch alert to an Incident Finding (2005)', async () => {
    const home = tempHome();
    withAlerts(home, 1);
    const r = await cli(['alerts', '--home', home, '--json', '--format', 'ocsf']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { schema: string; events: Array<Record<string, unknown>> };
    assert.equal(doc.schema, 'pi-warden.alerts_ocsf.v1');
    const [finding, incident] = doc.events as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(finding.class_uid, OCSF_CLASSES.detection_finding);
    assert.equal(finding.type_uid, 200401);
    assert.equal(finding.category_uid, 2);
    assert.equal(finding.severity_id, 5);
    assert.deepEqual((finding.finding_info as { types: string[] }).types, ['secret_exposure', 'secret_in_body']);
    assert.equal(incident.class_uid, OCSF_CLASSES.incident_finding);
    assert.equal(incident.type_uid, 200501);
    assert.equal((incident.metadata as { version: string }).version, '1.3.0');
  });

  it('--format ocsf without --json, or an unknown format, is a usage error', async () => {
    const home = tempHome();
    withAlerts(home, 1);
    const a = await cli(['alerts', '--home', home, '--format', 'ocsf']);
    assert.equal(a.code, 2);
    assert.match(a.err, /--format ocsf is a JSON format: add --json/);
    const b = await cli(['alerts', '--home', home, '--json', '--format', 'cef']);
    assert.equal(b.code, 2);
    assert.match(b.out + b.err, /--format must be pi-warden or ocsf, found "cef"/);
  });
});
