/**
 * Runs hostcall traces through the real pipeline (policy, trust gate, risk stage; operations are no-ops) and
 * measures the controller: a benign trace is a false positive if any of its calls is blocked by risk or its
 * extension quarantined; a malicious trace is a false negative if none is. Also reports per-call block rates.
 */
import { combineRecorders, createDispatcher, MemoryRecorder, type Operation } from '../dispatch/index.ts';
import { compilePolicy, hostListMatcher, METHOD_TABLE, RISK_DEFAULTS, rulesFor } from '../policy/index.ts';
import { RiskController } from './controller.ts';
import { createRiskStage, parseRiskActionReason } from './stage.ts';

export interface EvalCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly dt: number;
}
export interface EvalTrace {
  readonly name: string;
  readonly kind: 'benign' | 'malicious';
  readonly profile: 'safe' | 'permissive';
  readonly calls: readonly EvalCall[];
}

export interface AccuracyReport {
  readonly traces: { readonly benign: number; readonly malicious: number };
  readonly false_positive_rate: number;
  readonly false_negative_rate: number;
  readonly benign_calls_blocked_rate: number;
  readonly false_positives: readonly string[];
  readonly false_negatives: readonly string[];
}

const ALLOWED_HOSTS = hostListMatcher(['api.github.com', 'generativelanguage.googleapis.com']);

export async function evaluateTraces(traces: readonly EvalTrace[]): Promise<AccuracyReport> {
  const noop: Operation = () => 'ok';
  const operations = new Map([...METHOD_TABLE.keys()].map((m) => [m, noop]));
  const fps: string[] = [];
  const fns: string[] = [];
  let benignCalls = 0;
  let benignBlocked = 0;
  for (const t of traces) {
    const controller = new RiskController({
      profile: 'balanced',
      alpha: RISK_DEFAULTS.alpha,
      windowSize: RISK_DEFAULTS.windowSize,
      cooldownCalls: 3,
      deEscalationMargin: 0.1,
      allowlisted: ALLOWED_HOSTS,
    });
    let quarantined = false;
    const risk = createRiskStage({
      controller,
      settings: { ...RISK_DEFAULTS, enabled: true, enforce: true },
      phase: () => 'enforce_all',
      trust: {
        stateOf: () => (quarantined ? 'quarantined' : 'unknown'),
        transition: () => {
          quarantined = true;
        },
      } as never,
    });
    const recorder = new MemoryRecorder(100_000);
    const d = createDispatcher({
      policy: compilePolicy(rulesFor(t.profile, t.profile === 'permissive')),
      operations,
      stages: [risk.stage],
      recorder: combineRecorders(recorder, risk.observer),
    });
    let now = Date.UTC(2026, 10, 26, 12);
    const realNow = Date.now;
    let blocked = 0;
    try {
      Date.now = () => now;
      let i = 0;
      for (const call of t.calls) {
        now += call.dt;
        const r = await d.dispatch('ext', { call_id: `t${i++}`, method: call.method, params: call.params });
        // Every refusal of the risk stage names its action (`risk:deny`) or that it failed closed.
        if (
          !r.ok &&
          (r.error.reasonCodes.some((c) => parseRiskActionReason(c) !== undefined || c === 'risk_fail_closed') ||
            r.error.code === 'quarantined')
        )
          blocked++;
        if (t.kind === 'benign') benignCalls++;
      }
    } finally {
      Date.now = realNow;
    }
    if (t.kind === 'benign') {
      benignBlocked += blocked;
      if (blocked > 0 || quarantined) fps.push(t.name);
    } else if (blocked === 0 && !quarantined) {
      fns.push(t.name);
    }
  }
  const benign = traces.filter((t) => t.kind === 'benign').length;
  const malicious = traces.length - benign;
  return {
    traces: { benign, malicious },
    false_positive_rate: benign === 0 ? 0 : fps.length / benign,
    false_negative_rate: malicious === 0 ? 0 : fns.length / malicious,
    benign_calls_blocked_rate: benignCalls === 0 ? 0 : benignBlocked / benignCalls,
    false_positives: fps,
    false_negatives: fns,
  };
}
