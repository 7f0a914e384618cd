/**
 * Scans one folder and prints each extension's verdict and rules as JSON: run in a child process by
 * `measureRealPackages` (corpus.ts) so one package that takes too long is bounded and reported, not waited for.
 */
import { scanTarget } from '../../src/scanner/index.ts';

const dir = process.argv[2]!;
const reports = await scanTarget(dir, { displayBase: dir });
process.stdout.write(
  JSON.stringify(
    reports.map((r) => ({ id: r.id, verdict: r.verdict, bytes: r.bytes, rules: [...new Set(r.findings.map((f) => f.ruleId))] })),
  ),
);
