/** probe through the full runtime: decisions land in the evidence store, and a kill stops the sandbox (INC-5). */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadOrCreateKey } from '../../src/evidence/keys.ts';
import { openStore } from '../../src/evidence/store.ts';
import { verifyStore } from '../../src/evidence/verify.ts';
import { probeExtension } from '../../src/probe/probe.ts';
import { TrustRegistry } from '../../src/trust/lifecycle.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture, NO_HOME } from '../sandbox/harness.ts';

describe('probe with an evidence store', () => {
  it('records every hostcall decision in an intact ledger', async () => {
    const home = tempHome();
    const report = await probeExtension({ path: fixture('benign.ts'), cwd: NO_HOME, env: { HOME: NO_HOME }, home });
    assert.ok(report.extensions[0]!.loaded);
    const calls = report.hostcalls.reduce((a, h) => a + h.count, 0);
    assert.ok(calls > 0);
    assert.equal(report.store?.ledger_size, calls);
    const v = verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey });
    assert.equal(v.classification, 'intact');
    assert.equal(v.entries_checked, calls);
  });

  it('a killed extension gets no hostcall and its sandbox is stopped', async () => {
    const home = tempHome();
    const db = openStore(home);
    // The id is the extension's source (its real path), the one alerts and the ledger name.
    const id = realpathSync(fixture('benign.ts'));
    new TrustRegistry(db).transition(id, 'kill', 'test', 'INC-5 drill');
    db.close();
    const report = await probeExtension({ path: fixture('benign.ts'), cwd: NO_HOME, env: { HOME: NO_HOME }, home });
    const ext = report.extensions[0]!;
    assert.equal(ext.loaded, false, 'its first hostcall (a registration) is refused');
    assert.match(ext.loadError ?? '', /quarantined/);
    assert.ok(report.hostcalls.every((h) => h.decision !== 'allow'));
    assert.ok(
      report.sandboxEvents.some((e) => e.type === 'stopped' && e.extensionId === id),
      JSON.stringify(report.sandboxEvents),
    );
  });
});
