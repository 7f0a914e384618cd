/**
 * Sensitive filesystem locations (SPEC §8, INC-4), as the sensitive-places table names them (src/policy/places.ts):
 * writing to a credential store or a never-written place persists code or steals access; reading a credential and
 * sending it out is exfiltration. Matched against the path a call builds, folded to the string parts the scanner can
 * see (`join(homedir(), '.ssh', 'authorized_keys')` → `~/.ssh/authorized_keys`; `process.env.CODEX_HOME` → `$CODEX_HOME`).
 */
import { NEVER_WRITTEN_KINDS, PlaceWords, SECRET_KINDS, type PlaceKind } from '../policy/index.ts';

const PLACES = new PlaceWords();
const WRITE_TARGETS: ReadonlySet<PlaceKind> = new Set([...SECRET_KINDS, ...NEVER_WRITTEN_KINDS]);

export function foldPath(parts: readonly string[]): string {
  return parts
    .join('/')
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/');
}

export function isSensitiveWriteTarget(path: string): boolean {
  return PLACES.names(path, WRITE_TARGETS);
}

export function isCredentialPath(path: string): boolean {
  return PLACES.secret(path);
}
