/**
 * The sandbox's `crypto` beyond hashes (issue 23 item 5, ADR 0037): hashes, HMAC, PBKDF2, AES ciphers and
 * `crypto.subtle`, each computed in the guest and compared with node:crypto on NIST/RFC vectors and random inputs;
 * signatures made by Node verify in the guest and the guest's verify in Node; an unsupported algorithm is named.
 * One real sandbox; its CPU budget is raised because the guest is an interpreter and this is about results.
 */
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ask, loadSource, type Harness } from './harness.ts';

const GUEST = `import c from 'node:crypto';
const hex = (b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');
const un = (h) => Buffer.from(h, 'hex');
const failure = (e) => ({ error: e.name === 'Error' || e.name === 'TypeError' || e.name === 'RangeError' ? e.code : e.name, message: e.message });
const ops = {
  hash: ({ alg, parts }) => { const h = c.createHash(alg); for (const p of parts) h.update(un(p)); return h.digest('hex'); },
  hmac: ({ alg, key, data }) => c.createHmac(alg, un(key)).update(un(data)).digest('hex'),
  pbkdf2: ({ pw, salt, n, len, alg }) => hex(c.pbkdf2Sync(pw, salt, n, len, alg)),
  cipher: ({ alg, key, iv, aad, chunks, tagLength, noPadding }) => {
    const e = c.createCipheriv(alg, un(key), un(iv), tagLength === undefined ? undefined : { authTagLength: tagLength });
    if (aad !== undefined) e.setAAD(un(aad));
    if (noPadding) e.setAutoPadding(false);
    const outs = chunks.map((p) => hex(e.update(un(p))));
    outs.push(hex(e.final()));
    return { outs, tag: alg.endsWith('gcm') ? hex(e.getAuthTag()) : undefined };
  },
  decipher: ({ alg, key, iv, aad, chunks, tag, noPadding }) => {
    try {
      const d = c.createDecipheriv(alg, un(key), un(iv));
      if (aad !== undefined) d.setAAD(un(aad));
      if (tag !== undefined) d.setAuthTag(un(tag));
      if (noPadding) d.setAutoPadding(false);
      const outs = chunks.map((p) => hex(d.update(un(p))));
      outs.push(hex(d.final()));
      return { outs };
    } catch (e) { return failure(e); }
  },
  digest: async ({ alg, data }) => hex(await crypto.subtle.digest(alg, un(data))),
  sameSubtle: () => globalThis.crypto.subtle === c.webcrypto.subtle && c.subtle === c.webcrypto.subtle,
  globalRandom: () => ({
    uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(globalThis.crypto.randomUUID()),
    filled: globalThis.crypto.getRandomValues(new Uint8Array(64)).some((b) => b !== 0),
    distinct: hex(globalThis.crypto.getRandomValues(new Uint8Array(16))) !== hex(globalThis.crypto.getRandomValues(new Uint8Array(16))),
  }),
  hmacKey: async ({ hash, key, data, mac }) => {
    const k = await crypto.subtle.importKey('raw', un(key), { name: 'HMAC', hash }, false, ['sign', 'verify']);
    return { sig: hex(await crypto.subtle.sign('HMAC', k, un(data))), ok: await crypto.subtle.verify('HMAC', k, un(mac), un(data)) };
  },
  verify: async ({ alg, format, key, sig, data }) => {
    const k = await crypto.subtle.importKey(format, format === 'jwk' ? key : un(key), alg, false, ['verify']);
    return crypto.subtle.verify(alg, k, un(sig), un(data));
  },
  sign: async ({ alg, format, key, data }) => {
    const k = await crypto.subtle.importKey(format, format === 'jwk' ? key : un(key), alg, false, ['sign']);
    return hex(await crypto.subtle.sign(alg, k, un(data)));
  },
  roundTrip: async ({ alg, data }) => {
    const { publicKey, privateKey } = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const sig = await crypto.subtle.sign(alg, privateKey, un(data));
    return { pub: hex(await crypto.subtle.exportKey('raw', publicKey)), sig: hex(sig) };
  },
  gcmSeal: async ({ key, iv, aad, data }) => {
    const k = await crypto.subtle.importKey('raw', un(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
    return hex(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: un(iv), additionalData: un(aad) }, k, un(data)));
  },
  gcmOpen: async ({ key, iv, aad, data }) => {
    const k = await crypto.subtle.importKey('raw', un(key), 'AES-GCM', false, ['decrypt']);
    try { return hex(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: un(iv), additionalData: un(aad) }, k, un(data))); } catch (e) { return failure(e); }
  },
  refuse: async ({ what }) => {
    try {
      if (what === 'ecb') c.createCipheriv('aes-256-ecb', Buffer.alloc(32), null);
      if (what === 'chacha') c.createDecipheriv('chacha20-poly1305', Buffer.alloc(32), Buffer.alloc(12));
      if (what === 'hash') c.createHash('whirlpool');
      if (what === 'rsa') await crypto.subtle.importKey('spki', new Uint8Array(10), { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
      if (what === 'sha3') await crypto.subtle.digest('SHA3-256', new Uint8Array(1));
      if (what === 'p384') await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign']);
      if (what === 'keylen') c.createCipheriv('aes-256-gcm', Buffer.alloc(16), Buffer.alloc(12));
      return 'made';
    } catch (e) { return failure(e); }
  },
};
export default function (pi) {
  pi.on('crypto', (e) => ops[e.op](e));
}`;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const rndHex = (n: number) => hex(nc.randomBytes(n));
/** `data` cut into pieces at random points (empty pieces included), as a caller's updates may be. */
function chunksOf(data: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < data.length;) {
    const n = nc.randomInt(0, Math.min(40, data.length - at) + 1);
    out.push(hex(data.subarray(at, at + n)));
    at += n;
  }
  return out;
}

