/**
 * pi's settings files as pi-warden touches them: read strictly (a malformed file is an error naming it, never
 * overwritten, since pi would then load what it pleases), written through pi's own `SettingsManager` setters (the
 * entries `pi config` writes) on a storage that writes atomically (temp file + rename) under pi's lock.
 *
 * pi's lock is proper-lockfile's: a `<file>.lock` folder, stale after 10 s (pi 1.6.0 `FileSettingsStorage`).
 * Taking the same folder keeps a running pi and pi-warden from interleaving writes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WardenError } from '../errors.ts';
import type { PiModule, PiSettingsManager, PiSettingsStorage } from './piModule.ts';

export type PiScope = 'user' | 'project';

export interface PiPlaces {
  readonly cwd: string;
  readonly agentDir: string;
}

/** `<agentDir>/settings.json` (user) or `<cwd>/.pi/settings.json` (project). */
export function piSettingsPath(scope: PiScope, places: PiPlaces): string {
  return scope === 'user' ? join(resolve(places.agentDir), 'settings.json') : join(resolve(places.cwd), '.pi', 'settings.json');
}

/** The folder a scope's relative entries are taken from (`-path` patterns, local package sources). */
export function piBaseDir(scope: PiScope, places: PiPlaces): string {
  return scope === 'user' ? resolve(places.agentDir) : join(resolve(places.cwd), '.pi');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The file's text, or undefined when there is none. Throws `settings_invalid` naming the file when pi could not parse it. */
export function readPiSettingsText(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WardenError('io', `cannot read pi settings ${path}: ${(err as Error).message}`, { where: path });
  }
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new WardenError(
      'settings_invalid',
      `pi settings ${path} is not valid JSON (${(err as Error).message}): expected pi's settings object; fix the file, pi-warden never overwrites it`,
      { where: path },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WardenError(
      'settings_invalid',
      `pi settings ${path}: expected a JSON object, found ${Array.isArray(parsed) ? 'an array' : typeof parsed}`,
      {
        where: path,
      },
    );
  }
  return text;
}

/** Both scopes' files parse (pi treats a broken file as empty, which would enable what it filtered). */
export function assertPiSettingsReadable(places: PiPlaces): void {
  readPiSettingsText(piSettingsPath('user', places));
  readPiSettingsText(piSettingsPath('project', places));
}

/** Writes `text` to `path` atomically: a temp file in the same folder, then rename; keeps the old file's mode. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { encoding: 'utf8', mode: 0o600 });
    if (existsSync(path)) chmodSync(tmp, statSync(path).mode & 0o777);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new WardenError('io', `cannot write ${path}: ${(err as Error).message}`, { where: path, cause: err });
  }
}

const LOCK_STALE_MS = 10_000;
const LOCK_TRIES = 50;

/** pi's lock on a settings file (proper-lockfile's `<file>.lock` folder). */
function withFileLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) {
          rmdirSync(lock);
          continue;
        }
      } catch {
        continue;
      }
      if (i >= LOCK_TRIES) throw new WardenError('io', `${path} is locked by another process (${lock}); try again`, { where: lock });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return fn();
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      // removed as stale by another process
    }
  }
}

/** pi's `SettingsStorage` on the real files, writing atomically under pi's lock. */
class AtomicSettingsStorage implements PiSettingsStorage {
  readonly #places: PiPlaces;
  constructor(places: PiPlaces) {
    this.#places = places;
  }

  withLock(scope: 'global' | 'project', fn: (current: string | undefined) => string | undefined): void {
    const path = piSettingsPath(scope === 'global' ? 'user' : 'project', this.#places);
    if (!existsSync(path)) {
      const next = fn(undefined);
      if (next !== undefined) withFileLock(path, () => writeFileAtomic(path, next));
      return;
    }
    withFileLock(path, () => {
      const next = fn(readFileSync(path, 'utf8'));
      if (next !== undefined) writeFileAtomic(path, next);
    });
  }
}

/**
 * Changes one scope's settings through pi's `SettingsManager` and waits for the write. Both files must parse
 * first; a write pi reports as failed is an `io` error naming the file.
 */
export async function changePiSettings(pi: PiModule, places: PiPlaces, change: (settings: PiSettingsManager) => void): Promise<void> {
  assertPiSettingsReadable(places);
  const manager = pi.SettingsManager.fromStorage(new AtomicSettingsStorage(places));
  change(manager);
  await manager.flush();
  const errors = manager.drainErrors();
  if (errors.length > 0) {
    const e = errors[0];
    const path = piSettingsPath(e?.scope === 'project' ? 'project' : 'user', places);
    throw new WardenError('io', `cannot write pi settings ${path}: ${e?.error.message ?? 'unknown error'}`, { where: path });
  }
}

/** Puts a settings file back to `text` (undefined: removes it), under pi's lock. */
export function restorePiSettingsText(path: string, text: string | undefined): void {
  withFileLock(path, () => {
    if (text === undefined) {
      if (existsSync(path)) unlinkSync(path);
    } else writeFileAtomic(path, text);
  });
}
