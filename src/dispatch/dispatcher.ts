/**
 * `dispatch(extensionId, hostcall)`: the ordered stages, then execute, then record (SPEC §3, §4.5).
 *
 * Fail closed: a stage that throws, returns garbage or rejects stops the call with `internal`; an operation that
 * throws becomes `io` (file system and process errors), `timeout`, or `internal`. `dispatch` itself never
 * throws and never rejects: the result is always `{ok, callId, value | error}`.
 *
 * Hot path: no I/O, no JSON, no hashing here; the only allocations are the context, the result and the record.
 */
import { isWardenError, WardenError } from '../errors.ts';
import type { Capability } from '../policy/capabilities.ts';
import type { CompiledPolicy } from '../policy/precedence.ts';
import { newContext, type DispatchContext, type HostcallResult } from './hostcall.ts';
import type { DecisionRecorder, RecordedDecision } from './record.ts';
import { STAGE_ORDER, type Stage, type StageOutcome } from './stage.ts';
import { deriveCapabilityStage } from './stages/deriveCapability.ts';
import { createPolicyStage, type Prompter } from './stages/policy.ts';
import { validateStage } from './stages/validate.ts';

export interface OperationContext {
  readonly extensionId: string;
  readonly callId: string;
  readonly capability: Capability;
  readonly signal: AbortSignal;
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
  readonly remember?: ((extensionId: string, capability: Capability, decision: 'allow' | 'deny') => void) | undefined;
  readonly promptTimeoutMs?: number | undefined;
  /** Deadline for one operation; past it the call ends with `timeout` and the operation's signal aborts. */
  readonly operationTimeoutMs?: number | undefined;
}

export interface Dispatcher {
  dispatch(extensionId: string, hostcall: unknown): Promise<HostcallResult>;
  /**
   * The same pipeline for a hostcall the guest waits on synchronously (`fs.readFileSync`, `process.env.X`, a
   * registration): every stage and the operation must answer synchronously. A stage that needs to wait (a prompt)
   * or an operation that returns a promise fails closed: `denied` (`sync_needs_prompt`) or `internal`
   * (`operation_not_sync`). Never throws.
   */
  dispatchSync(extensionId: string, hostcall: unknown): HostcallResult;
  /** The stage names in the order they run, ending with execute and record. */
  readonly pipeline: readonly string[];
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function stageFailure(stage: string, err: unknown): WardenError {
  if (isWardenError(err)) return err;
  return new WardenError('internal', `dispatch stage ${stage} failed; the call is denied`, { cause: err, reasonCodes: ['stage_failed'] });
}

/** A refusal (policy, quarantine, quota) is a deny; anything else that failed is an error. */
function recordedDecision(error: WardenError | undefined): RecordedDecision {
  if (error === undefined) return 'allow';
  return error.code === 'denied' || error.code === 'quarantined' || error.code === 'quota_exceeded' ? 'deny' : 'error';
}

const IO_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EBUSY', 'EMFILE', 'ENOSPC', 'EROFS', 'ELOOP', 'ENAMETOOLONG', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EXDEV']);

