/**
 * Host patterns and address classes have one home (src/policy/hostPatterns.ts, src/policy/addressClasses.ts), read
 * by HTTP egress and by the risk controller. The risk controller used to keep its own copies (an inline
 * `*.`-suffix matcher in createRuntime, a regex of private prefixes in risk/features.ts), and they drifted: no
 * port, IDN, trailing dot or bracketed IPv6 pattern ever matched, `*.x` did not match `x`, `fcm.googleapis.com`
 * was a "private network target" and `[::ffff:169.254.169.254]` was not a metadata endpoint.
 *
 * Every row is checked through both consumers, from the same settings, and must agree with the row; then one real
 * runtime shows that its risk stage and egress stage, seeing the same call, agree (the signals and the egress
 * verdict are read from one decision record). The HTTP operation never reaches the network (it only counts
 * calls): egress refusals happen before it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/dispatcher.ts';
import { MemoryRecorder } from '../../src/dispatch/record.ts';
import { ADDRESS_CLASSES, classifyHost, type AddressClass } from '../../src/policy/addressClasses.ts';
import { egressRulesFor } from '../../src/policy/egressSettings.ts';
import { hostListMatcher, parseHostPattern, urlHost } from '../../src/policy/hostPatterns.ts';
import { checkTarget, parseTarget } from '../../src/mediation/http/egress.ts';
import { hostSignals } from '../../src/risk/features.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

async function runtimeWith(http: Record<string, unknown>, allowedHosts: readonly string[]) {
  const recorder = new MemoryRecorder(10_000);
  let sent = 0;
  const httpOp: Operation = () => {
    sent++;
    return { status: 200, headers: {}, bodyBase64: '' };
  };
  const policy = policyFor({
    user: {
      extensionPolicy: { profile: 'permissive', allowDangerous: true, http },
      extensionRisk: { enabled: true, enforce: false, allowedHosts },
    },
  });
  assert.deepEqual(policy.errors, [], 'the settings are valid');
  const rt = await createRuntime({ home: tempHome(), policy, operations: new Map([['http', httpOp]]), recorders: [recorder] });
  let n = 0;
  /** What risk and egress made of one request to `url`. */
  const ask = async (url: string) => {
    const callId = `c${n++}`;
    const before = sent;
    await rt.dispatcher.dispatch('ext', { call_id: callId, method: 'http', params: { url, method: 'GET' } });
    const codes = recorder.entries.find((e) => e.call_id === callId)?.reason_codes ?? [];
    const signal = (s: string) => codes.some((c) => c.startsWith(`risk_signal:${s}:`));
    return { codes, signal, sent: sent > before };
  };
  return { rt, ask };
}

/** [pattern, request URL, whether the pattern admits it]: public destinations, so both lists are consulted. */
const PATTERN_TABLE: ReadonlyArray<readonly [string, string, boolean]> = [
  ['*.example.com', 'https://example.com/', true],
  ['*.example.com', 'https://a.b.example.com/', true],
  ['*.example.com', 'https://evilexample.com/', false],
  ['*.example.com', 'https://example.com.evil.test/', false],
  ['example.com', 'https://sub.example.com/', false],
  ['api.example.com:8443', 'https://api.example.com:8443/', true],
  ['api.example.com:8443', 'https://api.example.com/', false],
  ['api.example.com', 'https://api.example.com:8443/', true],
  ['api.example.com:443', 'https://api.example.com/', true],
  ['api.example.com:443', 'http://api.example.com/', false],
  ['Bücher.example', 'https://xn--bcher-kva.example/', true],
  ['xn--bcher-kva.example', 'https://bücher.example/', true],
  ['*.bücher.example', 'https://shop.BÜCHER.example/', true],
  ['example.com', 'https://example.com./', true],
  ['example.com.', 'https://example.com/', true],
  ['API.Example.COM', 'https://api.example.com/', true],
  ['api.example.com', 'https://API.EXAMPLE.COM/', true],
  ['93.184.216.34', 'http://93.184.216.34/', true],
  ['93.184.216.34', 'http://0x5db8d822/', true],
  ['93.184.216.34', 'http://[::ffff:93.184.216.34]/', true],
  ['[2606:4700::1111]', 'http://[2606:4700:0:0:0:0:0:1111]/', true],
  ['[2606:4700::1111]:8080', 'http://[2606:4700::1111]/', false],
  ['*.example.com', 'http://93.184.216.34/', false],
];

