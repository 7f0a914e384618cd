/**
 * `policy explain` prints what exec mediation enforces (SPEC §4.4, §5.4): for every profile, with and without exec
 * granted by name, every row of the explanation (each class, `shell: true`, a cwd outside the workspace) is what
 * the real exec stage does with a command that shows exactly that: refuses without asking, asks, or lets it
 * through. Both read the profile data, so changing the data changes both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newContext } from '../../src/dispatch/hostcall.ts';
import { createPromptBroker, type PromptRequest } from '../../src/dispatch/prompts.ts';
import { WardenError } from '../../src/errors.ts';
import { analyseExec, createExecStage, EXEC_CLASSES } from '../../src/mediation/exec/stage.ts';
import { explainPolicy, type ExecRuleExplanation } from '../../src/policy/explain.ts';
import { PROFILE_PRESETS, PROFILES, type ExecRules, type ExecVerdict, type Profile } from '../../src/policy/profiles.ts';
import type { ResolvedPolicy } from '../../src/policy/settings.ts';
import { policyFor } from '../helpers.ts';

const workspace = mkdtempSync(join(tmpdir(), 'pi-warden-exec-rules-'));

/** A command that shows exactly one row's subject (checked below), and the reason code the stage gives for it. */
const SAMPLES: Readonly<Record<string, { params: Record<string, unknown>; reason: string }>> = {
  destructive_fs: { params: { cmd: 'shred', args: ['notes.txt'] }, reason: 'exec_destructive_fs' },
  pipe_to_shell: { params: { cmd: 'sh', args: ['-c', 'cat script.txt | sh'] }, reason: 'exec_pipe_to_shell' },
  privilege_escalation: { params: { cmd: 'sudo', args: ['ls'] }, reason: 'exec_privilege_escalation' },
  credential_access: { params: { cmd: 'cat', args: ['/home/u/.netrc'] }, reason: 'exec_credential_access' },
  obfuscated: { params: { cmd: 'sh', args: ['-c', '$CMD'] }, reason: 'exec_obfuscated' },
  unparseable: { params: { cmd: 'sh', args: ['-c', 'if then ('] }, reason: 'exec_unparseable' },
  network_tool: { params: { cmd: 'curl', args: ['https://example.invalid/'] }, reason: 'exec_network_tool' },
  inline_code: { params: { cmd: 'node', args: ['-e', '1'] }, reason: 'exec_inline_code' },
  background: { params: { cmd: 'nohup', args: ['ls'] }, reason: 'exec_background' },
  'shell: true': { params: { cmd: 'ls -l', shell: true }, reason: 'shell_not_allowed' },
  'cwd outside the workspace': { params: { cmd: 'ls', cwd: '/' }, reason: 'cwd_outside_workspace' },
};

function resolved(profile: Profile, granted: boolean): ResolvedPolicy {
  return policyFor({
    user: { extensionPolicy: { profile, allowDangerous: true, ...(granted ? { overrides: { ext: { allow: ['exec'] } } } : {}) } },
  });
}

/** What the real exec stage does with the row's sample: `deny` (refused unasked), `prompt` (asked), or `allow`. */
async function enforced(policy: ResolvedPolicy, row: ExecRuleExplanation): Promise<{ verdict: ExecVerdict; reasons: readonly string[] }> {
  const sample = SAMPLES[row.subject];
  assert.ok(sample !== undefined, `no sample command for the explained row "${row.subject}"`);
  const asked: PromptRequest[] = [];
  const prompts = createPromptBroker({
    prompter: {
      ask: (r) => {
        asked.push(r);
        return Promise.resolve({ decision: 'allow', scope: 'once' });
      },
    },
  });
  const stage = createExecStage({ policy: policy.compiled, workspace, commandHash: () => 'h', prompts });
  const ctx = Object.assign(newContext('ext', {}), { callId: 'c', method: 'exec', params: sample.params });
  const out = await stage.run(ctx);
  if (asked.length > 0) return { verdict: 'prompt', reasons: asked[0]?.reasonCodes ?? [] };
  if (out instanceof WardenError) return { verdict: 'deny', reasons: out.reasonCodes };
  assert.equal(out, undefined);
  return { verdict: 'allow', reasons: [] };
}

/** Every explained row against the stage, for one profile and grant; returns the disagreements. */
async function disagreements(profile: Profile, granted: boolean): Promise<string[]> {
  const policy = resolved(profile, granted);
  const explained = explainPolicy(policy, 'ext').exec_mediation;
  assert.equal(explained.granted_by_name, granted);
  const out: string[] = [];
  for (const row of explained.rules) {
    const printed = granted ? row.granted : row.ungranted;
    const { verdict, reasons } = await enforced(policy, row);
    if (verdict !== printed)
      out.push(`${profile}/${granted ? 'granted' : 'ungranted'}/${row.subject}: explain prints ${printed}, the stage does ${verdict}`);
    else if (verdict !== 'allow' && !reasons.includes(SAMPLES[row.subject]?.reason ?? ''))
      out.push(`${row.subject}: ${verdict} without its reason code (${reasons.join(', ')})`);
  }
  return out;
}

describe('policy explain prints the exec rules the exec stage enforces', () => {
  it('each sample command shows exactly the class its row stands for, and every class has a row', () => {
    for (const c of EXEC_CLASSES) assert.deepEqual(analyseExec(SAMPLES[c]!.params as never, 'exec').classes, [c]);
    for (const s of ['shell: true', 'cwd outside the workspace'])
      assert.deepEqual(analyseExec(SAMPLES[s]!.params as never, 'exec').classes, []);
    const subjects = explainPolicy(resolved('balanced', false)).exec_mediation.rules.map((r) => r.subject);
    assert.deepEqual(subjects.sort(), Object.keys(SAMPLES).sort());
  });

  for (const profile of PROFILES) {
    for (const granted of [false, true]) {
      it(`${profile}, exec ${granted ? '' : 'not '}granted by name: every row agrees with the stage`, async () => {
        assert.deepEqual(await disagreements(profile, granted), []);
      });
    }
  }

  it('changing the profile data changes what explain prints and what the stage does, alike', async () => {
    const preset = PROFILE_PRESETS.balanced as { exec: ExecRules };
    const original = preset.exec;
    preset.exec = {
      classes: {
        ...original.classes,
        network_tool: { granted: 'deny', ungranted: 'deny' },
        inline_code: { granted: 'allow', ungranted: 'allow' },
      },
      shell: { granted: 'allow', ungranted: 'prompt' },
      cwdOutsideWorkspace: original.cwdOutsideWorkspace,
    };
    try {
      const rows = explainPolicy(resolved('balanced', false), 'ext').exec_mediation.rules;
      const shown = (s: string) => rows.find((r) => r.subject === s)?.ungranted;
      assert.deepEqual([shown('network_tool'), shown('inline_code'), shown('shell: true')], ['deny', 'allow', 'prompt']);
      assert.deepEqual(await disagreements('balanced', false), []);
      assert.deepEqual(await disagreements('balanced', true), []);
    } finally {
      preset.exec = original;
    }
  });
});
