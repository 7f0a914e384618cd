/**
 * GUEST CODE. `crypto.subtle` (W3C WebCrypto) on @noble (ADR 0037), the part extensions use: `digest` (SHA-1/256/384/
 * 512); HMAC, Ed25519 and ECDSA P-256 keys (`importKey` raw/spki/pkcs8/jwk, `generateKey`, `exportKey` raw) with
 * `sign`/`verify`; AES-GCM `encrypt`/`decrypt`. Anything else rejects with a NotSupportedError naming it.
 * Key bytes live in a WeakMap of this module, not on the CryptoKey an extension holds.
 */
import { hmac } from '@noble/hashes/hmac.js';
import type { CHash } from '@noble/hashes/utils.js';
import { Buffer } from './buffer.ts';
import { aes, ed25519, p256 } from './cryptoOnDemand.ts';
import { webHash } from './hashes.ts';

type Usage = 'sign' | 'verify' | 'encrypt' | 'decrypt';
type KeyKind = 'HMAC' | 'Ed25519' | 'ECDSA' | 'AES-GCM';
const KINDS: readonly KeyKind[] = ['HMAC', 'Ed25519', 'ECDSA', 'AES-GCM'];

interface Algorithm {
  name: string;
  hash?: string | { name: string };
  namedCurve?: string;
  length?: number;
  iv?: BufferSource;
  additionalData?: BufferSource;
  tagLength?: number;
}
type BufferSource = ArrayBuffer | ArrayBufferView;

/** WebCrypto's error shape (a DOMException's `name`); the guest has no DOMException. */
function domError(name: 'NotSupportedError' | 'DataError' | 'InvalidAccessError' | 'OperationError', message: string): Error {
  return Object.assign(new Error(message), { name });
}

function bytes(data: unknown, what: string): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) return Uint8Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  throw Object.assign(new TypeError(`${what}: expected an ArrayBuffer or a typed array, found ${typeof data}`), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
}

const arrayBuffer = (b: Uint8Array): ArrayBuffer => b.slice().buffer;
const b64u = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string') throw domError('DataError', `JWK member ${what}: expected a base64url string, found ${typeof s}`);
  return Buffer.from(s, 'base64url');
};

function normalize(alg: unknown): Algorithm {
  const a = typeof alg === 'string' ? { name: alg } : (alg as Algorithm | undefined);
  if (a === undefined || a === null || typeof a.name !== 'string')
    throw domError('NotSupportedError', `algorithm: expected a name, found ${JSON.stringify(alg)}`);
  return a;
}

function kindOf(alg: Algorithm, op: string): KeyKind {
  const kind = KINDS.find((k) => k.toUpperCase() === alg.name.toUpperCase());
  if (kind === undefined)
    throw domError(
      'NotSupportedError',
      `crypto.subtle.${op}: algorithm ${JSON.stringify(alg.name)} is not available in the sandbox (it has ${KINDS.join(', ')})`,
    );
  if (kind === 'ECDSA' && alg.namedCurve !== undefined && alg.namedCurve !== 'P-256') {
    throw domError(
      'NotSupportedError',
      `crypto.subtle.${op}: ECDSA curve ${JSON.stringify(alg.namedCurve)} is not available in the sandbox (it has P-256)`,
    );
  }
  return kind;
}

function hashOf(h: Algorithm['hash'], op: string): { name: string; fn: CHash } {
  const name = typeof h === 'string' ? h : h?.name;
  const fn = webHash(name);
  if (fn === undefined)
    throw domError(
      'NotSupportedError',
      `crypto.subtle.${op}: hash ${JSON.stringify(name)} is not available in the sandbox (it has SHA-1, SHA-256, SHA-384, SHA-512)`,
    );
  return { name: String(name).toUpperCase(), fn };
}

export class CryptoKey {
  readonly type: 'secret' | 'public' | 'private';
  readonly extractable: boolean;
  readonly algorithm: Readonly<Record<string, unknown>>;
  readonly usages: readonly Usage[];
  constructor(type: CryptoKey['type'], extractable: boolean, algorithm: Readonly<Record<string, unknown>>, usages: readonly Usage[]) {
    this.type = type;
    this.extractable = extractable;
    this.algorithm = algorithm;
    this.usages = usages;
  }
}

interface Material {
  kind: KeyKind;
  bytes: Uint8Array;
  hash?: CHash;
}
const materials = new WeakMap<CryptoKey, Material>();

