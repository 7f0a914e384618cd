/**
 * GUEST CODE. `crypto.createCipheriv` / `createDecipheriv` for AES (FIPS 197) in GCM (SP 800-38D), CBC with PKCS#7
 * padding and CTR (SP 800-38A), 128/192/256-bit keys, on @noble/ciphers (ADR 0037). Output comes as Node's does:
 * CTR and GCM (96-bit IV) from each `update`, CBC by whole blocks with the last one held for the padding check; GCM
 * with another IV length answers at `final`. Not streams (no `pipe`), no KeyObject keys.
 */
import { Buffer } from './buffer.ts';
import { aes } from './cryptoOnDemand.ts';
import { unavailable } from './hashes.ts';

type Mode = 'gcm' | 'cbc' | 'ctr';
const MODES: readonly Mode[] = ['gcm', 'cbc', 'ctr'];
const KEY_BYTES: Record<string, number> = { '128': 16, '192': 24, '256': 32 };
const BLOCK = 16;
/** Tag lengths Node accepts for GCM (SP 800-38D §5.2.1.2): 4, 8 and 12 to 16 bytes. */
const TAG_LENGTHS = [4, 8, 12, 13, 14, 15, 16];

export const cipherNames = (): string[] => Object.keys(KEY_BYTES).flatMap((bits) => MODES.map((m) => `aes-${bits}-${m}`));

function nodeError(message: string, code: string, Type: ErrorConstructor = Error): Error {
  return Object.assign(new Type(message), { code });
}

/** Bytes of a cipher input as Node takes them: a string in its encoding (utf8 by default), or bytes. */
function bytesOf(data: unknown, enc?: string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, enc ?? 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw nodeError(`The "data" argument must be a string, Buffer or TypedArray; found ${typeof data}`, 'ERR_INVALID_ARG_TYPE', TypeError);
}

const out = (b: Uint8Array, enc?: string): Buffer | string =>
  enc === undefined || enc === 'buffer' ? Buffer.from(b) : Buffer.from(b).toString(enc);

