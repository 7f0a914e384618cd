import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import type { Prompter } from '../../src/dispatch/prompts.ts';
import { loadOrCreateKey } from '../../src/evidence/keys.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';
import { replayStore } from '../../src/replay/replay.ts';
import { tempHome } from '../evidence/fixtures.ts';

const replay = (home: string) => replayStore(home, { publicKey: loadOrCreateKey(home).publicKey });

describe('replay of prompt outcomes', () => {
  it('a synchronous call refused because it needed a prompt replays as a policy deny, not as "not recomputable"', async () => {
    const home = tempHome();
    const w = await EvidenceWriter.open(home);
    // balanced prompts for ui: the synchronous path cannot wait for the user and refuses (sync_needs_prompt).
    const prompter: Prompter = { ask: async () => ({ decision: 'allow', scope: 'once' }) };
    const d = createDispatcher({
      policy: compilePolicy(rulesFor('balanced', false)),
      operations: new Map<string, Operation>([['ctx.ui.notify', () => 1]]),
      prompter,
      recorder: w,
    });
    const r = d.dispatchSync('ext', { call_id: 's1', method: 'ctx.ui.notify', params: {} });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.reasonCodes.includes('sync_needs_prompt'), 'the refusal names sync_needs_prompt');
    await w.close();
    const report = replay(home);
    assert.equal(report.entries_replayed, 1);
    assert.equal(report.not_recomputable, 0, 'the refusal is recomputable from its recorded reason');
    assert.equal(report.matching, 1);
    assert.deepEqual(report.differences, []);
  });

  it('every prompt outcome the policy stage records (answered, remembered, no UI, failed, synchronous) replays as matching', async () => {
    const home = tempHome();
    const w = await EvidenceWriter.open(home);
    const answers: unknown[] = [
      { decision: 'allow', scope: 'once' },
      { decision: 'deny', scope: 'once' },
      { decision: 'allow', scope: 'session' },
      'garbage',
    ];
    const prompter: Prompter = { ask: async () => answers.shift() as never };
    const policy = compilePolicy(rulesFor('balanced', false));
    const operations = new Map<string, Operation>([
      ['ctx.ui.notify', () => 1],
      ['ctx.ui.setStatus', () => 1],
      ['ctx.ui.setWidget', () => 1],
    ]);
    const withUi = createDispatcher({ policy, operations, prompter, recorder: w });
    const noUi = createDispatcher({ policy, operations, recorder: w });
    const codes: string[] = [];
    const note = (r: { ok: boolean; error?: { reasonCodes: readonly string[] } }) => codes.push(...(r.error?.reasonCodes ?? []));
    note(await withUi.dispatch('a', { call_id: '1', method: 'ctx.ui.notify', params: {} }));
    note(await withUi.dispatch('b', { call_id: '2', method: 'ctx.ui.notify', params: {} }));
    note(await withUi.dispatch('c', { call_id: '3', method: 'ctx.ui.notify', params: {} }));
    note(await withUi.dispatch('c', { call_id: '4', method: 'ctx.ui.notify', params: {} }));
    note(await withUi.dispatch('d', { call_id: '5', method: 'ctx.ui.notify', params: {} }));
    note(await noUi.dispatch('e', { call_id: '6', method: 'ctx.ui.notify', params: {} }));
    note(withUi.dispatchSync('f', { call_id: '7', method: 'ctx.ui.notify', params: {} }));
    await w.close();
    for (const c of ['prompt_user_deny', 'prompt_failed', 'prompt_no_ui', 'sync_needs_prompt'])
      assert.ok(codes.includes(c), `the run produced ${c}`);
    const report = replay(home);
    assert.equal(report.entries_replayed, 7);
    assert.equal(report.not_recomputable, 0);
    assert.equal(report.matching, 7);
  });
});
