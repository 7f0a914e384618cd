/**
 * `npm run bench`: runs every suite, each in its own Node process (a crash or a leak in one cannot lose or skew the
 * others), writing bench/results/<suite>.json, then regenerates docs/benchmarks.md from the results (report.ts).
 * `npm run bench -- policy bridge` runs some. Exits non-zero, naming them, when any suite failed; the results of the
 * others are kept.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeReport } from './report.ts';

/** Each suite's module (exporting `run(): Promise<string>`), imported only in the suite's own process. */
const SUITES: Record<string, string> = {
  policy: './policy.bench.ts',
  ledger: './ledger.bench.ts',
  risk: './risk.bench.ts',
  scanner: './scanner.bench.ts',
  sandbox: './sandbox.bench.ts',
  compat: './compat.ts',
  'compat-tui': './compatTui.ts',
  mediation: './mediation.bench.ts',
  'fs-scope': './fsScope.bench.ts',
  bounds: './bounds.bench.ts',
  bridge: './bridge.bench.ts',
  'shell-parse': './shellParse.bench.ts',
  exec: './exec.bench.ts',
  tui: './tui.bench.ts',
  export: './export.bench.ts',
  bundle: './bundle.bench.ts',
};

const ONE = '--module';
const here = fileURLToPath(import.meta.url);

/**
 * Runs each suite module in a child process of its own, one after the other; returns the suites that failed, each
 * with its exit code or signal. A failure does not stop the rest.
 */
export function runEach(suites: readonly (readonly [name: string, module: string])[]): string[] {
  const failed: string[] = [];
  for (const [name, module] of suites) {
    const child = spawnSync(process.execPath, [...process.execArgv, here, ONE, module], { stdio: 'inherit' });
    if (child.status === 0) continue;
    const how = child.signal ?? `exit ${String(child.status)}`;
    failed.push(`${name} (${how})`);
    process.stderr.write(`bench: suite ${name} failed (${how}); going on with the others\n`);
  }
  return failed;
}

if (process.argv[1] === here && process.argv[2] === ONE) {
  const { run } = (await import(new URL(process.argv[3] ?? '', import.meta.url).href)) as { run: () => Promise<string> };
  process.stdout.write(`  → ${await run()}\n`);
} else if (process.argv[1] === here) {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in SUITES));
  if (unknown.length > 0) throw new Error(`expected suites among ${Object.keys(SUITES).join(', ')}, found ${unknown.join(', ')}`);
  const failed = runEach(Object.entries(SUITES).filter(([name]) => wanted.length === 0 || wanted.includes(name)));
  process.stdout.write(`  → ${writeReport()}\n`);
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} suite(s) failed, their earlier results (if any) are unchanged: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}
