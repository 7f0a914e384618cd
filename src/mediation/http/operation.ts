/**
 * The `http` operation (SPEC §5.5): a real request with node:http / node:https, under the egress rules.
 *
 * - DNS is resolved here, once per hop; every address is checked (egress.ts) before any connection, and the
 *   socket connects only to those checked addresses (a pinned `lookup`), so a name cannot resolve to a public
 *   address for the check and to 127.0.0.1 for the connection (DNS rebinding). Host header and TLS SNI keep the
 *   name; certificates are verified against it.
 * - Redirects are followed by hand (`redirect: follow | manual | error`, at most `maxRedirects`): each hop's
 *   URL and addresses are checked again, https → http is refused, and Authorization, Cookie and
 *   Proxy-Authorization are dropped when the origin changes.
 * - The request body limit is checked before anything is sent; the response body limit while it streams (the
 *   request is aborted at the first byte over, and a Content-Length over the limit is refused unread).
 * - Every buffered chunk is charged to the extension's host-bytes budget (dispatch/hostBytes.ts) across all its calls
 *   in flight: over it, the request is aborted and the call fails with `quota_exceeded` (`host_bytes`).
 * - The call's `timeoutMs` and the dispatcher's abort signal end the request, DNS included.
 * - No proxy (HTTP_PROXY and friends are ignored), no connection reuse between calls, no automatic
 *   decompression (`Accept-Encoding` from the extension is dropped, so servers answer uncompressed and the
 *   size limit counts what the extension receives).
 *
 * The reply is what the sandbox's fetch and node:http shims read: `{status, statusText, headers, bodyBase64,
 * url, redirected}`.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { Operation, OperationContext } from '../../dispatch/index.ts';
import { decisionError, isWardenError, systemErrorReason, WardenError } from '../../errors.ts';
import { type EgressRules, isMappedIPv4, parseAddress } from '../../policy/index.ts';
import {
  checkAddress,
  checkRedirect,
  checkRequestSize,
  checkTarget,
  egressError,
  parseTarget,
  requestBodyBytes,
  type EgressRefusal,
  type EgressTarget,
} from './egress.ts';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to its addresses. The default is the system resolver (getaddrinfo, /etc/hosts included). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface HttpOperationOptions {
  /** The egress rules of an extension (`egressRulesLookup(resolvedPolicy.httpEgress)`). */
  readonly rules: (extensionId: string) => EgressRules;
  readonly resolve?: Resolver;
  /** Timeout when the call gives none (`timeoutMs` 0 or absent). Default 30 s. */
  readonly defaultTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM), e.g. a test server's or a corporate root. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

export interface HttpReply {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Record<string, string>;
  readonly bodyBase64: string;
  readonly url: string;
  readonly redirected: boolean;
}

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' });

