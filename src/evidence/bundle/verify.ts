/**
 * `bundle verify` (SPEC §6.8, the runbook's verification steps) by recomputation only: no flag or count the file
 * states is believed. Every failure names the section, the entry and what differed; the checks and their reasons
 * are listed in docs/bundle-format.md, "Verification".
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../canonical.ts';
import { checkpointSignatureValid, pruneSignatureValid, type Checkpoint, type PruneRecord } from '../checkpoint.ts';
import { keyIdOf } from '../keys.ts';
import { leafHash } from '../merkle.ts';
import { openEnvelope } from './dsse.ts';
import {
  BUNDLE_SCHEMA,
  isCommitment,
  isRedactionClass,
  PREDICATE_TYPE,
  REDACTED_FIELDS,
  ROW_SECTIONS,
  SECTIONS,
  STATEMENT_TYPE,
  summarise,
  type BundleEntry,
  type BundleFailure,
  type BundleReason,
  type DsseEnvelope,
  type GapsSection,
  type LedgerSection,
  type RedactionClass,
} from './format.ts';
import { consistencyHolds, rootFromMultiProof } from './proofs.ts';

export interface BundleVerifyOptions {
  /** The key the bundle must be signed with. Without it, the key the file carries is used: that proves integrity, not origin. */
  readonly publicKey?: KeyObject;
  /** Values that must not appear anywhere in a redacted file (the originals of its redacted fields, secret values). */
  readonly rawValues?: readonly string[];
}

export interface BundleVerification {
  readonly ok: boolean;
  readonly bundle_hash: string | null;
  readonly key_id: string | null;
  /** `given`: the caller named the key; `embedded`: the file's own key was used (origin not established). */
  readonly key_source: 'given' | 'embedded' | null;
  readonly entries: number;
  readonly redaction: readonly RedactionClass[];
  readonly failures: readonly BundleFailure[];
}

