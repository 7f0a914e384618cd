/**
 * Redaction by salted commitments (issue 20 item 2). A redacted value v becomes {commitment: SHA-256(salt ‖ JCS(v))};
 * the salt is HMAC-SHA256(K, "section.field" ‖ 0x0A ‖ JCS(v)) with K derived from the installation's signing key
 * (HKDF-SHA256, info below), so the salt never leaves the installation unless disclosed, one field at a time, and
 * a disclosure reveals that value's salt, never K. The salt is deterministic on purpose: equal values get equal
 * commitments, which keeps repeat detection and replay over a redacted bundle working; the price is that a reader
 * sees which redacted values are equal (docs/bundle-format.md, "Redaction").
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../canonical.ts';
import type { SigningKey } from '../keys.ts';
import type { Commitment } from './format.ts';

const REDACTION_INFO = 'pi-warden.bundle.redaction.v1';

export type RedactionKey = Buffer;

/** K: HKDF over the raw Ed25519 private key, so the installation holds no second secret to lose. */
export function redactionKey(key: SigningKey): RedactionKey {
  const raw = key.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  return Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), REDACTION_INFO, 32));
}

export function saltOf(k: RedactionKey, field: string, value: unknown): Buffer {
  return createHmac('sha256', k)
    .update(`${field}\n${canonicalJson(value)}`)
    .digest();
}

/** SHA-256(salt ‖ JCS(value)), hex. */
export function commitmentOf(salt: Buffer, value: unknown): string {
  return createHash('sha256').update(salt).update(canonicalJson(value)).digest('hex');
}

export function commit(k: RedactionKey, field: string, value: unknown): Commitment {
  return { commitment: commitmentOf(saltOf(k, field, value), value) };
}

/** Does (salt, value) open the commitment? What anyone checks after a disclosure. */
export function opens(c: Commitment, saltHex: string, value: unknown): boolean {
  if (!/^[0-9a-f]{64}$/.test(saltHex)) return false;
  const got = Buffer.from(commitmentOf(Buffer.from(saltHex, 'hex'), value), 'hex');
  return timingSafeEqual(got, Buffer.from(c.commitment, 'hex'));
}
