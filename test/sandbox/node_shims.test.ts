import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { policyFor } from '../helpers.ts';
import { ask, loadFixture, loadSource, type Harness } from './harness.ts';

describe('Node shims: every effect is a hostcall', () => {
  let dir = '';
  let h: Harness;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pi-warden-shims-'));
    writeFileSync(join(dir, 'a.txt'), 'alpha');
    mkdirSync(join(dir, 'sub'));
    h = await loadFixture('node-shims.ts');
  });
  after(() => h.sandbox.dispose());

  it('fs sync reads the host file, writes go through fs.write, errors carry the Node errno', async () => {
    const out = (await ask(h, 'fs_sync', { dir })) as Record<string, unknown>;
    assert.deepEqual(out, {
      data: 'alpha',
      bufLen: 5,
      isBuffer: true,
      isFile: true,
      size: 5,
      exists: true,
      notExists: false,
      list: ['a.txt', 'sub'],
      typed: ['a.txt:false', 'sub:true'],
      missing: 'ENOENT',
      reread: 'written+more',
    });
    assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'sub'], 'the headless host keeps writes in its overlay');
    assert.equal(h.host.writes.get(join(dir, 'out.txt'))?.toString(), 'written+more');
    const methods = new Set(h.recorder.entries.map((e) => e.method));
    for (const m of ['fs.read', 'fs.stat', 'fs.exists', 'fs.list', 'fs.write']) assert.ok(methods.has(m), m);
  });

  it('fs/promises and the callback API are asynchronous hostcalls', async () => {
    assert.deepEqual(await ask(h, 'fs_async', { dir }), { data: 'alpha', list: 2, viaCallback: 'alpha' });
    assert.equal(h.host.writes.get(join(dir, 'async.txt'))?.toString(), 'bytes');
  });

  it('a read the policy denies is EACCES in the extension and a deny record in dispatch', async () => {
    const denied = await loadFixture('node-shims.ts', {
      policy: policyFor({ user: { extensionPolicy: { denyCaps: ['read', 'exec', 'env'] } } }),
    });
    assert.equal(await ask(denied, 'denied_read'), 'EACCES/denied');
    const rec = denied.recorder.entries.find((e) => e.method === 'fs.read');
    assert.deepEqual([rec?.capability, rec?.decision, rec?.rule], ['read', 'deny', 'deny_caps']);
    denied.sandbox.dispose();
  });

  it('process.env reads are env.get hostcalls: planted values when allowed, undefined when denied; writes stay local', async () => {
    const out = (await ask(h, 'env')) as Record<string, unknown>;
    assert.equal(out.home, '/home/probe');
    assert.match(String(out.token), /^ghp_[A-Za-z0-9]{36}$/, 'a planted GITHUB_TOKEN shaped like a real one');
    assert.ok((out.keys as number) > 5);
    assert.equal(out.set, 'x');
    const safe = await loadFixture('node-shims.ts', { policy: 'safe' });
    assert.deepEqual(await ask(safe, 'env'), { keys: 0, set: 'x' });
    assert.ok(safe.recorder.entries.filter((e) => e.method.startsWith('env.')).every((e) => e.decision === 'deny'));
    safe.sandbox.dispose();
  });

  it('process, os, path and url answer from the boot data and pure code', async () => {
    assert.deepEqual(await ask(h, 'process'), {
      cwd: tmpdir(),
      platform: process.platform,
      argv0: 'node',
      version: true,
      home: '/home/probe',
      tmp: tmpdir(),
      eol: '\n',
    });
    assert.deepEqual(await ask(h, 'path_url'), {
      join: '/a/c/d.ts',
      rel: '../../d',
      ext: '.ts',
      base: 'y',
      dir: '/x/y',
      resolve: '/root/b',
      url: '/tmp/a b.txt',
      back: 'file:///tmp/a%20b.txt',
    });
  });

  it('child_process spawn, execSync and execFile are exec hostcalls (the headless host runs nothing)', async () => {
    const child = (await ask(h, 'child')) as Record<string, string>;
    assert.deepEqual({ ...child, viaSpawn: undefined }, { sync: '127', viaSpawn: undefined, viaExecFile: '127' });
    assert.match(child.viaSpawn ?? '', /^127:\S+: git: command not found\n$/, "a shell's answer, nothing naming the probe");
    const exec = h.recorder.entries.filter((e) => e.method === 'exec' || e.method === 'exec.spawn');
    assert.deepEqual(exec.map((e) => e.method).sort(), ['exec', 'exec', 'exec.spawn'], 'spawn starts a streamed child');
    assert.ok(exec.every((e) => e.capability === 'exec' && e.decision === 'allow'));
  });

  it('events, buffer, crypto, util, url, timers and TextEncoder work inside the guest', async () => {
    assert.deepEqual(await ask(h, 'misc'), {
      got: 13,
      sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      md5: '900150983cd24fb0d6963f7d28e17f72',
      b64: 'aGVsbG8=',
      hex: 2,
      rnd: 8,
      uuid: true,
      fmt: 'a=5 {"b":1}',
      insp: '{"a":[1]}',
      url: '1',
      text: 'é',
    });
  });

  it('fetch and https.get are http hostcalls; a network failure is a TypeError / error event, as in Node', async () => {
    assert.deepEqual(await ask(h, 'network'), { viaFetch: 'TypeError:io', viaHttps: 'error:ECONNREFUSED' });
    assert.equal(h.recorder.entries.filter((e) => e.method === 'http').length, 2);
  });

  it('fetch reports a redirect the host followed: redirected and the final url, kept by clone()', async () => {
    const hops = await loadSource(
      `export default function (pi: any) {
      pi.on('go', async () => {
        const r = await fetch('https://example.com/start', { redirect: 'follow' });
        const c = r.clone();
        const direct = await fetch('https://example.com/start', { redirect: 'manual' });
        return { redirected: r.redirected, url: r.url, clone: [c.redirected, c.url], body: await r.text(), direct: direct.redirected };
      });
    }`,
      { operations: { http: (p) => ({ status: 200, url: 'https://example.com/final', redirected: p.redirect === 'follow', body: 'ok' }) } },
    );
    try {
      assert.deepEqual(await ask(hops, 'go'), {
        redirected: true,
        url: 'https://example.com/final',
        clone: [true, 'https://example.com/final'],
        body: 'ok',
        direct: false,
      });
    } finally {
      hops.sandbox.dispose();
    }
  });
});
