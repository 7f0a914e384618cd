/**
 * Bundles on disk (issue 18 item 4): a fresh pi process reuses the bundle an earlier one built instead of starting
 * esbuild. An entry is found by where the extension is (entry, package root) and this bundler's fingerprint, and is
 * used only when every input file it was built from still has the content hash it recorded, read through the load
 * boundary again (a file now refused, grown past the size limit or swapped for a FIFO is a miss). An entry is
 * authenticated with an HMAC keyed by a random key kept next to it, and its `bundleHash` must be the hash of its code:
 * a corrupted, truncated or edited entry is a miss, rebuilt and overwritten, never run. Whoever can read the key (the
 * user's own account) can forge an entry; the cache is as trusted as pi-warden's home, and what runs is still the
 * code the scanner scans. The same authentication seals the other caches of a load (`SealedCache`): the booted
 * guest (boot.ts) and scan verdicts (the bridge).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundleFormat } from './bundle.ts';

/** What a cache entry holds: the bundle, and the content hash of every file it was built from (absolute paths). */
export interface CachedBundle {
  readonly entry: string;
  readonly root: string;
  readonly code: string;
  readonly format: BundleFormat;
  readonly bundleHash: string;
  readonly inputs: readonly (readonly [path: string, sha256: string])[];
  readonly warnings: readonly string[];
}

const ENTRY_VERSION = 2;
const KEY_FILE = 'key';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The key entries are authenticated with, made on first use (mode 0600). */
function cacheKey(dir: string): Buffer {
  const path = join(dir, KEY_FILE);
  try {
    const key = readFileSync(path);
    if (key.length === 32) return key;
  } catch {
    // no key yet: make one below
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeAtomic(path, key);
  chmodSync(path, 0o600);
  return key;
}

function writeAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

function entryPath(dir: string, lookup: string): string {
  return join(dir, `${sha256(lookup)}.json`);
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

/**
 * The entry stored under `lookup`, if it is intact: authenticated, of this version, for this lookup, and its code
 * hashing to its `bundleHash`. Whether its inputs are current is the caller's check (it owns the load boundary).
 */
export function readCachedBundle(dir: string, lookup: string): CachedBundle | undefined {
  let text: string;
  try {
    text = readFileSync(entryPath(dir, lookup), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const file = JSON.parse(text) as { body?: unknown; mac?: unknown };
    if (typeof file.body !== 'string' || typeof file.mac !== 'string') return undefined;
    const expected = Buffer.from(mac(cacheKey(dir), file.body), 'hex');
    const found = Buffer.from(file.mac, 'hex');
    if (found.length !== expected.length || !timingSafeEqual(found, expected)) return undefined;
    const body = JSON.parse(file.body) as { version?: unknown; lookup?: unknown; bundle?: CachedBundle };
    const b = body.bundle;
    if (body.version !== ENTRY_VERSION || body.lookup !== lookup || b === undefined || typeof b.code !== 'string') return undefined;
    if (sha256(b.code) !== b.bundleHash) return undefined;
    if (!Array.isArray(b.inputs) || !Array.isArray(b.warnings)) return undefined;
    return b;
  } catch {
    return undefined;
  }
}

/** Stores an entry; a cache that cannot be written is only a slower next start, never a failed load. */
export function writeCachedBundle(dir: string, lookup: string, bundle: CachedBundle): void {
  try {
    const body = JSON.stringify({ version: ENTRY_VERSION, lookup, bundle });
    writeAtomic(entryPath(dir, lookup), JSON.stringify({ body, mac: mac(cacheKey(dir), body) }));
  } catch {
    // read-only home, full disk: bundling still worked
  }
}

/**
 * A binary entry authenticated the same way (the booted guest's memory, scan verdicts): stored as its 32-byte HMAC
 * over the lookup and the data, then the data. Whatever does not authenticate (edited, truncated, another lookup's
 * file copied over, a key replaced) reads as absent: the caller rebuilds and overwrites it.
 */
export class SealedCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  #path(lookup: string): string {
    return join(this.dir, `${sha256(lookup)}.bin`);
  }

  read(lookup: string): Buffer | undefined {
    let file: Buffer;
    try {
      file = readFileSync(this.#path(lookup));
    } catch {
      return undefined;
    }
    try {
      if (file.length < 32) return undefined;
      const data = file.subarray(32);
      const expected = sealMac(cacheKey(this.dir), lookup, data);
      return timingSafeEqual(file.subarray(0, 32), expected) ? data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Removes every entry but the one under `lookup` (a folder that holds one thing, replaced on an update). */
  keepOnly(lookup: string): void {
    const kept = `${sha256(lookup)}.bin`;
    try {
      for (const f of readdirSync(this.dir)) if (f.endsWith('.bin') && f !== kept) rmSync(join(this.dir, f), { force: true });
    } catch {
      // nothing to remove, or not ours to remove: only disk space
    }
  }

  /** Stores an entry; a cache that cannot be written is only a slower next start, never a failure. */
  write(lookup: string, data: Uint8Array): void {
    try {
      writeAtomic(this.#path(lookup), Buffer.concat([sealMac(cacheKey(this.dir), lookup, data), data]));
    } catch {
      // read-only home, full disk: the caller already has what it built
    }
  }
}

function sealMac(key: Buffer, lookup: string, data: Uint8Array): Buffer {
  // The lookup's length first: no (lookup, data) pair can be re-split into another with the same MAC input.
  const head = Buffer.from(lookup, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return createHmac('sha256', key).update(len).update(head).update(data).digest();
}
