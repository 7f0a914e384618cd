/**
 * The scanner as a gate (issue 8 item 6, runbook INC-4). The scan is advisory evidence, the hostcall policy stays
 * the boundary (peers.md §3, the vm2 lesson): a forbidden verdict stops the load unless the operator explicitly
 * overrides it for that one extension, and a hostcall needing a capability the scan did not find is a
 * `scanner_bypass` alert — the extension does something its source did not show, so the scan was evaded.
 * No load path calls `assertScanAllowsLoad` yet (the load-time issue, 15).
 */
import { WardenError } from '../errors.ts';
import type { Capability, ResolvedPolicy } from '../policy/index.ts';
import { RULES } from './rules.ts';
import type { ExtensionReport } from './types.ts';

/** A load refused for its scan: `scan_forbidden`, then the rule id of each forbidden finding (`code.eval`). */
export const SCAN_GATE_REASONS = ['scan_forbidden'] as const;
export type ScanGateReason = (typeof SCAN_GATE_REASONS)[number];
/** A rule id of the scanner's rulebook (rules.ts): dotted, unlike every other reason code. */
export type ScanRuleReason = `${string}.${string}`;
declare module '../errors.ts' {
  interface ReasonVocabularies {
    scanGate: ScanGateReason;
    scanRule: ScanRuleReason;
  }
}

export function isScanRuleReason(code: string): code is ScanRuleReason {
  return RULES.has(code) && code.includes('.');
}

/** Throws `denied` when the scan verdict is forbidden and the policy has no `allowForbiddenScan` for this id. */
export function assertScanAllowsLoad(
  report: ExtensionReport,
  policy: Pick<ResolvedPolicy, 'allowForbiddenScan'>,
  extensionId: string,
): void {
  if (report.verdict !== 'forbidden') return;
  if (policy.allowForbiddenScan.has(extensionId)) return;
  const rules = [...new Set(report.findings.filter((f) => f.classification === 'forbidden').map((f) => f.ruleId))];
  throw new WardenError(
    'denied',
    `extension ${extensionId} was not loaded: its scan verdict is forbidden (${rules.join(', ')}); ` +
      `review \`pi-warden scan\` and, only if you accept the risk, set extensionPolicy.overrides.${extensionId}.allowForbiddenScan: true`,
    {
      reasonCodes: ['scan_forbidden', ...rules.filter(isScanRuleReason)],
      where: report.target,
    },
  );
}

export interface ScannerBypassAlert {
  readonly category: 'scanner_bypass';
  readonly severity: 'high';
  readonly extension_id: string;
  readonly capability: Capability;
  readonly method: string;
  readonly summary: string;
  readonly reason_codes: readonly string[];
  readonly remediation: string;
}

/**
 * Called with the capability dispatch derived for a hostcall. Returns an alert when the scan did not list that
 * capability (dynamic code, an encoded payload or a loader trick the scanner missed), otherwise undefined.
 */
export function scannerBypassCheck(report: ExtensionReport, capability: Capability, method: string): ScannerBypassAlert | undefined {
  if (report.capabilities.some((c) => c.capability === capability)) return undefined;
  return {
    category: 'scanner_bypass',
    severity: 'high',
    extension_id: report.id,
    capability,
    method,
    summary: `${report.id} called ${method} (needs ${capability}) but its install-time scan found no use of ${capability}`,
    reason_codes: ['capability_not_in_scan', `scan_verdict_${report.verdict}`],
    remediation:
      'INC-4: examine the extension source for the evasion (dynamic require, encoded payload, prototype pollution), ' +
      'add the pattern to the scanner rules with a regression sample, and keep the extension killed until reviewed',
  };
}
