/**
 * `node:net` for sandboxed extensions (issue 23 item 5, ADR 0038): a guest connects through the bridge's own
 * dispatcher (policy, net mediation, the secret scans) to a real server. With the owner check on, the server is a
 * child the extension started through `exec.spawn` (inside bubblewrap); the test's own servers stand in for a
 * process nobody started through the bridge, which the owner check refuses and a grant with `ownerCheck: false`
 * reaches. Every refusal of a target comes from mediation, before any socket exists.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/evidence/store.ts';
import { osSandboxAvailability } from '../../src/pi/confine/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';

const TOKEN_NAME = 'NET_TEST_API_TOKEN';
const TOKEN = 'tok-net-5c0e7a91d2b84f36';

/** The guest: each event opens a socket, says one line, and answers every event the socket gave, in order. */
const EXTENSION = `
import net from 'node:net';
import { spawn } from 'node:child_process';
function talk(target, line) {
  return new Promise((done) => {
    const seen = [];
    const s = net.connect(target);
    s.setEncoding('utf8');
    s.on('connect', () => { seen.push(['connect']); s.write(line); });
    s.on('data', (d) => { seen.push(['data', d]); if (d.endsWith('\\n')) s.end(); });
    s.on('end', () => seen.push(['end']));
    s.on('error', (e) => seen.push(['error', e.code + '/' + e.wardenCode + ': ' + e.message]));
    s.on('close', () => done(seen));
  });
}
/** Starts the echo server as a child through the bridge and resolves once it listens. */
function server(args) {
  return new Promise((done) => {
    const child = spawn('node', ['server.cjs', ...args]);
    child.stdout.setEncoding('utf8');
    let out = '';
    child.stdout.on('data', (d) => { out += d; if (out.includes('listening')) done(child); });
    child.on('close', (code) => done({ failed: code, out }));
  });
}
export default function (pi) {
  pi.on('talk', async (e) => talk(e.target, e.line ?? 'ping\\n'));
  pi.on('child', async (e) => {
    const child = await server(e.args);
    if (child.failed !== undefined) return { failed: child };
    const seen = await talk(e.target, e.line ?? 'ping\\n');
    child.stdin.end();
    return seen;
  });
  pi.on('bytes', async (e) => new Promise((done) => {
    // Buffers both ways, the socket made with new Socket().connect(path, cb), then destroyed by the guest.
    const got = [];
    const s = new net.Socket();
    s.connect(e.path, () => s.write(Buffer.from(e.send, 'base64')));
    s.on('data', (d) => { got.push(d); if (Buffer.concat(got).length >= e.expect) s.destroy(); });
    s.on('error', (err) => done({ error: err.code + ': ' + err.message }));
    s.on('close', (hadError) => done({ isBuffer: got.every((d) => Buffer.isBuffer(d)), data: Buffer.concat(got).toString('base64'), hadError, destroyed: s.destroyed }));
  }));
  pi.on('flood', async (e) => new Promise((done) => {
    let n = 0;
    let reads = 0;
    let last = -1;
    let ordered = true;
    const s = net.connect({ path: e.path });
    // Each chunk continues the 0..250 sequence where the one before stopped (its ends checked: a loop over every
    // byte would cost the guest more CPU than the stream).
    s.on('data', (d) => {
      reads++;
      if (d[0] !== (last + 1) % 251 || d[d.length - 1] !== (last + d.length) % 251) ordered = false;
      last = d[d.length - 1]; n += d.length;
    });
    s.on('error', (err) => done({ error: err.code + ': ' + err.message }));
    s.on('close', () => done({ n, ordered, reads }));
  }));
  pi.on('listen', async () => {
    try { net.createServer(); return 'listening'; } catch (e) { return e.code + ': ' + e.message; }
  });
}
`;

