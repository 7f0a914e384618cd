import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleFor } from '../../src/probe/probe.ts';

describe('probe sample input', () => {
  it('follows the schema: defaults, enums, first union member, quoted examples in descriptions, nested objects', () => {
    assert.deepEqual(
      sampleFor({
        type: 'object',
        properties: {
          duration: { type: 'string', description: "Duration string like '2 days', '1h'" },
          mode: { type: 'string', enum: ['fast', 'slow'] },
          count: { type: 'integer', minimum: 3 },
          flag: { type: 'boolean', default: false },
          either: { anyOf: [{ type: 'string', const: 'x' }, { type: 'number' }] },
          list: { type: 'array', items: { type: 'string' } },
          plain: { type: 'string' },
        },
      }),
      { duration: '2 days', mode: 'fast', count: 3, flag: false, either: 'x', list: ['sample'], plain: 'sample' },
    );
  });
});