function makeKey(
  type: CryptoKey['type'],
  kind: KeyKind,
  extractable: boolean,
  usages: unknown,
  m: Omit<Material, 'kind'>,
  hashName?: string,
): CryptoKey {
  const algorithm: Record<string, unknown> =
    kind === 'HMAC'
      ? { name: kind, hash: { name: hashName }, length: m.bytes.length * 8 }
      : kind === 'ECDSA'
        ? { name: kind, namedCurve: 'P-256' }
        : kind === 'AES-GCM'
          ? { name: kind, length: m.bytes.length * 8 }
          : { name: kind };
  const key = new CryptoKey(type, extractable, Object.freeze(algorithm), Object.freeze([...((usages as Usage[] | undefined) ?? [])]));
  materials.set(key, { kind, ...m });
  return key;
}

function materialOf(key: unknown, kind: KeyKind, type: CryptoKey['type'], usage: Usage): Material {
  const m = key instanceof CryptoKey ? materials.get(key) : undefined;
  if (m === undefined || !(key instanceof CryptoKey))
    throw domError('InvalidAccessError', `expected a CryptoKey made by crypto.subtle, found ${typeof key}`);
  if (m.kind !== kind || key.type !== type)
    throw domError('InvalidAccessError', `expected a ${type} ${kind} key, found a ${key.type} ${m.kind} key`);
  if (!key.usages.includes(usage))
    throw domError('InvalidAccessError', `the key's usages (${key.usages.join(', ')}) do not include ${usage}`);
  return m;
}

/** DER prefixes of the key encodings Node and browsers produce (RFC 8410 §4 and §7; RFC 5480 §2; RFC 5915 §3). */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const P256_SPKI = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_OIDS = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');

const startsWith = (b: Uint8Array, prefix: Uint8Array, at = 0) => b.length >= at + prefix.length && prefix.every((x, i) => b[at + i] === x);
const indexOf = (b: Uint8Array, needle: Uint8Array, from: number) => {
  for (let i = from; i + needle.length <= b.length; i++) if (startsWith(b, needle, i)) return i;
  return -1;
};
const EC_PRIVATE_KEY_V1 = Buffer.from('0201010420', 'hex');

/** The 32-byte private scalar of a P-256 PKCS#8 key: after its algorithm, the ECPrivateKey's version 1 and OCTET STRING. */
function p256Pkcs8Scalar(der: Uint8Array): Uint8Array {
  const at = indexOf(der, P256_OIDS, 0);
  const ecKey = at < 0 ? -1 : indexOf(der, EC_PRIVATE_KEY_V1, at + P256_OIDS.length);
  if (ecKey < 0 || der.length < ecKey + 5 + 32)
    throw domError('DataError', 'pkcs8: expected a P-256 ECPrivateKey (RFC 5915), found other DER');
  return der.slice(ecKey + 5, ecKey + 5 + 32);
}

function importAsymmetric(format: string, data: unknown, kind: 'Ed25519' | 'ECDSA', extractable: boolean, usages: unknown): CryptoKey {
  const ed = kind === 'Ed25519';
  if (format === 'jwk') {
    const j = data as Record<string, unknown>;
    const crv = ed ? 'Ed25519' : 'P-256';
    if (j?.kty !== (ed ? 'OKP' : 'EC') || j.crv !== crv)
      throw domError('DataError', `jwk: expected kty ${ed ? 'OKP' : 'EC'} and crv ${crv}, found ${String(j?.kty)} and ${String(j?.crv)}`);
    if (j.d !== undefined) return makeKey('private', kind, extractable, usages, { bytes: b64u(j.d, 'd') });
    const pub = ed ? b64u(j.x, 'x') : Buffer.concat([Buffer.from([4]), b64u(j.x, 'x'), b64u(j.y, 'y')]);
    return makeKey('public', kind, extractable, usages, { bytes: pub });
  }
  const der = bytes(data, `importKey(${format})`);
  if (format === 'raw') return makeKey('public', kind, extractable, usages, { bytes: der });
  if (format === 'spki') {
    const prefix = ed ? ED25519_SPKI : P256_SPKI;
    if (!startsWith(der, prefix)) throw domError('DataError', `spki: expected a ${kind} SubjectPublicKeyInfo, found other DER`);
    return makeKey('public', kind, extractable, usages, { bytes: der.slice(prefix.length) });
  }
  if (format === 'pkcs8') {
    if (ed && !startsWith(der, ED25519_PKCS8))
      throw domError('DataError', 'pkcs8: expected an Ed25519 PrivateKeyInfo (RFC 8410), found other DER');
    return makeKey('private', kind, extractable, usages, {
      bytes: ed ? der.slice(ED25519_PKCS8.length, ED25519_PKCS8.length + 32) : p256Pkcs8Scalar(der),
    });
  }
  throw domError(
    'NotSupportedError',
    `importKey: format ${JSON.stringify(format)} is not available in the sandbox for ${kind} (it has raw, spki, pkcs8, jwk)`,
  );
}

