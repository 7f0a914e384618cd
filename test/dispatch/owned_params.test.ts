/**
 * OwnedParams: the bridge's one copy of a result, which the dispatcher decides on without copying again. The copy is
 * made by `OwnedParams.of` and only the dispatcher takes it out, once; anything else still goes through the
 * validate stage's own copy and checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDispatcher, MemoryRecorder, OwnedParams, type Operation } from '../../src/dispatch/index.ts';
import { paramsHash } from '../../src/evidence/index.ts';
import { policyFor } from '../helpers.ts';

const permissive = () => policyFor({ user: { extensionPolicy: { profile: 'permissive' } } }).compiled;

function dispatcherSeeing(seen: unknown[], recorder?: MemoryRecorder) {
  const op: Operation = (p) => {
    seen.push(p);
    return null;
  };
  return createDispatcher({
    policy: permissive(),
    operations: new Map<string, Operation>([
      ['pi.result', op],
      ['tool', op],
    ]),
    ...(recorder === undefined ? {} : { recorder }),
  });
}

describe('OwnedParams: one copy, owned by the dispatcher', () => {
  it('a getter is read once, by the copy: the check and the operation see the same value', async () => {
    let reads = 0;
    const value = {
      get text() {
        reads++;
        return reads === 1 ? 'first' : 'second';
      },
    };
    const seen: unknown[] = [];
    const r = await dispatcherSeeing(seen).dispatch('ext', {
      call_id: 'c',
      method: 'pi.result',
      params: OwnedParams.of({ kind: 'tool', name: 't', value }),
    });
    assert.ok(r.ok);
    assert.deepEqual(seen, [{ kind: 'tool', name: 't', value: { text: 'first' } }]);
    assert.equal(reads, 1);
  });

  it('the caller changing its object after the copy changes nothing the dispatcher sees', async () => {
    const value = { text: 'before', list: [1, 2] };
    const owned = OwnedParams.of({ kind: 'tool', name: 't', value });
    value.text = 'after';
    value.list.push(3);
    const seen: unknown[] = [];
    const r = await dispatcherSeeing(seen).dispatch('ext', { call_id: 'c', method: 'pi.result', params: owned });
    assert.ok(r.ok);
    assert.deepEqual(seen, [{ kind: 'tool', name: 't', value: { text: 'before', list: [1, 2] } }]);
  });

  it('an array whose constructor names a species becomes a plain array (map would have let the species choose)', async () => {
    const sneaky = ['a', 'b'];
    // What map builds is chosen by the array's constructor's species.
    Object.defineProperty(sneaky, 'constructor', {
      value: {
        [Symbol.species]: class {
          get 0() {
            return 'changing';
          }
        },
      },
    });
    const seen: unknown[] = [];
    const r = await dispatcherSeeing(seen).dispatch('ext', {
      call_id: 'c',
      method: 'pi.result',
      params: OwnedParams.of({ kind: 'tool', name: 't', value: sneaky }),
    });
    assert.ok(r.ok);
    const v = (seen[0] as { value: unknown }).value;
    assert.ok(Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype, 'a plain array');
    assert.deepEqual(v, ['a', 'b']);
  });

  it('the schema still decides: an owned copy that does not match is invalid_request and nothing runs', async () => {
    const seen: unknown[] = [];
    const r = await dispatcherSeeing(seen).dispatch('ext', {
      call_id: 'c',
      method: 'pi.result',
      params: OwnedParams.of({ kind: 'nonsense', name: 't', value: 1 }),
    });
    assert.ok(!r.ok && r.error.code === 'invalid_request', r.ok ? 'allowed' : r.error.message);
    assert.match(r.error.message, /params\.kind/);
    assert.deepEqual(seen, []);
  });

  it('a copy is dispatched once: the same OwnedParams again is invalid_request, the first decision stands', async () => {
    const seen: unknown[] = [];
    const d = dispatcherSeeing(seen);
    const owned = OwnedParams.of({ kind: 'tool', name: 't', value: 'v' });
    assert.ok((await d.dispatch('ext', { call_id: 'c1', method: 'pi.result', params: owned })).ok);
    const again = await d.dispatch('ext', { call_id: 'c2', method: 'pi.result', params: owned });
    assert.ok(!again.ok && again.error.code === 'invalid_request', again.ok ? 'allowed' : again.error.message);
    assert.match(again.error.message, /expected|not dispatched before/);
    assert.equal(seen.length, 1);
  });

  it('a copy the caller took out first is spent: the dispatch is refused rather than run on data the caller holds', async () => {
    const seen: unknown[] = [];
    const owned = OwnedParams.of({ kind: 'tool', name: 't', value: 'v' });
    const mine = OwnedParams.take(owned);
    assert.ok(mine !== null && mine !== undefined);
    const r = await dispatcherSeeing(seen).dispatch('ext', { call_id: 'c', method: 'pi.result', params: owned });
    assert.ok(!r.ok && r.error.code === 'invalid_request');
    assert.deepEqual(seen, []);
  });

  it('the brand is private: an object with OwnedParams.prototype, or one that looks like it, is ordinary params', async () => {
    const seen: unknown[] = [];
    const d = dispatcherSeeing(seen);
    const forged = Object.create(OwnedParams.prototype) as object;
    Object.assign(forged, { kind: 'tool', name: 't', value: 'v' });
    const r1 = await d.dispatch('ext', { call_id: 'c1', method: 'pi.result', params: forged });
    assert.ok(!r1.ok && /params must be a plain object/.test(r1.error.message), r1.ok ? 'allowed' : r1.error.message);
    // A proxy is still refused when it is not an OwnedParams: the validate stage's own copy runs for it.
    const proxied = new Proxy({ kind: 'tool', name: 't', value: 'v' }, {});
    const r2 = await d.dispatch('ext', { call_id: 'c2', method: 'pi.result', params: proxied });
    assert.ok(!r2.ok && r2.error.code === 'invalid_request');
    assert.deepEqual(seen, []);
  });

  it('the ledger record is the same whether the params came owned or plain', async () => {
    const params = { kind: 'tool', name: 't', value: { content: [{ type: 'text', text: 'hello' }], details: { n: 1 } } };
    const plain = new MemoryRecorder();
    const owned = new MemoryRecorder();
    await dispatcherSeeing([], plain).dispatch('ext', { call_id: 'c', method: 'pi.result', params });
    await dispatcherSeeing([], owned).dispatch('ext', { call_id: 'c', method: 'pi.result', params: OwnedParams.of(params) });
    const [a] = plain.entries;
    const [b] = owned.entries;
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(paramsHash(b.method, b.params), paramsHash(a.method, a.params));
    // Times are what differ between two runs; everything else must match.
    const timeless = (e: typeof a) => ({ ...e, ts_ms: 0, duration_ms: 0, stage_ms: undefined });
    assert.deepEqual(timeless(b), timeless(a));
  });
});
