/**
 * The real-pi harness works for every pi version under test, in every mode the bridge's tests use: a plain
 * (unsandboxed) extension's tool `echo_secretless` is called by the scripted model, its output is in the model's
 * next request, and the model's final answer repeats it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import echoSecretless, { ECHO_PREFIX, ECHO_TOOL } from './fixtures/echo-secretless.ts';
import { newestToolResult } from './fixtures/faux-extension.ts';
import {
  FIXTURES,
  PI_VERSIONS,
  runCli,
  runLauncher,
  runRpc,
  runSdkSession,
  scratchPi,
  TOOL_RESULT_SLOT,
  transcript,
  type FauxStep,
  type ModelRequest,
  type PiMessage,
  type Transcript,
} from './harness.ts';

const ECHO_EXTENSION_FILE = join(FIXTURES, 'echo-secretless.ts');
const ANSWER = 'The tool said: ';

/**
 * A user extension in the scratch agent dir's extensions/ folder, where pi discovers extensions by itself: the
 * CLI offers its tool (so pi reads PI_CODING_AGENT_DIR, not ~/.pi), the SDK with `noExtensions` and the launcher
 * with `--no-extensions` do not (nothing pi discovers is imported there).
 */
const DISCOVERED_TOOL = 'discovered_marker';
function installDiscoveredExtension(agentDir: string): void {
  mkdirSync(join(agentDir, 'extensions'), { recursive: true });
  writeFileSync(
    join(agentDir, 'extensions', 'discovered-marker.ts'),
    `export default function (pi) {
  pi.registerTool({ name: '${DISCOVERED_TOOL}', label: 'marker', description: 'marker', parameters: { type: 'object', properties: {} },
    execute: async () => ({ content: [{ type: 'text', text: 'marker' }], details: {} }) });
}
`,
  );
}

/** Turn 1: call the tool with `word`; turn 2: answer with what the tool returned. */
function echoScript(word: string): FauxStep[] {
  return [{ call: ECHO_TOOL, args: { text: word } }, { say: ANSWER + TOOL_RESULT_SLOT }];
}

/** The model was offered the tool, then saw its result in the next request. */
function assertModelSawResult(requests: readonly ModelRequest[], word: string): void {
  assert.equal(requests.length, 2, `expected two model requests (tool call, answer), found ${requests.length}`);
  assert.ok(
    requests[0]!.tools.includes(ECHO_TOOL),
    `expected ${ECHO_TOOL} among the tools offered, found ${requests[0]!.tools.join(', ')}`,
  );
  assert.equal(newestToolResult(requests[0]!.messages), '');
  assert.equal(newestToolResult(requests[1]!.messages), ECHO_PREFIX + word);
}

function assertRoundTrip(run: Transcript, word: string): void {
  assert.deepEqual(run.toolCalls, [{ name: ECHO_TOOL, arguments: { text: word } }]);
  assert.deepEqual(run.toolResults, [{ toolName: ECHO_TOOL, text: ECHO_PREFIX + word, isError: false }]);
  assert.equal(run.finalText, ANSWER + ECHO_PREFIX + word);
}

for (const version of PI_VERSIONS) {
  describe(`pi ${version.id} with the faux model`, () => {
    const scratch = scratchPi();
    installDiscoveredExtension(scratch.agentDir);

    it('SDK: createAgentSession runs the tool and the model answers with its result', async () => {
      const word = `sdk-${version.id}`;
      const run = await runSdkSession({
        version,
        scratch,
        extensionFactories: [echoSecretless],
        script: [...echoScript(word), { say: 'second answer' }],
        prompt: 'echo something',
      });
      assertRoundTrip(run, word);
      assertModelSawResult(run.requests, word);
      assert.ok(run.events.some((e) => e.type === 'agent_end'));
      assert.ok(!run.requests[0]!.tools.includes(DISCOVERED_TOOL), 'expected noExtensions to keep the discovered extension out');
      // The session stays usable: a follow-up prompt takes the script's next step.
      await run.session.prompt('and again');
      assert.equal(transcript(run.session.messages).finalText, 'second answer');
      assert.equal(run.model.requests().length, 3);
    });

    it('SDK: without the extension the tool call fails and the model sees the error, not the echo', async () => {
      const word = `missing-${version.id}`;
      const run = await runSdkSession({ version, scratch, extensionFactories: [], script: echoScript(word), prompt: 'echo something' });
      assert.equal(run.toolResults.length, 1);
      assert.equal(run.toolResults[0]!.isError, true);
      assert.notEqual(newestToolResult(run.requests[1]!.messages), ECHO_PREFIX + word);
      assert.ok(!run.finalText.includes(ECHO_PREFIX));
    });

    it('CLI print mode (-p): the answer on stdout carries the tool result', async () => {
      const word = `print-${version.id}`;
      const run = await runCli({ version, scratch, script: echoScript(word), args: ['-e', ECHO_EXTENSION_FILE, '-p', 'echo something'] });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), ANSWER + ECHO_PREFIX + word);
      assertModelSawResult(run.requests, word);
      assert.ok(
        run.requests[0]!.tools.includes(DISCOVERED_TOOL),
        `expected the CLI to discover ${DISCOVERED_TOOL} in the scratch agent dir`,
      );
      // pi kept its session in the scratch agent dir, not in ~/.pi.
      assert.ok(
        existsSync(join(scratch.agentDir, 'sessions')),
        `expected sessions/ in ${scratch.agentDir}, found ${readdirSync(scratch.agentDir).join(', ')}`,
      );
    });

    it('CLI JSON mode: agent_end carries the tool call, its result and the answer', async () => {
      const word = `json-${version.id}`;
      const run = await runCli({
        version,
        scratch,
        script: echoScript(word),
        args: ['-e', ECHO_EXTENSION_FILE, '--mode', 'json', '-p', 'echo something'],
      });
      assert.equal(run.code, 0, run.stderr);
      const end = run.events.find((e) => e.type === 'agent_end');
      assert.ok(end !== undefined, `expected an agent_end line, found types ${run.events.map((e) => e.type).join(', ')}`);
      assertRoundTrip(transcript(end.messages as PiMessage[]), word);
      assertModelSawResult(run.requests, word);
    });

    it('CLI RPC mode: a prompt command over stdin runs the tool and ends with agent_end', async () => {
      const word = `rpc-${version.id}`;
      const run = await runRpc({ version, scratch, script: echoScript(word), prompt: 'echo something', args: ['-e', ECHO_EXTENSION_FILE] });
      assertRoundTrip(run, word);
      assertModelSawResult(run.requests, word);
      assert.ok(run.events.some((e) => e.type === 'response' && e.command === 'prompt'));
    });

    it('launcher: main(args, { extensionFactories }) with --no-extensions runs the inline tool in print mode', async () => {
      const word = `launcher-${version.id}`;
      const run = await runLauncher({
        version,
        scratch,
        script: echoScript(word),
        factoryModules: [ECHO_EXTENSION_FILE],
        args: ['--no-extensions', '-p', 'echo something'],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), ANSWER + ECHO_PREFIX + word);
      assertModelSawResult(run.requests, word);
      assert.ok(!run.requests[0]!.tools.includes(DISCOVERED_TOOL), 'expected --no-extensions to keep the discovered extension out');
    });
  });
}
