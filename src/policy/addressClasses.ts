/**
 * What "private" means for HTTP egress (SPEC §5.5): every address block of the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (RFC 6890 and updates) that is not a normal public destination, plus the
 * cloud metadata addresses. An address in one of these blocks is refused unless the extension's `allowPrivate`
 * names it; the `never` classes are refused even then (they are not a destination one connects to).
 *
 * IPv6 forms that carry an IPv4 address are judged by that address: IPv4-mapped (`::ffff:0:0/96`, through the
 * 16-byte representation), NAT64 (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002::/16`, RFC 3056), so
 * `64:ff9b::a9fe:a9fe` is the metadata address, not a public one.
 */
import { formatAddress, inPrefix, parseCidr, type Address, type UrlHost } from './hostPatterns.ts';

export const ADDRESS_CLASSES = [
  'loopback',
  'metadata',
  'link_local',
  'private',
  'shared_cgnat',
  'unique_local',
  'benchmarking',
  'documentation',
  'reserved',
  'unspecified',
  'multicast',
  'broadcast',
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** Not a destination: refused even when `allowPrivate` lists them. */
export const NEVER_ALLOWED: ReadonlySet<AddressClass> = new Set(['unspecified', 'multicast', 'broadcast']);

interface Block {
  readonly cidr: string;
  readonly class: AddressClass;
  readonly note: string;
}

/** Most specific first is not required: the longest matching prefix wins. */
export const SPECIAL_BLOCKS: readonly Block[] = [
  { cidr: '0.0.0.0/8', class: 'unspecified', note: '"this network"; 0.0.0.0 reaches the local host on Linux' },
  { cidr: '10.0.0.0/8', class: 'private', note: 'RFC 1918' },
  { cidr: '100.64.0.0/10', class: 'shared_cgnat', note: 'RFC 6598 carrier-grade NAT' },
  { cidr: '127.0.0.0/8', class: 'loopback', note: 'RFC 1122' },
  { cidr: '169.254.0.0/16', class: 'link_local', note: 'RFC 3927' },
  { cidr: '169.254.169.254/32', class: 'metadata', note: 'AWS, GCP, Azure, OCI, DigitalOcean instance metadata' },
  { cidr: '169.254.170.2/32', class: 'metadata', note: 'AWS ECS task metadata and credentials' },
  { cidr: '172.16.0.0/12', class: 'private', note: 'RFC 1918' },
  { cidr: '192.0.0.0/24', class: 'reserved', note: 'RFC 6890 IETF protocol assignments' },
  { cidr: '192.0.2.0/24', class: 'documentation', note: 'RFC 5737 TEST-NET-1' },
  { cidr: '192.88.99.0/24', class: 'reserved', note: 'RFC 7526 deprecated 6to4 relay anycast' },
  { cidr: '192.168.0.0/16', class: 'private', note: 'RFC 1918' },
  { cidr: '198.18.0.0/15', class: 'benchmarking', note: 'RFC 2544' },
  { cidr: '198.51.100.0/24', class: 'documentation', note: 'RFC 5737 TEST-NET-2' },
  { cidr: '203.0.113.0/24', class: 'documentation', note: 'RFC 5737 TEST-NET-3' },
  { cidr: '224.0.0.0/4', class: 'multicast', note: 'RFC 5771' },
  { cidr: '240.0.0.0/4', class: 'reserved', note: 'RFC 1112 future use' },
  { cidr: '255.255.255.255/32', class: 'broadcast', note: 'RFC 919 limited broadcast' },
  { cidr: '::/128', class: 'unspecified', note: 'RFC 4291' },
  { cidr: '::1/128', class: 'loopback', note: 'RFC 4291' },
  { cidr: '::/96', class: 'reserved', note: 'RFC 4291 deprecated IPv4-compatible addresses' },
  { cidr: '64:ff9b:1::/48', class: 'private', note: 'RFC 8215 local-use NAT64' },
  { cidr: '100::/64', class: 'reserved', note: 'RFC 6666 discard-only' },
  { cidr: '2001::/23', class: 'reserved', note: 'RFC 2928 IETF protocol assignments (Teredo, ORCHID, ...)' },
  { cidr: '2001:2::/48', class: 'benchmarking', note: 'RFC 5180' },
  { cidr: '2001:db8::/32', class: 'documentation', note: 'RFC 3849' },
  { cidr: '3fff::/20', class: 'documentation', note: 'RFC 9637' },
  { cidr: 'fc00::/7', class: 'unique_local', note: 'RFC 4193' },
  { cidr: 'fd00:ec2::254/128', class: 'metadata', note: 'AWS instance metadata over IPv6' },
  { cidr: 'fe80::/10', class: 'link_local', note: 'RFC 4291' },
  { cidr: 'fec0::/10', class: 'private', note: 'RFC 3879 deprecated site-local' },
  { cidr: 'ff00::/8', class: 'multicast', note: 'RFC 4291' },
];

/** Prefixes whose addresses embed an IPv4 address, and where it sits. */
const EMBEDDING: ReadonlyArray<{ cidr: string; offset: number; note: string }> = [
  { cidr: '64:ff9b::/96', offset: 12, note: 'NAT64' },
  { cidr: '2002::/16', offset: 2, note: '6to4' },
];

interface ParsedBlock extends Block {
  readonly address: Address;
  readonly bits: number;
}

const parse = (cidr: string) => {
  const c = parseCidr(cidr);
  if (!c.ok) throw new Error(`bad built-in block ${cidr}: ${c.error}`);
  return c.value;
};

const BLOCKS: readonly ParsedBlock[] = SPECIAL_BLOCKS.map((b) => ({ ...b, ...parse(b.cidr) })).sort((a, b) => b.bits - a.bits);
const EMBEDDED = EMBEDDING.map((e) => ({ ...e, ...parse(e.cidr) }));

export interface AddressVerdict {
  /** Undefined: a public address. */
  readonly class: AddressClass | undefined;
  /** The special block it fell in, e.g. `127.0.0.0/8`, `64:ff9b::/96 (NAT64) → 169.254.169.254/32`. */
  readonly block: string | undefined;
}

const PUBLIC: AddressVerdict = Object.freeze({ class: undefined, block: undefined });

export function classifyAddress(a: Address): AddressVerdict {
  for (const b of BLOCKS) if (inPrefix(a, b.address, b.bits)) return { class: b.class, block: b.cidr };
  for (const e of EMBEDDED) {
    if (!inPrefix(a, e.address, e.bits)) continue;
    const v4 = new Uint8Array(16);
    v4[10] = 0xff;
    v4[11] = 0xff;
    v4.set(a.subarray(e.offset, e.offset + 4), 12);
    const inner = classifyAddress(v4);
    if (inner.class !== undefined)
      return { class: inner.class, block: `${e.cidr} (${e.note} of ${formatAddress(v4)}) → ${inner.block ?? ''}` };
    return PUBLIC;
  }
  return PUBLIC;
}

/** Host names that are loopback by definition (RFC 6761 §6.3) or by every common hosts file. */
export function isLoopbackName(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === 'localhost.localdomain' ||
    host === 'ip6-localhost' ||
    host === 'ip6-loopback'
  );
}

/** Names of cloud metadata services: they resolve to a metadata address inside the cloud, so they are one too. */
const METADATA_NAMES: ReadonlySet<string> = new Set(['metadata.google.internal']);

/**
 * The class of a request's destination without asking DNS: an IP literal by its block, a loopback or metadata
 * service name by its name; undefined for a public address or any other name.
 */
export function classifyHost(t: UrlHost): AddressClass | undefined {
  if (t.address !== undefined) return classifyAddress(t.address).class;
  if (isLoopbackName(t.host)) return 'loopback';
  return METADATA_NAMES.has(t.host) ? 'metadata' : undefined;
}