/** An echo server: answers each line with "pong <line>", ends when the client does. */
const SERVER = `
const net = require('net');
const [kind, where] = process.argv.slice(2);
const srv = net.createServer((c) => {
  c.setEncoding('utf8');
  let buf = '';
  c.on('data', (d) => { buf += d; if (buf.includes('\\n')) { c.write('pong ' + buf); buf = ''; } });
  c.on('end', () => c.end());
  c.on('error', () => {});
});
srv.listen(kind === 'unix' ? where : { port: Number(where), host: '127.0.0.1' }, () => console.log('listening'));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

/** A server of the test process (a process no extension started): echoes, or greets with `greeting` first. */
function standIn(where: string | number, greeting?: string): Promise<{ server: Server; got: string[]; port: number }> {
  const got: string[] = [];
  const server = createServer((c: Socket) => {
    c.setEncoding('utf8');
    if (greeting !== undefined) c.write(greeting);
    c.on('data', (d: string) => {
      got.push(d);
      if (d.includes('\n')) c.write(`pong ${d}`);
    });
    c.on('end', () => c.end());
    c.on('error', () => undefined);
  });
  return new Promise((done) =>
    server.listen(typeof where === 'string' ? where : { port: where, host: '127.0.0.1' }, () => {
      const a = server.address();
      done({ server, got, port: typeof a === 'object' && a !== null ? a.port : 0 });
    }),
  );
}

function freePort(): Promise<number> {
  const s = createServer();
  return new Promise((done) =>
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    }),
  );
}

interface World {
  root: string;
  project: string;
  session: BridgeSession;
  sandboxes: Map<string, Sandbox>;
}

async function open(settings: object, ids: readonly string[], cpuMsPerWindow?: number): Promise<World> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-net-')));
  const agentDir = join(root, '.pi', 'agent');
  const project = join(root, 'project');
  mkdirSync(agentDir, { recursive: true });
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'ext.js'), EXTENSION);
  writeFileSync(join(project, 'server.cjs'), SERVER);
  writeFileSync(join(agentDir, 'settings.json'), JSON.stringify({ extensionPolicy: settings }));
  const env = { HOME: root, PI_CODING_AGENT_DIR: agentDir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const policy = resolvePolicy({ env, cwd: project });
  assert.deepEqual(policy.errors, []);
  const session = await BridgeSession.open({ cwd: project, home: join(agentDir, 'warden'), env, policy });
  const sandboxes = new Map<string, Sandbox>();
  const bundle = await bundleEntry(join(project, 'ext.js'));
  for (const id of ids) {
    const sandbox = await Sandbox.create({
      extensionId: id,
      dispatcher: session.runtime.dispatcher,
      boot: hostBoot(project, root),
      limits: { wallTimeMs: 60_000, ...(cpuMsPerWindow === undefined ? {} : { cpuMsPerWindow }) },
    });
    await sandbox.load(bundle);
    sandboxes.set(id, sandbox);
  }
  return { root, project, session, sandboxes };
}

async function close(w: World | undefined): Promise<void> {
  if (w === undefined) return;
  for (const s of w.sandboxes.values()) s.dispose();
  await w.session.close();
  rmSync(w.root, { recursive: true, force: true });
}

async function ask(w: World, id: string, event: string, payload: Record<string, unknown> = {}): Promise<unknown> {
  const [outcome] = await w.sandboxes.get(id)!.emit(event, payload);
  const first = outcome?.results[0];
  if (first === undefined || !first.ok) throw new Error(`${event}: expected a handler's answer, found ${JSON.stringify(first)}`);
  return first.value;
}

/** The error event of a socket's story, or undefined. */
const errorOf = (seen: unknown): string | undefined => (seen as unknown[][]).find((s) => s[0] === 'error')?.[1] as string | undefined;

const OK_STORY = [['connect'], ['data', 'pong ping\n'], ['end']];

