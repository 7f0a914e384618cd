/** What the HTML and markdown reports both say, computed once: per-extension counts, refused calls, the postmortem. */
import { formatDuration, phaseTimings, utc } from './phases.ts';
import type { ReportData } from './types.ts';

/** The incident's overview table: what it is about, when, and the ledger the report was built from. */
export function overviewRows(data: ReportData): string[][] {
  const i = data.input.incident;
  return [
    ['extension', i.extension ?? 'every extension with evidence in the window'],
    ['opened', i.openedAt],
    ['closed', i.closedAt ?? 'open'],
    ['evidence window', `${utc(data.window.fromMs)} to ${utc(data.window.toMs)}`],
    ['report generated', utc(data.generatedMs)],
    ['ledger when generated', `tree size ${data.ledger.treeSize}, head ${data.ledger.lastHash ?? 'none'}`],
  ];
}

/** One row per extension: entries, allowed, denied, errors, alerts, trust transitions, highest risk score. */
export function summaryRows(data: ReportData): string[][] {
  return data.extensions.map((ext) => {
    const ds = data.decisions.filter((d) => d.extension_id === ext);
    const count = (k: string) => String(ds.filter((d) => d.decision === k).length);
    const scores = ds.map((d) => d.risk_score).filter((s): s is number => s !== null);
    return [
      ext,
      String(ds.length),
      count('allow'),
      count('deny'),
      count('error'),
      String(data.alerts.filter((a) => a.extension_id === ext).length),
      String(data.trust.filter((t) => t.extension_id === ext).length),
      scores.length === 0 ? '-' : String(Math.max(...scores)),
    ];
  });
}

/** The refused entries (deny, error), oldest first, at most `max` rows, and how many more there are. */
export function refusals(data: ReportData, max: number): { rows: string[][]; more: number } {
  const all = data.decisions.filter((d) => d.decision !== 'allow');
  return {
    rows: all
      .slice(0, max)
      .map((d) => [
        String(d.seq),
        utc(d.ts_ms),
        d.extension_id,
        d.method,
        d.decision,
        d.rule ?? '-',
        d.reason_codes.join(', '),
        String(d.calls),
      ]),
    more: Math.max(0, all.length - max),
  };
}

export interface PostmortemSection {
  readonly title: string;
  /** What the record already says. */
  readonly lines: readonly string[];
  /** What the authors still have to write. */
  readonly prompt: string;
}

/** A blameless postmortem skeleton, prefilled with what the record knows. */
export function postmortemSections(data: ReportData): PostmortemSection[] {
  const i = data.input.incident;
  const first = (xs: ReadonlyArray<{ ts_ms: number }>) => (xs.length === 0 ? null : Math.min(...xs.map((x) => x.ts_ms)));
  const firstAlert = first(data.alerts);
  const firstRefusal = first(data.decisions.filter((d) => d.decision !== 'allow'));
  const breached = phaseTimings(data).filter((t) => t.status === 'breached');
  return [
    {
      title: 'Summary',
      lines: [
        `${i.type} on ${i.extension ?? 'several extensions'}, opened ${i.openedAt}, ${i.closedAt !== undefined ? `closed ${i.closedAt}` : 'still open'}`,
      ],
      prompt: 'What happened, in two sentences.',
    },
    {
      title: 'Impact',
      lines: [],
      prompt: 'What the extension reached or could have reached (files, hosts, secrets), who was affected, for how long.',
    },
    {
      title: 'Detection',
      lines: [
        ...(firstRefusal === null ? [] : [`first refused call in the window: ${utc(firstRefusal)}`]),
        ...(firstAlert === null ? [] : [`first alert in the window: ${utc(firstAlert)}`]),
        `incident opened: ${i.openedAt}`,
      ],
      prompt: 'How it was detected and how long detection took; what would have caught it sooner.',
    },
    {
      title: 'Response against the SLAs',
      lines: breached.map(
        (t) =>
          `${t.phase.name} breached its SLA of ${formatDuration(t.phase.slaMs as number)} by ${formatDuration(-(t.remainingMs as number))}`,
      ),
      prompt:
        breached.length === 0
          ? 'Every started phase met its SLA so far; note what helped.'
          : 'Why each breached phase took longer than its SLA.',
    },
    { title: 'Root cause', lines: [], prompt: 'Why the extension could do what it did: policy, scan, trust state, a gap in mediation.' },
    {
      title: 'Remediation',
      lines: i.remediations,
      prompt: 'Which change closes the root cause, and how it was verified (`pi-warden policy explain`, a drill).',
    },
    { title: 'What went well / what went wrong', lines: [], prompt: 'Blameless: the process, the tools, the runbook.' },
    { title: 'Action items', lines: [], prompt: 'Owner, due date and ticket for each follow-up.' },
  ];
}
