/**
 * The hostcall envelope `{call_id, method, params, capability?}` (SPEC §3) and the per-call context that flows
 * through the pipeline. The extension id never comes from the envelope: the sandbox that owns the extension
 * supplies it, so an extension cannot speak for another.
 */
import type { ReasonCode, WardenError } from '../errors.ts';
import type { Capability, Decision, MethodSpec, Rule } from '../policy/index.ts';

export interface Hostcall {
  readonly call_id: string;
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** What the caller claims to need. Never decides; a mismatch is recorded as `capability_mismatch`. */
  readonly capability?: string;
}

export type HostcallResult =
  | { readonly ok: true; readonly callId: string; readonly value: unknown }
  | { readonly ok: false; readonly callId: string; readonly error: WardenError };

/** One per call. Envelope fields are read exactly once, so a getter cannot change the method after validation. */
export interface DispatchContext {
  readonly extensionId: string;
  readonly raw: unknown;
  callId: string;
  method: string;
  params: Readonly<Record<string, unknown>>;
  declaredCapability: string | undefined;
  spec: MethodSpec | undefined;
  capability: Capability | undefined;
  decision: Decision | undefined;
  rule: Rule | undefined;
  /** Allocated only when a stage adds a code. */
  reasonCodes: ReasonCode[] | undefined;
  readonly startedMs: number;
  /** The stage running now; when the call fails, the stage that stopped it. */
  stage: string;
  /** performance.now() at each stage start, only when the recorder wants stage timings. */
  marks: number[] | undefined;
  /** Set by the risk stage. */
  riskScore: number | undefined;
  /** The guest is blocked waiting (dispatchSync): nothing may wait, so a prompt is refused without asking. */
  sync: boolean;
}

export function newContext(extensionId: string, raw: unknown): DispatchContext {
  return {
    extensionId,
    raw,
    callId: '',
    method: '',
    params: EMPTY_PARAMS,
    declaredCapability: undefined,
    spec: undefined,
    capability: undefined,
    decision: undefined,
    rule: undefined,
    reasonCodes: undefined,
    startedMs: Date.now(),
    stage: 'validate',
    marks: undefined,
    riskScore: undefined,
    sync: false,
  };
}

export function addReason(ctx: DispatchContext, code: ReasonCode): void {
  if (ctx.reasonCodes === undefined) ctx.reasonCodes = [code];
  else if (!ctx.reasonCodes.includes(code)) ctx.reasonCodes.push(code);
}

const EMPTY_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({});
