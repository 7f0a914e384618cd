/** `npm run bench`: runs every suite and writes bench/results/<suite>.json. `npm run bench -- policy` runs one. */
import { run as bounds } from './bounds.bench.ts';
import { run as bridge } from './bridge.bench.ts';
import { run as compat } from './compat.ts';
import { run as exec } from './exec.bench.ts';
import { run as fsScope } from './fsScope.bench.ts';
import { run as ledger } from './ledger.bench.ts';
import { run as mediation } from './mediation.bench.ts';
import { run as policy } from './policy.bench.ts';
import { run as risk } from './risk.bench.ts';
import { run as sandbox } from './sandbox.bench.ts';
import { run as scanner } from './scanner.bench.ts';

const suites: Record<string, () => Promise<string>> = {
  policy,
  ledger,
  risk,
  scanner,
  sandbox,
  compat,
  mediation,
  'fs-scope': fsScope,
  bounds,
  bridge,
  exec,
};
const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const file = await run();
  process.stdout.write(`  → ${file}\n`);
}
