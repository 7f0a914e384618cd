/**
 * Stage 3: the static policy (SPEC §4.2) from the compiled table, then prompts. A `prompt` verdict is resolved by
 * an answer remembered for this session, else by asking the user through the `Prompter`; with no prompter (no
 * UI), or when asking fails or times out, the call is denied (INV-008). Only a "session" answer is kept here;
 * an "always" answer is handed to `remember` (which persists it into the user settings), "once" is not kept.
 */
import { decisionError, WardenError, type ReasonCode } from '../../errors.ts';
import type { Capability } from '../../policy/capabilities.ts';
import { verdictFor, type CompiledPolicy, type PolicyReason } from '../../policy/precedence.ts';
import type { PromptAnswer } from '../../policy/promptAnswers.ts';
import { addReason, type DispatchContext } from '../hostcall.ts';
import type { Stage, StageOutcome } from '../stage.ts';

export interface PromptRequest {
  readonly extensionId: string;
  readonly capability: Capability;
  readonly method: string;
  readonly callId: string;
  /** What a mediation stage found that needs the user's answer (e.g. exec classes), for the prompt's text. */
  readonly detail?: string;
  readonly reasonCodes?: readonly ReasonCode[];
}

/** The UI side of a prompt. Rejecting or resolving anything but a valid answer counts as deny. */
export interface Prompter {
  ask(request: PromptRequest, signal: AbortSignal): Promise<PromptAnswer>;
}

export interface PolicyStageOptions {
  readonly policy: () => CompiledPolicy;
  readonly prompter?: Prompter | undefined;
  readonly remember?: ((extensionId: string, capability: Capability, decision: 'allow' | 'deny') => void) | undefined;
  readonly promptTimeoutMs?: number | undefined;
}

/**
 * The reason codes this stage records when a verdict is `prompt`, and the outcome each one stands for. Replay
 * recomputes a prompt verdict from them (`promptOutcome`), so a code added here must say what it decided.
 * `sync_needs_prompt` is also used by the dispatcher and by the mediation stages that ask.
 */
export const PROMPT_REASONS = [
  'prompt_user_allow', 'prompt_session_allow', 'prompt_user_deny', 'prompt_session_deny', 'prompt_no_ui', 'prompt_failed',
  'sync_needs_prompt', 'prompt_remember_failed',
] as const;
export type PromptReason = (typeof PROMPT_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies { prompt: PromptReason }
}

const PROMPT_OUTCOME: Readonly<Record<PromptReason, 'allow' | 'deny' | undefined>> = {
  prompt_user_allow: 'allow', prompt_session_allow: 'allow',
  prompt_user_deny: 'deny', prompt_session_deny: 'deny', prompt_no_ui: 'deny', prompt_failed: 'deny', sync_needs_prompt: 'deny',
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

function isAnswer(value: unknown): value is PromptAnswer {
  if (value === null || typeof value !== 'object') return false;
  const a = value as Record<string, unknown>;
  return (a.decision === 'allow' || a.decision === 'deny') && (a.scope === 'once' || a.scope === 'session' || a.scope === 'always');
}

/**
 * Asks the prompter, waiting at most `timeoutMs`: the user's answer, or undefined (timeout, a failing prompter, or
 * anything but a valid answer), never an allow by default. Shared by this stage and the mediation stages that ask.
 */
export async function askPrompter(prompter: Prompter, request: PromptRequest, timeoutMs: number): Promise<PromptAnswer | undefined> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      // Settle as "no answer" before aborting, so a prompter that answers on abort cannot win the race.
      resolve(undefined);
      controller.abort();
    }, timeoutMs);
  });
  try {
    const answer = await Promise.race([prompter.ask(request, controller.signal), timeout]);
    return isAnswer(answer) ? answer : undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export function createPolicyStage(options: PolicyStageOptions): Stage {
  const sessionAnswers = new Map<string, 'allow' | 'deny'>();
  const inFlight = new Map<string, Promise<PromptAnswer | undefined>>();
  const timeoutMs = options.promptTimeoutMs ?? 60_000;

  /**
   * Concurrent calls of the same extension, capability and method wait for one question. A "once" answer
   * belongs to the call that asked: the others ask again. Session and always answers are shared (that is what
   * the user chose). The verdict is looked up again after the answer, in case the policy changed meanwhile.
   */
  async function resolvePrompt(ctx: DispatchContext, key: string): Promise<StageOutcome> {
    const capability = ctx.capability as Capability;
    const flightKey = `${key}\u0000${ctx.method}`;
    let answer: PromptAnswer | undefined;
    for (;;) {
      const shared = inFlight.get(flightKey);
      if (shared === undefined) {
        const mine = askPrompter(options.prompter as Prompter, { extensionId: ctx.extensionId, capability, method: ctx.method, callId: ctx.callId }, timeoutMs);
        inFlight.set(flightKey, mine);
        try {
          answer = await mine;
        } finally {
          inFlight.delete(flightKey);
        }
        break;
      }
      const theirs = await shared;
      if (theirs !== undefined && theirs.scope !== 'once') {
        answer = theirs;
        break;
      }
      // Their answer was for their call only, or they got none: ask for this one.
    }
    if (answer === undefined) return denied(ctx, 'prompt_failed', 'prompt_failed: no valid answer from the user interface');
    const now = verdictFor(options.policy(), capability, ctx.extensionId);
    if (now.decision === 'deny') return denied(ctx, now.reason, `${now.rule}: ${now.reason} (policy changed while asking)`);
    if (answer.scope === 'session') sessionAnswers.set(key, answer.decision);
    if (answer.scope === 'always' && options.remember !== undefined) {
      sessionAnswers.set(key, answer.decision);
      try {
        options.remember(ctx.extensionId, capability, answer.decision);
      } catch {
        addReason(ctx, 'prompt_remember_failed');
      }
    }
    if (answer.decision === 'deny') return denied(ctx, 'prompt_user_deny', 'prompt_user_deny');
    addReason(ctx, 'prompt_user_allow');
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
      const remembered = sessionAnswers.get(key);
      if (remembered === 'allow') {
        addReason(ctx, 'prompt_session_allow');
        ctx.decision = 'allow';
        return undefined;
      }
      if (remembered === 'deny') return denied(ctx, 'prompt_session_deny', 'prompt_session_deny');
      // A guest blocked on a synchronous call cannot wait for the user: refuse without showing a prompt.
      if (ctx.sync) return denied(ctx, 'sync_needs_prompt', 'sync_needs_prompt: this needs an answer from the user and was called synchronously');
      if (options.prompter === undefined) return denied(ctx, 'prompt_no_ui', 'prompt_no_ui: prompt mode needs a user interface');
      ctx.decision = 'prompt';
      return resolvePrompt(ctx, key);
    },
  };
}
