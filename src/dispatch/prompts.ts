/**
 * The prompt broker (SPEC §4.2, INV-008): the one place where a question reaches the user, for the policy stage
 * (a capability in prompt mode) and for mediation (exec asks about a command held back only by grantable
 * classes). It owns what every asker needs alike: answers remembered for the session, one question for identical
 * concurrent ones, refusal without asking when there is no user interface or the caller waits synchronously, a
 * deadline, and the check that an answer is an answer. Anything but a valid answer in time is a refusal.
 */
import type { ReasonCode } from '../errors.ts';
import type { Capability, PromptAnswer } from '../policy/index.ts';

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

/** What a question is about. Answers are remembered per topic: an exec-command answer never answers a capability. */
export const PROMPT_TOPICS = ['capability', 'exec_command'] as const;
export type PromptTopic = (typeof PROMPT_TOPICS)[number];

/** How a question was settled; each asker names its reason code for each (a `Record` over this union). */
export const PROMPT_OUTCOMES = [
  'user_allow',
  'user_deny',
  'session_allow',
  'session_deny',
  'sync_refused',
  'no_ui',
  'failed',
  'withdrawn',
] as const;
export type PromptOutcome = (typeof PROMPT_OUTCOMES)[number];

/** Why an outcome decided as it did, for error messages. */
export const PROMPT_OUTCOME_TEXT: Readonly<Record<PromptOutcome, string>> = {
  user_allow: 'the user allowed it',
  user_deny: 'the user refused it',
  session_allow: 'the user allowed it earlier in this session',
  session_deny: 'the user refused it earlier in this session',
  sync_refused: 'this needs an answer from the user and was called synchronously',
  no_ui: 'prompt mode needs a user interface',
  failed: 'no valid answer from the user interface',
  withdrawn: 'the question no longer stands',
};

export interface Question {
  readonly topic: PromptTopic;
  /** What a `session` or `always` answer is remembered under within the topic (extension and capability, or command). */
  readonly key: string;
  /** Concurrent questions with the same topic and flight key wait for one answer (default: `key`). */
  readonly flightKey?: string;
  readonly request: PromptRequest;
  /** The caller is a guest blocked on a synchronous call: it cannot wait for the user. */
  readonly sync: boolean;
  /** Checked when the answer arrives: false (e.g. the policy now denies) drops the answer, unremembered (`withdrawn`). */
  readonly stillAsked?: () => boolean;
  /** Keeps an `always` answer beyond this session (the policy stage writes it into the user settings). */
  readonly persist?: (decision: 'allow' | 'deny') => void;
}

export interface PromptResult {
  readonly decision: 'allow' | 'deny';
  readonly outcome: PromptOutcome;
  /** An `always` answer could not be persisted; it still holds for this session. */
  readonly persistFailed?: true;
}

export interface PromptBroker {
  /** At once when remembered or refused without asking; a promise when the user is asked. Never rejects. */
  resolve(question: Question): PromptResult | Promise<PromptResult>;
}

export interface PromptBrokerOptions {
  readonly prompter?: Prompter | undefined;
  /** How long the user has to answer (default 60 s); then the question is refused. */
  readonly timeoutMs?: number | undefined;
}

function isAnswer(value: unknown): value is PromptAnswer {
  if (value === null || typeof value !== 'object') return false;
  const a = value as Record<string, unknown>;
  return (a.decision === 'allow' || a.decision === 'deny') && (a.scope === 'once' || a.scope === 'session' || a.scope === 'always');
}

/** The user's answer within `timeoutMs`, or undefined (timeout, a failing prompter, anything but a valid answer). */
async function askPrompter(prompter: Prompter, request: PromptRequest, timeoutMs: number): Promise<PromptAnswer | undefined> {
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

const refused = (outcome: PromptOutcome): PromptResult => ({ decision: 'deny', outcome });

export function createPromptBroker(options: PromptBrokerOptions = {}): PromptBroker {
  const prompter = options.prompter;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const remembered = new Map<string, 'allow' | 'deny'>();
  const inFlight = new Map<string, Promise<PromptAnswer | undefined>>();

  /**
   * A `once` answer belongs to the call that asked: a caller that waited on it asks again, as does one whose
   * question got no answer. `session` and `always` answers are shared (that is what the user chose).
   */
  async function ask(p: Prompter, q: Question, memoryKey: string): Promise<PromptResult> {
    const flightKey = `${q.topic}\u0000${q.flightKey ?? q.key}`;
    let answer: PromptAnswer | undefined;
    for (;;) {
      const shared = inFlight.get(flightKey);
      if (shared === undefined) {
        const mine = askPrompter(p, q.request, timeoutMs);
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
    }
    if (answer === undefined) return refused('failed');
    if (q.stillAsked?.() === false) return refused('withdrawn');
    if (answer.scope !== 'once') remembered.set(memoryKey, answer.decision);
    let persistFailed = false;
    if (answer.scope === 'always' && q.persist !== undefined) {
      try {
        q.persist(answer.decision);
      } catch {
        persistFailed = true;
      }
    }
    const outcome = answer.decision === 'allow' ? 'user_allow' : 'user_deny';
    return persistFailed ? { decision: answer.decision, outcome, persistFailed: true } : { decision: answer.decision, outcome };
  }

  return {
    resolve(q: Question): PromptResult | Promise<PromptResult> {
      const memoryKey = `${q.topic}\u0000${q.key}`;
      const before = remembered.get(memoryKey);
      if (before !== undefined) return { decision: before, outcome: before === 'allow' ? 'session_allow' : 'session_deny' };
      // A guest blocked on a synchronous call cannot wait for the user: refuse without showing a prompt.
      if (q.sync) return refused('sync_refused');
      if (prompter === undefined) return refused('no_ui');
      return ask(prompter, q, memoryKey);
    },
  };
}
