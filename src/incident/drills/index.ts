/** Runbook drills: INC-1..INC-6 played end to end against hostile fixtures in scratch stores. */
export { DRILL_TYPES, SOURCE_NOT_KEPT, runDrill, runDrills, type ArtifactCheck, type DrillReport, type PhaseTiming } from './drills.ts';
export { DRILL_FIXTURES, type DrillFixture } from './fixtures.ts';
