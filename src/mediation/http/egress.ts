/**
 * HTTP egress (SPEC §5.5): which URLs and addresses an extension may reach. One set of pure checks used twice:
 *
 * - before the call, as the `mediation` stage for `http` (the URL as given: scheme, userinfo, host lists, IP
 *   literals and localhost names, request body size), so a refusal costs no DNS query and no socket;
 * - by the HTTP operation (src/mediation/http/operation.ts) on every address a name resolves to and on every redirect hop.
 *
 * Order of the checks (the first refusal is reported): URL parse → scheme → userinfo → deny list → allow lists
 * → private address → size. Deny wins over allow and over allowPrivate. Refusals are `denied` with reason codes
 * `egress` + `egress_<what>` (+ `egress_class_<class>` for an address), raise a `policy_violation` alert
 * (critical for a cloud metadata address) and never carry the URL's path, query or userinfo into an alert.
 */
import { addReason, type DispatchContext, type Operation, type StageOutcome, type SyncStage } from '../../dispatch/index.ts';
import { decisionError, isWardenError, type ReasonCode, type WardenError } from '../../errors.ts';
import type { AlertSink, Severity } from '../../evidence/index.ts';
import {
  type Address,
  ADDRESS_CLASSES,
  type AddressClass,
  classifyAddress,
  type EgressRules,
  formatAddress,
  inPrefix,
  isLoopbackName,
  matchesAnyHost,
  matchHostPattern,
  NEVER_ALLOWED,
  parseAddress,
  type PrivateGrant,
  sameAddress,
  urlHost,
  type UrlHost,
} from '../../policy/index.ts';

export const EGRESS_REASONS = [
  'egress_url_invalid',
  'egress_scheme',
  'egress_userinfo',
  'egress_host_denied',
  'egress_host_not_allowed',
  'egress_private_address',
  'egress_size_limit',
  'egress_resolve_failed',
  'egress_resolve_invalid',
  'egress_redirect_limit',
  'egress_redirect_scheme',
  'egress_redirect_downgrade',
  'egress_redirect_denied',
  'egress_redirect_invalid',
  'egress_redirect_error',
] as const;
export type EgressReason = (typeof EGRESS_REASONS)[number];

/**
 * Every egress refusal records `egress`, its reason, and for an address `egress_class_<class>`; a request naming
 * both body forms is `egress_body_ambiguous` (an invalid request, not a destination refused).
 */
export const EGRESS_MARKS = ['egress', 'egress_body_ambiguous'] as const;
export type EgressClassReason = `egress_class_${AddressClass}`;
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    egress: EgressReason | (typeof EGRESS_MARKS)[number] | EgressClassReason;
  }
}

export function egressClassReason(c: AddressClass): EgressClassReason {
  return `egress_class_${c}`;
}

export function isEgressClassReason(code: string): code is EgressClassReason {
  return code.startsWith('egress_class_') && (ADDRESS_CLASSES as readonly string[]).includes(code.slice('egress_class_'.length));
}

/** The request's destination, in the form the checks compare (`urlHost`), with the URL it came from. */
export interface EgressTarget extends UrlHost {
  readonly url: URL;
  /** `scheme://host:port`: what alerts and messages show (never path, query or userinfo). */
  readonly origin: string;
}

export interface EgressRefusal {
  readonly reason: EgressReason;
  readonly message: string;
  readonly addressClass?: AddressClass | undefined;
}

const SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:']);
/** Where a loopback name leads, for an `allowPrivate` CIDR. */
const LOOPBACK = [parseAddress('127.0.0.1'), parseAddress('::1')] as Address[];

/** Parses a URL as fetch would. A URL that does not parse is `egress_url_invalid`. */
export function parseTarget(raw: string): { ok: true; target: EgressTarget } | { ok: false; refusal: EgressRefusal } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return {
      ok: false,
      refusal: {
        reason: 'egress_url_invalid',
        message: `the URL does not parse (${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '…' : ''})`,
      },
    };
  }
  return { ok: true, target: targetOf(url) };
}

