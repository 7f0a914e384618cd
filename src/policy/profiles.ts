/**
 * Profile presets (SPEC §4.2). The lists follow the reference; what differs is the default (safe, not
 * permissive) and that exec/env stay behind `allowDangerous` in every profile, permissive included.
 */
import type { Capability } from './capabilities.ts';

export const PROFILES = ['safe', 'balanced', 'permissive'] as const;
export type Profile = (typeof PROFILES)[number];

export const MODES = ['strict', 'prompt', 'permissive'] as const;
export type Mode = (typeof MODES)[number];

export interface ProfilePreset {
  readonly profile: Profile;
  readonly mode: Mode;
  readonly defaultCaps: readonly Capability[];
  readonly denyCaps: readonly Capability[];
  readonly summary: string;
}

const BENIGN: readonly Capability[] = ['read', 'write', 'http', 'events', 'session'];

export const PROFILE_PRESETS: Readonly<Record<Profile, ProfilePreset>> = {
  safe: {
    profile: 'safe', mode: 'strict', defaultCaps: BENIGN, denyCaps: ['exec', 'env'],
    summary: 'Deny by default: only read, write, http, events and session; everything else denied.',
  },
  balanced: {
    profile: 'balanced', mode: 'prompt', defaultCaps: BENIGN, denyCaps: ['exec', 'env'],
    summary: 'Benign capabilities allowed; ui, tool and log ask the user; exec and env denied.',
  },
  permissive: {
    profile: 'permissive', mode: 'permissive', defaultCaps: [], denyCaps: [],
    summary: 'Allow what is not denied; exec and env still need allowDangerous.',
  },
};

/** Higher is stricter. Used to keep project settings from loosening the user's policy. */
export const PROFILE_STRICTNESS: Readonly<Record<Profile, number>> = { permissive: 0, balanced: 1, safe: 2 };

/** `standard` is the reference's legacy name of `balanced`. */
const ALIASES: ReadonlyMap<string, Profile> = new Map([['safe', 'safe'], ['balanced', 'balanced'], ['standard', 'balanced'], ['permissive', 'permissive']]);

/** Trims and lowercases; returns undefined for an unknown name (the caller falls back to safe with a warning). */
export function parseProfile(raw: string): Profile | undefined {
  return ALIASES.get(raw.trim().toLowerCase());
}
