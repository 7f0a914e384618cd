/**
 * Lazy sandboxes agree with booted ones on what pi is given (ADR 0039): every example extension pi 1.6.0 ships is
 * loaded twice into one pi-warden home, the first time booted (which records it), the second time lazily where its
 * recording allows; what the proxies register on pi's API object (names, schemas, descriptions, options; functions
 * as such) is the same both times, for every example.
 */
import assert from 'node:assert/strict';
import { readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import type { PiObject } from '../../src/pi/liveHost.ts';
import { loadInto } from '../../src/pi/sessionExtensions.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { PI_VERSIONS, scratchPi } from './harness.ts';

const version = PI_VERSIONS.find((v) => v.id === '1.6.0')!;
const EXAMPLES = realpathSync(join(fileURLToPath(new URL('.', version.codingAgent)), '..', 'examples', 'extensions'));

/** pi's API object as far as the proxies use it at load: each registration call, as data. */
function recordingPi(calls: string[]): PiObject {
  const record =
    (name: string) =>
    (...args: unknown[]) =>
      void calls.push(`${name} ${JSON.stringify(args, (_k, v: unknown) => (typeof v === 'function' ? '[function]' : v))}`);
  const api: PiObject = { events: { on: record('events.on'), emit: () => undefined } };
  for (const m of [
    'registerTool',
    'registerCommand',
    'registerShortcut',
    'registerFlag',
    'on',
    'registerMessageRenderer',
    'registerEntryRenderer',
    'registerToolRenderer',
    'registerMarkdownTransformer',
    'registerProvider',
  ])
    api[m] = record(m);
  return api;
}

describe("pi 1.6.0's examples, booted and lazy", () => {
  it('register the same on pi; the ones with no start-up event and no read at load wait for their first use', async () => {
    const scratch = scratchPi();
    const env = { ...scratch.env, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const home = join(scratch.root, 'warden');
    const policy = resolvePolicy({ env, cwd: scratch.cwd });
    const extensions = readdirSync(EXAMPLES)
      .filter((n) => n !== 'README.md')
      .flatMap((n) => locateExtensions(join(EXAMPLES, n)));
    const sessions: Array<Map<string, { calls: string[]; states: string[] }>> = [];
    for (let i = 0; i < 2; i++) {
      const bridge = await BridgeSession.open({ cwd: scratch.cwd, home, env, policy });
      const seen = new Map<string, { calls: string[]; states: string[] }>();
      try {
        for (const ext of extensions) {
          const calls: string[] = [];
          await loadInto(bridge, recordingPi(calls), ext);
          seen.set(ext.id, { calls, states: bridge.loadStatesOf(ext.id) });
        }
      } finally {
        await bridge.close();
      }
      sessions.push(seen);
    }
    const [booted, second] = sessions as [(typeof sessions)[0], (typeof sessions)[0]];
    const lazy: string[] = [];
    for (const ext of extensions) {
      const name = ext.id.slice(EXAMPLES.length + 1);
      assert.ok(!booted.get(ext.id)!.states.includes('lazy'), `${name}: no recording in the first session`);
      assert.deepEqual(second.get(ext.id)!.calls, booted.get(ext.id)!.calls, `${name}: what pi is given`);
      if (second.get(ext.id)!.states.includes('lazy')) lazy.push(name);
    }
    // hello.ts registers one tool and nothing else; the permission gate waits for the first tool call.
    process.stdout.write(`# lazy in the second session: ${lazy.length} of ${extensions.length}: ${lazy.join(', ')}\n`);
    assert.ok(lazy.includes('hello.ts'), `expected hello.ts among the lazy examples, found ${lazy.join(', ')}`);
    assert.ok(lazy.includes('permission-gate.ts'), `expected permission-gate.ts among the lazy examples, found ${lazy.join(', ')}`);
    assert.ok(!lazy.includes('ssh.ts') && !lazy.includes('dynamic-tools.ts'), `start-up dependent examples stay eager: ${lazy.join(', ')}`);
  });
});
