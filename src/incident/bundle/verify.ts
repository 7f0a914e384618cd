/**
 * `bundle verify` and `bundle disclose` over files: the recomputation lives in evidence/bundle; here the key is read,
 * and, when the installation's store is at hand, the original values of the redacted fields are gathered so verify
 * can check that none of them appears anywhere in the file.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import {
  canonicalJson,
  DB_FILE,
  keyPath,
  leafHash,
  loadOrCreateKey,
  openDatabaseReadOnly,
  parseEntry,
  storedEntries,
} from '../../evidence/index.ts';
import {
  isCommitment,
  opens,
  REDACTED_FIELDS,
  redactionKey,
  ROW_SECTIONS,
  saltOf,
  verifyBundleText,
  type BundleEntry,
  type BundleFailure,
  type BundleVerification,
  type RedactionClass,
  type RowSection,
} from '../../evidence/index.ts';

export interface VerifyBundleOptions {
  /** PEM text or a PEM file: the key the bundle must be signed with. */
  readonly publicKey?: string;
  /** The installation's home: its store's originals of every redacted field are searched for in the file. */
  readonly home?: string;
}

export interface VerifyBundleResult extends BundleVerification {
  readonly failures: BundleFailure[];
  /** How many original values were searched for (0 without a store). */
  readonly raw_values_checked: number;
}

function readKey(k: string): KeyObject {
  try {
    return createPublicKey(k.includes('-----BEGIN') ? k : readFileSync(k, 'utf8'));
  } catch (err) {
    throw new WardenError(
      'usage',
      `public key ${k.includes('-----BEGIN') ? '(PEM text)' : k}: expected a PEM public key (${(err as Error).message})`,
    );
  }
}

function readBundle(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('io', `${file}: cannot read the bundle (${(err as Error).message})`, { where: file, cause: err });
  }
}

export async function verifyBundle(file: string, opts: VerifyBundleOptions = {}): Promise<VerifyBundleResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WardenError('io', `${file}: cannot read the bundle (${(err as Error).message})`, { where: file, cause: err });
  }
  const publicKey = opts.publicKey === undefined ? undefined : readKey(opts.publicKey);
  let classes: RedactionClass[] = [];
  try {
    classes = ((JSON.parse(text) as { sections?: { meta?: { redaction?: RedactionClass[] } } }).sections?.meta?.redaction ?? []).filter(
      (c) => c in REDACTED_FIELDS,
    );
  } catch {
    // verifyBundleText reports the parse error
  }
  const rawValues = opts.home !== undefined && classes.length > 0 ? originals(opts.home, classes) : undefined;
  const r = verifyBundleText(text, {
    ...(publicKey === undefined ? {} : { publicKey }),
    ...(rawValues === undefined ? {} : { rawValues }),
  });
  return { ...r, failures: [...r.failures], raw_values_checked: rawValues?.length ?? 0 };
}

/** Every stored value of every field the classes redact (the store is opened read-only). */
function originals(home: string, classes: readonly RedactionClass[]): string[] {
  if (!existsSync(join(home, DB_FILE))) return [];
  const db = openDatabaseReadOnly(home);
  try {
    const out = new Set<string>();
    const fields = classes.flatMap((c) => REDACTED_FIELDS[c]);
    const ledgerFields = fields.filter(([s]) => s === 'ledger').map(([, f]) => f);
    if (ledgerFields.length > 0)
      for (const row of storedEntries(db)) {
        const e = JSON.parse(row.entry) as Record<string, unknown>;
        for (const f of ledgerFields) if (typeof e[f] === 'string') out.add(e[f]);
      }
    for (const [s, f] of fields) {
      if (s === 'ledger') continue;
      for (const r of db.prepare(`SELECT ${f} AS v FROM ${s}`).all() as Array<{ v: unknown }>) if (typeof r.v === 'string') out.add(r.v);
    }
    return [...out];
  } finally {
    db.close();
  }
}

