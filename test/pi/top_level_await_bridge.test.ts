/**
 * Top-level await through the bridge (issue 23 item 5), in real pi sessions of every installed version: the
 * fixture whose npm dependency reads a file of its own and waits for a timer at top level answers its tool the same
 * way loaded by pi itself (jiti, `pi -e`) and loaded by the bridge into a sandbox, once the policy grants that read;
 * under the default policy the read is outside the project, and the load fails with the policy's reason.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import type { PiObject } from '../../src/pi/liveHost.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { PI_VERSIONS, runCli, runSdkSession, scratchPi, type PiVersion, type SdkRun } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/extensions/tla-dependency/', import.meta.url));
const EXTENSION = locateExtensions(FIXTURE);
const ID = EXTENSION[0]?.id ?? '';
const DEPENDENCY = join(FIXTURE, 'node_modules', 'slow-config');
const SCRIPT = [{ call: 'slow_config', args: { key: 'greeting' } }, { say: 'tool said: {{toolResult}}' }];
const EXPECTED = 'greeting=hello from a top-level await';

/** A pi session with the fixture loaded by the bridge; `settings` are the user's pi settings (the warden policy). */
async function bridged(version: PiVersion, settings?: object): Promise<{ run: SdkRun; session: BridgeSession }> {
  const scratch = scratchPi();
  if (settings !== undefined) writeFileSync(join(scratch.agentDir, 'settings.json'), JSON.stringify(settings));
  const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const session = await BridgeSession.open({
    cwd: scratch.cwd,
    home: join(scratch.root, 'warden'),
    env,
    policy: resolvePolicy({ env, cwd: scratch.cwd }),
    piTools: (await import(version.codingAgent)) as never,
  });
  after(() => session.close());
  const run = await runSdkSession({
    version,
    scratch,
    extensionFactories: EXTENSION.map((ext) => async (pi: PiObject) => void (await loadInto(session, pi, ext))),
    script: SCRIPT,
    prompt: 'read the config',
  });
  return { run, session };
}

for (const version of PI_VERSIONS) {
  describe(`an extension whose dependency awaits at top level, in pi ${version.id}`, () => {
    it('pi itself loads it (the semantics to match)', async () => {
      const scratch = scratchPi();
      const run = await runCli({ version, scratch, script: SCRIPT, args: ['-e', join(FIXTURE, 'index.ts'), '-p', 'read the config'] });
      assert.match(run.stdout, new RegExp(`tool said: ${EXPECTED}`), `pi's output: ${run.stdout}\n${run.stderr}`);
    });

    it('the bridge loads it into a sandbox, with the read granted, and the model gets the same tool result', async () => {
      const { run, session } = await bridged(version, { extensionPolicy: { overrides: { [ID]: { fs: { read: [DEPENDENCY] } } } } });
      assert.deepEqual(session.failures, []);
      assert.deepEqual(
        run.toolResults.map((t) => [t.toolName, t.text, t.isError]),
        [['slow_config', EXPECTED, false]],
      );
    });

    it("under the default policy the dependency's top-level read is refused and the load fails with the policy's reason", async () => {
      const { run, session } = await bridged(version);
      assert.equal(session.failures.length, 1);
      assert.match(
        session.failures[0]?.message ?? '',
        /the extension failed to load: Error: EACCES: fs\.read: refused by filesystem scope: .*config\.json is outside the project/,
      );
      assert.deepEqual(
        run.toolResults.map((t) => [t.toolName, t.isError]),
        [['slow_config', true]],
        'pi never got the tool',
      );
    });
  });
}