describe(
  'node:net with the owner check: a server the extension started through the bridge',
  { skip: !osSandboxAvailability().available },
  () => {
    let w: World;
    let outside = '';
    let egressDir = '';
    const servers: Server[] = [];

    before(async () => {
      process.env[TOKEN_NAME] = TOKEN;
      egressDir = mkdtempSync(join(tmpdir(), 'pi-warden-egress-'));
      w = await open(
        {
          allowDangerous: true,
          overrides: {
            ext: { allow: ['exec', 'net'], net: { unix: [egressDir], tcpPorts: ['1024-65535'] } },
            nogrant: { allow: ['exec'] },
          },
        },
        ['ext', 'nogrant'],
      );
      outside = join(w.root, 'elsewhere');
      mkdirSync(outside);
    });

    after(async () => {
      delete process.env[TOKEN_NAME];
      for (const s of servers) s.close();
      await close(w);
      rmSync(egressDir, { recursive: true, force: true });
    });

    it('a child started through exec.spawn listening on a Unix socket in the project: connect, data, end, close', async () => {
      const path = join(w.project, 'lsp.sock');
      const seen = await ask(w, 'ext', 'child', { args: ['unix', path], target: { path } });
      assert.deepEqual(seen, OK_STORY);
    });

    it('a relative socket path is taken from the project, as the server bound it', async () => {
      const seen = await ask(w, 'ext', 'child', { args: ['unix', 'rel.sock'], target: { path: 'rel.sock' } });
      assert.deepEqual(seen, OK_STORY);
    });

    it('a socket in the project that another process listens on is refused by the owner check, before anything is sent', async () => {
      const path = join(w.project, 'other.sock');
      const s = await standIn(path);
      servers.push(s.server);
      const seen = await ask(w, 'ext', 'talk', { target: { path } });
      assert.match(
        String(errorOf(seen)),
        /^EACCES\/denied: net\.connect: .*expected the listening end held by a process this extension started/,
      );
      assert.deepEqual(s.got, [], 'the other process received nothing');
    });

    it('a loopback TCP port of a confined child is in its own network namespace: refused with that reason', async () => {
      const port = await freePort();
      const seen = await ask(w, 'ext', 'child', { args: ['tcp', String(port)], target: { port, host: '127.0.0.1' } });
      assert.match(String(errorOf(seen)), /own network namespace/);
    });

    it('a secret the guest sends is blocked by the outbound scan and never reaches the child', async () => {
      const path = join(w.project, 'secret.sock');
      const seen = (await ask(w, 'ext', 'child', { args: ['unix', path], target: { path }, line: `key=${TOKEN}\n` })) as unknown[][];
      assert.deepEqual(seen[0], ['connect']);
      // The write is refused, not the echo of it: the child never had the value to send back.
      assert.match(String(errorOf(seen)), /^EACCES\/denied: net\.write: the payload contains a secret/);
      assert.ok(!seen.some((s) => s[0] === 'data'), `nothing came back, since nothing was sent: ${JSON.stringify(seen)}`);
    });

    it('refused before any connect: a non-loopback address, a path outside the grant, pi-warden’s egress proxy socket', async () => {
      const far = await ask(w, 'ext', 'talk', { target: { port: 8080, host: '10.0.0.1' } });
      assert.match(String(errorOf(far)), /^EACCES\/denied: net\.connect: expected a loopback address .* found "10\.0\.0\.1"/);
      const named = await ask(w, 'ext', 'talk', { target: { port: 8080, host: 'example.com' } });
      assert.match(String(errorOf(named)), /expected a loopback address/);
      const away = join(outside, 'away.sock');
      const s = await standIn(away);
      servers.push(s.server);
      assert.match(
        String(errorOf(await ask(w, 'ext', 'talk', { target: { path: away } }))),
        /is outside the project .* name it in extensionPolicy\.overrides\.ext\.net\.unix/,
      );
      // The grant names the folder a proxy lives in: its socket stays closed all the same.
      const proxy = await standIn(join(egressDir, 'egress.sock'));
      servers.push(proxy.server);
      assert.match(
        String(errorOf(await ask(w, 'ext', 'talk', { target: { path: join(egressDir, 'egress.sock') } }))),
        /one of pi-warden's own sockets/,
      );
      assert.deepEqual([s.got, proxy.got], [[], []]);
    });

    it('an extension without net granted is refused by policy although its child listens', async () => {
      const path = join(w.project, 'lsp2.sock');
      const seen = await ask(w, 'nogrant', 'child', { args: ['unix', path], target: { path } });
      assert.match(String(errorOf(seen)), /^EACCES\/denied: .*net/);
    });

    it('malformed connect params fail closed: a path and a port at once, a port out of range, a port that is no number', async () => {
      const call = (params: Record<string, unknown>) =>
        w.session.runtime.dispatcher.dispatch('ext', { call_id: `m${JSON.stringify(params)}`, method: 'net.connect', params });
      const both = await call({ path: join(w.project, 'x.sock'), port: 80 });
      assert.ok(
        !both.ok && both.error.code === 'invalid_request' && both.error.reasonCodes.includes('net_target_invalid'),
        JSON.stringify(both),
      );
      assert.match(both.ok ? '' : both.error.message, /expected either a socket path or a host and port, found both/);
      for (const params of [{ port: 70000 }, { port: '80' }, { host: '127.0.0.1' }, { path: '' }]) {
        const r = await call(params);
        assert.ok(!r.ok && r.error.code === 'invalid_request', `${JSON.stringify(params)}: ${JSON.stringify(r)}`);
      }
      const big = await ask(w, 'ext', 'talk', { target: { port: 70000 } });
      assert.match(String(errorOf(big)), /^EINVAL\/invalid_request: /);
    });

    it('every decision is in the ledger with its reason: the allowed connects, the refusals by policy and by mediation', async () => {
      await w.session.runtime.writer.flush();
      const db = openStore(join(w.root, '.pi', 'agent', 'warden'), { readOnly: true });
      try {
        const entries = (
          db.prepare(`SELECT entry FROM ledger WHERE entry LIKE '%"method":"net.connect"%'`).all() as Array<{ entry: string }>
        ).map((r) => JSON.parse(r.entry) as { extension_id: string; decision: string; reason_codes: string[] });
        const reasons = (id: string, decision: string) =>
          entries.filter((e) => e.extension_id === id && e.decision === decision).flatMap((e) => e.reason_codes);
        assert.ok(
          entries.some((e) => e.extension_id === 'ext' && e.decision === 'allow'),
          JSON.stringify(entries.slice(0, 3)),
        );
        const refused = [...reasons('ext', 'deny'), ...reasons('ext', 'error')];
        for (const code of ['net_not_loopback', 'net_path_out_of_scope', 'net_warden_private', 'net_target_invalid', 'net_not_owned'])
          assert.ok(refused.includes(code), `${code} recorded in a refusal: ${JSON.stringify([...new Set(refused)])}`);
        assert.ok(reasons('nogrant', 'deny').length > 0, 'the policy refusal is recorded');
      } finally {
        db.close();
      }
    });

    it('createServer is refused with the reason', async () => {
      assert.match(
        String(await ask(w, 'ext', 'listen')),
        /^ERR_ACCESS_DENIED: denied: node:net\.createServer is not available in the sandbox/,
      );
    });
  },
);

