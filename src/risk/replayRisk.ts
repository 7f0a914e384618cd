/**
 * Replay of risk decisions (SPEC §6.4, §7.1): from the signals and weights each ledger entry recorded
 * (`risk_signal:<code>:<weight>`), recompute the score, the band and the hysteresis level per extension in
 * sequence order, and compare with the recorded `risk:<action>`.
 */
import type { Profile } from '../policy/index.ts';
import { ACTIONS, COOLDOWN_CALLS, DE_ESCALATION_MARGIN, stepLevel, type Hysteresis, type RiskAction } from './controller.ts';
import { parseRiskActionReason, parseSignalReason, RISK_ACTION_PREFIX } from './stage.ts';

export interface RecomputedRisk {
  readonly action: RiskAction;
  readonly score: number;
}

/** Tracks the hysteresis of every extension while entries are replayed in order. */
export class RiskReplayer {
  readonly #levels = new Map<string, Hysteresis>();

  /** Undefined when the entry carries no risk decision; an action this version does not know is returned as written. */
  replay(
    extensionId: string,
    profile: Profile,
    reasonCodes: readonly string[],
  ): { recorded: string; recomputed: RecomputedRisk } | undefined {
    const mark = reasonCodes.find((c) => c.startsWith(RISK_ACTION_PREFIX));
    if (mark === undefined) return undefined;
    const recorded = parseRiskActionReason(mark) ?? mark.slice(RISK_ACTION_PREFIX.length);
    let sum = 0;
    for (const c of reasonCodes) sum += parseSignalReason(c)?.weight ?? 0;
    const score = Math.min(1, Math.max(0, sum));
    let h = this.#levels.get(extensionId);
    if (h === undefined) {
      h = { level: 0, cooldown: 0 };
      this.#levels.set(extensionId, h);
    }
    stepLevel(profile, h, score, COOLDOWN_CALLS, DE_ESCALATION_MARGIN);
    return { recorded, recomputed: { action: ACTIONS[h.level] as RiskAction, score: Math.round(score * 1000) / 1000 } };
  }
}
