/**
 * The secret values pi keeps in its auth storage (`<agent dir>/auth.json`), for the secret broker to hold
 * (SPEC §5.2: "the broker knows the values of the secrets it hides, from the environment and pi's auth storage").
 *
 * pi stores one credential per provider: `{type: "api_key", key, env?}` or `{type: "oauth", access, refresh,
 * expires, ...}`. An api key may be a literal, a template of `$VAR`/`${VAR}` references (resolved here the way pi
 * resolves them: against the credential's own `env`, then the process environment; `$$` and `$!` escape), or a
 * `!command` whose output is the key. Commands are never run here: running a configured program to learn a
 * secret would itself be a side effect; their keys are not held (reported in `unheld`).
 */
import { readFileSync } from 'node:fs';
import type { HeldSecret } from './values.ts';

export interface AuthSecrets {
  readonly held: readonly HeldSecret[];
  /** Credentials whose value could not be held (command keys, unresolved references), as `provider.field`. */
  readonly unheld: readonly string[];
  /** Set when the file exists but cannot be used: what is wrong and where. */
  readonly problem?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** pi's config-value template: literals and `$VAR` / `${VAR}` references; `$$` → `$`, `$!` → `!`. */
export function resolveTemplate(config: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  let out = '';
  let i = 0;
  while (i < config.length) {
    const d = config.indexOf('$', i);
    if (d < 0) {
      out += config.slice(i);
      break;
    }
    out += config.slice(i, d);
    const next = config[d + 1];
    if (next === '$' || next === '!') {
      out += next;
      i = d + 2;
      continue;
    }
    if (next === '{') {
      const end = config.indexOf('}', d + 2);
      const name = end < 0 ? '' : config.slice(d + 2, end);
      if (end >= 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        const v = env[name];
        if (v === undefined || v === '') return undefined;
        out += v;
        i = end + 1;
      } else {
        out += end < 0 ? '$' : config.slice(d, end + 1);
        i = end < 0 ? d + 1 : end + 1;
      }
      continue;
    }
    const m = ENV_NAME.exec(config.slice(d + 1));
    if (m !== null) {
      const v = env[m[0]];
      if (v === undefined || v === '') return undefined;
      out += v;
      i = d + 1 + m[0].length;
      continue;
    }
    out += '$';
    i = d + 1;
  }
  return out;
}

const OAUTH_SECRET_FIELD = /^(access|refresh|id_?token|token|.*secret.*|.*_key|apiKey)$/i;

/** Reads pi's auth.json. A missing file holds nothing; an unreadable or malformed one is a `problem`. */
export function readAuthSecrets(path: string, processEnv: Readonly<Record<string, string | undefined>> = process.env): AuthSecrets {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') return { held: [], unheld: [] };
    return {
      held: [],
      unheld: [],
      problem: `${path}: cannot be read (${typeof code === 'string' ? code : String(err)}); its credentials are not held by the secret broker`,
    };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return {
      held: [],
      unheld: [],
      problem: `${path}: not valid JSON (${err instanceof Error ? err.message : String(err)}); its credentials are not held by the secret broker`,
    };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      held: [],
      unheld: [],
      problem: `${path}: expected an object of provider credentials, found ${Array.isArray(data) ? 'an array' : typeof data}`,
    };
  }
  const held: HeldSecret[] = [];
  const unheld: string[] = [];
  const hold = (name: string, value: unknown) => {
    if (typeof value === 'string' && value !== '') held.push({ name, value });
  };
  for (const [provider, raw] of Object.entries(data as Record<string, unknown>)) {
    if (raw === null || typeof raw !== 'object') continue;
    const cred = raw as Record<string, unknown>;
    const ownEnv: Record<string, string> = {};
    if (cred.env !== null && typeof cred.env === 'object') {
      for (const [k, v] of Object.entries(cred.env as Record<string, unknown>)) {
        if (typeof v !== 'string') continue;
        ownEnv[k] = v;
        hold(`auth.json:${provider}.env.${k}`, v);
      }
    }
    if (cred.type === 'oauth') {
      for (const [k, v] of Object.entries(cred)) if (OAUTH_SECRET_FIELD.test(k)) hold(`auth.json:${provider}.${k}`, v);
      continue;
    }
    if (typeof cred.key === 'string' && cred.key !== '') {
      if (cred.key.startsWith('!')) {
        unheld.push(`${provider}.key (a command; not run to learn the key)`);
        continue;
      }
      const value = resolveTemplate(cred.key, { ...processEnv, ...ownEnv });
      if (value === undefined) unheld.push(`${provider}.key (references an unset variable)`);
      else hold(`auth.json:${provider}.key`, value);
    }
  }
  return { held, unheld };
}