export interface Disclosure {
  readonly section: string;
  readonly entry: string;
  readonly field: string;
  readonly value: unknown;
  /** Hex; SHA-256(salt ‖ JCS(value)) must equal the commitment. */
  readonly salt: string;
  readonly commitment: string;
  readonly opens: boolean;
  /** Ledger entries: with every redacted field disclosed, does the entry hash to its leaf hash? null while some stay hidden. */
  readonly leaf_hash_matches: boolean | null;
}

/**
 * Reveals one redacted field of a bundle: its value from the store and its salt from the installation's key.
 * `entry` is `seq N` for the ledger, the row's `id` (alerts: `seq`) for the other sections.
 */
export function discloseField(opts: { home: string; file: string; section: string; entry: string; field: string }): Disclosure {
  const doc = JSON.parse(readBundle(opts.file)) as { sections: Record<string, unknown> };
  const section = opts.section;
  if (section !== 'ledger' && !(ROW_SECTIONS as readonly string[]).includes(section))
    throw new WardenError('usage', `--section ${section}: expected ledger or one of ${ROW_SECTIONS.join(', ')}`);
  const n = Number(/^(?:seq |id )?(\d+)$/.exec(opts.entry)?.[1] ?? NaN);
  if (!Number.isSafeInteger(n)) throw new WardenError('usage', `--entry ${opts.entry}: expected a seq or row id (a number)`);
  const rows = (section === 'ledger' ? (doc.sections['ledger'] as { entries: BundleEntry[] }).entries : doc.sections[section]) as Array<
    Record<string, unknown>
  >;
  const idField = section === 'ledger' || section === 'alerts' ? 'seq' : 'id';
  const row = rows.find((r) => r[idField] === n);
  if (row === undefined) throw new WardenError('usage', `${section} ${idField} ${n}: expected a row of the bundle, found none`);
  const c = row[opts.field];
  if (!isCommitment(c))
    throw new WardenError(
      'usage',
      `${section} ${idField} ${n} ${opts.field}: expected a redacted field (a commitment), found a plain value`,
    );
  if (!existsSync(keyPath(opts.home)))
    throw new WardenError('usage', `${keyPath(opts.home)}: disclosure needs the installation's key, found none`);
  const k = redactionKey(loadOrCreateKey(opts.home));
  const db = openDatabaseReadOnly(opts.home);
  let value: unknown;
  let storedEntry: Record<string, unknown> | undefined;
  try {
    if (section === 'ledger') {
      for (const s of storedEntries(db, n))
        if (s.seq === n) storedEntry = parseEntry(s.entry, s.ledger_hash) as unknown as Record<string, unknown>;
      value = storedEntry?.[opts.field];
    } else value = storedRow(db, section as RowSection, idField, n, opts.field);
  } finally {
    db.close();
  }
  if (value === undefined) throw new WardenError('io', `${section} ${idField} ${n}: the store no longer holds it (pruned?)`);
  const salt = saltOf(k, `${section}.${opts.field}`, value);
  const ok = opens(c, salt.toString('hex'), value);
  let leaf: boolean | null = null;
  if (section === 'ledger') {
    const { ledger_hash: stated, ...body } = { ...row, [opts.field]: value } as BundleEntry;
    if (!Object.values(body).some(isCommitment)) leaf = leafHash(canonicalJson(body)) === stated;
  }
  return {
    section,
    entry: `${idField} ${n}`,
    field: opts.field,
    value,
    salt: salt.toString('hex'),
    commitment: c.commitment,
    opens: ok,
    leaf_hash_matches: leaf,
  };
}

function storedRow(db: DatabaseSync, table: RowSection, idField: string, id: number, field: string): unknown {
  const cols = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((c) => c.name);
  if (!cols.includes(field)) throw new WardenError('usage', `${table}.${field}: expected one of ${cols.join(', ')}`);
  return (db.prepare(`SELECT ${field} AS v FROM ${table} WHERE ${idField} = ?`).get(id) as { v: unknown } | undefined)?.v;
}