/** `iv` + `n` as one 128-bit big-endian counter, as OpenSSL's CTR mode increments it. */
function counterAt(iv: Uint8Array, n: number): Uint8Array {
  const c = Uint8Array.from(iv);
  let carry = n;
  for (let i = BLOCK - 1; i >= 0 && carry > 0; i--) {
    const sum = (c[i] ?? 0) + (carry % 256);
    c[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  return c;
}

/** The CTR keystream applied to `chunk` that starts `offset` bytes into the stream begun at counter `first`. */
function ctrAt(key: Uint8Array, first: Uint8Array, offset: number, chunk: Uint8Array): Uint8Array {
  const skip = offset % BLOCK;
  const buf = new Uint8Array(skip + chunk.length);
  buf.set(chunk, skip);
  return aes()
    .ctr(key, counterAt(first, Math.floor(offset / BLOCK)))
    .encrypt(buf)
    .subarray(skip);
}

interface CipherOptions {
  authTagLength?: number;
}

/** A cipher or decipher of Node's shape over one AES mode. */
class AesCipher {
  readonly #mode: Mode;
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  readonly #decrypt: boolean;
  #tagLength: number;
  /** A decipher given no `authTagLength` takes any length Node allows from `setAuthTag`. */
  readonly #tagLengthGiven: boolean;
  #padding = true;
  #done = false;
  #aad = new Uint8Array(0);
  #tag: Uint8Array | undefined;
  /** Bytes seen so far (CTR/GCM offset), every input kept for GCM's tag, and CBC's not yet processed bytes. */
  #offset = 0;
  #seen: Uint8Array[] = [];
  #pending = new Uint8Array(0);
  #chain: Uint8Array;

  constructor(algorithm: string, key: unknown, iv: unknown, options: CipherOptions | undefined, decrypt: boolean) {
    const m = /^aes-(128|192|256)-(gcm|cbc|ctr)$/.exec(String(algorithm).toLowerCase());
    if (m === null)
      unavailable(
        `${decrypt ? 'createDecipheriv' : 'createCipheriv'}(${JSON.stringify(algorithm)}): supported are ${cipherNames().join(', ')}`,
      );
    this.#mode = m[2] as Mode;
    this.#key = Uint8Array.from(bytesOf(key));
    this.#iv = Uint8Array.from(bytesOf(iv));
    this.#decrypt = decrypt;
    if (this.#key.length !== KEY_BYTES[m[1] as string]) {
      throw nodeError(
        `Invalid key length: ${algorithm} takes ${KEY_BYTES[m[1] as string]} bytes, found ${this.#key.length}`,
        'ERR_CRYPTO_INVALID_KEYLEN',
        RangeError,
      );
    }
    if (this.#mode === 'gcm' ? this.#iv.length === 0 : this.#iv.length !== BLOCK) {
      throw nodeError(
        `Invalid initialization vector: ${algorithm} takes ${this.#mode === 'gcm' ? 'at least 1' : BLOCK} bytes, found ${this.#iv.length}`,
        'ERR_CRYPTO_INVALID_IV',
        TypeError,
      );
    }
    this.#tagLength = options?.authTagLength ?? 16;
    this.#tagLengthGiven = options?.authTagLength !== undefined;
    if (this.#mode === 'gcm' && !TAG_LENGTHS.includes(this.#tagLength)) {
      throw nodeError(`Invalid authentication tag length: ${this.#tagLength}`, 'ERR_CRYPTO_INVALID_AUTH_TAG', TypeError);
    }
    this.#chain = this.#iv;
  }

  /** GCM with a 96-bit IV streams: its keystream is CTR from J0 + 1 = IV ‖ 0x00000002 (SP 800-38D §7.1). */
  #gcmFirstCounter(): Uint8Array | undefined {
    if (this.#iv.length !== 12) return undefined;
    const c = new Uint8Array(BLOCK);
    c.set(this.#iv);
    c[15] = 2;
    return c;
  }

  #live(): void {
    if (this.#done) throw nodeError('Unsupported state: the cipher is already finalized', 'ERR_CRYPTO_INVALID_STATE');
  }

  update(data: unknown, inputEncoding?: string, outputEncoding?: string): Buffer | string {
    this.#live();
    const chunk = bytesOf(data, inputEncoding);
    if (this.#mode === 'cbc') return out(this.#cbcUpdate(chunk), outputEncoding);
    if (this.#mode === 'gcm') this.#seen.push(Uint8Array.from(chunk));
    const first = this.#mode === 'ctr' ? this.#iv : this.#gcmFirstCounter();
    if (first === undefined) return out(new Uint8Array(0), outputEncoding);
    const result = ctrAt(this.#key, first, this.#offset, chunk);
    this.#offset += chunk.length;
    return out(result, outputEncoding);
  }

  /** Whole blocks now; a decipher with padding keeps its last whole block back, it may be the padded one. */
  #cbcUpdate(chunk: Uint8Array): Uint8Array {
    const all = Buffer.concat([this.#pending, chunk]);
    let take = all.length - (all.length % BLOCK);
    if (this.#decrypt && this.#padding && take === all.length) take -= BLOCK;
    if (take <= 0) {
      this.#pending = all;
      return new Uint8Array(0);
    }
    const body = all.subarray(0, take);
    this.#pending = all.subarray(take);
    const c = aes().cbc(this.#key, this.#chain, { disablePadding: true });
    const result = this.#decrypt ? c.decrypt(body) : c.encrypt(body);
    this.#chain = Uint8Array.from((this.#decrypt ? body : result).subarray(take - BLOCK));
    return result;
  }

  final(outputEncoding?: string): Buffer | string {
    this.#live();
    this.#done = true;
    if (this.#mode === 'ctr') return out(new Uint8Array(0), outputEncoding);
    if (this.#mode === 'cbc') return out(this.#cbcFinal(), outputEncoding);
    return out(this.#gcmFinal(), outputEncoding);
  }

  #cbcFinal(): Uint8Array {
    // Without padding every whole block went out at update: what is left is a partial block, or nothing.
    if (!this.#padding) {
      if (this.#pending.length === 0) return new Uint8Array(0);
      throw nodeError(
        `wrong final block length: without padding the input must be whole 16-byte blocks; ${this.#pending.length} bytes are left`,
        'ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH',
      );
    }
    if (!this.#decrypt) return aes().cbc(this.#key, this.#chain).encrypt(this.#pending);
    if (this.#pending.length !== BLOCK) throw nodeError('bad decrypt: the ciphertext is not whole 16-byte blocks', 'ERR_OSSL_BAD_DECRYPT');
    try {
      return aes().cbc(this.#key, this.#chain).decrypt(this.#pending);
    } catch {
      throw nodeError('bad decrypt: the PKCS#7 padding is wrong (wrong key or IV, or altered ciphertext)', 'ERR_OSSL_BAD_DECRYPT');
    }
  }

  #gcmFinal(): Uint8Array {
    const input = Buffer.concat(this.#seen);
    const streamed = this.#gcmFirstCounter() !== undefined;
    if (!this.#decrypt) {
      const sealed = aes().gcm(this.#key, this.#iv, this.#aad).encrypt(input);
      this.#tag = sealed.subarray(input.length, input.length + this.#tagLength);
      return streamed ? new Uint8Array(0) : sealed.subarray(0, input.length);
    }
    // GCM's keystream is the same both ways: sealing the ciphertext gives the plaintext, sealing that gives its tag.
    const plain = aes().gcm(this.#key, this.#iv).encrypt(input).subarray(0, input.length);
    const expected = aes()
      .gcm(this.#key, this.#iv, this.#aad)
      .encrypt(plain)
      .subarray(input.length, input.length + this.#tagLength);
    const given = this.#tag;
    let diff = given === undefined || given.length !== expected.length ? 1 : 0;
    for (let i = 0; i < expected.length; i++) diff |= (expected[i] ?? 0) ^ (given?.[i] ?? 0);
    if (diff !== 0) throw nodeError('Unsupported state or unable to authenticate data', 'ERR_CRYPTO_AUTH_FAILED');
    return streamed ? new Uint8Array(0) : plain;
  }

  setAAD(aad: unknown): this {
    this.#live();
    if (this.#mode !== 'gcm') throw nodeError(`setAAD is for GCM; found ${this.#mode.toUpperCase()}`, 'ERR_CRYPTO_INVALID_STATE');
    if (this.#seen.length > 0) throw nodeError('setAAD must come before update', 'ERR_CRYPTO_INVALID_STATE');
    this.#aad = Uint8Array.from(bytesOf(aad));
    return this;
  }

  getAuthTag(): Buffer {
    if (this.#decrypt || this.#mode !== 'gcm' || !this.#done || this.#tag === undefined) {
      throw nodeError('getAuthTag: only a GCM cipher has a tag, after final()', 'ERR_CRYPTO_INVALID_STATE');
    }
    return Buffer.from(this.#tag);
  }

  setAuthTag(tag: unknown): this {
    this.#live();
    if (!this.#decrypt || this.#mode !== 'gcm') throw nodeError('setAuthTag is for a GCM decipher', 'ERR_CRYPTO_INVALID_STATE');
    const t = Uint8Array.from(bytesOf(tag));
    if (this.#tagLengthGiven ? t.length !== this.#tagLength : !TAG_LENGTHS.includes(t.length)) {
      const expected = this.#tagLengthGiven ? String(this.#tagLength) : TAG_LENGTHS.join(', ');
      throw nodeError(
        `Invalid authentication tag length: expected ${expected}, found ${t.length}`,
        'ERR_CRYPTO_INVALID_AUTH_TAG',
        TypeError,
      );
    }
    this.#tagLength = t.length;
    this.#tag = t;
    return this;
  }

  setAutoPadding(on = true): this {
    this.#live();
    this.#padding = on;
    return this;
  }
}

export function createCipheriv(algorithm: string, key: unknown, iv: unknown, options?: CipherOptions): AesCipher {
  return new AesCipher(algorithm, key, iv, options, false);
}

export function createDecipheriv(algorithm: string, key: unknown, iv: unknown, options?: CipherOptions): AesCipher {
  return new AesCipher(algorithm, key, iv, options, true);
}
