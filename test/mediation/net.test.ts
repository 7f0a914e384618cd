/**
 * The `net` capability as policy and mediation (issue 23 item 5, ADR 0038), without pi: what the settings accept
 * (a malformed grant fails closed naming the key; a project file cannot grant), what `policy explain` and `policy
 * diff` show, the target check through a real dispatcher (a profile alone is no grant, an agent socket never), and
 * the secret scan of socket reads across reads (scripted reads: the order of chunks is what matters; the real
 * sockets are in test/pi/net.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/dispatcher.ts';
import { diffPolicies, explainPolicy } from '../../src/policy/index.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

const SECRET = 'pk_live_51HxQe2NetScanValue0987654321';
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

describe('net grants in the settings', () => {
  it('a malformed grant is an error naming its key; the user file then blocks loading', () => {
    const bad = [
      [{ tcpPorts: ['9-3'] }, 'extensionPolicy.overrides.lsp.net.tcpPorts[0]'],
      [{ tcpPorts: [0] }, 'extensionPolicy.overrides.lsp.net.tcpPorts[0]'],
      [{ tcpPorts: ['5000', 'x'] }, 'extensionPolicy.overrides.lsp.net.tcpPorts[0]'],
      [{ tcpPorts: ['70000-70001'] }, 'extensionPolicy.overrides.lsp.net.tcpPorts[0]'],
      [{ unix: ['relative.sock'] }, 'extensionPolicy.overrides.lsp.net.unix[0]'],
      [{ hosts: ['10.0.0.1'] }, 'extensionPolicy.overrides.lsp.net.hosts'],
      [{ ownerCheck: 'no' }, 'extensionPolicy.overrides.lsp.net.ownerCheck'],
    ] as const;
    for (const [net, key] of bad) {
      const p = policyFor({ user: { extensionPolicy: { allowDangerous: true, overrides: { lsp: { allow: ['net'], net } } } } });
      assert.ok(
        p.errors.some((e) => e.key === key),
        `${JSON.stringify(net)}: expected an error on ${key}, found ${JSON.stringify(p.errors.map((e) => e.key))}`,
      );
      assert.equal(p.loadBlocked, true);
      assert.equal(p.netGrants.size, 0);
    }
  });

  it('a grant reads as paths (~ expanded), port ranges and the owner check, on by default', () => {
    const p = policyFor(
      { user: { extensionPolicy: { overrides: { lsp: { net: { unix: ['~/run/lsp.sock'], tcpPorts: [5007, '6000-6010'] } } } } } },
      { HOME: '/home/u' },
    );
    assert.deepEqual(p.errors, []);
    const g = p.netGrants.get('lsp');
    assert.deepEqual(g, {
      unix: ['/home/u/run/lsp.sock'],
      tcpPorts: [
        [5007, 5007],
        [6000, 6010],
      ],
      ownerCheck: true,
    });
  });

  it('net is dangerous: denied in every profile until allowDangerous, and a project file can neither open it nor grant sockets', () => {
    for (const profile of ['safe', 'balanced', 'permissive']) {
      const p = policyFor({ user: { extensionPolicy: { profile, overrides: { lsp: { allow: ['net'] } } } } });
      assert.equal(explainPolicy(p, 'lsp').capabilities.net.decision, 'deny', profile);
      assert.equal(explainPolicy(p, 'lsp').capabilities.net.dangerous, true);
    }
    const p = policyFor({
      user: { extensionPolicy: { overrides: { lsp: { allow: ['net'] } } } },
      project: {
        extensionPolicy: { allowDangerous: true, overrides: { lsp: { allow: ['net'], net: { unix: ['/run'], ownerCheck: false } } } },
      },
    });
    assert.equal(explainPolicy(p, 'lsp').capabilities.net.decision, 'deny');
    assert.equal(p.netGrants.size, 0);
    assert.ok(
      p.warnings.some((w) => /overrides\.lsp\.net ignored: it grants sockets/.test(w)),
      JSON.stringify(p.warnings),
    );
    assert.ok(p.warnings.some((w) => /allowDangerous true ignored: it would open exec, env and net/.test(w)));
  });

  it('policy explain shows the grant; policy diff calls more sockets and the owner check off looser', () => {
    const user = (net: object) =>
      policyFor({ user: { extensionPolicy: { allowDangerous: true, overrides: { lsp: { allow: ['net'], net } } } } });
    const a = user({ unix: ['/srv/a.sock'] });
    const b = user({ unix: ['/srv/a.sock', '/srv/b.sock'], tcpPorts: [5007], ownerCheck: false });
    const e = explainPolicy(b, 'lsp');
    assert.deepEqual(e.overrides.lsp?.net, { unix: ['/srv/a.sock', '/srv/b.sock'], tcp_ports: ['5007'], owner_check: false });
    assert.equal(e.capabilities.net.decision, 'allow');
    const changes = diffPolicies(a, b).filter((c) => c.field.startsWith('extension lsp: net'));
    assert.deepEqual(
      changes.map((c) => [c.field, c.direction]),
      [
        ['extension lsp: net.unix', 'looser'],
        ['extension lsp: net.tcp_ports', 'looser'],
        ['extension lsp: net.owner_check', 'looser'],
      ],
    );
  });
});

/** A runtime with real fs scope over a temporary home and project, and scripted socket reads. */
async function world(extensionPolicy: object, reads: Array<{ data?: string; done?: boolean }> = []) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-netmed-')));
  const project = join(root, 'project');
  const home = join(root, 'home');
  mkdirSync(project);
  mkdirSync(join(home, '.ssh'), { recursive: true });
  const closed: unknown[] = [];
  const connected: unknown[] = [];
  const rt = await createRuntime({
    home: tempHome(),
    policy: policyFor({ user: { extensionPolicy } }, { HOME: home }),
    realFs: true,
    workspace: project,
    fsLayout: { home },
    operations: new Map<string, Operation>([
      ['net.connect', (p) => (connected.push(p), { handle: 'h1' })],
      [
        'net.read',
        () => {
          const r = reads.shift() ?? { done: true };
          return Promise.resolve({ data: Buffer.from(r.data ?? '').toString('base64'), done: r.done === true });
        },
      ],
      ['net.close', (p) => (closed.push(p.handle), null)],
    ]),
    heldSecrets: [{ name: 'PAYMENTS_API_KEY', value: SECRET }],
    parentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let n = 0;
  const call = (method: string, params: Record<string, unknown>, id = 'lsp') =>
    rt.dispatcher.dispatch(id, { call_id: `c${++n}`, method, params });
  return { root, project, home, rt, call, closed, connected };
}

describe('net mediation through a real dispatcher', () => {
  it('allowed by a permissive profile with allowDangerous but not granted by name: refused before any connect', async () => {
    const w = await world({ profile: 'permissive', allowDangerous: true });
    const r = await w.call('net.connect', { path: join(w.project, 'lsp.sock') });
    assert.ok(!r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('net_not_granted'), JSON.stringify(r));
    assert.match(r.ok ? '' : r.error.message, /expected net granted to lsp by name/);
    assert.deepEqual(w.connected, []);
    await w.rt.close();
  });

  it('an agent socket is refused even when the grant names its folder: in a credential store, or by its name anywhere', async () => {
    const w = await world({ allowDangerous: true, overrides: { lsp: { allow: ['net'], net: { unix: ['~/.ssh'] } } } });
    const path = join(w.home, '.ssh', 'agent.sock');
    const server = createServer();
    servers.push(server);
    await new Promise<void>((done) => server.listen(path, done));
    const r = await w.call('net.connect', { path });
    assert.ok(!r.ok && r.error.reasonCodes.includes('net_sensitive_path'), JSON.stringify(r));
    assert.deepEqual(w.connected, []);
    // Agent, bus and container sockets by name, wherever they are: in the project itself too.
    for (const name of ['S.gpg-agent', 'docker.sock', 'agent.sock']) {
      const r2 = await w.call('net.connect', { path: join(w.project, name) });
      assert.ok(!r2.ok && r2.error.reasonCodes.includes('net_sensitive_path'), `${name}: ${JSON.stringify(r2)}`);
    }
    // The same grant reaches an ordinary socket in a granted folder.
    const ok = await w.call('net.connect', { path: join(w.project, 'x.sock') });
    assert.ok(ok.ok, JSON.stringify(ok));
    await w.rt.close();
  });

  it('IPv6 loopback and localhost pass on a granted port; the any-address, a private address and a v4-mapped form do not', async () => {
    const w = await world({ allowDangerous: true, overrides: { lsp: { allow: ['net'], net: { tcpPorts: [5007] } } } });
    for (const host of ['::1', 'localhost', '127.0.0.1', undefined]) {
      const r = await w.call('net.connect', { port: 5007, ...(host === undefined ? {} : { host }) });
      assert.ok(r.ok, `${String(host)}: ${JSON.stringify(r)}`);
    }
    for (const host of ['0.0.0.0', '10.0.0.1', '::ffff:127.0.0.1', '127.0.0.2', '[::]']) {
      const r = await w.call('net.connect', { port: 5007, host });
      assert.ok(!r.ok && r.error.reasonCodes.includes('net_not_loopback'), `${host}: ${JSON.stringify(r)}`);
    }
    assert.equal(w.connected.length, 4);
    await w.rt.close();
  });
});

describe('socket reads are scanned for held secrets across reads', () => {
  const grant = { allowDangerous: true, overrides: { lsp: { allow: ['net'], net: { tcpPorts: [5007] } } } };
  const text = (r: { ok: boolean; value?: unknown }) => Buffer.from(String((r.value as { data: string }).data), 'base64').toString();

  it('a value cut in two by the server’s writes: the first part is held back, the read withheld, the socket closed', async () => {
    const half = SECRET.length / 2;
    const w = await world(grant, [
      { data: 'hello\n' },
      { data: `key=${SECRET.slice(0, half)}` },
      { data: `${SECRET.slice(half)}\nmore\n` },
    ]);
    const first = await w.call('net.read', { handle: 'h1' });
    assert.ok(first.ok && text(first) === 'hello\n', JSON.stringify(first));
    const second = await w.call('net.read', { handle: 'h1' });
    assert.ok(second.ok && text(second) === '', `the unfinished line waits: ${JSON.stringify(second)}`);
    const third = await w.call('net.read', { handle: 'h1' });
    assert.ok(!third.ok && third.error.code === 'denied' && third.error.reasonCodes.includes('secret_in_result'), JSON.stringify(third));
    assert.deepEqual(w.closed, ['h1']);
    await w.rt.close();
  });

  it('3 MiB of binary data (NUL bytes, odd lengths) is scanned read by read without bringing the process down', async () => {
    // Node 24.21 corrupts its heap decoding UTF-16 from an odd-length view at an odd offset: the decoded copies of
    // these reads aborted the process ("double free or corruption") before resultCopies kept lengths even.
    const big = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i % 251));
    const reads = [];
    for (let off = 0; off < big.length; off += 65536) reads.push({ data: big.subarray(off, off + 65536).toString('latin1') });
    const w = await world(
      grant,
      reads.map((r) => ({ data: Buffer.from(r.data, 'latin1').toString('utf8') })),
    );
    let n = 0;
    for (let i = 0; i < reads.length; i++) {
      const r = await w.call('net.read', { handle: 'h1' });
      assert.ok(r.ok, JSON.stringify(r).slice(0, 300));
      n += Buffer.from(String((r.value as { data: string }).data), 'base64').length;
    }
    assert.ok(n > 0);
    await w.rt.close();
  });

  it('an unfinished line is handed on once a read finds the socket quiet (an LSP body ends without a line break)', async () => {
    const body = 'Content-Length: 17\r\n\r\n{"jsonrpc":"2.0"}';
    const w = await world(grant, [{ data: body }, {}]);
    const first = await w.call('net.read', { handle: 'h1' });
    assert.ok(first.ok && text(first) === 'Content-Length: 17\r\n\r\n', JSON.stringify(first));
    const second = await w.call('net.read', { handle: 'h1' });
    assert.ok(second.ok && text(second) === '{"jsonrpc":"2.0"}', JSON.stringify(second));
    await w.rt.close();
  });
});
