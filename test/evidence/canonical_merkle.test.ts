import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { argsShapeHash, canonicalJson, entryHashes, paramsHash } from '../../src/evidence/canonical.ts';
import { scanChunk } from '../../src/evidence/chunks.ts';
import { canonicalEntryText } from '../../src/evidence/entry.ts';
import { EMPTY_ROOT, Frontier, leafHash, merkleRoot, nodeHash } from '../../src/evidence/merkle.ts';

describe('canonical encoding (docs/ledger-format.md golden vectors)', () => {
  it('sorts keys, keeps array order, writes numbers as ECMAScript does', () => {
    assert.equal(
      canonicalJson({ b: [3, 1, { z: true, a: null }], a: 'x\n"y"', c: 1.5, d: 1e21, e: -0, f: 10 }),
      '{"a":"x\\n\\"y\\"","b":[3,1,{"a":null,"z":true}],"c":1.5,"d":1e+21,"e":0,"f":10}',
    );
  });
  it('rejects what has no canonical form', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol('s'), 10n]) assert.throws(() => canonicalJson({ v: bad }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), /cyclic/);
  });
  it('params_hash is stable across key order; args_shape_hash ignores scalar values but not structure (INV-012)', () => {
    assert.equal(paramsHash('http', { url: 'u', method: 'GET' }), paramsHash('http', { method: 'GET', url: 'u' }));
    assert.notEqual(paramsHash('http', { url: 'u' }), paramsHash('http', { url: 'v' }));
    assert.equal(argsShapeHash('http', { url: 'u', timeoutMs: 1 }), argsShapeHash('http', { url: 'other', timeoutMs: 9 }));
    assert.notEqual(argsShapeHash('http', { url: 'u' }), argsShapeHash('http', { url: 'u', body: 'b' }));
    assert.notEqual(argsShapeHash('http', { url: 'u' }), argsShapeHash('fs.read', { url: 'u' }));
    assert.equal(
      paramsHash('log', { level: 'info', message: 'm' }),
      createHash('sha256').update('{"method":"log","params":{"level":"info","message":"m"}}').digest('hex'),
    );
  });
  it('a ledger entry encodes with sorted keys and its links can be read back', () => {
    const text = canonicalEntryText({
      seq: 7,
      ts_ms: 1700000000000,
      extension_id: 'ext',
      call_id: 'c"1',
      method: 'exec',
      capability: 'exec',
      declared_capability: null,
      decision: 'deny',
      rule: 'deny_caps',
      stage: 'policy',
      error_code: 'denied',
      reason_codes: ['deny_caps'],
      params_hash: 'p',
      args_shape_hash: 's',
      risk_score: null,
      config_hash: null,
      prev_ledger_hash: 'a'.repeat(64),
    });
    assert.equal(
      text,
      `{"args_shape_hash":"s","call_id":"c\\"1","capability":"exec","config_hash":null,"decision":"deny","declared_capability":null,"error_code":"denied","extension_id":"ext","method":"exec","params_hash":"p","prev_ledger_hash":"${'a'.repeat(64)}","reason_codes":["deny_caps"],"risk_score":null,"rule":"deny_caps","seq":7,"stage":"policy","ts_ms":1700000000000}`,
    );
    assert.deepEqual(Object.keys(JSON.parse(text) as object), Object.keys(JSON.parse(text) as object).sort());
    assert.deepEqual(linksOf(text, 7), { prev: 'a'.repeat(64), findings: [] }, 'seq 7 read where it is (a finding otherwise)');
    assert.deepEqual(linksOf(text, 8).findings, [[0, { seq: 7 }]], 'and a wrong expected seq is reported');
  });
  it('a hostile call_id cannot spoof the link fields', () => {
    const text = canonicalEntryText({
      seq: 3,
      ts_ms: 1,
      extension_id: 'e',
      call_id: '","prev_ledger_hash":"' + 'f'.repeat(64) + '","seq":99,"x":"',
      method: 'log',
      capability: 'log',
      declared_capability: null,
      decision: 'allow',
      rule: null,
      stage: null,
      error_code: null,
      reason_codes: [],
      params_hash: 'p',
      args_shape_hash: 's',
      risk_score: null,
      config_hash: null,
      prev_ledger_hash: null,
    });
    assert.deepEqual(linksOf(text, 3), { prev: null, findings: [] }, 'not the injected prev and seq 99');
  });
});

/** The links verify reads from a one-entry chunk holding `text` at `seq` (its scanner, as `ledger verify` runs it). */
function linksOf(text: string, seq: number) {
  const entries = Buffer.concat([Buffer.from([0]), Buffer.from(text)]);
  const scan = scanChunk(seq, entries, Buffer.from(leafHash(text), 'hex'), `[[1,${entries.length - 1}]]`);
  return { prev: scan.firstPrev, findings: scan.findings };
}

function nested(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { k: v };
  return v;
}