describe('one host-pattern matcher: risk allowedHosts and egress allowHosts agree', () => {
  for (const [pattern, url, admitted] of PATTERN_TABLE) {
    it(`${pattern} ${admitted ? 'admits' : 'does not admit'} ${url}`, () => {
      assert.ok(parseHostPattern(pattern).ok, pattern);
      // Both read the pattern from settings, as the runtime does.
      const policy = policyFor({
        user: { extensionPolicy: { http: { allowHosts: [pattern] } }, extensionRisk: { allowedHosts: [pattern] } },
      });
      assert.deepEqual(policy.errors, []);
      const target = parseTarget(url);
      assert.ok(target.ok, url);
      const refusal = checkTarget(target.target, egressRulesFor(policy.httpEgress, 'ext'), 'ext');
      assert.equal(refusal?.reason !== 'egress_host_not_allowed', admitted, `egress: ${JSON.stringify(refusal)}`);
      const signals = hostSignals(url, hostListMatcher(policy.risk.allowedHosts)).map((x) => x.code);
      assert.equal(!signals.includes('non_allowlisted_host'), admitted, `risk: ${signals.join(', ')}`);
    });
  }

  it('an allowedHosts entry that is not a host pattern is a settings error naming the key, not a silent never-match', () => {
    const policy = policyFor({ user: { extensionRisk: { allowedHosts: ['api.github.com', 'https://api.github.com/'] } } });
    assert.equal(policy.errors.length, 1, JSON.stringify(policy.errors));
    assert.equal(policy.errors[0]?.key, 'extensionRisk.allowedHosts[1]');
    assert.match(policy.errors[0]?.message ?? '', /expected a host pattern such as .*found "https:\/\/api\.github\.com\/"/);
    assert.equal(policy.profile, 'safe', 'invalid settings fall back to the safe profile');
  });

  it('in the runtime, the risk stage and the egress stage give the same verdict on the same call', async () => {
    const patterns = ['*.example.com', 'api.other.test:8443', 'Bücher.example', '[2606:4700::1111]', '93.184.216.34'];
    const { rt, ask } = await runtimeWith({ allowHosts: patterns }, patterns);
    const rows: ReadonlyArray<readonly [string, boolean]> = [
      ['https://example.com/', true],
      ['https://a.example.com./', true],
      ['https://evilexample.com/', false],
      ['https://api.other.test:8443/', true],
      ['https://api.other.test/', false],
      ['https://xn--bcher-kva.example/', true],
      ['http://[2606:4700:0:0:0:0:0:1111]/', true],
      ['http://[::ffff:5db8:d822]/', true],
      ['https://other.test/', false],
    ];
    for (const [url, admitted] of rows) {
      const r = await ask(url);
      assert.equal(!r.codes.includes('egress_host_not_allowed'), admitted, `egress: ${url}: ${r.codes.join(', ')}`);
      assert.equal(!r.signal('non_allowlisted_host'), admitted, `risk: ${url}: ${r.codes.join(', ')}`);
      assert.equal(r.sent, admitted, `${url}: sent exactly when egress admits it`);
    }
    await rt.close();
  });
});

/** [URL, the class both must see]: IP literals in every spelling WHATWG URL accepts, and names. */
const CLASS_TABLE: ReadonlyArray<readonly [string, AddressClass | undefined]> = [
  ['http://127.0.0.1/', 'loopback'],
  ['http://0x7f.1/', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', 'loopback'],
  ['http://169.254.169.254/', 'metadata'],
  ['http://[::ffff:169.254.169.254]/', 'metadata'],
  ['http://[64:ff9b::a9fe:a9fe]/', 'metadata'],
  ['http://[fd00:ec2::254]/', 'metadata'],
  ['http://169.254.170.2/', 'metadata'],
  ['http://[fe80::1]/', 'link_local'],
  ['http://10.1.2.3/', 'private'],
  ['http://100.64.0.1/', 'shared_cgnat'],
  ['http://[fd12:3456::1]/', 'unique_local'],
  ['http://0.0.0.0/', 'unspecified'],
  ['http://192.0.2.1/', 'documentation'],
  ['http://8.8.8.8/', undefined],
  ['http://172.32.0.1/', undefined],
  ['http://[2606:4700:4700::1111]/', undefined],
];

/** Names: egress classifies only loopback names before DNS; risk also knows the metadata service's name. */
const NAME_TABLE: ReadonlyArray<readonly [string, AddressClass | undefined]> = [
  ['http://localhost:8080/', 'loopback'],
  ['http://LOCALHOST./', 'loopback'],
  ['http://api.localhost/', 'loopback'],
  ['http://metadata.google.internal/', 'metadata'],
  ['http://metadata.google.internal./', 'metadata'],
  ['https://fcm.googleapis.com/', undefined],
  ['https://fdroid.org/', undefined],
  ['https://10.example.com/', undefined],
  ['https://127.0.0.1.nip.io/', undefined],
];

const riskClass = (signal: (s: string) => boolean): string =>
  signal('metadata_endpoint') ? 'metadata' : signal('private_network_target') ? 'private' : 'public';
const riskView = (cls: AddressClass | undefined): string => (cls === undefined ? 'public' : cls === 'metadata' ? 'metadata' : 'private');

describe('one address classification: risk host signals and egress address classes agree', () => {
  it('covers every class the literal table can reach', () => {
    const seen = new Set(CLASS_TABLE.map(([, c]) => c));
    for (const c of ADDRESS_CLASSES.filter((c) => !['benchmarking', 'reserved', 'multicast', 'broadcast'].includes(c)))
      assert.ok(seen.has(c), c);
  });

  it('IP literals: egress refuses with the class risk signals; public addresses pass both', async () => {
    const { rt, ask } = await runtimeWith({}, []);
    for (const [url, cls] of CLASS_TABLE) {
      assert.equal(classifyHost(urlHost(new URL(url))), cls, `${url}: the one classifier`);
      const r = await ask(url);
      const egressClass = r.codes.find((c) => c.startsWith('egress_class_'))?.slice('egress_class_'.length);
      assert.equal(egressClass, cls, `egress: ${url}: ${r.codes.join(', ')}`);
      assert.equal(riskClass(r.signal), riskView(cls), `risk: ${url}: ${r.codes.join(', ')}`);
    }
    await rt.close();
  });

  it('names: loopback names are refused by egress and signalled by risk; lookalikes of private prefixes are public', async () => {
    const { rt, ask } = await runtimeWith({}, []);
    for (const [url, cls] of NAME_TABLE) {
      const r = await ask(url);
      assert.equal(riskClass(r.signal), riskView(cls), `risk: ${url}: ${r.codes.join(', ')}`);
      const egressClass = r.codes.find((c) => c.startsWith('egress_class_'))?.slice('egress_class_'.length);
      // A metadata name is refused once it resolves (the operation checks every address), not by the URL stage.
      assert.equal(egressClass, cls === 'metadata' ? undefined : cls, `egress: ${url}: ${r.codes.join(', ')}`);
    }
    await rt.close();
  });
});
