/**
 * Ledger entries (SPEC §6.2) and their canonical encoding (docs/ledger-format.md).
 *
 * The canonical text is compact JSON with keys in sorted order. `ledger_hash` = SHA-256(0x00 ‖ text) — the
 * RFC 6962 leaf hash of the entry — where the text includes `prev_ledger_hash` and `seq` but not
 * `ledger_hash`. The recording process builds the parts it knows (everything but seq and prev) and the writer
 * that owns the chain splices those two in, so several processes can append to one chain.
 */
import { canonicalJson } from './canonical.ts';

export const LEDGER_ENTRY_KEYS = [
  'args_shape_hash',
  'call_id',
  'capability',
  'config_hash',
  'decision',
  'declared_capability',
  'error_code',
  'extension_id',
  'method',
  'params_hash',
  'prev_ledger_hash',
  'reason_codes',
  'risk_score',
  'rule',
  'seq',
  'stage',
  'ts_ms',
] as const;

/**
 * The reason code of an outcome entry: an allowed call's decision is an entry before its operation runs, and when
 * the operation then fails (io, timeout, a result over quota, a kill meanwhile), a second entry with the same
 * call_id, stage `execute` and this code records how it ended. It is an outcome, not a decision: replay skips it.
 */
export const OUTCOME_REASON = 'outcome_after_allow';
export const OUTCOME_REASONS = [OUTCOME_REASON] as const;
declare module '../errors.ts' {
  interface ReasonVocabularies {
    outcome: typeof OUTCOME_REASON;
  }
}

/**
 * The stage of an operator action's entry (an incident workflow step: contain, collect, ...): no hostcall, so
 * nothing to recompute; it is in the chain so the action is covered by the signed checkpoints. Replay skips it.
 */
export const OPERATOR_STAGE = 'operator';
/** The reason code of an operator action's entry. */
export const OPERATOR_REASONS = ['incident_step'] as const;
declare module '../errors.ts' {
  interface ReasonVocabularies {
    operator: (typeof OPERATOR_REASONS)[number];
  }
}

export interface LedgerEntry {
  readonly seq: number;
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly call_id: string;
  readonly method: string;
  readonly capability: string | null;
  readonly declared_capability: string | null;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly rule: string | null;
  readonly stage: string | null;
  readonly error_code: string | null;
  readonly reason_codes: readonly string[];
  readonly params_hash: string;
  readonly args_shape_hash: string;
  readonly risk_score: number | null;
  readonly config_hash: string | null;
  readonly prev_ledger_hash: string | null;
  readonly ledger_hash: string;
}

export type EntryBody = Omit<LedgerEntry, 'seq' | 'prev_ledger_hash' | 'ledger_hash'>;

const s = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));

/**
 * The body as three pieces around the two spliced fields, joined by U+0001 (which never occurs in JSON text,
 * control characters being escaped): `{…params_hash,` ␁ `reason_codes…rule,` ␁ `stage…}`.
 */
export function encodeBodyParts(b: EntryBody): string {
  const head =
    `{"args_shape_hash":${s(b.args_shape_hash)},"call_id":${s(b.call_id)},"capability":${s(b.capability)},` +
    `"config_hash":${s(b.config_hash)},"decision":${s(b.decision)},"declared_capability":${s(b.declared_capability)},` +
    `"error_code":${s(b.error_code)},"extension_id":${s(b.extension_id)},"method":${s(b.method)},"params_hash":${s(b.params_hash)},`;
  const mid = `"reason_codes":${canonicalJson(b.reason_codes)},"risk_score":${b.risk_score === null ? 'null' : canonicalJson(b.risk_score)},"rule":${s(b.rule)},`;
  const tail = `"stage":${s(b.stage)},"ts_ms":${canonicalJson(b.ts_ms)}}`;
  return `${head}\u0001${mid}\u0001${tail}`;
}

/** Splices seq and prev into the parts: the canonical text that is hashed and stored. */
export function spliceEntry(parts: string, seq: number, prev: string | null): string {
  const a = parts.indexOf('\u0001');
  const b = parts.indexOf('\u0001', a + 1);
  return `${parts.slice(0, a)}"prev_ledger_hash":${prev === null ? 'null' : `"${prev}"`},${parts.slice(a + 1, b)}"seq":${seq},${parts.slice(b + 1)}`;
}

/** Canonical text of a full entry (without ledger_hash), from its fields: what a verifier recomputes. */
export function canonicalEntryText(e: Omit<LedgerEntry, 'ledger_hash'>): string {
  return spliceEntry(encodeBodyParts(e), e.seq, e.prev_ledger_hash);
}

/** Full parse of a stored entry, with its stored hash, for replay and export. */
export function parseEntry(text: string, ledgerHash: string): LedgerEntry {
  const v = JSON.parse(text) as Omit<LedgerEntry, 'ledger_hash'>;
  return { ...v, ledger_hash: ledgerHash };
}
