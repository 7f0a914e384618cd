/**
 * The bridge in a real pi session (SDK + faux provider, no mocks of pi), for pi 1.6.0, 1.5.2 and 0.73.1: the
 * scripted model calls a sandboxed example's tool and gets its result; a hostile extension that sends a held
 * secret to a loopback sink is refused and alerted and the sink receives nothing; pi's permission-gate example
 * still blocks through its proxy; a rewriting `tool_call` handler is mediated (and a harmless rewrite goes
 * through); an answer to project trust is refused; a kill mid-session takes effect on the next call.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/evidence/index.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import type { PiObject } from '../../src/pi/liveHost.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { TrustRegistry } from '../../src/trust/index.ts';
import { PI_VERSIONS, runSdkSession, scratchPi, type PiExtensionFactory, type PiVersion, type ScratchPi } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/bridge/', import.meta.url));
const HELD = 'sk-proj-' + 'Zq8xW2mN4vB6cD1eF3gH5jK7lP9rT0uY2aS4dF6gH8jK';

function examplesOf(version: PiVersion): string {
  return join(fileURLToPath(new URL('.', version.codingAgent)), '..', 'examples', 'extensions');
}

/** Sink for the exfiltration test: records every body it receives. */
let sink: Server;
let sinkUrl = '';
const received: string[] = [];
before(async () => {
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const addr = sink.address();
  sinkUrl = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/notes`;
});
after(() => sink.close());

interface Rig {
  readonly scratch: ScratchPi;
  readonly home: string;
  readonly session: BridgeSession;
  factories(paths: readonly string[]): PiExtensionFactory[];
}

async function rig(version: PiVersion, settings?: object): Promise<Rig> {
  const scratch = scratchPi();
  if (settings !== undefined) writeFileSync(join(scratch.agentDir, 'settings.json'), JSON.stringify(settings));
  const home = join(scratch.root, 'warden');
  const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin', OPENAI_API_KEY: HELD };
  writeFileSync(join(scratch.cwd, '.env'), `OPENAI_API_KEY=${HELD}\n`);
  writeFileSync(join(scratch.cwd, '.sink'), sinkUrl);
  writeFileSync(join(scratch.cwd, 'notes.md'), 'the notes\n');
  writeFileSync(join(scratch.cwd, 'README.md'), 'the readme\n');
  mkdirSync(join(scratch.root, '.ssh'), { recursive: true });
  writeFileSync(join(scratch.root, '.ssh', 'id_rsa'), 'PRIVATE KEY\n');
  writeFileSync(join(scratch.root, '.bashrc'), '# bashrc\n');
  const piModule = (await import(version.codingAgent)) as Record<string, unknown>;
  const session = await BridgeSession.open({
    cwd: scratch.cwd,
    home,
    env,
    policy: resolvePolicy({ env, cwd: scratch.cwd }),
    piTools: piModule as never,
    // These tests look at the sandboxes right after a load (also after /reload); lazy ones: test/pi/lazy.test.ts.
    lazy: false,
  });
  after(() => session.close());
  return {
    scratch,
    home,
    session,
    factories: (paths) =>
      paths.flatMap((p) => locateExtensions(p)).map((ext) => async (pi: PiObject) => void (await loadInto(session, pi, ext))),
  };
}

function alerts(home: string): Array<{ extension_id: string; category: string; summary: string }> {
  const db = openStore(home);
  try {
    return db.prepare('SELECT extension_id, category, summary FROM alerts').all() as never;
  } finally {
    db.close();
  }
}

for (const version of PI_VERSIONS) {
  describe(`bridge in a real pi ${version.id} session (SDK)`, () => {
    it('the model calls a sandboxed example tool and gets its result', async () => {
      const r = await rig(version);
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(examplesOf(version), 'hello.ts')]),
        script: [{ call: 'hello', args: { name: 'warden' } }, { say: 'tool said: {{toolResult}}' }],
        prompt: 'greet',
      });
      assert.deepEqual(
        run.toolResults.map((t) => [t.toolName, t.text, t.isError]),
        [['hello', 'Hello, warden!', false]],
      );
      assert.match(run.finalText, /tool said: Hello, warden!/);
      assert.deepEqual(r.session.failures, []);
    });

    it('a hostile extension cannot send a held secret to a loopback sink: refused, alerted, nothing received', async () => {
      // The scan gate already refuses it (net.exfiltration: .env sent to a host); the user lets it load anyway, so
      // the runtime's own checks are what stand between the secret and the sink.
      const exfil = realpathSync(join(FIXTURES, 'exfil-notes.ts'));
      const r = await rig(version, { extensionPolicy: { overrides: { [exfil]: { allowForbiddenScan: true } } } });
      const before = received.length;
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(FIXTURES, 'exfil-notes.ts')]),
        script: [{ call: 'sync_notes', args: {} }, { say: 'done: {{toolResult}}' }],
        prompt: 'sync my notes',
      });
      assert.equal(received.length, before, 'the sink received a request');
      assert.equal(run.toolResults.length, 1);
      assert.doesNotMatch(run.toolResults[0]!.text, /synced \(200\)/);
      await r.session.runtime.writer.flush();
      const secret = alerts(r.home).filter((a) => a.category === 'secret_exposure');
      assert.ok(secret.length >= 1, `expected a secret_exposure alert, got ${JSON.stringify(alerts(r.home))}`);
      assert.ok(!JSON.stringify(alerts(r.home)).includes(HELD), 'an alert carries the secret');
    });

    it("pi's permission-gate example still blocks a destructive command through its proxy", async () => {
      const r = await rig(version);
      mkdirSync(join(r.scratch.cwd, 'scratch'));
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(examplesOf(version), 'permission-gate.ts')]),
        script: [{ call: 'bash', args: { command: 'rm -rf ./scratch' } }, { say: 'result: {{toolResult}}' }],
        prompt: 'clean up',
      });
      assert.equal(run.toolResults.length, 1);
      assert.equal(run.toolResults[0]!.isError, true);
      assert.match(run.toolResults[0]!.text, /Dangerous command blocked/);
      assert.ok(existsSync(join(r.scratch.cwd, 'scratch')), 'the folder was removed');
    });

    it('a tool_call handler that rewrites what pi will run is mediated; a harmless rewrite goes through', async () => {
      const r = await rig(version);
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(FIXTURES, 'rewrite-input.ts')]),
        script: [
          { call: 'bash', args: { command: 'echo hello' } },
          { call: 'read', args: { path: 'notes.md' } },
          { call: 'read', args: { path: 'README.md' } },
          { say: 'done' },
        ],
        prompt: 'go',
      });
      const [bash, key, readme] = run.toolResults;
      assert.equal(bash?.isError, true, `bash ran: ${bash?.text}`);
      assert.match(bash.text, /pi-warden refused/);
      assert.equal(readFileSync(join(r.scratch.root, '.bashrc'), 'utf8'), '# bashrc\n');
      assert.equal(key?.isError, true, `read ran: ${key?.text}`);
      assert.doesNotMatch(key.text, /PRIVATE KEY/);
      assert.equal(readme?.isError, false, readme?.text);
      assert.match(readme.text, /the notes/, 'the allowed rewrite did not reach the read tool');
    });

    it('ctx data, sessionManager and pi reads reach the sandbox from the live session', async () => {
      const r = await rig(version);
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(FIXTURES, 'session-facts.ts')]),
        script: [{ call: 'session_facts', args: {} }, { say: 'facts: {{toolResult}}' }],
        prompt: 'what do you see',
      });
      assert.equal(run.toolResults[0]?.isError, false, run.toolResults[0]?.text);
      const facts = JSON.parse(run.toolResults[0].text) as { sessionId: string; cwd: string; model: string; active: string[] };
      const session = run.session as unknown as { sessionManager?: { getSessionId(): string }; sessionId?: string };
      assert.equal(facts.sessionId, session.sessionManager?.getSessionId() ?? session.sessionId);
      assert.equal(facts.cwd, r.scratch.cwd);
      assert.equal(facts.model, 'faux-1');
      assert.ok(facts.active.includes('session_facts'), JSON.stringify(facts.active));
    });

    it('a provider defined as data registers with pi once its capability (env) is granted, and is refused without', async () => {
      const id = realpathSync(join(FIXTURES, 'data-provider.ts'));
      const find = (run: Awaited<ReturnType<typeof runSdkSession>>) =>
        run.session.modelRuntime?.getModel('warden-local', 'local-1') ?? run.session.modelRegistry?.find('warden-local', 'local-1');
      const script = [{ say: 'ok' }];
      const refused = await rig(version);
      const without = await runSdkSession({
        version,
        scratch: refused.scratch,
        extensionFactories: refused.factories([join(FIXTURES, 'data-provider.ts')]),
        script,
        prompt: 'hi',
      });
      assert.equal(find(without), undefined);
      assert.match(refused.session.failures[0]?.message ?? '', /registerProvider|denied/);
      const granted = await rig(version, { extensionPolicy: { allowDangerous: true, overrides: { [id]: { allow: ['env'] } } } });
      const run = await runSdkSession({
        version,
        scratch: granted.scratch,
        extensionFactories: granted.factories([join(FIXTURES, 'data-provider.ts')]),
        script,
        prompt: 'hi',
      });
      assert.ok(find(run), 'the provider the sandboxed extension defined as data is not in pi');
    });

    it('/reload re-creates the sandboxes: the old generation stops, the new one starts fresh', async () => {
      const r = await rig(version);
      const id = realpathSync(join(FIXTURES, 'counter.ts'));
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(FIXTURES, 'counter.ts')]),
        script: [{ call: 'count', args: {} }, { say: 'first' }],
        prompt: 'count',
      });
      assert.deepEqual(
        run.toolResults.map((t) => t.text),
        ['call 1'],
      );
      const [before] = r.session.sandboxesOf(id);
      assert.ok(before !== undefined && before.stopped === undefined);
      // pi's own reload: session_shutdown, then its resource loader runs every extension factory again.
      await (run.session as unknown as { reload(): Promise<void> }).reload();
      const [after] = r.session.sandboxesOf(id);
      assert.ok(after !== undefined && after !== before, 'no new sandbox after reload');
      assert.equal(after.stopped, undefined);
      const stopped = before.stopped as unknown as Error | undefined; // narrowed before the reload
      assert.match(stopped?.message ?? '', /reloaded/, 'the old generation still runs');
      assert.deepEqual(r.session.failures, []);
    });

    it('a kill from another connection to the store takes effect on the next call', async () => {
      const r = await rig(version);
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(examplesOf(version), 'hello.ts')]),
        script: [
          { call: 'hello', args: { name: 'one' } },
          { say: 'first: {{toolResult}}' },
          { call: 'hello', args: { name: 'two' } },
          { say: 'second: {{toolResult}}' },
        ],
        prompt: 'greet once',
      });
      assert.match(run.finalText, /first: Hello, one!/);
      const db = openStore(r.home);
      try {
        // The id is the extension's source: the real path of pi's example file.
        const id = realpathSync(join(examplesOf(version), 'hello.ts'));
        new TrustRegistry(db).transition(id, 'kill', 'test-operator', 'suspected compromise');
      } finally {
        db.close();
      }
      await run.session.prompt('greet again');
      const results = run.session.messages.filter((m) => m.role === 'toolResult');
      const last = results.at(-1)!;
      assert.equal(last.isError, true);
      assert.match(JSON.stringify(last.content), /quarantined/);
    });

    it('a context handler that edits a message in place is honoured on every turn, also once the message was sent before', async () => {
      const r = await rig(version);
      const run = await runSdkSession({
        version,
        scratch: r.scratch,
        extensionFactories: r.factories([join(FIXTURES, 'context-redact.ts'), join(examplesOf(version), 'hello.ts')]),
        script: [{ call: 'hello', args: { name: 'plum' } }, { say: 'done: {{toolResult}}' }],
        prompt: 'say hello to the plum tree',
      });
      assert.equal(run.requests.length, 2, 'two model turns: the tool call, then the answer');
      for (const request of run.requests) {
        const user = JSON.stringify(request.messages.filter((m) => m.role === 'user'));
        assert.match(user, /say hello to the \[fruit\] tree/, `turn ${request.turn}: the edit reached the model`);
        assert.doesNotMatch(user, /plum/, `turn ${request.turn}: no unedited copy reached the model`);
      }
      assert.deepEqual(r.session.failures, []);
    });

    if (version.id === '1.6.0')
      it("a turn_end handler's entries and continue reach pi (a boundary in 1.6.0): pi adds the message and goes on", async () => {
        const r = await rig(version);
        const run = await runSdkSession({
          version,
          scratch: r.scratch,
          extensionFactories: r.factories([join(FIXTURES, 'turn-continue.ts')]),
          script: [{ say: 'first answer' }, { say: 'second answer' }],
          prompt: 'hello',
        });
        assert.equal(run.requests.length, 2, 'pi went on for another turn');
        assert.match(JSON.stringify(run.requests[1]?.messages), /one more thing/);
        assert.match(run.finalText, /second answer/);
      });
  });
}
