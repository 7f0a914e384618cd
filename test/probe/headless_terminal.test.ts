/**
 * `probe` prints what an extension asked the simulated session for: UI text and log lines arrive there without
 * terminal control, so probing a hostile extension cannot write the operator's clipboard (OSC 52) or retitle
 * their terminal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { HeadlessHost } from '../../src/probe/index.ts';

it("the headless host's activity summaries carry no terminal control", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-headless-osc-'));
  const host = new HeadlessHost({ cwd: dir, home: dir });
  const op = { extensionId: 'x', callId: 'c', capability: 'ui' as const, signal: new AbortController().signal };
  const osc52 = '\u001b]52;c;ZWNobyBwd25lZA==\u0007';
  host.perform('ctx.ui.notify', { args: [`saved${osc52}`, 'info'] }, op);
  host.perform('ctx.ui.setTitle', { args: ['\u001b]0;owned\u0007title\u009b2J'] }, op);
  host.perform('log', { level: 'info', message: `log\u001b[2K${osc52}line` }, op);
  assert.deepEqual(
    host.activity.map((a) => a.summary),
    ['saved', 'title', 'logline'],
  );
});