describe('entry hashes from one walk', () => {
  const shared = { s: 'x' };
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const extra = Object.assign([1, 2], { note: 'ignored' });
  const corpus: unknown[] = [
    { kind: 'tool', name: 'echo', value: { content: [{ type: 'text', text: 'hello' }], details: { n: 1 } } },
    {},
    [],
    { b: [3, 1, { z: true, a: null }], a: 'x\n"y"', c: 1.5, d: 1e21, e: -0, f: 10, g: 0.1 + 0.2, h: false },
    { z: 1, é: 2, '😀': 3, Z: 4, '': 5, 'a"b': 6, lone: '\ud800' },
    { list: [[], {}, [[1]], null, 'x'] },
    { twice: [shared, shared] },
    { extra },
    {
      when: new Date(0),
      inst: new (class Point {
        x = 1;
      })(),
    },
    { missing: undefined, present: 1 },
    { sparse },
    { n: Number.NaN },
    { f: () => 1 },
    { big: 10n },
    cyclic,
    'not an object',
    undefined,
    null,
    ...[50, 58, 59, 60, 61, 62, 63, 64, 65, 70].flatMap((d) => [nested(d, 'leaf', false), nested(d, 1, true)]),
  ];

  it("pins a tool result's two ledger hashes: the canonical texts they hash are the ones written out here", () => {
    const params = {
      kind: 'tool',
      name: 'echo',
      value: {
        result: {
          content: [{ type: 'text', text: 'hello \u00e9\u2028"\\' }],
          details: { n: -0, big: 1e21, small: 5e-7, list: [true, null, 0.1] },
        },
        updates: [],
      },
    };
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const text =
      '{"method":"pi.result","params":{"kind":"tool","name":"echo","value":{"result":{"content":[{"text":"hello \u00e9\u2028\\"\\\\","type":"text"}],' +
      '"details":{"big":1e+21,"list":[true,null,0.1],"n":0,"small":5e-7}},"updates":[]}}}';
    const shape =
      '{"method":"pi.result","params_shape":{"kind":"string","name":"string","value":{"result":{"content":[{"text":"string","type":"string"}],' +
      '"details":{"big":"number","list":["bool","null","number"],"n":"number","small":"number"}},"updates":[]}}}';
    const pinned = [
      '79a06d4d2524392bd72525dbccd6e33653058b7b63708ef726884398cb560451',
      '427a500059a7897b1612b8ba26bde7635e9abd97f14abbee1115ddd8a455ebb4',
    ];
    assert.deepEqual([sha(text), sha(shape)], pinned);
    assert.deepEqual(entryHashes('pi.result', params), pinned);
    assert.deepEqual([paramsHash('pi.result', params), argsShapeHash('pi.result', params)], pinned);
  });

  it('gives exactly the hashes of paramsHash and argsShapeHash, or throws what they throw', () => {
    for (const [i, params] of corpus.entries()) {
      let expected: readonly [string, string] | string;
      try {
        expected = [paramsHash('pi.result', params), argsShapeHash('pi.result', params)];
      } catch (err) {
        expected = `throws ${(err as Error).message}`;
      }
      let found: readonly [string, string] | string;
      try {
        found = entryHashes('pi.result', params);
      } catch (err) {
        found = `throws ${(err as Error).message}`;
      }
      assert.deepEqual(found, expected, `corpus[${i}]`);
    }
  });
});

describe('RFC 6962 Merkle tree', () => {
  it('matches the RFC test vectors for the empty tree and an empty leaf', () => {
    assert.equal(EMPTY_ROOT, createHash('sha256').digest('hex'));
    assert.equal(leafHash(''), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });
  it('an interior node is SHA-256(0x01 ‖ left ‖ right), computed independently here', () => {
    const a = leafHash('a');
    const b = leafHash('b');
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from([1]), Buffer.from(a, 'hex'), Buffer.from(b, 'hex')]))
      .digest('hex');
    assert.equal(nodeHash(a, b), expected);
    assert.equal(
      leafHash('x'),
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([0]), Buffer.from('x')]))
        .digest('hex'),
    );
  });
  it('the incremental frontier equals the recursive definition for every size up to 70', () => {
    const leaves: string[] = [];
    const f = new Frontier();
    for (let i = 0; i < 70; i++) {
      assert.equal(f.root(), merkleRoot(leaves), `size ${i}`);
      const leaf = leafHash(`entry ${i}`);
      leaves.push(leaf);
      f.append(leaf);
    }
    assert.equal(merkleRoot(leaves.slice(0, 3)), nodeHash(nodeHash(leaves[0]!, leaves[1]!), leaves[2]!));
  });
  it('a frontier survives serialisation and refuses malformed input', () => {
    const f = new Frontier();
    for (let i = 0; i < 13; i++) f.append(leafHash(String(i)));
    assert.equal(Frontier.fromJSON(JSON.parse(JSON.stringify(f.toJSON()))).root(), f.root());
    assert.throws(() => Frontier.fromJSON({ size: 5, nodes: [[4, 'a'.repeat(64)]] }), /add up/);
    assert.throws(() => Frontier.fromJSON({ size: 1, nodes: [[1, 'zz']] }), /malformed/);
  });
});
