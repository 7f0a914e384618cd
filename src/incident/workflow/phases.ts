/**
 * The runbook's General Incident Workflow as data: its seven phases in order, each with the runbook's SLA, the
 * NIST SP 800-61r3 / CSF 2.0 function and category it falls under, and the SANS (PICERL) step teams know it by;
 * and the `pi-warden incident` step that completes it. `incident status` and the drills print this table.
 */

/** The runbook's phases, in the order they must happen. */
export const PHASES = ['detect', 'contain', 'collect', 'verify', 'analyze', 'remediate', 'postmortem'] as const;
export type Phase = (typeof PHASES)[number];

/** The commands that complete a phase (`open` detects, `close` is the postmortem). */
export const STEPS = ['open', 'contain', 'collect', 'verify', 'analyze', 'remediate', 'close'] as const;
export type Step = (typeof STEPS)[number];

/** The runbook's incident classes (INC-1..INC-6). */
export const INCIDENT_TYPES = ['INC-1', 'INC-2', 'INC-3', 'INC-4', 'INC-5', 'INC-6'] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

export const INCIDENT_TITLES: Readonly<Record<IncidentType, string>> = {
  'INC-1': 'Unauthorized Capability Use',
  'INC-2': 'Secret Exposure',
  'INC-3': 'Ledger Integrity Failure',
  'INC-4': 'Scanner Bypass',
  'INC-5': 'Quarantine Escape',
  'INC-6': 'Resource Quota Abuse',
};

export interface PhaseSpec {
  readonly phase: Phase;
  readonly step: Step;
  /** The runbook's own name. */
  readonly runbook: string;
  /** NIST SP 800-61r3 maps incident response onto CSF 2.0 functions and categories. */
  readonly nist: string;
  /** SANS incident handling steps (Preparation, Identification, Containment, Eradication, Recovery, Lessons learned). */
  readonly sans: string;
  /** The runbook's SLA, counted from detection (the incident's opening); null: "Automatic" or "Varies". */
  readonly slaMs: number | null;
  readonly slaText: string;
  /** The runbook's "Actions" column. */
  readonly actions: string;
}

const MIN = 60_000;

export const PHASE_TABLE: readonly PhaseSpec[] = [
  {
    phase: 'detect',
    step: 'open',
    runbook: 'Detect',
    nist: 'Detect (DE.AE-08: incident declared)',
    sans: 'Identification',
    slaMs: null,
    slaText: 'Automatic',
    actions: 'Alert raised by risk controller or CI gate',
  },
  {
    phase: 'contain',
    step: 'contain',
    runbook: 'Contain',
    nist: 'Respond (RS.MI-01: contained)',
    sans: 'Containment',
    slaMs: 5 * MIN,
    slaText: '< 5 min',
    actions: 'Kill extension, verify isolation',
  },
  {
    phase: 'collect',
    step: 'collect',
    runbook: 'Collect',
    nist: 'Respond (RS.AN-07: data collected, integrity kept)',
    sans: 'Containment (evidence)',
    slaMs: 15 * MIN,
    slaText: '< 15 min',
    actions: 'Export evidence bundle, snapshot config',
  },
  {
    phase: 'verify',
    step: 'verify',
    runbook: 'Verify',
    nist: 'Respond (RS.AN-07: integrity and provenance)',
    sans: 'Identification (evidence check)',
    slaMs: 30 * MIN,
    slaText: '< 30 min',
    actions: 'Verify bundle hash, ledger chain, alert counts',
  },
  {
    phase: 'analyze',
    step: 'analyze',
    runbook: 'Analyze',
    nist: 'Respond (RS.AN-03: root cause)',
    sans: 'Identification (root cause)',
    slaMs: 120 * MIN,
    slaText: '< 2 hours',
    actions: 'Root cause analysis with forensic replay',
  },
  {
    phase: 'remediate',
    step: 'remediate',
    runbook: 'Remediate',
    nist: 'Respond (RS.MI-02: eradicated) / Recover (RC.RP)',
    sans: 'Eradication, Recovery',
    slaMs: null,
    slaText: 'Varies',
    actions: 'Policy update, scanner rule, bead filed',
  },
  {
    phase: 'postmortem',
    step: 'close',
    runbook: 'Postmortem',
    nist: 'Identify (ID.IM: improvement)',
    sans: 'Lessons learned',
    slaMs: 24 * 60 * MIN,
    slaText: '< 24 hours',
    actions: 'Written, reviewed, artifacts archived',
  },
];

export function specOfStep(step: Step): PhaseSpec {
  return PHASE_TABLE[STEPS.indexOf(step)] as PhaseSpec;
}

export function isIncidentType(v: string): v is IncidentType {
  return (INCIDENT_TYPES as readonly string[]).includes(v);
}

export interface SlaReading {
  readonly elapsed_ms: number;
  /** ms left before the SLA is breached; null when the phase has no SLA; negative once breached. */
  readonly remaining_ms: number | null;
  readonly breached: boolean;
}

/**
 * A phase against its SLA: elapsed from detection to its completion (or to `now` while it is not done); breached
 * when that exceeds the SLA.
 */
export function slaReading(spec: PhaseSpec, openedMs: number, doneMs: number | null, now: number): SlaReading {
  const elapsed = Math.max(0, (doneMs ?? now) - openedMs);
  if (spec.slaMs === null) return { elapsed_ms: elapsed, remaining_ms: null, breached: false };
  return { elapsed_ms: elapsed, remaining_ms: spec.slaMs - elapsed, breached: elapsed > spec.slaMs };
}
