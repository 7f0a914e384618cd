/**
 * The scanner gate (issue 8 item 6): a forbidden verdict refuses the load unless the policy overrides it for that
 * extension, and a hostcall needing a capability the scan did not find yields a `scanner_bypass` alert.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decideHostcall } from '../../src/dispatch/index.ts';
import { isWardenError } from '../../src/errors.ts';
import { explainPolicy } from '../../src/policy/explain.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import {
  assertScanAllowsLoad,
  scanBeforeLoad,
  scannerBypassCheck,
  scanTarget,
  ScanVerdictCache,
  type ExtensionReport,
} from '../../src/scanner/index.ts';
import { policyFor } from '../helpers.ts';
import { MALICIOUS_DIR, maliciousSamples } from './corpus.ts';

/** The report of the corpus sample with this technique (file names are numbered by the generator). */
async function reportFor(technique: string): Promise<ExtensionReport> {
  const sample = maliciousSamples().find((s) => s.technique === technique);
  assert.ok(sample, technique);
  const r = (await scanTarget(`${MALICIOUS_DIR}${sample.path}`))[0]!;
  assert.ok(!r.findings.some((f) => f.ruleId === 'scan.input'), JSON.stringify(r.findings));
  return r;
}

describe('assertScanAllowsLoad', () => {
  it('refuses a forbidden extension with WardenError denied naming the rules', async () => {
    const r = await reportFor('direct eval');
    assert.equal(r.verdict, 'forbidden');
    assert.throws(
      () => assertScanAllowsLoad(r, policyFor(), r.id),
      (e: unknown) => isWardenError(e) && e.code === 'denied' && e.reasonCodes.includes('code.eval'),
    );
  });

  it('lets it load when the user settings set allowForbiddenScan for exactly that extension', async () => {
    const r = await reportFor('direct eval');
    const policy = policyFor({ user: { extensionPolicy: { overrides: { [r.id]: { allowForbiddenScan: true } } } } });
    assert.doesNotThrow(() => assertScanAllowsLoad(r, policy, r.id));
    const other = policyFor({ user: { extensionPolicy: { overrides: { 'someone-else': { allowForbiddenScan: true } } } } });
    assert.throws(() => assertScanAllowsLoad(r, other, r.id));
  });

  it('ignores allowForbiddenScan from an untrusted project file, with a warning', async () => {
    const r = await reportFor('direct eval');
    const policy = policyFor({ project: { extensionPolicy: { overrides: { [r.id]: { allowForbiddenScan: true } } } } });
    assert.throws(() => assertScanAllowsLoad(r, policy, r.id));
    assert.ok(
      policy.warnings.some((w) => w.includes('allowForbiddenScan')),
      policy.warnings.join('\n'),
    );
  });

  it('lets flagged and safe extensions load without any override', async () => {
    // A raw socket is flagged (refused at runtime); the child_process samples pipe a download into sh: forbidden.
    const flagged = await reportFor('net literal require');
    assert.equal(flagged.verdict, 'flagged');
    assert.doesNotThrow(() => assertScanAllowsLoad(flagged, policyFor(), flagged.id));
  });

  it('shows the override in policy explain', () => {
    const policy = policyFor({ user: { extensionPolicy: { overrides: { doom: { allowForbiddenScan: true } } } } });
    assert.equal(explainPolicy(policy).overrides.doom!.allow_forbidden_scan, true);
  });

  it('rejects a non-boolean allowForbiddenScan as invalid settings', () => {
    const policy = policyFor({ user: { extensionPolicy: { overrides: { doom: { allowForbiddenScan: 'yes' } } } } });
    assert.ok(policy.errors.length > 0);
  });
});