/** A parsed URL in the form the checks compare. */
function targetOf(url: URL): EgressTarget {
  const { host, port, address } = urlHost(url);
  const shownHost = address !== undefined && url.hostname.startsWith('[') ? `[${host}]` : host.slice(0, 100);
  const origin = SCHEMES.has(url.protocol)
    ? `${url.protocol}//${shownHost}:${port}`
    : `${url.protocol.slice(0, 20)}${shownHost === '' ? '' : `//${shownHost}`}`;
  return { url, host, port, address, origin };
}

function grantAdmits(g: PrivateGrant, t: EgressTarget, address: Address | undefined, metadata: boolean): boolean {
  if (g.kind === 'cidr') {
    if (address === undefined) return false;
    // A metadata address must be listed by itself: a block such as 169.254.0.0/16 does not open it.
    return metadata ? g.cidr.single && sameAddress(g.cidr.address, address) : inPrefix(address, g.cidr.address, g.cidr.bits);
  }
  if (metadata && g.pattern.wildcard) return false;
  return matchHostPattern(g.pattern, t.host, t.port, t.address);
}

function hint(extensionId: string, key: string): string {
  return `extensionPolicy.overrides.${extensionId}.http.${key}`;
}

/**
 * Checks an address the request would connect to: the IP literal of the URL, or one address its name resolved
 * to. Deny-list IP patterns apply to resolved addresses too.
 */
export function checkAddress(t: EgressTarget, address: Address, rules: EgressRules, extensionId: string): EgressRefusal | undefined {
  const text = formatAddress(address);
  if (rules.denyHosts.some((p) => p.address !== undefined && matchHostPattern(p, t.host, t.port, address))) {
    return { reason: 'egress_host_denied', message: `${t.origin} is ${text}, which is on the deny list` };
  }
  const v = classifyAddress(address);
  if (v.class === undefined) return undefined;
  const via = t.address === undefined ? `${t.host} resolves to ${text}` : `${t.origin} is ${text}`;
  if (NEVER_ALLOWED.has(v.class)) {
    return {
      reason: 'egress_private_address',
      addressClass: v.class,
      message: `${via}, a ${v.class} address (${v.block ?? ''}); never allowed`,
    };
  }
  const metadata = v.class === 'metadata';
  if (rules.allowPrivate.some((g) => grantAdmits(g, t, address, metadata))) return undefined;
  return {
    reason: 'egress_private_address',
    addressClass: v.class,
    message: `${via}, a ${v.class.replace('_', '-')} address (${v.block ?? ''}); refused unless ${hint(extensionId, 'allowPrivate')} lists it${metadata ? ' by itself' : ''}`,
  };
}

/** The checks on the URL alone (no DNS): scheme, userinfo, host lists, IP literals, localhost names. */
export function checkTarget(t: EgressTarget, rules: EgressRules, extensionId: string): EgressRefusal | undefined {
  const { url } = t;
  if (!SCHEMES.has(url.protocol)) {
    return { reason: 'egress_scheme', message: `the scheme ${url.protocol.slice(0, 20)} is not allowed (only http: and https:)` };
  }
  // fetch refuses credentials in a URL too; here they would also be an exfiltration channel in plain sight.
  if (url.username !== '' || url.password !== '') {
    return { reason: 'egress_userinfo', message: `${t.origin}: credentials in the URL are refused (send an Authorization header instead)` };
  }
  if (t.host === '') return { reason: 'egress_url_invalid', message: 'the URL has no host' };
  if (matchesAnyHost(rules.denyHosts, t)) {
    return { reason: 'egress_host_denied', message: `${t.origin} is on the deny list` };
  }
  for (const list of rules.allowHosts) {
    if (!matchesAnyHost(list, t)) {
      return {
        reason: 'egress_host_not_allowed',
        message: `${t.origin} is not in the allowed hosts (${list.map((p) => p.text).join(', ') || 'none'}); see ${hint(extensionId, 'allowHosts')}`,
      };
    }
  }
  if (t.address !== undefined) return checkAddress(t, t.address, rules, extensionId);
  if (isLoopbackName(t.host)) {
    const granted = rules.allowPrivate.some((g) =>
      g.kind === 'host' ? matchHostPattern(g.pattern, t.host, t.port) : LOOPBACK.some((a) => inPrefix(a, g.cidr.address, g.cidr.bits)),
    );
    if (!granted) {
      return {
        reason: 'egress_private_address',
        addressClass: 'loopback',
        message: `${t.origin} is a loopback name; refused unless ${hint(extensionId, 'allowPrivate')} lists it`,
      };
    }
  }
  return undefined;
}

