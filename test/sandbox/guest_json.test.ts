/** JSON the guest hands the host: a `__proto__` key never reaches a host object, however it is spelled. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGuest } from '../../src/sandbox/sandbox.ts';

/** Every spelling JSON.parse reads as the key `__proto__`: literal, or one letter as a \u escape. */
const SPELLINGS = [
  '__proto__',
  '\\u005f_proto__',
  '__proto\\u005F_',
  '__\\u0070roto__',
  '__p\\u0072oto__',
  '__pr\\u006fto__',
  '__pro\\u0074o__',
  '__prot\\u006F__',
];

describe('parseGuest', () => {
  for (const key of SPELLINGS) {
    it(`drops the key ${key}, so copying the result onto a host object cannot change its prototype`, () => {
      const parsed = parseGuest(`{"params":{"${key}":{"polluted":true},"kept":1}}`) as { params: Record<string, unknown> };
      assert.equal(Object.hasOwn(parsed.params, '__proto__'), false);
      assert.deepEqual(Object.keys(parsed.params), ['kept']);
      const target: Record<string, unknown> = {};
      Object.assign(target, parsed.params);
      assert.equal(target.polluted, undefined);
      assert.equal(Object.getPrototypeOf(target), Object.prototype);
    });
  }

  it('keeps values that merely contain the text, and parses everything else as JSON.parse does', () => {
    const text = '{"method":"log","params":{"message":"__proto__ and \\u001b[31m","n":[1,2.5,null,true]}}';
    assert.deepEqual(parseGuest(text), JSON.parse(text));
    assert.throws(() => parseGuest('{"a":'), SyntaxError);
  });
});
