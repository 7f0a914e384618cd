/**
 * GUEST CODE. The hash functions the guest's `node:crypto` and `crypto.subtle` share, by the names each API uses,
 * from @noble/hashes (ADR 0037): one table, so `createHash`, `createHmac`, `pbkdf2Sync` and `subtle` never disagree on
 * which hashes exist.
 */
import type { CHash } from '@noble/hashes/utils.js';
import { md5, ripemd160, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512, sha512_256 } from '@noble/hashes/sha2.js';

/** Node's names (OpenSSL's, lower-cased; `sha-256` spellings too, as OpenSSL 3 accepts them). */
const NODE_HASHES: Record<string, CHash> = {
  md5,
  sha1,
  'sha-1': sha1,
  sha224,
  'sha-224': sha224,
  sha256,
  'sha-256': sha256,
  sha384,
  'sha-384': sha384,
  sha512,
  'sha-512': sha512,
  'sha512-256': sha512_256,
  ripemd160,
};

/** WebCrypto's names (WebCrypto §30, upper-case, compared case-insensitively). */
const WEB_HASHES: Record<string, CHash> = { 'SHA-1': sha1, 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 };

/** The hash Node calls `name`, or undefined. */
export function nodeHash(name: unknown): CHash | undefined {
  return Object.hasOwn(NODE_HASHES, String(name).toLowerCase()) ? NODE_HASHES[String(name).toLowerCase()] : undefined;
}

/** The hash WebCrypto calls `name`, or undefined. */
export function webHash(name: unknown): CHash | undefined {
  const key = String(name).toUpperCase();
  return Object.hasOwn(WEB_HASHES, key) ? WEB_HASHES[key] : undefined;
}

export const nodeHashNames = (): string[] => Object.keys(NODE_HASHES);

/** The error of a feature the sandbox does not have, naming it; Node's code for a missing platform feature. */
export function unavailable(what: string): never {
  throw Object.assign(new Error(`crypto.${what} is not available in the sandbox`), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' });
}
