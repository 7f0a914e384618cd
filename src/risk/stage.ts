/**
 * The risk stage (SPEC §7.1) in the dispatch pipeline, after policy: it can only tighten (INV-009). In shadow
 * and log-only phases, or with `enforce: false`, it decides, records and (log-only) alerts but never blocks.
 * A scoring error or a decision past `decisionTimeoutMs` is a deny when `failClosed` (never a silent allow),
 * an allow with reason `risk_fail_open` otherwise. `terminate`, or `consecutiveUnsafe` unsafe decisions in a
 * row, quarantines the extension through the trust registry. Every decision's score and contributing signals
 * go into the ledger entry (`risk_score`, reason codes `risk:<action>` and `risk_signal:<code>:<weight>`).
 */
import { decisionError, type WardenError } from '../errors.ts';
import type { AlertSink, DecisionRecord, DecisionRecorder } from '../evidence/index.ts';

import { addReason, type DispatchContext, type Stage } from '../dispatch/index.ts';
import type { Capability, RiskSettings } from '../policy/index.ts';
import type { TrustRegistry, TrustState } from '../trust/index.ts';
import {
  ACTIONS,
  isSignalCode,
  type RiskAction,
  type RiskController,
  type RiskDecision,
  type RiskSignal,
  type SignalCode,
} from './controller.ts';
import type { RolloutMonitor, RolloutPhase } from './rollout.ts';

/** CPU time of this thread in µs. */
function threadCpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

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

/**
 * What the risk stage records. Besides these: `risk:<action>` for every decision, `risk_signal:<code>:<weight>`
 * for each signal that contributed (replay recomputes the score from them), and in a refusal the signal codes
 * themselves, most weighty first.
 */
export const RISK_REASONS = [
  'risk_internal_error',
  'risk_decision_timeout',
  'risk_fail_closed',
  'risk_fail_open',
  'risk_not_enforced',
  'risk_quarantine',
] as const;
export type RiskReason = (typeof RISK_REASONS)[number];
export type RiskActionReason = `risk:${RiskAction}`;
export type RiskSignalReason = `risk_signal:${SignalCode}:${number}`;
declare module '../errors.ts' {
  interface ReasonVocabularies {
    risk: RiskReason | RiskActionReason | RiskSignalReason;
  }
}

export const RISK_ACTION_PREFIX = 'risk:';
const SIGNAL_PREFIX = 'risk_signal:';

export function riskActionReason(action: RiskAction): RiskActionReason {
  return `risk:${action}`;
}

export function parseRiskActionReason(code: string): RiskAction | undefined {
  if (!code.startsWith(RISK_ACTION_PREFIX)) return undefined;
  const action = code.slice(RISK_ACTION_PREFIX.length);
  return (ACTIONS as readonly string[]).includes(action) ? (action as RiskAction) : undefined;
}

export function signalReason(s: RiskSignal): RiskSignalReason {
  return `${SIGNAL_PREFIX}${s.code}:${s.weight.toFixed(3)}` as RiskSignalReason;
}

/**
 * The signal and weight of a `risk_signal:<code>:<weight>`, or undefined when the code does not have that form.
 * The signal is returned as written: a ledger from another version may name signals this one does not know,
 * and replay still adds their recorded weights. `isRiskSignalReason` also asks that the signal be known.
 */
export function parseSignalReason(code: string): { readonly code: string; readonly weight: number } | undefined {
  if (!code.startsWith(SIGNAL_PREFIX)) return undefined;
  const at = code.lastIndexOf(':');
  const weight = code.slice(at + 1);
  if (at <= SIGNAL_PREFIX.length || weight === '' || !Number.isFinite(Number(weight))) return undefined;
  return { code: code.slice(SIGNAL_PREFIX.length, at), weight: Number(weight) };
}

export function isRiskSignalReason(code: string): code is RiskSignalReason {
  const s = parseSignalReason(code);
  return s !== undefined && isSignalCode(s.code);
}

export function signalCodes(d: RiskDecision): RiskSignalReason[] {
  return d.signals.map(signalReason);
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
        ts_ms: ctx.startedMs,
        extension_id: ctx.extensionId,
        category: 'anomaly',
        severity: severity[d.action],
        capability: ctx.capability ?? null,
        method: ctx.method,
        call_id: ctx.callId,
        summary: `${shadow ? '[not enforced] ' : ''}risk ${d.action} for ${ctx.method} (score ${d.score}): ${d.reasonCodes.slice(0, 4).join(', ')}`,
        reason_codes: [riskActionReason(d.action), ...d.reasonCodes],
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
      const cpu0 = threadCpuUs();
      let d: RiskDecision | undefined;
      let failure: 'risk_internal_error' | 'risk_decision_timeout' | undefined;
      try {
        d = o.controller.decide(ctx.extensionId, ctx.capability as Capability, ctx.method, ctx.params, ctx.startedMs);
      } catch {
        failure = 'risk_internal_error';
      }
      const elapsedUs = (performance.now() - t0) * 1000;
      // The budget is CPU time (issue 18 item 1): a decision that waited for a busy machine did no more work, and
      // judging it by the wall clock denied honest calls (failClosed) or dropped its verdict (fail open) under load.
      if (failure === undefined && threadCpuUs() - cpu0 > o.settings.decisionTimeoutMs * 1000) failure = 'risk_decision_timeout';
      if (failure !== undefined || d === undefined) {
        reportSample(false, true, elapsedUs);
        addReason(ctx, failure ?? 'risk_internal_error');
        if (o.settings.failClosed && enforce) {
          return decisionError('denied', `the risk controller could not decide (${failure ?? 'error'}); failing closed`, {
            reasonCodes: [failure ?? 'risk_internal_error', 'risk_fail_closed'],
          });
        }
        addReason(ctx, 'risk_fail_open');
        return undefined;
      }
      ctx.riskScore = d.score;
      addReason(ctx, riskActionReason(d.action));
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
          o.trust?.transition(
            ctx.extensionId,
            'quarantine',
            'risk-controller',
            d.action === 'terminate'
              ? `risk score ${d.score} in the terminate band (${d.reasonCodes.slice(0, 3).join(', ')})`
              : `${run} unsafe decisions in a row`,
          );
        } catch {
          // already quarantined, or no store: the call is refused either way
        }
        return decisionError('quarantined', `${ctx.extensionId} was quarantined by the risk controller`, {
          reasonCodes: ['risk_quarantine', riskActionReason(d.action)],
        });
      }
      if (d.action === 'deny' || d.action === 'prompt') {
        // A risk prompt has no user interface of its own here: it is refused (fail closed, INV-008).
        return decisionError(
          'denied',
          `Capability '${String(ctx.capability)}' denied by the risk controller (score ${d.score}: ${d.reasonCodes.slice(0, 3).join(', ')})`,
          { reasonCodes: [riskActionReason(d.action), ...d.reasonCodes.slice(0, 5)] },
        );
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
        ts: r.ts_ms,
        capability: r.capability,
        method: r.method,
        refused: r.decision !== 'allow',
        signals: r.reason_codes.flatMap((c) => {
          const signal = parseSignalReason(c)?.code;
          return signal !== undefined && isSignalCode(signal) ? [signal] : [];
        }),
      });
    },
  };
  return { stage, observer };
}
