/** The install-time scanner (SPEC §8, runbook INC-4): the only public face of `src/scanner/`. */
export { analyzeSource, MAX_PAYLOAD_DEPTH, type AnalyzeOptions, type SourceAnalysis } from './analyze.ts';
export {
  assertScanAllowsLoad,
  scanBeforeLoad,
  scannerBypassCheck,
  ScanVerdictCache,
  type ScanGateResult,
  type ScannerBypassAlert,
} from './gate.ts';
export { policySnippet, type PolicySnippet } from './policySnippet.ts';
export { CLASSIFICATIONS, listRules, RULES, type Classification, type Confidence, type RuleSpec } from './rules.ts';
export { toSarif } from './sarif.ts';
export { SCAN_LIMITS, scanLocated, scanTarget, type ScanOptions } from './scan.ts';
export { TARBALL_LIMITS } from './tarball.ts';
export type { CapabilityEvidence, ExtensionReport, Finding } from './types.ts';
export { isScanRuleReason, SCAN_GATE_REASONS } from './gate.ts';
