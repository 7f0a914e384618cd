/**
 * HTTP egress (SPEC §5.5, issue 6 item 5): settings, address classification, the pre-flight stage and the real
 * HTTP operation, against real `node:http` / `node:https` servers on 127.0.0.1 that record every request that
 * reaches them. A refused request must never arrive; neither may a held secret. Every socket the operation opens
 * is logged (net.Socket.prototype.connect is wrapped) so "never connected" is checked, not assumed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Operation, OperationContext } from '../../src/dispatch/dispatcher.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { checkRedirect, createEgressStage, parseTarget } from '../../src/mediation/http/egress.ts';
import { createHttpOperation, type HttpReply, type Resolver } from '../../src/mediation/http/operation.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { classifyAddress, type AddressClass } from '../../src/policy/addressClasses.ts';
import { diffPolicies } from '../../src/policy/diff.ts';
import { egressRulesFor, egressRulesLookup, type EgressRules } from '../../src/policy/egressSettings.ts';
import { explainPolicy } from '../../src/policy/explain.ts';
import { matchesAnyHost, parseCidr, parseHostPattern } from '../../src/policy/hostPatterns.ts';
import type { ResolvedPolicy } from '../../src/policy/settings.ts';
import { createRuntime, type WardenRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor, settingsDirs, until, type SettingsDirs } from '../helpers.ts';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: recording servers, a connect log, rules from settings.

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly local: string;
}

interface Recorder {
  readonly port: number;
  readonly host: string;
  readonly seen: Seen[];
  readonly origin: string;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const servers: Server[] = [];
after(async () => {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

async function recorder(
  handler: Handler = (req, res) => res.end(`ok ${req.method} ${req.url}`),
  host = '127.0.0.1',
  port = 0,
  server?: Server,
): Promise<Recorder> {
  const seen: Seen[] = [];
  const s = server ?? createServer();
  s.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, local: req.socket.localAddress ?? '' });
      handler(req, res, body);
    });
  });
  servers.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve());
  });
  const actual = (s.address() as net.AddressInfo).port;
  const scheme = server === undefined ? 'http' : 'https';
  return {
    port: actual,
    host,
    seen,
    origin: `${scheme}://${host}:${actual}`,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

/**
 * Every socket connect in this process, as `host:port` (the operation must open none for a refused hop). A
 * connect to an IP address outside loopback throws instead: even a broken check must not send traffic anywhere
 * else (names go through the operation's pinned lookup, which only returns checked addresses).
 */
const connects: string[] = [];
const originalConnect = net.Socket.prototype.connect;
before(() => {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (first !== null && typeof first === 'object' && 'port' in first) {
      const host = String((first as { host?: string }).host);
      if (net.isIP(host) !== 0 && !/^127\./.test(host) && host !== '::1' && !/^::ffff:127\./i.test(host)) {
        throw new Error(`test safety: refusing a connect to ${host}, which is not loopback`);
      }
      connects.push(`${host}:${String(first.port)}`);
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  };
});
after(() => {
  net.Socket.prototype.connect = originalConnect;
});

const ctx = (extensionId = 'ext', signal: AbortSignal = new AbortController().signal): OperationContext => ({
  extensionId,
  callId: `c${Math.random()}`,
  capability: 'http',
  signal,
});

function rulesOf(http: Record<string, unknown> | undefined, overrides: Record<string, unknown> = {}): (id: string) => EgressRules {
  const policy = policyFor({ user: { extensionPolicy: { ...(http === undefined ? {} : { http }), overrides } } });
  assert.deepEqual(policy.errors, []);
  return egressRulesLookup(policy.httpEgress);
}

/** Runs the operation; resolves to the reply or to the refusal `{code, reasons, message}`. */
async function call(
  op: Operation,
  params: Record<string, unknown>,
  c = ctx(),
): Promise<HttpReply | { code: string; reasons: readonly string[]; message: string }> {
  try {
    return (await op(params, c)) as HttpReply;
  } catch (err) {
    const e = err as { code: string; reasonCodes: readonly string[]; message: string };
    return { code: e.code, reasons: e.reasonCodes, message: e.message };
  }
}

function refused(r: unknown, reason: string): asserts r is { code: string; reasons: readonly string[]; message: string } {
  assert.ok(r !== null && typeof r === 'object' && 'reasons' in r, `expected a refusal (${reason}), got ${JSON.stringify(r)}`);
  assert.ok((r as { reasons: string[] }).reasons.includes(reason), `expected ${reason} in ${JSON.stringify(r)}`);
}

function replied(r: unknown): asserts r is HttpReply {
  assert.ok(r !== null && typeof r === 'object' && 'status' in r, `expected a reply, got ${JSON.stringify(r)}`);
}

const text = (r: HttpReply) => Buffer.from(r.bodyBase64, 'base64').toString('utf8');
const noResolver: Resolver = () => {
  throw new Error('the resolver must not be asked');
};

// ---------------------------------------------------------------------------------------------------------------

