import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Type from 'typebox';
import { ask, loadSource } from './harness.ts';

/** The sandbox's Type builder must produce the same JSON Schema as TypeBox 1.x for what tools use. */
describe('TypeBox-compatible Type builder', () => {
  it('produces the same JSON as the real typebox for the builders tool parameters use', async () => {
    const build = (T: typeof Type) => ({
      object: T.Object({
        a: T.String({ description: 'x' }),
        b: T.Optional(T.Number()),
        c: T.Union([T.Literal('x'), T.Literal('y')]),
        d: T.Array(T.Integer({ minimum: 1 })),
      }),
      record: T.Record(T.String(), T.Any()),
      tuple: T.Tuple([T.String(), T.Number()]),
      partial: T.Partial(T.Object({ x: T.String(), y: T.Boolean() })),
      enums: T.Enum({ A: 'a', B: 'b' }),
      nested: T.Object(
        { inner: T.Object({ list: T.Optional(T.Array(T.String())), flag: T.Boolean({ default: false }) }) },
        { additionalProperties: false },
      ),
      misc: [T.Null(), T.Unknown(), T.Readonly(T.String()), T.Unsafe({ type: 'string', enum: ['p', 'q'] })],
    });
    const expected = JSON.parse(JSON.stringify(build(Type)));
    const source = `import { Type } from '@sinclair/typebox';\nexport default function (pi) { pi.on('schemas', () => (${build.toString()})(Type)); }`;
    const h = await loadSource(source);
    assert.deepEqual(await ask(h, 'schemas'), expected);
    h.sandbox.dispose();
  });
});
