/**
 * `child_process.spawn` streamed (issue 23 item 5): a sandboxed extension's spawn goes through the bridge's own
 * dispatcher (policy, exec classification, the secret scan of results) to a real child in the OS sandbox, and
 * what the child prints reaches the guest while it runs. The children here wait for the guest (a line on stdin)
 * rather than for time, so "seen before it exits" does not depend on how fast the machine is.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolvePolicy } from '../../src/policy/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';

const TOKEN_NAME = 'STREAM_TEST_API_TOKEN';
const TOKEN = 'tok-7d41c9e2b85a3f60';

/** The guest: each event spawns a child and answers what it saw, in order. */
const EXTENSION = `
import { spawn, execFile } from 'node:child_process';
function watch(child, onLine) {
  const seen = [];
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => { seen.push(['data', String(d)]); out += String(d); onLine?.(out); });
  child.stderr.on('data', (d) => seen.push(['stderr', String(d)]));
  return new Promise((done) => {
    child.on('error', (e) => seen.push(['error', e.code + '/' + e.wardenCode + ': ' + e.message]));
    child.on('exit', (code, signal) => seen.push(['exit', code, signal]));
    child.on('close', () => done(seen));
  });
}
export default function (pi) {
  pi.on('handshake', async () => {
    // The child prints a line, then waits for the guest to answer it before it goes on and exits.
    const child = spawn('sh', ['-c', 'echo one; read x; echo "got $x"; echo three']);
    let sent = false;
    return watch(child, (out) => {
      if (!sent && out.includes('one\\n')) { sent = true; child.stdin.write('go\\n'); child.stdin.end(); }
    });
  });
  pi.on('kill', async () => {
    const child = spawn('sh', ['-c', 'echo ready; read x; echo never']);
    let killed = false;
    const seen = await watch(child, (out) => { if (!killed && out.includes('ready')) { killed = true; child.kill(); } });
    return { seen, killed: child.killed };
  });
  pi.on('secret', async (e) => {
    // The planted value is printed after a first line the guest sees, split across two writes with a pause.
    const child = spawn('sh', ['-c', 'echo before; read x; printf %s "' + e.head + '"; read y; printf "%s\\\\n" "' + e.tail + '"; read z']);
    let step = 0;
    return watch(child, (out) => { if (step === 0 && out.includes('before')) { step = 1; child.stdin.write('a\\n'); setTimeout(() => child.stdin.write('b\\n'), 100); } });
  });
  pi.on('chatty', async () => {
    const seen = await watch(spawn('sh', ['-c', 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "line $i"; sleep 0.01; done']));
    return { reads: seen.filter((s) => s[0] === 'data').length, text: seen.filter((s) => s[0] === 'data').map((s) => s[1]).join(''), last: seen.at(-1) };
  });
  pi.on('buffered_secret', async () =>
    new Promise((done) => execFile('cat', ['planted.txt'], (err, out) => done(err ? err.wardenCode ?? err.code : 'read: ' + out))),
  );
  pi.on('denied', async (e) => watch(spawn('sh', ['-c', 'touch started; rm -rf ' + e.outside])));
}
`;

