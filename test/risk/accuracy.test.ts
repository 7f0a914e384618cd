/** The controller's measured accuracy on the trace corpus must stay within the targets (computed, not stored). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateTraces } from '../../src/risk/evaluate.ts';
import { generateTraces } from '../fixtures/risk/traces.ts';

describe('risk accuracy', () => {
  it('false positives ≤ 5% of benign traces and false negatives ≤ 2% of malicious traces', async () => {
    const r = await evaluateTraces(generateTraces());
    assert.ok(r.traces.benign >= 100 && r.traces.malicious >= 100);
    assert.ok(r.false_positive_rate <= 0.05, `FP ${r.false_positive_rate}: ${r.false_positives.join(', ')}`);
    assert.ok(r.false_negative_rate <= 0.02, `FN ${r.false_negative_rate}: ${r.false_negatives.join(', ')}`);
  });
});
