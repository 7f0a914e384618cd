/**
 * `crypto.createHmac` in the sandbox (issue 23 item 5): the same MACs as Node's for each hash the guest has, with
 * keys shorter and longer than the block, several updates and encodings. A real sandbox against node:crypto.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ask, loadSource } from './harness.ts';

describe('crypto.createHmac in the sandbox', () => {
  it("gives Node's HMAC for sha256, sha1 and md5, short and long keys, split updates", async () => {
    const h = await loadSource(`import { createHmac } from 'node:crypto';
      export default function (pi) {
        pi.on('macs', (e) => e.cases.map(([alg, key, parts]) => {
          const m = createHmac(alg, key);
          for (const p of parts) m.update(p);
          return m.digest('hex');
        }));
      }`);
    const cases: Array<[string, string, string[]]> = [
      ['sha256', 'key', ['The quick brown fox ', 'jumps over the lazy dog']],
      ['sha1', 'key', ['The quick brown fox jumps over the lazy dog']],
      ['md5', 'key', ['The quick brown fox jumps over the lazy dog']],
      ['sha256', 'k'.repeat(100), ['a key longer than the 64-byte block is hashed first']],
      ['sha256', '', ['']],
      ['SHA256', 'clé', ['ünïcödé']],
    ];
    const expected = cases.map(([alg, key, parts]) => {
      const m = createHmac(alg.toLowerCase(), key);
      for (const p of parts) m.update(p);
      return m.digest('hex');
    });
    assert.deepEqual(await ask(h, 'macs', { cases }), expected);
    h.sandbox.dispose();
  });

  it('an HMAC over a hash the sandbox does not have throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', async () => {
    const h = await loadSource(`import { createHmac } from 'node:crypto';
      export default function (pi) {
        pi.on('mac', () => { try { createHmac('whirlpool', 'k'); return 'made'; } catch (e) { return e.code; } });
      }`);
    assert.equal(await ask(h, 'mac'), 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM');
    h.sandbox.dispose();
  });
});
