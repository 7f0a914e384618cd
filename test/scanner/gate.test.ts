/**
 * The scanner gate (issue 8 item 6): a forbidden verdict refuses the load unless the policy overrides it for that
 * extension, and a hostcall needing a capability the scan did not find yields a `scanner_bypass` alert.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { explainPolicy } from '../../src/policy/explain.ts';
import { METHOD_TABLE } from '../../src/policy/methods.ts';
import { analyzeSource, assertScanAllowsLoad, scannerBypassCheck, scanTarget, type ExtensionReport } from '../../src/scanner/index.ts';
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
    assert.throws(() => assertScanAllowsLoad(r, policyFor(), r.id), (e: unknown) => isWardenError(e) && e.code === 'denied' && e.reasonCodes.includes('code.eval'));
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
    assert.ok(policy.warnings.some((w) => w.includes('allowForbiddenScan')), policy.warnings.join('\n'));
  });

  it('lets flagged and safe extensions load without any override', async () => {
    const flagged = await reportFor('child_process literal require');
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
  const report = (source: string): ExtensionReport => {
    const a = analyzeSource(source, { file: 'e.ts' });
    const caps = [...new Set(a.evidence.map((e) => e.capability))];
    return { id: 'ext', target: 'e.ts', verdict: 'safe', findings: a.findings, capabilities: caps.map((c) => ({ capability: c, evidence: [] })), files: ['e.ts'], bytes: source.length };
  };
  const execCap = METHOD_TABLE.get('exec')!.capability;

  it('raises a scanner_bypass alert for an exec hostcall from an extension scanned as not needing exec', () => {
    const r = report("export default (pi) => pi.registerCommand('x', { handler: async () => {} });");
    const alert = scannerBypassCheck(r, 'exec', 'exec');
    assert.ok(alert);
    assert.equal(alert.category, 'scanner_bypass');
    assert.equal(alert.severity, 'high');
    assert.equal(alert.extension_id, 'ext');
    assert.equal(alert.capability, execCap);
    assert.equal(alert.method, 'exec');
    assert.ok(alert.reason_codes.includes('capability_not_in_scan'));
    assert.match(alert.remediation, /INC-4/);
  });

  it('raises nothing when the scan found that the extension needs exec', () => {
    const r = report("import { execFile } from 'node:child_process';\nexport default (pi) => pi.registerCommand('x', { handler: async () => execFile('git', ['status']) });");
    assert.equal(scannerBypassCheck(r, 'exec', 'exec'), undefined);
  });
});
