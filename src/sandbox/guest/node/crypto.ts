/**
 * GUEST CODE. `node:crypto` in the sandbox, all computed in the guest (no hostcall; ADR 0037): randomness from the
 * engine's WASI entropy (`randomUUID`, `randomBytes`, `getRandomValues`), `createHash` and `createHmac` over the
 * hashes of hashes.ts, `pbkdf2Sync`, `timingSafeEqual`, AES ciphers (cipher.ts) and `webcrypto.subtle` (subtle.ts),
 * which is also `globalThis.crypto.subtle`. Partial: no signing keys of Node's own API (`createSign`, KeyObject),
 * no scrypt or RSA; those throw `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM` naming what was called.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import type { CHash } from '@noble/hashes/utils.js';
import { Buffer } from './buffer.ts';
import { cipherNames, createCipheriv, createDecipheriv } from './cipher.ts';
import { nodeHash, nodeHashNames, unavailable } from './hashes.ts';
import { CryptoKey, subtle } from './subtle.ts';

type Crypto = { getRandomValues<T extends ArrayBufferView>(a: T): T };
const native = (globalThis as unknown as { crypto: Crypto }).crypto;
const getRandomValues = <T extends ArrayBufferView>(a: T): T => native.getRandomValues(a);

/**
 * The global `crypto` and Node's `crypto.webcrypto`. The engine's native `crypto.subtle` (mbedTLS PSA) has no
 * Ed25519 and its own key formats and errors, and it is not configurable: the global is replaced, keeping the
 * native randomness, so that one implementation, the one tested against Node's, answers every `subtle` call.
 */
const webcrypto = { getRandomValues, randomUUID, subtle, CryptoKey };
Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true, enumerable: false });
(globalThis as unknown as { CryptoKey: unknown }).CryptoKey = CryptoKey;

export function randomBytes(n: number, cb?: (e: unknown, b: Buffer) => void): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 65536) getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  if (cb !== undefined) queueMicrotask(() => cb(null, b));
  return b;
}

export function randomUUID(): string {
  const b = randomBytes(16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function randomInt(min: number, max?: number): number {
  const lo = max === undefined ? 0 : min;
  const hi = max === undefined ? min : max;
  return lo + Math.floor((randomBytes(4).readUInt32LE(0) / 2 ** 32) * (hi - lo));
}

/** Bytes of a hash input as Node takes them: a string in its encoding (utf8 by default), or bytes. */
function bytesOf(data: unknown, enc?: string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, enc ?? 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data));
}

function hashNamed(algorithm: unknown, what: string): CHash {
  const fn = nodeHash(algorithm);
  if (fn === undefined) unavailable(`${what}(${JSON.stringify(algorithm)}): the sandbox has ${nodeHashNames().join(', ')}`);
  return fn;
}

interface Digester {
  update(d: unknown, enc?: string): Digester;
  digest(enc?: string): string | Buffer;
}

/** Node's Hash/Hmac shape over an incremental noble hash: `update` any number of times, `digest` once. */
function digester(h: { update(b: Uint8Array): unknown; digest(): Uint8Array }): Digester {
  const d: Digester = {
    update(data, enc) {
      h.update(bytesOf(data, enc));
      return d;
    },
    digest(enc) {
      const out = Buffer.from(h.digest());
      return enc === undefined || enc === 'buffer' ? out : out.toString(enc);
    },
  };
  return d;
}

export function createHash(algorithm: string): Digester {
  return digester(hashNamed(algorithm, 'createHash').create());
}

/** HMAC (RFC 2104) over any hash of the table. */
export function createHmac(algorithm: string, key: unknown): Digester {
  return digester(hmac.create(hashNamed(algorithm, 'createHmac'), bytesOf(key)));
}

/** PBKDF2 (RFC 8018 §5.2). */
export function pbkdf2Sync(password: unknown, salt: unknown, iterations: number, keylen: number, digest: string): Buffer {
  return Buffer.from(pbkdf2(hashNamed(digest, 'pbkdf2Sync'), bytesOf(password), bytesOf(salt), { c: iterations, dkLen: keylen }));
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export default {
  randomBytes,
  randomUUID,
  randomInt,
  createHash,
  timingSafeEqual,
  webcrypto,
  subtle,
  getRandomValues,
  getHashes: nodeHashNames,
  getCiphers: cipherNames,
  createHmac,
  createCipheriv,
  createDecipheriv,
  pbkdf2Sync,
  pbkdf2: (password: unknown, salt: unknown, iterations: number, keylen: number, digest: string, cb: (e: unknown, k?: Buffer) => void) => {
    let key: Buffer;
    try {
      key = pbkdf2Sync(password, salt, iterations, keylen, digest);
    } catch (err) {
      queueMicrotask(() => cb(err));
      return;
    }
    queueMicrotask(() => cb(null, key));
  },
  scryptSync: () => unavailable('scryptSync'),
  createSign: () => unavailable('createSign'),
  createVerify: () => unavailable('createVerify'),
  generateKeyPairSync: () => unavailable('generateKeyPairSync'),
};
