/**
 * Conformance suite named after the runbook's `capability_denial_matrix`: every method × every profile × override
 * combination, the derived capability and the decision, including forged capability fields (INV-001, INV-002).
 * Expectations are written out here independently of the method table and the evaluator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideHostcall } from '../../src/dispatch/decide.ts';
import { isWardenError } from '../../src/errors.ts';
import { CAPABILITIES, type Capability } from '../../src/policy/capabilities.ts';
import { ALL_METHODS, hostcall, policyFor } from '../helpers.ts';

/** The capability each method must require, written by hand (a new method without a line here fails the suite). */
const EXPECTED: Record<string, Capability> = {
  exec: 'exec',
  'exec.spawn': 'exec',
  'exec.read': 'exec',
  'exec.write': 'exec',
  'exec.kill': 'exec',
  'pi.registerMcpServer': 'exec',
  'net.connect': 'net',
  'net.read': 'net',
  'net.write': 'net',
  'net.close': 'net',
  http: 'http',
  'fs.read': 'read',
  'fs.list': 'read',
  'fs.stat': 'read',
  'fs.exists': 'read',
  'fs.realpath': 'read',
  'fs.write': 'write',
  'fs.mkdir': 'write',
  'fs.mkdtemp': 'write',
  'fs.delete': 'write',
  'fs.rename': 'write',
  'fs.copy': 'write',
  'fs.symlink': 'write',
  'fs.chmod': 'write',
  'env.get': 'env',
  'env.list': 'env',
  'ctx.modelRegistry.getApiKey': 'env',
  'ctx.modelRegistry.getApiKeyAndHeaders': 'env',
  'ctx.modelRegistry.getApiKeyForProvider': 'env',
  'pi.registerProvider': 'env',
  'ctx.modelRegistry.registerProvider': 'env',
  log: 'log',
  tool: 'tool',
  // The bridge's calls for what a handler hands pi: a rewritten tool input needs the tool's capability (no name: tool).
  'tool.input': 'tool',
  'pi.result': 'session',
};
for (const m of [
  'pi.on',
  'pi.off',
  'pi.registerTool',
  'pi.registerCommand',
  'pi.registerShortcut',
  'pi.registerFlag',
  'pi.getFlag',
  'pi.registerMessageRenderer',
  'pi.registerEntryRenderer',
  'pi.registerToolRenderer',
  'pi.registerMarkdownTransformer',
  'pi.events.emit',
  'pi.events.on',
])
  EXPECTED[m] = 'events';
for (const m of [
  'pi.unregisterProvider',
  'pi.registerVirtualModel',
  'pi.unregisterVirtualModel',
  'pi.unregisterMcpServer',
  'pi.getMcpServers',
  'pi.getSettings',
  'pi.sendMessage',
  'pi.sendUserMessage',
  'pi.appendEntry',
  'pi.setSessionName',
  'pi.getSessionName',
  'pi.setLabel',
  'pi.getActiveTools',
  'pi.getAllTools',
  'pi.setActiveTools',
  'pi.getCommands',
  'pi.setModel',
  'pi.getThinkingLevel',
  'pi.setThinkingLevel',
])
  EXPECTED[m] = 'session';
for (const m of ALL_METHODS) {
  if (m.startsWith('ctx.ui.')) EXPECTED[m] ??= 'ui';
  if (m.startsWith('ctx.sessionManager.') || m.startsWith('ctx.modelRegistry.')) EXPECTED[m] ??= 'session';
  if (/^ctx\.[a-zA-Z]+$/.test(m)) EXPECTED[m] ??= 'session';
}

/** Decisions per profile, without overrides, written out as in SPEC §4.2 (our permissive keeps exec/env/net gated). */
const PROFILE_TABLE: Record<string, Record<Capability, 'allow' | 'deny' | 'prompt'>> = {
  safe: {
    read: 'allow',
    write: 'allow',
    http: 'allow',
    events: 'allow',
    session: 'allow',
    ui: 'deny',
    exec: 'deny',
    env: 'deny',
    tool: 'deny',
    log: 'deny',
    net: 'deny',
  },
  balanced: {
    read: 'allow',
    write: 'allow',
    http: 'allow',
    events: 'allow',
    session: 'allow',
    ui: 'prompt',
    exec: 'deny',
    env: 'deny',
    tool: 'prompt',
    log: 'prompt',
    net: 'deny',
  },
  permissive: {
    read: 'allow',
    write: 'allow',
    http: 'allow',
    events: 'allow',
    session: 'allow',
    ui: 'allow',
    exec: 'deny',
    env: 'deny',
    tool: 'allow',
    log: 'allow',
    net: 'deny',
  },
};
const DANGEROUS_TABLE: Record<string, 'allow' | 'deny' | 'prompt'> = { safe: 'deny', balanced: 'prompt', permissive: 'allow' };

