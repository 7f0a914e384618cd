/**
 * The incident report's contract (issue 21 item 2): what the report is built from. The input is pure data, so the
 * workflow's incident record, a drill or a hand-written JSON file (`--from-json`) can all feed it; what the collector
 * adds from the store is listed in ReportData. Nothing here holds a hostcall's params: the ledger never stored them.
 */

import type { IncidentType } from '../workflow/index.ts';

/** The runbook's incident types: the workflow's own list. */
export { INCIDENT_TYPES, type IncidentType } from '../workflow/index.ts';

/** One phase of the runbook's General Incident Workflow, with the NIST SP 800-61r3 / CSF 2.0 and SANS names beside it. */
export interface IncidentPhase {
  readonly name: string;
  readonly nist: string;
  readonly sans: string;
  /** ISO 8601 UTC; absent while the phase has not started. */
  readonly startedAt?: string;
  /** ISO 8601 UTC; absent while the phase runs. */
  readonly endedAt?: string;
  /** The runbook's SLA for the phase; null where the runbook sets none ("Automatic", "Varies"). */
  readonly slaMs: number | null;
  /**
   * ISO 8601 UTC: when the SLA starts counting. The runbook counts every phase's SLA from detection (the incident's
   * opening), so the workflow's record sets it to `openedAt`; absent: from the phase's own start.
   */
  readonly slaFrom?: string;
}

export interface IncidentReportInput {
  readonly incident: {
    readonly id: string;
    readonly type: IncidentType;
    /** The extension the incident is about; absent: every extension with evidence in the window. */
    readonly extension?: string;
    /** ISO 8601 UTC. */
    readonly openedAt: string;
    readonly closedAt?: string;
    readonly phases: readonly IncidentPhase[];
    readonly evidence: ReadonlyArray<{ readonly name: string; readonly sha256: string }>;
    readonly remediations: readonly string[];
  };
  /**
   * The evidence window (ISO 8601 UTC). Default: from LOOKBACK_MS before `openedAt` (what led to the detection) to
   * `closedAt`, or to the time of the report while the incident is open.
   */
  readonly window?: { readonly from?: string; readonly to?: string };
}

/** How far before the incident was opened the report looks for evidence unless the input says otherwise: one day. */
export const LOOKBACK_MS = 24 * 60 * 60 * 1000;

/** One ledger entry as the report shows it: the stored, param-free fields only. */
export interface ReportDecision {
  readonly seq: number;
  readonly ts_ms: number;
  readonly extension_id: string;
  /** A method of the method table, or `unknown method` (a guest-chosen name is not repeated). */
  readonly method: string;
  readonly capability: string | null;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly rule: string | null;
  /** Known reason codes only; an unknown one reads `unknown_reason_code`. */
  readonly reason_codes: readonly string[];
  readonly risk_score: number | null;
  /** How many calls the entry stands for (a burst summary stands for several). */
  readonly calls: number;
  readonly ledger_hash: string;
}

/** An alert without its summary: a summary may quote a path or a host from the call's params. */
export interface ReportAlert {
  readonly seq: number;
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly category: string;
  readonly severity: string;
  readonly method: string | null;
  readonly capability: string | null;
  readonly reason_codes: readonly string[];
}

export interface ReportTrustTransition {
  readonly id: number;
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly from_state: string;
  readonly to_state: string;
  readonly kind: string;
  readonly actor: string;
  /** The operator's or controller's reason, as recorded (never a call's params). */
  readonly reason: string;
}

/** Everything a report shows: the input plus what the store held for the extension(s) in the window. */
export interface ReportData {
  readonly input: IncidentReportInput;
  /** When the data was collected (ms since the epoch, UTC). */
  readonly generatedMs: number;
  readonly window: { readonly fromMs: number; readonly toMs: number };
  /** The extensions shown, sorted. */
  readonly extensions: readonly string[];
  readonly decisions: readonly ReportDecision[];
  readonly alerts: readonly ReportAlert[];
  readonly trust: readonly ReportTrustTransition[];
  /** The ledger's size and head when collected, to tie the report to the store it came from. */
  readonly ledger: { readonly treeSize: number; readonly lastHash: string | null };
}