describe('address classification (URL forms as WHATWG URL normalises them)', () => {
  const cases: Array<[string, AddressClass | undefined]> = [
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'], // decimal
    ['http://0177.0.0.1/', 'loopback'], // octal
    ['http://0x7f.1/', 'loopback'], // hex, short
    ['http://0x7f000001/', 'loopback'],
    ['http://127.1/', 'loopback'], // short
    ['http://%31%32%37.0.0.1/', 'loopback'], // percent-encoded
    ['http://127.0.0.1./', 'loopback'], // trailing dot
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'], // IPv4-mapped
    ['http://[0:0:0:0:0:ffff:7f00:1]/', 'loopback'],
    ['http://169.254.169.254/', 'metadata'],
    ['http://0xa9fea9fe/', 'metadata'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'metadata'], // NAT64
    ['http://[2002:a9fe:a9fe::]/', 'metadata'], // 6to4
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://169.254.170.2/', 'metadata'],
    ['http://169.254.1.1/', 'link_local'],
    ['http://[fe80::1]/', 'link_local'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'shared_cgnat'],
    ['http://100.127.255.255/', 'shared_cgnat'],
    ['http://[fc00::]/', 'unique_local'],
    ['http://[fd12:3456::1]/', 'unique_local'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://240.0.0.1/', 'reserved'],
    ['http://198.18.0.1/', 'benchmarking'],
    ['http://192.0.2.1/', 'documentation'],
    ['http://[2001:db8::1]/', 'documentation'],
    ['http://[::7f00:1]/', 'reserved'], // IPv4-compatible (deprecated)
    ['http://8.8.8.8/', undefined],
    ['http://172.32.0.1/', undefined],
    ['http://100.128.0.1/', undefined],
    ['http://[2606:4700:4700::1111]/', undefined],
    ['http://[64:ff9b::808:808]/', undefined], // NAT64 of a public address
  ];
  for (const [url, cls] of cases) {
    it(`${url} → ${cls ?? 'public'}`, () => {
      const t = parseTarget(url);
      assert.ok(t.ok && t.target.address !== undefined, `${url} should be an IP literal`);
      assert.equal(classifyAddress(t.target.address).class, cls);
    });
  }

  it('names are not literals; localhost names are loopback without asking DNS', async () => {
    for (const u of ['http://127.0.0.1.nip.io/', 'http://1.2.3.4.example/']) {
      const t = parseTarget(u);
      assert.ok(t.ok && t.target.address === undefined, u);
    }
    const op = createHttpOperation({ rules: rulesOf(undefined), resolve: noResolver });
    for (const u of ['http://localhost:1/', 'http://LOCALHOST./', 'http://api.localhost/', 'http://localhost.localdomain/'])
      refused(await call(op, { url: u }), 'egress_private_address');
  });
});

describe('host patterns and CIDR blocks', () => {
  it('patterns are canonicalised like request URLs; bad ones name what was wrong', () => {
    const ok = (t: string) => {
      const r = parseHostPattern(t);
      assert.ok(r.ok, `${t}: ${JSON.stringify(r)}`);
      return r.value.text;
    };
    assert.equal(ok('*.Example.COM:8443'), '*.example.com:8443');
    assert.equal(ok('Bücher.example'), 'xn--bcher-kva.example');
    assert.equal(ok('0x7f.1'), '127.0.0.1');
    assert.equal(ok('[::ffff:127.0.0.1]:80'), '127.0.0.1:80');
    assert.equal(ok('example.com.'), 'example.com');
    for (const bad of [
      '',
      'http://x.example',
      'x.example/path',
      'user@x.example',
      '*',
      'a.*.example',
      '*.127.0.0.1',
      '::1',
      'x.example:0',
      'x.example:70000',
      'x.example?q',
      ' x.example',
    ]) {
      assert.equal(parseHostPattern(bad).ok, false, bad);
    }
    assert.equal(parseCidr('10.0.0.0/8').ok, true);
    assert.match((parseCidr('10.0.0.1/8') as { error: string }).error, /did you mean 10\.0\.0\.0\/8/);
    assert.equal(parseCidr('1.2.3.4/33').ok, false);
    assert.equal(parseCidr('fd00::/8').ok, true);
  });

  it('*.x matches x and its subdomains, not lookalikes; a port restricts; IP patterns match by address', () => {
    const rules = rulesOf({ allowHosts: ['*.example.com', 'api.other.test:8443', '127.0.0.1'] })('ext');
    const allowed = (u: string) => {
      const t = parseTarget(u);
      return t.ok && rules.allowHosts.every((l) => matchesAnyHost(l, t.target));
    };
    assert.ok(allowed('https://example.com/'));
    assert.ok(allowed('https://a.b.example.com/'));
    assert.ok(!allowed('https://evilexample.com/'));
    assert.ok(!allowed('https://example.com.evil.test/'));
    assert.ok(allowed('https://api.other.test:8443/'));
    assert.ok(!allowed('https://api.other.test/'));
    assert.ok(allowed('http://[::ffff:7f00:1]/'));
  });
});

describe('egress settings: validation, layering, explain', () => {
  it('invalid entries are errors naming the key; the policy falls back to safe with no egress settings', () => {
    const policy = policyFor({
      user: {
        extensionPolicy: {
          http: { allowHosts: ['https://api.example.com'], denyHosts: ['ok.example', 'a/b'], maxRedirects: 50 },
          overrides: { 'my-ext': { http: { allowPrivate: ['10.0.0.1/8', 'localhost', ''], bogus: 1 } } },
        },
      },
    });
    const keys = policy.errors.map((e) => e.key).sort();
    assert.deepEqual(
      keys,
      [
        'extensionPolicy.http.allowHosts[0]',
        'extensionPolicy.http.denyHosts[1]',
        'extensionPolicy.http.maxRedirects',
        'extensionPolicy.overrides.my-ext.http.allowPrivate[0]',
        'extensionPolicy.overrides.my-ext.http.allowPrivate[2]',
        'extensionPolicy.overrides.my-ext.http.bogus',
      ].sort(),
      JSON.stringify(policy.errors, null, 1),
    );
    const msg = policy.errors.find((e) => e.key === 'extensionPolicy.http.allowHosts[0]')!.message;
    assert.match(msg, /no scheme, path, query or userinfo/);
    assert.match(policy.errors.find((e) => e.key.endsWith('allowPrivate[0]'))!.message, /did you mean 10\.0\.0\.0\/8/);
    assert.equal(policy.profile, 'safe');
    assert.deepEqual(policy.httpEgress.user, { defaults: {}, overrides: {} });
  });

  it('an override replaces default fields, except denyHosts which adds; allowHosts [] admits nothing', () => {
    const policy = policyFor({
      user: {
        extensionPolicy: {
          http: { allowHosts: ['api.example.com'], denyHosts: ['bad.example'], maxResponseBytes: 1000 },
          overrides: { a: { http: { allowHosts: ['other.example'], denyHosts: ['worse.example'] } }, b: { http: { allowHosts: [] } } },
        },
      },
    });
    const a = egressRulesFor(policy.httpEgress, 'a');
    assert.deepEqual(
      a.allowHosts.map((l) => l.map((p) => p.text)),
      [['other.example']],
    );
    assert.deepEqual(
      a.denyHosts.map((p) => p.text),
      ['bad.example', 'worse.example'],
    );
    assert.equal(a.maxResponseBytes, 1000);
    assert.deepEqual(egressRulesFor(policy.httpEgress, 'b').allowHosts, [[]]);
    assert.deepEqual(
      egressRulesFor(policy.httpEgress, 'c').allowHosts.map((l) => l.map((p) => p.text)),
      [['api.example.com']],
    );
  });

  it('a project file may only tighten: deny adds, allow narrows (both lists must match), limits lower, allowPrivate ignored', () => {
    const policy = policyFor({
      user: { extensionPolicy: { http: { allowHosts: ['*.example.com'], maxRequestBytes: 1000 } } },
      project: {
        extensionPolicy: {
          http: {
            allowHosts: ['api.example.com', 'evil.test'],
            denyHosts: ['old.example.com'],
            allowPrivate: ['127.0.0.1'],
            maxRequestBytes: 5000,
            maxRedirects: 1,
          },
        },
      },
    });
    assert.deepEqual(policy.errors, []);
    assert.ok(
      policy.warnings.some((w) => w.includes('extensionPolicy.http.allowPrivate ignored')),
      policy.warnings.join('\n'),
    );
    const r = egressRulesFor(policy.httpEgress, 'ext');
    assert.deepEqual(
      r.allowHosts.map((l) => l.map((p) => p.text)),
      [['*.example.com'], ['api.example.com', 'evil.test']],
    );
    assert.deepEqual(
      r.denyHosts.map((p) => p.text),
      ['old.example.com'],
    );
    assert.deepEqual(r.allowPrivate, []);
    assert.equal(r.maxRequestBytes, 1000, 'a project cannot raise a limit');
    assert.equal(r.maxRedirects, 1, 'a project can lower one');
    const stage = createEgressStage({ rules: egressRulesLookup(policy.httpEgress) });
    const run = (url: string) =>
      stage.run({ method: 'http', params: { url }, extensionId: 'ext', callId: 'c', startedMs: 0 } as never)?.reasonCodes;
    assert.equal(run('https://api.example.com/'), undefined);
    assert.ok(run('https://evil.test/')?.includes('egress_host_not_allowed'), 'the user list still applies');
    assert.ok(run('https://www.example.com/')?.includes('egress_host_not_allowed'), 'the project list narrows');
  });

  it('a project override for one extension tightens that extension only', () => {
    const policy = policyFor({
      project: { extensionPolicy: { overrides: { x: { http: { denyHosts: ['*.example.com'], allowPrivate: ['10.0.0.0/8'] } } } } },
    });
    assert.ok(policy.warnings.some((w) => w.includes('extensionPolicy.overrides.x.http.allowPrivate ignored')));
    assert.deepEqual(
      egressRulesFor(policy.httpEgress, 'x').denyHosts.map((p) => p.text),
      ['*.example.com'],
    );
    assert.deepEqual(egressRulesFor(policy.httpEgress, 'y').denyHosts, []);
  });

  it('policy explain --json shows the effective rules, per-extension rules and the private blocks', () => {
    const policy = policyFor({
      user: {
        extensionPolicy: {
          http: { denyHosts: ['bad.example'] },
          overrides: { web: { http: { allowHosts: ['api.example.com'], allowPrivate: ['127.0.0.1', 'localhost:8080'], maxRedirects: 2 } } },
        },
      },
    });
    const global = explainPolicy(policy).http_egress;
    assert.equal(global.allow_hosts, null);
    assert.deepEqual(global.deny_hosts, ['bad.example']);
    assert.deepEqual(global.allow_private, []);
    assert.equal(global.max_redirects, 5);
    assert.deepEqual(global.overrides.web, {
      schemes: ['http', 'https'],
      deny_hosts: ['bad.example'],
      allow_hosts: [['api.example.com']],
      allow_private: ['127.0.0.1/32', 'localhost:8080'],
      max_request_bytes: 10 * 1024 * 1024,
      max_response_bytes: 16 * 1024 * 1024,
      max_redirects: 2,
    });
    assert.ok(global.private_blocks.some((b) => b.cidr === '169.254.169.254/32' && b.class === 'metadata' && !b.never_allowed));
    assert.ok(global.private_blocks.some((b) => b.cidr === '0.0.0.0/8' && b.never_allowed));
    const web = explainPolicy(policy, 'web').http_egress;
    assert.deepEqual(web.allow_hosts, [['api.example.com']]);
  });

  it('policy diff grades egress changes: more private access or fewer denials is looser', () => {
    const a = policyFor({
      user: {
        extensionPolicy: {
          http: { denyHosts: ['bad.example'], maxRedirects: 3 },
          overrides: { web: { http: { allowHosts: ['api.example.com'] } } },
        },
      },
    });
    const b = policyFor({
      user: {
        extensionPolicy: {
          http: { maxRedirects: 1, allowPrivate: ['10.0.0.0/8'] },
          overrides: { web: { http: { allowHosts: ['api.example.com'] } } },
        },
      },
    });
    const changes = Object.fromEntries(diffPolicies(a, b).map((c) => [c.field, c.direction]));
    assert.equal(changes['http.deny_hosts'], 'looser');
    assert.equal(changes['http.allow_private'], 'looser');
    assert.equal(changes['http.max_redirects'], 'tighter');
    assert.equal(changes['extension web: http.deny_hosts'], 'looser');
    assert.equal(changes['extension web: http.allow_hosts'], undefined);
    const c = policyFor({ user: { extensionPolicy: { http: { allowHosts: ['api.example.com'] } } } });
    assert.equal(diffPolicies(policyFor(), c).find((x) => x.field === 'http.allow_hosts')?.direction, 'tighter');
    // An extension only the project file names is compared too.
    const p = policyFor({ project: { extensionPolicy: { overrides: { ci: { http: { denyHosts: ['x.example'] } } } } } });
    assert.equal(diffPolicies(policyFor(), p).find((x) => x.field === 'extension ci: http.deny_hosts')?.direction, 'tighter');
  });

  it('policy explain (text) prints the egress section', () => {
    const bin = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));
    const dirs: SettingsDirs = settingsDirs({
      user: { extensionPolicy: { overrides: { web: { http: { allowHosts: ['api.example.com'], allowPrivate: ['127.0.0.1'] } } } } },
    });
    const r = spawnSync(process.execPath, [bin, 'policy', 'explain', '--extension', 'web'], {
      cwd: dirs.cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...dirs.env, NO_COLOR: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /HTTP egress \(extension web\)/);
    assert.match(r.stdout, /allow hosts: +api\.example\.com/);
    assert.match(r.stdout, /allow private: +127\.0\.0\.1\/32/);
    assert.match(r.stdout, /limits: +request body 10 MiB, response body 16 MiB, 5 redirect/);
  });
});

