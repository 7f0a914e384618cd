/**
 * The incident evidence bundle's format (SPEC §6.7–6.8, docs/bundle-format.md is normative): its schema name, its
 * sections, which fields each redaction class covers, the summary both exporter and verifier compute, and the
 * reasons a verification can fail for. One home for each, read by export and verify alike.
 */
import type { Checkpoint, PruneRecord } from '../checkpoint.ts';

export const BUNDLE_SCHEMA = 'pi.security.incident_evidence_bundle.v1';
/** DSSE payload type of the in-toto Statement, and the Statement's own type and predicate type. */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://pi-warden.dev/incident-evidence-bundle/v1';

/** Every section, in the order docs/bundle-format.md lists them; all are required. */
export const SECTIONS = [
  'meta',
  'custody',
  'ledger',
  'alerts',
  'telemetry',
  'exec_log',
  'secret_broker_log',
  'quota_breaches',
  'trust_transitions',
  'risk_replay',
  'policy',
  'gaps',
  'summary',
] as const;
export type SectionName = (typeof SECTIONS)[number];

/** Sections that are lists of rows (each row a JSON object). */
export const ROW_SECTIONS = ['alerts', 'telemetry', 'exec_log', 'secret_broker_log', 'quota_breaches', 'trust_transitions'] as const;
export type RowSection = (typeof ROW_SECTIONS)[number];

/** Redaction classes (`--redact`), SPEC §6.7's six. */
export const REDACTION_CLASSES = ['params', 'context', 'args_shape', 'command', 'name', 'remediation'] as const;
export type RedactionClass = (typeof REDACTION_CLASSES)[number];

/** Which fields of which rows each class replaces by a commitment. `ledger` means the ledger's entries. */
export const REDACTED_FIELDS: Readonly<Record<RedactionClass, ReadonlyArray<readonly ['ledger' | RowSection, string]>>> = {
  params: [
    ['ledger', 'params_hash'],
    ['telemetry', 'params_hash'],
  ],
  args_shape: [
    ['ledger', 'args_shape_hash'],
    ['telemetry', 'args_shape_hash'],
  ],
  context: [['alerts', 'summary']],
  command: [['exec_log', 'command_hash']],
  name: [['secret_broker_log', 'name_hash']],
  remediation: [['alerts', 'remediation']],
};

export function isRedactionClass(v: string): v is RedactionClass {
  return (REDACTION_CLASSES as readonly string[]).includes(v);
}

/** A redacted value: SHA-256(salt ‖ JCS(value)) in hex (commitments.ts). */
export interface Commitment {
  readonly commitment: string;
}

export function isCommitment(v: unknown): v is Commitment {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.keys(v).length === 1 &&
    typeof (v as { commitment?: unknown }).commitment === 'string' &&
    /^[0-9a-f]{64}$/.test((v as Commitment).commitment)
  );
}

/** A ledger entry in a bundle: the stored entry's fields (some maybe commitments), its leaf hash and leaf index. */
export type BundleEntry = Record<string, unknown> & { readonly seq: number; readonly ledger_hash: string };

export interface LedgerSection {
  /** Tree size of the checkpoint the entries are proved against (the last of `checkpoints`). */
  readonly tree_size: number;
  readonly entries: readonly BundleEntry[];
  /** Multi-leaf inclusion proof nodes (proofs.ts), leaf index = seq − 1. */
  readonly inclusion_proof: readonly string[];
  /** Signed checkpoints, increasing tree size; the last is the one the entries are proved against. */
  readonly checkpoints: readonly Checkpoint[];
  /** consistency[i] proves checkpoints[i] is a prefix of checkpoints[i+1] (RFC 6962 §2.1.2). */
  readonly consistency: ReadonlyArray<readonly string[]>;
}