describe('child_process.spawn streams a real child through the bridge', () => {
  let root = '';
  let project = '';
  let outside = '';
  let session: BridgeSession;
  let sandbox: Sandbox;

  const ask = async (event: string, payload: Record<string, unknown> = {}): Promise<unknown> => {
    const [outcome] = await sandbox.emit(event, payload);
    const first = outcome?.results[0];
    if (first === undefined || !first.ok) throw new Error(`${event}: expected a handler's answer, found ${JSON.stringify(first)}`);
    return first.value;
  };

  before(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-spawn-')));
    const agentDir = join(root, '.pi', 'agent');
    project = join(root, 'project');
    outside = join(root, 'notes');
    mkdirSync(agentDir, { recursive: true });
    mkdirSync(project, { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    writeFileSync(join(project, 'planted.txt'), `${TOKEN}\n`);
    writeFileSync(join(project, 'ext.js'), EXTENSION);
    writeFileSync(
      join(agentDir, 'settings.json'),
      JSON.stringify({ extensionPolicy: { allowDangerous: true, overrides: { ext: { allow: ['exec'] } } } }),
    );
    // The broker holds the secrets of pi's own environment.
    process.env[TOKEN_NAME] = TOKEN;
    const env = { HOME: root, PI_CODING_AGENT_DIR: agentDir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    session = await BridgeSession.open({ cwd: project, home: join(agentDir, 'warden'), env, policy: resolvePolicy({ env, cwd: project }) });
    sandbox = await Sandbox.create({
      extensionId: 'ext',
      dispatcher: session.runtime.dispatcher,
      boot: hostBoot(project, root),
      limits: { wallTimeMs: 60_000 },
    });
    await sandbox.load(await bundleEntry(join(project, 'ext.js')));
  });

  after(async () => {
    delete process.env[TOKEN_NAME];
    sandbox.dispose();
    await session.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the guest sees a line while the child runs: the child waits for the guest’s answer to it before it exits', async () => {
    const seen = (await ask('handshake')) as unknown[][];
    const out = seen
      .filter((s) => s[0] === 'data')
      .map((s) => s[1])
      .join('');
    assert.equal(out, 'one\ngot go\nthree\n');
    assert.deepEqual(seen.at(-1), ['exit', 0, null]);
    assert.deepEqual(seen[0], ['data', 'one\n'], 'the first line arrives on its own, before the child could go on');
  });

  it('a child printing 300 lines over many reads is seen whole; the calls it takes do not trip quotas or risk', async () => {
    const r = (await ask('chatty')) as { reads: number; text: string; last: unknown[] };
    assert.equal(r.text, Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`).join(''));
    assert.deepEqual(r.last, ['exit', 0, null]);
    assert.ok(r.reads > 1, `streamed over several reads: ${r.reads}`);
  });

  it('kill() from the guest stops the child: it never prints its last line, and exits by the signal', async () => {
    const r = (await ask('kill')) as { seen: unknown[][]; killed: boolean };
    assert.deepEqual(r.seen, [
      ['data', 'ready\n'],
      ['exit', null, 'SIGTERM'],
    ]);
    assert.equal(r.killed, true);
  });

  it('a planted secret in streamed output is withheld as buffered output is, even split across two writes', async () => {
    assert.equal(await ask('buffered_secret'), 'denied', 'buffered: the whole result is withheld');
    const half = TOKEN.length / 2;
    const seen = (await ask('secret', { head: TOKEN.slice(0, half), tail: TOKEN.slice(half) })) as unknown[][];
    assert.deepEqual(seen[0], ['data', 'before\n']);
    const error = seen.find((s) => s[0] === 'error');
    assert.match(String(error?.[1]), /^EACCES\/denied: sh: exec\.read: the result holds the value of a secret the broker hides/);
    const shown = JSON.stringify(seen);
    assert.ok(
      !shown.includes(TOKEN.slice(0, half)) && !shown.includes(TOKEN.slice(half)),
      `no part of the value reached the guest: ${shown}`,
    );
    assert.ok(!seen.some((s) => s[0] === 'exit'), 'the stream ended with the refusal, not with an exit it could read on');
  });

  it('the output cap of a buffered run bounds a streamed child too: past 10 MiB it is killed; only its starter may read it', async () => {
    const op = (extensionId: string) => ({ extensionId, callId: 'c', capability: 'exec' as const, signal: new AbortController().signal });
    const { handle } = (await session.host.perform(
      'exec.spawn',
      { cmd: 'sh', args: ['-c', "head -c 12000000 /dev/zero | tr '\\0' a"] },
      op('ext'),
    )) as {
      handle: string;
    };
    await assert.rejects(
      async () => session.host.perform('exec.read', { handle }, op('other')),
      (e: Error & { code?: string }) =>
        e.code === 'invalid_request' && /expected the handle of a running child this extension started/.test(e.message),
    );
    let total = 0;
    let last: Record<string, unknown> = {};
    while (last.done !== true) {
      last = (await session.host.perform('exec.read', { handle }, op('ext'))) as Record<string, unknown>;
      total += String(last.stdout).length;
    }
    assert.ok(total <= 10 * 1024 * 1024, `at most the cap was kept: ${total}`);
    assert.equal(last.killed, true, JSON.stringify({ ...last, stdout: String(last.stdout).slice(0, 100), total }));
  });

  it('at most 16 streamed children per extension, counted while they start: the 17th started at once is refused', async () => {
    const op = { extensionId: 'ext', callId: 'c', capability: 'exec' as const, signal: new AbortController().signal };
    const started = await Promise.allSettled(
      Array.from(
        { length: 17 },
        () => session.host.perform('exec.spawn', { cmd: 'sh', args: ['-c', 'echo up; read x'] }, op) as Promise<{ handle: string }>,
      ),
    );
    const refused = started.filter((s) => s.status === 'rejected').map((s) => (s.reason as { code?: string }).code);
    assert.deepEqual(refused, ['quota_exceeded']);
    for (const s of started) {
      if (s.status !== 'fulfilled') continue;
      // Ended through its stdin once it runs: a bwrap killed while it still sets up can leave its inner process behind.
      let out = '';
      while (!out.includes('up')) out += String(((await session.host.perform('exec.read', s.value, op)) as { stdout: string }).stdout);
      await session.host.perform('exec.write', { ...s.value, data: '', end: true }, op);
    }
  });

  it('a command exec classification refuses is refused before it starts', async () => {
    const seen = (await ask('denied', { outside })) as unknown[][];
    assert.equal(seen.length, 1);
    assert.match(String(seen[0]?.[1]), /^EACCES\/denied: /);
    assert.equal(existsSync(join(project, 'started')), false, 'the child never ran: its first command left nothing');
    assert.equal(existsSync(join(outside, 'keep.txt')), true);
  });
});
