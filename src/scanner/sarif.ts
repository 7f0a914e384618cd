/**
 * SARIF 2.1.0 output (OASIS SARIF v2.1.0 §3) for GitHub code scanning: one run, the rulebook as
 * `tool.driver.rules`, one result per finding (forbidden → error, flagged → warning), and the extension verdicts
 * and capabilities as run properties.
 */
import { listRules } from './rules.ts';
import type { ExtensionReport } from './types.ts';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export function toSarif(reports: readonly ExtensionReport[], version: string): Record<string, unknown> {
  const rules = listRules();
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = reports.flatMap((ext) =>
    ext.findings.map((f) => ({
      ruleId: f.ruleId,
      ruleIndex: index.get(f.ruleId) ?? 0,
      level: f.classification === 'forbidden' ? 'error' : 'warning',
      message: { text: f.via === undefined ? f.message : `${f.message} (via ${f.via.join(' → ')})` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: f.file.split('/').map(encodeURIComponent).join('/').replace(/%21/g, '!') },
            region: { startLine: Math.max(1, f.line), startColumn: Math.max(1, f.column) },
          },
        },
      ],
      partialFingerprints: { 'piWardenFinding/v1': `${ext.id}:${f.ruleId}:${f.file}:${f.line}:${f.column}` },
      properties: { extension: ext.id, classification: f.classification, capability: f.capability, confidence: f.confidence },
    })),
  );
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pi-warden',
            version,
            informationUri: 'https://www.npmjs.com/package/pi-warden',
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase()),
              shortDescription: { text: r.summary },
              defaultConfiguration: { level: r.classification === 'forbidden' ? 'error' : 'warning' },
              properties: { classification: r.classification, capability: r.capability, confidence: r.confidence, tags: ['security'] },
            })),
          },
        },
        results,
        properties: {
          extensions: reports.map((r) => ({
            id: r.id,
            target: r.target,
            verdict: r.verdict,
            capabilities: r.capabilities.map((c) => c.capability),
          })),
        },
      },
    ],
  };
}