export interface GapsSection {
  /** Signed prune records: entries with seq ≤ pruned_through_seq were removed from the store before export. */
  readonly prunes: readonly PruneRecord[];
  /** Entries written after the last signed checkpoint: not in the bundle, they have no checkpoint to prove against. */
  readonly unsigned_tail: { readonly from_seq: number; readonly to_seq: number } | null;
  /** Store rows that could not be read (an entry that does not parse, a chunk verify rejects). */
  readonly unreadable: ReadonlyArray<{ readonly section: string; readonly detail: string }>;
}

export interface Summary {
  readonly ledger_entries: number;
  readonly decisions: { readonly allow: number; readonly deny: number; readonly error: number };
  readonly alerts: number;
  readonly alerts_by_severity: Readonly<Record<string, number>>;
  readonly telemetry: number;
  readonly exec_log: number;
  readonly secret_broker_log: number;
  readonly quota_breaches: number;
  readonly trust_transitions: number;
  readonly checkpoints: number;
  readonly prunes: number;
  /** Distinct extension ids over the ledger entries and every row section. */
  readonly extensions: number;
}

/** The summary of a bundle's sections: computed by the exporter, recomputed by verify. */
export function summarise(sections: Readonly<Record<string, unknown>>): Summary {
  const ledger = sections['ledger'] as LedgerSection;
  const rows = (name: RowSection): ReadonlyArray<Record<string, unknown>> => sections[name] as ReadonlyArray<Record<string, unknown>>;
  const decisions = { allow: 0, deny: 0, error: 0 };
  const extensions = new Set<string>();
  for (const e of ledger.entries) {
    const d = e['decision'];
    if (d === 'allow' || d === 'deny' || d === 'error') decisions[d]++;
    extensions.add(String(e['extension_id']));
  }
  const bySeverity: Record<string, number> = {};
  for (const a of rows('alerts')) {
    const s = String(a['severity']);
    bySeverity[s] = (bySeverity[s] ?? 0) + 1;
  }
  for (const name of ROW_SECTIONS) for (const r of rows(name)) extensions.add(String(r['extension_id']));
  return {
    ledger_entries: ledger.entries.length,
    decisions,
    alerts: rows('alerts').length,
    alerts_by_severity: bySeverity,
    telemetry: rows('telemetry').length,
    exec_log: rows('exec_log').length,
    secret_broker_log: rows('secret_broker_log').length,
    quota_breaches: rows('quota_breaches').length,
    trust_transitions: rows('trust_transitions').length,
    checkpoints: ledger.checkpoints.length,
    prunes: (sections['gaps'] as GapsSection).prunes.length,
    extensions: extensions.size,
  };
}

/** The file: sections, their hash, the signed Statement over that hash, and the signer's public key (not trusted). */
export interface BundleDocument {
  readonly schema: typeof BUNDLE_SCHEMA;
  readonly bundle_hash: string;
  readonly sections: Readonly<Record<SectionName, unknown>>;
  readonly envelope: DsseEnvelope;
  readonly public_key: string;
}

export interface DsseEnvelope {
  readonly payloadType: string;
  /** base64 of the in-toto Statement's JSON. */
  readonly payload: string;
  readonly signatures: ReadonlyArray<{ readonly keyid: string; readonly sig: string }>;
}

/** Why a bundle fails verification (closed: docs/bundle-format.md lists each with the check that gives it). */
export const BUNDLE_REASONS = [
  'malformed',
  'schema_mismatch',
  'section_missing',
  'bundle_hash_mismatch',
  'signature_invalid',
  'statement_mismatch',
  'key_mismatch',
  'entry_hash_mismatch',
  'entry_order',
  'proof_invalid',
  'checkpoint_signature_invalid',
  'consistency_invalid',
  'prune_signature_invalid',
  'summary_mismatch',
  'commitment_invalid',
  'raw_value_present',
] as const;
export type BundleReason = (typeof BUNDLE_REASONS)[number];

export interface BundleFailure {
  readonly section: string;
  readonly entry?: string;
  readonly reason: BundleReason;
  readonly detail: string;
}
