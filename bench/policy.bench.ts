/**
 * Policy evaluation and the dispatch pipeline without the operation (issue: foundation; SPEC §12).
 * Targets: policy p99 ≤ 5 µs, dispatch p99 ≤ 50 µs. Baselines in the same process: a plain Map lookup for the
 * policy, and a direct call of the same no-op operation for dispatch.
 */
import { createDispatcher, type Operation } from '../src/dispatch/dispatcher.ts';
import { decideHostcall } from '../src/dispatch/decide.ts';
import { MemoryRecorder } from '../src/dispatch/record.ts';
import { CAPABILITIES } from '../src/policy/capabilities.ts';
import { compilePolicy, evaluateCapability, verdictFor } from '../src/policy/precedence.ts';
import { rulesFor } from '../src/policy/settings.ts';
import { benchAsync, benchSync, printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';

export async function run(): Promise<string> {
  const overrides = Object.fromEntries(
    Array.from({ length: 50 }, (_, i) => [`ext-${i}`, { allow: ['ui' as const], deny: ['http' as const] }]),
  );
  const rules = rulesFor('balanced', true, { overrides });
  const policy = compilePolicy(rules);
  const exts = ['ext-7', 'no-override', 'ext-42', 'other'];
  const N = 200_000;

  const map = new Map(CAPABILITIES.map((c) => [c, c.length]));
  const baseline = benchSync('baseline.map_lookup', N, (i) => map.get(CAPABILITIES[i % 10]!));
  const verdict = relativeTo(
    benchSync('policy.verdict (compiled table)', N, (i) => verdictFor(policy, CAPABILITIES[i % 10]!, exts[i & 3]!), 5),
    baseline,
  );
  const chain = relativeTo(
    benchSync('policy.evaluate_chain (uncompiled)', N, (i) => evaluateCapability(rules, CAPABILITIES[i % 10]!, exts[i & 3]), 5),
    baseline,
  );

  const calls = [
    { call_id: 'c1', method: 'fs.read', params: { path: '/work/project/src/index.ts' } },
    {
      call_id: 'c2',
      method: 'http',
      params: { url: 'https://example.com/api', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":1}' },
    },
    { call_id: 'c3', method: 'tool', params: { name: 'bash', input: { command: 'ls' } }, capability: 'exec' },
    { call_id: 'c4', method: 'pi.registerTool', params: { name: 'todo', description: 'a todo list', parameters: { type: 'object' } } },
  ];
  const decide = relativeTo(
    benchSync('policy.decide_hostcall (validate+derive+policy)', N, (i) => decideHostcall(policy, exts[i & 3]!, calls[i & 3]!), 5),
    baseline,
  );

  const noop: Operation = () => 'ok';
  const operations = new Map(['fs.read', 'http', 'tool', 'pi.registerTool'].map((m) => [m, noop]));
  const permissive = compilePolicy(rulesFor('permissive', true, { overrides }));
  const bare = createDispatcher({ policy: permissive, operations });
  const recorded = createDispatcher({ policy: permissive, operations, recorder: new MemoryRecorder(1000) });
  const denying = createDispatcher({ policy: compilePolicy(rulesFor('safe', false)), operations });
  const direct = await benchAsync('baseline.direct_operation_call', N / 2, async (i) => noop(calls[i & 3]!.params, undefined as never));
  const results: BenchResult[] = [
    baseline,
    verdict,
    chain,
    decide,
    direct,
    relativeTo(
      await benchAsync('dispatch.pipeline (no-op operation)', N / 2, (i) => bare.dispatch(exts[i & 3]!, calls[i & 3]!), 50),
      direct,
    ),
    relativeTo(
      await benchAsync('dispatch.pipeline + memory recorder', N / 2, (i) => recorded.dispatch(exts[i & 3]!, calls[i & 3]!), 50),
      direct,
    ),
    relativeTo(await benchAsync('dispatch.denied_call (safe profile)', N / 2, () => denying.dispatch('x', calls[2]!), 50), direct),
  ];
  printResults('policy', results);
  return writeResults('policy', results, {
    note: 'p50/p99 from individually timed calls (hrtime, includes ~50 ns timer cost); ops_per_s from an untimed loop',
  });
}