/** SHA-256 over the canonical sections: the bundle hash. */
export function bundleHashOf(sections: unknown): string {
  return createHash('sha256').update(canonicalJson(sections)).digest('hex');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fails closed: a file shaped so that a check throws is reported as malformed, never as verified. */
export function verifyBundleText(text: string, options: BundleVerifyOptions = {}): BundleVerification {
  try {
    return verifyUnguarded(text, options);
  } catch (err) {
    return {
      ok: false,
      bundle_hash: null,
      key_id: null,
      key_source: null,
      entries: 0,
      redaction: [],
      failures: [
        {
          section: 'bundle',
          reason: 'malformed',
          detail: `expected the structure of docs/bundle-format.md, found one a check could not read (${(err as Error).message})`,
        },
      ],
    };
  }
}

function verifyUnguarded(text: string, options: BundleVerifyOptions): BundleVerification {
  const failures: BundleFailure[] = [];
  const fail = (section: string, reason: BundleReason, detail: string, entry?: string): void => {
    failures.push(entry === undefined ? { section, reason, detail } : { section, entry, reason, detail });
  };
  const result = (extra: Partial<BundleVerification> = {}): BundleVerification => ({
    ok: failures.length === 0,
    bundle_hash: null,
    key_id: null,
    key_source: null,
    entries: 0,
    redaction: [],
    failures,
    ...extra,
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    fail('bundle', 'malformed', `expected JSON, found a parse error (${(err as Error).message})`);
    return result();
  }
  if (!isObject(doc)) {
    fail('bundle', 'malformed', 'expected a JSON object at the top');
    return result();
  }
  if (doc['schema'] !== BUNDLE_SCHEMA)
    fail('bundle', 'schema_mismatch', `expected schema ${BUNDLE_SCHEMA}, found ${JSON.stringify(doc['schema'])}`);
  const sections = doc['sections'];
  if (!isObject(sections)) {
    fail('sections', 'section_missing', 'expected an object of sections, found none');
    return result();
  }
  const missing = SECTIONS.filter((s) => !(s in sections));
  for (const s of missing) fail(s, 'section_missing', `expected section ${s}, found none`);
  const extra = Object.keys(sections).filter((s) => !(SECTIONS as readonly string[]).includes(s));
  for (const s of extra) fail(s, 'malformed', `expected only the sections ${SECTIONS.join(', ')}, found ${s}`);

  const recomputed = bundleHashOf(sections);
  if (doc['bundle_hash'] !== recomputed)
    fail('bundle', 'bundle_hash_mismatch', `stated ${String(doc['bundle_hash'])}, recomputed ${recomputed} over the canonical sections`);

  // The key: the caller's, else the file's own.
  let key: KeyObject | undefined = options.publicKey;
  let embeddedId: string | null = null;
  try {
    embeddedId = keyIdOf(createPublicKey(String(doc['public_key'])));
  } catch {
    if (key === undefined) fail('bundle', 'malformed', 'expected a PEM public key in public_key, found none readable');
  }
  if (key === undefined && embeddedId !== null) key = createPublicKey(String(doc['public_key']));
  const keyId = key === undefined ? null : keyIdOf(key);
  if (options.publicKey !== undefined && embeddedId !== null && embeddedId !== keyId)
    fail('bundle', 'key_mismatch', `expected the bundle to carry key ${String(keyId)}, found key ${embeddedId}`);

  const meta = isObject(sections['meta']) ? sections['meta'] : {};
  const redaction = Array.isArray(meta['redaction']) ? (meta['redaction'] as unknown[]).map(String) : [];
  for (const r of redaction) if (!isRedactionClass(r)) fail('meta', 'malformed', `expected redaction classes, found ${r}`);
  const classes = redaction.filter(isRedactionClass);

  // The signature: DSSE over the Statement, whose subject digest must be the recomputed hash.
  if (key !== undefined && !isObject(doc['envelope'])) fail('envelope', 'signature_invalid', 'expected a DSSE envelope, found none');
  else if (key !== undefined) {
    const opened = openEnvelope(doc['envelope'] as DsseEnvelope, key);
    if ('problem' in opened) fail('envelope', 'signature_invalid', opened.problem);
    else {
      const st = opened.statement as {
        _type?: unknown;
        predicateType?: unknown;
        subject?: Array<{ digest?: { sha256?: unknown } }>;
        predicate?: { generated_at_ms?: unknown };
      };
      const digest = st.subject?.[0]?.digest?.sha256;
      if (st._type !== STATEMENT_TYPE || st.predicateType !== PREDICATE_TYPE)
        fail(
          'envelope',
          'statement_mismatch',
          `expected an in-toto ${STATEMENT_TYPE} with predicate ${PREDICATE_TYPE}, found ${String(st._type)} / ${String(st.predicateType)}`,
        );
      if (digest !== recomputed)
        fail('envelope', 'statement_mismatch', `the signed subject digest is ${String(digest)}, the sections hash to ${recomputed}`);
      if (st.predicate?.generated_at_ms !== meta['generated_at_ms'])
        fail(
          'envelope',
          'statement_mismatch',
          `signed generated_at_ms ${String(st.predicate?.generated_at_ms)}, meta says ${String(meta['generated_at_ms'])}`,
        );
    }
  }

  let entries = 0;
  if (isObject(sections['ledger'])) entries = verifyLedgerSection(sections['ledger'] as unknown as LedgerSection, classes, key, fail);
  if (isObject(sections['gaps']) && key !== undefined) {
    const prunes = (sections['gaps'] as unknown as GapsSection).prunes;
    if (!Array.isArray(prunes)) fail('gaps', 'malformed', 'expected a list of prune records');
    else
      prunes.forEach((p: PruneRecord, i) => {
        if (!pruneSignatureValid(key, p))
          fail(
            'gaps',
            'prune_signature_invalid',
            `prune record through seq ${String(p.pruned_through_seq)}: signature does not verify with key ${String(keyId)}`,
            `prune ${i}`,
          );
      });
  }
  for (const name of ROW_SECTIONS) {
    const rows = sections[name];
    if (!(name in sections)) continue;
    if (!Array.isArray(rows) || !rows.every(isObject)) {
      fail(name, 'malformed', 'expected a list of objects');
      continue;
    }
    checkRedaction(name, rows, classes, (i) => `row ${i}`, fail);
  }

  if (missing.length === 0 && !failures.some((f) => f.reason === 'malformed')) {
    let recount: Record<string, unknown> | undefined;
    try {
      recount = summarise(sections) as unknown as Record<string, unknown>;
    } catch (err) {
      fail('summary', 'malformed', `the sections cannot be counted (${(err as Error).message})`);
    }
    const stated = isObject(sections['summary']) ? sections['summary'] : {};
    if (recount !== undefined)
      for (const k of new Set([...Object.keys(recount), ...Object.keys(stated)]))
        if (canonicalJson(recount[k] ?? null) !== canonicalJson(stated[k] ?? null))
          fail(
            'summary',
            'summary_mismatch',
            `${k}: stated ${canonicalJson(stated[k] ?? null)}, counted ${canonicalJson(recount[k] ?? null)}`,
          );
  }

  if (classes.length > 0 && options.rawValues !== undefined)
    for (const v of new Set(options.rawValues))
      if (v.length >= 8 && text.includes(v))
        fail('bundle', 'raw_value_present', `a redacted bundle holds a raw value (${v.slice(0, 4)}…, ${v.length} characters)`);

  return result({
    bundle_hash: recomputed,
    key_id: keyId,
    key_source: key === undefined ? null : options.publicKey !== undefined ? 'given' : 'embedded',
    entries,
    redaction: classes,
  });
}

type Fail = (section: string, reason: BundleReason, detail: string, entry?: string) => void;

/** Redacted fields must be commitments; commitments anywhere else are not allowed (they would hide a value unchecked). */
function checkRedaction(
  section: 'ledger' | (typeof ROW_SECTIONS)[number],
  rows: ReadonlyArray<Record<string, unknown>>,
  classes: readonly RedactionClass[],
  label: (i: number) => string,
  fail: Fail,
): void {
  const redacted = new Set(classes.flatMap((c) => REDACTED_FIELDS[c].filter(([s]) => s === section).map(([, f]) => f)));
  rows.forEach((row, i) => {
    for (const [field, value] of Object.entries(row)) {
      if (redacted.has(field) && !isCommitment(value))
        fail(section, 'raw_value_present', `${field}: expected a commitment (redacted), found a plain value`, label(i));
      else if (!redacted.has(field) && isObject(value) && 'commitment' in value)
        fail(section, 'commitment_invalid', `${field}: a commitment in a field this bundle does not redact`, label(i));
    }
  });
}

function verifyLedgerSection(ledger: LedgerSection, classes: readonly RedactionClass[], key: KeyObject | undefined, fail: Fail): number {
  const entries = ledger.entries;
  const checkpoints = ledger.checkpoints;
  if (
    !Array.isArray(entries) ||
    !Array.isArray(checkpoints) ||
    !Array.isArray(ledger.inclusion_proof) ||
    !Array.isArray(ledger.consistency)
  ) {
    fail('ledger', 'malformed', 'expected entries, inclusion_proof, checkpoints and consistency lists');
    return 0;
  }
  const label = (i: number): string => `seq ${String((entries[i] as BundleEntry | undefined)?.seq)}`;
  checkRedaction('ledger', entries as Array<Record<string, unknown>>, classes, label, fail);
  const leaves: Array<[number, string]> = [];
  let ordered = true;
  entries.forEach((e: BundleEntry, i) => {
    if (!isObject(e) || !Number.isSafeInteger(e.seq) || typeof e.ledger_hash !== 'string') {
      fail('ledger', 'malformed', 'expected an entry with an integer seq and a ledger_hash', `entry ${i}`);
      ordered = false;
      return;
    }
    const prev = entries[i - 1] as BundleEntry | undefined;
    if (prev !== undefined && !(e.seq > prev.seq)) {
      fail('ledger', 'entry_order', `expected seq after ${prev.seq}, found ${e.seq}`, label(i));
      ordered = false;
    }
    const { ledger_hash: stated, ...body } = e;
    // A redacted entry's leaf cannot be recomputed without the value: its fields are bound by the signature alone.
    if (!Object.values(body).some(isCommitment)) {
      const got = leafHash(canonicalJson(body));
      if (got !== stated)
        fail('ledger', 'entry_hash_mismatch', `stated leaf hash ${stated}, recomputed ${got} from the entry's fields`, label(i));
    }
    leaves.push([e.seq - 1, stated]);
  });
  let last: Checkpoint | undefined;
  checkpoints.forEach((c: Checkpoint, i) => {
    if (key !== undefined && !checkpointSignatureValid(key, c))
      fail(
        'ledger',
        'checkpoint_signature_invalid',
        `checkpoint of tree size ${c.tree_size}: signature does not verify with key ${keyIdOf(key)}`,
        `checkpoint ${i}`,
      );
    if (last !== undefined) {
      const proof = ledger.consistency[i - 1];
      if (!Array.isArray(proof) || !consistencyHolds(last.tree_size, c.tree_size, last.root_hash, c.root_hash, proof))
        fail(
          'ledger',
          'consistency_invalid',
          `checkpoint ${i - 1} (size ${last.tree_size}) is not shown to be a prefix of checkpoint ${i} (size ${c.tree_size})`,
          `checkpoint ${i}`,
        );
    }
    last = c;
  });
  if (checkpoints.length > 0 && ledger.consistency.length !== checkpoints.length - 1)
    fail('ledger', 'consistency_invalid', `expected ${checkpoints.length - 1} consistency proofs, found ${ledger.consistency.length}`);
  if (entries.length === 0) return 0;
  if (last === undefined) {
    fail('ledger', 'proof_invalid', 'expected a signed checkpoint to prove the entries against, found none');
    return entries.length;
  }
  if (last.tree_size !== ledger.tree_size)
    fail('ledger', 'proof_invalid', `expected tree_size ${last.tree_size} (the last checkpoint's), found ${ledger.tree_size}`);
  if (!ordered) return entries.length;
  const r = rootFromMultiProof(last.tree_size, leaves, ledger.inclusion_proof);
  if ('problem' in r) fail('ledger', 'proof_invalid', r.problem);
  else if (r.root !== last.root_hash)
    fail(
      'ledger',
      'proof_invalid',
      `the entries and proof give root ${r.root}, the checkpoint of size ${last.tree_size} signs ${last.root_hash}`,
    );
  return entries.length;
}
