/**
 * Sandboxed TUI components in the real pi TUI (issue 23), under tmux, for pi 1.6.0, 1.5.2 and 0.73.1, through the
 * launcher (`pi-warden pi`) with pi's faux provider:
 * - the shipped snake example (a `ui.custom` game) renders in the terminal and takes keys: Escape pauses and saves
 *   it (matchesKey on the key's bytes, `done()`, `pi.appendEntry`), and `/snake` again shows it paused;
 * - the shipped message-renderer example's `/status` message is drawn by its sandboxed renderer;
 * - hostile widgets are contained and the TUI keeps answering: a render that loops is replaced by a one-line
 *   notice (with a quota breach in the ledger), an OSC 52 clipboard write and a title change never reach the
 *   terminal while the widget's text and colour do, and a million lines are replaced by the notice.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/evidence/index.ts';
import { FAUX_EXTENSION_FILE, FAUX_MODEL, FAUX_PROVIDER, modelScript, PI_VERSIONS, scratchPi, type PiVersion } from './harness.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PI_WARDEN_BIN = join(REPO, 'bin', 'pi-warden.js');
const FIXTURES = fileURLToPath(new URL('../fixtures/bridge/', import.meta.url));
/** How long a test waits for a screen before it fails; polled, never asserted as a duration. */
const SCREEN_DEADLINE_MS = 45_000;

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TMUX_SKIP = hasTmux() ? false : 'tmux is not installed (Debian: apt-get install -y tmux; .ci/run installs it)';

/** One pi TUI in its own tmux server, with the shipped examples and the hostile fixture as user extensions. */
class PiInTmux {
  readonly socket: string;
  readonly home: string;
  readonly ids: Record<'snake' | 'message' | 'hostile', string>;
  constructor(version: PiVersion) {
    const scratch = scratchPi();
    const examples = fileURLToPath(new URL('../examples/extensions/', version.codingAgent));
    const extDir = join(scratch.agentDir, 'extensions');
    mkdirSync(extDir);
    const add = (from: string, name: string) => {
      copyFileSync(from, join(extDir, name));
      return realpathSync(join(extDir, name));
    };
    this.ids = {
      snake: add(join(examples, 'snake.ts'), 'snake.ts'),
      message: add(join(examples, 'message-renderer.ts'), 'message-renderer.ts'),
      hostile: add(join(FIXTURES, 'tui-hostile.ts'), 'tui-hostile.ts'),
    };
    // `safe` denies ui and session; the user grants them to these extensions.
    const overrides = Object.fromEntries(Object.values(this.ids).map((id) => [id, { allow: ['ui', 'session'] }]));
    writeFileSync(join(scratch.agentDir, 'settings.json'), JSON.stringify({ packages: [REPO], extensionPolicy: { overrides } }));
    this.home = join(scratch.root, '.pi', 'agent', 'warden');
    this.socket = join(scratch.root, 'tmux.sock');
    const model = modelScript(scratch, version, [{ say: 'unused' }]);
    const env = {
      ...scratch.env,
      PI_WARDEN_PI_PACKAGE: fileURLToPath(new URL('..', version.codingAgent)),
      PATH: process.env.PATH ?? '',
      PI_HARNESS_FAUX_SCRIPT: model.file,
      TERM: 'xterm-256color',
    };
    const command = [process.execPath, PI_WARDEN_BIN, 'pi', '-e', FAUX_EXTENSION_FILE, '--provider', FAUX_PROVIDER, '--model', FAUX_MODEL];
    this.tmux(
      'new-session',
      '-d',
      '-s',
      'pi',
      '-x',
      '120',
      '-y',
      '40',
      '-c',
      scratch.cwd,
      'env',
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...command,
    );
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The pane as text; with escapes (`-e`): the styling the terminal got. */
  screen(escapes = false): string {
    return this.tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'pi');
  }

  async waitFor(pattern: RegExp, what: string, negate = false): Promise<string> {
    const deadline = Date.now() + SCREEN_DEADLINE_MS;
    let last = '';
    while (Date.now() < deadline) {
      last = this.screen();
      if (pattern.test(last) !== negate) return last;
      await sleep(200);
    }
    throw new Error(`expected the pi TUI ${negate ? 'to stop showing' : 'to show'} ${what} (${pattern}), found this screen:\n${last}`);
  }

