/**
 * A context event's messages cross into a sandbox incrementally (issue 18 item 3): the guest keeps the conversation
 * it was sent, the next emit sends only what is new, and only the messages a handler changed come back. pi hands
 * every emit a fresh clone of the conversation, as these tests do (structuredClone). Counted with the sandbox's meter
 * on a real sandbox.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSource, type HarnessOptions } from './harness.ts';

/** A conversation of `n` messages of about 2 KB each, as pi's context event carries it. */
function conversation(n: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    role: (from + i) % 2 === 0 ? 'user' : 'assistant',
    content: [{ type: 'text', text: `message ${from + i} `.padEnd(2000, 'x') }],
    timestamp: 1_700_000_000_000 + from + i,
  }));
}

const MESSAGE_CHARS = JSON.stringify(conversation(1)[0]).length;

/** A sandbox whose meter counts what crosses per direction; `reset()` starts a new count. */
async function metered(source: string, options: HarnessOptions = {}) {
  const count = { in: 0, out: 0 };
  const h = await loadSource(source, {
    ...options,
    meter: (direction, _what, chars) => {
      count[direction] += chars;
    },
  });
  return {
    ...h,
    count,
    reset() {
      count.in = 0;
      count.out = 0;
    },
    context: (handlerId: number, messages: unknown[]) =>
      h.sandbox.emitHandler('context', handlerId, { messages }, {}, undefined, ['messages']),
  };
}

