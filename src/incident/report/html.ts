/**
 * The incident report as one self-contained HTML file: no script, nothing fetched. Its Content-Security-Policy
 * forbids everything but the one stylesheet below (allowed by its hash) and data: images, so a report opened in a
 * browser cannot reach the network even if a field held markup, which escaping already prevents.
 */
import { createHash } from 'node:crypto';
import { renderCharts } from './charts.ts';
import { formatDuration, phaseTimings, utc } from './phases.ts';
import { overviewRows, postmortemSections, refusals, summaryRows } from './sections.ts';
import type { ReportData } from './types.ts';

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#111;background:#fff}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}code,.hash{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.breached,.deny{color:#b00020;font-weight:600}.met,.allow{color:#1b7f3b}.running{color:#a05a00}
svg.chart{display:block;max-width:100%;height:auto;background:#fff;overflow:visible}svg.chart text{white-space:pre}
.legend span{margin-right:1rem}.note{color:#555}.skeleton p{color:#777;font-style:italic}`;

/** The policy the page is served under: nothing but this stylesheet and data: images (CSP Level 3 hashes). */
export const REPORT_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; img-src data:; base-uri 'none'; form-action 'none'`;

/** Refused decisions listed one per row; beyond this the table says how many more the ledger holds. */
export const MAX_REFUSAL_ROWS = 500;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const e = escapeHtml;

function htmlTable(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>, rawCells = false): string {
  if (rows.length === 0) return '<p class="note">None in the window.</p>';
  const cell = (c: string) => (rawCells ? c : e(c));
  return `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderHtml(data: ReportData): string {
  const i = data.input.incident;
  const charts = renderCharts(data);
  const timings = phaseTimings(data);
  const { rows: refused, more } = refusals(data, MAX_REFUSAL_ROWS);
  const title = `Incident ${i.id} (${i.type})`;
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(REPORT_CSP)}">`,
    '<meta name="referrer" content="no-referrer">',
    `<title>${e(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${e(title)}</h1>`,
    htmlTable(['field', 'value'], overviewRows(data)),
    '<p class="note">Built from the ledger\'s stored fields only: no hostcall params (the ledger keeps their hashes), no alert summaries (they can quote a path or host; see <code>pi-warden alerts</code>), and unknown method names or reason codes are not repeated.</p>',
    '<h2>Per extension</h2>',
    htmlTable(
      ['extension', 'ledger entries', 'allowed', 'denied', 'errors', 'alerts', 'trust transitions', 'highest risk score'],
      summaryRows(data),
    ),
    '<h2>Timeline</h2>',
    '<p class="legend"><span>● ledger entry: <span class="allow">allow</span> / <span class="deny">deny</span> / error (orange)</span><span>▲ alert</span><span>| trust transition</span></p>',
    charts.timeline,
    '<h2>Risk scores</h2>',
    charts.risk ?? '<p class="note">No ledger entry in the window carries a risk score.</p>',
    '<h2>Phases against their SLAs</h2>',
    htmlTable(
      ['phase', 'NIST SP 800-61r3 / CSF 2.0', 'SANS', 'started', 'ended', 'elapsed', 'SLA', 'remaining', 'status'],
      timings.map((t) => [
        e(t.phase.name),
        e(t.phase.nist),
        e(t.phase.sans),
        e(t.phase.startedAt ?? '-'),
        e(t.phase.endedAt ?? '-'),
        t.elapsedMs === null ? '-' : formatDuration(t.elapsedMs),
        t.phase.slaMs === null ? 'none' : formatDuration(t.phase.slaMs),
        t.remainingMs === null ? '-' : formatDuration(t.remainingMs),
        `<span class="${t.status.replace(' ', '-')}">${e(t.status)}</span>`,
      ]),
      true,
    ),
    charts.phases ?? '',
    '<h2>Alerts</h2>',
    htmlTable(
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
    '<h2>Trust transitions</h2>',
    htmlTable(
      ['time', 'extension', 'from', 'to', 'kind', 'actor', 'reason'],
      data.trust.map((t) => [utc(t.ts_ms), t.extension_id, t.from_state, t.to_state, t.kind, t.actor, t.reason]),
    ),
    '<h2>Refused calls</h2>',
    htmlTable(['seq', 'time', 'extension', 'method', 'decision', 'rule', 'reason codes', 'calls'], refused),
    more > 0
      ? `<p class="note">… ${more} more refused entries in the window (see <code>pi-warden ledger replay --extension</code>).</p>`
      : '',
    '<h2>Evidence</h2>',
    htmlTable(
      ['artifact', 'SHA-256'],
      i.evidence.map((x) => [e(x.name), `<span class="hash">${e(x.sha256)}</span>`]),
      true,
    ),
    '<h2>Remediations</h2>',
    i.remediations.length === 0
      ? '<p class="note">None recorded.</p>'
      : `<ul>${i.remediations.map((r) => `<li>${e(r)}</li>`).join('')}</ul>`,
    '<h2>Postmortem</h2><div class="skeleton">',
    ...postmortemSections(data).map(
      (s) =>
        `<h3>${e(s.title)}</h3>${s.lines.length > 0 ? `<ul>${s.lines.map((l) => `<li>${e(l)}</li>`).join('')}</ul>` : ''}<p>${e(s.prompt)}</p>`,
    ),
    '</div></body></html>',
  ];
  return `${parts.join('\n')}\n`;
}
