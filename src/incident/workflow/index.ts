/** The incident workflow (SPEC §9, runbook General Incident Workflow): records, phases and SLAs, the steps. */
export {
  INCIDENT_TITLES,
  INCIDENT_TYPES,
  isIncidentType,
  PHASE_TABLE,
  PHASES,
  STEPS,
  slaReading,
  type IncidentType,
  type Phase,
  type PhaseSpec,
  type SlaReading,
  type Step,
} from './phases.ts';
export { IncidentWorkflow, sha256File, type IncidentStatus, type PhaseStatus, type StepResult, type WorkflowOptions } from './workflow.ts';
export { contain, isolationCheck, type Containment, type IsolationCheck } from './contain.ts';
export type { BundleCheck, BundleExport, BundleExportOptions, ConfigSnapshot, EvidenceTools } from './evidenceTools.ts';
