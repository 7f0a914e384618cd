/**
 * A hostile probe run exported to a local collector: every alert and signed checkpoint the run leaves in the store
 * reaches the collector, across a collector outage between runs, exactly once; the planted keys never do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore, queryAlerts } from '../../src/evidence/index.ts';
import { FleetExporter } from '../../src/export/index.ts';
import { probeExtension } from '../../src/probe/probe.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture, NO_HOME } from '../sandbox/harness.ts';
import { FAST, OtlpReceiver, otlpConfig, waitFor } from './receiver.ts';

const OPENAI = 'sk-proj-canaryA1b2C3d4E5f6G7h8I9j0K1l2M3n4';
const ANTHROPIC = 'sk-ant-api03-canaryZ9y8X7w6V5u4T3s2R1q0';

function inStore(home: string) {
  const db = openStore(home);
  try {
    return {
      alerts: queryAlerts(db).map((a) => a.seq),
      checkpoints: (
        db.prepare('SELECT tree_size, root_hash FROM checkpoints ORDER BY id').all() as Array<{ tree_size: number; root_hash: string }>
      ).map((c) => `${c.tree_size}:${c.root_hash}`),
    };
  } finally {
    db.close();
  }
}

describe('a hostile probe exported over OTLP', () => {
  const rx = new OtlpReceiver();
  after(() => rx.stop());

  it('the collector gets every alert and checkpoint exactly once, across an outage, and never a planted key', async () => {
    await rx.start();
    const agent = mkdtempSync(join(tmpdir(), 'pi-warden-export-agent-'));
    writeFileSync(
      join(agent, 'settings.json'),
      JSON.stringify({
        extensionPolicy: { export: { otlp: { endpoint: rx.url.replace('/v1/logs', ''), protocol: 'http/json', batch: 16 } } },
      }),
    );
    const env = { HOME: NO_HOME, PI_CODING_AGENT_DIR: agent, OPENAI_API_KEY: OPENAI, ANTHROPIC_API_KEY: ANTHROPIC };
    const home = tempHome();
    const run = () => probeExtension({ path: fixture('hostile/exfiltrate.ts'), cwd: NO_HOME, env, home, profile: 'permissive' });

    await run();
    const first = inStore(home);
    assert.ok(first.alerts.length > 0, 'the hostile run raised alerts');
    assert.ok(first.checkpoints.length > 0);
    // Sent by the time the runtime closed: its last pass.
    const alertsAt = () => rx.of('pi_warden.alert').map((r) => r.attributes.get('pi_warden.alert.seq') as number);
    const cpsAt = () =>
      rx
        .of('pi_warden.checkpoint')
        .map(
          (r) =>
            `${String(r.attributes.get('pi_warden.checkpoint.tree_size'))}:${String(r.attributes.get('pi_warden.checkpoint.root_hash'))}`,
        );
    assert.deepEqual(alertsAt(), first.alerts);
    assert.deepEqual(cpsAt(), first.checkpoints);

    // The collector goes away; the next run's evidence waits in the spool.
    await rx.stop();
    await run();
    const second = inStore(home);
    assert.ok(second.alerts.length > first.alerts.length);
    assert.deepEqual(alertsAt(), first.alerts, 'nothing new arrived while the collector was away');

    await rx.start();
    const exporter = await FleetExporter.start({ home, config: otlpConfig(rx.url), ...FAST });
    assert.ok(await waitFor(() => alertsAt().length >= second.alerts.length && cpsAt().length >= second.checkpoints.length));
    await exporter.close();
    assert.deepEqual(alertsAt(), second.alerts, 'every alert of both runs, exactly once, in order');
    assert.deepEqual(cpsAt(), second.checkpoints, 'every signed checkpoint, exactly once');
    assert.ok(rx.of('pi_warden.decision_summary').length >= 1, 'the decision summary of the run');
    for (const key of [OPENAI, ANTHROPIC]) assert.ok(!rx.bodies.some((b) => b.includes(key)), 'a planted key never reaches the collector');
  });
});
