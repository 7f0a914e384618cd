/** Shapes of scanner results (SPEC §8.1): findings per file, verdict and capabilities per extension. */
import type { Capability } from '../policy/index.ts';
import type { Classification, Confidence } from './rules.ts';

export interface Finding {
  readonly ruleId: string;
  readonly message: string;
  /** Path as shown to the operator (relative to the scanned target when possible). */
  readonly file: string;
  /** 1-based line and column (column in UTF-16 code units, as editors count). */
  readonly line: number;
  readonly column: number;
  readonly capability: Capability | null;
  readonly confidence: Confidence;
  readonly classification: Exclude<Classification, 'safe'>;
  /** Decoding steps that led to this finding, outermost first (e.g. `base64`, `eval-argument`). */
  readonly via?: readonly string[];
}

export interface CapabilityEvidence {
  readonly capability: Capability;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

export interface ExtensionReport {
  /** The extension id (`locateExtensions`): what `overrides.<id>` and the runtime name it. */
  readonly id: string;
  readonly target: string;
  readonly verdict: Classification;
  readonly findings: readonly Finding[];
  /** Capabilities the extension needs, in CAPABILITIES order, each with its evidence. */
  readonly capabilities: readonly { capability: Capability; evidence: readonly CapabilityEvidence[] }[];
  readonly files: readonly string[];
  readonly bytes: number;
}
