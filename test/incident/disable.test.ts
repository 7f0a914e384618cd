/**
 * The runbook's emergency step, `pi --no-extensions`, is `pi-warden disable`: in a real pi session (SDK, pi 1.6.0,
 * package route) an adopted extension loads while enabled, and after `disable` nothing of it reaches the
 * dispatcher, while the ledger keeps every entry it had and still verifies; `enable` brings it back. On the
 * launcher route (`pi-warden pi`, the real bin) a disabled pi-warden starts pi with no extension at all.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadOrCreateKey, openStore, parseEntry, storedEntries, verifyStore } from '../../src/evidence/index.ts';
import { adopt, setAdoptionDisabled, startPackageRoute } from '../../src/pi/index.ts';
import { PI_VERSIONS, runCli, runSdkSession, scratchPi, type FauxStep, type ScratchPi } from '../pi/harness.ts';
import { importPi, piWorld } from '../pi/piWorld.ts';

function entriesOf(home: string, extensionId: string): number {
  const db = openStore(home, { readOnly: true });
  try {
    return [...storedEntries(db)].filter((r) => parseEntry(r.entry, r.ledger_hash).extension_id === extensionId).length;
  } finally {
    db.close();
  }
}

describe('pi-warden disable = pi --no-extensions', () => {
  it('no adopted extension loads while disabled; the ledger is kept; enable loads it again', async () => {
    const version = PI_VERSIONS.find((v) => v.id === '1.6.0')!;
    const piModule = await importPi('1.6.0');
    const w = piWorld();
    const id = realpathSync(w.userFile);
    await adopt([w.userFile], { cwd: w.cwd, agentDir: w.agentDir, home: w.home, pi: piModule });
    const env = {
      HOME: w.root,
      PI_CODING_AGENT_DIR: w.agentDir,
      PI_WARDEN_HOME: w.home,
      PI_OFFLINE: '1',
      PI_SKIP_VERSION_CHECK: '1',
      PI_TELEMETRY: '0',
    };
    const scratch: ScratchPi = { root: w.root, agentDir: w.agentDir, cwd: w.cwd, env };
    const session = async () => {
      let bridge: Awaited<ReturnType<typeof startPackageRoute>>;
      await runSdkSession({
        version,
        scratch,
        extensionFactories: [
          async (pi: never) => {
            bridge = await startPackageRoute(pi, { cwd: w.cwd, env, pi: piModule });
          },
        ],
        script: [{ say: 'ok' }],
        prompt: 'hi',
      });
      await bridge?.close();
    };

    await session();
    const loaded = entriesOf(w.home, id);
    assert.ok(loaded > 0, 'enabled: the adopted extension registered its command through the dispatcher');

    setAdoptionDisabled(w.home, true);
    await session();
    assert.equal(entriesOf(w.home, id), loaded, 'disabled: not one hostcall of the adopted extension, and none of its entries lost');
    assert.equal(verifyStore(w.home, { publicKey: loadOrCreateKey(w.home).publicKey }).classification, 'intact');

    setAdoptionDisabled(w.home, false);
    // Without the recording of its registrations it starts with the session, so its load shows in the ledger (ADR 0039).
    rmSync(join(w.home, 'registrations'), { recursive: true, force: true });
    await session();
    assert.ok(entriesOf(w.home, id) > loaded, 'enabled again: it loads');
  });

  it('launcher route: while disabled, pi-warden pi loads no extension (its tool is gone, nothing is imported); enabled, it answers', async () => {
    const version = PI_VERSIONS.find((v) => v.id === '1.6.0')!;
    const scratch = scratchPi();
    mkdirSync(join(scratch.agentDir, 'extensions'));
    const file = join(scratch.agentDir, 'extensions', 'import-marker.ts');
    copyFileSync(fileURLToPath(new URL('../fixtures/bridge/import-marker.ts', import.meta.url)), file);
    const id = realpathSync(file);
    const home = join(scratch.root, '.pi', 'agent', 'warden');
    const env = { PI_WARDEN_PI_PACKAGE: fileURLToPath(new URL('..', version.codingAgent)) };
    const script: readonly FauxStep[] = [{ call: 'marked', args: {} }, { say: 'model saw: {{toolResult}}' }];
    const bin = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));
    const launch = () => runCli({ version, scratch, script, args: ['-p', 'go'], env, command: [bin, 'pi'] });

    const on = await launch();
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /model saw: marker extension answered/);
    const loaded = entriesOf(home, id);
    assert.ok(loaded > 0);

    setAdoptionDisabled(home, true);
    const off = await launch();
    assert.doesNotMatch(off.stdout, /marker extension answered/, 'disabled: the extension answered');
    assert.equal(existsSync(join(scratch.root, 'import-marker.txt')), false, 'disabled: pi imported the extension itself');
    assert.equal(entriesOf(home, id), loaded, 'disabled: no hostcall of it, and the ledger keeps what it had');
  });
});
