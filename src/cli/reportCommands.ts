/**
 * `incident report ID --html FILE | --format md [--out FILE]` (issue 21 item 2): the incident's report from the
 * store: the incident's record (`incident open` and its steps), or `--from-json FILE` (an IncidentReportInput) for an
 * incident handled outside pi-warden's workflow.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { WardenError } from '../errors.ts';
import { wardenHome } from '../evidence/index.ts';
import { evidenceTools } from '../incident/evidenceTools.ts';
import type { IncidentReportInput } from '../incident/report/index.ts';
import { reportInputOf } from '../incident/reportInput.ts';
import { IncidentWorkflow } from '../incident/workflow/index.ts';
import { printJson, type Io } from './output.ts';

export const REPORT_FORMATS = ['html', 'md'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  html?: string;
  format?: string;
  out?: string;
  fromJson?: string;
  home?: string;
  json?: boolean;
}

/** The `incident` command, whoever registers first (the workflow's commands live under it too). */
function incidentCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'incident') ??
    program.command('incident').description('incident workflow from detection to postmortem (runbook General Incident Workflow)')
  );
}

export function reportCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  incidentCommand(program)
    .command('report')
    .description(
      "the incident's report: a timeline of decisions, alerts, risk scores and trust transitions per extension, phase " +
        'timings against their SLAs, evidence hashes and a postmortem skeleton. --html FILE writes one self-contained page ' +
        '(no script, no network, a strict Content-Security-Policy); --format md prints markdown for a ticket. ' +
        'No hostcall params and no alert summaries are included, so the report can be shared.',
    )
    .argument('<id>', 'incident id')
    .option('--html <file>', 'write the HTML report to FILE')
    .option('--format <format>', `${REPORT_FORMATS.join(' | ')} (md is printed unless --out is given)`)
    .option('--out <file>', 'write the report to FILE')
    .option('--from-json <file>', "the incident as an IncidentReportInput JSON document, instead of the store's incident record")
    .option('--home <dir>', 'the evidence store (default: $PI_WARDEN_HOME or ~/.pi/agent/warden)')
    .option('--json', 'print what was written as JSON')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      setExit(await runReport(io, id, cmd.opts<ReportOptions>()));
    });
}

/** The report module, loaded when a report is asked for: the charting library is not for every command's start-up. */
const reportModule = () => import('../incident/report/index.ts');

async function readInput(file: string): Promise<IncidentReportInput> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('usage', `--from-json ${file}: cannot read it (${(err as Error).message})`);
  }
  try {
    return (await reportModule()).parseReportInput(JSON.parse(text));
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new WardenError('usage', `--from-json ${file}: expected JSON, found a syntax error (${err.message})`);
    throw err;
  }
}

/** The workflow's record of incident `id` in the store at `home` (read only: the status reads rows, it runs no step). */
function recordOf(home: string, id: string): IncidentReportInput {
  const status = new IncidentWorkflow({ home, tools: evidenceTools, actor: 'report' }).status(id);
  return reportInputOf(status);
}

/** Written under a temporary name and renamed, 0600: a report is evidence, and a half-written one is none. */
function writeReport(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    throw new WardenError('io', `${file}: cannot write the report (${(err as Error).message})`, { where: file, cause: err });
  }
}

export async function runReport(io: Io, id: string, o: ReportOptions): Promise<number> {
  if (o.html !== undefined && o.format !== undefined && o.format !== 'html')
    throw new WardenError('usage', `--html writes HTML; found it together with --format ${o.format}`);
  if (o.html !== undefined && o.out !== undefined) throw new WardenError('usage', '--html FILE already names the output; found --out too');
  const format = (o.html !== undefined ? 'html' : o.format) as ReportFormat | undefined;
  if (format === undefined) throw new WardenError('usage', 'expected --html FILE or --format md, found neither');
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    throw new WardenError('usage', `--format must be one of ${REPORT_FORMATS.join(', ')}, found "${format}"`);
  const out = o.html ?? o.out;
  if (format === 'html' && out === undefined)
    throw new WardenError('usage', '--format html needs --out FILE (a page is not for the terminal)');
  const home = o.home ?? wardenHome();
  const input = o.fromJson === undefined ? recordOf(home, id) : await readInput(o.fromJson);
  if (input.incident.id !== id)
    throw new WardenError('usage', `--from-json ${o.fromJson}: expected incident ${id}, found ${input.incident.id}`);
  const report = await reportModule();
  const data = report.collectReportData(home, input);
  const text = format === 'html' ? report.renderHtml(data) : report.renderMarkdown(data);
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (out !== undefined) writeReport(out, text);
  const summary = {
    incident: id,
    format,
    out: out ?? null,
    bytes: Buffer.byteLength(text),
    sha256,
    extensions: data.extensions,
    window: { from: new Date(data.window.fromMs).toISOString(), to: new Date(data.window.toMs).toISOString() },
    ledger_entries: data.decisions.length,
    alerts: data.alerts.length,
    trust_transitions: data.trust.length,
  };
  if (o.json === true) printJson(io, 'pi-warden.incident_report.v1', out === undefined ? { ...summary, report: text } : summary);
  else if (out === undefined) io.out(text);
  else
    io.out(
      `Wrote the ${format} report of incident ${id} to ${out} (${summary.bytes} bytes, sha256 ${sha256}): ` +
        `${summary.ledger_entries} ledger entries, ${summary.alerts} alerts, ${summary.trust_transitions} trust transitions for ${data.extensions.join(', ') || 'no extension'}`,
    );
  return 0;
}
