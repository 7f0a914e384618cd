/**
 * The two kinds of entry the HTTP egress settings hold (SPEC §5.5), parsed once into a canonical form:
 *
 * - a host pattern: `api.example.com`, `*.example.com` (the name itself and every subdomain), an IP literal
 *   (`127.0.0.1`, `[::1]`), each with an optional `:port`. No scheme, path, query or userinfo. Names are
 *   normalised as the WHATWG URL parser does for a request (lower case, IDNA to punycode, odd IPv4 forms such as
 *   `0x7f.1` to dotted quads), so a pattern and a request URL compare in the same form.
 * - a CIDR block: `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128), strict notation only.
 *
 * Addresses are 16 bytes; an IPv4 address is held as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, RFC 4291
 * §2.5.5.2), so `::ffff:127.0.0.1` and `127.0.0.1` are one address and IPv4 blocks are /96 + n.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Address = Uint8Array;

export interface HostPattern {
  /** Canonical text, e.g. `*.example.com:8443`, `[::1]`. */
  readonly text: string;
  /** Canonical host without brackets or wildcard (`example.com`, `::1`, `127.0.0.1`). */
  readonly host: string;
  /** `*.host`: the host and every name under it. */
  readonly wildcard: boolean;
  /** Only this port when set; any port otherwise. */
  readonly port: number | undefined;
  /** Set when the host is an IP literal. */
  readonly address: Address | undefined;
}

export interface Cidr {
  readonly text: string;
  readonly address: Address;
  /** Prefix length in the 128-bit space (an IPv4 /8 is 104). */
  readonly bits: number;
  /** True when it names exactly one address. */
  readonly single: boolean;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });
const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });

/** Strict IPv4 dotted quad or IPv6 text (node:net rules; zone ids dropped) to 16 bytes; undefined otherwise. */
export function parseAddress(text: string): Address | undefined {
  const zone = text.indexOf('%');
  const t = zone >= 0 ? text.slice(0, zone) : text;
  if (isIPv4(t)) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    t.split('.').forEach((p, i) => {
      out[12 + i] = Number(p);
    });
    return out;
  }
  if (!isIPv6(t)) return undefined;
  let head = t;
  let tail: number[] = [];
  const lastColon = t.lastIndexOf(':');
  if (t.includes('.')) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) becomes two 16-bit groups.
    const v4 = t
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
    // `::ffff:1.2.3.4` → head `::ffff`; `::1.2.3.4` → head `::` (the gap stays).
    head = t.slice(0, lastColon + 1).endsWith('::') ? t.slice(0, lastColon + 1) : t.slice(0, lastColon);
  }
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let words: number[];
  const gap = head.indexOf('::');
  if (gap >= 0) {
    const left = groups(head.slice(0, gap));
    const right = [...groups(head.slice(gap + 2)), ...tail];
    words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    words = [...groups(head), ...tail];
  }
  if (words.length !== 8) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function isMappedIPv4(a: Address): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

/** `127.0.0.1` for a mapped IPv4 address, compressed RFC 5952 text for IPv6. */
export function formatAddress(a: Address): string {
  if (isMappedIPv4(a)) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  return formatV6(a);
}

