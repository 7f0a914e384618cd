/**
 * `incident open|contain|collect|verify|analyze|remediate|close|status|list` (SPEC §9, runbook General Incident
 * Workflow) and `drill INC-1..INC-6|all` (issue 21 item 4).
 */
import { type Command, Option } from 'commander';
import { wardenHome } from '../evidence/index.ts';
import { WardenError } from '../errors.ts';
import { evidenceTools } from '../incident/evidenceTools.ts';
import { DRILL_TYPES, runDrills, type DrillReport } from '../incident/drills/index.ts';
import { INCIDENT_TYPES, IncidentWorkflow, type IncidentStatus, type StepResult } from '../incident/workflow/index.ts';
import { colours as pc, printJson, table, type Io } from './output.ts';
import { defaultActor } from './trustCommands.ts';

interface Common {
  home?: string;
  json?: boolean;
  actor?: string;
}

const homeOption = () => new Option('--home <dir>', 'the evidence store directory (default: $PI_WARDEN_HOME or ~/.pi/agent/warden)');

function workflow(o: Common): IncidentWorkflow {
  return new IncidentWorkflow({ home: o.home ?? wardenHome(), tools: evidenceTools, actor: o.actor ?? defaultActor() });
}

/** `3m 12s`, `1h 04m`, `-1m 00s` (negative: past the SLA). */
export function duration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s >= 3600) return `${sign}${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${sign}${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

function renderStatus(s: IncidentStatus): string {
  const head = `${s.id}  ${s.type} ${s.title}${s.extension_id === null ? '' : `  extension ${s.extension_id}`}\nopened ${s.opened_at} by ${s.actor}; ${s.closed ? 'closed' : `next: pi-warden incident ${String(s.next_step)} ${s.id}`}`;
  const rows = s.phases.map((p) => [
    p.runbook,
    p.nist,
    p.sans,
    p.sla,
    p.state === 'done' ? pc.green('done') : p.state === 'begun' ? pc.yellow('begun') : 'pending',
    duration(p.elapsed_ms),
    p.remaining_ms === null ? '-' : duration(p.remaining_ms),
    p.breached ? pc.red('BREACHED') : 'no',
  ]);
  return `${head}\n${table(['phase', 'NIST CSF 2.0', 'SANS', 'SLA', 'state', 'elapsed', 'remaining', 'breached'], rows)}`;
}

function printStep(io: Io, o: Common, r: StepResult): number {
  if (o.json === true) printJson(io, 'pi-warden.incident.v1', { step: r.step, already: r.already, detail: r.detail, incident: r.incident });
  else {
    io.out(r.already ? `${r.step}: already done; nothing ran again` : `${r.step}: done`);
    for (const [k, v] of Object.entries(r.detail)) io.out(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    io.out(renderStatus(r.incident));
  }
  return 0;
}

function printDrills(io: Io, json: boolean | undefined, reports: readonly DrillReport[]): number {
  const ok = reports.every((r) => r.ok);
  if (json === true) printJson(io, 'pi-warden.drill.v1', { ok, drills: reports });
  else {
    for (const r of reports) {
      io.out(`${r.type} ${r.title}: ${r.ok ? pc.green('PASS') : pc.red('FAIL')}${r.error === null ? '' : ` (${r.error})`}`);
      if (r.store !== null) io.out(`  scratch store kept: ${r.store} (incident ${String(r.incident_id)})`);
      io.out(
        table(
          ['check', 'result', 'detail'],
          [
            ...r.phases.map((p) => [`phase ${p.phase}`, p.ok ? 'pass' : 'FAIL', `${p.ms} ms (SLA ${p.sla})`]),
            ...r.artifacts.map((a) => [a.artifact, a.ok ? 'pass' : a.skipped === null ? 'FAIL' : 'skipped', a.skipped ?? a.detail]),
          ],
        ),
      );
    }
    io.out(`${reports.filter((r) => r.ok).length} of ${reports.length} drill(s) passed`);
  }
  return ok ? 0 : 1;
}

export function registerIncident(program: Command, io: Io, setExit: (code: number) => void): void {
  const incident = program
    .command('incident')
    .description(
      "the runbook's General Incident Workflow: open → contain → collect → verify → analyze → remediate → close.\n" +
        'Each step is recorded in the store and as a ledger entry under a signed checkpoint; a step runs once (again:\n' +
        'nothing changes), only after the one before it, and one cut short runs again. Exit code 0 done, 2 on error',
    );
  const step = (name: string, description: string, extra?: (c: Command) => Command) => {
    let c = incident
      .command(name)
      .description(description)
      .argument('<id>', 'incident id (from `incident open` or `incident list`)')
      .addOption(homeOption())
      .option('--actor <name>', 'who (default: user@host)')
      .option('--json', 'machine-readable output');
    if (extra !== undefined) c = extra(c);
    return c;
  };
  incident
    .command('open')
    .description('Detect: start an incident record (UTC phase timestamps); prints its id')
    .requiredOption('--type <type>', `the runbook's class: ${INCIDENT_TYPES.join(', ')}`)
    .option('--extension <id>', 'the extension concerned (contain needs it)')
    .option('--summary <text>', 'one line on what was seen (default: the class title)')
    .addOption(homeOption())
    .option('--actor <name>', 'who (default: user@host)')
    .option('--json', 'machine-readable output')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common & { type: string; extension?: string; summary?: string }>();
      setExit(printStep(io, o, await workflow(o).open(o)));
    });
  step(
    'contain',
    "Contain (< 5 min): the kill switch, then a canary's hostcall under the extension's id must be refused as quarantined",
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<Common>();
    setExit(printStep(io, o, await workflow(o).contain(id)));
  });
  step('collect', 'Collect (< 15 min): export the evidence bundle and snapshot the configuration; their hashes go into the record', (c) =>
    c.option('--out <dir>', 'where the files go (default: <home>/incidents/<id>/)'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<Common & { out?: string }>();
    setExit(printStep(io, o, await workflow(o).collect(id, o.out === undefined ? {} : { out: o.out })));
  });
  step('verify', 'Verify (< 30 min): the bundle (hash, sections) and the ledger chain and checkpoints; the findings are recorded').action(
    async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common>();
      setExit(printStep(io, o, await workflow(o).verify(id)));
    },
  );
  step('analyze', "Analyze (< 2 hours): replay to the first break, the extension's alerts, risk timeline and trust history").action(
    async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common>();
      setExit(printStep(io, o, await workflow(o).analyze(id)));
    },
  );
  step('remediate', 'Remediate: record a change made (policy update, scanner rule, trust lift, bead filed); each distinct one once', (c) =>
    c.requiredOption('--action <text>', 'what was changed'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<Common & { action: string }>();
    setExit(printStep(io, o, await workflow(o).remediate(id, o.action)));
  });
  step('close', 'Postmortem (< 24 hours): close the incident with its phase timeline (and the postmortem file, hashed)', (c) =>
    c.option('--postmortem <file>', 'the written postmortem'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<Common & { postmortem?: string }>();
    setExit(printStep(io, o, await workflow(o).close(id, o.postmortem === undefined ? {} : { postmortem: o.postmortem })));
  });
  incident
    .command('status')
    .description('each phase against its SLA, counted from detection: elapsed, remaining, breached (without an id: every open incident)')
    .argument('[id]', 'incident id')
    .addOption(homeOption())
    .option('--json', 'machine-readable output')
    .action((id: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common>();
      const wf = workflow(o);
      const all = id === undefined ? wf.list().filter((s) => !s.closed) : [wf.status(id)];
      if (o.json === true)
        printJson(
          io,
          id === undefined ? 'pi-warden.incident_list.v1' : 'pi-warden.incident.v1',
          id === undefined ? { incidents: all } : { incident: all[0] },
        );
      else if (all.length === 0) io.out('No open incident.');
      else io.out(all.map(renderStatus).join('\n\n'));
      setExit(0);
    });
  incident
    .command('list')
    .description('every incident in the store, open and closed')
    .addOption(homeOption())
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<Common>();
      const all = workflow(o).list();
      if (o.json === true) printJson(io, 'pi-warden.incident_list.v1', { incidents: all });
      else if (all.length === 0) io.out('No incidents recorded.');
      else
        io.out(
          table(
            ['id', 'type', 'extension', 'opened', 'next step', 'breached'],
            all.map((s) => [
              s.id,
              s.type,
              s.extension_id ?? '-',
              s.opened_at,
              s.next_step ?? 'closed',
              s.phases
                .filter((p) => p.breached)
                .map((p) => p.runbook)
                .join(', ') || 'none',
            ]),
          ),
        );
      setExit(0);
    });

  program
    .command('drill')
    .description(
      'play a runbook incident end to end against a hostile fixture in a scratch store (your store and settings are\n' +
        'not touched): the fixture runs in the sandbox, then open → close through the workflow; every "Expected\n' +
        'Artifacts" line of the runbook is checked and each phase timed. Exit code 0 all passed, 1 any failed, 2 on error',
    )
    .argument('<type>', `${DRILL_TYPES.join(', ')} or all`)
    .option('--keep', 'keep the scratch store and print where it is')
    .option('--json', 'machine-readable output')
    .action(async (type: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ json?: boolean; keep?: boolean }>();
      const types = type === 'all' ? [...DRILL_TYPES] : [type];
      for (const t of types)
        if (!(DRILL_TYPES as readonly string[]).includes(t))
          throw new WardenError('usage', `drill: expected one of ${DRILL_TYPES.join(', ')} or all, found "${t}"`);
      const reports = await runDrills(types as Array<(typeof DRILL_TYPES)[number]>, { tools: evidenceTools, keep: o.keep === true });
      setExit(printDrills(io, o.json, reports));
    });
}
