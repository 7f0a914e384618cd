/**
 * Measured accuracy (issue 8 item 5, SPEC §8.4): detection on the adversarial corpus ≥ 99% and "forbidden" on
 * the example extensions shipped in the pi npm packages ≤ 2%. Both rates are computed here by running the scanner.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listRules, scanTarget } from '../../src/scanner/index.ts';
import { BENIGN_IDIOMS_DIR, maliciousSamples, measureBenign, measureDetection } from './corpus.ts';

describe('scanner accuracy', () => {
  it('the adversarial corpus has at least 200 labelled samples covering every evasion class', () => {
    const samples = maliciousSamples();
    assert.ok(samples.length >= 200, `${samples.length} samples`);
    const techniques = samples.map((s) => s.technique).join(' | ');
    for (const needle of [
      'concat',
      'template',
      'array-join',
      'fromCharCode',
      'atob',
      'buffer-base64',
      'buffer-hex',
      'unicode-escape',
      'hex-escape',
      'alias',
      'destructured',
      'globalThis',
      'dynamic-import',
      'require from',
      'constructor',
      'module.constructor._load',
      'require.cache',
      '__proto__',
      'Object.prototype',
      'nested base64',
    ]) {
      assert.ok(techniques.includes(needle), `no sample for ${needle}`);
    }
  });

  it('labels at least one sample with every rule except the scan-input rules and clean constant eval', () => {
    // code.eval-constant marks an eval whose whole input was read and found clean: not an attack to label.
    // fs.refused-write and net.credential-to-issuer mark compatibility facts of benign extensions (ADR 0011), not attacks.
    const notAttacks = new Set(['code.eval-constant', 'fs.refused-write', 'net.credential-to-issuer']);
    const labels = new Set(maliciousSamples().map((s) => s.rule));
    for (const r of listRules())
      if (!r.id.startsWith('scan.') && !notAttacks.has(r.id)) assert.ok(labels.has(r.id), `no sample labelled ${r.id}`);
  });

  it('detects at least 99% of the adversarial corpus, each by its labelled rule', async () => {
    const r = await measureDetection();
    assert.ok(r.rate >= 0.99, `detection ${(r.rate * 100).toFixed(1)}%; missed: ${JSON.stringify(r.missed, null, 1)}`);
  });

  it('judges at most 2% of the shipped pi example extensions forbidden', async () => {
    const r = await measureBenign();
    assert.ok(r.extensions >= 100, `only ${r.extensions} example extensions found`);
    assert.ok(
      r.forbiddenRate <= 0.02,
      `benign forbidden ${(r.forbiddenRate * 100).toFixed(1)}%: ${JSON.stringify(r.nonSafe.filter((n) => n.verdict === 'forbidden'))}`,
    );
  });

  it('does not trigger the paired rule on any benign idiom fixture, and judges none forbidden', async () => {
    for (const file of readdirSync(BENIGN_IDIOMS_DIR)) {
      const [report] = await scanTarget(join(BENIGN_IDIOMS_DIR, file));
      const pair = /pair: ([\w.-]+)/.exec(readFileSync(join(BENIGN_IDIOMS_DIR, file), 'utf8'))![1]!;
      assert.ok(!report!.findings.some((f) => f.ruleId === pair), `${file} triggered ${pair}`);
      assert.notEqual(report!.verdict, 'forbidden', `${file}: ${report!.findings.map((f) => f.ruleId).join(', ')}`);
    }
  });
});
