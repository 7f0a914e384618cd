/**
 * The egress proxy of a confined child that may use the network (`http` granted): an HTTP proxy on a unix socket
 * on the host, the only way out of the child's empty network namespace. It applies the egress rules of `http`
 * hostcalls (src/mediation/http/egress.ts: scheme, host lists, private and metadata addresses, on the name and on
 * every address it resolves to) to each CONNECT and each plain HTTP request, connects only to an address it
 * checked, and records every decision in the ledger as an `http` call (refusals alerted as `http` refusals are).
 */
import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type WardenError } from '../../errors.ts';
import type { AlertSink, DecisionRecorder } from '../../evidence/index.ts';
import { checkAddress, checkTarget, egressAlerter, egressError, parseTarget, WARDEN_SOCKET_DIR_PREFIX } from '../../mediation/index.ts';
import { formatAddress, parseAddress, type EgressRules } from '../../policy/index.ts';

export interface EgressProxyOptions {
  readonly extensionId: string;
  readonly rules: EgressRules;
  /** Where decisions go: the evidence writer (ledger entries and alerts). */
  readonly evidence?: (DecisionRecorder & AlertSink) | undefined;
  /** Name resolution (default: the system's). */
  readonly resolve?: (host: string) => Promise<readonly string[]>;
}

type Verdict = { readonly ok: true; readonly address: string; readonly port: number } | { readonly ok: false; readonly error: WardenError };

const systemResolve = async (host: string): Promise<string[]> =>
  (await lookup(host, { all: true, order: 'verbatim' })).map((a) => a.address);

let calls = 0;

export class EgressProxy {
  readonly socket: string;
  readonly #server: Server;
  readonly #dir: string;
  readonly #o: EgressProxyOptions;
  readonly #alert: ReturnType<typeof egressAlerter>;
  readonly #open = new Set<Socket | Duplex>();

  private constructor(o: EgressProxyOptions, dir: string, server: Server) {
    this.#o = o;
    this.#dir = dir;
    this.socket = join(dir, 'egress.sock');
    this.#server = server;
    this.#alert = egressAlerter(o.evidence);
  }