function importKey(format: string, data: unknown, algorithm: unknown, extractable: boolean, usages: unknown): CryptoKey {
  const alg = normalize(algorithm);
  const kind = kindOf(alg, 'importKey');
  if (kind === 'Ed25519' || kind === 'ECDSA') return importAsymmetric(format, data, kind, extractable, usages);
  let raw: Uint8Array;
  if (format === 'raw') raw = bytes(data, 'importKey(raw)');
  else if (format === 'jwk' && (data as { kty?: unknown })?.kty === 'oct') raw = b64u((data as { k?: unknown }).k, 'k');
  else
    throw domError(
      'NotSupportedError',
      `importKey: format ${JSON.stringify(format)} is not available in the sandbox for ${kind} (it has raw, jwk)`,
    );
  if (kind === 'AES-GCM') {
    if (![16, 24, 32].includes(raw.length)) throw domError('DataError', `AES-GCM key: expected 16, 24 or 32 bytes, found ${raw.length}`);
    return makeKey('secret', kind, extractable, usages, { bytes: raw });
  }
  const hash = hashOf(alg.hash, 'importKey');
  return makeKey('secret', kind, extractable, usages, { bytes: raw, hash: hash.fn }, hash.name);
}

function generateKey(
  algorithm: unknown,
  extractable: boolean,
  usages: unknown,
): CryptoKey | { publicKey: CryptoKey; privateKey: CryptoKey } {
  const alg = normalize(algorithm);
  const kind = kindOf(alg, 'generateKey');
  const all = (usages as Usage[] | undefined) ?? [];
  if (kind === 'Ed25519' || kind === 'ECDSA') {
    const curve = kind === 'Ed25519' ? ed25519() : p256();
    const secret = curve.utils.randomSecretKey();
    const pub = kind === 'Ed25519' ? ed25519().getPublicKey(secret) : p256().getPublicKey(secret, false);
    return {
      publicKey: makeKey(
        'public',
        kind,
        true,
        all.filter((u) => u === 'verify'),
        { bytes: pub },
      ),
      privateKey: makeKey(
        'private',
        kind,
        extractable,
        all.filter((u) => u === 'sign'),
        { bytes: secret },
      ),
    };
  }
  if (kind === 'AES-GCM') {
    const len = alg.length ?? 256;
    if (![128, 192, 256].includes(len)) throw domError('OperationError', `AES-GCM length: expected 128, 192 or 256, found ${len}`);
    return makeKey('secret', kind, extractable, usages, { bytes: globalThis.crypto.getRandomValues(new Uint8Array(len / 8)) });
  }
  const hash = hashOf(alg.hash, 'generateKey');
  const len = alg.length ?? hash.fn.blockLen * 8;
  return makeKey(
    'secret',
    kind,
    extractable,
    usages,
    { bytes: globalThis.crypto.getRandomValues(new Uint8Array(Math.ceil(len / 8))), hash: hash.fn },
    hash.name,
  );
}

function exportKey(format: string, key: unknown): ArrayBuffer {
  const m = key instanceof CryptoKey ? materials.get(key) : undefined;
  if (m === undefined || !(key instanceof CryptoKey))
    throw domError('InvalidAccessError', `exportKey: expected a CryptoKey made by crypto.subtle, found ${typeof key}`);
  if (!key.extractable) throw domError('InvalidAccessError', 'exportKey: the key is not extractable');
  if (format !== 'raw' || key.type === 'private') {
    throw domError(
      'NotSupportedError',
      `exportKey: format ${JSON.stringify(format)} of a ${key.type} key is not available in the sandbox (it has raw of secret and public keys)`,
    );
  }
  return arrayBuffer(m.bytes);
}