let h: Harness;
const guest = (op: string, args: Record<string, unknown> = {}) => ask(h, 'crypto', { op, ...args });

before(async () => {
  h = await loadSource(GUEST, { limits: { cpuMsPerEntry: 60_000, cpuMsPerWindow: 60_000 } });
});
after(() => h.sandbox.dispose());

describe('node:crypto hashes, HMAC and PBKDF2 in the sandbox', () => {
  it('createHash gives the FIPS 180-4 vectors of "abc" for sha256 and sha512', async () => {
    const abc = hex(Buffer.from('abc'));
    assert.equal(await guest('hash', { alg: 'sha256', parts: [abc] }), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      await guest('hash', { alg: 'sha512', parts: [abc] }),
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  it("createHash equals Node's for every hash it offers, on random inputs in random updates", async () => {
    for (const alg of ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha512-256', 'ripemd160', 'SHA-256']) {
      for (const len of [0, 55, 64, 111, 128, 1000]) {
        const data = nc.randomBytes(len);
        assert.equal(
          await guest('hash', { alg, parts: chunksOf(data) }),
          nc.createHash(alg).update(data).digest('hex'),
          `${alg}, ${len} bytes`,
        );
      }
    }
  });

  it('createHmac gives RFC 4231 case 2 for sha512 and equals Node for sha384/sha512 with keys beyond the 128-byte block', async () => {
    assert.equal(
      await guest('hmac', { alg: 'sha512', key: hex(Buffer.from('Jefe')), data: hex(Buffer.from('what do ya want for nothing?')) }),
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    );
    for (const alg of ['sha384', 'sha512', 'sha224']) {
      for (const keyLen of [0, 20, 128, 200]) {
        const key = nc.randomBytes(keyLen);
        const data = nc.randomBytes(77);
        assert.equal(
          await guest('hmac', { alg, key: hex(key), data: hex(data) }),
          nc.createHmac(alg, key).update(data).digest('hex'),
          `${alg} key ${keyLen}`,
        );
      }
    }
  });

  it("pbkdf2Sync equals Node's", async () => {
    for (const alg of ['sha1', 'sha256', 'sha512']) {
      assert.equal(
        await guest('pbkdf2', { pw: 'password', salt: 'salt', n: 100, len: 40, alg }),
        hex(nc.pbkdf2Sync('password', 'salt', 100, 40, alg)),
        alg,
      );
    }
  });
});

const CIPHERS = [
  'aes-128-gcm',
  'aes-192-gcm',
  'aes-256-gcm',
  'aes-128-cbc',
  'aes-192-cbc',
  'aes-256-cbc',
  'aes-128-ctr',
  'aes-192-ctr',
  'aes-256-ctr',
];
const keyBytes = (alg: string) => Number(alg.split('-')[1]) / 8;

/** Node's cipher over the same updates: its output per update and at final, and its tag. */
function nodeCipher(alg: string, key: Buffer, iv: Buffer, chunks: string[], aad?: Buffer, tagLength?: number) {
  const e = nc.createCipheriv(alg, key, iv, (tagLength === undefined ? undefined : { authTagLength: tagLength }) as never) as nc.CipherGCM;
  if (aad !== undefined) e.setAAD(aad);
  const outs = chunks.map((p) => hex(e.update(Buffer.from(p, 'hex'))));
  outs.push(hex(e.final()));
  return { outs, tag: alg.endsWith('gcm') ? hex(e.getAuthTag()) : undefined };
}

describe('createCipheriv / createDecipheriv in the sandbox', () => {
  it('gives the SP 800-38A vectors: F.2.5 CBC-AES256 and F.5.5 CTR-AES256, first block', async () => {
    const key = '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4';
    const pt = '6bc1bee22e409f96e93d7e117393172a';
    const cbc = (await guest('cipher', {
      alg: 'aes-256-cbc',
      key,
      iv: '000102030405060708090a0b0c0d0e0f',
      chunks: [pt],
      noPadding: true,
    })) as { outs: string[] };
    assert.equal(cbc.outs.join(''), 'f58c4c04d6e5f1ba779eabfb5f7bfbd6');
    const back = (await guest('decipher', {
      alg: 'aes-256-cbc',
      key,
      iv: '000102030405060708090a0b0c0d0e0f',
      chunks: ['f58c4c04d6e5f1ba779eabfb5f7bfbd6'],
      noPadding: true,
    })) as { outs: string[] };
    assert.equal(back.outs.join(''), pt);
    const ctr = (await guest('cipher', { alg: 'aes-256-ctr', key, iv: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', chunks: [pt] })) as {
      outs: string[];
    };
    assert.equal(ctr.outs.join(''), '601ec313775789a5b7a7f504bbf3d228');
  });

  it("each update's and final's output and the GCM tag equal Node's, for random keys, IVs, lengths and cuts", async () => {
    for (const alg of CIPHERS) {
      for (const len of [0, 1, 15, 16, 17, 33, 100]) {
        const key = nc.randomBytes(keyBytes(alg));
        const iv = nc.randomBytes(alg.endsWith('gcm') ? 12 : 16);
        const aad = alg.endsWith('gcm') ? nc.randomBytes(len % 20) : undefined;
        const chunks = chunksOf(nc.randomBytes(len));
        const expected = nodeCipher(alg, key, iv, chunks, aad);
        const got = await guest('cipher', { alg, key: hex(key), iv: hex(iv), aad: aad && hex(aad), chunks });
        assert.deepEqual(got, JSON.parse(JSON.stringify(expected)), `${alg}, ${len} bytes`);
        // And back: Node's ciphertext, cut elsewhere, deciphers in the guest to the plaintext.
        const plain = chunks.join('');
        const back = (await guest('decipher', {
          alg,
          key: hex(key),
          iv: hex(iv),
          aad: aad && hex(aad),
          tag: expected.tag,
          chunks: chunksOf(Buffer.from(expected.outs.join(''), 'hex')),
        })) as { outs: string[] };
        assert.equal(back.outs.join(''), plain, `${alg}, ${len} bytes deciphered`);
      }
    }
  });

  it("GCM with a 16-byte IV and a 12-byte tag equals Node's (output at final), and deciphers", async () => {
    const key = nc.randomBytes(32);
    const iv = nc.randomBytes(16);
    const chunks = chunksOf(nc.randomBytes(70));
    const expected = nodeCipher('aes-256-gcm', key, iv, chunks, undefined, 12);
    const got = (await guest('cipher', { alg: 'aes-256-gcm', key: hex(key), iv: hex(iv), chunks, tagLength: 12 })) as {
      outs: string[];
      tag: string;
    };
    assert.equal(got.outs.join(''), expected.outs.join(''));
    assert.equal(got.tag, expected.tag);
    const back = (await guest('decipher', {
      alg: 'aes-256-gcm',
      key: hex(key),
      iv: hex(iv),
      tag: got.tag,
      chunks: [got.outs.join('')],
    })) as { outs: string[] };
    assert.equal(back.outs.join(''), chunks.join(''));
  });

  it('a GCM decipher throws at final when one byte of the ciphertext, the tag or the AAD is flipped, or the tag is missing', async () => {
    const key = nc.randomBytes(32);
    const iv = nc.randomBytes(12);
    const aad = nc.randomBytes(8);
    const e = nc.createCipheriv('aes-256-gcm', key, iv);
    e.setAAD(aad);
    const ct = Buffer.concat([e.update(nc.randomBytes(40)), e.final()]);
    const tag = e.getAuthTag();
    const flip = (b: Buffer, i: number) => {
      const c = Buffer.from(b);
      c[i] = (c[i] ?? 0) ^ 0x01;
      return hex(c);
    };
    const base = { alg: 'aes-256-gcm', key: hex(key), iv: hex(iv), aad: hex(aad), tag: hex(tag), chunks: [hex(ct)] };
    assert.ok('outs' in ((await guest('decipher', base)) as object), 'the untouched message opens');
    for (const [what, args] of [
      ['ciphertext', { chunks: [flip(ct, 17)] }],
      ['tag', { tag: flip(tag, 15) }],
      ['aad', { aad: flip(aad, 0) }],
      ['no tag', { tag: undefined }],
    ] as const) {
      const r = (await guest('decipher', { ...base, ...args })) as { error?: string; message?: string };
      assert.equal(r.message, 'Unsupported state or unable to authenticate data', what);
    }
  });

  it('without padding, a CBC input that is not whole blocks throws wrong final block length', async () => {
    const r = (await guest('cipher', { alg: 'aes-128-cbc', key: rndHex(16), iv: rndHex(16), chunks: [rndHex(20)], noPadding: true }).catch(
      (e: Error) => ({ error: e.message }),
    )) as { error?: string };
    assert.match(String(r.error), /ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH|wrong final block length/);
  });

  it('a CBC decipher of a truncated ciphertext throws bad decrypt', async () => {
    const key = nc.randomBytes(16);
    const iv = nc.randomBytes(16);
    const e = nc.createCipheriv('aes-128-cbc', key, iv);
    const ct = Buffer.concat([e.update(nc.randomBytes(40)), e.final()]);
    const r = (await guest('decipher', { alg: 'aes-128-cbc', key: hex(key), iv: hex(iv), chunks: [hex(ct.subarray(0, 40))] })) as {
      error?: string;
    };
    assert.equal(r.error, 'ERR_OSSL_BAD_DECRYPT');
  });
});

describe('crypto.subtle in the sandbox', () => {
  it('is one object: globalThis.crypto.subtle, require("crypto").subtle and webcrypto.subtle', async () => {
    assert.equal(await guest('sameSubtle'), true);
  });

  it('the replaced global crypto keeps the engine randomness: getRandomValues fills, randomUUID is a v4 UUID', async () => {
    assert.deepEqual(await guest('globalRandom'), { uuid: true, filled: true, distinct: true });
  });

  it("digest equals Node's for SHA-1/256/384/512 on random inputs", async () => {
    for (const alg of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
      for (const len of [0, 3, 200]) {
        const data = nc.randomBytes(len);
        assert.equal(
          await guest('digest', { alg, data: hex(data) }),
          hex(new Uint8Array(await nc.webcrypto.subtle.digest(alg, data))),
          `${alg}, ${len}`,
        );
      }
    }
  });

  it("HMAC sign equals Node's and verify accepts Node's MAC, rejects a flipped one", async () => {
    for (const hash of ['SHA-256', 'SHA-512']) {
      const key = nc.randomBytes(48);
      const data = nc.randomBytes(90);
      const mac = nc.createHmac(hash.replace('-', '').toLowerCase(), key).update(data).digest();
      assert.deepEqual(await guest('hmacKey', { hash, key: hex(key), data: hex(data), mac: hex(mac) }), { sig: hex(mac), ok: true });
      mac[0] = (mac[0] ?? 0) ^ 0x80;
      assert.equal(((await guest('hmacKey', { hash, key: hex(key), data: hex(data), mac: hex(mac) })) as { ok: boolean }).ok, false);
    }
  });

  it("Ed25519: a Node signature verifies (spki, raw, jwk), a flipped one does not; the guest's signature equals Node's", async () => {
    const { publicKey, privateKey } = nc.generateKeyPairSync('ed25519');
    const data = nc.randomBytes(64);
    const sig = nc.sign(null, data, privateKey);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.from(jwk.x as string, 'base64url');
    for (const [format, key] of [
      ['spki', hex(spki)],
      ['raw', hex(raw)],
      ['jwk', jwk],
    ] as const) {
      assert.equal(await guest('verify', { alg: 'Ed25519', format, key, sig: hex(sig), data: hex(data) }), true, format);
    }
    const bad = Buffer.from(sig);
    bad[5] = (bad[5] ?? 0) ^ 0x04;
    assert.equal(await guest('verify', { alg: 'Ed25519', format: 'spki', key: hex(spki), sig: hex(bad), data: hex(data) }), false);
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    assert.equal(
      await guest('sign', { alg: 'Ed25519', format: 'pkcs8', key: hex(pkcs8), data: hex(data) }),
      hex(sig),
      'RFC 8032 signatures are deterministic',
    );
  });

  it('ECDSA P-256: a Node signature verifies (spki, raw, jwk; SHA-256 and SHA-384), a flipped one does not; Node verifies the guest', async () => {
    const { publicKey, privateKey } = nc.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = nc.randomBytes(50);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
    for (const hash of ['SHA-256', 'SHA-384']) {
      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash };
      const sig = nc.sign(hash.replace('-', '').toLowerCase(), data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      for (const [format, key] of [
        ['spki', hex(spki)],
        ['raw', hex(raw)],
        ['jwk', jwk],
      ] as const) {
        assert.equal(await guest('verify', { alg, format, key, sig: hex(sig), data: hex(data) }), true, `${hash} ${format}`);
      }
      const bad = Buffer.from(sig);
      bad[40] = (bad[40] ?? 0) ^ 0x01;
      assert.equal(await guest('verify', { alg, format: 'spki', key: hex(spki), sig: hex(bad), data: hex(data) }), false, hash);
      for (const [format, key] of [
        ['pkcs8', hex(privateKey.export({ format: 'der', type: 'pkcs8' }))],
        ['jwk', privateKey.export({ format: 'jwk' })],
      ] as const) {
        const mine = Buffer.from((await guest('sign', { alg, format, key, data: hex(data) })) as string, 'hex');
        assert.equal(
          nc.verify(hash.replace('-', '').toLowerCase(), data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, mine),
          true,
          `${hash} ${format}`,
        );
      }
    }
  });

  it('generated Ed25519 and P-256 keys sign what Node verifies with the exported public key', async () => {
    const data = nc.randomBytes(30);
    const ed = (await guest('roundTrip', { alg: { name: 'Ed25519' }, data: hex(data) })) as { pub: string; sig: string };
    const edKey = nc.createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(ed.pub, 'hex').toString('base64url') },
      format: 'jwk',
    });
    assert.equal(nc.verify(null, data, edKey, Buffer.from(ed.sig, 'hex')), true);
    const ec = (await guest('roundTrip', { alg: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }, data: hex(data) })) as {
      pub: string;
      sig: string;
    };
    const pub = Buffer.from(ec.pub, 'hex');
    const ecKey = nc.createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    assert.equal(nc.verify('sha256', data, { key: ecKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(ec.sig, 'hex')), true);
  });

  it("AES-GCM encrypt equals Node's ciphertext ‖ tag; decrypt of a flipped byte rejects with OperationError", async () => {
    const key = nc.randomBytes(32);
    const iv = nc.randomBytes(12);
    const aad = nc.randomBytes(5);
    const data = nc.randomBytes(45);
    const e = nc.createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    const sealed = Buffer.concat([e.update(data), e.final(), e.getAuthTag()]);
    const args = { key: hex(key), iv: hex(iv), aad: hex(aad) };
    assert.equal(await guest('gcmSeal', { ...args, data: hex(data) }), hex(sealed));
    assert.equal(await guest('gcmOpen', { ...args, data: hex(sealed) }), hex(data));
    sealed[3] = (sealed[3] ?? 0) ^ 0x10;
    assert.equal(((await guest('gcmOpen', { ...args, data: hex(sealed) })) as { error: string }).error, 'OperationError');
  });
});

describe('what the sandbox does not have is refused by name', () => {
  for (const [what, code, name] of [
    ['ecb', 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'aes-256-ecb'],
    ['chacha', 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'chacha20-poly1305'],
    ['hash', 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'whirlpool'],
    ['rsa', 'NotSupportedError', 'RSA-PSS'],
    ['sha3', 'NotSupportedError', 'SHA3-256'],
    ['p384', 'NotSupportedError', 'P-384'],
    ['keylen', 'ERR_CRYPTO_INVALID_KEYLEN', 'found 16'],
  ] as const) {
    it(`${what}: ${code} naming ${name}`, async () => {
      const r = (await guest('refuse', { what })) as { error: string; message: string };
      assert.equal(r.error, code);
      assert.ok(r.message.includes(name), `expected the message to name ${name}, found: ${r.message}`);
    });
  }
});
