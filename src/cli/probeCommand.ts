/**
 * `pi-warden probe EXT`: what an extension registers and tries to do, run in the sandbox against a simulated pi
 * session with honeytoken secrets. Exit 0 when every entry loaded and nothing reached `--fail-on`, 1 when one
 * did or an entry did not load (a forbidden scan verdict, a load failure, a stopped sandbox), 2 on a usage error or an invalid settings file.
 */
import { WardenError } from '../errors.ts';
import { probeExtension, type ProbeReport } from '../probe/index.ts';
import { wardenHome } from '../evidence/index.ts';
import { colourDecision, colours as pc, printJson, snakeCaseKeys, table, type Io } from './output.ts';
import { reportSettingsErrors } from './settingsErrors.ts';

export interface ProbeCliOptions {
  readonly json?: boolean;
  readonly extensionPolicy?: string;
  readonly cwd?: string;
  readonly invoke?: boolean;
  /** The evidence store (default $PI_WARDEN_HOME or ~/.pi/agent/warden); `--no-record` keeps decisions in memory. */
  readonly home?: string;
  readonly record?: boolean;
  /** Comma-separated PROBE_FAIL_ON kinds (default `honeytoken`). */
  readonly failOn?: string;
}

/**
 * What exits 1, besides an entry that did not load or a stopped sandbox (always): a honeytoken seen leaving or
 * blocked, any refused hostcall, any network destination, any read outside the project and the extension's package.
 */
export const PROBE_FAIL_ON = ['honeytoken', 'denied', 'contacted', 'read_outside'] as const;
export type ProbeFailOn = (typeof PROBE_FAIL_ON)[number];

export function parseFailOn(value: string | undefined): ReadonlySet<ProbeFailOn> {
  const kinds = (value ?? 'honeytoken').split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(PROBE_FAIL_ON as readonly string[]).includes(k));
  if (unknown.length > 0 || kinds.length === 0)
    throw new WardenError('usage', `--fail-on takes a comma-separated list of ${PROBE_FAIL_ON.join(', ')}; found '${value ?? ''}'`);
  return new Set(kinds as ProbeFailOn[]);
}

function failures(report: ProbeReport, failOn: ReadonlySet<ProbeFailOn>): number {
  const f = report.findings;
  return (
    report.extensions.filter((e) => !e.loaded).length +
    report.sandboxEvents.filter((e) => e.type === 'stopped').length +
    (failOn.has('honeytoken') ? report.honeytokens.leaked.length + report.honeytokens.blocked.length : 0) +
    (failOn.has('denied') ? f.denied : 0) +
    (failOn.has('contacted') ? f.contacted.length : 0) +
    (failOn.has('read_outside') ? f.read_outside_project.length : 0)
  );
}