function sign(algorithm: unknown, key: unknown, data: unknown): ArrayBuffer {
  const alg = normalize(algorithm);
  const kind = kindOf(alg, 'sign');
  const msg = bytes(data, 'sign');
  if (kind === 'HMAC') {
    const m = materialOf(key, 'HMAC', 'secret', 'sign');
    return arrayBuffer(hmac(m.hash as CHash, m.bytes, msg));
  }
  if (kind === 'Ed25519') return arrayBuffer(ed25519().sign(msg, materialOf(key, 'Ed25519', 'private', 'sign').bytes));
  if (kind === 'ECDSA') {
    const m = materialOf(key, 'ECDSA', 'private', 'sign');
    // WebCrypto's ECDSA signature is r ‖ s (IEEE P1363), over the hash the caller names.
    return arrayBuffer(p256().sign(hashOf(alg.hash, 'sign').fn(msg), m.bytes, { prehash: false, lowS: false }));
  }
  throw domError('NotSupportedError', `crypto.subtle.sign: ${kind} does not sign`);
}

function verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): boolean {
  const alg = normalize(algorithm);
  const kind = kindOf(alg, 'verify');
  const sig = bytes(signature, 'verify(signature)');
  const msg = bytes(data, 'verify(data)');
  if (kind === 'HMAC') {
    const m = materialOf(key, 'HMAC', 'secret', 'verify');
    const mac = hmac(m.hash as CHash, m.bytes, msg);
    let diff = mac.length ^ sig.length;
    for (let i = 0; i < mac.length; i++) diff |= (mac[i] ?? 0) ^ (sig[i] ?? 0);
    return diff === 0;
  }
  try {
    // RFC 8032's strict decoding (not ZIP-215), as Node's OpenSSL checks; ECDSA accepts a high s, as WebCrypto does.
    if (kind === 'Ed25519') return ed25519().verify(sig, msg, materialOf(key, 'Ed25519', 'public', 'verify').bytes, { zip215: false });
    if (kind === 'ECDSA') {
      const pub = materialOf(key, 'ECDSA', 'public', 'verify').bytes;
      return p256().verify(sig, hashOf(alg.hash, 'verify').fn(msg), pub, { prehash: false, lowS: false });
    }
  } catch (err) {
    if ((err as { name?: unknown }).name === 'InvalidAccessError' || (err as { name?: unknown }).name === 'NotSupportedError') throw err;
    return false;
  }
  throw domError('NotSupportedError', `crypto.subtle.verify: ${kind} does not verify`);
}

/** AES-GCM (SP 800-38D) with WebCrypto's layout: ciphertext ‖ 128-bit tag. */
function aesGcm(op: 'encrypt' | 'decrypt', algorithm: unknown, key: unknown, data: unknown): ArrayBuffer {
  const alg = normalize(algorithm);
  const kind = kindOf(alg, op);
  if (kind !== 'AES-GCM') throw domError('NotSupportedError', `crypto.subtle.${op}: ${kind} does not ${op}`);
  if ((alg.tagLength ?? 128) !== 128)
    throw domError(
      'NotSupportedError',
      `crypto.subtle.${op}: AES-GCM tagLength ${alg.tagLength} is not available in the sandbox (it has 128)`,
    );
  const m = materialOf(key, 'AES-GCM', 'secret', op);
  const aad = alg.additionalData === undefined ? undefined : bytes(alg.additionalData, `${op}(additionalData)`);
  const c = aes().gcm(m.bytes, bytes(alg.iv, `${op}(iv)`), aad);
  if (op === 'encrypt') return arrayBuffer(c.encrypt(bytes(data, op)));
  try {
    return arrayBuffer(c.decrypt(bytes(data, op)));
  } catch {
    throw domError('OperationError', 'crypto.subtle.decrypt: AES-GCM authentication failed (wrong key, IV or data)');
  }
}

function digest(algorithm: unknown, data: unknown): ArrayBuffer {
  return arrayBuffer(hashOf(normalize(algorithm).name, 'digest').fn(bytes(data, 'digest')));
}

/** WebCrypto answers with a promise and reports every failure as its rejection, never as a synchronous throw. */
const promised =
  <A extends unknown[], R>(fn: (...args: A) => R) =>
  (...args: A): Promise<R> =>
    new Promise((resolve) => resolve(fn(...args)));

export const subtle = {
  digest: promised(digest),
  importKey: promised(importKey),
  exportKey: promised(exportKey),
  generateKey: promised(generateKey),
  sign: promised(sign),
  verify: promised(verify),
  encrypt: promised((algorithm: unknown, key: unknown, data: unknown) => aesGcm('encrypt', algorithm, key, data)),
  decrypt: promised((algorithm: unknown, key: unknown, data: unknown) => aesGcm('decrypt', algorithm, key, data)),
};
