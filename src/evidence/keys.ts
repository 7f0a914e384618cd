/**
 * The checkpoint signing key (Ed25519, node:crypto). Created on first use under `<home>/keys/` with mode 0600;
 * `key_id` = first 16 hex characters of SHA-256 of the raw 32-byte public key.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../errors.ts';

export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function keyPath(home: string): string {
  return join(home, 'keys', 'ledger-ed25519.pem');
}

function fromPem(pem: string, path: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new WardenError('io', `${path}: not a readable private key (${(err as Error).message})`, { where: path, cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new WardenError('io', `${path}: expected an Ed25519 key, found ${privateKey.asymmetricKeyType ?? 'unknown'}`, { where: path });
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** Loads the key, creating it (exclusively, 0600) on first use. */
export function loadOrCreateKey(home: string): SigningKey {
  const path = keyPath(home);
  try {
    return fromPem(readFileSync(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw err instanceof WardenError ? err : new WardenError('io', `${path}: ${(err as Error).message}`, { cause: err });
  }
  mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  // Written whole under a name of this process's, then linked into place: the link fails if another process got
  // there first, and nobody ever reads a key file half written (a second process opening a new store at the same
  // moment read the empty file another had just created and refused it as "not a readable private key").
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, pem);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fromPem(readFileSync(path, 'utf8'), path);
    throw new WardenError('io', `${path}: cannot create the signing key (${(err as Error).message})`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
  return fromPem(pem, path);
}

export function signText(key: SigningKey, text: string): string {
  return sign(null, Buffer.from(text), key.privateKey).toString('base64');
}

export function verifyText(publicKey: KeyObject, text: string, signatureB64: string): boolean {
  try {
    return verify(null, Buffer.from(text), publicKey, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}