function formatV6(a: Address): string {
  const words = Array.from({ length: 8 }, (_, i) => ((a[2 * i] ?? 0) << 8) | (a[2 * i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Whether the first `bits` bits of `a` equal those of `prefix`. */
export function inPrefix(a: Address, prefix: Address, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== prefix[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] ?? 0) & mask) === ((prefix[whole] ?? 0) & mask);
}

export function sameAddress(a: Address, b: Address): boolean {
  return inPrefix(a, b, 128);
}

/** `10.0.0.0/8`, `fd00::/8`, or one address. Host bits must be zero, so a typo cannot silently widen a block. */
export function parseCidr(text: string): ParseResult<Cidr> {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addrText);
  if (address === undefined || addrText.includes('%')) return fail('an IPv4 or IPv6 address in standard notation, optionally with /prefix');
  const v4 = isIPv4(addrText);
  const max = v4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return fail(`a prefix length 0-${max} after the slash`);
    len = Number(p);
  }
  const bits = v4 ? 96 + len : len;
  const masked = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    masked[i] = (address[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  // IPv4 blocks keep their ::ffff: prefix (the first 96 bits are always kept for them).
  if (!sameAddress(masked, address)) return fail(`a block with its host bits zero (did you mean ${formatAddress(masked)}/${len}?)`);
  const shown = isMappedIPv4(masked) && bits >= 96 ? `${formatAddress(masked)}/${bits - 96}` : `${formatV6(masked)}/${bits}`;
  return ok({ text: shown, address: masked, bits, single: bits === 128 });
}

const HOST_PATTERN_HELP =
  'a host pattern such as api.example.com, *.example.com, 127.0.0.1, [::1] or example.com:8443 (no scheme, path, query or userinfo)';

/** The host of a request URL in the form patterns use: brackets and one trailing dot removed. */
export function canonicalHost(urlHostname: string): string {
  let h = urlHostname;
  if (h.startsWith('[') && h.endsWith(']')) return h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function parseHostPattern(text: string): ParseResult<HostPattern> {
  if (text.length === 0 || text.length > 300) return fail(HOST_PATTERN_HELP);
  if (/[\s/?#@\\]/.test(text) || text.includes('://')) return fail(HOST_PATTERN_HELP);
  let rest = text;
  const wildcard = rest.startsWith('*.');
  if (wildcard) rest = rest.slice(2);
  if (rest.includes('*')) return fail(`${HOST_PATTERN_HELP}; "*." is only allowed at the start`);
  let port: number | undefined;
  const portMatch = /^(.*[^:]):(\d{1,5})$/.exec(rest);
  if (portMatch !== null && (rest.startsWith('[') ? portMatch[1]?.endsWith(']') === true : !(portMatch[1] ?? '').includes(':'))) {
    port = Number(portMatch[2]);
    if (port < 1 || port > 65535) return fail('a port 1-65535');
    rest = portMatch[1] ?? '';
  }
  if (!rest.startsWith('[') && rest.includes(':')) return fail(`${HOST_PATTERN_HELP}; write an IPv6 address in brackets`);
  let hostname: string;
  try {
    hostname = new URL(`http://${rest}/`).hostname;
  } catch {
    return fail(HOST_PATTERN_HELP);
  }
  const host = canonicalHost(hostname);
  if (host === '' || host.endsWith('.') || host.startsWith('.')) return fail(HOST_PATTERN_HELP);
  const address = parseAddress(host);
  if (wildcard && address !== undefined) return fail('a wildcard over a name, not an IP address');
  const shownHost = address === undefined ? host : isMappedIPv4(address) ? formatAddress(address) : `[${formatAddress(address)}]`;
  return ok({ text: `${wildcard ? '*.' : ''}${shownHost}${port === undefined ? '' : `:${port}`}`, host, wildcard, port, address });
}

/** A request's destination in the form patterns compare. */
export interface UrlHost {
  /** Lower case, punycode, no brackets, no trailing dot (`canonicalHost`). */
  readonly host: string;
  /** The effective port: the URL's, else 443 for https and 80 otherwise. */
  readonly port: number;
  /** Set when the host is an IP literal (after WHATWG normalisation: `0x7f.1` is 127.0.0.1). */
  readonly address: Address | undefined;
}

/** The destination of a parsed URL, as every host check (egress lists, risk's allowlist and host classes) reads it. */
export function urlHost(url: URL): UrlHost {
  const host = canonicalHost(url.hostname);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // WHATWG URL has already turned every IPv4 spelling into a dotted quad: a name never looks like one.
  const address = url.hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host) ? parseAddress(host) : undefined;
  return { host, port, address };
}

/**
 * Whether a request's canonical host (and its address, when the host is an IP literal or was resolved) and
 * effective port match the pattern. An IP pattern matches by address, so `127.0.0.1` and `[::ffff:7f00:1]` agree.
 */
export function matchHostPattern(p: HostPattern, host: string, port: number, address?: Address): boolean {
  if (p.port !== undefined && p.port !== port) return false;
  if (p.address !== undefined) return address !== undefined && sameAddress(p.address, address);
  if (host === p.host) return true;
  return p.wildcard && host.length > p.host.length && host.endsWith(p.host) && host[host.length - p.host.length - 1] === '.';
}

/** Whether any pattern of a list admits the destination. */
export function matchesAnyHost(patterns: readonly HostPattern[], t: UrlHost): boolean {
  return patterns.some((p) => matchHostPattern(p, t.host, t.port, t.address));
}

/**
 * A host list from settings as one predicate (`extensionRisk.allowedHosts`): the same patterns, parsed the same
 * way, as the egress lists. An entry that does not parse matches nothing; settings validation reports it.
 */
export function hostListMatcher(texts: readonly string[]): (t: UrlHost) => boolean {
  const patterns: HostPattern[] = [];
  for (const text of texts) {
    const p = parseHostPattern(text);
    if (p.ok) patterns.push(p.value);
  }
  return (t) => matchesAnyHost(patterns, t);
}

/** An `allowPrivate` entry: a CIDR (contains `/` or is a bare address) or else a host pattern. */
export type PrivateGrant = { readonly kind: 'cidr'; readonly cidr: Cidr } | { readonly kind: 'host'; readonly pattern: HostPattern };

export function parsePrivateGrant(text: string): ParseResult<PrivateGrant> {
  if (text.includes('/') || parseAddress(text) !== undefined) {
    const c = parseCidr(text);
    return c.ok ? ok({ kind: 'cidr', cidr: c.value }) : fail(`a CIDR block or host pattern: ${c.error}`);
  }
  const p = parseHostPattern(text);
  return p.ok ? ok({ kind: 'host', pattern: p.value }) : p;
}

export function grantText(g: PrivateGrant): string {
  return g.kind === 'cidr' ? g.cidr.text : g.pattern.text;
}
