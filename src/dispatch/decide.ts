/**
 * The static decision for one hostcall without executing it: validate, derive the capability, look up the
 * policy. Shares the stage functions with the dispatcher. Throws only `WardenError` (`invalid_request`).
 * Used by `policy explain`-style tooling, property tests and the policy benchmark.
 */
import { describeValue } from '../describe.ts';
import { isWardenError, WardenError } from '../errors.ts';
import { type Capability, type CompiledPolicy, type Decision, type PolicyReason, type Rule, verdictFor } from '../policy/index.ts';
import { newContext } from './hostcall.ts';
import { deriveCapability } from './stages/deriveCapability.ts';
import { validateHostcall } from './stages/validate.ts';

export interface HostcallDecision {
  readonly callId: string;
  readonly method: string;
  readonly capability: Capability;
  readonly decision: Decision;
  readonly rule: Rule;
  readonly reason: PolicyReason;
  readonly capabilityMismatch: boolean;
}

export function decideHostcall(policy: CompiledPolicy, extensionId: string, hostcall: unknown): HostcallDecision {
  const ctx = newContext(extensionId, hostcall);
  let problem;
  try {
    problem = validateHostcall(ctx) ?? deriveCapability(ctx);
  } catch (err) {
    if (isWardenError(err)) throw err;
    throw new WardenError('invalid_request', `hostcall could not be read: ${describeValue(err)}`);
  }
  if (problem !== undefined) throw problem;
  const capability = ctx.capability as Capability;
  const verdict = verdictFor(policy, capability, extensionId);
  return {
    callId: ctx.callId,
    method: ctx.method,
    capability,
    decision: verdict.decision,
    rule: verdict.rule,
    reason: verdict.reason,
    capabilityMismatch: ctx.reasonCodes?.includes('capability_mismatch') === true,
  };
}