  /** Starts a proxy for one child; `close` when the child has exited. */
  static async start(o: EgressProxyOptions): Promise<EgressProxy> {
    const dir = mkdtempSync(join(tmpdir(), WARDEN_SOCKET_DIR_PREFIX));
    const server = createServer();
    const proxy = new EgressProxy(o, dir, server);
    server.on('request', (req, res) => void proxy.#request(req, res));
    server.on('connect', (req, socket, head) => void proxy.#connect(req, socket, head));
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(proxy.socket, done);
    });
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    await new Promise<void>((done) => this.#server.close(() => done()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** The egress checks on one destination, as the `http` mediation and operation apply them; recorded. */
  async decide(url: string, method: string): Promise<Verdict> {
    const started = Date.now();
    const { extensionId, rules } = this.#o;
    const verdict = await (async (): Promise<Verdict> => {
      const parsed = parseTarget(url);
      if (!parsed.ok) return { ok: false, error: egressError(parsed.refusal, undefined) };
      const t = parsed.target;
      const refused = checkTarget(t, rules, extensionId);
      if (refused !== undefined) return { ok: false, error: egressError(refused, t.origin) };
      let addresses: readonly string[];
      try {
        addresses = t.address !== undefined ? [formatAddress(t.address)] : await (this.#o.resolve ?? systemResolve)(t.host);
      } catch {
        return {
          ok: false,
          error: egressError({ reason: 'egress_resolve_failed', message: `${t.origin}: the name does not resolve` }, t.origin),
        };
      }
      // Every address the name resolves to must pass, as for `http` hostcalls: the child's resolver could pick any.
      for (const a of addresses) {
        const parsedAddress = parseAddress(a);
        const bad =
          parsedAddress === undefined
            ? { reason: 'egress_resolve_invalid' as const, message: `${t.host} resolved to ${a.slice(0, 60)}, not an address` }
            : checkAddress(t, parsedAddress, rules, extensionId);
        if (bad !== undefined) return { ok: false, error: egressError(bad, t.origin) };
      }
      if (addresses.length === 0)
        return { ok: false, error: egressError({ reason: 'egress_resolve_failed', message: `${t.origin}: no address` }, t.origin) };
      return { ok: true, address: addresses[0]!, port: Number(t.port) };
    })();
    const callId = `exec-egress-${++calls}`;
    try {
      this.#o.evidence?.record({
        ts_ms: started,
        extension_id: extensionId,
        call_id: callId,
        method: 'http',
        capability: 'http',
        declared_capability: null,
        decision: verdict.ok ? 'allow' : 'deny',
        rule: null,
        error_code: verdict.ok ? null : verdict.error.code,
        reason_codes: verdict.ok ? [] : verdict.error.reasonCodes,
        duration_ms: Date.now() - started,
        stage: verdict.ok ? null : 'mediation',
        // Hashed only, as for hostcalls; the origin (never path or query) is what a refusal's alert shows.
        params: { method, url: verdict.ok ? url : (verdict.error.where ?? '') },
      });
    } catch {
      // a failed writer refuses the next hostcall; the proxy's answer stands
    }
    if (!verdict.ok) this.#alert({ extensionId, callId, ts: started }, verdict.error);
    return verdict;
  }

  #track<T extends Socket | Duplex>(s: T): T {
    this.#open.add(s);
    s.once('close', () => this.#open.delete(s));
    s.on('error', () => s.destroy());
    return s;
  }

  async #connect(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.#track(client);
    const v = await this.decide(`https://${req.url ?? ''}`, 'CONNECT');
    if (!v.ok) {
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\npi-warden: ${v.error.message}\n`);
      return;
    }
    const upstream = this.#track(connect({ host: v.address, port: v.port }));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  async #request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    if (!/^http:\/\//i.test(url)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('pi-warden: the egress proxy takes absolute http:// URLs and CONNECT\n');
      return;
    }
    const v = await this.decide(url, req.method ?? 'GET');
    if (!v.ok) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`pi-warden: ${v.error.message}\n`);
      return;
    }
    const u = new URL(url);
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const out = httpRequest({
      host: v.address,
      port: v.port,
      method: req.method,
      path: `${u.pathname}${u.search}`,
      headers,
      setHost: false,
    });
    out.on('response', (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(out);
  }
}

/**
 * The same forwarder with Debian's socat (about 1 ms to start, against tens of ms for node), in the child's own
 * network namespace, where the port is the child's alone: socat listens, the shell waits (builtins only, no process
 * per try) until the port is listening in /proc/net/tcp, sets the proxy variables and becomes the program (its exit
 * status is the child's; socat dies with the sandbox's PID namespace). argv after the script: socket, program, args.
 */
export const SOCAT_PORT = 3128;
export const SOCAT_FORWARDER = `sock=$1; shift
socat TCP-LISTEN:${SOCAT_PORT},bind=127.0.0.1,fork,reuseaddr "UNIX-CONNECT:$sock" 2>/dev/null &
up() { while read -r _ l _ st _; do [ "$l" = 0100007F:${SOCAT_PORT.toString(16).toUpperCase().padStart(4, '0')} ] && [ "$st" = 0A ] && return 0; done </proc/net/tcp; return 1; }
n=0
until up; do
  n=$((n + 1)); [ "$n" -gt 20000 ] && { echo 'pi-warden: the egress forwarder did not start' >&2; exit 126; }
done
p=http://127.0.0.1:${SOCAT_PORT}
export HTTP_PROXY=$p HTTPS_PROXY=$p ALL_PROXY=$p http_proxy=$p https_proxy=$p all_proxy=$p NO_PROXY= no_proxy=
exec "$@"`;

/**
 * The forwarder inside the sandbox (run by the bundled node when socat is not installed): listens on the child's
 * loopback, passes every connection to the proxy's unix socket, points HTTP_PROXY/HTTPS_PROXY/ALL_PROXY at itself,
 * runs the program and exits with its status. argv: socket, program, arguments.
 */
export const FORWARDER = `
const net = require('node:net'), cp = require('node:child_process');
const [sock, cmd, ...args] = process.argv.slice(1);
const server = net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
});
server.listen(0, '127.0.0.1', () => {
  const p = 'http://127.0.0.1:' + server.address().port;
  const env = { ...process.env, HTTP_PROXY: p, HTTPS_PROXY: p, ALL_PROXY: p, http_proxy: p, https_proxy: p, all_proxy: p, NO_PROXY: '', no_proxy: '' };
  const child = cp.spawn(cmd, args, { stdio: 'inherit', env });
  child.on('error', (e) => { process.stderr.write(cmd + ': ' + (e.code === 'ENOENT' ? 'command not found' : e.message) + '\\n'); process.exit(127); });
  child.on('exit', (code, signal) => process.exit(code === null ? 128 + (require('node:os').constants.signals[signal] || 9) : code));
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => child.kill(s));
});
`;
