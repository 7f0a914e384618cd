/** The incident report as markdown for a ticket: the same sections as the HTML, as tables, without the charts. */
import { formatDuration, phaseTimings, utc } from './phases.ts';
import { overviewRows, postmortemSections, refusals, summaryRows } from './sections.ts';
import type { ReportData } from './types.ts';

/** Refused decisions listed in a ticket; the rest are counted. */
export const MAX_MARKDOWN_REFUSALS = 50;

/** Text in a table cell or a line: pipes, backticks, markup and line breaks cannot change the table or the page. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*[\]<>|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

const m = escapeMarkdown;

function mdTable(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  if (rows.length === 0) return '_None in the window._';
  return [
    `| ${head.map(m).join(' | ')} |`,
    `|${head.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.map(m).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(data: ReportData): string {
  const i = data.input.incident;
  const { rows: refused, more } = refusals(data, MAX_MARKDOWN_REFUSALS);
  const out: string[] = [
    `# Incident ${m(i.id)} (${i.type})`,
    '',
    mdTable(['field', 'value'], overviewRows(data)),
    '',
    '## Per extension',
    '',
    mdTable(
      ['extension', 'ledger entries', 'allowed', 'denied', 'errors', 'alerts', 'trust transitions', 'highest risk score'],
      summaryRows(data),
    ),
    '',
    '## Phases against their SLAs',
    '',
    mdTable(
      ['phase', 'NIST SP 800-61r3 / CSF 2.0', 'SANS', 'started', 'ended', 'elapsed', 'SLA', 'remaining', 'status'],
      phaseTimings(data).map((t) => [
        t.phase.name,
        t.phase.nist,
        t.phase.sans,
        t.phase.startedAt ?? '-',
        t.phase.endedAt ?? '-',
        t.elapsedMs === null ? '-' : formatDuration(t.elapsedMs),
        t.phase.slaMs === null ? 'none' : formatDuration(t.phase.slaMs),
        t.remainingMs === null ? '-' : formatDuration(t.remainingMs),
        t.status,
      ]),
    ),
    '',
    '## Alerts',
    '',
    mdTable(
      ['seq', 'time', 'extension', 'severity', 'category', 'method', 'reason codes'],
      data.alerts.map((a) => [
        String(a.seq),
        utc(a.ts_ms),
        a.extension_id || '(store)',
        a.severity,
        a.category,
        a.method ?? '-',
        a.reason_codes.join(', '),
      ]),
    ),
    '',
    '## Trust transitions',
    '',
    mdTable(
      ['time', 'extension', 'from', 'to', 'kind', 'actor', 'reason'],
      data.trust.map((t) => [utc(t.ts_ms), t.extension_id, t.from_state, t.to_state, t.kind, t.actor, t.reason]),
    ),
    '',
    '## Refused calls',
    '',
    mdTable(['seq', 'time', 'extension', 'method', 'decision', 'rule', 'reason codes', 'calls'], refused),
    ...(more > 0 ? ['', `… ${more} more refused entries in the window (\`pi-warden ledger replay --extension\`).`] : []),
    '',
    '## Evidence',
    '',
    mdTable(
      ['artifact', 'SHA-256'],
      i.evidence.map((x) => [x.name, x.sha256]),
    ),
    '',
    '## Remediations',
    '',
    ...(i.remediations.length === 0 ? ['_None recorded._'] : i.remediations.map((r) => `- ${m(r)}`)),
    '',
    '## Postmortem',
    ...postmortemSections(data).flatMap((s) => [
      '',
      `### ${s.title}`,
      '',
      ...s.lines.map((l) => `- ${m(l)}`),
      ...(s.lines.length > 0 ? [''] : []),
      `_${m(s.prompt)}_`,
    ]),
    '',
  ];
  return out.join('\n');
}
