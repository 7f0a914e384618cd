/**
 * Generates test/fixtures/bundles/ (sigstore-conformance style): bundles exported from a real store, and `*_fail`
 * variants, one per field a tamperer can touch, each with the reasons verify must give (expected.json). Run
 * `node test/evidence/bundle/generate.ts` to regenerate; the signing key is thrown away, only its public half is kept.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarise, type BundleDocument, type BundleReason } from '../../../src/evidence/bundle/index.ts';
import { exportBundle } from '../../../src/incident/bundle/index.ts';
import { buildIncidentStore, rehash, reseal } from './stores.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/bundles/', import.meta.url));

/** A fixed export time, so regenerated fixtures differ only by key and store timestamps. */
const NOW = Date.parse('2026-12-06T12:00:00Z');

type Edit = (doc: BundleDocument) => void;
interface LooseLedger {
  entries: Array<Record<string, unknown> & { ts_ms: number }>;
  inclusion_proof: string[];
  checkpoints: Array<{ root_hash: string; signature: string }>;
  consistency: string[][];
}
const ledger = (d: BundleDocument): LooseLedger => d.sections.ledger as LooseLedger;
const flipHex = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);
const clone = (d: BundleDocument): BundleDocument => JSON.parse(JSON.stringify(d)) as BundleDocument;

/** name → [source bundle, edit, how it is sealed afterwards, the reasons verify must give]. */
function variants(): Array<[string, 'good' | 'redacted', Edit, 'reseal' | 'rehash' | 'none', BundleReason[]]> {
  return [
    ['entry_text_fail', 'good', (d) => ledger(d).entries[1]!.ts_ms++, 'reseal', ['entry_hash_mismatch']],
    [
      'entry_text_unsealed_fail',
      'good',
      (d) => ledger(d).entries[1]!.ts_ms++,
      'none',
      ['bundle_hash_mismatch', 'statement_mismatch', 'entry_hash_mismatch'],
    ],
    [
      'proof_node_fail',
      'good',
      (d) => (ledger(d).inclusion_proof[0] = flipHex(ledger(d).inclusion_proof[0] as string)),
      'reseal',
      ['proof_invalid'],
    ],
    [
      'checkpoint_root_fail',
      'good',
      (d) => {
        const cps = ledger(d).checkpoints;
        const last = cps[cps.length - 1] as { root_hash: string };
        last.root_hash = flipHex(last.root_hash);
      },
      'reseal',
      ['checkpoint_signature_invalid', 'consistency_invalid', 'proof_invalid'],
    ],
    [
      'checkpoint_signature_fail',
      'good',
      (d) => {
        const cps = ledger(d).checkpoints;
        (cps[0] as { signature: string }).signature = (cps[1] as { signature: string }).signature;
      },
      'reseal',
      ['checkpoint_signature_invalid'],
    ],
    [
      'consistency_proof_fail',
      'good',
      (d) => {
        const c = ledger(d).consistency;
        (c[0] as string[])[0] = flipHex((c[0] as string[])[0] as string);
      },
      'reseal',
      ['consistency_invalid'],
    ],
    [
      'dsse_signature_fail',
      'good',
      (d) => {
        const sig = Buffer.from((d.envelope.signatures[0] as { sig: string }).sig, 'base64');
        sig[0] = (sig[0] as number) ^ 1;
        (d.envelope.signatures[0] as { sig: string }).sig = sig.toString('base64');
      },
      'none',
      ['signature_invalid'],
    ],
    ['summary_count_fail', 'good', (d) => (d.sections.summary as { alerts: number }).alerts++, 'reseal', ['summary_mismatch']],
    ['section_removed_fail', 'good', (d) => delete (d.sections as Record<string, unknown>)['exec_log'], 'reseal', ['section_missing']],
    [
      'entry_removed_fail',
      'good',
      (d) => {
        ledger(d).entries.splice(2, 1);
        (d.sections as Record<string, unknown>)['summary'] = summarise(d.sections);
      },
      'reseal',
      ['proof_invalid'],
    ],
    [
      'entries_reordered_fail',
      'good',
      (d) => {
        const e = ledger(d).entries;
        [e[1], e[2]] = [e[2] as LooseLedger['entries'][number], e[1] as LooseLedger['entries'][number]];
      },
      'reseal',
      ['entry_order'],
    ],
    [
      'prune_record_fail',
      'good',
      (d) => {
        const p = (d.sections.gaps as { prunes: Array<{ pruned_through_seq: number }> }).prunes[0] as { pruned_through_seq: number };
        p.pruned_through_seq++;
      },
      'reseal',
      ['prune_signature_invalid'],
    ],
    [
      'schema_fail',
      'good',
      (d) => ((d as { schema: string }).schema = 'pi.ext.incident_evidence_bundle.v1'),
      'reseal',
      ['schema_mismatch'],
    ],
    [
      // Without the key the swap is caught by the signature over the bundle hash (a swapped commitment also no longer opens with the disclosed salt).
      'redacted_value_swapped_fail',
      'redacted',
      (d) => {
        const e = ledger(d).entries;
        const a = e.find((x) => x['method'] === 'exec') as Record<string, unknown>;
        const b = e.find((x) => x['method'] === 'fs.read') as Record<string, unknown>;
        [a['params_hash'], b['params_hash']] = [b['params_hash'], a['params_hash']];
      },
      'rehash',
      ['statement_mismatch'],
    ],
    [
      'redacted_value_plain_fail',
      'redacted',
      (d) => (((d.sections.alerts as Array<Record<string, unknown>>)[0] as Record<string, unknown>)['remediation'] = 'restart the agent'),
      'reseal',
      ['raw_value_present'],
    ],
  ];
}

export async function generate(dir = FIXTURES): Promise<void> {
  const store = await buildIncidentStore(10, { checkpointEvery: 4, prune: 3 });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = (name: string) => join(dir, name);
  await exportBundle({
    home: store.home,
    out: out('good.json'),
    nowMs: NOW,
    commandLine: ['pi-warden', 'bundle', 'export', '--out', 'good.json'],
  });
  await exportBundle({
    home: store.home,
    out: out('redacted.json'),
    redact: ['all'],
    nowMs: NOW,
    commandLine: ['pi-warden', 'bundle', 'export', '--redact', 'all'],
  });
  await exportBundle({
    home: store.home,
    out: out('ext_b.json'),
    extension: 'ext-b',
    redact: ['params'],
    nowMs: NOW,
    commandLine: ['pi-warden', 'bundle', 'export', '--extension', 'ext-b'],
  });
  writeFileSync(out('public_key.pem'), store.key.publicKeyPem);
  const source = {
    good: JSON.parse(readFileSync(out('good.json'), 'utf8')) as BundleDocument,
    redacted: JSON.parse(readFileSync(out('redacted.json'), 'utf8')) as BundleDocument,
  };
  const expected: Record<string, BundleReason[]> = {};
  for (const [name, from, edit, seal, reasons] of variants()) {
    let doc = clone(source[from]);
    edit(doc);
    if (seal === 'reseal') doc = reseal(doc, store.key);
    else if (seal === 'rehash') doc = rehash(doc);
    writeFileSync(out(`${name}.json`), `${JSON.stringify(doc)}\n`);
    expected[`${name}.json`] = reasons;
  }
  writeFileSync(
    out('expected.json'),
    `${JSON.stringify({ pass: ['good.json', 'redacted.json', 'ext_b.json'], fail: expected }, null, 2)}\n`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await generate();
  for (const f of readdirSync(FIXTURES)) console.log(f, readFileSync(join(FIXTURES, f)).length);
}