describe('context messages cross incrementally', () => {
  it('an unchanged conversation is not sent again, a grown one sends only its new messages, and reading sends nothing back', async () => {
    const h = await metered(`export default function (pi) {
        pi.on('context', (event) => event.messages.map((m) => m.timestamp).join(','));
      }`);
    const first = conversation(20);
    const one = await h.context(1, first);
    assert.equal(one.ok && one.value, first.map((m) => m.timestamp).join(','));
    assert.ok(h.count.in > 20 * MESSAGE_CHARS, `the first emit sends the conversation (${h.count.in} chars in)`);

    h.reset();
    const again = structuredClone(first);
    const two = await h.context(1, again);
    assert.equal(two.ok && two.value, first.map((m) => m.timestamp).join(','));
    assert.ok(h.count.in < MESSAGE_CHARS, `expected less than one message (${MESSAGE_CHARS} chars) in, found ${h.count.in}`);
    assert.ok(h.count.out < MESSAGE_CHARS, `expected less than one message out for a handler that only read, found ${h.count.out}`);
    assert.equal(two.payload.messages, again, 'unchanged: the payload holds the very array sent');

    h.reset();
    const grown = [...structuredClone(first), ...conversation(2, 20)];
    const three = await h.context(1, grown);
    assert.equal(three.ok && three.value, grown.map((m) => m.timestamp).join(','));
    assert.ok(
      h.count.in > 2 * MESSAGE_CHARS && h.count.in < 3 * MESSAGE_CHARS,
      `expected the two new messages in (${2 * MESSAGE_CHARS}..${3 * MESSAGE_CHARS} chars), found ${h.count.in}`,
    );
    h.sandbox.dispose();
  });

  it('an in-place edit in turn 2 of a message sent in turn 1 comes back, the other messages as the objects sent', async () => {
    const h = await metered(`export default function (pi) {
        let turn = 0;
        pi.on('context', (event) => {
          turn++;
          if (turn === 2) event.messages[1].content[0].text = 'edited in turn 2';
        });
      }`);
    const turn1 = conversation(3);
    const one = await h.context(1, turn1);
    assert.equal(one.payload.messages, turn1, 'turn 1: nothing edited');
    h.reset();
    const turn2 = [...structuredClone(turn1), ...conversation(1, 3)];
    const two = await h.context(1, turn2);
    const after = two.payload.messages as Record<string, unknown>[];
    assert.notEqual(after, turn2, 'an edit gives another array');
    assert.equal(after.length, 4);
    assert.deepEqual(after[1], { ...turn2[1], content: [{ type: 'text', text: 'edited in turn 2' }] });
    for (const i of [0, 2, 3]) assert.equal(after[i], turn2[i], `message ${i} is the object sent`);
    assert.ok(h.count.out < 2 * MESSAGE_CHARS, `only the edited message comes back, found ${h.count.out} chars out`);
    assert.equal((turn2[1] as { content: { text: string }[] }).content[0]?.text.startsWith('message 1'), true, "pi's object untouched");
    h.sandbox.dispose();
  });

  it('a shorter or different conversation (pi compacted or replaced it) is resent in full and seen exactly', async () => {
    const h = await metered(`export default function (pi) {
        pi.on('context', (event) => JSON.stringify(event.messages));
      }`);
    const long = conversation(10);
    await h.context(1, long);
    h.reset();
    const compacted = [{ role: 'compactionSummary', summary: 'earlier turns', timestamp: 1 }, ...structuredClone(long.slice(8))];
    const r = await h.context(1, compacted);
    assert.equal(r.ok && r.value, JSON.stringify(compacted));
    assert.ok(h.count.in > 2 * MESSAGE_CHARS, `the compacted conversation crosses whole, found ${h.count.in} chars in`);
    const replaced = conversation(2, 50);
    const r2 = await h.context(1, replaced);
    assert.equal(r2.ok && r2.value, JSON.stringify(replaced));
    h.sandbox.dispose();
  });

  it('a returned list names the messages it kept: they come back as the objects sent, a new one as its value', async () => {
    const h = await metered(`export default function (pi) {
        pi.on('context', (event) => ({
          messages: [...event.messages.filter((m) => m.role === 'user'), { role: 'user', content: 'added', timestamp: 9 }],
        }));
      }`);
    const sent = conversation(6);
    await h.context(1, sent);
    h.reset();
    const again = structuredClone(sent);
    const r = await h.context(1, again);
    const messages = r.ok ? (r.value as { messages: unknown[] }).messages : [];
    assert.deepEqual(messages.slice(0, 3), [again[0], again[2], again[4]]);
    for (const [i, at] of [0, 2, 4].entries()) assert.equal(messages[i], again[at], `kept message ${at} is the object sent`);
    assert.deepEqual(messages[3], { role: 'user', content: 'added', timestamp: 9 });
    assert.ok(h.count.out < MESSAGE_CHARS, `kept messages do not come back as data, found ${h.count.out} chars out`);
    h.sandbox.dispose();
  });

  it('an array kept from an earlier call reads the messages of its own call; an object made from it reads them too', async () => {
    const h = await metered(`export default function (pi) {
        let kept;
        pi.on('context', (event) => {
          if (kept === undefined) {
            kept = event.messages;
            return 'kept unread';
          }
          const derived = Object.create(event.messages)[1].timestamp;
          return JSON.stringify({ derived, earlier: kept.map((m) => m.timestamp), now: event.messages.map((m) => m.timestamp) });
        });
      }`);
    const first = conversation(3);
    await h.context(1, first);
    const second = conversation(2, 10);
    const r = await h.context(1, second);
    const seen = JSON.parse(r.ok ? String(r.value) : '{}') as Record<string, unknown>;
    assert.deepEqual(seen, {
      earlier: first.map((m) => m.timestamp),
      now: second.map((m) => m.timestamp),
      derived: second[1]!.timestamp,
    });
    h.sandbox.dispose();
  });

  it('a handler that throws leaves the guest in step: the next emit sends only what is new and is seen exactly', async () => {
    const h = await metered(`export default function (pi) {
        let calls = 0;
        pi.on('context', (event) => { if (++calls === 2) throw new Error('no'); return JSON.stringify(event.messages); });
      }`);
    await h.context(1, conversation(2));
    const failed = await h.context(1, conversation(3));
    assert.equal(failed.ok, false);
    h.reset();
    const next = conversation(4);
    const r = await h.context(1, next);
    assert.equal(r.ok && r.value, JSON.stringify(next));
    assert.ok(h.count.in < 2 * MESSAGE_CHARS, `expected one new message in, found ${h.count.in} chars`);
    h.sandbox.dispose();
  });
});