type OverrideCase = { name: string; allowDangerous: boolean; denyCaps?: Capability[]; allow?: Capability[]; deny?: Capability[] };

/** Oracle for one combination, from the SPEC's rules (not the evaluator's code). */
function expected(profile: string, c: OverrideCase, cap: Capability): 'allow' | 'deny' | 'prompt' {
  if (c.deny?.includes(cap)) return 'deny';
  if (c.denyCaps?.includes(cap)) return 'deny';
  const dangerous = cap === 'exec' || cap === 'env' || cap === 'net';
  if (dangerous && !c.allowDangerous) return 'deny';
  if (c.allow?.includes(cap)) return 'allow';
  return dangerous ? DANGEROUS_TABLE[profile]! : PROFILE_TABLE[profile]![cap];
}

const CASES: OverrideCase[] = [
  { name: 'no override', allowDangerous: false },
  { name: 'allowDangerous', allowDangerous: true },
  { name: 'extension allows everything', allowDangerous: false, allow: [...CAPABILITIES] },
  { name: 'extension allows everything + allowDangerous', allowDangerous: true, allow: [...CAPABILITIES] },
  { name: 'extension denies everything', allowDangerous: true, deny: [...CAPABILITIES], allow: [...CAPABILITIES] },
  {
    name: 'global deny of http, ui, exec beats extension allow',
    allowDangerous: true,
    denyCaps: ['http', 'ui', 'exec'],
    allow: [...CAPABILITIES],
  },
  { name: 'extension denies read and allows log', allowDangerous: false, deny: ['read'], allow: ['log'] },
];

function toolCallFor(cap: Capability): string {
  return { read: 'grep', write: 'edit', exec: 'bash' }[cap as 'read'] ?? 'summarise';
}