/** Request body size: `body` in UTF-8 bytes or `bodyBase64` decoded; both at once is malformed. */
export function requestBodyBytes(params: Readonly<Record<string, unknown>>): number | undefined {
  const { body, bodyBase64 } = params;
  if (typeof body === 'string' && typeof bodyBase64 === 'string') return undefined;
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8');
  if (typeof bodyBase64 === 'string') return Buffer.byteLength(bodyBase64, 'base64');
  return 0;
}

export function checkRequestSize(size: number, rules: EgressRules, extensionId: string): EgressRefusal | undefined {
  if (size <= rules.maxRequestBytes) return undefined;
  return {
    reason: 'egress_size_limit',
    message: `the request body is ${size} bytes, over the limit of ${rules.maxRequestBytes} (${hint(extensionId, 'maxRequestBytes')})`,
  };
}

/** The checks on a redirect hop before anything is sent to it. */
export function checkRedirect(
  from: EgressTarget,
  location: string,
  hop: number,
  rules: EgressRules,
  extensionId: string,
): { ok: true; target: EgressTarget } | { ok: false; refusal: EgressRefusal; cause?: EgressRefusal } {
  if (hop > rules.maxRedirects) {
    return {
      ok: false,
      refusal: {
        reason: 'egress_redirect_limit',
        message: `${from.origin} redirected more than ${rules.maxRedirects} time(s) (${hint(extensionId, 'maxRedirects')})`,
      },
    };
  }
  let next: URL;
  try {
    next = new URL(location, from.url);
  } catch {
    return {
      ok: false,
      refusal: { reason: 'egress_redirect_invalid', message: `${from.origin} redirected to a Location that does not parse` },
    };
  }
  const to = targetOf(next);
  if (!SCHEMES.has(next.protocol)) {
    return {
      ok: false,
      refusal: {
        reason: 'egress_redirect_scheme',
        message: `${from.origin} redirected to the scheme ${next.protocol.slice(0, 20)}; only http: and https: are followed`,
      },
    };
  }
  if (from.url.protocol === 'https:' && next.protocol === 'http:') {
    return {
      ok: false,
      refusal: {
        reason: 'egress_redirect_downgrade',
        message: `${from.origin} redirected from https to ${to.origin}; a downgrade to plain http is refused`,
      },
    };
  }
  const cause = checkTarget(to, rules, extensionId);
  if (cause !== undefined) {
    return {
      ok: false,
      refusal: {
        reason: 'egress_redirect_denied',
        addressClass: cause.addressClass,
        message: `${from.origin} redirected to a refused destination: ${cause.message}`,
      },
      cause,
    };
  }
  return { ok: true, target: to };
}

/** The error an egress refusal becomes: `denied`, reason codes `egress`, the reason, and the address class. */
export function egressError(refusal: EgressRefusal, origin: string | undefined, cause?: EgressRefusal): WardenError {
  const codes: ReasonCode[] = ['egress', refusal.reason];
  if (cause !== undefined && cause.reason !== refusal.reason) codes.push(cause.reason);
  if (refusal.addressClass !== undefined) codes.push(egressClassReason(refusal.addressClass));
  const code =
    refusal.reason === 'egress_url_invalid'
      ? 'invalid_request'
      : refusal.reason === 'egress_resolve_failed' || refusal.reason === 'egress_redirect_error'
        ? 'io'
        : 'denied';
  return decisionError(code, `http: ${refusal.message}`, { reasonCodes: codes, ...(origin === undefined ? {} : { where: origin }) });
}

function severityOf(codes: readonly string[]): Severity {
  if (codes.includes('egress_class_metadata')) return 'critical';
  if (
    codes.includes('egress_private_address') ||
    codes.includes('egress_userinfo') ||
    codes.includes('egress_redirect_denied') ||
    codes.includes('egress_redirect_downgrade')
  )
    return 'high';
  if (codes.includes('egress_size_limit') || codes.includes('egress_redirect_limit')) return 'low';
  return 'medium';
}

