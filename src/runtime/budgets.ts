/**
 * Budgets that quarantine (issue 16 item 5): an extension over its CPU window, its host-bytes budget or its store
 * budget is quarantined through the trust registry, so it stays stopped (in this process and every other that shares
 * the store) until an operator lifts it, and its work costs the host nothing more. Other breaches (a per-call
 * deadline, a rate quota) refuse or stop, as before.
 */
import type { BreachSink, QuotaBreach } from '../evidence/index.ts';
import type { TrustRegistry } from '../trust/index.ts';

/** The breach resources that quarantine the extension. */
export const QUARANTINING_BUDGETS = ['cpu_ms_per_window', 'host_bytes', 'store_bytes'] as const;
export type QuarantiningBudget = (typeof QUARANTINING_BUDGETS)[number];

export function isQuarantiningBudget(resource: string): resource is QuarantiningBudget {
  return (QUARANTINING_BUDGETS as readonly string[]).includes(resource);
}

/**
 * A breach sink that records every breach in `sink` and, for a quarantining budget, quarantines the extension and
 * calls `onQuarantined` (which stops its sandboxes).
 */
export function quarantiningBreaches(sink: BreachSink, trust: TrustRegistry, onQuarantined?: (extensionId: string) => void): BreachSink {
  return {
    recordBreach(breach: QuotaBreach): void {
      try {
        sink.recordBreach(breach);
      } finally {
        if (isQuarantiningBudget(breach.resource) && trust.stateOf(breach.extension_id) !== 'quarantined') {
          try {
            trust.transition(
              breach.extension_id,
              'quarantine',
              'pi-warden-budgets',
              `${breach.resource}: ${breach.actual} over the budget of ${breach.limit}`,
            );
          } catch {
            // already quarantined by another process: the gate refuses its calls either way
          }
          onQuarantined?.(breach.extension_id);
        }
      }
    },
  };
}
