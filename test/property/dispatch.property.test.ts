/**
 * Property tests (fast-check): random and malformed hostcalls under random policies never get a decision more
 * permissive than the policy, and nothing but the typed error ever comes out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decideHostcall } from '../../src/dispatch/decide.ts';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { EXTENSION_ERROR_CODES, isWardenError } from '../../src/errors.ts';
import { CAPABILITIES, type Capability } from '../../src/policy/capabilities.ts';
import { METHOD_TABLE } from '../../src/policy/methods.ts';
import { compilePolicy, type PolicyRules } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';
import { ALL_METHODS, sampleParams } from '../helpers.ts';

const RUNS = Number(process.env.PI_WARDEN_PROPERTY_RUNS ?? 300);
const capArb = fc.constantFrom(...CAPABILITIES);
const capsArb = fc.uniqueArray(capArb, { maxLength: 10 });
const EXT_IDS = ['a', 'b', 'c'];

const rulesArb: fc.Arbitrary<PolicyRules> = fc
  .record({
    profile: fc.constantFrom('safe', 'balanced', 'permissive' as const),
    allowDangerous: fc.boolean(),
    defaultCaps: fc.option(capsArb, { nil: undefined }),
    denyCaps: fc.option(capsArb, { nil: undefined }),
    overrides: fc.dictionary(fc.constantFrom(...EXT_IDS), fc.record({ allow: capsArb, deny: capsArb })),
    promptAnswers: fc.dictionary(fc.constantFrom(...EXT_IDS), fc.dictionary(capArb, fc.constantFrom('allow', 'deny' as const))),
  })
  .map((s) =>
    rulesFor(s.profile, s.allowDangerous, {
      ...(s.defaultCaps ? { defaultCaps: s.defaultCaps } : {}),
      ...(s.denyCaps ? { denyCaps: s.denyCaps } : {}),
      overrides: s.overrides,
      promptAnswers: s.promptAnswers,
    }),
  );

/** The most a policy can grant, stated as the SPEC's constraints rather than as the chain. */
function ceiling(rules: PolicyRules, cap: Capability, ext: string): 'deny' | 'prompt' | 'allow' {
  const o = rules.overrides.get(ext);
  if (o?.deny.includes(cap)) return 'deny';
  if (rules.denyCaps.includes(cap)) return 'deny';
  if ((cap === 'exec' || cap === 'env') && !rules.allowDangerous) return 'deny';
  if (o?.allow.includes(cap) || rules.defaultCaps.includes(cap) || rules.mode === 'permissive') return 'allow';
  if (rules.mode === 'strict') return 'deny';
  return rules.promptAnswers.get(ext)?.get(cap) ?? 'prompt';
}
const RANK = { deny: 0, prompt: 1, allow: 2 } as const;

const validCallArb = fc.record({
  method: fc.constantFrom(...ALL_METHODS),
  ext: fc.constantFrom(...EXT_IDS, 'unlisted'),
  forged: fc.option(fc.oneof(capArb, fc.string()), { nil: undefined }),
  toolName: fc.oneof(fc.constantFrom('bash', 'BASH', 'read', 'edit', 'ls', 'write', 'grep'), fc.string({ minLength: 1 })),
});

function build(c: { method: string; forged: string | undefined; toolName: string }): Record<string, unknown> {
  const params = c.method === 'tool' ? { name: c.toolName } : sampleParams(c.method);
  return { call_id: 'p', method: c.method, params, ...(c.forged === undefined ? {} : { capability: c.forged }) };
}

describe('property: decisions never exceed the policy', () => {
  it('valid hostcalls with forged capabilities get at most what the policy grants their derived capability', () => {
    fc.assert(
      fc.property(rulesArb, validCallArb, (rules, c) => {
        const policy = compilePolicy(rules);
        const d = decideHostcall(policy, c.ext, build(c));
        const spec = METHOD_TABLE.get(c.method)!;
        if (spec.capability !== 'by_tool_name') assert.equal(d.capability, spec.capability);
        assert.ok(RANK[d.decision] <= RANK[ceiling(rules, d.capability, c.ext)], `${c.method} ${d.capability} ${d.decision} by ${d.rule}`);
        if (c.forged !== undefined && c.forged !== d.capability) assert.ok(d.capabilityMismatch);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('dispatch executes an operation only when the policy allows it, and returns only typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(rulesArb, validCallArb, async (rules, c) => {
        let executed = 0;
        const op: Operation = () => {
          executed++;
          return 'done';
        };
        const d = createDispatcher({ policy: compilePolicy(rules), operations: new Map(ALL_METHODS.map((m) => [m, op])) });
        const r = await d.dispatch(c.ext, build(c));
        const cap = decideHostcall(compilePolicy(rules), c.ext, build(c)).capability;
        const max = ceiling(rules, cap, c.ext);
        if (r.ok) {
          assert.equal(max, 'allow');
          assert.equal(executed, 1);
        } else {
          assert.ok(isWardenError(r.error));
          assert.ok((EXTENSION_ERROR_CODES as readonly string[]).includes(r.error.code));
          assert.equal(executed, 0);
          assert.equal(r.error.code, 'denied');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('property: malformed input only ever yields invalid_request', () => {
  const junkCall = fc.oneof(
    fc.anything(),
    fc.record(
      {
        call_id: fc.anything(),
        method: fc.oneof(fc.constantFrom(...ALL_METHODS), fc.string(), fc.anything()),
        params: fc.anything(),
        capability: fc.anything(),
      },
      { requiredKeys: [] },
    ),
    fc.record({
      call_id: fc.string({ minLength: 1, maxLength: 20 }),
      method: fc.constantFrom(...ALL_METHODS),
      params: fc.dictionary(fc.string(), fc.anything()),
    }),
  );

  it('decideHostcall throws nothing but WardenError(invalid_request)', () => {
    const policy = compilePolicy(rulesFor('permissive', true));
    fc.assert(
      fc.property(junkCall, (call) => {
        try {
          const d = decideHostcall(policy, 'x', call);
          assert.ok(CAPABILITIES.includes(d.capability));
        } catch (err) {
          assert.ok(isWardenError(err), `threw ${String(err)}`);
          assert.equal(err.code, 'invalid_request');
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('dispatch never rejects and never runs an operation for a malformed call', async () => {
    const policy = compilePolicy(rulesFor('permissive', true));
    await fc.assert(
      fc.asyncProperty(junkCall, async (call) => {
        let executed = false;
        let valid = true;
        try {
          decideHostcall(policy, 'x', call);
        } catch {
          valid = false;
        }
        const d = createDispatcher({
          policy,
          operations: new Map(
            ALL_METHODS.map((m) => [
              m,
              () => {
                executed = true;
                return 1;
              },
            ]),
          ),
        });
        const r = await d.dispatch('x', call);
        if (!valid) {
          assert.ok(!r.ok && r.error.code === 'invalid_request');
          assert.equal(executed, false);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
