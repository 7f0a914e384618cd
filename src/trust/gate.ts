/**
 * The trust/kill-switch stage (SPEC §7.2–7.3): a quarantined extension gets no hostcall at all. The stage runs
 * on every call whatever the risk controller's mode (the reference only enforced it inside an enabled,
 * enforcing risk controller), and the same check runs again before an operation that waited and before a
 * result that took time is handed back, so calls queued or pending when the kill lands get nothing either.
 */
import { decisionError, type WardenError } from '../errors.ts';
import type { Stage } from '../dispatch/index.ts';
import type { TrustRegistry } from './lifecycle.ts';

export const TRUST_GATE_REASONS = ['quarantined'] as const;
export type TrustGateReason = (typeof TRUST_GATE_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    trustGate: TrustGateReason;
  }
}

export interface TrustGate {
  readonly stage: Stage;
  /** For the dispatcher's re-checks: undefined to go on, an error to withhold. */
  readonly recheck: (extensionId: string) => WardenError | undefined;
}

/** `onQuarantined` stops the extension's sandbox; it is called for every refused call and must be idempotent. */
export function createTrustGate(registry: TrustRegistry, onQuarantined?: (extensionId: string) => void): TrustGate {
  const check = (extensionId: string): WardenError | undefined => {
    if (registry.stateOf(extensionId) !== 'quarantined') return undefined;
    try {
      onQuarantined?.(extensionId);
    } catch {
      // stopping the sandbox failed: the call is refused all the same
    }
    return decisionError('quarantined', `extension ${extensionId} is quarantined: no hostcall is served until an operator lifts it`, {
      reasonCodes: ['quarantined'],
    });
  };
  return { stage: { name: 'trust', run: (ctx) => check(ctx.extensionId) }, recheck: check };
}
