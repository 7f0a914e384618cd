/**
 * HTTP egress settings (SPEC §5.5): `extensionPolicy.http` for every extension and
 * `extensionPolicy.overrides.<id>.http` for one, resolved into the rules the egress check applies.
 *
 * Per extension, an override field replaces the default field, except `denyHosts`, which adds to the default
 * list: like `denyCaps`, a global deny cannot be undone by an override. An untrusted project file may only
 * tighten: its deny lists add, its allow lists narrow (a host must then match the user's list AND the
 * project's), its limits can only lower; `allowPrivate` from a project file is ignored with a warning.
 */
import Type, { type Static } from 'typebox';
import { grantText, parseHostPattern, parsePrivateGrant, type HostPattern, type ParseResult, type PrivateGrant } from './hostPatterns.ts';
import { overrideKey } from './extensionId.ts';

const HostList = Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, maxItems: 1000 });

export const HttpEgressSettings = Type.Object(
  {
    /** When set, only these hosts can be reached (host patterns). */
    allowHosts: Type.Optional(HostList),
    /** Never these hosts; wins over every allow. */
    denyHosts: Type.Optional(HostList),
    /** Private, loopback, link-local and other special addresses this extension may reach: host patterns or CIDRs. */
    allowPrivate: Type.Optional(HostList),
    maxRequestBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024 * 1024 * 1024 })),
    maxResponseBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024 * 1024 * 1024 })),
    maxRedirects: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type HttpEgressSettings = Static<typeof HttpEgressSettings>;

/** Built-in limits. Responses cross into the sandbox whole (base64), so they must fit its memory comfortably. */
export const EGRESS_DEFAULTS = Object.freeze({ maxRequestBytes: 10 * 1024 * 1024, maxResponseBytes: 16 * 1024 * 1024, maxRedirects: 5 });

export interface EgressLayer {
  readonly defaults: HttpEgressSettings;
  readonly overrides: Readonly<Record<string, HttpEgressSettings>>;
}

/** What the settings files said about egress, layer by layer (the project layer only tightens). */
export interface HttpEgressPolicy {
  readonly user: EgressLayer;
  readonly project: EgressLayer | undefined;
}

export const NO_EGRESS_SETTINGS: HttpEgressPolicy = Object.freeze({ user: { defaults: {}, overrides: {} }, project: undefined });

/** The rules for one extension, parsed. */
export interface EgressRules {
  readonly denyHosts: readonly HostPattern[];
  /** Every list must admit the host; empty: no allowlist. */
  readonly allowHosts: ReadonlyArray<readonly HostPattern[]>;
  readonly allowPrivate: readonly PrivateGrant[];
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly maxRedirects: number;
}

/** Every entry of a settings list, parsed (`parseHostPattern` or `parsePrivateGrant`). */
function parsed<T>(list: readonly string[] | undefined, parse: (text: string) => ParseResult<T>): T[] {
  const out: T[] = [];
  // Every entry parses: settings are validated first, and an invalid file means no egress settings at all.
  for (const t of list ?? []) {
    const p = parse(t);
    if (p.ok) out.push(p.value);
  }
  return out;
}

function pick<K extends keyof HttpEgressSettings>(layer: EgressLayer, id: string | undefined, key: K): HttpEgressSettings[K] {
  const o = id === undefined ? undefined : layer.overrides[id];
  return o?.[key] ?? layer.defaults[key];
}

