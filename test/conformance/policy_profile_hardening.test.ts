/**
 * Conformance suite named after the runbook's `policy_profile_hardening`: profiles, precedence, unknown profile,
 * allowDangerous, settings sources and their order, invalid settings (SPEC §4.2–4.3, INV-003..INV-007).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CAPABILITIES } from '../../src/policy/capabilities.ts';
import { evaluateCapability } from '../../src/policy/precedence.ts';
import { policyFor, resolveIn, settingsDirs } from '../helpers.ts';

const BENIGN = ['read', 'write', 'http', 'events', 'session'] as const;

function decisions(p: ReturnType<typeof policyFor>, ext?: string): Record<string, string> {
  return Object.fromEntries(CAPABILITIES.map((c) => [c, evaluateCapability(p.rules, c, ext).decision]));
}

describe('policy_profile_hardening: profiles', () => {
  it('defaults to the safe profile when nothing is configured (INV-006; the reference defaults to permissive)', () => {
    const p = policyFor();
    assert.equal(p.profile, 'safe');
    assert.equal(p.profileSource, 'default');
    assert.equal(p.rules.mode, 'strict');
    assert.equal(p.rules.allowDangerous, false);
  });

  it('safe allows only the benign capabilities and denies ui, tool, log, exec, env and net', () => {
    assert.deepEqual(decisions(policyFor()), {
      read: 'allow',
      write: 'allow',
      http: 'allow',
      events: 'allow',
      session: 'allow',
      ui: 'deny',
      tool: 'deny',
      log: 'deny',
      exec: 'deny',
      env: 'deny',
      net: 'deny',
    });
  });

  it('balanced prompts for ui, tool and log and denies exec, env and net', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'balanced' } } });
    assert.equal(p.rules.mode, 'prompt');
    assert.deepEqual(decisions(p), {
      read: 'allow',
      write: 'allow',
      http: 'allow',
      events: 'allow',
      session: 'allow',
      ui: 'prompt',
      tool: 'prompt',
      log: 'prompt',
      exec: 'deny',
      env: 'deny',
      net: 'deny',
    });
  });

  it('permissive allows everything except exec and env, which still need allowDangerous', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'permissive' } } });
    const d = decisions(p);
    for (const c of [...BENIGN, 'ui', 'tool', 'log']) assert.equal(d[c], 'allow', c);
    assert.deepEqual(evaluateCapability(p.rules, 'exec'), { decision: 'deny', rule: 'dangerous_gate', reason: 'dangerous_not_allowed' });
    assert.equal(d.env, 'deny');
  });

  it('accepts the legacy name standard as balanced, trims and lowercases the profile name', () => {
    assert.equal(policyFor({ user: { extensionPolicy: { profile: 'standard' } } }).profile, 'balanced');
    assert.equal(policyFor({ user: { extensionPolicy: { profile: '  Permissive ' } } }).profile, 'permissive');
  });

  it('an unknown profile falls back to safe with a warning naming it', () => {
    for (const name of ['strict', 'prompt', 'open', '']) {
      const p = policyFor({}, {}, name);
      assert.equal(p.profile, 'safe', name);
      assert.match(p.warnings.join('\n'), new RegExp(`unknown profile "${name}"`));
    }
  });
});

describe('policy_profile_hardening: allowDangerous', () => {
  it('safe + allowDangerous still denies exec and env (strict mode, not in default caps)', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'safe', allowDangerous: true } } });
    assert.deepEqual(p.rules.denyCaps, []);
    assert.deepEqual(evaluateCapability(p.rules, 'exec'), { decision: 'deny', rule: 'mode', reason: 'not_in_default_caps' });
  });

  it('balanced + allowDangerous prompts for exec and env', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'balanced', allowDangerous: true } } });
    assert.equal(evaluateCapability(p.rules, 'exec').decision, 'prompt');
    assert.equal(evaluateCapability(p.rules, 'env').decision, 'prompt');
  });

  it('permissive + allowDangerous allows exec and env', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } });
    assert.equal(evaluateCapability(p.rules, 'exec').decision, 'allow');
  });

  it('a per-extension allow of exec is denied without allowDangerous and allowed with it', () => {
    const overrides = { ext: { allow: ['exec'] } };
    const without = policyFor({ user: { extensionPolicy: { overrides } } });
    assert.equal(evaluateCapability(without.rules, 'exec', 'ext').decision, 'deny');
    const withIt = policyFor({ user: { extensionPolicy: { overrides, allowDangerous: true } } });
    assert.deepEqual(evaluateCapability(withIt.rules, 'exec', 'ext'), {
      decision: 'allow',
      rule: 'extension_allow',
      reason: 'extension_allow',
    });
  });

  it('allowDangerous never removes exec from an explicit denyCaps', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true, denyCaps: ['exec'] } } });
    assert.deepEqual(evaluateCapability(p.rules, 'exec'), { decision: 'deny', rule: 'deny_caps', reason: 'deny_caps' });
    assert.equal(evaluateCapability(p.rules, 'env').decision, 'allow');
  });

  it('env PI_EXTENSION_ALLOW_DANGEROUS beats settings both ways', () => {
    const on = policyFor({ user: { extensionPolicy: { profile: 'permissive' } } }, { PI_EXTENSION_ALLOW_DANGEROUS: 'true' });
    assert.equal(on.rules.allowDangerous, true);
    assert.equal(on.allowDangerousSource, 'env');
    const off = policyFor(
      { user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } },
      { PI_EXTENSION_ALLOW_DANGEROUS: '0' },
    );
    assert.equal(off.rules.allowDangerous, false);
    const junk = policyFor({}, { PI_EXTENSION_ALLOW_DANGEROUS: 'maybe' });
    assert.equal(junk.rules.allowDangerous, false);
    assert.match(junk.warnings.join('\n'), /PI_EXTENSION_ALLOW_DANGEROUS="maybe" is not a boolean/);
  });
});

describe('policy_profile_hardening: precedence chain (INV-003, INV-004, INV-005)', () => {
  it('extension deny beats extension allow for the same capability', () => {
    const p = policyFor({ user: { extensionPolicy: { overrides: { ext: { allow: ['ui'], deny: ['ui'] } } } } });
    assert.deepEqual(evaluateCapability(p.rules, 'ui', 'ext'), { decision: 'deny', rule: 'extension_deny', reason: 'extension_deny' });
  });

  it('global denyCaps cannot be bypassed by a per-extension allow, in any profile', () => {
    for (const profile of ['safe', 'balanced', 'permissive']) {
      const p = policyFor({
        user: { extensionPolicy: { profile, allowDangerous: true, denyCaps: ['http'], overrides: { ext: { allow: ['http'] } } } },
      });
      assert.deepEqual(evaluateCapability(p.rules, 'http', 'ext'), { decision: 'deny', rule: 'deny_caps', reason: 'deny_caps' }, profile);
    }
  });

  it('extension allow beats the strict mode for non-dangerous capabilities', () => {
    const p = policyFor({ user: { extensionPolicy: { overrides: { ext: { allow: ['ui'] } } } } });
    assert.equal(evaluateCapability(p.rules, 'ui', 'ext').decision, 'allow');
    assert.equal(evaluateCapability(p.rules, 'ui').decision, 'deny');
  });

  it('overrides apply only to the extension they name', () => {
    const p = policyFor({ user: { extensionPolicy: { overrides: { a: { allow: ['log'], deny: ['read'] } } } } });
    assert.equal(evaluateCapability(p.rules, 'log', 'a').decision, 'allow');
    assert.equal(evaluateCapability(p.rules, 'read', 'a').decision, 'deny');
    assert.equal(evaluateCapability(p.rules, 'log', 'b').decision, 'deny');
    assert.equal(evaluateCapability(p.rules, 'read', 'b').decision, 'allow');
  });

  it('defaultCaps from settings replace the profile defaults', () => {
    const p = policyFor({ user: { extensionPolicy: { defaultCaps: ['read'] } } });
    assert.equal(evaluateCapability(p.rules, 'read').decision, 'allow');
    assert.equal(evaluateCapability(p.rules, 'write').decision, 'deny');
  });

  it('a remembered prompt answer only replaces a prompt: it never beats a deny', () => {
    const p = policyFor({
      user: { extensionPolicy: { profile: 'balanced', promptAnswers: { ext: { ui: 'allow', exec: 'allow', log: 'deny' } } } },
    });
    assert.deepEqual(evaluateCapability(p.rules, 'ui', 'ext'), {
      decision: 'allow',
      rule: 'remembered_prompt',
      reason: 'prompt_remembered_allow',
    });
    assert.equal(evaluateCapability(p.rules, 'log', 'ext').decision, 'deny');
    assert.equal(evaluateCapability(p.rules, 'exec', 'ext').rule, 'deny_caps');
    assert.equal(evaluateCapability(p.rules, 'ui', 'other').decision, 'prompt');
  });
});

describe('policy_profile_hardening: settings sources and their order', () => {
  it('CLI beats env beats project beats user beats default', () => {
    const files = { user: { extensionPolicy: { profile: 'balanced' } }, project: { extensionPolicy: { profile: 'safe' } } };
    const dirs = settingsDirs(
      { ...files, user: { extensionPolicy: { profile: 'permissive', trustProjectSettings: true } } },
      { PI_EXTENSION_POLICY: 'balanced' },
    );
    assert.deepEqual(
      [resolveIn(dirs, { cliProfile: 'permissive' }).profileSource, resolveIn(dirs, { cliProfile: 'permissive' }).profile],
      ['cli', 'permissive'],
    );
    assert.deepEqual([resolveIn(dirs).profileSource, resolveIn(dirs).profile], ['env', 'balanced']);
    const noEnv = { ...dirs, env: { ...dirs.env, PI_EXTENSION_POLICY: undefined } };
    assert.deepEqual([resolveIn(noEnv).profileSource, resolveIn(noEnv).profile], ['project', 'safe']);
    const userOnly = settingsDirs({ user: { extensionPolicy: { profile: 'balanced' } } });
    assert.deepEqual([resolveIn(userOnly).profileSource, resolveIn(userOnly).profile], ['user', 'balanced']);
    assert.equal(resolveIn(settingsDirs()).profileSource, 'default');
  });

  it('reads the user file from PI_CODING_AGENT_DIR, as pi does', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { profile: 'balanced' } } });
    assert.equal(resolveIn(dirs).profile, 'balanced');
    const elsewhere = { ...dirs, env: { ...dirs.env, PI_CODING_AGENT_DIR: `${dirs.root}/nowhere` } };
    assert.equal(resolveIn(elsewhere).profile, 'safe');
  });

  it('an untrusted project file may tighten but not loosen the user policy', () => {
    const dirs = settingsDirs({
      user: { extensionPolicy: { profile: 'balanced' } },
      project: {
        extensionPolicy: {
          profile: 'permissive',
          allowDangerous: true,
          defaultCaps: ['exec', 'ui'],
          overrides: { ext: { allow: ['ui'], deny: ['http'] } },
          denyCaps: ['log'],
        },
        extensionRisk: { enforce: false, enabled: true },
      },
    });
    const p = resolveIn(dirs);
    assert.equal(p.profile, 'balanced');
    assert.equal(p.profileSource, 'user');
    assert.equal(p.rules.allowDangerous, false);
    assert.equal(evaluateCapability(p.rules, 'ui', 'ext').decision, 'prompt');
    assert.equal(evaluateCapability(p.rules, 'http', 'ext').decision, 'deny');
    assert.equal(evaluateCapability(p.rules, 'log').decision, 'deny');
    assert.equal(p.risk.enforce, true);
    assert.equal(p.risk.enabled, true);
    const w = p.warnings.join('\n');
    for (const key of [
      'extensionPolicy.profile "permissive"',
      'extensionPolicy.allowDangerous',
      'extensionPolicy.defaultCaps',
      'overrides.ext.allow',
      'extensionRisk.enforce',
    ]) {
      assert.ok(w.includes(key), `warning names ${key}: ${w}`);
    }
    assert.ok(w.includes(dirs.projectPath));
  });

  it('a project file may select a stricter profile', () => {
    const p = resolveIn(
      settingsDirs({ user: { extensionPolicy: { profile: 'permissive' } }, project: { extensionPolicy: { profile: 'safe' } } }),
    );
    assert.equal(p.profile, 'safe');
    assert.equal(p.profileSource, 'project');
  });

  it('trustProjectSettings in the user file lets the project loosen; in the project file it is ignored', () => {
    const trusted = resolveIn(
      settingsDirs({ user: { extensionPolicy: { trustProjectSettings: true } }, project: { extensionPolicy: { profile: 'permissive' } } }),
    );
    assert.equal(trusted.profile, 'permissive');
    const selfTrust = resolveIn(settingsDirs({ project: { extensionPolicy: { trustProjectSettings: true, profile: 'permissive' } } }));
    assert.equal(selfTrust.profile, 'safe');
    assert.match(selfTrust.warnings.join('\n'), /trustProjectSettings ignored/);
  });
});

describe('policy_profile_hardening: invalid settings', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['broken JSON', '{"extensionPolicy": {', /\(file\): expected valid JSON/],
    ['a non-object file', '[1,2]', /\(top level\): expected a JSON object/],
    [
      'a wrong type',
      { extensionPolicy: { allowDangerous: 'yes' } },
      /extensionPolicy\.allowDangerous: expected a value of type boolean, found "yes"/,
    ],
    [
      'an unknown capability',
      { extensionPolicy: { denyCaps: ['exec', 'network'] } },
      /extensionPolicy\.denyCaps\[1\]: expected one of "read", "write"/,
    ],
    ['a misspelt key', { extensionPolicy: { allowDangerus: true } }, /extensionPolicy\.allowDangerus: expected no such key/],
    [
      'an override with a bad cap',
      { extensionPolicy: { overrides: { 'my-ext': { allow: ['root'] } } } },
      /extensionPolicy\.overrides\.my-ext\.allow\[0\]/,
    ],
    ['a risk value out of range', { extensionRisk: { windowSize: 4 } }, /extensionRisk\.windowSize: expected a number ≥ 8, found 4/],
    [
      'snake_case section',
      { extension_policy: { profile: 'permissive' } },
      /extension_policy: expected the camelCase key "extensionPolicy"/,
    ],
  ];
  for (const [name, content, message] of cases) {
    it(`${name}: names the file, key and expectation and falls back to safe`, () => {
      const dirs = settingsDirs({
        user:
          typeof content === 'string'
            ? content
            : {
                ...(content as object),
                extensionPolicy: {
                  profile: 'permissive',
                  allowDangerous: true,
                  ...((content as { extensionPolicy?: object }).extensionPolicy ?? {}),
                },
              },
      });
      const p = resolveIn(dirs, { cliProfile: 'permissive' });
      assert.ok(p.errors.length > 0, 'has errors');
      assert.ok(p.errors.every((e) => e.path === dirs.userPath));
      assert.match(p.errors.map((e) => e.message).join('\n'), message);
      assert.ok(p.errors[0]!.message.startsWith(dirs.userPath));
      assert.equal(p.profile, 'safe');
      assert.equal(p.rules.allowDangerous, false);
      assert.deepEqual(decisions(p), decisions(policyFor()));
      assert.equal(p.loadBlocked, true, 'an invalid user file blocks loading');
    });
  }

  it('an invalid project file is ignored: the user policy applies without it (issue 15: never the safe fallback)', () => {
    const p = resolveIn(settingsDirs({ user: { extensionPolicy: { profile: 'permissive' } }, project: '{oops' }));
    assert.equal(p.profile, 'permissive');
    assert.equal(p.loadBlocked, false);
    assert.equal(p.sources.find((s) => s.scope === 'project')?.status, 'invalid');
  });

  it('pi keys outside our two sections are left alone', () => {
    const p = policyFor({ user: { theme: 'dark', packages: ['npm:x'], extensionPolicy: { profile: 'balanced' } } });
    assert.deepEqual(p.errors, []);
    assert.equal(p.profile, 'balanced');
  });

  it('risk settings come through with defaults from the runbook', () => {
    const p = policyFor({ user: { extensionRisk: { enabled: true, alpha: 0.05 } } });
    const { enabled, enforce, alpha, windowSize, failClosed, decisionTimeoutMs, ledgerLimit } = p.risk;
    assert.deepEqual(
      { enabled, enforce, alpha, windowSize, failClosed, decisionTimeoutMs, ledgerLimit },
      { enabled: true, enforce: true, alpha: 0.05, windowSize: 128, failClosed: true, decisionTimeoutMs: 50, ledgerLimit: 2048 },
    );
  });
});

describe('policy_profile_hardening: agent directory', () => {
  it('expands ~ in PI_CODING_AGENT_DIR against HOME and defaults to ~/.pi/agent', async () => {
    const { agentDir } = await import('../../src/policy/settings.ts');
    assert.equal(agentDir({ HOME: '/h', PI_CODING_AGENT_DIR: '~/custom' }), '/h/custom');
    assert.equal(agentDir({ HOME: '/h' }), '/h/.pi/agent');
    assert.equal(agentDir({ HOME: '/h', PI_CODING_AGENT_DIR: '  ' }), '/h/.pi/agent');
  });
});

describe('policy_profile_hardening: explain warns about grants that cannot take effect', () => {
  it('an override allowing exec without allowDangerous is reported, and one that works is not', async () => {
    const { explainPolicy } = await import('../../src/policy/explain.ts');
    const e = explainPolicy(
      policyFor({ user: { extensionPolicy: { denyCaps: ['http'], overrides: { git: { allow: ['exec', 'ui', 'http'] } } } } }),
    );
    const w = e.warnings.join('\n');
    assert.match(
      w,
      /overrides\.git\.allow grants exec, but dangerous_gate still decides deny: exec, env and net are denied unless extensionPolicy\.allowDangerous/,
    );
    assert.match(w, /overrides\.git\.allow grants http, but deny_caps still decides deny/);
    assert.doesNotMatch(w, /grants ui/);
  });
});
