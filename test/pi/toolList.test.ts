/** The copy of pi's tool list a sandboxed tool's ctx.tools is made from: once per distinct list, frozen. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolListCopy } from '../../src/pi/toolList.ts';

describe('ToolListCopy', () => {
  const tool = (name: string) => ({ name, label: name, description: `the ${name} tool`, parameters: { type: 'object', properties: {} } });

  it('gives the same frozen copy for a new array of the same tool objects, a new one when a field changes', () => {
    const copies = new ToolListCopy();
    const read = tool('read');
    const bash = tool('bash');
    const first = copies.of([read, bash]);
    assert.equal(copies.of([read, bash]), first, 'pi builds a new array on every read of ctx.tools');
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first[0]) && Object.isFrozen((first[0] as { parameters: object }).parameters));
    assert.deepEqual(first[0], {
      name: 'read',
      label: 'read',
      description: 'the read tool',
      parameters: { type: 'object', properties: {} },
    });
    read.label = 'Read';
    const relabelled = copies.of([read, bash]);
    assert.notEqual(relabelled, first);
    assert.equal((relabelled[0] as { label: string }).label, 'Read');
    assert.notEqual(copies.of([read]), relabelled);
    assert.deepEqual(copies.of([]), []);
  });

  it('copies only data: functions and whatever pi adds besides the four fields stay behind', () => {
    const copy = new ToolListCopy().of([{ ...tool('t'), execute: () => undefined, parameters: { type: 'object', check: () => true } }]);
    assert.deepEqual(copy, [{ name: 't', label: 't', description: 'the t tool', parameters: { type: 'object' } }]);
  });
});
