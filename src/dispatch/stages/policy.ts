/**
 * Stage 3: the static policy (SPEC §4.2) from the compiled table, then prompts. A `prompt` verdict goes to the
 * prompt broker (src/dispatch/prompts.ts), which answers from this session's memory or asks the user, and refuses
 * with no user interface, on a synchronous call, or when asking fails or times out (INV-008). An "always" answer
 * is also handed to `remember`, which persists it into the user settings; "once" is not kept.
 */
import { decisionError, WardenError } from '../../errors.ts';
import { type Capability, type CompiledPolicy, type PolicyReason, verdictFor } from '../../policy/index.ts';
import { addReason, type DispatchContext } from '../hostcall.ts';
import { PROMPT_OUTCOME_TEXT, type PromptBroker, type PromptOutcome, type PromptResult } from '../prompts.ts';
import type { Stage, StageOutcome } from '../stage.ts';

/** The reason code this stage records for each way a capability prompt was settled (a withdrawn one: the policy's). */
export const CAPABILITY_PROMPT_REASONS = {
  user_allow: 'prompt_user_allow',
  user_deny: 'prompt_user_deny',
  session_allow: 'prompt_session_allow',
  session_deny: 'prompt_session_deny',
  sync_refused: 'sync_needs_prompt',
  no_ui: 'prompt_no_ui',
  failed: 'prompt_failed',
} as const satisfies Record<Exclude<PromptOutcome, 'withdrawn'>, PromptReason>;

export interface PolicyStageOptions {
  readonly policy: () => CompiledPolicy;
  readonly prompts: PromptBroker;
  readonly remember?: ((extensionId: string, capability: Capability, decision: 'allow' | 'deny') => void) | undefined;
}

/**
 * The reason codes this stage records when a verdict is `prompt`, and the outcome each one stands for. Replay
 * recomputes a prompt verdict from them (`promptOutcome`), so a code added here must say what it decided.
 * `sync_needs_prompt` is also used by the dispatcher and by the mediation stages that ask.
 */
export const PROMPT_REASONS = [
  'prompt_user_allow',
  'prompt_session_allow',
  'prompt_user_deny',
  'prompt_session_deny',
  'prompt_no_ui',
  'prompt_failed',
  'sync_needs_prompt',
  'prompt_remember_failed',
  'prompt_withdrawn',
] as const;
export type PromptReason = (typeof PROMPT_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    prompt: PromptReason;
  }
}

const PROMPT_OUTCOME: Readonly<Record<PromptReason, 'allow' | 'deny' | undefined>> = {
  prompt_user_allow: 'allow',
  prompt_session_allow: 'allow',
  prompt_user_deny: 'deny',
  prompt_session_deny: 'deny',
  prompt_no_ui: 'deny',
  prompt_failed: 'deny',
  sync_needs_prompt: 'deny',
  // The policy turned to deny while the user was being asked: the answer was dropped.
  prompt_withdrawn: 'deny',
  // A note beside an answer ("always" could not be saved), not an answer.
  prompt_remember_failed: undefined,
};

/**
 * What a recorded prompt came to: `allow` if any code says the user allowed (an allow is only ever recorded by
 * this stage, so a later stage's refusal of an allowed call does not turn it into a prompt deny), else `deny` if
 * any says it was refused, else undefined (no answer recorded).
 */
export function promptOutcome(codes: readonly string[]): 'allow' | 'deny' | undefined {
  let outcome: 'allow' | 'deny' | undefined;
  for (const c of codes) {
    const o = Object.hasOwn(PROMPT_OUTCOME, c) ? PROMPT_OUTCOME[c as PromptReason] : undefined;
    if (o === 'allow') return 'allow';
    outcome ??= o;
  }
  return outcome;
}

function denied(ctx: DispatchContext, reason: PolicyReason | PromptReason, detail: string): WardenError {
  addReason(ctx, reason);
  ctx.decision = 'deny';
  return decisionError('denied', `Capability '${ctx.capability ?? '?'}' denied by policy (${detail})`, {
    reasonCodes: ctx.reasonCodes ?? [reason],
  });
}

export function createPolicyStage(options: PolicyStageOptions): Stage {
  /** The verdict is looked up again when the answer arrives, in case the policy changed meanwhile: a deny wins. */
  function settle(ctx: DispatchContext, capability: Capability, r: PromptResult): StageOutcome {
    if (r.outcome === 'withdrawn') {
      const now = verdictFor(options.policy(), capability, ctx.extensionId);
      return denied(ctx, now.reason, `${now.rule}: ${now.reason} (policy changed while asking)`);
    }
    if (r.persistFailed === true) addReason(ctx, 'prompt_remember_failed');
    const reason = CAPABILITY_PROMPT_REASONS[r.outcome];
    if (r.decision === 'deny') return denied(ctx, reason, `${reason}: ${PROMPT_OUTCOME_TEXT[r.outcome]}`);
    addReason(ctx, reason);
    ctx.decision = 'allow';
    return undefined;
  }

  return {
    name: 'policy',
    run(ctx: DispatchContext): StageOutcome | Promise<StageOutcome> {
      const capability = ctx.capability;
      if (capability === undefined) return new WardenError('internal', 'policy ran before derive_capability');
      const verdict = verdictFor(options.policy(), capability, ctx.extensionId);
      ctx.rule = verdict.rule;
      if (verdict.decision === 'allow') {
        ctx.decision = 'allow';
        return undefined;
      }
      if (verdict.decision === 'deny') return denied(ctx, verdict.reason, `${verdict.rule}: ${verdict.reason}`);
      const key = `${ctx.extensionId}\u0000${capability}`;
      const remember = options.remember;
      // Concurrent calls of one method wait for one question; an answer about one method never answers another's
      // call in flight (a "session" answer is remembered per capability, as the user was told).
      const result = options.prompts.resolve({
        topic: 'capability',
        key,
        flightKey: `${key}\u0000${ctx.method}`,
        sync: ctx.sync,
        request: { extensionId: ctx.extensionId, capability, method: ctx.method, callId: ctx.callId },
        stillAsked: () => verdictFor(options.policy(), capability, ctx.extensionId).decision !== 'deny',
        ...(remember === undefined ? {} : { persist: (d: 'allow' | 'deny') => remember(ctx.extensionId, capability, d) }),
      });
      if (!(result instanceof Promise)) return settle(ctx, capability, result);
      ctx.decision = 'prompt';
      return result.then((r) => settle(ctx, capability, r));
    },
  };
}
