/**
 * Replay of risk decisions (SPEC §6.4, §7.1): from the signals and weights each ledger entry recorded
 * (`risk_signal:<code>:<weight>`), recompute the score, the band and the hysteresis level per extension in
 * sequence order, and compare with the recorded `risk:<action>`.
 */
import type { Profile } from '../policy/profiles.ts';
import { ACTIONS, COOLDOWN_CALLS, DE_ESCALATION_MARGIN, stepLevel, type Hysteresis } from './controller.ts';

export interface RecomputedRisk {
  readonly action: string;
  readonly score: number;
}

/** Tracks the hysteresis of every extension while entries are replayed in order. */
export class RiskReplayer {
  readonly #levels = new Map<string, Hysteresis>();

  /** Undefined when the entry carries no risk decision. */
  replay(extensionId: string, profile: Profile, reasonCodes: readonly string[]): { recorded: string; recomputed: RecomputedRisk } | undefined {
    const recorded = reasonCodes.find((c) => c.startsWith('risk:'));
    if (recorded === undefined) return undefined;
    let sum = 0;
    for (const c of reasonCodes) {
      if (!c.startsWith('risk_signal:')) continue;
      const w = Number(c.slice(c.lastIndexOf(':') + 1));
      if (Number.isFinite(w)) sum += w;
    }
    const score = Math.min(1, Math.max(0, sum));
    let h = this.#levels.get(extensionId);
    if (h === undefined) {
      h = { level: 0, cooldown: 0 };
      this.#levels.set(extensionId, h);
    }
    stepLevel(profile, h, score, COOLDOWN_CALLS, DE_ESCALATION_MARGIN);
    return { recorded: recorded.slice('risk:'.length), recomputed: { action: ACTIONS[h.level] as string, score: Math.round(score * 1000) / 1000 } };
  }
}