describe('scannerBypassCheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-gate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const scanned = async (name: string, source: string): Promise<ExtensionReport> => {
    writeFileSync(join(dir, `${name}.ts`), source);
    return (await scanTarget(join(dir, `${name}.ts`)))[0]!;
  };
  // The capability comes from dispatch's own derivation, as the evidence layer will see it.
  const policy = policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } }).compiled;
  const execCall = decideHostcall(policy, 'ext', { call_id: 'c1', method: 'exec', params: { cmd: 'sh', args: ['-c', 'id'] } });
  const bashTool = decideHostcall(policy, 'ext', { call_id: 'c2', method: 'tool', params: { name: 'bash', input: { command: 'id' } } });

  it('raises a scanner_bypass alert for an exec hostcall from an extension scanned as not needing exec', async () => {
    const r = await scanned(
      'notes',
      "export default function (pi) { pi.registerCommand('note', { handler: async (_a, ctx) => ctx.ui.notify('saved') }); }\n",
    );
    assert.ok(!r.capabilities.some((c) => c.capability === 'exec'));
    for (const call of [execCall, bashTool]) {
      assert.equal(call.capability, 'exec');
      const alert = scannerBypassCheck(r, call.capability, call.method);
      assert.ok(alert, call.method);
      assert.equal(alert.category, 'scanner_bypass');
      assert.equal(alert.severity, 'high');
      assert.equal(alert.extension_id, r.id);
      assert.equal(alert.capability, 'exec');
      assert.equal(alert.method, call.method);
      assert.ok(alert.reason_codes.includes('capability_not_in_scan'));
      assert.match(alert.summary, /notes\.ts called (exec|tool)/);
      assert.match(alert.remediation, /INC-4/);
    }
  });

  it("raises nothing for pi.result, the bridge's call for every value an extension returns; tool.input still counts", async () => {
    const r = await scanned(
      'hello-tool',
      "export default function (pi) { pi.registerTool({ name: 'hello', execute: async () => ({ content: [{ type: 'text', text: 'hi' }] }) }); }\n",
    );
    const result = decideHostcall(policy, 'ext', {
      call_id: 'c3',
      method: 'pi.result',
      params: { kind: 'tool', name: 'hello', value: { content: [{ type: 'text', text: 'hi' }] } },
    });
    assert.equal(result.capability, 'session');
    assert.ok(!r.capabilities.some((c) => c.capability === 'session'));
    assert.equal(scannerBypassCheck(r, result.capability, result.method), undefined);
    const rewrite = decideHostcall(policy, 'ext', {
      call_id: 'c4',
      method: 'tool.input',
      params: { name: 'bash', input: { command: 'id' } },
    });
    assert.equal(rewrite.capability, 'exec');
    assert.equal(scannerBypassCheck(r, rewrite.capability, rewrite.method)?.category, 'scanner_bypass');
  });

  it('raises nothing when the scan found that the extension needs exec', async () => {
    const r = await scanned(
      'git-status',
      "import { execFile } from 'node:child_process';\nexport default function (pi) { pi.registerCommand('st', { handler: async () => execFile('git', ['status']) }); }\n",
    );
    assert.ok(r.capabilities.some((c) => c.capability === 'exec'));
    assert.equal(scannerBypassCheck(r, execCall.capability, execCall.method), undefined);
    assert.equal(scannerBypassCheck(r, bashTool.capability, bashTool.method), undefined);
  });

  it('raises nothing for capabilities the scan found, and an alert for env read by an extension that showed none', async () => {
    const r = await scanned(
      'widget',
      "export default function (pi) { pi.on('session_start', (_e, ctx) => ctx.ui.setWidget('w', ['hi'])); }\n",
    );
    assert.equal(scannerBypassCheck(r, 'ui', 'ctx.ui.setWidget'), undefined);
    assert.equal(scannerBypassCheck(r, 'env', 'env.get')?.category, 'scanner_bypass');
  });
});

describe('scanBeforeLoad (issue 15 item 2: the one load gate)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-load-gate-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const extension = (name: string, source: string) => {
    const path = join(dir, `${name}.ts`);
    writeFileSync(path, source);
    return locateExtensions(path)[0]!;
  };

  it('scans once per bundle hash: the same hash is answered from the cache, a new hash is scanned again', () => {
    const ext = extension('cached', 'export default function (pi: any) { pi.on("x", (s: string) => eval(s)); }');
    const cache = new ScanVerdictCache();
    const none = policyFor({});
    assert.throws(
      () => scanBeforeLoad(ext, 'hash-1', none, cache),
      /cached\.ts was not loaded: its scan verdict is forbidden \(code\.eval\)/,
    );
    // The file no longer evals, but the bundle hash is unchanged: the cached verdict stands (no second scan).
    writeFileSync(ext.entries[0]!, 'export default function () {}');
    assert.throws(() => scanBeforeLoad(ext, 'hash-1', none, cache), /forbidden/);
    const fresh = scanBeforeLoad(ext, 'hash-2', none, cache);
    assert.deepEqual([fresh.report.verdict, fresh.cached], ['safe', false]);
    assert.equal(scanBeforeLoad(ext, 'hash-2', none, cache).cached, true);
  });

  it('reads the override on every load, never from the cache', () => {
    const ext = extension('overridden', 'export default function (pi: any) { pi.on("x", (s: string) => eval(s)); }');
    const cache = new ScanVerdictCache();
    const allowed = policyFor({ user: { extensionPolicy: { overrides: { [ext.id]: { allowForbiddenScan: true } } } } });
    assert.equal(scanBeforeLoad(ext, 'h', allowed, cache).report.verdict, 'forbidden');
    assert.throws(
      () => scanBeforeLoad(ext, 'h', policyFor({}), cache),
      (err: unknown) => isWardenError(err) && err.code === 'denied',
    );
  });
});
