/**
 * The guest's pi API (src/sandbox/contract.ts) and the method → capability table (src/policy/methods.ts) name the
 * same hostcalls. They cannot share one list: guest code may import only the contract, and policy sits below the
 * sandbox. So they agree by test: a member the guest can call that the table lacks would be refused at run time
 * (invalid_request), and a table entry no guest member calls is dead policy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METHOD_TABLE } from '../../src/policy/methods.ts';
import {
  COMMAND_CONTEXT_MEMBERS,
  CONTEXT_MEMBERS,
  MODEL_REGISTRY_MEMBERS,
  PI_ACTIONS,
  REGISTRATIONS,
  SESSION_MANAGER_MEMBERS,
  UI_MEMBERS,
  UNREGISTRATIONS,
} from '../../src/sandbox/contract.ts';

const table = new Set(METHOD_TABLE.keys());
const inTable = (prefix: string) => [...table].filter((m) => m.startsWith(prefix)).sort();

describe('the guest contract and the method table name the same hostcalls', () => {
  it('every method a guest member calls has a capability in the table', () => {
    const called = [
      ...Object.values(PI_ACTIONS).map((a) => a.method),
      ...Object.values(REGISTRATIONS),
      ...Object.values(UNREGISTRATIONS),
      ...Object.keys(UI_MEMBERS).map((m) => `ctx.ui.${m}`),
      ...SESSION_MANAGER_MEMBERS.map((m) => `ctx.sessionManager.${m}`),
      ...[MODEL_REGISTRY_MEMBERS, CONTEXT_MEMBERS, COMMAND_CONTEXT_MEMBERS].flatMap((g) => Object.values(g).map(([method]) => method)),
    ];
    assert.deepEqual(
      called.filter((m) => !table.has(m)),
      [],
    );
  });

  it('ctx.ui, ctx.sessionManager and ctx.modelRegistry: the table holds exactly what the guest offers', () => {
    assert.deepEqual(
      inTable('ctx.ui.'),
      Object.keys(UI_MEMBERS)
        .map((m) => `ctx.ui.${m}`)
        .sort(),
    );
    assert.deepEqual(inTable('ctx.sessionManager.'), SESSION_MANAGER_MEMBERS.map((m) => `ctx.sessionManager.${m}`).sort());
    assert.deepEqual(inTable('ctx.modelRegistry.'), [...new Set(Object.values(MODEL_REGISTRY_MEMBERS).map(([m]) => m))].sort());
  });
});