function operationFailure(method: string, err: unknown): WardenError {
  if (isWardenError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && IO_CODES.has(code)) return new WardenError('io', `${method}: ${message}`, { cause: err, reasonCodes: [code] });
  return new WardenError('internal', `${method} failed: ${message}`, { cause: err, reasonCodes: ['operation_failed'] });
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const given = options.policy;
  const policy = typeof given === 'function' ? given : () => given;
  const policyStage = createPolicyStage({
    policy, prompter: options.prompter, remember: options.remember, promptTimeoutMs: options.promptTimeoutMs,
  });
  const stages = orderStages([validateStage, deriveCapabilityStage, policyStage], options.stages ?? []);
  const operations = options.operations ?? new Map<string, Operation>();
  const recorder = options.recorder;
  const timeoutMs = options.operationTimeoutMs ?? 30_000;

  function finish(ctx: DispatchContext, result: HostcallResult): HostcallResult {
    if (recorder !== undefined) {
      const error = result.ok ? undefined : result.error;
      try {
        recorder.record({
          ts_ms: ctx.startedMs,
          extension_id: ctx.extensionId,
          call_id: ctx.callId,
          method: ctx.method,
          capability: ctx.capability ?? null,
          declared_capability: ctx.declaredCapability ?? null,
          decision: recordedDecision(error),
          rule: ctx.rule ?? null,
          error_code: error?.code ?? null,
          reason_codes: ctx.reasonCodes ?? (error === undefined ? [] : error.reasonCodes),
          duration_ms: Date.now() - ctx.startedMs,
        });
      } catch (err) {
        // A recorder that cannot record must not let the call through as if it had been recorded.
        if (result.ok) return { ok: false, callId: ctx.callId, error: new WardenError('internal', 'the decision could not be recorded; the call result is withheld', { cause: err, reasonCodes: ['record_failed'] }) };
      }
    }
    return result;
  }

  function fail(ctx: DispatchContext, error: WardenError): HostcallResult {
    return finish(ctx, { ok: false, callId: ctx.callId, error });
  }

  async function execute(ctx: DispatchContext): Promise<HostcallResult> {
    const op = operations.get(ctx.method);
    if (op === undefined) {
      return fail(ctx, new WardenError('invalid_request', `${ctx.method} is not available in this host`, { reasonCodes: ['not_available'] }));
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = op(ctx.params, { extensionId: ctx.extensionId, callId: ctx.callId, capability: ctx.capability as Capability, signal: controller.signal });
      if (!isThenable(pending)) return finish(ctx, { ok: true, callId: ctx.callId, value: pending });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Reject before aborting: an operation that settles on abort must not win the race.
          reject(new WardenError('timeout', `${ctx.method} did not finish within ${timeoutMs} ms`, { reasonCodes: ['operation_timeout'] }));
          controller.abort();
        }, timeoutMs);
      });
      const value = await Promise.race([pending, timeout]);
      return finish(ctx, { ok: true, callId: ctx.callId, value });
    } catch (err) {
      return fail(ctx, operationFailure(ctx.method, err));
    } finally {
      clearTimeout(timer);
    }
  }

  async function continueAsync(ctx: DispatchContext, pending: PromiseLike<unknown>, index: number): Promise<HostcallResult> {
    let outcome: unknown;
    try {
      outcome = await pending;
    } catch (err) {
      return fail(ctx, stageFailure((stages[index] as Stage).name, err));
    }
    for (let i = index; ; ) {
      if (outcome !== undefined) return fail(ctx, isWardenError(outcome) ? outcome : stageFailure((stages[i] as Stage).name, outcome));
      i++;
      if (i >= stages.length) return execute(ctx);
      try {
        outcome = (stages[i] as Stage).run(ctx);
        if (isThenable(outcome)) outcome = await outcome;
      } catch (err) {
        return fail(ctx, stageFailure((stages[i] as Stage).name, err));
      }
    }
  }

  function executeSync(ctx: DispatchContext): HostcallResult {
    const op = operations.get(ctx.method);
    if (op === undefined) {
      return fail(ctx, new WardenError('invalid_request', `${ctx.method} is not available in this host`, { reasonCodes: ['not_available'] }));
    }
    try {
      const value = op(ctx.params, { extensionId: ctx.extensionId, callId: ctx.callId, capability: ctx.capability as Capability, signal: new AbortController().signal });
      if (isThenable(value)) {
        Promise.resolve(value).catch(() => undefined);
        return fail(ctx, new WardenError('internal', `${ctx.method} has no synchronous implementation in this host`, { reasonCodes: ['operation_not_sync'] }));
      }
      return finish(ctx, { ok: true, callId: ctx.callId, value });
    } catch (err) {
      return fail(ctx, operationFailure(ctx.method, err));
    }
  }

  return {
    pipeline: [...stages.map((s) => s.name), 'execute', 'record'],
    dispatchSync(extensionId: string, hostcall: unknown): HostcallResult {
      const ctx = newContext(extensionId, hostcall);
      for (let i = 0; i < stages.length; i++) {
        const name = (stages[i] as Stage).name;
        let outcome: StageOutcome | Promise<StageOutcome>;
        try {
          outcome = (stages[i] as Stage).run(ctx);
        } catch (err) {
          return fail(ctx, name === 'validate' ? new WardenError('invalid_request', `hostcall could not be read: ${err instanceof Error ? err.message : String(err)}`, { reasonCodes: ['invalid_request'] }) : stageFailure(name, err));
        }
        if (isThenable(outcome)) {
          // A prompt (or any waiting stage) cannot be answered while the guest is blocked: deny, never allow.
          Promise.resolve(outcome).catch(() => undefined);
          return fail(ctx, new WardenError('denied', `${ctx.method} needs an answer from the user (stage ${name}) and was called synchronously; denied`, { reasonCodes: ['sync_needs_prompt'] }));
        }
        if (outcome !== undefined) return fail(ctx, isWardenError(outcome) ? outcome : stageFailure(name, outcome));
      }
      return executeSync(ctx);
    },
    async dispatch(extensionId: string, hostcall: unknown): Promise<HostcallResult> {
      const ctx = newContext(extensionId, hostcall);
      for (let i = 0; i < stages.length; i++) {
        let outcome: StageOutcome | Promise<StageOutcome>;
        try {
          outcome = (stages[i] as Stage).run(ctx);
        } catch (err) {
          // A throwing getter on the envelope or params lands here: invalid input, never a crash.
          const name = (stages[i] as Stage).name;
          return fail(ctx, name === 'validate' ? new WardenError('invalid_request', `hostcall could not be read: ${err instanceof Error ? err.message : String(err)}`, { reasonCodes: ['invalid_request'] }) : stageFailure(name, err));
        }
        if (isThenable(outcome)) return continueAsync(ctx, outcome, i);
        if (outcome !== undefined) return fail(ctx, isWardenError(outcome) ? outcome : stageFailure((stages[i] as Stage).name, outcome));
      }
      return execute(ctx);
    },
  };
}
