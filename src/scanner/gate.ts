/**
 * The scanner as a gate (issue 8 item 6, runbook INC-4). The scan is advisory evidence, the hostcall policy stays
 * the boundary (peers.md §3, the vm2 lesson): a forbidden verdict stops the load unless the operator explicitly
 * overrides it for that one extension, and a hostcall needing a capability the scan did not find is a
 * `scanner_bypass` alert — the extension does something its source did not show, so the scan was evaded.
 * Every load path goes through `scanBeforeLoad` (issue 15 item 2): scan, then refuse a forbidden verdict.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardenError } from '../errors.ts';
import type { LocatedExtension } from '../extensions/index.ts';
import { overrideKey, PACED_BY_PI, type Capability, type ResolvedPolicy } from '../policy/index.ts';
import { CLASSIFICATIONS, RULES } from './rules.ts';
import { scanLocated } from './scan.ts';
import type { ExtensionReport, Finding } from './types.ts';

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
      `review \`pi-warden scan\` and, only if you accept the risk, set ${overrideKey(extensionId)}.allowForbiddenScan: true`,
    {
      reasonCodes: ['scan_forbidden', ...rules.filter(isScanRuleReason)],
      where: report.target,
    },
  );
}

/**
 * Where verdicts are kept across processes: bytes under a lookup, authenticated by the store (the bridge passes
 * sandbox's `SealedCache`, HMAC-keyed like the bundle cache). What does not authenticate reads as absent.
 */
export interface VerdictStore {
  read(lookup: string): Uint8Array | undefined;
  write(lookup: string, data: Uint8Array): void;
}

/**
 * Scan reports by extension id and bundle hash: a bundle that did not change is not scanned again. The hash is
 * of what the sandbox runs, so an edited file (or a swapped dependency) is a new key and a new scan. Given a store,
 * reports are kept there too, under this scanner's fingerprint as well: a new scanner rescans everything, and a kept
 * report that is not one (any doubt) is a miss, so the extension is scanned again.
 */
export class ScanVerdictCache {
  readonly #reports = new Map<string, ExtensionReport>();
  readonly #store: VerdictStore | undefined;

  constructor(store?: VerdictStore) {
    this.#store = store;
  }

  get(extensionId: string, bundleHash: string): ExtensionReport | undefined {
    const key = `${extensionId}\u0000${bundleHash}`;
    const known = this.#reports.get(key);
    if (known !== undefined || this.#store === undefined) return known;
    const kept = keptReport(this.#store.read(storeLookup(extensionId, bundleHash)), extensionId);
    if (kept !== undefined) this.#reports.set(key, kept);
    return kept;
  }

  set(extensionId: string, bundleHash: string, report: ExtensionReport): void {
    this.#reports.set(`${extensionId}\u0000${bundleHash}`, report);
    this.#store?.write(storeLookup(extensionId, bundleHash), Buffer.from(JSON.stringify(report), 'utf8'));
  }
}

let fingerprint: string | undefined;
/** This scanner: every file of its folder (rules, analysis) and its parser's version. */
function scannerFingerprint(): string {
  if (fingerprint === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    const h = createHash('sha256');
    const files = readdirSync(here, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    for (const f of files.map((d) => join(d.parentPath, d.name)).sort())
      h.update(`\u0000${f.slice(here.length)}\u0000`).update(readFileSync(f));
    const parser = fileURLToPath(import.meta.resolve('oxc-parser'));
    h.update(readFileSync(join(dirname(parser), '..', 'package.json')));
    fingerprint = h.digest('hex');
  }
  return fingerprint;
}

function storeLookup(extensionId: string, bundleHash: string): string {
  return `scan-verdict\u0000${scannerFingerprint()}\u0000${extensionId}\u0000${bundleHash}`;
}

const CLASSES = new Set<string>(CLASSIFICATIONS);

/** A kept report, only if it has the shape the gate reads (its id, a known verdict, findings, capabilities). */
function keptReport(bytes: Uint8Array | undefined, extensionId: string): ExtensionReport | undefined {
  if (bytes === undefined) return undefined;
  try {
    const r = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ExtensionReport>;
    if (r.id !== extensionId || typeof r.verdict !== 'string' || !CLASSES.has(r.verdict)) return undefined;
    if (!Array.isArray(r.findings) || !Array.isArray(r.capabilities) || !Array.isArray(r.files)) return undefined;
    const findings = r.findings as readonly Partial<Finding>[];
    if (!findings.every((f) => typeof f.ruleId === 'string' && typeof f.classification === 'string' && CLASSES.has(f.classification)))
      return undefined;
    // A forbidden finding under any other verdict is a report the scanner never makes.
    if (findings.some((f) => f.classification === 'forbidden') && r.verdict !== 'forbidden') return undefined;
    return r as ExtensionReport;
  } catch {
    return undefined;
  }
}

export interface ScanGateResult {
  readonly report: ExtensionReport;
  /** True when the report came from the cache (the same bundle was scanned before). */
  readonly cached: boolean;
}

/**
 * The one load gate (probe, bridge, launcher): the extension's scan report for this bundle (from the cache, else
 * a fresh scan), then `assertScanAllowsLoad`. The override is read from the policy every time, never cached, so
 * removing `allowForbiddenScan` takes effect on the next load. Throws `denied` (reason `scan_forbidden`).
 */
export function scanBeforeLoad(
  extension: LocatedExtension,
  bundleHash: string,
  policy: Pick<ResolvedPolicy, 'allowForbiddenScan'>,
  cache: ScanVerdictCache,
): ScanGateResult {
  const hit = cache.get(extension.id, bundleHash);
  const report = hit ?? scanLocated(extension);
  if (hit === undefined) cache.set(extension.id, bundleHash, report);
  assertScanAllowsLoad(report, policy, extension.id);
  return { report, cached: hit !== undefined };
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
  // What the bridge makes for every extension (PACED_BY_PI) shows in no scan and proves no evasion.
  if (PACED_BY_PI.has(method)) return undefined;
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
