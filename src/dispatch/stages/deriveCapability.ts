/**
 * Stage 2: the required capability comes from the static method table (INV-001). The caller's `capability`
 * field is compared and a mismatch is recorded as `capability_mismatch`; it never changes the decision.
 */
import { WardenError } from '../../errors.ts';
import { toolNameCapability } from '../../policy/index.ts';
import { addReason, type DispatchContext } from '../hostcall.ts';
import type { Stage, StageOutcome } from '../stage.ts';

/** Recorded, never decisive: the caller claimed a capability other than the one the method table gives. */
export const DERIVE_CAPABILITY_REASONS = ['capability_mismatch'] as const;
export type DeriveCapabilityReason = (typeof DERIVE_CAPABILITY_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    deriveCapability: DeriveCapabilityReason;
  }
}

export function deriveCapability(ctx: DispatchContext): StageOutcome {
  const spec = ctx.spec;
  if (spec === undefined) return new WardenError('internal', 'derive_capability ran before validate');
  // `tool` params passed the schema, so `name` is a non-empty string.
  ctx.capability = spec.capability === 'by_tool_name' ? toolNameCapability(ctx.params.name as string) : spec.capability;
  if (ctx.declaredCapability !== undefined && ctx.declaredCapability !== ctx.capability) addReason(ctx, 'capability_mismatch');
  return undefined;
}

export const deriveCapabilityStage: Stage = { name: 'derive_capability', run: deriveCapability };
