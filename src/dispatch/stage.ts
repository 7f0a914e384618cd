/**
 * A pipeline stage (SPEC §3): validate → derive capability → policy → trust/kill switch → risk → quota →
 * mediation, then execute and record. Each stage is a small module; later work plugs stages into the named slots.
 * A stage returns nothing to continue or a WardenError to stop the call (fail closed). It may be async, but the
 * core stages are synchronous unless a prompt is needed.
 */
import type { WardenError } from '../errors.ts';
import type { DispatchContext } from './hostcall.ts';

export const STAGE_ORDER = ['validate', 'derive_capability', 'policy', 'trust', 'risk', 'quota', 'mediation'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

export type StageOutcome = WardenError | undefined;

export interface Stage {
  readonly name: StageName;
  run(ctx: DispatchContext): StageOutcome | Promise<StageOutcome>;
}

/** A stage that always answers at once (usable on the synchronous hostcall path and in a chain). */
export interface SyncStage extends Stage {
  run(ctx: DispatchContext): StageOutcome;
}