describe('a message is read field by field', () => {
  /** Messages shaped as pi's, with an object field each: they cross split (sandbox.ts elementJson). */
  const messages = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      role: 'assistant',
      content: [{ type: 'text', text: `answer ${i} `.padEnd(3000, 'y') }],
      usage: { input: 10 + i, output: 2 },
      stopReason: 'stop',
      timestamp: 1_700_000_000_000 + i,
    }));

  it('every kind of edit comes back; what was only read, or not touched, comes back as the object sent', async () => {
    const h = await metered(`export default function (pi) {
        pi.on('context', (event) => {
          const m = event.messages;
          for (const x of m) x.role;                              // 0: read scalars only
          m[1].content[0].text;                                   // 1: read an object field, unchanged
          m[2].role = 'user';                                     // 2: a scalar
          m[3].content[0].text = 'nested edit';                   // 3: inside an object field
          m[4].usage = { input: 0, output: 0 };                   // 4: an object field replaced unread
          delete m[5].timestamp;                                  // 5: a key removed
          m[6].extra = true;                                      // 6: a key added
          const r = m[7].role; delete m[7].role; m[7].role = r;   // 7: the same value, the key moved last
          Object.defineProperty(m[8], 'content', { get: () => 'from a getter', enumerable: true, configurable: true }); // 8
          Object.setPrototypeOf(m[9], { toJSON: () => ({ role: 'replaced' }) }); // 9: a toJSON inherited
          const copy = Object.create(m[10]); copy.content = 'on the copy only'; // 10: assignment through an object made from it
          m[11].usage.input = m[11].usage.input;                  // 11: an object field read and written back the same
        });
      }`);
    const sent = messages(12);
    const r = await h.context(1, sent);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const after = r.payload.messages as Record<string, unknown>[];
    for (const i of [0, 1, 10, 11]) assert.equal(after[i], sent[i], `message ${i} is the object sent`);
    assert.deepEqual(after[2], { ...sent[2], role: 'user' });
    assert.deepEqual(after[3], { ...sent[3], content: [{ type: 'text', text: 'nested edit' }] });
    assert.deepEqual(after[4], { ...sent[4], usage: { input: 0, output: 0 } });
    const { timestamp: _t, ...noTimestamp } = sent[5]!;
    assert.deepEqual(after[5], noTimestamp);
    assert.deepEqual(after[6], { ...sent[6], extra: true });
    assert.deepEqual(Object.keys(after[7]!), ['content', 'usage', 'stopReason', 'timestamp', 'role'], 'the moved key comes back moved');
    assert.deepEqual(after[8], { ...sent[8], content: 'from a getter' });
    assert.deepEqual(after[9], { role: 'replaced' });
    for (const i of [2, 3, 4, 5, 6, 7, 8, 9]) assert.notEqual(after[i], sent[i], `message ${i} came back as its value`);
    h.sandbox.dispose();
  });

  it('a message reads as the data sent: keys in order, JSON, spread, entries, `in`, an own __proto__ key', async () => {
    const h = await metered(`export default function (pi) {
        pi.on('context', (event) => {
          const [a, b] = event.messages;
          return JSON.stringify({
            keys: Object.keys(a), json: JSON.stringify(a), spread: { ...a }, entries: Object.entries(b).map(([k]) => k),
            has: ['content' in a, 'nope' in a], proto: Object.getPrototypeOf(b) === Object.prototype,
            ownProto: Object.hasOwn(b, '__proto__') ? b['__proto__'] : 'missing', polluted: ({}).polluted === undefined,
          });
        });
      }`);
    const [a] = messages(1);
    const b = JSON.parse('{"__proto__": {"polluted": 1}, "role": "user", "content": [{"type": "text", "text": "x"}]}') as Record<
      string,
      unknown
    >;
    const r = await h.context(1, [a, b]);
    assert.deepEqual(JSON.parse(r.ok ? String(r.value) : '{}'), {
      keys: Object.keys(a!),
      json: JSON.stringify(a),
      spread: a,
      entries: ['__proto__', 'role', 'content'],
      has: [true, false],
      proto: true,
      ownProto: { polluted: 1 },
      polluted: true,
    });
    h.sandbox.dispose();
  });

  it('a handler that reads only the role of each message never gets the text: nothing of it crosses back', async () => {
    const h = await metered(`export default function (pi) {
        pi.on('context', (event) => ({ messages: event.messages.filter((m) => m.role !== 'custom') }));
      }`);
    const sent = messages(20);
    await h.context(1, sent);
    h.reset();
    const again = structuredClone(sent);
    const r = await h.context(1, again);
    const back = r.ok ? (r.value as { messages: unknown[] }).messages : [];
    back.forEach((m, i) => assert.equal(m, again[i], `message ${i} is the object sent`));
    assert.ok(h.count.out < 1000, `expected the kept messages to come back by index, found ${h.count.out} chars out`);
    h.sandbox.dispose();
  });
});
