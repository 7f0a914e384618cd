/**
 * kill -9 of the exporting process: what it spooled is not lost. A child raises alerts and exports them; the
 * collector goes away, the spool fills, the child is killed with SIGKILL mid-run. A new exporter (a new process's
 * lease: the dead holder does not block it) delivers every spooled record, and every alert arrives exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore, queryAlerts } from '../../src/evidence/index.ts';
import { FleetExporter } from '../../src/export/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { FAST, OtlpReceiver, otlpConfig, waitFor } from './receiver.ts';

const CHILD = fileURLToPath(new URL('./export-child.ts', import.meta.url));

function read<T>(home: string, fn: (db: ReturnType<typeof openStore>) => T): T {
  const db = openStore(home);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const spooledAlertSeqs = (home: string) =>
  read(home, (db) =>
    (db.prepare("SELECT record FROM export_spool WHERE kind = 'alert' ORDER BY seq").all() as Array<{ record: string }>).map(
      (r) => (JSON.parse(r.record) as { attributes: Record<string, number> }).attributes['pi_warden.alert.seq'] as number,
    ),
  );

describe('fleet export survives kill -9', () => {
  const rx = new OtlpReceiver();
  after(() => rx.stop());

  it('every record spooled before the kill reaches the collector, and every alert arrives exactly once', async () => {
    await rx.start();
    const home = tempHome();
    read(home, () => undefined);
    const child = spawn(process.execPath, [CHILD, home, rx.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const received = () => rx.of('pi_warden.alert').map((r) => r.attributes.get('pi_warden.alert.seq') as number);
    assert.ok(await waitFor(() => received().length >= 20), `the child exports while the collector is up: ${stderr}`);
    await rx.stop();
    assert.ok(await waitFor(() => spooledAlertSeqs(home).length >= 30), `the spool fills during the outage: ${stderr}`);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const spooled = spooledAlertSeqs(home);
    assert.ok(spooled.length >= 30);

    await rx.start();
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url), ...FAST });
    const all = read(home, (db) => queryAlerts(db).map((a) => a.seq));
    assert.ok(await waitFor(() => received().length >= all.length), `received ${received().length} of ${all.length}`);
    await exporter.close();
    const got = received();
    for (const seq of spooled) assert.ok(got.includes(seq), `spooled alert ${seq} arrived after the kill`);
    assert.deepEqual(got, all, 'every alert of the store, exactly once, in order');
  });
});
