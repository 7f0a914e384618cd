/**
 * The bridge in the real `pi` CLI (no mocks of pi), for pi 1.6.0, 1.5.2 and 0.73.1, in a scratch HOME and agent
 * dir with pi-warden installed as a local pi package (the agent dir's settings list this repository):
 * - package route: `pi-warden adopt --all`, then `pi -p` and `pi --mode rpc`: the adopted extension's tool result
 *   reaches the scripted model, the tool ran in the sandbox (its write outside the project was refused by fs scope,
 *   and the ledger holds its decisions), `pi-warden status --json` says sandboxed; an extension added later and not
 *   adopted raises the "runs without pi-warden's sandbox" warning on stderr and an alert;
 * - launcher route: `pi-warden pi -p` and `pi-warden pi --mode rpc` with nothing adopted: an extension whose top
 *   level writes a marker under $HOME when imported leaves no marker, and its tool still answers;
 * - the interactive TUI (1.6.0) under tmux: a sandboxed extension's slash command sets a status line that shows.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/evidence/index.ts';
import {
  FAUX_EXTENSION_FILE,
  FAUX_MODEL,
  FAUX_PROVIDER,
  modelScript,
  PI_VERSIONS,
  runCli,
  runRpc,
  scratchPi,
  type FauxStep,
  type PiVersion,
  type ScratchPi,
} from './harness.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PI_WARDEN_BIN = join(REPO, 'bin', 'pi-warden.js');
const FIXTURES = fileURLToPath(new URL('../fixtures/bridge/', import.meta.url));
/** A pi-warden command that has not finished by then is killed and fails its test. */
const COMMAND_DEADLINE_MS = 60_000;

const HELLO_SCRIPT: readonly FauxStep[] = [{ call: 'hello', args: {} }, { say: 'model saw: {{toolResult}}' }];
const REFUSED_WRITE = /hello from the extension; write outside the project: refused/;

/** A scratch HOME in which pi finds pi-warden as a package (user settings) and pi-warden finds this pi version. */
interface World {
  readonly scratch: ScratchPi;
  /** env every child gets on top of the scratch's: the pi version pi-warden reads settings with */
  readonly env: Readonly<Record<string, string>>;
  /** pi-warden's home (ledger, adoption list) */
  readonly home: string;
  /** the real path of a file copied into the agent dir's extensions/ (pi's auto-discovered user extensions) */
  addExtension(fixture: string): string;
  warden(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

function packageRoot(version: PiVersion): string {
  return fileURLToPath(new URL('..', version.codingAgent));
}

function world(version: PiVersion): World {
  const scratch = scratchPi();
  const env = { PI_WARDEN_PI_PACKAGE: packageRoot(version) };
  writeFileSync(join(scratch.agentDir, 'settings.json'), JSON.stringify({ packages: [REPO] }));
  mkdirSync(join(scratch.agentDir, 'extensions'));
  return {
    scratch,
    env,
    home: join(scratch.root, '.pi', 'agent', 'warden'),
    addExtension(fixture) {
      const to = join(scratch.agentDir, 'extensions', fixture);
      copyFileSync(join(FIXTURES, fixture), to);
      return realpathSync(to);
    },
    warden: (args) =>
      new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          [PI_WARDEN_BIN, ...args],
          { cwd: scratch.cwd, env: { PATH: process.env.PATH ?? '', ...scratch.env, ...env }, timeout: COMMAND_DEADLINE_MS },
          (error, stdout, stderr) => {
            if (error !== null && typeof error.code !== 'number') reject(new Error(`pi-warden ${args.join(' ')}: ${error.message}`));
            else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
          },
        );
      }),
  };
}

interface LedgerRow {
  readonly extension_id: string;
  readonly method: string;
  readonly decision: string;
}

function ledger(home: string, extensionId: string): LedgerRow[] {
  const db = openStore(home, { readOnly: true });
  try {
    return (db.prepare('SELECT entry FROM ledger ORDER BY seq').all() as { entry: string }[])
      .map((r) => JSON.parse(r.entry) as LedgerRow)
      .filter((r) => r.extension_id === extensionId);
  } finally {
    db.close();
  }
}

function alerts(home: string): { extension_id: string; category: string; summary: string }[] {
  const db = openStore(home, { readOnly: true });
  try {
    return db.prepare('SELECT extension_id, category, summary FROM alerts').all() as never;
  } finally {
    db.close();
  }
}

