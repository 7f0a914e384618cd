/**
 * What the workflow needs from the evidence side, injected so the workflow does not depend on how a bundle is
 * built: `collect` exports the evidence bundle and snapshots the configuration, `verify` checks the bundle and the
 * ledger. The CLI wires src/incident/evidenceTools.ts: the evidence bundle's exporter and verifier (issue 20).
 */
import type { KeyObject } from 'node:crypto';
import type { VerificationReport } from '../../evidence/index.ts';

export interface BundleExportOptions {
  readonly home: string;
  readonly out: string;
  readonly start?: number;
  readonly end?: number;
  readonly extension?: string;
  readonly category?: string;
  readonly minSeverity?: string;
  readonly redact?: string[];
  readonly onProgress?: (done: number, total: number) => void;
  readonly commandLine?: string[];
}

export interface BundleExport {
  readonly path: string;
  readonly bundleHash: string;
  readonly fileSha256: string;
  readonly entries: number;
}

export interface BundleCheck {
  readonly ok: boolean;
  readonly failures: ReadonlyArray<{
    readonly section: string;
    readonly entry?: unknown;
    readonly reason: string;
    readonly detail: string;
  }>;
}

export interface ConfigSnapshot {
  readonly path: string;
  readonly sha256: string;
}

export interface EvidenceTools {
  exportBundle(opts: BundleExportOptions): Promise<BundleExport>;
  /** `home`: the store whose original values of redacted fields must not appear in the file. */
  verifyBundle(file: string, opts?: { publicKey?: KeyObject; home?: string }): Promise<BundleCheck>;
  /** Writes the configuration as it is now (policy explanation, settings files' hashes) into `out`. */
  snapshotConfig(opts: {
    home: string;
    out: string;
    extension?: string;
    cwd?: string;
    env?: Readonly<Record<string, string | undefined>>;
  }): ConfigSnapshot;
  /** The ledger's verification report (`pi-warden ledger verify`), read-only. */
  verifyLedger(home: string): VerificationReport;
}
