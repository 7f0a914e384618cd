/**
 * Every runbook drill, end to end: the hostile fixture runs in the sandbox into a scratch store, the workflow runs
 * open → close, and every "Expected Artifacts" line is checked. The bundle is the stand-in (tools.ts) until the
 * evidence bundle (issue 20) is merged; the artifact lines that are bundle sections report themselves skipped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DRILL_TYPES, NEEDS_BUNDLE, runDrill } from '../../src/incident/drills/index.ts';
import { evidenceTools } from '../../src/incident/evidenceTools.ts';
import { PHASE_TABLE } from '../../src/incident/workflow/index.ts';
import { standInTools } from './tools.ts';

/** The runbook's Expected Artifacts lines, verbatim, per incident. */
const RUNBOOK_ARTIFACTS = {
  'INC-1': [
    'Security alert with category policy_violation',
    'Risk ledger entry showing the denied call',
    'Policy explanation snapshot at time of incident',
  ],
  'INC-2': [
    'Secret broker ledger entry with name_hash of the exposed variable',
    'Alert with category secret_exposure',
    'Incident evidence bundle with secret_broker section populated',
  ],
  'INC-3': [
    'RuntimeRiskLedgerVerificationReport with chain_valid: false',
    'Specific verification_errors listing broken entries',
    'Evidence bundle with risk_ledger section',
  ],
  'INC-4': [
    'Scanner results for the extension (compat ledger)',
    'The extension source code',
    'Evidence of what the extension actually executed',
  ],
  'INC-5': [
    'Trust state transition history',
    'Kill-switch activation/deactivation events',
    "Security alerts with the quarantined extension's ID",
  ],
  'INC-6': ['Quota breach events in incident evidence bundle', 'Memory/resource usage telemetry', 'Alert with category quota_breach'],
} as const;

describe('runbook drills', () => {
  for (const type of DRILL_TYPES) {
    it(`${type}: the fixture, every phase open to close, and every Expected Artifacts line`, async () => {
      const r = await runDrill(type, { tools: standInTools });
      assert.equal(r.error, null);
      assert.deepEqual(
        r.phases.map((p) => [p.phase, p.ok]),
        PHASE_TABLE.map((p) => [p.phase, true]),
      );
      assert.deepEqual(
        r.artifacts.map((a) => a.artifact),
        RUNBOOK_ARTIFACTS[type],
      );
      for (const a of r.artifacts) {
        if (a.skipped !== null) assert.ok(a.skipped.startsWith(NEEDS_BUNDLE), `${a.artifact}: only bundle sections are skipped`);
        else assert.ok(a.ok, `${a.artifact}: ${a.detail}`);
      }
      assert.equal(r.ok, true);
    });
  }

  it("with this build's evidence tools a drill stops at collect and says why", async () => {
    const r = await runDrill('INC-1', { tools: evidenceTools });
    assert.equal(r.ok, false);
    assert.match(String(r.error), /bundle export not available in this build/);
    assert.deepEqual(
      r.phases.map((p) => [p.phase, p.ok]),
      [
        ['detect', true],
        ['contain', true],
        ['collect', false],
      ],
    );
  });

  it('the bundle sections of INC-2, INC-3, INC-4 and INC-6', { skip: NEEDS_BUNDLE }, () => {
    // The lead replaces the stand-in with the bundle's exporter and checks these lines against its sections.
  });
});