describe('capability_denial_matrix', () => {
  it('every method in the table has an expected capability in this suite', () => {
    const missing = ALL_METHODS.filter((m) => EXPECTED[m] === undefined);
    assert.deepEqual(missing, []);
  });

  for (const profile of ['safe', 'balanced', 'permissive']) {
    for (const c of CASES) {
      it(`${profile} / ${c.name}: every method derives its capability and gets the expected decision`, () => {
        const override =
          c.allow === undefined && c.deny === undefined
            ? undefined
            : { ext: { ...(c.allow ? { allow: c.allow } : {}), ...(c.deny ? { deny: c.deny } : {}) } };
        const p = policyFor({
          user: {
            extensionPolicy: {
              profile,
              allowDangerous: c.allowDangerous,
              ...(c.denyCaps ? { denyCaps: c.denyCaps } : {}),
              ...(override ? { overrides: override } : {}),
            },
          },
        });
        assert.deepEqual(p.errors, []);
        for (const method of ALL_METHODS) {
          const d = decideHostcall(p.compiled, 'ext', hostcall(method));
          assert.equal(d.capability, EXPECTED[method], `${method} capability`);
          assert.equal(
            d.decision,
            expected(profile, c, d.capability),
            `${profile}/${c.name}/${method} (${d.capability}) decided by ${d.rule}`,
          );
          // The same call from an extension without overrides gets the global decision.
          const other = decideHostcall(p.compiled, 'someone-else', hostcall(method));
          assert.equal(
            other.decision,
            expected(profile, { name: 'global', allowDangerous: c.allowDangerous, denyCaps: c.denyCaps }, d.capability),
            `other extension ${method}`,
          );
        }
        for (const cap of CAPABILITIES) {
          if (cap !== 'read' && cap !== 'write' && cap !== 'exec' && cap !== 'tool') continue;
          const d = decideHostcall(p.compiled, 'ext', hostcall('tool', { name: toolCallFor(cap), input: {} }));
          assert.equal(d.capability, cap);
          assert.equal(d.decision, expected(profile, c, cap));
        }
      });
    }
  }

  it('the caller-supplied capability never decides: forged fields are ignored and flagged', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'balanced' } } });
    for (const method of ALL_METHODS) {
      const honest = decideHostcall(p.compiled, 'ext', hostcall(method));
      for (const forged of [...CAPABILITIES, 'EXEC', 'internal', '', 'read ']) {
        const d = decideHostcall(p.compiled, 'ext', hostcall(method, undefined, { capability: forged }));
        assert.equal(d.capability, honest.capability, `${method} forged ${forged}`);
        assert.equal(d.decision, honest.decision, `${method} forged ${forged}`);
        assert.equal(d.capabilityMismatch, forged !== honest.capability, `${method} forged ${forged} flagged`);
      }
    }
  });

  it('tool names are folded, so spellings of bash still need exec', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'permissive' } } });
    for (const name of ['bash', 'Bash', 'BASH', 'ba.sh', ' bash ', 'b-a_s/h', 'Edit', 'LS']) {
      const d = decideHostcall(p.compiled, 'ext', hostcall('tool', { name }));
      assert.notEqual(d.capability, 'tool', name);
      if (name.toLowerCase().replace(/[^a-z]/g, '') === 'bash') assert.equal(d.decision, 'deny', name);
    }
    assert.equal(decideHostcall(p.compiled, 'ext', hostcall('tool', { name: 'bashful' })).capability, 'tool');
  });

  it('case variants and unknown methods are invalid_request, never a default capability', () => {
    const p = policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } });
    for (const method of [
      'EXEC',
      'Exec',
      'exec ',
      'fs',
      'fs.READ',
      'env',
      'internal',
      '',
      '__proto__',
      'constructor',
      'toString',
      'pi',
      'ctx.ui',
      'http.request',
    ]) {
      assert.throws(
        () => decideHostcall(p.compiled, 'ext', hostcall('log', { level: 'info', message: 'x' }, { method })),
        (err: unknown) => isWardenError(err) && err.code === 'invalid_request' && /unknown hostcall method/.test(err.message),
        method,
      );
    }
  });

  it('params that fail the method schema are invalid_request naming the params path', () => {
    const p = policyFor();
    const bad: Array<[string, unknown, RegExp]> = [
      ['exec', { cmd: '' }, /exec: params\.cmd/],
      ['exec', { cmd: 'ls', args: ['-l', 3] }, /exec: params\.args\.1/],
      ['exec', { cmd: 'ls', envv: {} }, /unknown key "envv"/],
      ['http', { url: 42 }, /http: params\.url/],
      ['http', { url: 'https://x', method: 'TRACE' }, /params\.method/],
      ['fs.read', {}, /fs\.read: params/],
      ['tool', { name: '' }, /tool: params\.name/],
      ['tool', { input: {} }, /tool: params/],
      ['env.get', { name: 'A', extra: 1 }, /unknown key "extra"/],
      ['log', { level: 'fatal', message: 'x' }, /params\.level/],
      ['fs.read', [], /params must be a plain object, found an array/],
      ['fs.read', null, /params must be a plain object, found null/],
      ['fs.read', 'path', /params must be a plain object, found "path"/],
    ];
    for (const [method, params, message] of bad) {
      assert.throws(
        () => decideHostcall(p.compiled, 'ext', { call_id: 'c', method, params }),
        (err: unknown) => isWardenError(err) && err.code === 'invalid_request' && message.test(err.message),
        `${method} ${JSON.stringify(params)}`,
      );
    }
  });

  it('envelope problems are invalid_request naming the field', () => {
    const p = policyFor();
    const bad: Array<[unknown, RegExp]> = [
      [null, /hostcall must be a plain object/],
      [[], /hostcall must be a plain object/],
      ['exec', /hostcall must be a plain object/],
      [{ method: 'log', params: {} }, /call_id must be a non-empty string/],
      [{ call_id: '  ', method: 'log', params: {} }, /call_id/],
      [{ call_id: 'x'.repeat(300), method: 'log', params: {} }, /call_id/],
      [{ call_id: 'c', method: 7, params: {} }, /method must be a string/],
      [{ call_id: 'c', method: 'log', params: { level: 'info', message: '' }, capability: 5 }, /capability must be a string/],
      [Object.create({ call_id: 'c', method: 'exec', params: { cmd: 'ls' } }), /hostcall must be a plain object/],
    ];
    for (const [call, message] of bad) {
      assert.throws(
        () => decideHostcall(p.compiled, 'ext', call),
        (err: unknown) => isWardenError(err) && err.code === 'invalid_request' && message.test(err.message),
      );
    }
  });

  it('inherited envelope fields are not read (prototype pollution cannot supply a method)', () => {
    const p = policyFor();
    const proto = Object.prototype as Record<string, unknown>;
    proto.method = 'fs.read';
    proto.params = { path: '/etc/passwd' };
    try {
      assert.throws(
        () => decideHostcall(p.compiled, 'ext', { call_id: 'c' }),
        (err: unknown) => isWardenError(err) && err.code === 'invalid_request',
      );
    } finally {
      delete proto.method;
      delete proto.params;
    }
  });
});
