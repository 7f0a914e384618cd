/**
 * `dispatch(extensionId, hostcall)`: the ordered stages, then execute, then record (SPEC §3, §4.5).
 *
 * Fail closed: a stage that throws, returns garbage or rejects stops the call with `internal`; an operation that
 * throws becomes `io` (file system and process errors), `timeout`, or `internal`. `dispatch` itself never
 * throws and never rejects: the result is always `{ok, callId, value | error}`.
 *
 * No effect runs unrecorded: a recorder that reports a failure stops every call before its first stage, and an
 * allowed call's decision is admitted by the recorder before its operation is called; if it is not taken, the
 * operation never runs (`internal`, `record_failed`). The outcome is recorded after the operation.
 *
 * Hot path: no I/O, no JSON, no hashing here; the only allocations are the context, the result and the records.
 */
import { describeValue } from '../describe.ts';
import { isSystemErrorReason, isWardenError, WardenError, type ReasonCode, type SystemErrorReason } from '../errors.ts';
import { type Capability, type CompiledPolicy, isDangerous, liftDenial, POLICY_REASONS, type PolicyReason } from '../policy/index.ts';
import type { AlertSink, BreachSink, DecisionRecord, DecisionRecorder, RecordedDecision } from '../evidence/index.ts';

import { newContext, type DispatchContext, type HostcallResult } from './hostcall.ts';
import type { HostBytes } from './hostBytes.ts';

import { STAGE_ORDER, type Stage, type StageOutcome } from './stage.ts';
import { deriveCapabilityStage } from './stages/deriveCapability.ts';
import { createPromptBroker, type PromptBroker, type Prompter } from './prompts.ts';
import { createPolicyStage } from './stages/policy.ts';
import { validateStage } from './stages/validate.ts';

/**
 * The reasons the dispatcher itself records: a stage or an operation that failed, an operation it could not run,
 * a decision it could not record, and the per-operation quotas (SPEC §7.4) with the resource that was exceeded.
 * A synchronous call that needed a stage to wait is `sync_needs_prompt`, from the prompt vocabulary.
 */
export const DISPATCH_REASONS = [
  'stage_failed',
  'operation_failed',
  'operation_timeout',
  'operation_not_sync',
  'not_available',
  'record_failed',
  'quota_exceeded',
  'output_bytes',
  'wall_time_ms',
] as const;
export type DispatchReason = (typeof DISPATCH_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    dispatch: DispatchReason;
  }
}

export interface OperationContext {
  readonly extensionId: string;
  readonly callId: string;
  readonly capability: Capability;
  readonly signal: AbortSignal;
  /**
   * Charges bytes the operation buffers for the extension (hostBytes.ts); throws `quota_exceeded` over the budget.
   * What one call charged is released when its operation ends.
   */
  readonly hold?: (bytes: number) => void;
}

/** Performs an allowed call. Receives params that passed the method's schema. */
export type Operation = (params: Readonly<Record<string, unknown>>, ctx: OperationContext) => unknown;

export interface DispatcherOptions {
  readonly policy: CompiledPolicy | (() => CompiledPolicy);
  readonly operations?: ReadonlyMap<string, Operation> | undefined;
  /** Stages for the trust, risk, quota and mediation slots. The core three are always present. */
  readonly stages?: readonly Stage[] | undefined;
  readonly recorder?: DecisionRecorder | undefined;
  readonly prompter?: Prompter | undefined;
  /** The prompt broker to share with mediation stages that ask too (default: one over `prompter` and `promptTimeoutMs`). */
  readonly prompts?: PromptBroker | undefined;
  readonly remember?: ((extensionId: string, capability: Capability, decision: 'allow' | 'deny') => void) | undefined;
  readonly promptTimeoutMs?: number | undefined;
  /** Deadline for one operation; past it the call ends with `timeout` and the operation's signal aborts. */
  readonly operationTimeoutMs?: number | undefined;
  /** Where `policy_violation` alerts go (SPEC §6.5); at most one per extension, capability and method per second. */
  readonly alerts?: AlertSink | undefined;
  /**
   * Checked again right before an operation that had to wait (an async stage or a prompt) and before the result
   * of an async operation is handed back: a kill that lands meanwhile withholds the call (the trust gate).
   */
  readonly recheck?: ((extensionId: string) => WardenError | undefined) | undefined;
  /**
   * Per-extension operation quotas (SPEC §7.4): wall time of one operation and size of its result. A breach is
   * `quota_exceeded` and goes to `breaches`.
   */
  readonly operationQuota?:
    ((extensionId: string) => { readonly wallTimeMs?: number | undefined; readonly outputBytes?: number | undefined }) | undefined;
  readonly breaches?: BreachSink | undefined;
  /** The account of bytes held per extension; without one, operations hold without a budget. */
  readonly hostBytes?: HostBytes | undefined;
}