/** Effective rules for an extension (or the defaults when `extensionId` is undefined). */
export function egressRulesFor(policy: HttpEgressPolicy, extensionId?: string): EgressRules {
  const layers = [policy.user, ...(policy.project === undefined ? [] : [policy.project])];
  const deny: string[] = [];
  const allow: HostPattern[][] = [];
  for (const layer of layers) {
    deny.push(
      ...(layer.defaults.denyHosts ?? []),
      ...((extensionId === undefined ? undefined : layer.overrides[extensionId]?.denyHosts) ?? []),
    );
    const a = pick(layer, extensionId, 'allowHosts');
    if (a !== undefined) allow.push(parsed(a, parseHostPattern));
  }
  // A project limit can only lower the user's (or the built-in) one.
  const limit = (key: 'maxRequestBytes' | 'maxResponseBytes' | 'maxRedirects') =>
    Math.min(
      pick(policy.user, extensionId, key) ?? EGRESS_DEFAULTS[key],
      (policy.project === undefined ? undefined : pick(policy.project, extensionId, key)) ?? Number.POSITIVE_INFINITY,
    );
  return {
    denyHosts: parsed([...new Set(deny)], parseHostPattern),
    allowHosts: allow,
    allowPrivate: parsed(pick(policy.user, extensionId, 'allowPrivate'), parsePrivateGrant),
    maxRequestBytes: limit('maxRequestBytes'),
    maxResponseBytes: limit('maxResponseBytes'),
    maxRedirects: limit('maxRedirects'),
  };
}

/** The extension ids either settings layer has egress overrides for. */
export function egressOverrideIds(policy: HttpEgressPolicy): Set<string> {
  return new Set([...Object.keys(policy.user.overrides), ...Object.keys(policy.project?.overrides ?? {})]);
}

/** Rules per extension id, parsed once per extension. */
export function egressRulesLookup(policy: HttpEgressPolicy): (extensionId: string) => EgressRules {
  const cache = new Map<string, EgressRules>();
  const base = egressRulesFor(policy);
  const named = egressOverrideIds(policy);
  return (id) => {
    if (!named.has(id)) return base;
    let r = cache.get(id);
    if (r === undefined) {
      r = egressRulesFor(policy, id);
      cache.set(id, r);
    }
    return r;
  };
}

/** Settings problems the schema cannot see: each host pattern and CIDR parsed for real. */
export function egressSettingsProblems(settings: unknown): Array<{ key: string; expected: string; actual: string }> {
  const out: Array<{ key: string; expected: string; actual: string }> = [];
  const policy = (settings as { extensionPolicy?: unknown } | null)?.extensionPolicy;
  if (policy === null || typeof policy !== 'object') return out;
  const check = (prefix: string, http: unknown) => {
    if (http === null || typeof http !== 'object') return;
    for (const key of ['allowHosts', 'denyHosts', 'allowPrivate'] as const) {
      const list = (http as Record<string, unknown>)[key];
      if (!Array.isArray(list)) continue;
      list.forEach((entry, i) => {
        if (typeof entry !== 'string' || entry === '') return;
        const r = key === 'allowPrivate' ? parsePrivateGrant(entry) : parseHostPattern(entry);
        if (!r.ok) out.push({ key: `${prefix}.${key}[${i}]`, expected: r.error, actual: JSON.stringify(entry) });
      });
    }
  };
  check('extensionPolicy.http', (policy as Record<string, unknown>).http);
  const overrides = (policy as Record<string, unknown>).overrides;
  if (overrides !== null && typeof overrides === 'object') {
    for (const [id, o] of Object.entries(overrides)) {
      if (o !== null && typeof o === 'object') check(`${overrideKey(id)}.http`, (o as Record<string, unknown>).http);
    }
  }
  return out;
}

/** `policy explain` data for the egress rules of one extension (or the defaults). */
export interface EgressExplanation {
  readonly schemes: readonly string[];
  readonly deny_hosts: readonly string[];
  /** Null: no allowlist (every public host). Several lists: a host must match each (user and project file). */
  readonly allow_hosts: ReadonlyArray<readonly string[]> | null;
  readonly allow_private: readonly string[];
  readonly max_request_bytes: number;
  readonly max_response_bytes: number;
  readonly max_redirects: number;
}

export function explainEgressRules(r: EgressRules): EgressExplanation {
  return {
    schemes: ['http', 'https'],
    deny_hosts: r.denyHosts.map((p) => p.text),
    allow_hosts: r.allowHosts.length === 0 ? null : r.allowHosts.map((l) => l.map((p) => p.text)),
    allow_private: r.allowPrivate.map(grantText),
    max_request_bytes: r.maxRequestBytes,
    max_response_bytes: r.maxResponseBytes,
    max_redirects: r.maxRedirects,
  };
}