function render(report: ProbeReport): string {
  const lines: string[] = [pc.bold(`pi-warden probe ${report.path}`), `  policy profile: ${report.profile}`, ''];
  for (const e of report.extensions) {
    lines.push(pc.bold(`Extension ${e.extensionId}`) + `  ${e.loaded ? pc.green('loaded') : pc.red('FAILED TO LOAD')}  ${e.entry}`);
    if (e.loadError !== null) lines.push(`  ${pc.red(e.loadError)}`);
    if (e.scan !== null) lines.push(`  scan verdict: ${e.scan.verdict}${e.scan.refused ? pc.red(' (refused by the scan gate)') : ''}`);
    if (e.bundleHash !== null) lines.push(`  bundle sha256: ${e.bundleHash}`);
    const r = e.registrations;
    lines.push(`  tools:     ${r.tools.map((t) => t.name).join(', ') || '-'}`);
    lines.push(`  commands:  ${r.commands.map((c) => `/${c}`).join(', ') || '-'}`);
    lines.push(`  flags:     ${r.flags.map((f) => `--${f}`).join(', ') || '-'}`);
    lines.push(`  shortcuts: ${r.shortcuts.join(', ') || '-'}`);
    lines.push(`  events:    ${r.events.join(', ') || '-'}`);
    if (r.other.length > 0) lines.push(`  other:     ${r.other.map((o) => `${o.kind} ${o.name}`).join(', ')}`);
    for (const s of e.steps)
      lines.push(`  ${s.ok ? pc.green('ok  ') : pc.yellow('fail')} ${s.step}${s.detail === undefined ? '' : `: ${s.detail}`}`);
    lines.push('');
  }
  if (report.hostcalls.length > 0) {
    lines.push(pc.bold('Hostcalls (method, derived capability, decision)'));
    lines.push(
      table(
        ['extension', 'method', 'capability', 'decision', 'rule', 'count'],
        report.hostcalls.map((h) => [
          h.extension_id,
          h.method,
          h.capability ?? '-',
          colourDecision(h.error_code === null || h.decision === 'deny' ? h.decision : `${h.decision} (${h.error_code})`),
          h.rule ?? '-',
          String(h.count),
        ]),
      ),
    );
  }
  lines.push('', pc.bold('Denied'));
  if (report.denied.length === 0) lines.push('  nothing');
  for (const d of report.denied) {
    lines.push(
      d.stage === 'policy' || d.stage === null
        ? `  ${pc.red(d.method)} needs ${d.capability ?? '?'} (${d.rule ?? d.error_code ?? ''}) ×${d.count}`
        : `  ${pc.red(d.method)} refused by ${d.stage} (${d.reason_codes.join(', ') || d.error_code || ''}) ×${d.count}`,
    );
  }
  const act = report.activity.filter((a) => a.summary !== '' && /^(fs\.|exec|http|env\.|tool)/.test(a.method));
  if (act.length > 0) {
    lines.push('', pc.bold('What it reached (allowed calls; the headless host runs no program and sends nothing)'));
    for (const a of act.slice(0, 40)) lines.push(`  ${a.method} ${a.summary}`);
    if (act.length > 40) lines.push(`  … ${act.length - 40} more (--json for all)`);
  }
  lines.push('', pc.bold('Findings'));
  lines.push(`  network destinations: ${report.findings.contacted.join(', ') || 'none'}`);
  lines.push(`  read outside the project: ${report.findings.read_outside_project.slice(0, 20).join(', ') || 'none'}`);
  lines.push(`  refused hostcalls: ${report.findings.denied}`);
  lines.push('', pc.bold('Honeytokens'), `  planted: ${report.honeytokens.planted.join(', ')}`);
  lines.push(
    report.honeytokens.leaked.length === 0
      ? '  none left the sandbox through an allowed call'
      : report.honeytokens.leaked.map((l) => pc.red(`  LEAKED ${l.variable} via ${l.method} (${l.extensionId})`)).join('\n'),
  );
  if (report.honeytokens.blocked.length > 0) {
    lines.push(
      pc.red(
        `  BLOCKED ${report.honeytokens.blocked.length} attempt(s) to send a honeytoken: ${[...new Set(report.honeytokens.blocked.map((b) => b.method))].join(', ')} (secret_exposure alerts raised)`,
      ),
    );
  }
  for (const s of report.sandboxEvents) lines.push(pc.red(`sandbox ${s.type}: ${s.extensionId}: ${s.code}: ${s.reason}`));
  if (report.store !== undefined)
    lines.push(
      `decisions recorded in ${report.store.home} (ledger size ${report.store.ledger_size}; check with \`pi-warden ledger verify\`, \`pi-warden alerts\`)`,
    );
  return lines.join('\n');
}

export async function runProbe(io: Io, path: string, options: ProbeCliOptions): Promise<number> {
  let report: ProbeReport;
  let failOn: ReadonlySet<ProbeFailOn>;
  try {
    failOn = parseFailOn(options.failOn);
    report = await probeExtension({
      path,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.extensionPolicy === undefined ? {} : { profile: options.extensionPolicy }),
      noInvoke: options.invoke === false,
      ...(options.record === false ? {} : { home: options.home ?? wardenHome() }),
    });
  } catch (err) {
    if (err instanceof WardenError && err.code !== 'internal') {
      if (options.json === true)
        printJson(io, 'pi-warden.error.v1', { path, error: { code: err.code, message: err.message, where: err.where ?? null } });
      else io.err(`pi-warden: ${err.code}: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (options.json === true) printJson(io, 'pi-warden.probe.v1', snakeCaseKeys(report) as object);
  else io.out(render(report));
  if (reportSettingsErrors(io, report.settingsErrors)) return 2;
  return failures(report, failOn) > 0 ? 1 : 0;
}
