/**
 * The risk stage (SPEC §7.1) in the dispatch pipeline, after policy: it can only tighten (INV-009). In shadow
 * and log-only phases, or with `enforce: false`, it decides, records and (log-only) alerts but never blocks.
 * A scoring error or a decision past `decisionTimeoutMs` is a deny when `failClosed` (never a silent allow),
 * an allow with reason `risk_fail_open` otherwise. `terminate`, or `consecutiveUnsafe` unsafe decisions in a
 * row, quarantines the extension through the trust registry. Every decision's score and contributing signals
 * go into the ledger entry (`risk_score`, reason codes `risk:<action>` and `risk_signal:<code>:<weight>`).
 */
import { decisionError, type WardenError } from '../errors.ts';
import type { AlertSink } from '../evidence/alerts.ts';

import { addReason, type DispatchContext } from '../dispatch/hostcall.ts';
import type { Stage } from '../dispatch/stage.ts';
import type { Capability } from '../policy/capabilities.ts';
import type { RiskSettings } from '../policy/settings.ts';
import type { TrustRegistry, TrustState } from '../trust/lifecycle.ts';
import type { RiskController, RiskDecision } from './controller.ts';
import type { RolloutMonitor, RolloutPhase } from './rollout.ts';
import type { DecisionRecord, DecisionRecorder } from '../evidence/sinks.ts';

export interface RiskStageOptions {
  readonly controller: RiskController;
  readonly settings: RiskSettings;
  readonly phase: () => RolloutPhase;
  readonly trust?: TrustRegistry | undefined;
  readonly alerts?: AlertSink | undefined;
  readonly monitor?: RolloutMonitor | undefined;
  /** Called with the reason when the monitor wants a rollback (the runtime steps the stored phase back). */
  readonly onRollback?: ((reason: string) => void) | undefined;
}

export interface RiskStage {
  readonly stage: Stage;
  /** Feeds every call's outcome (allowed or refused) into the controller's window. */
  readonly observer: DecisionRecorder;
}

const SIGNAL_PREFIX = 'risk_signal:';

export function signalCodes(d: RiskDecision): string[] {
  return d.signals.map((s) => `${SIGNAL_PREFIX}${s.code}:${s.weight.toFixed(3)}`);
}

export function createRiskStage(o: RiskStageOptions): RiskStage {
  const unsafeRun = new Map<string, number>();
  const severity = { harden: 'low', prompt: 'medium', deny: 'high', terminate: 'critical' } as const;

  function enforcing(extensionId: string, phase: RolloutPhase): boolean {
    if (!o.settings.enforce) return false;
    if (phase === 'enforce_all') return true;
    if (phase !== 'enforce_new') return false;
    const t: TrustState = o.trust?.stateOf(extensionId) ?? 'unknown';
    return t === 'unknown' || t === 'probation';
  }

  function alert(ctx: DispatchContext, d: RiskDecision, shadow: boolean): void {
    if (d.action === 'allow' || o.alerts === undefined) return;
    try {
      o.alerts.raise({
        ts_ms: ctx.startedMs, extension_id: ctx.extensionId, category: 'anomaly', severity: severity[d.action],
        capability: ctx.capability ?? null, method: ctx.method, call_id: ctx.callId,
        summary: `${shadow ? '[not enforced] ' : ''}risk ${d.action} for ${ctx.method} (score ${d.score}): ${d.reasonCodes.slice(0, 4).join(', ')}`,
        reason_codes: [`risk:${d.action}`, ...d.reasonCodes],
        remediation: `Review the calls of ${ctx.extensionId} (\`pi-warden ledger replay --extension ${ctx.extensionId}\`); quarantine with \`pi-warden trust kill\` if malicious`,
      });
    } catch {
      // the ledger entry carries the decision
    }
  }

  const stage: Stage = {
    name: 'risk',
    run(ctx): WardenError | undefined {
      const phase = o.phase();
      const enforce = enforcing(ctx.extensionId, phase);
      const t0 = performance.now();
      let d: RiskDecision | undefined;
      let failure: string | undefined;
      try {
        d = o.controller.decide(ctx.extensionId, ctx.capability as Capability, ctx.method, ctx.params, ctx.startedMs);
      } catch {
        failure = 'risk_internal_error';
      }
      const elapsedUs = (performance.now() - t0) * 1000;
      if (failure === undefined && elapsedUs > o.settings.decisionTimeoutMs * 1000) failure = 'risk_decision_timeout';
      if (failure !== undefined || d === undefined) {
        reportSample(false, true, elapsedUs);
        addReason(ctx, failure ?? 'risk_internal_error');
        if (o.settings.failClosed && enforce) {
          return decisionError('denied', `the risk controller could not decide (${failure ?? 'error'}); failing closed`, { reasonCodes: [failure ?? 'risk_internal_error', 'risk_fail_closed'] });
        }
        addReason(ctx, 'risk_fail_open');
        return undefined;
      }
      ctx.riskScore = d.score;
      addReason(ctx, `risk:${d.action}`);
      for (const c of signalCodes(d)) addReason(ctx, c);
      if (phase !== 'shadow') alert(ctx, d, !enforce);
      const unsafe = d.action === 'deny' || d.action === 'terminate';
      const run = unsafe ? (unsafeRun.get(ctx.extensionId) ?? 0) + 1 : 0;
      unsafeRun.set(ctx.extensionId, run);
      const blocked = enforce && (unsafe || d.action === 'prompt');
      reportSample(blocked && o.trust?.stateOf(ctx.extensionId) === 'trusted', false, elapsedUs);
      if (!enforce) {
        if (d.action !== 'allow') addReason(ctx, 'risk_not_enforced');
        return undefined;
      }
      if (d.action === 'terminate' || run >= o.settings.consecutiveUnsafe) {
        try {
          o.trust?.transition(ctx.extensionId, 'quarantine', 'risk-controller', d.action === 'terminate'
            ? `risk score ${d.score} in the terminate band (${d.reasonCodes.slice(0, 3).join(', ')})`
            : `${run} unsafe decisions in a row`);
        } catch {
          // already quarantined, or no store: the call is refused either way
        }
        return decisionError('quarantined', `${ctx.extensionId} was quarantined by the risk controller`, { reasonCodes: ['risk_quarantine', `risk:${d.action}`] });
      }
      if (d.action === 'deny' || d.action === 'prompt') {
        // A risk prompt has no user interface of its own here: it is refused (fail closed, INV-008).
        return decisionError('denied', `Capability '${String(ctx.capability)}' denied by the risk controller (score ${d.score}: ${d.reasonCodes.slice(0, 3).join(', ')})`, { reasonCodes: [`risk:${d.action}`, ...d.reasonCodes.slice(0, 5)] });
      }
      return undefined;
    },
  };

  function reportSample(falsePositive: boolean, error: boolean, latencyUs: number): void {
    if (o.monitor === undefined) return;
    const why = o.monitor.add({ falsePositive, error, latencyUs });
    if (why !== undefined) o.onRollback?.(why);
  }

  const observer: DecisionRecorder = {
    record(r: DecisionRecord): void {
      o.controller.observe(r.extension_id, {
        ts: r.ts_ms, capability: r.capability, method: r.method, refused: r.decision !== 'allow',
        signals: r.reason_codes.filter((c) => c.startsWith(SIGNAL_PREFIX)).map((c) => c.slice(SIGNAL_PREFIX.length, c.lastIndexOf(':'))),
      });
    },
  };
  return { stage, observer };
}
