/**
 * Strings crossing into and out of the guest through StringCrossing (src/sandbox/crossing.ts) are exactly what
 * quickjs-wasi's own `newString`/`toString` give: lone surrogates, NULs, 0xED-lead characters and long strings
 * included; a non-string is converted once; a library without the internals it uses gets the library's methods.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { JSValueHandle, QuickJS } from 'quickjs-wasi';
import { StringCrossing } from '../../src/sandbox/crossing.ts';
import { loadSource } from './harness.ts';

const require = createRequire(import.meta.url);
const vm = await QuickJS.create({ wasm: readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')) });

const SAMPLES: Record<string, string> = {
  empty: '',
  ascii: '{"ticket":1,"target":{"type":"tool"}}',
  'paired surrogates (emoji)': 'a😀b𝄞c',
  'lone high surrogate': 'x\uD800y',
  'lone low surrogate': 'x\uDC00y',
  'trailing high surrogate': 'end\uD83D',
  'embedded NUL': 'a\u0000b\u0000',
  '0xED lead bytes (U+D000-U+D7FF)': '\uD000\uD7FF\uD55C',
  'multi-byte': 'é中ß',
  'long (past the in-place bound)': 'ab\u00e9'.repeat(30_000),
  'long with a lone surrogate': `${'z'.repeat(70_000)}\uDBFF`,
};

/** The guest's view of a string: its length and its UTF-16 code units, as the guest computes them. */
function guestUnits(h: JSValueHandle): string {
  const fn = vm.evalCode('(s) => s.length + ":" + Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)).join(",")');
  try {
    return vm.callFunction(fn, vm.undefined, h).consume((r) => r.toString());
  } finally {
    fn.dispose();
  }
}

const units = (s: string) => `${s.length}:${Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)).join(',')}`;

describe('StringCrossing', () => {
  const strings = new StringCrossing(vm);

  for (const [name, text] of Object.entries(SAMPLES)) {
    it(`carries ${name} into the guest and back unchanged, as the library does`, () => {
      const fast = strings.newString(text);
      const lib = vm.newString(text);
      try {
        assert.equal(guestUnits(fast), units(text), 'the guest sees the host string, code unit for code unit');
        assert.equal(guestUnits(fast), guestUnits(lib));
        assert.equal(strings.isString(fast), true);
        assert.equal(strings.read(fast), text);
        assert.equal(strings.read(lib), lib.toString());
      } finally {
        fast.dispose();
        lib.dispose();
      }
    });
  }

  it('reads a guest-made string with lone surrogates as the library does', () => {
    const h = vm.evalCode('"a" + String.fromCharCode(0xd800) + "b" + String.fromCharCode(0xdfff)');
    try {
      assert.equal(strings.read(h), 'a\uD800b\uDFFF');
      assert.equal(strings.read(h), h.toString());
    } finally {
      h.dispose();
    }
  });

  it('converts a non-string once, running its toString in the guest once', () => {
    const obj = vm.evalCode('globalThis.__calls = 0; ({ toString() { globalThis.__calls++; return "converted"; } })');
    try {
      assert.equal(strings.isString(obj), false);
      assert.equal(strings.read(obj), 'converted');
      assert.equal(
        vm.evalCode('globalThis.__calls').consume((h) => h.toString()),
        '1',
      );
    } finally {
      obj.dispose();
    }
  });

  it('makes a fixed string once per instance', () => {
    const a = strings.fixed('invoke');
    assert.ok(a !== undefined);
    assert.equal(strings.fixed('invoke'), a);
    assert.notEqual(strings.fixed('resume'), a);
    assert.equal(strings.read(a), 'invoke');
  });

  it("encodes and reads well-formed strings itself, without the library's copying methods", () => {
    const newString = vm.newString.bind(vm);
    const toString = JSValueHandle.prototype.toString;
    let libraryCalls = 0;
    vm.newString = (s: string) => {
      libraryCalls++;
      return newString(s);
    };
    JSValueHandle.prototype.toString = function (this: JSValueHandle) {
      libraryCalls++;
      return toString.call(this);
    };
    try {
      for (const text of ['', 'abc', 'é中😀', '\u4e2d'.repeat(65_536)]) {
        const h = strings.newString(text);
        assert.equal(strings.read(h), text);
        h.dispose();
      }
      assert.equal(libraryCalls, 0);
      const lone = strings.newString('x\uD800');
      assert.equal(strings.read(lone), 'x\uD800');
      lone.dispose();
      assert.equal(libraryCalls, 2, "a lone surrogate takes the library's path both ways");
    } finally {
      vm.newString = newString;
      JSValueHandle.prototype.toString = toString;
    }
  });

  it('never keeps a fixed string the guest could not make (memory at the cap): undefined, and made once memory is free', async () => {
    const small = await QuickJS.create({ wasm: readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')), memoryLimit: 4 << 20 });
    try {
      const capped = new StringCrossing(small);
      small
        .evalCode(
          'globalThis.hog = []; try { for (;;) hog.push("x".repeat(100) + Math.random()) } catch {} try { for (;;) hog.push(1) } catch {} 0',
        )
        .dispose();
      let refused = 0;
      for (let i = 0; i < 2000; i++) {
        const h = capped.fixed(`kind${i}`);
        if (h === undefined) refused++;
        else assert.equal(capped.isString(h), true, 'a kept string is a string');
      }
      assert.ok(refused > 0, 'expected the guest at its cap to refuse some strings');
      small.setProp(small.global, 'hog', small.undefined);
      small.runGC();
      for (let i = 0; i < 2000; i++) {
        const h = capped.fixed(`kind${i}`);
        assert.ok(h !== undefined && capped.read(h) === `kind${i}`, `kind${i} is made once memory is free`);
      }
    } finally {
      small.dispose();
    }
  });

  it("uses the library's own methods when its internals are not there", () => {
    const calls: string[] = [];
    const fake = {
      newString: (s: string) => {
        calls.push(`new ${s}`);
        return { toString: () => s } as unknown as JSValueHandle;
      },
      typeof: () => 'string',
    } as unknown as QuickJS;
    const fallback = new StringCrossing(fake);
    const h = fallback.newString('hello');
    assert.deepEqual(calls, ['new hello']);
    assert.equal(fallback.read(h), 'hello');
    assert.equal(fallback.isString(h), true);
  });

  it('carries payloads with lone surrogates through a real sandbox entry and hostcall unchanged', async () => {
    const h = await loadSource(
      `export default function (pi) {
        pi.on('input', (event) => {
          const t = event.text;
          return { action: 'transform', text: t + '|' + t.length + '|' + t.charCodeAt(1) };
        });
      }`,
    );
    try {
      const out = await h.sandbox.emitHandler('input', 1, { text: 'a\uD800b\u0000😀', source: 'interactive' });
      assert.equal(out.ok, true);
      const value = (out as { value: unknown[] }).value;
      assert.deepEqual(value, { action: 'transform', text: `a\uD800b\u0000😀|6|${0xd800}` });
    } finally {
      h.sandbox.stop();
    }
  });
});
