/** SARIF 2.1.0 output validates against the OASIS schema (as shipped in @microsoft/jest-sarif), issue 8 item 1. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { listRules, scanTarget, toSarif } from '../../src/scanner/index.ts';
import { MALICIOUS_DIR } from './corpus.ts';

const schemaPath = fileURLToPath(new URL('../../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json', import.meta.url));
// The published schema's `language` pattern is not valid under the `u` flag; ajv then needs unicodeRegExp off.
// CommonJS packages: under NodeNext the class and the plugin are their `default` export.
const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
ajvFormats.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

describe('SARIF output', () => {
  it('validates against the SARIF 2.1.0 schema for a scan of the whole adversarial corpus', async () => {
    const reports = await scanTarget(MALICIOUS_DIR, { displayBase: MALICIOUS_DIR });
    assert.ok(reports.length >= 200);
    const sarif = toSarif(reports, '0.1.0');
    const ok = validate(sarif);
    assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 1));
    const results = (sarif.runs as Array<{ results: Array<{ ruleId: string; level: string; locations: unknown[] }> }>)[0]!.results;
    assert.ok(results.length >= 200);
    assert.ok(results.every((r) => r.level === 'error' || r.level === 'warning'));
  });

  it('lists every rule of the rulebook and points results at them', async () => {
    const sarif = toSarif(await scanTarget(MALICIOUS_DIR, { displayBase: MALICIOUS_DIR }), '0.1.0');
    const run = (
      sarif.runs as Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; ruleIndex: number }> }>
    )[0]!;
    assert.deepEqual(
      run.tool.driver.rules.map((r) => r.id),
      listRules().map((r) => r.id),
    );
    for (const r of run.results) assert.equal(run.tool.driver.rules[r.ruleIndex]!.id, r.ruleId);
  });

  it('the validator rejects a malformed log, so the check above can fail', () => {
    assert.equal(
      validate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, level: 'fatal' }] }] }),
      false,
    );
  });
});