describe('node:net without the OS sandbox: loopback TCP, and servers nobody started through the bridge', () => {
  let w: World;
  let echo: Awaited<ReturnType<typeof standIn>>;
  let leaky: Awaited<ReturnType<typeof standIn>>;
  const servers: Server[] = [];

  before(async () => {
    process.env[TOKEN_NAME] = TOKEN;
    echo = await standIn(0);
    leaky = await standIn(0, `hello\nkey=${TOKEN}\n`);
    servers.push(echo.server, leaky.server);
    const ports = [echo.port, leaky.port];
    w = await open(
      {
        allowDangerous: true,
        exec: { osSandbox: 'off' },
        overrides: {
          own: { allow: ['exec', 'net'], net: { tcpPorts: ['1024-65535'] } },
          loose: { allow: ['net'], net: { tcpPorts: ports, ownerCheck: false } },
        },
      },
      ['own', 'loose'],
      // The guest decodes what it receives at about 0.6 s of CPU per MiB: the 2 MiB stream below needs more than
      // the default 250 ms a second.
      10_000,
    );
  });

  after(async () => {
    delete process.env[TOKEN_NAME];
    for (const s of servers) s.close();
    await close(w);
  });

  it('a child listening on a loopback TCP port in pi’s network namespace is reached with the owner check on', async () => {
    const port = await freePort();
    const seen = await ask(w, 'own', 'child', { args: ['tcp', String(port)], target: { port, host: 'localhost' } });
    assert.deepEqual(seen, OK_STORY);
  });

  it('with the owner check on, a loopback port the extension did not start is refused; the port list alone is not enough', async () => {
    const seen = await ask(w, 'own', 'talk', { target: { port: echo.port } });
    assert.match(
      String(errorOf(seen)),
      /^EACCES\/denied: net\.connect: 127\.0\.0\.1:\d+: expected (a listener started by this extension|the listening end held by a process this extension started)/,
    );
    assert.deepEqual(echo.got, []);
  });

  it('ownerCheck false: a granted loopback port of another process is reached; a port the grant does not name is refused', async () => {
    assert.deepEqual(await ask(w, 'loose', 'talk', { target: { port: echo.port, host: '127.0.0.1' } }), OK_STORY);
    const other = await freePort();
    const seen = await ask(w, 'loose', 'talk', { target: { port: other } });
    assert.match(String(errorOf(seen)), /port \d+ is not in extensionPolicy\.overrides\.loose\.net\.tcpPorts/);
  });

  it('a held secret the server sends is withheld: the socket ends with the refusal and no part of the value reaches the guest', async () => {
    const seen = (await ask(w, 'loose', 'talk', { target: { port: leaky.port } })) as unknown[][];
    const shown = JSON.stringify(seen);
    assert.ok(!shown.includes(TOKEN), shown);
    assert.match(String(errorOf(seen)), /^EACCES\/denied: net\.read: the result holds the value of a secret the broker hides/);
  });

  it('bytes cross both ways as Buffers; a socket the guest destroys is closed on the server side too', async () => {
    const path = join(w.project, 'bytes.sock');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const peer = await new Promise<{ server: Server; ended: Promise<Buffer> }>((ready) => {
      let ended!: (b: Buffer) => void;
      const done = new Promise<Buffer>((r) => (ended = r));
      const server = createServer((c: Socket) => {
        const got: Buffer[] = [];
        c.on('data', (d: Buffer) => {
          got.push(d);
          if (Buffer.concat(got).length === 256) c.write(Buffer.concat(got).reverse());
        });
        c.on('close', () => ended(Buffer.concat(got)));
        c.on('error', () => undefined);
      });
      server.listen(path, () => ready({ server, ended: done }));
    });
    servers.push(peer.server);
    const r = (await ask(w, 'loose', 'bytes', { path, send: bytes.toString('base64'), expect: 256 })) as Record<string, unknown>;
    assert.deepEqual(r, { isBuffer: true, data: Buffer.from(bytes).reverse().toString('base64'), hadError: false, destroyed: true });
    assert.deepEqual(await peer.ended, bytes, 'the server got every byte, then saw the socket closed');
  });

  it('a server sending 2 MiB: every read at most 64 KiB, and the whole stream arrives in order past the 1 MiB pause', async () => {
    const path = join(w.project, 'flood.sock');
    const total = 2 * 1024 * 1024;
    const chunk = Buffer.from(Array.from({ length: 251 * 256 }, (_, i) => i % 251));
    const server = createServer((c: Socket) => {
      let sent = 0;
      const more = () => {
        while (sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!c.write(piece)) return void c.once('drain', more);
        }
        c.end();
      };
      more();
      c.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(path, done));
    const r = (await ask(w, 'loose', 'flood', { path })) as { n: number; ordered: boolean; reads: number };
    assert.deepEqual({ n: r.n, ordered: r.ordered }, { n: total, ordered: true });
    assert.ok(r.reads >= total / (64 * 1024), `no read handed on more than 64 KiB: ${r.reads} reads for ${total} bytes`);
  });

  it('at most 16 open sockets per extension, counted while they open: the 17th opened at once is refused', async () => {
    const op = { extensionId: 'loose', callId: 'c', capability: 'net' as const, signal: new AbortController().signal };
    const opened = await Promise.allSettled(
      Array.from({ length: 17 }, () => w.session.host.perform('net.connect', { port: echo.port }, op) as Promise<{ handle: string }>),
    );
    const refused = opened.filter((s) => s.status === 'rejected').map((s) => (s.reason as { code?: string }).code);
    assert.deepEqual(refused, ['quota_exceeded']);
    for (const s of opened) if (s.status === 'fulfilled') w.session.host.perform('net.close', s.value, op);
    // Closed sockets no longer count.
    const again = (await w.session.host.perform('net.connect', { port: echo.port }, op)) as { handle: string };
    await assert.rejects(
      async () => w.session.host.perform('net.read', again, { ...op, extensionId: 'own' }),
      (e: Error & { code?: string }) =>
        e.code === 'invalid_request' && /expected the handle of a socket this extension opened/.test(e.message),
    );
    w.session.host.perform('net.close', again, op);
  });
});