  type(text: string): void {
    this.tmux('send-keys', '-t', 'pi', '-l', text);
    this.tmux('send-keys', '-t', 'pi', 'Enter');
  }

  key(name: string): void {
    this.tmux('send-keys', '-t', 'pi', name);
  }

  /** The window title tmux holds for the pane (set by OSC 0/2 when a program writes one). */
  title(): string {
    return this.tmux('display-message', '-p', '-t', 'pi', '#{pane_title}');
  }

  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

function breaches(home: string, extensionId: string): string[] {
  const db = openStore(home, { readOnly: true });
  try {
    return (db.prepare('SELECT resource FROM quota_breaches WHERE extension_id = ?').all(extensionId) as { resource: string }[]).map(
      (r) => r.resource,
    );
  } finally {
    db.close();
  }
}

for (const id of ['1.6.0', '1.5.2', '0.73.1'] as const) {
  const version = PI_VERSIONS.find((v) => v.id === id)!;
  describe(`sandboxed TUI components in the pi ${id} TUI, under tmux`, { skip: TMUX_SKIP }, () => {
    let pi: PiInTmux;
    after(() => pi?.close());

    it('starts with the examples loaded in their sandboxes', async () => {
      pi = new PiInTmux(version);
      await pi.waitFor(new RegExp(FAUX_MODEL), 'its footer with the model');
    });

    it('the shipped snake game renders in the terminal and takes keys', async () => {
      pi.type('/snake');
      await pi.waitFor(/SNAKE.*Score/, 'the snake board');
      // Escape: the game's matchesKey(data, "escape") pauses, saves (pi.appendEntry) and closes (done).
      pi.key('Escape');
      await pi.waitFor(/SNAKE.*Score/, 'the board closed', true);
      pi.type('/snake');
      await pi.waitFor(/PAUSED/, 'the saved game, paused');
      pi.key('q');
      await pi.waitFor(/SNAKE.*Score/, 'the board closed after q', true);
    });

    it("the shipped message renderer draws a /status message with the extension's component", async () => {
      pi.type('/status warn disk almost full');
      await pi.waitFor(/\[WARN\] disk almost full/, 'the rendered status message');
    });

    it('an OSC 52 clipboard write and a title change never reach the terminal; the text and its colour do', async () => {
      const before = pi.title();
      pi.type('/hostile-osc');
      await pi.waitFor(/osc widget drawn/, 'the widget text');
      const styled = pi.screen(true);
      // eslint-disable-next-line no-control-regex -- the escape the terminal got is what is checked
      assert.match(styled, /\u001b\[[0-9;]*31m[^\n]*osc widget drawn/, 'the red colour (SGR) is kept');
      assert.doesNotMatch(styled, /\]52;|cHduZWQ=/, 'no clipboard write');
      assert.equal(pi.title(), before, 'the window title is unchanged');
      assert.doesNotMatch(pi.title(), /PWNED/);
    });

    it('a widget whose render loops is replaced by a notice with a breach, and the TUI keeps answering', async () => {
      pi.type('/hostile-loop');
      await pi.waitFor(/component over its frame time limit, replaced/, 'the notice in place of the looping widget');
      pi.type('/still-here');
      await pi.waitFor(/tui still answers/, 'the status line of a later command');
    });

    it('a widget that returns a million lines is replaced by a notice, and the TUI keeps answering', async () => {
      pi.type('/hostile-lines');
      await pi.waitFor(/component over its (output|frame time) limit, replaced/, 'the notice in place of the million lines');
      pi.tmux('send-keys', '-t', 'pi', '-l', 'typed after');
      await pi.waitFor(/typed after/, 'the editor echoing what is typed');
      pi.key('C-c'); // clears the editor
      await pi.waitFor(/typed after/, 'the editor cleared', true);
      pi.type('/quit');
      const deadline = Date.now() + SCREEN_DEADLINE_MS;
      while (Date.now() < deadline) {
        try {
          pi.screen();
        } catch {
          break;
        }
        await sleep(200);
      }
      const found = breaches(pi.home, pi.ids.hostile);
      assert.ok(found.includes('cpu_ms_per_frame'), `expected a cpu_ms_per_frame breach, found ${JSON.stringify(found)}`);
    });
  });
}
