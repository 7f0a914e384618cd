/** The incident report (issue 21 item 2): collect what the store holds for an incident, render it as HTML or markdown. */
export { collectReportData, reportWindow } from './collect.ts';
export { REPORT_CSP, renderHtml } from './html.ts';
export { parseReportInput } from './input.ts';
export { renderMarkdown } from './markdown.ts';
export { MARK_KINDS, type MarkKind } from './charts.ts';
export {
  INCIDENT_TYPES,
  LOOKBACK_MS,
  type IncidentPhase,
  type IncidentReportInput,
  type IncidentType,
  type ReportAlert,
  type ReportData,
  type ReportDecision,
  type ReportTrustTransition,
} from './types.ts';