/** Size of a result as it would cross into the sandbox: string length, byte length, or JSON length. */
function outputSize(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export interface Dispatcher {
  dispatch(extensionId: string, hostcall: unknown): Promise<HostcallResult>;
  /**
   * The same pipeline for a hostcall the guest waits on synchronously (`fs.readFileSync`, `process.env.X`, a
   * registration): every stage and the operation must answer at once. A prompt is refused without asking
   * (`denied`, `sync_needs_prompt`); a stage that returns a promise is `denied`; an operation that returns a
   * promise is `internal` (`operation_not_sync`). Never throws.
   */
  dispatchSync(extensionId: string, hostcall: unknown): HostcallResult;
  /** The stage names in the order they run, ending with execute and record. */
  readonly pipeline: readonly string[];
  /**
   * Aborts every operation of the extension still in flight (it was quarantined: what it started must not keep
   * holding the host's sockets and memory). Its calls end with `quarantined`.
   */
  abortExtension(extensionId: string): void;
}

const CORE: ReadonlySet<string> = new Set(['validate', 'derive_capability', 'policy']);

function orderStages(core: readonly Stage[], extra: readonly Stage[]): Stage[] {
  for (const s of extra) if (CORE.has(s.name)) throw new WardenError('usage', `dispatch stage "${s.name}" is built in`);
  const seen = new Set<string>();
  for (const s of [...core, ...extra]) {
    if (!(STAGE_ORDER as readonly string[]).includes(s.name)) throw new WardenError('usage', `unknown dispatch stage "${s.name}"`);
    if (seen.has(s.name)) throw new WardenError('usage', `dispatch stage "${s.name}" given twice`);
    seen.add(s.name);
  }
  return [...core, ...extra].sort((a, b) => STAGE_ORDER.indexOf(a.name) - STAGE_ORDER.indexOf(b.name));
}

/** Reading `then` may itself throw (a hostile proxy); that counts as not a promise, and the value is garbage. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

function stageFailure(stage: string, err: unknown): WardenError {
  if (isWardenError(err)) return err;
  return new WardenError('internal', `dispatch stage ${stage} failed; the call is denied`, { cause: err, reasonCodes: ['stage_failed'] });
}

function mergeReasons(a: readonly ReasonCode[] | undefined, b: readonly ReasonCode[] | undefined): readonly ReasonCode[] {
  if (b === undefined || b.length === 0) return a ?? [];
  if (a === undefined || a.length === 0) return b;
  return [...new Set([...a, ...b])];
}

/** A refusal (policy, quarantine, quota) is a deny; anything else that failed is an error. */
function recordedDecision(error: WardenError | undefined): RecordedDecision {
  if (error === undefined) return 'allow';
  return error.code === 'denied' || error.code === 'quarantined' || error.code === 'quota_exceeded' ? 'deny' : 'error';
}

const IO_CODES: ReadonlySet<SystemErrorReason> = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'ENOTEMPTY',
  'EBUSY',
  'EMFILE',
  'ENOSPC',
  'EROFS',
  'ELOOP',
  'ENAMETOOLONG',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EXDEV',
]);

