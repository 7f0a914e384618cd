/** Phase timings against the runbook's SLAs, as the report's table, chart and markdown show them. */
import type { IncidentPhase, ReportData } from './types.ts';

export const PHASE_STATUSES = ['not started', 'running', 'met', 'breached'] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

export interface PhaseTiming {
  readonly phase: IncidentPhase;
  /** Elapsed so far (running) or in all (ended); null before the phase starts. */
  readonly elapsedMs: number | null;
  /** Time since the SLA started counting (`slaFrom`, else the phase's start) to the phase's end or now. */
  readonly slaElapsedMs: number | null;
  /** SLA minus the time since the SLA started counting: negative once breached; null before the phase starts or without an SLA. */
  readonly remainingMs: number | null;
  readonly status: PhaseStatus;
}

/** A running phase is measured up to the time the data was collected. */
export function phaseTimings(data: ReportData): PhaseTiming[] {
  return data.input.incident.phases.map((phase) => {
    if (phase.startedAt === undefined) return { phase, elapsedMs: null, slaElapsedMs: null, remainingMs: null, status: 'not started' };
    const end = phase.endedAt !== undefined ? Date.parse(phase.endedAt) : data.generatedMs;
    const elapsedMs = Math.max(0, end - Date.parse(phase.startedAt));
    const slaElapsedMs = Math.max(0, end - Date.parse(phase.slaFrom ?? phase.startedAt));
    const remainingMs = phase.slaMs === null ? null : phase.slaMs - slaElapsedMs;
    const status: PhaseStatus = remainingMs !== null && remainingMs < 0 ? 'breached' : phase.endedAt === undefined ? 'running' : 'met';
    return { phase, elapsedMs, slaElapsedMs, remainingMs, status };
  });
}

/** `1h 02m 03s`, `-4m 10s` for an overrun. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${sign}${h}h ${pad(m)}m ${pad(s)}s` : m > 0 ? `${sign}${m}m ${pad(s)}s` : `${sign}${s}s`;
}

export const utc = (ms: number): string => new Date(ms).toISOString();
