/**
 * GUEST CODE. `node:crypto` basics: `randomUUID`, `randomBytes`, `getRandomValues` (from the engine's WASI entropy,
 * no hostcall), `createHash` for sha256, sha1 and md5 (computed in the guest; FIPS 180-4 / RFC 1321), and
 * `createHmac` over those hashes, and `timingSafeEqual`. Partial: no ciphers, key derivation or signatures (they throw
 * `ERR_FEATURE_UNAVAILABLE`).
 */
import { Buffer } from './buffer.ts';

const webcrypto = (globalThis as unknown as { crypto: { getRandomValues<T extends Uint8Array>(a: T): T; subtle?: unknown } }).crypto;

export function randomBytes(n: number, cb?: (e: unknown, b: Buffer) => void): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 65536) webcrypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
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

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));

function pad(bytes: Uint8Array, littleEndian: boolean): DataView {
  const len = bytes.length;
  const total = Math.ceil((len + 9) / 64) * 64;
  const buf = new Uint8Array(total);
  buf.set(bytes);
  buf[len] = 0x80;
  const view = new DataView(buf.buffer);
  const bits = len * 8;
  if (littleEndian) {
    view.setUint32(total - 8, bits >>> 0, true);
    view.setUint32(total - 4, Math.floor(bits / 2 ** 32), true);
  } else {
    view.setUint32(total - 8, Math.floor(bits / 2 ** 32), false);
    view.setUint32(total - 4, bits >>> 0, false);
  }
  return view;
}

const K256 = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

function sha256(bytes: Uint8Array): Uint8Array {
  const v = pad(bytes, false);
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Uint32Array(64);
  for (let off = 0; off < v.byteLength; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = v.getUint32(off + i * 4, false);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      w[i] = (w[i - 16]! + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + w[i - 7]! + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10))) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i]! + w[i]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    const add = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = (h[i]! + add[i]!) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(32));
  h.forEach((x, i) => out.setUint32(i * 4, x, false));
  return new Uint8Array(out.buffer);
}

function sha1(bytes: Uint8Array): Uint8Array {
  const v = pad(bytes, false);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let off = 0; off < v.byteLength; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = v.getUint32(off + i * 4, false);
    for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!, 1) >>> 0;
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let i = 0; i < 80; i++) {
      const [f, k] =
        i < 20
          ? [(b & c) | (~b & d), 0x5a827999]
          : i < 40
            ? [b ^ c ^ d, 0x6ed9eba1]
            : i < 60
              ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc]
              : [b ^ c ^ d, 0xca62c1d6];
      const t = (rotl(a, 5) + f + e + k + w[i]!) >>> 0;
      e = d;
      d = c;
      c = rotl(b, 30) >>> 0;
      b = a;
      a = t;
    }
    const add = [a, b, c, d, e];
    for (let i = 0; i < 5; i++) h[i] = (h[i]! + add[i]!) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(20));
  h.forEach((x, i) => out.setUint32(i * 4, x, false));
  return new Uint8Array(out.buffer);
}

const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11,
  16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
const KMD5 = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

function md5(bytes: Uint8Array): Uint8Array {
  const v = pad(bytes, true);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  for (let off = 0; off < v.byteLength; off += 64) {
    let [a, b, c, d] = h as [number, number, number, number];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const t = d;
      d = c;
      c = b;
      b = (b + rotl((a + f + KMD5[i]! + v.getUint32(off + g * 4, true)) >>> 0, S[i]!)) >>> 0;
      a = t;
    }
    const add = [a, b, c, d];
    for (let i = 0; i < 4; i++) h[i] = (h[i]! + add[i]!) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(16));
  h.forEach((x, i) => out.setUint32(i * 4, x, true));
  return new Uint8Array(out.buffer);
}

const HASHES: Record<string, (b: Uint8Array) => Uint8Array> = { sha256, 'sha-256': sha256, sha1, 'sha-1': sha1, md5 };

function unavailable(what: string): never {
  throw Object.assign(new Error(`crypto.${what} is not available in the sandbox`), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' });
}

export function createHash(algorithm: string): { update(d: unknown, enc?: string): unknown; digest(enc?: string): string | Buffer } {
  const fn = HASHES[String(algorithm).toLowerCase()];
  if (fn === undefined) unavailable(`createHash(${JSON.stringify(algorithm)})`);
  const parts: Uint8Array[] = [];
  const hash = {
    update(data: unknown, enc?: string) {
      parts.push(
        typeof data === 'string' ? Buffer.from(data, enc ?? 'utf8') : data instanceof Uint8Array ? data : Buffer.from(String(data)),
      );
      return hash;
    },
    digest(enc?: string) {
      const d = Buffer.from(fn(Buffer.concat(parts)));
      return enc === undefined ? d : d.toString(enc);
    },
  };
  return hash;
}

/** Bytes of a hash input as Node takes them: a string in its encoding (utf8 by default), or bytes. */
function bytesOf(data: unknown, enc?: string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, enc ?? 'utf8') : data instanceof Uint8Array ? data : Buffer.from(String(data));
}

/** HMAC (RFC 2104 §2) over the hashes above, all with 64-byte blocks: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). */
export function createHmac(
  algorithm: string,
  key: unknown,
): { update(d: unknown, enc?: string): unknown; digest(enc?: string): string | Buffer } {
  const fn = HASHES[String(algorithm).toLowerCase()];
  if (fn === undefined) unavailable(`createHmac(${JSON.stringify(algorithm)})`);
  const BLOCK = 64;
  let k = bytesOf(key);
  if (k.length > BLOCK) k = fn(k);
  const padded = new Uint8Array(BLOCK);
  padded.set(k);
  const inner = padded.map((b) => b ^ 0x36);
  const outer = padded.map((b) => b ^ 0x5c);
  const parts: Uint8Array[] = [inner];
  const hmac = {
    update(data: unknown, enc?: string) {
      parts.push(bytesOf(data, enc));
      return hmac;
    },
    digest(enc?: string) {
      const d = Buffer.from(fn(Buffer.concat([outer, fn(Buffer.concat(parts))])));
      return enc === undefined ? d : d.toString(enc);
    },
  };
  return hmac;
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
  subtle: webcrypto.subtle,
  getRandomValues: <T extends Uint8Array>(a: T) => webcrypto.getRandomValues(a),
  getHashes: () => Object.keys(HASHES),
  createHmac,
  pbkdf2Sync: () => unavailable('pbkdf2Sync'),
  pbkdf2: () => unavailable('pbkdf2'),
  createCipheriv: () => unavailable('createCipheriv'),
  createDecipheriv: () => unavailable('createDecipheriv'),
  scryptSync: () => unavailable('scryptSync'),
  createSign: () => unavailable('createSign'),
  createVerify: () => unavailable('createVerify'),
  generateKeyPairSync: () => unavailable('generateKeyPairSync'),
};