/** Hop-by-hop and framing headers the host sets itself; `host` too, so a request cannot name another vhost. */
const DROPPED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  'http2-settings',
  'accept-encoding',
]);
/** Dropped on a cross-origin redirect (as fetch and curl do). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'cookie2', 'proxy-authorization'];
/** Dropped when a redirect turns the request into a GET without body (fetch "request-body-header names"). */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];
/** Refusals and failures of the request itself; transport failures carry the system's code (`ECONNRESET`). */
export const HTTP_REASONS = ['http_header_invalid', 'http_aborted', 'http_timeout'] as const;
export type HttpReason = (typeof HTTP_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    http: HttpReason;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_ADDRESSES = 64;

function requestHeaders(given: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (given === undefined || given === null) return out;
  for (const [name, value] of Object.entries(given as Record<string, unknown>)) {
    const key = name.toLowerCase();
    if (!TOKEN.test(key))
      throw new WardenError('invalid_request', `http: header name ${JSON.stringify(name.slice(0, 40))} is not a valid token`, {
        reasonCodes: ['http_header_invalid'],
      });
    if (typeof value !== 'string' || /[\r\n\0]/.test(value))
      throw new WardenError('invalid_request', `http: header ${key} has a value with CR, LF or NUL`, {
        reasonCodes: ['http_header_invalid'],
      });
    if (DROPPED_HEADERS.has(key) || (key.startsWith('proxy-') && key !== 'proxy-authorization')) continue;
    out[key] = value;
  }
  return out;
}

function replyHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

const sameOrigin = (a: URL, b: URL) => a.protocol === b.protocol && a.host === b.host;

function abortError(signal: AbortSignal): WardenError {
  const reason: unknown = signal.reason;
  return isWardenError(reason) ? reason : new WardenError('timeout', 'http: the call was aborted', { reasonCodes: ['http_aborted'] });
}

/** Resolves a promise or rejects when the signal aborts (a DNS query cannot be cancelled; its answer is dropped). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The addresses to connect to, each checked right here, next to the connect (a literal is its own address and
 * is checked again, whatever ran before). Fails closed on anything odd.
 */
async function resolveChecked(
  t: EgressTarget,
  rules: EgressRules,
  extensionId: string,
  resolve: Resolver,
  signal: AbortSignal,
  hop: number,
): Promise<LookupAddress[]> {
  const refuse = (refusal: EgressRefusal) =>
    hop === 0
      ? egressError(refusal, t.origin)
      : egressError(
          {
            reason: 'egress_redirect_denied',
            addressClass: refusal.addressClass,
            message: `a redirect led to a refused destination: ${refusal.message}`,
          },
          t.origin,
          refusal,
        );
  if (t.address !== undefined) {
    const refusal = checkAddress(t, t.address, rules, extensionId);
    if (refusal !== undefined) throw refuse(refusal);
    return [{ address: t.host, family: isMappedIPv4(t.address) ? 4 : 6 }];
  }
  let answers: readonly ResolvedAddress[];
  try {
    answers = await raceAbort(
      Promise.resolve().then(() => resolve(t.host)),
      signal,
    );
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    const code = systemErrorReason(err);
    throw new WardenError('io', `http: could not resolve ${t.host.slice(0, 100)} (${code}); nothing was sent`, {
      reasonCodes: ['egress', 'egress_resolve_failed', code],
      where: t.origin,
    });
  }
  const invalid = (what: string) =>
    egressError(
      { reason: 'egress_resolve_invalid', message: `resolving ${t.host.slice(0, 100)} gave ${what}; nothing was sent` },
      t.origin,
    );
  if (!Array.isArray(answers) || answers.length === 0) throw invalid('no address');
  if (answers.length > MAX_ADDRESSES) throw invalid(`${answers.length} addresses (at most ${MAX_ADDRESSES} are checked)`);
  const out: LookupAddress[] = [];
  for (const a of answers as unknown[]) {
    const address = (a as { address?: unknown } | null)?.address;
    const family = (a as { family?: unknown } | null)?.family;
    const bytes = typeof address === 'string' ? parseAddress(address) : undefined;
    if (typeof address !== 'string' || bytes === undefined || address.includes('%'))
      throw invalid(`an address that is not an IP address (${JSON.stringify(String(address).slice(0, 60))})`);
    const isV4 = !address.includes(':');
    if ((family !== 4 && family !== 6) || (family === 4) !== isV4)
      throw invalid(`an address of unknown or mismatched family (${JSON.stringify(family)} for ${address})`);
    const refusal = checkAddress(t, bytes, rules, extensionId);
    // Every answer must pass: one private answer is enough to refuse the whole name.
    if (refusal !== undefined) throw refuse(refusal);
    out.push({ address, family });
  }
  return out;
}

type PinnedLookup = (
  hostname: string,
  options: { all?: boolean },
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** A `lookup` that answers only with the checked addresses: the connection cannot go anywhere else. */
function pinned(addresses: readonly LookupAddress[]): PinnedLookup {
  return (_hostname, options, callback) => {
    const first = addresses[0] as LookupAddress;
    if (options.all === true)
      callback(
        null,
        addresses.map((a) => ({ ...a })),
      );
    else callback(null, first.address, first.family);
  };
}

function ioError(t: EgressTarget, err: unknown): WardenError {
  if (isWardenError(err)) return err;
  const code = systemErrorReason(err);
  return new WardenError('io', `http: ${t.origin}: ${(err as Error | null)?.message ?? String(err)} (${code})`, {
    reasonCodes: [code],
    cause: err,
  });
}

interface SendInput {
  readonly target: EgressTarget;
  readonly addresses: readonly LookupAddress[];
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
  readonly signal: AbortSignal;
  readonly ca: HttpOperationOptions['ca'];
}

function send(i: SendInput): Promise<IncomingMessage> {
  const { target, body } = i;
  const headers: OutgoingHttpHeaders = { ...i.headers, host: target.url.host };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const https_ = target.url.protocol === 'https:';
  return new Promise<IncomingMessage>((resolve, reject) => {
    const options: https.RequestOptions = {
      protocol: target.url.protocol,
      hostname: target.host,
      port: target.port,
      method: i.method,
      path: `${target.url.pathname}${target.url.search}`,
      headers,
      setHost: false,
      // A fresh agent per request: no proxy from the environment, no socket shared with another pin.
      agent: false,
      lookup: pinned(i.addresses),
      signal: i.signal,
    };
    if (https_ && i.ca !== undefined) options.ca = i.ca as string | Buffer | Array<string | Buffer>;
    const req = (https_ ? https : http).request(options, resolve);
    req.on('error', (err) => reject(i.signal.aborted ? abortError(i.signal) : ioError(target, err)));
    req.end(body);
  });
}

function readBody(res: IncomingMessage, limit: number, t: EgressTarget, ctx: OperationContext, signal: AbortSignal): Promise<Buffer> {
  const extensionId = ctx.extensionId;
  const tooLarge = (size: string) =>
    egressError(
      {
        reason: 'egress_size_limit',
        message: `the response body from ${t.origin} is ${size}, over the limit of ${limit} bytes (extensionPolicy.overrides.${extensionId}.http.maxResponseBytes); the request was aborted`,
      },
      t.origin,
    );
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.destroy();
    return Promise.reject(tooLarge(`${declared} bytes (Content-Length)`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        // Reject first: destroying emits 'aborted', which must not win with a vaguer error.
        reject(tooLarge(`more than ${limit} bytes`));
        res.destroy();
        return;
      }
      try {
        ctx.hold?.(chunk.length);
      } catch (err) {
        // Over the extension's host-bytes budget: drop what was buffered (released when the call ends) and stop reading.
        chunks.length = 0;
        reject(err instanceof Error ? err : new Error(String(err)));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks, total)));
    res.on('error', (err) => reject(signal.aborted ? abortError(signal) : ioError(t, err)));
    res.on('aborted', () =>
      reject(
        signal.aborted
          ? abortError(signal)
          : new WardenError('io', `http: ${t.origin} closed the connection mid-body`, { reasonCodes: ['ECONNRESET'] }),
      ),
    );
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Creates the `http` operation. Register it in the runtime's operations under the method name `http`. */
export function createHttpOperation(o: HttpOperationOptions): Operation {
  const resolve = o.resolve ?? defaultResolver;
  const defaultTimeout = o.defaultTimeoutMs ?? 30_000;

  return async (params: Readonly<Record<string, unknown>>, ctx: OperationContext): Promise<HttpReply> => {
    const rules = o.rules(ctx.extensionId);
    const parsed = parseTarget(String(params.url));
    if (!parsed.ok) throw egressError(parsed.refusal, undefined);
    let target = parsed.target;
    const first = checkTarget(target, rules, ctx.extensionId);
    if (first !== undefined) throw egressError(first, target.origin);
    const size = requestBodyBytes(params);
    if (size === undefined)
      throw decisionError('invalid_request', 'http: body and bodyBase64 cannot both be given', {
        reasonCodes: ['egress', 'egress_body_ambiguous'],
      });
    const tooBig = checkRequestSize(size, rules, ctx.extensionId);
    if (tooBig !== undefined) throw egressError(tooBig, target.origin);

    let method = typeof params.method === 'string' ? params.method : 'GET';
    let headers = requestHeaders(params.headers);
    let body: Buffer | undefined =
      typeof params.body === 'string'
        ? Buffer.from(params.body, 'utf8')
        : typeof params.bodyBase64 === 'string'
          ? Buffer.from(params.bodyBase64, 'base64')
          : undefined;
    const mode = params.redirect === 'manual' || params.redirect === 'error' ? params.redirect : 'follow';
    const timeoutMs = typeof params.timeoutMs === 'number' && params.timeoutMs > 0 ? params.timeoutMs : defaultTimeout;

    const controller = new AbortController();
    const { signal } = controller;
    const onOuterAbort = () => controller.abort(abortError(ctx.signal));
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
    const timer = setTimeout(
      () =>
        controller.abort(
          new WardenError('timeout', `http: ${target.origin} did not answer within ${timeoutMs} ms`, { reasonCodes: ['http_timeout'] }),
        ),
      timeoutMs,
    );
    try {
      for (let hop = 0; ; hop++) {
        const addresses = await resolveChecked(target, rules, ctx.extensionId, resolve, signal, hop);
        const res = await send({ target, addresses, method, headers, body, signal, ca: o.ca });
        const location = res.headers.location;
        if (REDIRECTS.has(res.statusCode ?? 0) && typeof location === 'string' && mode !== 'manual') {
          res.destroy();
          if (mode === 'error')
            throw egressError(
              {
                reason: 'egress_redirect_error',
                message: `${target.origin} answered with a redirect and the call asked for redirect: "error"`,
              },
              target.origin,
            );
          const next = checkRedirect(target, location, hop + 1, rules, ctx.extensionId);
          if (!next.ok) throw egressError(next.refusal, target.origin, next.cause);
          if (!sameOrigin(target.url, next.target.url)) {
            headers = { ...headers };
            for (const h of CREDENTIAL_HEADERS) delete headers[h];
          }
          const status = res.statusCode ?? 0;
          if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            headers = { ...headers };
            for (const h of BODY_HEADERS) delete headers[h];
          }
          target = next.target;
          continue;
        }
        const noBody = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
        const bytes = noBody ? (res.resume(), Buffer.alloc(0)) : await readBody(res, rules.maxResponseBytes, target, ctx, signal);
        return {
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: replyHeaders(res),
          bodyBase64: bytes.toString('base64'),
          url: target.url.href,
          redirected: hop > 0,
        };
      }
    } catch (err) {
      if (signal.aborted && !isWardenError(err)) throw abortError(signal);
      throw err;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onOuterAbort);
    }
  };
}
