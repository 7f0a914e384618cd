/**
 * The committed bundle fixtures (test/fixtures/bundles/, made by generate.ts from a real store): the good ones verify
 * with the committed public key, and every `*_fail` one fails with exactly the reasons expected.json names: the
 * check for that field, and no other.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyBundle } from '../../../src/incident/bundle/index.ts';
import { FIXTURES } from './generate.ts';

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as { pass: string[]; fail: Record<string, string[]> };
const publicKey = join(FIXTURES, 'public_key.pem');

describe('bundle fixtures', () => {
  it('every bundle in the folder is listed as passing or failing, and every listed one exists', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && f !== 'expected.json');
    assert.deepEqual(files.sort(), [...expected.pass, ...Object.keys(expected.fail)].sort());
    for (const f of Object.keys(expected.fail)) assert.match(f, /_fail\.json$/);
  });

  for (const f of ['good.json', 'redacted.json', 'ext_b.json'])
    it(`${f} verifies with the committed public key`, async () => {
      const r = await verifyBundle(join(FIXTURES, f), { publicKey });
      assert.deepEqual(r.failures, []);
      assert.equal(r.ok, true);
      assert.equal(r.key_source, 'given');
    });

  for (const [f, reasons] of Object.entries(expected.fail))
    it(`${f} fails with ${reasons.join(', ')}`, async () => {
      const r = await verifyBundle(join(FIXTURES, f), { publicKey });
      assert.equal(r.ok, false);
      assert.deepEqual([...new Set(r.failures.map((x) => x.reason))].sort(), [...reasons].sort(), JSON.stringify(r.failures, null, 1));
      for (const x of r.failures) assert.ok(x.detail.length > 0 && x.section.length > 0);
    });

  it('a bundle checked against another key fails on the key, the signature and every checkpoint and prune signature', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const r = await verifyBundle(join(FIXTURES, 'good.json'), { publicKey: other });
    assert.deepEqual([...new Set(r.failures.map((x) => x.reason))].sort(), [
      'checkpoint_signature_invalid',
      'key_mismatch',
      'prune_signature_invalid',
      'signature_invalid',
    ]);
  });
});

describe('bundle verify on malformed input', () => {
  it('fails, never throws, on text that is not a bundle', async () => {
    const { verifyBundleText } = await import('../../../src/evidence/bundle/index.ts');
    const good = JSON.parse(readFileSync(join(FIXTURES, 'good.json'), 'utf8')) as Record<string, unknown> & {
      sections: Record<string, unknown>;
    };
    const variants: string[] = [
      'not json',
      '[]',
      'null',
      JSON.stringify({ ...good, envelope: undefined }),
      JSON.stringify({ ...good, sections: null }),
      JSON.stringify({ ...good, sections: { ...good.sections, ledger: { ...(good.sections['ledger'] as object), entries: ['x', 3] } } }),
      JSON.stringify({ ...good, sections: { ...good.sections, gaps: { prunes: [null] } } }),
      JSON.stringify({ ...good, sections: { ...good.sections, ledger: { ...(good.sections['ledger'] as object), checkpoints: [null] } } }),
      JSON.stringify({ ...good, sections: { ...good.sections, alerts: 'none' } }),
    ];
    const key = (await import('node:crypto')).createPublicKey(readFileSync(publicKey, 'utf8'));
    for (const v of variants) {
      const r = verifyBundleText(v, { publicKey: key });
      assert.equal(r.ok, false, v.slice(0, 80));
      assert.ok(r.failures.length > 0);
    }
  });
});