function operationFailure(method: string, err: unknown): WardenError {
  if (isWardenError(err)) return err;
  let code: unknown;
  try {
    code = (err as { code?: unknown } | null)?.code;
  } catch {
    code = undefined;
  }
  const message = describeValue(err);
  if (typeof code === 'string' && isSystemErrorReason(code) && IO_CODES.has(code))
    return new WardenError('io', `${method}: ${message}`, { cause: err, reasonCodes: [code] });
  return new WardenError('internal', `${method} failed: ${message}`, { cause: err, reasonCodes: ['operation_failed'] });
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const given = options.policy;
  const policy = typeof given === 'function' ? given : () => given;
  const prompts = options.prompts ?? createPromptBroker({ prompter: options.prompter, timeoutMs: options.promptTimeoutMs });
  const policyStage = createPolicyStage({ policy, prompts, remember: options.remember });
  const stages = orderStages([validateStage, deriveCapabilityStage, policyStage], options.stages ?? []);
  const operations = options.operations ?? new Map<string, Operation>();
  const recorder = options.recorder;
  const timeStages = recorder?.wantsStageTimings === true;
  const timeoutMs = options.operationTimeoutMs ?? 30_000;
  const alerts = options.alerts;
  const lastViolation = new Map<string, number>();

  /** A call the policy denied is a policy_violation alert; a flood of them is throttled per second. */
  function policyViolation(ctx: DispatchContext, error: WardenError): void {
    if (alerts === undefined || ctx.stage !== 'policy' || error.code !== 'denied' || ctx.capability === undefined) return;
    const key = `${ctx.extensionId}\u0000${ctx.capability}\u0000${ctx.method}`;
    const last = lastViolation.get(key);
    if (last !== undefined && ctx.startedMs - last < 1000) return;
    if (lastViolation.size > 10_000) lastViolation.clear();
    lastViolation.set(key, ctx.startedMs);
    const userAnswered = error.reasonCodes.includes('prompt_user_deny') || error.reasonCodes.includes('prompt_session_deny');
    try {
      alerts.raise({
        ts_ms: ctx.startedMs,
        extension_id: ctx.extensionId,
        category: 'policy_violation',
        severity: isDangerous(ctx.capability) ? 'high' : userAnswered ? 'low' : 'medium',
        capability: ctx.capability,
        method: ctx.method,
        call_id: ctx.callId,
        summary: `${ctx.extensionId} called ${ctx.method}, which needs ${ctx.capability}: ${error.message}`,
        reason_codes: error.reasonCodes,
        remediation: `${liftDenial(policy().rules, policyReason(error.reasonCodes), ctx.capability, ctx.extensionId)} (check \`pi-warden policy explain --extension ${ctx.extensionId}\`); otherwise investigate the extension (runbook INC-1).`,
      });
    } catch {
      // The ledger entry for this call is the evidence; a failing alert sink must not change the decision.
    }
  }

  /** The policy rule that denied the call (the first policy reason code), for the remediation. */
  function policyReason(codes: readonly string[]): PolicyReason {
    return (codes.find((c) => (POLICY_REASONS as readonly string[]).includes(c)) as PolicyReason | undefined) ?? 'not_in_default_caps';
  }

  /** AbortControllers of the asynchronous operations in flight, by extension (`abortExtension`). */
  const inflight = new Map<string, Set<AbortController>>();

  /** One call's charge on the host-bytes account: what it held, released in one step when the operation ends. */
  function holder(extensionId: string): { hold: (bytes: number) => void; release: () => void } {
    const account = options.hostBytes;
    let total = 0;
    return {
      hold: (bytes) => {
        account?.hold(extensionId, bytes);
        total += bytes;
      },
      release: () => {
        account?.release(extensionId, total);
        total = 0;
      },
    };
  }

  function breach(ctx: DispatchContext, resource: 'output_bytes' | 'wall_time_ms', limit: number, actual: number): WardenError {
    try {
      options.breaches?.recordBreach({ extension_id: ctx.extensionId, resource, limit, actual, ts_ms: Date.now() });
    } catch {
      // the refusal stands
    }
    return new WardenError('quota_exceeded', `${ctx.method}: ${resource} ${actual} exceeds the limit ${limit}`, {
      reasonCodes: ['quota_exceeded', resource],
    });
  }

  function stageTimes(ctx: DispatchContext): Record<string, number> | undefined {
    const marks = ctx.marks;
    if (marks === undefined) return undefined;
    marks.push(performance.now());
    const out: Record<string, number> = {};
    const names = [...stages.map((s) => s.name), 'execute'];
    for (let i = 0; i + 1 < marks.length; i++)
      out[names[i] as string] = Math.round(((marks[i + 1] as number) - (marks[i] as number)) * 1000) / 1000;
    return out;
  }

  function decisionRecord(
    ctx: DispatchContext,
    error: WardenError | undefined,
    stageUs: Record<string, number> | undefined,
    admitted: DecisionRecord | undefined,
  ): DecisionRecord {
    return {
      ts_ms: ctx.startedMs,
      extension_id: ctx.extensionId,
      call_id: ctx.callId,
      method: ctx.method,
      capability: ctx.capability ?? null,
      declared_capability: ctx.declaredCapability ?? null,
      decision: recordedDecision(error),
      rule: ctx.rule ?? null,
      error_code: error?.code ?? null,
      reason_codes: mergeReasons(ctx.reasonCodes, error?.reasonCodes),
      duration_ms: Date.now() - ctx.startedMs,
      stage: error === undefined ? null : ctx.stage,
      policy: policy(),
      params: ctx.params,
      risk_score: ctx.riskScore ?? null,
      ...(stageUs === undefined ? {} : { stage_us: stageUs, duration_us: Object.values(stageUs).reduce((a, b) => a + b, 0) }),
      admitted,
    };
  }

  /** The refusal when nothing can be recorded: the call goes no further, so nothing unrecorded happens. */
  function unrecorded(ctx: DispatchContext, cause: unknown): HostcallResult {
    const why = isWardenError(cause) ? cause.message : describeValue(cause);
    const what = ctx.method === '' ? 'the call' : ctx.method;
    return {
      ok: false,
      callId: ctx.callId,
      error: new WardenError('internal', `the evidence recorder cannot accept records (${why}); ${what} was not run`, {
        cause,
        reasonCodes: mergeReasons(['record_failed'], isWardenError(cause) ? cause.reasonCodes : undefined),
      }),
    };
  }

  /** A recorder that reports a failure stops the call before any stage can prompt, log or alert for it. */
  function recorderDown(ctx: DispatchContext): HostcallResult | undefined {
    if (recorder?.failure === undefined) return undefined;
    let down: unknown;
    try {
      down = recorder.failure();
    } catch (err) {
      down = err;
    }
    return down === undefined ? undefined : unrecorded(ctx, down);
  }

  /**
   * Hands the allowed decision to the recorder before the operation runs and returns the admitted record (undefined
   * without a recorder that admits). Throws when the recorder did not take it: then the operation must not run.
   */
  function admit(ctx: DispatchContext): DecisionRecord | undefined {
    if (recorder?.admit === undefined) return undefined;
    const entry = decisionRecord(ctx, undefined, undefined, undefined);
    recorder.admit(entry);
    return entry;
  }

  /**
   * The call's operation, with its decision admitted by the recorder; or the result that ends the call without
   * running anything (no such operation here, or a decision the recorder would not take).
   */
  function admitOperation(ctx: DispatchContext): { op: Operation; admitted: DecisionRecord | undefined } | HostcallResult {
    const op = operations.get(ctx.method);
    if (op === undefined) {
      return fail(
        ctx,
        new WardenError('invalid_request', `${ctx.method} is not available in this host`, { reasonCodes: ['not_available'] }),
      );
    }
    try {
      return { op, admitted: admit(ctx) };
    } catch (err) {
      return unrecorded(ctx, err);
    }
  }

  function finish(ctx: DispatchContext, result: HostcallResult, admitted?: DecisionRecord): HostcallResult {
    if (recorder !== undefined) {
      const error = result.ok ? undefined : result.error;
      try {
        recorder.record(decisionRecord(ctx, error, stageTimes(ctx), admitted));
      } catch (err) {
        // A recorder that cannot record must not let the call through as if it had been recorded.
        if (result.ok)
          return {
            ok: false,
            callId: ctx.callId,
            error: new WardenError('internal', 'the decision could not be recorded; the call result is withheld', {
              cause: err,
              reasonCodes: ['record_failed'],
            }),
          };
        const e = result.error;
        return {
          ok: false,
          callId: ctx.callId,
          error: new WardenError(e.code, e.message, { reasonCodes: mergeReasons([...e.reasonCodes], ['record_failed']), cause: err }),
        };
      }
    }
    return result;
  }

  function fail(ctx: DispatchContext, error: WardenError, admitted?: DecisionRecord): HostcallResult {
    policyViolation(ctx, error);
    return finish(ctx, { ok: false, callId: ctx.callId, error }, admitted);
  }

  async function execute(ctx: DispatchContext, waited: boolean): Promise<HostcallResult> {
    ctx.stage = 'execute';
    ctx.marks?.push(performance.now());
    if (waited && options.recheck !== undefined) {
      const stop = options.recheck(ctx.extensionId);
      if (stop !== undefined) return fail(ctx, stop);
    }
    const ready = admitOperation(ctx);
    if ('ok' in ready) return ready;
    const { op, admitted } = ready;
    const controller = new AbortController();
    const running = inflight.get(ctx.extensionId) ?? new Set<AbortController>();
    running.add(controller);
    inflight.set(ctx.extensionId, running);
    let timer: NodeJS.Timeout | undefined;
    const quota = options.operationQuota?.(ctx.extensionId);
    const wall = quota?.wallTimeMs !== undefined && quota.wallTimeMs < timeoutMs ? quota.wallTimeMs : undefined;
    const deadline = wall ?? timeoutMs;
    const checked = (value: unknown): HostcallResult => {
      const limit = quota?.outputBytes;
      if (limit !== undefined) {
        const size = outputSize(value);
        if (size > limit) return fail(ctx, breach(ctx, 'output_bytes', limit, size), admitted);
      }
      return finish(ctx, { ok: true, callId: ctx.callId, value }, admitted);
    };
    const held = holder(ctx.extensionId);
    try {
      const pending = op(ctx.params, {
        extensionId: ctx.extensionId,
        callId: ctx.callId,
        capability: ctx.capability as Capability,
        signal: controller.signal,
        hold: held.hold,
      });
      if (!isThenable(pending)) return checked(pending);
      const started = Date.now();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Reject before aborting: an operation that settles on abort must not win the race.
          reject(
            wall !== undefined
              ? breach(ctx, 'wall_time_ms', wall, Date.now() - started)
              : new WardenError('timeout', `${ctx.method} did not finish within ${timeoutMs} ms`, { reasonCodes: ['operation_timeout'] }),
          );
          controller.abort();
        }, deadline);
      });
      const value = await Promise.race([pending, timeout]);
      const stop = options.recheck?.(ctx.extensionId);
      if (stop !== undefined) return fail(ctx, stop, admitted);
      return checked(value);
    } catch (err) {
      return fail(ctx, operationFailure(ctx.method, err), admitted);
    } finally {
      clearTimeout(timer);
      held.release();
      running.delete(controller);
      if (running.size === 0 && inflight.get(ctx.extensionId) === running) inflight.delete(ctx.extensionId);
    }
  }

  function executeSync(ctx: DispatchContext): HostcallResult {
    ctx.stage = 'execute';
    ctx.marks?.push(performance.now());
    const ready = admitOperation(ctx);
    if ('ok' in ready) return ready;
    const { op, admitted } = ready;
    const held = holder(ctx.extensionId);
    try {
      const value = op(ctx.params, {
        extensionId: ctx.extensionId,
        callId: ctx.callId,
        capability: ctx.capability as Capability,
        signal: new AbortController().signal,
        hold: held.hold,
      });
      if (isThenable(value)) {
        Promise.resolve(value).catch(() => undefined);
        return fail(
          ctx,
          new WardenError('internal', `${ctx.method} has no synchronous implementation in this host`, {
            reasonCodes: ['operation_not_sync'],
          }),
          admitted,
        );
      }
      const limit = options.operationQuota?.(ctx.extensionId)?.outputBytes;
      if (limit !== undefined) {
        const size = outputSize(value);
        if (size > limit) return fail(ctx, breach(ctx, 'output_bytes', limit, size), admitted);
      }
      return finish(ctx, { ok: true, callId: ctx.callId, value }, admitted);
    } catch (err) {
      return fail(ctx, operationFailure(ctx.method, err), admitted);
    } finally {
      held.release();
    }
  }

  async function continueAsync(ctx: DispatchContext, pending: PromiseLike<unknown>, index: number): Promise<HostcallResult> {
    let outcome: unknown;
    try {
      outcome = await pending;
    } catch (err) {
      return fail(ctx, stageFailure((stages[index] as Stage).name, err));
    }
    for (let i = index; ;) {
      if (outcome !== undefined) return fail(ctx, isWardenError(outcome) ? outcome : stageFailure((stages[i] as Stage).name, outcome));
      i++;
      if (i >= stages.length) return execute(ctx, true);
      ctx.stage = (stages[i] as Stage).name;
      ctx.marks?.push(performance.now());
      try {
        outcome = (stages[i] as Stage).run(ctx);
        if (isThenable(outcome)) outcome = await outcome;
      } catch (err) {
        return fail(ctx, stageFailure((stages[i] as Stage).name, err));
      }
    }
  }

  return {
    pipeline: [...stages.map((s) => s.name), 'execute', 'record'],
    dispatchSync(extensionId: string, hostcall: unknown): HostcallResult {
      const ctx = newContext(extensionId, hostcall);
      const down = recorderDown(ctx);
      if (down !== undefined) return down;
      ctx.sync = true;
      if (timeStages) ctx.marks = [];
      for (let i = 0; i < stages.length; i++) {
        const name = (stages[i] as Stage).name;
        ctx.stage = name;
        ctx.marks?.push(performance.now());
        let outcome: StageOutcome | Promise<StageOutcome>;
        try {
          outcome = (stages[i] as Stage).run(ctx);
        } catch (err) {
          return fail(
            ctx,
            name === 'validate'
              ? new WardenError('invalid_request', `hostcall could not be read: ${describeValue(err)}`, {
                  reasonCodes: ['invalid_request'],
                })
              : stageFailure(name, err),
          );
        }
        if (isThenable(outcome)) {
          // A waiting stage cannot be answered while the guest is blocked: deny, never allow.
          Promise.resolve(outcome).catch(() => undefined);
          return fail(
            ctx,
            new WardenError('denied', `${ctx.method} needs stage ${name} to wait and was called synchronously; denied`, {
              reasonCodes: ['sync_needs_prompt'],
            }),
          );
        }
        if (outcome !== undefined) return fail(ctx, isWardenError(outcome) ? outcome : stageFailure(name, outcome));
      }
      return executeSync(ctx);
    },
    abortExtension(extensionId: string): void {
      for (const c of inflight.get(extensionId) ?? [])
        c.abort(new WardenError('quarantined', `${extensionId} was quarantined: its operations in flight were aborted`));
    },
    async dispatch(extensionId: string, hostcall: unknown): Promise<HostcallResult> {
      const ctx = newContext(extensionId, hostcall);
      const down = recorderDown(ctx);
      if (down !== undefined) return down;
      if (timeStages) ctx.marks = [];
      for (let i = 0; i < stages.length; i++) {
        let outcome: StageOutcome | Promise<StageOutcome>;
        ctx.stage = (stages[i] as Stage).name;
        ctx.marks?.push(performance.now());
        try {
          outcome = (stages[i] as Stage).run(ctx);
        } catch (err) {
          // A throwing getter on the envelope or params lands here: invalid input, never a crash.
          const name = (stages[i] as Stage).name;
          return fail(
            ctx,
            name === 'validate'
              ? new WardenError('invalid_request', `hostcall could not be read: ${describeValue(err)}`, {
                  reasonCodes: ['invalid_request'],
                })
              : stageFailure(name, err),
          );
        }
        if (isThenable(outcome)) return continueAsync(ctx, outcome, i);
        if (outcome !== undefined) return fail(ctx, isWardenError(outcome) ? outcome : stageFailure((stages[i] as Stage).name, outcome));
      }
      return execute(ctx, false);
    },
  };
}