for (const version of PI_VERSIONS) {
  describe(`pi ${version.id} CLI with pi-warden as a package (adopted extensions)`, () => {
    let w: World;
    let helloId = '';
    before(async () => {
      w = world(version);
      helloId = w.addExtension('cli-hello.ts');
      const adopted = await w.warden(['adopt', '--all', '--json']);
      assert.equal(adopted.code, 0, adopted.stderr);
    });

    it('print mode: the sandboxed tool result reaches the model; its write outside the project was refused', async () => {
      const run = await runCli({ version, scratch: w.scratch, script: HELLO_SCRIPT, args: ['-p', 'say hi'], env: w.env });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /model saw: /);
      assert.match(run.stdout, REFUSED_WRITE);
      assert.equal(existsSync(join(w.scratch.root, 'escaped.txt')), false, 'the tool wrote outside the project');
      assert.doesNotMatch(run.stderr, /without pi-warden's sandbox/);
      const rows = ledger(w.home, helloId);
      assert.ok(
        rows.some((r) => r.method === 'pi.registerTool' && r.decision === 'allow'),
        `expected the ledger to record ${helloId} registering its tool, found ${JSON.stringify(rows)}`,
      );
      assert.ok(
        rows.some((r) => r.method.startsWith('fs.') && r.decision !== 'allow'),
        `expected the ledger to record the refused write, found ${JSON.stringify(rows.map((r) => [r.method, r.decision]))}`,
      );
      // Handing pi a tool's output is the bridge's call (pi.result), not something the extension's source shows.
      const bypass = alerts(w.home).filter((a) => a.category === 'scanner_bypass');
      assert.deepEqual(bypass, [], 'a benign tool result raised scanner_bypass');
    });

    it('RPC mode: the sandboxed tool result reaches the model', async () => {
      const run = await runRpc({ version, scratch: w.scratch, script: HELLO_SCRIPT, prompt: 'say hi', env: w.env });
      assert.deepEqual(
        run.toolResults.map((t) => [t.toolName, t.isError]),
        [['hello', false]],
      );
      assert.match(run.toolResults[0]!.text, REFUSED_WRITE);
      assert.match(run.finalText, /model saw: hello from the extension/);
      assert.equal(existsSync(join(w.scratch.root, 'escaped.txt')), false, 'the tool wrote outside the project');
    });

    it('status --json lists the adopted extension as sandboxed', async () => {
      const r = await w.warden(['status', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { extensions: { id: string; state: string }[] };
      assert.deepEqual(
        doc.extensions.map((e) => [e.id, e.state]),
        [[helloId, 'sandboxed']],
      );
    });

    it('an extension added later and not adopted: a warning on stderr and an alert', async () => {
      const strayId = w.addExtension('import-marker.ts');
      const run = await runCli({ version, scratch: w.scratch, script: HELLO_SCRIPT, args: ['-p', 'say hi'], env: w.env });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, REFUSED_WRITE, 'the adopted extension no longer ran sandboxed');
      assert.ok(
        run.stderr.includes(`pi-warden: ${strayId} runs in pi without pi-warden's sandbox`),
        `expected a warning naming ${strayId} on stderr, found: ${run.stderr}`,
      );
      // pi imported it itself: the marker proves the warning is about a real unsandboxed load.
      assert.ok(existsSync(join(w.scratch.root, 'import-marker.txt')), 'pi did not load the stray extension');
      const found = alerts(w.home).filter((a) => a.extension_id === strayId);
      assert.equal(found.length, 1, `expected one alert for ${strayId}, found ${JSON.stringify(alerts(w.home))}`);
      assert.equal(found[0]!.category, 'policy_violation');
      const status = await w.warden(['status', '--json']);
      assert.equal(status.code, 1, 'status exits 1 while something runs unsandboxed');
      const doc = JSON.parse(status.stdout) as { extensions: { id: string; state: string }[] };
      assert.equal(doc.extensions.find((e) => e.id === strayId)?.state, 'unsandboxed');
    });
  });

  describe(`pi ${version.id} through the launcher (pi-warden pi)`, () => {
    let w: World;
    let markerId = '';
    const marker = (): string => join(w.scratch.root, 'import-marker.txt');
    before(() => {
      w = world(version);
      // The launcher runs pi with --no-extensions: pi-warden's own package entry in the settings is not loaded either.
      markerId = w.addExtension('import-marker.ts');
    });
    const script: readonly FauxStep[] = [{ call: 'marked', args: {} }, { say: 'model saw: {{toolResult}}' }];

    it('print mode: nothing pi discovers is imported unsandboxed; the sandboxed tool answers', async () => {
      const run = await runCli({
        version,
        scratch: w.scratch,
        script,
        args: ['-p', 'go'],
        env: w.env,
        command: [PI_WARDEN_BIN, 'pi'],
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /model saw: marker extension answered/);
      assert.equal(existsSync(marker()), false, 'the extension was imported outside the sandbox');
      assert.ok(
        ledger(w.home, markerId).some((r) => r.method === 'pi.registerTool'),
        `expected the ledger to record ${markerId} registering its tool`,
      );
    });

    it('RPC mode: the same', async () => {
      const run = await runRpc({ version, scratch: w.scratch, script, prompt: 'go', env: w.env, command: [PI_WARDEN_BIN, 'pi'] });
      assert.deepEqual(
        run.toolResults.map((t) => [t.toolName, t.text, t.isError]),
        [['marked', 'marker extension answered', false]],
      );
      assert.match(run.finalText, /model saw: marker extension answered/);
      assert.equal(existsSync(marker()), false, 'the extension was imported outside the sandbox');
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The interactive TUI under tmux

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const TMUX_SKIP = hasTmux() ? false : 'tmux is not installed (Debian: apt-get install -y tmux; .ci/run installs it)';
/** How long the TUI test waits for a screen before it fails; polled, never asserted as a duration. */
const SCREEN_DEADLINE_MS = 45_000;

describe('pi 1.6.0 interactive TUI through the launcher, under tmux', { skip: TMUX_SKIP }, () => {
  const version = PI_VERSIONS.find((v) => v.id === '1.6.0')!;
  let w: World;
  let socket = '';
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'pi');

  /** Polls the pane until `pattern` shows; fails with the last screen when it never does. */
  async function waitFor(pattern: RegExp, what: string): Promise<string> {
    const deadline = Date.now() + SCREEN_DEADLINE_MS;
    let last = '';
    while (Date.now() < deadline) {
      last = screen();
      if (pattern.test(last)) return last;
      await sleep(200);
    }
    throw new Error(`expected the pi TUI to show ${what} (${pattern}), found this screen:\n${last}`);
  }

  /** Polls until pi has exited (tmux ends a session whose command exits); fails with the last screen otherwise. */
  async function waitForExit(): Promise<void> {
    const deadline = Date.now() + SCREEN_DEADLINE_MS;
    let last = '';
    while (Date.now() < deadline) {
      try {
        last = screen();
      } catch {
        return;
      }
      await sleep(200);
    }
    throw new Error(`expected pi to exit after /quit, found this screen:\n${last}`);
  }

  before(() => {
    w = world(version);
    socket = join(w.scratch.root, 'tmux.sock');
  });
  after(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  });

  it("a sandboxed extension's slash command runs and its status line shows", async () => {
    const id = w.addExtension('tui-status.ts');
    // `safe` denies ui; the user grants it to this one extension (its id: the file's real path).
    writeFileSync(
      join(w.scratch.agentDir, 'settings.json'),
      JSON.stringify({ packages: [REPO], extensionPolicy: { overrides: { [id]: { allow: ['ui'] } } } }),
    );
    const model = modelScript(w.scratch, version, [{ say: 'unused' }]);
    const env = { ...w.scratch.env, ...w.env, PATH: process.env.PATH ?? '', PI_HARNESS_FAUX_SCRIPT: model.file, TERM: 'xterm-256color' };
    const command = [process.execPath, PI_WARDEN_BIN, 'pi', '-e', FAUX_EXTENSION_FILE, '--provider', FAUX_PROVIDER, '--model', FAUX_MODEL];
    tmux(
      'new-session',
      '-d',
      '-s',
      'pi',
      '-x',
      '120',
      '-y',
      '40',
      '-c',
      w.scratch.cwd,
      'env',
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...command,
    );
    await waitFor(new RegExp(FAUX_MODEL), 'its footer with the model');
    tmux('send-keys', '-t', 'pi', '-l', '/warden-test');
    tmux('send-keys', '-t', 'pi', 'Enter');
    const shown = await waitFor(/sandboxed ok/, 'the status line the command set');
    assert.match(shown, /sandboxed ok/);
    // pi flushes pi-warden's evidence when the session shuts down: quit, then read the ledger.
    tmux('send-keys', '-t', 'pi', '-l', '/quit');
    tmux('send-keys', '-t', 'pi', 'Enter');
    await waitForExit();
    const rows = ledger(w.home, id).map((r) => [r.method, r.decision]);
    assert.ok(
      rows.some(([method, decision]) => method === 'ctx.ui.setStatus' && decision === 'allow'),
      `expected the ledger to record the allowed ctx.ui.setStatus, found ${JSON.stringify(rows)}`,
    );
  });
});
