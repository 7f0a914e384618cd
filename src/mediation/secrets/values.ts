/**
 * Secret broker, values (SPEC §5.2): the broker holds the values of the secrets it hides and finds them, raw or
 * encoded (base64 and base64url at every byte alignment, hex in both cases, URL encoding), in any outbound
 * payload in one pass. Provider token formats are the second filter, for secrets the broker does not hold.
 * Matches report the variable name and the encoding, never the value.
 */
import { MultiMatcher } from './multiMatch.ts';

export interface HeldSecret {
  readonly name: string;
  readonly value: string;
  /** A planted honeytoken: any read or send of it is critical. */
  readonly honeytoken?: boolean;
}

export interface SecretHit {
  readonly name: string;
  readonly encoding: string;
  readonly honeytoken: boolean;
}

/** Shorter values would match ordinary text; they are not held (and are reported by `skipped`). */
export const MIN_SECRET_LENGTH = 8;

/** The part of base64(prefix ‖ value) that depends only on the value, for each of the 3 byte alignments. */
function base64Cores(value: Buffer, url: boolean): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const b = Buffer.concat([Buffer.alloc(k), value]).toString(url ? 'base64url' : 'base64');
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + value.length)) / 6);
    const core = b.slice(from, to);
    if (core.length >= MIN_SECRET_LENGTH) out.push(core);
  }
  return out;
}

function encodings(value: string): Array<[string, string]> {
  const bytes = Buffer.from(value, 'utf8');
  const out: Array<[string, string]> = [['raw', value]];
  for (const c of base64Cores(bytes, false)) out.push(['base64', c]);
  for (const c of base64Cores(bytes, true)) out.push(['base64url', c]);
  out.push(['hex', bytes.toString('hex')], ['hex', bytes.toString('hex').toUpperCase()]);
  const url = encodeURIComponent(value);
  if (url !== value) out.push(['url', url], ['url', url.replace(/%20/g, '+')]);
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) out.push(['json', json]);
  return out;
}

export class SecretValueIndex {
  readonly #matcher: MultiMatcher;
  readonly #meta: Array<{ name: string; encoding: string; honeytoken: boolean }> = [];
  readonly held: readonly string[];
  readonly skipped: readonly string[];

  constructor(secrets: readonly HeldSecret[]) {
    const patterns: string[] = [];
    const held: string[] = [];
    const skipped: string[] = [];
    for (const s of secrets) {
      if (s.value.length < MIN_SECRET_LENGTH) {
        skipped.push(s.name);
        continue;
      }
      held.push(s.name);
      const seen = new Set<string>();
      for (const [encoding, pattern] of encodings(s.value)) {
        if (seen.has(pattern)) continue;
        seen.add(pattern);
        patterns.push(pattern);
        this.#meta.push({ name: s.name, encoding, honeytoken: s.honeytoken === true });
      }
    }
    this.#matcher = new MultiMatcher(patterns);
    this.held = held;
    this.skipped = skipped;
  }

  get patternCount(): number {
    return this.#meta.length;
  }

  /** Held secrets found in `text` (each name and encoding once). */
  scan(text: string): SecretHit[] {
    const hits = new Map<string, SecretHit>();
    for (const m of this.#matcher.scan(text)) {
      const meta = this.#meta[m.pattern];
      if (meta !== undefined) hits.set(`${meta.name}\u0000${meta.encoding}`, meta);
    }
    return [...hits.values()];
  }
}

/** Provider token formats (second filter): secrets the broker does not hold still look like secrets. */
export const TOKEN_FORMATS: ReadonlyArray<readonly [string, RegExp]> = [
  ['anthropic_key', /sk-ant-[A-Za-z0-9_-]{20,}/],
  ['openai_key', /sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}/],
  ['github_token', /\bgh[pousr]_[A-Za-z0-9]{36,}\b/],
  ['github_pat', /\bgithub_pat_[A-Za-z0-9_]{22,}\b/],
  ['aws_access_key_id', /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/],
  ['slack_token', /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ['google_api_key', /\bAIza[0-9A-Za-z_-]{35}\b/],
  ['gitlab_pat', /\bglpat-[A-Za-z0-9_-]{20,}/],
  ['npm_token', /\bnpm_[A-Za-z0-9]{36}\b/],
  ['private_key_block', /-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY( BLOCK)?-----/],
];

export function tokenFormatHits(text: string): string[] {
  const out: string[] = [];
  for (const [name, re] of TOKEN_FORMATS) if (re.test(text)) out.push(name);
  return out;
}