/** One `policy_violation` alert per extension and reason per second; the summary names the origin only. */
export function egressAlerter(
  alerts: AlertSink | undefined,
): (ctx: { extensionId: string; callId: string; ts: number }, error: WardenError) => void {
  const last = new Map<string, number>();
  return (ctx, error) => {
    if (alerts === undefined || error.code === 'io' || error.code === 'invalid_request') return;
    const reasons = error.reasonCodes.filter((c) => c.startsWith('egress_'));
    const key = `${ctx.extensionId}\u0000${reasons.join(',')}`;
    const prev = last.get(key);
    if (prev !== undefined && ctx.ts - prev < 1000) return;
    if (last.size > 10_000) last.clear();
    last.set(key, ctx.ts);
    try {
      alerts.raise({
        ts_ms: ctx.ts,
        extension_id: ctx.extensionId,
        category: 'policy_violation',
        severity: severityOf(error.reasonCodes),
        capability: 'http',
        method: 'http',
        call_id: ctx.callId,
        summary:
          `${ctx.extensionId} tried to reach ${error.where ?? 'a refused destination'}: refused (${reasons.map((r) => r.replace(/^egress_/, '').replace(/_/g, ' ')).join(', ')})`.slice(
            0,
            500,
          ),
        reason_codes: error.reasonCodes,
        remediation: error.reasonCodes.includes('egress_class_metadata')
          ? 'A sandboxed extension asked for cloud instance metadata (credentials): kill it (`pi-warden trust kill`) and investigate (runbook INC-2)'
          : error.reasonCodes.includes('egress_host_denied')
            ? // Deny lists are consulted before allow lists: an allowHosts entry cannot lift a denyHosts match.
              `The destination is on a denyHosts list (extensionPolicy.http.denyHosts, overrides.${ctx.extensionId}.http.denyHosts or the project's); allowHosts cannot lift it: remove it from that list only if the destination is trusted, and check \`pi-warden policy explain --extension ${ctx.extensionId}\`; otherwise investigate the extension (runbook INC-1)`
            : `If the destination is expected, add it to extensionPolicy.overrides.${ctx.extensionId}.http (allowHosts / allowPrivate) and check \`pi-warden policy explain --extension ${ctx.extensionId}\`; otherwise investigate the extension (runbook INC-1)`,
      });
    } catch {
      // the ledger entry carries the decision
    }
  };
}

export interface EgressStageOptions {
  readonly rules: (extensionId: string) => EgressRules;
  readonly alerts?: AlertSink | undefined;
}

/** The pre-flight check of `http` calls, for the `mediation` chain (after the outbound secret scan). */
export function createEgressStage(o: EgressStageOptions): SyncStage {
  const alert = egressAlerter(o.alerts);
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      if (ctx.method !== 'http') return undefined;
      const rules = o.rules(ctx.extensionId);
      const parsed = parseTarget(String(ctx.params.url));
      let refusal: EgressRefusal | undefined;
      let origin: string | undefined;
      if (!parsed.ok) {
        refusal = parsed.refusal;
      } else {
        origin = parsed.target.origin;
        refusal = checkTarget(parsed.target, rules, ctx.extensionId);
        if (refusal === undefined) {
          const size = requestBodyBytes(ctx.params);
          if (size === undefined)
            return decisionError('invalid_request', 'http: body and bodyBase64 cannot both be given', {
              reasonCodes: ['egress', 'egress_body_ambiguous'],
            });
          refusal = checkRequestSize(size, rules, ctx.extensionId);
        }
      }
      if (refusal === undefined) return undefined;
      const error = egressError(refusal, origin);
      for (const c of error.reasonCodes) addReason(ctx, c);
      alert({ extensionId: ctx.extensionId, callId: ctx.callId, ts: ctx.startedMs }, error);
      return error;
    },
  };
}

/**
 * Wraps the `http` operation so the refusals only it can make (a name resolving to a private address, a
 * redirect to a refused destination) raise the same alerts as the stage's.
 */
export function alertEgressRefusals(op: Operation, alerts: AlertSink | undefined): Operation {
  const alert = egressAlerter(alerts);
  return async (params, ctx) => {
    try {
      return await op(params, ctx);
    } catch (err) {
      if (isWardenError(err) && err.reasonCodes.includes('egress'))
        alert({ extensionId: ctx.extensionId, callId: ctx.callId, ts: Date.now() }, err);
      throw err;
    }
  };
}
