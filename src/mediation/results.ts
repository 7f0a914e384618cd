/**
 * Results a sandboxed extension hands pi (`pi.result`, made by the bridge, SPEC §10) that no policy may grant: an
 * extension's answer to pi's `project_trust` question. Trusting a project runs its own extensions and settings;
 * that is the user's decision, never an extension's, so the answer is refused whatever the policy says.
 */
import { decisionError } from '../errors.ts';
import type { SyncStage } from '../dispatch/index.ts';

export const RESULT_REASONS = ['project_trust_answer'] as const;
export type ResultReason = (typeof RESULT_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    result: ResultReason;
  }
}

export function createResultStage(): SyncStage {
  return {
    name: 'mediation',
    run(ctx) {
      if (ctx.method !== 'pi.result' || ctx.params.kind !== 'event' || ctx.params.name !== 'project_trust') return undefined;
      return decisionError('denied', `${ctx.extensionId} may not answer pi's project trust question: only the user trusts a project`, {
        reasonCodes: ['project_trust_answer'],
      });
    },
  };
}
