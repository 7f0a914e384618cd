/**
 * `pi-warden status` says whether an adopted extension's sandbox waits for its first use (ADR 0039): eager with
 * `no_recording` until a session recorded its registrations, lazy after, eager again once its bundle changed.
 */
import assert from 'node:assert/strict';
import { realpathSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { adopt, locatedFor } from '../../src/pi/adopt.ts';
import { listAdopted } from '../../src/pi/adoption.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { status } from '../../src/pi/status.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { BENIGN, importPi, piWorld } from './piWorld.ts';

describe('status: lazy or eager', () => {
  it('eager without a recording, lazy once a session recorded it, eager again after a change', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    const opts = { cwd: w.cwd, agentDir: w.agentDir, home: w.home, pi };
    const id = realpathSync(w.userFile);
    await adopt([w.userFile], opts);
    const load = async () => {
      const e = (await status(opts)).extensions.find((x) => x.id === id);
      return [e?.state, e?.load, e?.eagerBecause];
    };
    assert.deepEqual(await load(), ['sandboxed', 'eager', ['no_recording']]);

    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', PI_CODING_AGENT_DIR: w.agentDir };
    const session = await BridgeSession.open({ cwd: w.cwd, home: w.home, env, policy: resolvePolicy({ env, cwd: w.cwd }) });
    try {
      const adopted = listAdopted(w.home).find((a) => a.id === id)!;
      const [entry] = await session.load(locatedFor(adopted));
      assert.equal(entry?.lazy, undefined, 'the first session boots it');
    } finally {
      await session.close();
    }
    assert.deepEqual(await load(), ['sandboxed', 'lazy', undefined]);

    writeFileSync(w.userFile, `${BENIGN}export const version = 2;\n`);
    assert.deepEqual(await load(), ['sandboxed', 'eager', ['bundle_changed']]);
  });
});
