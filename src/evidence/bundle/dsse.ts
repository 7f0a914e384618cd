/**
 * The bundle's signature: an in-toto Statement v1 naming the bundle hash as its subject's digest, in a DSSE
 * envelope signed with the installation's Ed25519 key over DSSE's pre-authentication encoding (PAE, from
 * @sigstore/core: ADR 0032). The Statement JSON has no package; it is built here.
 */
import type { KeyObject } from 'node:crypto';
import { sign, verify } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { keyIdOf, type SigningKey } from '../keys.ts';
import { BUNDLE_SCHEMA, PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, type DsseEnvelope } from './format.ts';

export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: ReadonlyArray<{ readonly name: string; readonly digest: { readonly sha256: string } }>;
  readonly predicateType: typeof PREDICATE_TYPE;
  readonly predicate: { readonly schema: typeof BUNDLE_SCHEMA; readonly generated_at_ms: number; readonly key_id: string };
}

export function statementFor(bundleHash: string, generatedAtMs: number, keyId: string): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: 'sections', digest: { sha256: bundleHash } }],
    predicateType: PREDICATE_TYPE,
    predicate: { schema: BUNDLE_SCHEMA, generated_at_ms: generatedAtMs, key_id: keyId },
  };
}

export function signEnvelope(key: SigningKey, statement: Statement): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign(null, dsse.preAuthEncoding(PAYLOAD_TYPE, payload), key.privateKey);
  return {
    payloadType: PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: key.keyId, sig: sig.toString('base64') }],
  };
}

/** The Statement if some signature of the envelope verifies with `publicKey` over PAE, else a sentence why not. */
export function openEnvelope(envelope: DsseEnvelope, publicKey: KeyObject): { statement: unknown } | { problem: string } {
  if (envelope.payloadType !== PAYLOAD_TYPE)
    return { problem: `payloadType: expected ${PAYLOAD_TYPE}, found ${String(envelope.payloadType)}` };
  if (typeof envelope.payload !== 'string' || !Array.isArray(envelope.signatures))
    return { problem: 'the envelope has no payload or no signatures' };
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = dsse.preAuthEncoding(envelope.payloadType, payload);
  const keyId = keyIdOf(publicKey);
  const good = (envelope.signatures as unknown[]).some((s) => {
    try {
      return verify(null, pae, publicKey, Buffer.from(String((s as { sig?: unknown } | null)?.sig), 'base64'));
    } catch {
      return false;
    }
  });
  if (!good) return { problem: `no signature verifies with key ${keyId} over the DSSE pre-authentication encoding` };
  try {
    return { statement: JSON.parse(payload.toString('utf8')) as unknown };
  } catch {
    return { problem: 'the signed payload is not JSON' };
  }
}
