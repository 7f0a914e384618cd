/**
 * Lazy sandboxes (issue 18 item 4, ADR 0039) in real pi sessions (SDK + faux provider, the real sandbox): a session
 * records what an entry registered; the next one gives pi that recording and boots the sandbox on the first call,
 * unless the entry subscribes to a start-up event, read something while loading, or its bundle changed. A boot that
 * registers differently from the recording stops the extension and refuses the call; a killed lazy extension never
 * boots.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WardenError } from '../../src/errors.ts';
import { openStore } from '../../src/evidence/index.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import type { PiObject } from '../../src/pi/liveHost.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { TrustRegistry } from '../../src/trust/index.ts';
import { PI_VERSIONS, runSdkSession, scratchPi, transcript, type FauxStep, type PiVersion, type ScratchPi } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/bridge/lazy/', import.meta.url));

/** One pi session with the bridge loading `files`; the bridge session stays open for inspection, closed by the caller. */
async function piSession(
  version: PiVersion,
  scratch: ScratchPi,
  files: readonly string[],
  script: readonly FauxStep[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ bridge: BridgeSession; run: Awaited<ReturnType<typeof runSdkSession>>; statesAtLoad: Map<string, string[]> }> {
  const fullEnv = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
  const home = join(scratch.root, 'warden');
  const bridge = await BridgeSession.open({
    cwd: scratch.cwd,
    home,
    env: fullEnv,
    policy: resolvePolicy({ env: fullEnv, cwd: scratch.cwd }),
  });
  const statesAtLoad = new Map<string, string[]>();
  const extensions = files.flatMap((f) => locateExtensions(f));
  try {
    const run = await runSdkSession({
      version,
      scratch,
      extensionFactories: extensions.map((ext) => async (pi: PiObject) => {
        await loadInto(bridge, pi, ext);
        statesAtLoad.set(ext.id, bridge.loadStatesOf(ext.id));
      }),
      script,
      prompt: 'go',
    });
    return { bridge, run, statesAtLoad };
  } catch (err) {
    await bridge.close();
    throw err;
  }
}

/** A fixture copied into the scratch project, so a test may change it; its id is its real path. */
function copyFixture(scratch: ScratchPi, name: string): string {
  const to = join(scratch.cwd, name);
  copyFileSync(join(FIXTURES, name), to);
  return realpathSync(to);
}

const toolResults = (run: Awaited<ReturnType<typeof runSdkSession>>) => run.toolResults.map((t) => [t.toolName, t.text, t.isError]);

const offered = (run: Awaited<ReturnType<typeof runSdkSession>>) => new Set(run.requests[0]?.tools ?? []);

describe('lazy sandboxes: a boot that fails', () => {
  it('stopped while it boots (a kill, a reload): the call is refused and its sandbox belongs to no generation', async () => {
    const scratch = scratchPi();
    const file = copyFixture(scratch, 'lazy-tool.ts');
    const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const home = join(scratch.root, 'warden');
    const policy = resolvePolicy({ env, cwd: scratch.cwd });
    const [ext] = locateExtensions(file);
    for (let i = 0; i < 2; i++) {
      const bridge = await BridgeSession.open({ cwd: scratch.cwd, home, env, policy });
      try {
        const [entry] = await bridge.load(ext!);
        if (entry?.lazy === undefined) continue; // the first session records it
        const booting = entry.lazy.ready();
        bridge.stopExtension(file, new WardenError('quarantined', 'killed while it booted'));
        await assert.rejects(booting, /killed while it booted/);
        assert.deepEqual(bridge.sandboxesOf(file), []);
      } finally {
        await bridge.close();
      }
    }
  });

  it('is listed with the load failures, and the stand-in refuses every call after it', async () => {
    const scratch = scratchPi();
    const file = copyFixture(scratch, 'big-at-load.ts');
    const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const home = join(scratch.root, 'warden');
    const policy = resolvePolicy({ env, cwd: scratch.cwd });
    const [ext] = locateExtensions(file);
    const first = await BridgeSession.open({ cwd: scratch.cwd, home, env, policy });
    try {
      await first.load(ext!);
      assert.deepEqual(first.failures, []);
      assert.deepEqual(first.loadStatesOf(file), ['booted']);
    } finally {
      await first.close();
    }
    // The same recording, a memory cap its factory cannot load under: the boot fails at the first call.
    const tight = await BridgeSession.open({ cwd: scratch.cwd, home, env, policy: { ...policy, quota: { ...policy.quota, memoryMb: 4 } } });
    try {
      const [entry] = await tight.load(ext!);
      assert.ok(entry?.lazy !== undefined, 'the recording stands in: the cap is not part of what the factory registers');
      await assert.rejects(entry.lazy.ready());
      assert.equal(tight.failures.length, 1);
      assert.equal(tight.failures[0]?.extensionId, file);
      await assert.rejects(entry.lazy.ready(), 'a second call is refused too, without another boot');
      assert.equal(tight.failures.length, 1);
      assert.equal(tight.sandboxesOf(file).length, 0);
    } finally {
      await tight.close();
    }
  });
});

for (const version of PI_VERSIONS) {
  describe(`lazy sandboxes in a real pi ${version.id} session (SDK)`, () => {
    it("a recorded extension's tool is offered before its sandbox boots, and its first call boots it and runs", async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'lazy-tool.ts');
      const script: FauxStep[] = [{ call: 'lazy_count', args: {} }, { say: 'got {{toolResult}}' }];
      const first = await piSession(version, scratch, [file], script);
      await first.bridge.close();
      assert.deepEqual(first.statesAtLoad.get(file), ['booted'], 'no recording yet: the first session boots it');
      assert.deepEqual(toolResults(first.run), [['lazy_count', 'call 1', false]]);

      const second = await piSession(version, scratch, [file], [{ say: 'nothing to do' }]);
      try {
        assert.deepEqual(second.statesAtLoad.get(file), ['lazy']);
        assert.ok(offered(second.run).has('lazy_count'), 'pi offers the recorded tool to the model');
        assert.deepEqual(second.bridge.loadStatesOf(file), ['lazy'], 'a turn without its tool or its event does not boot it');
        assert.equal(second.bridge.sandboxesOf(file).length, 0);
      } finally {
        await second.bridge.close();
      }

      const third = await piSession(version, scratch, [file], script);
      try {
        assert.deepEqual(third.statesAtLoad.get(file), ['lazy']);
        assert.deepEqual(toolResults(third.run), [['lazy_count', 'call 1', false]], 'the call ran in a freshly booted sandbox');
        assert.deepEqual(third.bridge.loadStatesOf(file), ['booted']);
        assert.deepEqual(third.bridge.failures, []);
      } finally {
        await third.bridge.close();
      }
    });

    it('/reload stops the booted generation and gives pi a lazy one, which a call boots fresh', async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'lazy-tool.ts');
      await (await piSession(version, scratch, [file], [{ say: 'hi' }])).bridge.close();
      const s = await piSession(
        version,
        scratch,
        [file],
        [
          { call: 'lazy_count', args: {} },
          { say: 'first {{toolResult}}' },
          { call: 'lazy_count', args: {} },
          { say: 'second {{toolResult}}' },
        ],
      );
      try {
        assert.deepEqual(toolResults(s.run), [['lazy_count', 'call 1', false]]);
        const [before] = s.bridge.sandboxesOf(file);
        assert.ok(before !== undefined && before.stopped === undefined);
        await (s.run.session as unknown as { reload(): Promise<void> }).reload();
        const stopped = before.stopped as unknown as Error | undefined; // narrowed before the reload
        assert.match(stopped?.message ?? '', /reloaded/, 'the old generation still runs');
        assert.deepEqual(s.bridge.loadStatesOf(file), ['lazy']);
        await s.run.session.prompt('again');
        const results = transcript(s.run.session.messages).toolResults;
        assert.deepEqual(
          results.map((t) => [t.toolName, t.text, t.isError]),
          [
            ['lazy_count', 'call 1', false],
            ['lazy_count', 'call 1', false],
          ],
          'the call after the reload ran in a new sandbox (its count starts again)',
        );
      } finally {
        await s.bridge.close();
      }
    });

    it('an extension with a session_start handler boots with the session, recording or not', async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'startup.ts');
      for (let i = 0; i < 2; i++) {
        const s = await piSession(version, scratch, [file], [{ say: 'hi' }]);
        await s.bridge.close();
        assert.deepEqual(s.statesAtLoad.get(file), ['booted'], `session ${i + 1}`);
      }
    });

    it('an extension that read the environment while loading boots with the session', async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'reads-env.ts');
      for (let i = 0; i < 2; i++) {
        const s = await piSession(version, scratch, [file], [{ say: 'hi' }], { LAZY_FIXTURE_MODE: `mode-${i}` });
        await s.bridge.close();
        assert.deepEqual(s.statesAtLoad.get(file), ['booted'], `session ${i + 1}`);
        assert.ok(offered(s.run).has('env_tool'));
      }
    });

    it('a changed bundle boots with the session, then waits again once recorded', async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'lazy-tool.ts');
      await (await piSession(version, scratch, [file], [{ say: 'hi' }])).bridge.close();
      writeFileSync(file, readFileSync(file, 'utf8').replace("'Count the calls'", "'Count the calls, version 2'"));
      const changed = await piSession(version, scratch, [file], [{ say: 'hi' }]);
      await changed.bridge.close();
      assert.deepEqual(changed.statesAtLoad.get(file), ['booted']);
      const after = await piSession(version, scratch, [file], [{ say: 'hi' }]);
      await after.bridge.close();
      assert.deepEqual(after.statesAtLoad.get(file), ['lazy']);
    });

    it('a boot that registers differently from the recording stops the extension and refuses the call', async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'lazy-tool.ts');
      await (await piSession(version, scratch, [file], [{ say: 'hi' }])).bridge.close();
      // The recording says the tool has another name (as if the factory had changed its mind since): pi is offered
      // `lazy_old`, the boot finds `lazy_count`.
      const dir = join(scratch.root, 'warden', 'registrations');
      const [name] = readdirSync(dir);
      const path = join(dir, name!);
      writeFileSync(path, readFileSync(path, 'utf8').replaceAll('"lazy_count"', '"lazy_old"'));
      const s = await piSession(version, scratch, [file], [{ call: 'lazy_old', args: {} }, { say: 'got {{toolResult}}' }]);
      try {
        assert.deepEqual(s.statesAtLoad.get(file), ['lazy']);
        const [result] = s.run.toolResults;
        assert.equal(result?.toolName, 'lazy_old');
        assert.equal(result?.isError, true, 'the call is refused');
        assert.match(result?.text ?? '', /registered differently.*tool lazy_count added; tool lazy_old dropped/);
        assert.equal(s.bridge.failures.length, 1);
        assert.match(s.bridge.failures[0]!.message, /pi-warden stopped it/);
        assert.ok(
          s.bridge.sandboxesOf(file).every((sb) => sb.stopped !== undefined),
          'the booted sandbox is stopped',
        );
      } finally {
        await s.bridge.close();
      }
      const next = await piSession(version, scratch, [file], [{ say: 'hi' }]);
      await next.bridge.close();
      assert.deepEqual(next.statesAtLoad.get(file), ['booted'], 'after a difference it boots with the session');
    });

    it('a killed lazy extension is refused and never boots', async () => {
      const scratch = scratchPi();
      const file = copyFixture(scratch, 'lazy-tool.ts');
      await (await piSession(version, scratch, [file], [{ say: 'hi' }])).bridge.close();
      const db = openStore(join(scratch.root, 'warden'));
      try {
        new TrustRegistry(db).transition(file, 'kill', 'test-operator', 'suspected compromise');
      } finally {
        db.close();
      }
      const s = await piSession(version, scratch, [file], [{ call: 'lazy_count', args: {} }, { say: 'got {{toolResult}}' }]);
      try {
        assert.deepEqual(s.statesAtLoad.get(file), ['lazy']);
        const [result] = s.run.toolResults;
        assert.equal(result?.isError, true);
        assert.match(result?.text ?? '', /quarantined/);
        assert.equal(s.bridge.sandboxesOf(file).length, 0, 'no sandbox was started');
        assert.deepEqual(s.bridge.loadStatesOf(file), ['lazy']);
      } finally {
        await s.bridge.close();
      }
      // The boot itself checks too, whoever asks for it (not only the proxies' guard).
      const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const bridge = await BridgeSession.open({
        cwd: scratch.cwd,
        home: join(scratch.root, 'warden'),
        env,
        policy: resolvePolicy({ env, cwd: scratch.cwd }),
      });
      try {
        const [entry] = await bridge.load(locateExtensions(file)[0]!);
        assert.ok(entry?.lazy !== undefined);
        // Refused before a sandbox is created (the trust gate would also refuse the factory's calls inside one).
        await assert.rejects(entry.lazy.ready(), (err: Error) => /quarantined.*its sandbox was not started/.test(err.message));
        assert.equal(bridge.sandboxesOf(file).length, 0);
      } finally {
        await bridge.close();
      }
    });
  });
}
