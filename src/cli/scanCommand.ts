/**
 * `pi-warden scan PATH...` (SPEC §8, runbook INC-4): scans extension folders, files, `.tgz` tarballs or installed
 * packages and prints the verdicts as text, JSON or SARIF 2.1.0; `--policy` prints the minimal override snippet.
 * Exit code: 0 when nothing reaches `--fail-on` (default forbidden), 1 when something does, 2 on a usage error.
 */
import type { Command } from 'commander';
import { WardenError } from '../errors.ts';
import { policySnippet, scanTarget, toSarif, type ExtensionReport } from '../scanner/index.ts';
import { colours as pc, printJson, type Io } from './output.ts';

export interface ScanCliOptions {
  format?: string;
  failOn?: string;
  policy?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const FORMATS = ['text', 'json', 'sarif'] as const;
const FAIL_ON = ['forbidden', 'flagged'] as const;

export function registerScan(program: Command, io: Io, setExit: (code: number) => void, version: string): void {
  program
    .command('scan')
    .description(
      'install-time scan (runbook INC-4): classify every file reachable from each extension entry as forbidden, ' +
        'flagged or safe, with rule ids, locations, implied capabilities and confidence.\n\n' +
        'PATH may be an extension folder, a source file, a .tgz tarball or an installed package; a folder without an entry of ' +
        'its own (like ~/.pi/agent/extensions) is scanned as one extension per file or sub-folder.\n\n' +
        'Exit code 0 when no extension reaches --fail-on, 1 when one does, 2 on a usage error.',
    )
    .argument('<paths...>', 'extension folders, files, .tgz tarballs or installed packages')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'text')
    .option('--fail-on <level>', `exit 1 when an extension is at least this bad: ${FAIL_ON.join(', ')}`, 'forbidden')
    .option('--policy', 'print the minimal extensionPolicy.overrides snippet granting exactly the capabilities found')
    .option('--json', 'same as --format json')
    .option('--quiet', 'no progress lines on stderr (shown when scanning several paths or a folder of extensions)')
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      setExit(await runScan(io, paths, cmd.opts<ScanCliOptions>(), version));
    });
}

export async function runScan(io: Io, paths: readonly string[], opts: ScanCliOptions, version: string): Promise<number> {
  const format = opts.json === true ? 'json' : (opts.format ?? 'text');
  if (!(FORMATS as readonly string[]).includes(format))
    throw new WardenError('usage', `--format must be one of ${FORMATS.join(', ')}, found '${format}'`);
  const failOn = opts.failOn ?? 'forbidden';
  if (!(FAIL_ON as readonly string[]).includes(failOn))
    throw new WardenError('usage', `--fail-on must be one of ${FAIL_ON.join(', ')}, found '${failOn}'`);
  const reports: ExtensionReport[] = [];
  const progress = opts.quiet !== true;
  for (const [i, p] of paths.entries()) {
    if (progress && paths.length > 1) io.err(`[${i + 1}/${paths.length}] scanning ${p}`);
    const found = await scanTarget(p, {
      // A folder holding many extensions reports each one, every 10th when there are more than 20.
      onExtension: (id, n, total) => {
        if (progress && total > 1 && (total <= 20 || n % 10 === 0)) io.err(`  ${p}: [${n + 1}/${total}] ${id}`);
      },
    });
    if (progress && paths.length > 1)
      io.err(
        `[${i + 1}/${paths.length}] ${p}: ${found.length <= 5 ? found.map((r) => `${r.id} ${r.verdict}`).join(', ') : `${found.length} extensions`}`,
      );
    reports.push(...found);
  }
  if (opts.policy === true)
    io.out(JSON.stringify(policySnippet(reports), null, 2)); // a settings snippet to paste, not a report
  else if (format === 'json') printJson(io, 'pi-warden.scan.v1', { version: 1, extensions: reports });
  else if (format === 'sarif')
    io.out(JSON.stringify(toSarif(reports, version), null, 2)); // SARIF 2.1.0 has its own $schema
  else io.out(renderText(reports));
  const failing = reports.filter((r) => r.verdict === 'forbidden' || (failOn === 'flagged' && r.verdict === 'flagged'));
  return failing.length > 0 ? 1 : 0;
}

function colourVerdict(v: string): string {
  return v === 'forbidden' ? pc.red(v) : v === 'flagged' ? pc.yellow(v) : pc.green(v);
}

function renderText(reports: readonly ExtensionReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${pc.bold(r.id)}  ${colourVerdict(r.verdict)}  (${r.files.length} file(s), ${r.bytes} bytes)`);
    const caps = r.capabilities.map((c) => c.capability);
    lines.push(`  needs: ${caps.length > 0 ? caps.join(', ') : '(none found)'}`);
    // One line per finding: paths are long, and a table would squeeze the message into a narrow column.
    for (const f of r.findings) {
      const via = f.via === undefined ? '' : pc.dim(` [via ${f.via.join(' → ')}]`);
      lines.push(
        `  ${colourVerdict(f.classification.padEnd(9))} ${f.ruleId} ${pc.dim(`(${f.confidence}${f.capability === null ? '' : `, needs ${f.capability}`})`)}`,
      );
      lines.push(`      ${f.file}:${f.line}:${f.column}  ${f.message}${via}`);
    }
    lines.push('');
  }
  const counts = { forbidden: 0, flagged: 0, safe: 0 };
  for (const r of reports) counts[r.verdict]++;
  lines.push(
    `${reports.length} extension(s): ${pc.red(`${counts.forbidden} forbidden`)}, ${pc.yellow(`${counts.flagged} flagged`)}, ${pc.green(`${counts.safe} safe`)}`,
  );
  return lines.join('\n');
}
