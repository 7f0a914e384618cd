/**
 * The channel table (policy/channels.ts) against METHOD_TABLE, and its consumers against the table: every hostcall
 * method says what it sends out and where, or why it sends nothing; every path it names is a param of the method;
 * the outbound secret scan reads every path the table lists, and the terminal strip rewrites every path that
 * reaches the terminal. A new hostcall without a channel entry fails here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outboundStrings } from '../../src/mediation/secrets/channels.ts';
import { forTerminal } from '../../src/mediation/index.ts';
import { CHANNEL_SINKS, CHANNEL_TABLE, duplicateChannels, METHOD_TABLE, type Channel, type ChannelOut } from '../../src/policy/index.ts';

/** Methods of `methods` that have no channel entry. */
const unlisted = (methods: Iterable<string>) => [...methods].filter((m) => !CHANNEL_TABLE.has(m));

/** Params that carry `marker` at `o.path` (and only there), as the method would send it. */
function paramsWith(o: ChannelOut, marker: string): Record<string, unknown> {
  const encoded = o.decode === undefined ? marker : Buffer.from(marker, 'latin1').toString('base64');
  const extra: Record<string, unknown> = typeof o.decode === 'object' ? { [o.decode.byParam]: 'base64' } : {};
  if (o.path === '$') return { ...extra, anything: encoded };
  const build = (segments: readonly string[]): unknown => {
    const [head, ...tail] = segments;
    if (head === undefined) return encoded;
    if (head === '*') return [build(tail)];
    if (head === '$keys') return { [encoded]: 'x' };
    return { [head]: build(tail) };
  };
  return { ...extra, ...(build(o.path.split('.')) as Record<string, unknown>) };
}

const sends = (c: Channel): readonly ChannelOut[] => ('sends' in c ? c.sends : []);

describe('channels: every way extension data leaves is listed, scanned and, for the terminal, stripped', () => {
  it('every METHOD_TABLE method has one channel entry, and every entry is a method', () => {
    assert.deepEqual(unlisted(METHOD_TABLE.keys()), [], 'methods without a channel entry');
    assert.deepEqual(
      [...CHANNEL_TABLE.keys()].filter((m) => !METHOD_TABLE.has(m)),
      [],
      'channel entries for methods that do not exist',
    );
    assert.deepEqual(duplicateChannels(), []);
  });

  it('the walk fails for a new hostcall without an entry', () => {
    assert.deepEqual(unlisted([...METHOD_TABLE.keys(), 'pi.plantedNewHostcall']), ['pi.plantedNewHostcall']);
  });

  it('each entry names where its data arrives, or says why it carries none', () => {
    for (const [method, c] of CHANNEL_TABLE) {
      if ('none' in c) {
        assert.ok(c.none.length >= 20, `${method}: "carries nothing out" needs a why, found "${c.none}"`);
        continue;
      }
      assert.ok(c.sends.length > 0, `${method}: sends nothing but has no why`);
      for (const o of c.sends) {
        assert.ok(o.to.length > 0, `${method}.${o.path}: no destination`);
        for (const to of o.to) assert.ok((CHANNEL_SINKS as readonly string[]).includes(to), `${method}.${o.path}: unknown sink ${to}`);
      }
    }
  });

  it('every path names a param of the method (closed schemas), so a renamed param cannot go unscanned', () => {
    for (const [method, c] of CHANNEL_TABLE) {
      const schema = METHOD_TABLE.get(method)?.params as { properties?: Record<string, unknown>; additionalProperties?: boolean };
      const props = Object.keys(schema.properties ?? {});
      for (const o of sends(c)) {
        if (o.path === '$') continue;
        const head = o.path.split('.')[0] as string;
        if (schema.additionalProperties === false)
          assert.ok(props.includes(head), `${method}.${o.path}: ${method} has no param ${head} (params: ${props.join(', ')})`);
      }
    }
  });

  it('the outbound scan reads every listed path (base64 ones decoded)', () => {
    const marker = 'MARKER-7f3a9c-OUT';
    for (const [method, c] of CHANNEL_TABLE) {
      for (const o of sends(c)) {
        const strings = outboundStrings(method, paramsWith(o, marker));
        assert.ok(
          strings.some(([, text]) => text.includes(marker)),
          `${method}.${o.path}: the scan does not see it (${JSON.stringify(strings)})`,
        );
      }
      if ('none' in c) assert.deepEqual(outboundStrings(method, { anything: marker }), [], `${method} is listed as carrying nothing`);
    }
  });

  it('an unlisted method is scanned whole (fail closed)', () => {
    assert.deepEqual(outboundStrings('pi.plantedNewHostcall', { x: 'abc' }), [['pi.plantedNewHostcall.params', '{"x":"abc"}']]);
  });

  it('every path that reaches the terminal is stripped of terminal control; other paths are left as sent', () => {
    const osc52 = 'copy\u001b]52;c;c2VjcmV0\u0007me';
    let terminalPaths = 0;
    for (const [method, c] of CHANNEL_TABLE) {
      for (const o of sends(c)) {
        const shown = JSON.stringify(forTerminal(method, paramsWith(o, osc52)));
        if (o.to.includes('terminal')) {
          terminalPaths++;
          assert.equal(shown.includes('\\u001b'), false, `${method}.${o.path}: ESC reaches the terminal`);
          assert.ok(shown.includes('copyme'), `${method}.${o.path}: the text itself was lost: ${shown}`);
        } else if (o.decode === undefined && !sends(c).some((x) => x.to.includes('terminal'))) {
          assert.ok(shown.includes('\\u001b'), `${method}.${o.path}: changed though it does not reach the terminal`);
        }
      }
    }
    assert.ok(terminalPaths >= 20, `only ${terminalPaths} terminal paths: the table lost its UI entries`);
  });

  it('params without terminal control are passed on as they are (no copy of a large result)', () => {
    const params = { kind: 'tool', name: 't', value: { content: [{ type: 'text', text: 'plain\n\ttext' }], details: { n: 1 } } };
    assert.equal(forTerminal('pi.result', params), params);
    const changed = forTerminal('pi.result', { ...params, value: { ...params.value, details: { s: 'a\u0007b' } } }) as typeof params;
    assert.deepEqual(changed.value, { content: params.value.content, details: { s: 'ab' } });
    assert.equal(changed.value.content, params.value.content, 'an unchanged branch is shared, not copied');
  });

  it('text shown on the terminal is scanned as shown: control characters cannot split a value past the scan', () => {
    const strings = outboundStrings('ctx.ui.notify', { args: ['sk-ab\u0007cd\u001b[0mef'] });
    assert.ok(
      strings.some(([label, text]) => label.endsWith('(as shown)') && text.includes('sk-abcdef')),
      JSON.stringify(strings),
    );
  });
});