describe('the http operation against a real server on 127.0.0.1', () => {
  it('loopback is private: refused by default, nothing arrives, no socket is opened', async () => {
    const srv = await recorder();
    const op = createHttpOperation({ rules: rulesOf(undefined), resolve: noResolver });
    const before = connects.length;
    for (const url of [
      `${srv.origin}/x`,
      `http://2130706433:${srv.port}/`,
      `http://0x7f.1:${srv.port}/`,
      `http://[::ffff:127.0.0.1]:${srv.port}/`,
    ]) {
      const r = await call(op, { url });
      refused(r, 'egress_private_address');
      assert.equal(r.code, 'denied');
      assert.ok(r.reasons.includes('egress_class_loopback'), JSON.stringify(r));
    }
    assert.equal(srv.seen.length, 0);
    assert.equal(connects.length, before);
  });

  it('allowed when allowPrivate lists it: method, headers and body arrive; the reply carries status, headers, body', async () => {
    const srv = await recorder((req, res, body) => {
      res.setHeader('x-answer', '42');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(`got ${body}`);
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    const before = connects.length;
    const r = await call(op, {
      url: `${srv.origin}/p?q=1`,
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', Host: 'internal.example', 'Accept-Encoding': 'gzip' },
      body: 'hello',
    });
    replied(r);
    assert.deepEqual(connects.slice(before), [`127.0.0.1:${srv.port}`], "the connect log sees the operation's socket");
    assert.equal(r.status, 200);
    assert.equal(text(r), 'got hello');
    assert.equal(r.headers['x-answer'], '42');
    assert.equal(r.headers['set-cookie'], 'a=1, b=2');
    assert.equal(r.redirected, false);
    assert.equal(srv.seen.length, 1);
    const s = srv.seen[0]!;
    assert.equal(s.method, 'POST');
    assert.equal(s.url, '/p?q=1');
    assert.equal(s.body, 'hello');
    assert.equal(s.headers.host, `127.0.0.1:${srv.port}`, 'the Host header is the URL host, not what the extension set');
    assert.equal(s.headers['accept-encoding'], undefined, 'no compression is asked for');
    assert.equal(s.headers['content-type'], 'text/plain');
    const bin = await call(op, { url: `${srv.origin}/b`, method: 'PUT', bodyBase64: Buffer.from([0, 255, 1]).toString('base64') });
    replied(bin);
    assert.equal(srv.seen[1]?.body, Buffer.from([0, 255, 1]).toString('utf8'));
  });

  it('the deny list beats the allow list and allowPrivate', async () => {
    const srv = await recorder();
    const op = createHttpOperation({
      rules: rulesOf({ allowHosts: ['127.0.0.1'], allowPrivate: ['127.0.0.1'], denyHosts: [`127.0.0.1:${srv.port}`] }),
      resolve: noResolver,
    });
    const r = await call(op, { url: `${srv.origin}/` });
    refused(r, 'egress_host_denied');
    assert.equal(srv.seen.length, 0);
  });

  it('allowHosts restricts: a host or port not on it is refused', async () => {
    const srv = await recorder();
    const other = await recorder();
    const op = createHttpOperation({
      rules: rulesOf({ allowHosts: [`127.0.0.1:${srv.port}`], allowPrivate: ['127.0.0.0/8'] }),
      resolve: noResolver,
    });
    replied(await call(op, { url: `${srv.origin}/` }));
    refused(await call(op, { url: `${other.origin}/` }), 'egress_host_not_allowed');
    assert.equal(other.seen.length, 0);
  });

  it('per-extension rules: one extension may reach the server, another may not', async () => {
    const srv = await recorder();
    const op = createHttpOperation({
      rules: rulesOf(undefined, { trusted: { http: { allowPrivate: ['127.0.0.1'] } } }),
      resolve: noResolver,
    });
    replied(await call(op, { url: srv.origin }, ctx('trusted')));
    refused(await call(op, { url: srv.origin }, ctx('other')), 'egress_private_address');
    assert.equal(srv.seen.length, 1);
  });

  it('non-http schemes and credentials in the URL are refused', async () => {
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    for (const url of [
      'file:///etc/passwd',
      'ftp://127.0.0.1/',
      'data:text/plain,hi',
      'gopher://127.0.0.1:70/_x',
      'ws://127.0.0.1/',
      'wss://127.0.0.1/',
      'javascript:alert(1)',
      'blob:http://x/1',
    ]) {
      refused(await call(op, { url }), 'egress_scheme');
    }
    refused(await call(op, { url: 'http://user:pw@127.0.0.1:1/' }), 'egress_userinfo');
    const bad = await call(op, { url: 'not a url' });
    refused(bad, 'egress_url_invalid');
    assert.equal(bad.code, 'invalid_request');
  });

  it('a redirect to a disallowed address is refused and the second hop never sees a request', async () => {
    // 127.0.0.2 is loopback too: a server there stands for "a host the rules do not allow".
    const second = await recorder(undefined, '127.0.0.2').catch(() => undefined);
    const targets = [
      ...(second === undefined ? [] : [`${second.origin}/stolen`]),
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://10.0.0.1/',
    ];
    let i = 0;
    const first = await recorder((_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', targets[i++ % targets.length]!);
      res.end();
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    const before = connects.length;
    for (const t of targets) {
      const r = await call(op, { url: `${first.origin}/start` });
      refused(r, 'egress_redirect_denied');
      assert.ok(r.reasons.includes('egress_private_address'), JSON.stringify(r));
      if (t.includes('169.254')) assert.ok(r.reasons.includes('egress_class_metadata'));
    }
    assert.equal(first.seen.length, targets.length);
    assert.equal(second?.seen.length ?? 0, 0);
    assert.deepEqual(
      connects.slice(before).filter((c) => !c.endsWith(`:${first.port}`)),
      [],
      'only the first hop was connected',
    );
  });

  it('a redirect to another allowed server is followed; credentials are dropped across origins, kept within one', async () => {
    const target = await recorder();
    const hops = await recorder((req, res) => {
      res.statusCode = 307;
      res.setHeader('location', req.url === '/same' ? '/landed' : req.url === '/landed' ? '' : `${target.origin}/landed`);
      if (req.url === '/landed') {
        res.statusCode = 200;
        res.end('same-origin landing');
        return;
      }
      res.end();
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    const headers = { Authorization: 'Bearer t0k', Cookie: 'sid=1', 'Proxy-Authorization': 'Basic x', 'X-Keep': 'yes' };
    const cross = await call(op, { url: `${hops.origin}/cross`, method: 'POST', headers, body: 'b' });
    replied(cross);
    assert.equal(cross.redirected, true);
    assert.equal(cross.url, `${target.origin}/landed`);
    const landed = target.seen[0]!;
    assert.equal(landed.headers.authorization, undefined);
    assert.equal(landed.headers.cookie, undefined);
    assert.equal(landed.headers['proxy-authorization'], undefined);
    assert.equal(landed.headers['x-keep'], 'yes');
    assert.equal(landed.method, 'POST', '307 keeps the method');
    assert.equal(landed.body, 'b', '307 keeps the body');
    const same = await call(op, { url: `${hops.origin}/same`, headers });
    replied(same);
    assert.equal(text(same), 'same-origin landing');
    assert.equal(hops.seen.at(-1)?.headers.authorization, 'Bearer t0k', 'same origin keeps credentials');
  });

  it('303 turns a POST into a GET without body; manual returns the redirect; error refuses it; the count is capped', async () => {
    let loops = 0;
    const srv = await recorder((req, res) => {
      if (req.url === '/see-other') {
        res.statusCode = 303;
        res.setHeader('location', '/after');
        res.end();
        return;
      }
      if (req.url?.startsWith('/loop')) {
        loops++;
        res.statusCode = 302;
        res.setHeader('location', `/loop${loops}`);
        res.end();
        return;
      }
      res.end(`${req.method} ${req.url}`);
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'], maxRedirects: 3 }), resolve: noResolver });
    const seeOther = await call(op, {
      url: `${srv.origin}/see-other`,
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    replied(seeOther);
    assert.equal(text(seeOther), 'GET /after');
    assert.equal(srv.seen.at(-1)?.body, '');
    assert.equal(srv.seen.at(-1)?.headers['content-type'], undefined);
    const manual = await call(op, { url: `${srv.origin}/see-other`, redirect: 'manual' });
    replied(manual);
    assert.equal(manual.status, 303);
    assert.equal(manual.headers.location, '/after');
    const error = await call(op, { url: `${srv.origin}/see-other`, redirect: 'error' });
    refused(error, 'egress_redirect_error');
    const count = srv.seen.length;
    refused(await call(op, { url: `${srv.origin}/loop` }), 'egress_redirect_limit');
    assert.equal(srv.seen.length - count, 4, 'the first request and three redirects, then no more');
  });

  it('a redirect to a non-http scheme is refused', async () => {
    const srv = await recorder((_req, res) => {
      res.statusCode = 301;
      res.setHeader('location', 'file:///etc/passwd');
      res.end();
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    refused(await call(op, { url: srv.origin }), 'egress_redirect_scheme');
  });

  it('redirect checks as a table: downgrade, scheme, limit, private', () => {
    const rules = rulesOf({ allowPrivate: ['127.0.0.1'] })('ext');
    const from = parseTarget('https://api.example.com/a');
    assert.ok(from.ok);
    const reason = (loc: string, hop = 1) => {
      const r = checkRedirect(from.target, loc, hop, rules, 'ext');
      return r.ok ? 'ok' : r.refusal.reason;
    };
    assert.equal(reason('http://api.example.com/b'), 'egress_redirect_downgrade');
    assert.equal(reason('/b'), 'ok');
    assert.equal(reason('https://other.example/b'), 'ok');
    assert.equal(reason('ftp://x/'), 'egress_redirect_scheme');
    assert.equal(reason('https://169.254.169.254/'), 'egress_redirect_denied');
    assert.equal(reason('https://[::1]/'), 'egress_redirect_denied');
    assert.equal(reason('https://localhost/'), 'ok', 'allowPrivate 127.0.0.1 admits the name localhost (its address is checked after DNS)');
    assert.equal(reason('/b', 6), 'egress_redirect_limit');
    assert.equal(reason('http://[::1'), 'egress_redirect_invalid');
  });

  it('DNS: a public-looking name resolving to a private address is refused before connecting (rebinding)', async () => {
    const srv = await recorder();
    const asked: string[] = [];
    const answers: Record<string, Array<{ address: string; family: number }>> = {
      'public.example.com': [{ address: '127.0.0.1', family: 4 }],
      'mixed.example.com': [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      'v6.example.com': [{ address: '::ffff:169.254.169.254', family: 6 }],
      'nat64.example.com': [{ address: '64:ff9b::a9fe:a9fe', family: 6 }],
    };
    const resolve: Resolver = async (h) => {
      asked.push(h);
      return answers[h] ?? [];
    };
    const op = createHttpOperation({ rules: rulesOf(undefined), resolve });
    const before = connects.length;
    for (const host of Object.keys(answers)) {
      const r = await call(op, { url: `http://${host}:${srv.port}/` });
      refused(r, 'egress_private_address');
    }
    assert.deepEqual(asked, Object.keys(answers));
    assert.equal(srv.seen.length, 0);
    assert.equal(connects.length, before, 'no socket was opened');
  });

  it('DNS: the connection goes to the address that was checked (pinned), with the name in the Host header', async () => {
    const srv = await recorder();
    const decoy = await recorder(undefined, '127.0.0.2', srv.port).catch(() => undefined);
    let calls = 0;
    // First answer 127.0.0.1 (allowed by the CIDR), any later one 127.0.0.2: a second lookup would be rebinding.
    const resolve: Resolver = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.2', family: 4 }]);
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1/32'] }), resolve });
    const r = await call(op, { url: `http://pinned.test:${srv.port}/x` });
    replied(r);
    assert.equal(calls, 1, 'resolved once');
    assert.equal(srv.seen.length, 1);
    assert.equal(srv.seen[0]?.headers.host, `pinned.test:${srv.port}`);
    assert.equal(srv.seen[0]?.local, '127.0.0.1');
    assert.equal(decoy?.seen.length ?? 0, 0);
  });

  it('the system resolver: localhost:PORT listed in allowPrivate reaches the server; unlisted it does not', async () => {
    const srv = await recorder();
    const op = createHttpOperation({
      rules: rulesOf(undefined, { dev: { http: { allowHosts: [`localhost:${srv.port}`], allowPrivate: [`localhost:${srv.port}`] } } }),
    });
    const r = await call(op, { url: `http://localhost:${srv.port}/dev` }, ctx('dev'));
    replied(r);
    assert.equal(srv.seen[0]?.headers.host, `localhost:${srv.port}`);
    refused(await call(op, { url: `http://localhost:${srv.port}/dev` }, ctx('other')), 'egress_private_address');
    refused(await call(op, { url: `http://localhost:${srv.port + 1}/dev` }, ctx('dev')), 'egress_host_not_allowed');
    assert.equal(srv.seen.length, 1);
  });

  it('DNS fails closed: resolver errors, empty or malformed answers, unknown families', async () => {
    const srv = await recorder();
    const cases: Array<[Resolver, string, string]> = [
      [
        async () => {
          throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
        },
        'egress_resolve_failed',
        'io',
      ],
      [async () => [], 'egress_resolve_invalid', 'denied'],
      [async () => [{ address: 'not-an-ip', family: 4 }], 'egress_resolve_invalid', 'denied'],
      [async () => [{ address: '127.0.0.1', family: 0 }], 'egress_resolve_invalid', 'denied'],
      [async () => [{ address: '127.0.0.1', family: 6 }], 'egress_resolve_invalid', 'denied'],
      [async () => null as never, 'egress_resolve_invalid', 'denied'],
    ];
    for (const [resolve, reason, code] of cases) {
      const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.0/8'] }), resolve });
      const r = await call(op, { url: `http://name.test:${srv.port}/` });
      refused(r, reason);
      assert.equal(r.code, code);
    }
    assert.equal(srv.seen.length, 0);
  });

  it('a request body over the limit never arrives', async () => {
    const srv = await recorder();
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'], maxRequestBytes: 10 }), resolve: noResolver });
    replied(await call(op, { url: srv.origin, method: 'POST', body: '0123456789' }));
    refused(await call(op, { url: srv.origin, method: 'POST', body: '0123456789X' }), 'egress_size_limit');
    refused(await call(op, { url: srv.origin, method: 'POST', body: 'é'.repeat(6) }), 'egress_size_limit');
    refused(await call(op, { url: srv.origin, method: 'POST', bodyBase64: Buffer.alloc(11).toString('base64') }), 'egress_size_limit');
    assert.equal(srv.seen.length, 1);
  });

  it('a response over the limit aborts with a clear error, with or without Content-Length', async () => {
    let closed = 0;
    const big = Buffer.alloc(4 * 1024 * 1024, 'a');
    const srv = await recorder((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) closed++;
      });
      if (req.url === '/declared') {
        res.setHeader('content-length', big.length);
        res.end(big);
        return;
      }
      // Chunked and endless: only an abort ends it.
      const pump = () => {
        while (res.write(Buffer.alloc(64 * 1024, 'b'))) {
          /* fill */
        }
      };
      res.on('drain', pump);
      pump();
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'], maxResponseBytes: 1000 }), resolve: noResolver });
    const declared = await call(op, { url: `${srv.origin}/declared` });
    refused(declared, 'egress_size_limit');
    assert.match(declared.message, /Content-Length/);
    const endless = await call(op, { url: `${srv.origin}/endless` });
    refused(endless, 'egress_size_limit');
    assert.match(endless.message, /over the limit of 1000 bytes/);
    await until(() => closed >= 1, 'the server to see the connection end before it finished');
  });

  it('timeoutMs and the dispatcher signal end a request that hangs', async () => {
    const srv = await recorder(() => {
      /* never answers */
    });
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    const timedOut = await call(op, { url: srv.origin, timeoutMs: 150 });
    refused(timedOut, 'http_timeout');
    assert.equal(timedOut.code, 'timeout');
    assert.match(timedOut.message, /within 150 ms/, "the request's own timeoutMs ended it");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await call(op, { url: srv.origin }, ctx('ext', controller.signal));
    assert.equal((aborted as { code: string }).code, 'timeout', JSON.stringify(aborted));
    // A resolver that never answers is abandoned too.
    const stuck = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: () => new Promise(() => undefined) });
    refused(await call(stuck, { url: 'http://slow.test/', timeoutMs: 100 }), 'http_timeout');
  });

  it('bad header names and values are invalid requests', async () => {
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve: noResolver });
    assert.equal(
      ((await call(op, { url: 'http://127.0.0.1:1/', headers: { 'bad header': 'x' } })) as { code: string }).code,
      'invalid_request',
    );
    assert.equal(
      ((await call(op, { url: 'http://127.0.0.1:1/', headers: { 'x-a': 'a\r\nInjected: 1' } })) as { code: string }).code,
      'invalid_request',
    );
  });
});

describe('https: certificates are checked against the name, and https → http is refused', () => {
  let cert: string | undefined;
  let key: string | undefined;
  before(() => {
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-tls-'));
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=egress.test',
        '-addext',
        'subjectAltName=DNS:egress.test,IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    if (r.status === 0) {
      cert = readFileSync(join(dir, 'c.pem'), 'utf8');
      key = readFileSync(join(dir, 'k.pem'), 'utf8');
    }
  });

  it('a pinned https request verifies the certificate for the name; a downgrade redirect never reaches the http server', async (t) => {
    if (cert === undefined || key === undefined) return t.skip('openssl is not available to make a test certificate');
    const plain = await recorder();
    const tls = await recorder(
      (req, res) => {
        if (req.url === '/down') {
          res.statusCode = 302;
          res.setHeader('location', `${plain.origin}/leak`);
          res.end();
          return;
        }
        res.end('secure');
      },
      '127.0.0.1',
      0,
      createTlsServer({ cert, key }),
    );
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const op = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve, ca: cert });
    const ok = await call(op, { url: `https://egress.test:${tls.port}/hello` });
    replied(ok);
    assert.equal(text(ok), 'secure');
    assert.equal(tls.seen[0]?.headers.host, `egress.test:${tls.port}`);
    refused(await call(op, { url: `https://egress.test:${tls.port}/down` }), 'egress_redirect_downgrade');
    assert.equal(plain.seen.length, 0);
    const untrusted = createHttpOperation({ rules: rulesOf({ allowPrivate: ['127.0.0.1'] }), resolve });
    const r = await call(untrusted, { url: `https://egress.test:${tls.port}/` });
    assert.equal((r as { code: string }).code, 'io', 'an unknown CA fails the handshake');
  });
});

// ---------------------------------------------------------------------------------------------------------------

const SECRET = 'sk-ant-api03-egressTestValue-0123456789abcdefXYZ';

async function runtimeWith(
  extensionPolicy: Record<string, unknown>,
  resolve: Resolver = noResolver,
): Promise<{ rt: WardenRuntime; home: string; policy: ResolvedPolicy }> {
  const home = tempHome();
  const policy = policyFor({ user: { extensionPolicy } });
  assert.deepEqual(policy.errors, []);
  const host = new HeadlessHost({ cwd: tmpdir(), home: '/home/probe' });
  const operations = new Map(hostOperations(host));
  operations.set('http', createHttpOperation({ rules: egressRulesLookup(policy.httpEgress), resolve }));
  const rt = await createRuntime({
    home,
    policy,
    operations,
    heldSecrets: [{ name: 'ANTHROPIC_API_KEY', value: SECRET }],
    parentEnv: { PATH: '/usr/bin:/bin' },
  });
  return { rt, home, policy };
}

describe('egress in the runtime: the mediation stage, secrets, alerts, the ledger', () => {
  it('a held secret in the URL, a header or the body never reaches the server, in any encoding', async () => {
    const srv = await recorder();
    const { rt } = await runtimeWith({ http: { allowPrivate: ['127.0.0.1'] } });
    const dispatch = (params: Record<string, unknown>) =>
      rt.dispatcher.dispatch('ext', { call_id: `c${Math.random()}`, method: 'http', params });
    const ok = await dispatch({ url: `${srv.origin}/clean`, method: 'POST', body: 'nothing secret' });
    assert.ok(ok.ok, JSON.stringify(ok));
    const leaks: Array<Record<string, unknown>> = [
      { url: `${srv.origin}/?k=${SECRET}` },
      { url: `${srv.origin}/?k=${encodeURIComponent(SECRET)}` },
      { url: srv.origin, headers: { authorization: `Bearer ${SECRET}` } },
      { url: srv.origin, headers: { 'x-b64': Buffer.from(SECRET).toString('base64') } },
      { url: srv.origin, method: 'POST', body: JSON.stringify({ key: SECRET }) },
      { url: srv.origin, method: 'POST', body: Buffer.from(SECRET).toString('hex') },
      { url: srv.origin, method: 'POST', bodyBase64: Buffer.from(`x${SECRET}x`).toString('base64') },
    ];
    for (const params of leaks) {
      const r = await dispatch(params);
      assert.ok(!r.ok && r.error.reasonCodes.includes('secret_exposure'), `${JSON.stringify(params).slice(0, 80)}: ${JSON.stringify(r)}`);
    }
    assert.equal(srv.seen.length, 1);
    for (const s of srv.seen) assert.ok(!JSON.stringify(s).includes(SECRET.slice(8)));
    await rt.close();
  });

  it('refusals are ledger denials with egress reason codes and policy_violation alerts without path or query', async () => {
    const srv = await recorder((_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://169.254.169.254/latest/meta-data/');
      res.end();
    });
    const { rt, home } = await runtimeWith({ overrides: { ext: { http: { allowPrivate: ['127.0.0.1'] } } } }, async () => [
      { address: '10.0.0.5', family: 4 },
    ]);
    const dispatch = (ext: string, url: string) =>
      rt.dispatcher.dispatch(ext, { call_id: `c${Math.random()}`, method: 'http', params: { url } });
    const loop = await dispatch('other', `${srv.origin}/private-path?token=abc`);
    assert.ok(!loop.ok && loop.error.code === 'denied' && loop.error.reasonCodes.includes('egress_private_address'), JSON.stringify(loop));
    const redirected = await dispatch('ext', `${srv.origin}/start?q=zzz`);
    assert.ok(!redirected.ok && redirected.error.reasonCodes.includes('egress_redirect_denied'), JSON.stringify(redirected));
    const rebinding = await dispatch('ext', 'http://intranet.example.com/');
    assert.ok(!rebinding.ok && rebinding.error.reasonCodes.includes('egress_class_private'), JSON.stringify(rebinding));
    const scheme = await dispatch('ext', 'file:///etc/passwd');
    assert.ok(!scheme.ok && scheme.error.reasonCodes.includes('egress_scheme'));
    assert.equal(srv.seen.length, 1, 'only the allowed first hop arrived');
    await rt.close();
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'policy_violation' });
    db.close();
    assert.equal(alerts.length, 4, JSON.stringify(alerts, null, 1));
    const meta = alerts.find((a) => a.reason_codes.includes('egress_class_metadata'));
    assert.equal(meta?.severity, 'critical');
    assert.equal(alerts.find((a) => a.extension_id === 'other')?.severity, 'high');
    for (const a of alerts) {
      assert.ok(!a.summary.includes('private-path') && !a.summary.includes('token=') && !a.summary.includes('q=zzz'), a.summary);
      assert.equal(a.method, 'http');
    }
    assert.match(alerts[0]!.summary, new RegExp(`http://127\\.0\\.0\\.1:${srv.port}`));
  });

  it('a denyHosts refusal advises removing the deny entry, since an allowHosts entry cannot lift it', async () => {
    const { rt, home } = await runtimeWith({
      http: { denyHosts: ['bad.example'] },
      overrides: { ext: { http: { allowHosts: ['bad.example'] } } },
    });
    const r = await rt.dispatcher.dispatch('ext', { call_id: 'c1', method: 'http', params: { url: 'https://bad.example/' } });
    assert.ok(!r.ok && r.error.reasonCodes.includes('egress_host_denied'), 'the per-extension allowHosts did not lift the deny');
    await rt.close();
    const db = openStore(home, { readOnly: true });
    const [alert] = queryAlerts(db, { category: 'policy_violation' });
    db.close();
    assert.match(alert!.remediation, /denyHosts/);
    assert.match(alert!.remediation, /allowHosts cannot lift it/);
  });

  it('the stage refuses before the operation runs: the operation is never called for a refused URL', async () => {
    let ran = 0;
    const home = tempHome();
    const policy = policyFor({ user: { extensionPolicy: { http: { denyHosts: ['*.evil.test'], maxRequestBytes: 4 } } } });
    const rt = await createRuntime({
      home,
      policy,
      operations: new Map<string, Operation>([
        [
          'http',
          () => {
            ran++;
            return { status: 200 };
          },
        ],
      ]),
      heldSecrets: [],
    });
    const go = (params: Record<string, unknown>) => rt.dispatcher.dispatch('ext', { call_id: 'c', method: 'http', params });
    for (const params of [
      { url: 'http://127.0.0.1/' },
      { url: 'https://x.evil.test/' },
      { url: 'https://ok.test/', body: '12345' },
      { url: 'gopher://ok.test/' },
      { url: 'http://[::1]/' },
    ]) {
      const r = await go(params);
      assert.ok(!r.ok && r.error.reasonCodes.includes('egress'), JSON.stringify(r));
    }
    assert.ok((await go({ url: 'https://ok.test/', body: '1234' })).ok);
    assert.equal(ran, 1);
    await rt.close();
  });
});

describe('a guest extension in the real sandbox fetching through the runtime', () => {
  it('fetch to 127.0.0.1 is refused by default and works when allowed; nothing refused reaches the server', async () => {
    const srv = await recorder((req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, body }));
    });
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-guest-'));
    const file = join(dir, 'ext.ts');
    writeFileSync(
      file,
      `
      export default function (pi: any) {
        pi.on('get', async (e: any) => {
          try {
            const r = await fetch(e.url, { method: e.method ?? 'GET', body: e.body, headers: { 'content-type': 'text/plain' } });
            return { status: r.status, json: await r.json(), url: r.url };
          } catch (err: any) {
            return { error: err.name + ':' + (err.wardenCode ?? '') + ':' + err.message };
          }
        });
      }
    `,
    );
    const bundle = await bundleEntry(file);
    for (const [id, allowed] of [
      ['locked', false],
      ['opened', true],
    ] as const) {
      const { rt } = await runtimeWith({ profile: 'balanced', overrides: { opened: { http: { allowPrivate: ['127.0.0.1'] } } } });
      const sandbox = await Sandbox.create({
        extensionId: id,
        dispatcher: rt.dispatcher,
        boot: hostBoot(tmpdir(), '/home/probe'),
        limits: { wallTimeMs: 10_000 },
      });
      await sandbox.load(bundle);
      const [outcome] = await sandbox.emit('get', { url: `${srv.origin}/guest?x=1`, method: 'POST', body: 'from the sandbox' });
      const value = outcome?.results[0]?.value as { status?: number; json?: { path: string; body: string }; error?: string };
      if (allowed) {
        assert.equal(value.status, 200, JSON.stringify(value));
        assert.deepEqual(value.json, { path: '/guest?x=1', body: 'from the sandbox' });
      } else {
        assert.match(value.error ?? '', /^TypeError:denied:.*loopback/, JSON.stringify(value));
      }
      const leak = await sandbox.emit('get', { url: `${srv.origin}/`, method: 'POST', body: `k=${SECRET}` });
      assert.match((leak[0]?.results[0]?.value as { error?: string }).error ?? '', /TypeError:denied:.*secret/);
      sandbox.dispose();
      await rt.close();
    }
    assert.equal(srv.seen.length, 1, "only the allowed extension's clean request arrived");
  });
});
