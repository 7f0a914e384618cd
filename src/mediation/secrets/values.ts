/**
 * Secret broker, values (SPEC §5.2): the broker holds the values of the secrets it hides and finds them in any
 * outbound payload in one pass: raw (any letter case), reversed, base64 and base64url (every byte alignment),
 * base32 (RFC 4648 §6, every alignment, either case), base58 (the bitcoin alphabet, the whole value), hex,
 * URL encoding (as `encodeURIComponent` and with every byte escaped) and JSON string escaping, with ignorable code
 * points (zero-width characters, soft hyphens, variation selectors, tags, ...) anywhere inside skipped. Provider
 * token formats are the second filter, for secrets the broker does not hold. Matches report the variable name and
 * the encoding, never the value. What a value scan cannot see (a value XORed or compressed under a key) is for the
 * egress rules to stop (README, "Limits of the value scan").
 */
import { MultiMatcher } from './multiMatch.ts';
import { compareBefore, stripIgnorable } from './textFold.ts';

export interface HeldSecret {
  readonly name: string;
  readonly value: string;
  /** A planted honeytoken: any read or send of it is critical. */
  readonly honeytoken?: boolean;
}

/**
 * How a held value was found: an encoding, `case_folded` for the raw value in another letter case, and
 * `+ignorable` appended when ignorable code points were skipped inside it.
 */
export const VALUE_ENCODINGS = [
  'raw',
  'case_folded',
  'reversed',
  'base64',
  'base64url',
  'base32',
  'base58',
  'hex',
  'url',
  'percent',
  'json',
] as const;
export type ValueEncoding = (typeof VALUE_ENCODINGS)[number];

export interface SecretHit {
  readonly name: string;
  readonly encoding: string;
  readonly honeytoken: boolean;
}

/** Shorter values would match ordinary text; they are not held (and are reported by `skipped`). */
export const MIN_SECRET_LENGTH = 8;

/**
 * The part of an encoding of (prefix ‖ value) that depends only on the value, for each byte alignment: a radix-2^b
 * encoding's character i covers bits [b·i, b·i+b), so the characters wholly inside the value's bits are its core.
 */
function cores(value: Buffer, bitsPerChar: number, alignments: number, encode: (bytes: Buffer) => string): string[] {
  const out: string[] = [];
  for (let k = 0; k < alignments; k++) {
    const b = encode(Buffer.concat([Buffer.alloc(k), value]));
    const core = b.slice(Math.ceil((8 * k) / bitsPerChar), Math.floor((8 * (k + value.length)) / bitsPerChar));
    if (core.length >= MIN_SECRET_LENGTH) out.push(core);
  }
  return out;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 §6 base32, without padding. */
export function base32(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58 with the bitcoin alphabet (leading zero bytes as `1`). Quadratic in the length: values are short. */
export function base58(bytes: Buffer): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] as number) << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '';
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out += '1';
  for (let i = digits.length - 1; i >= 0; i--) out += BASE58[digits[i] as number];
  return out;
}

/** Each pattern with its encoding and whether letter case carries information in it (base64 and base58: yes). */
function encodings(value: string): Array<[ValueEncoding, string, boolean]> {
  const bytes = Buffer.from(value, 'utf8');
  const out: Array<[ValueEncoding, string, boolean]> = [
    ['raw', value, false],
    ['reversed', Array.from(value).reverse().join(''), false],
  ];
  for (const c of cores(bytes, 6, 3, (b) => b.toString('base64'))) out.push(['base64', c, true]);
  for (const c of cores(bytes, 6, 3, (b) => b.toString('base64url'))) out.push(['base64url', c, true]);
  for (const c of cores(bytes, 5, 5, base32)) out.push(['base32', c, false]);
  out.push(['base58', base58(bytes), true]);
  out.push(['hex', bytes.toString('hex'), false]);
  const url = encodeURIComponent(value);
  if (url !== value) out.push(['url', url, false], ['url', url.replace(/%20/g, '+'), false]);
  out.push(['percent', [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''), false]);
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) out.push(['json', json, false]);
  return out;
}

interface PatternMeta {
  readonly name: string;
  readonly encoding: ValueEncoding;
  readonly honeytoken: boolean;
  /** The pattern with ignorables stripped, case kept: what a hit is compared with. */
  readonly pattern: string;
  readonly caseSensitive: boolean;
}

export class SecretValueIndex {
  readonly #matcher: MultiMatcher;
  readonly #meta: PatternMeta[] = [];
  readonly held: readonly string[];
  readonly skipped: readonly string[];
  /** The longest pattern, in code units: a text that ends within this of a payload boundary can complete a match. */
  readonly longestPattern: number;

  constructor(secrets: readonly HeldSecret[]) {
    const patterns: string[] = [];
    const held: string[] = [];
    const skipped: string[] = [];
    let longest = 0;
    for (const s of secrets) {
      if (stripIgnorable(s.value).length < MIN_SECRET_LENGTH) {
        skipped.push(s.name);
        continue;
      }
      held.push(s.name);
      const seen = new Set<string>();
      for (const [encoding, raw, caseSensitive] of encodings(s.value)) {
        const pattern = stripIgnorable(raw);
        if (seen.has(pattern)) continue;
        seen.add(pattern);
        patterns.push(pattern);
        longest = Math.max(longest, pattern.length);
        this.#meta.push({ name: s.name, encoding, honeytoken: s.honeytoken === true, pattern, caseSensitive });
      }
    }
    this.#matcher = new MultiMatcher(patterns, { normalize: true });
    this.held = held;
    this.skipped = skipped;
    this.longestPattern = longest;
  }

  get patternCount(): number {
    return this.#meta.length;
  }

  /** Held secrets found in `text` (each name and encoding once, at most 64). */
  scan(text: string): SecretHit[] {
    const hits = new Map<string, SecretHit>();
    this.#matcher.each(text, (id, end) => {
      const meta = this.#meta[id];
      if (meta === undefined) return false;
      // The matcher compares folded text; case matters for some encodings, and the label says what was skipped.
      const how = compareBefore(text, end, meta.pattern);
      if (how === undefined || (how.caseDiffers && meta.caseSensitive)) return false;
      const encoding = `${meta.encoding === 'raw' && how.caseDiffers ? 'case_folded' : meta.encoding}${how.ignorable ? '+ignorable' : ''}`;
      hits.set(`${meta.name}\u0000${encoding}`, { name: meta.name, encoding, honeytoken: meta.honeytoken });
      return hits.size >= 64;
    });
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
