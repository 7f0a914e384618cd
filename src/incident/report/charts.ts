/**
 * The report's charts, drawn once when the report is built (ADR 0034): Observable Plot renders into a linkedom
 * document and the SVG is inlined, so reading the report needs no script. Every mark that stands for a ledger
 * entry, alert or trust transition carries `data-kind` and `data-seq`, so a reader (or a test) can count and find it.
 * Plot's own <style> elements are removed: the page's one stylesheet (under its CSP hash) styles the charts.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { phaseTimings } from './phases.ts';
import type { ReportData } from './types.ts';

/** What a tagged mark stands for (the values of `data-kind`). */
export const MARK_KINDS = ['decision', 'alert', 'trust'] as const;
export type MarkKind = (typeof MARK_KINDS)[number];

/** The row a store-wide alert (no extension) is drawn on. */
export const STORE_ROW = '(store)';

const CHART_CLASS = 'chart';

/** The little of a DOM element used here (the project compiles without the DOM library). */
interface Drawn {
  readonly outerHTML: string;
  readonly children: ArrayLike<Drawn>;
  setAttribute(name: string, value: string): void;
  querySelectorAll(selector: string): ArrayLike<{ remove(): void }>;
}
/** Plot's render transform (Plot.RenderFunction), typed without the DOM library: it returns the mark's <g>. */
type RenderArgs = Parameters<Plot.RenderFunction>;
type Next = (index: number[], scales: RenderArgs[1], values: RenderArgs[2], dimensions: RenderArgs[3], context: RenderArgs[4]) => unknown;
type RenderFn = (
  index: number[],
  scales: RenderArgs[1],
  values: RenderArgs[2],
  dimensions: RenderArgs[3],
  context: RenderArgs[4],
  next?: Next,
) => unknown;

/** Plot.plot, typed without the DOM library (its figure is an SVG element of the linkedom document). */
const plot = Plot.plot as unknown as (options: Plot.PlotOptions) => unknown;

/** Tags each drawn element of a mark with its kind and the id of the datum it was drawn from. */
function tagged<T>(kind: MarkKind, rows: readonly T[], id: (row: T) => number): RenderFn {
  return function (index, scales, values, dimensions, context, next) {
    const g = (next?.(index, scales, values, dimensions, context) ?? null) as Drawn | null;
    if (g === null) return null;
    const drawn = Array.from(g.children);
    drawn.forEach((el, i) => {
      const row = rows[index[i] as number] as T;
      el.setAttribute('data-kind', kind);
      el.setAttribute('data-seq', String(id(row)));
    });
    return g;
  };
}

function svgOf(figure: unknown): string {
  const f = figure as Drawn;
  for (const s of Array.from(f.querySelectorAll('style'))) s.remove();
  return f.outerHTML;
}

export interface Charts {
  readonly timeline: string;
  readonly risk: string | null;
  readonly phases: string | null;
}

const UTC = (ms: number): Date => new Date(ms);

/** The time axis spans the evidence, not the whole window (a day of lookback would crowd it into one corner). */
function timeDomain(data: ReportData): [Date, Date] {
  const times = [...data.decisions, ...data.alerts, ...data.trust].map((x) => x.ts_ms);
  if (times.length === 0) return [UTC(data.window.fromMs), UTC(data.window.toMs)];
  let lo = times[0] as number;
  let hi = lo;
  for (const t of times) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  const pad = Math.max(1000, (hi - lo) * 0.02);
  return [UTC(lo - pad), UTC(hi + pad)];
}

export function renderCharts(data: ReportData): Charts {
  const document = (parseHTML('<!doctype html><html><head></head><body></body></html>') as unknown as { document: object }).document;
  const rows = [...data.extensions, ...(data.alerts.some((a) => a.extension_id === '') ? [STORE_ROW] : [])];
  const rowOf = (ext: string): string => (ext === '' ? STORE_ROW : ext);
  const base = {
    document,
    className: CHART_CLASS,
    width: 960,
    marginLeft: 160,
    style: null,
  } as const;
  const domain = timeDomain(data);
  const timeline = plot({
    ...base,
    height: 60 + 40 * Math.max(1, rows.length),
    x: { type: 'utc', label: 'time (UTC)', domain },
    y: { domain: rows.length === 0 ? ['-'] : rows, label: null },
    color: { domain: ['allow', 'deny', 'error'], range: ['#2a9d4b', '#d62828', '#f28c28'] },
    marks: [
      Plot.dot(data.decisions, {
        x: (d: ReportData['decisions'][number]) => UTC(d.ts_ms),
        y: 'extension_id',
        fill: 'decision',
        r: 3,
        dy: -8,
        title: (d: ReportData['decisions'][number]) => `#${d.seq} ${d.method}: ${d.decision}`,
        render: tagged('decision', data.decisions, (d) => d.seq),
      }),
      Plot.dot(data.alerts, {
        x: (a: ReportData['alerts'][number]) => UTC(a.ts_ms),
        y: (a: ReportData['alerts'][number]) => rowOf(a.extension_id),
        symbol: 'triangle',
        fill: '#7b2cbf',
        r: 5,
        dy: 8,
        title: (a: ReportData['alerts'][number]) => `alert #${a.seq} ${a.severity} ${a.category}`,
        render: tagged('alert', data.alerts, (a) => a.seq),
      }),
      Plot.tickX(data.trust, {
        x: (t: ReportData['trust'][number]) => UTC(t.ts_ms),
        y: 'extension_id',
        stroke: '#1d3557',
        strokeWidth: 2,
        title: (t: ReportData['trust'][number]) => `trust ${t.from_state} → ${t.to_state} (${t.kind})`,
        render: tagged('trust', data.trust, (t) => t.id),
      }),
    ],
  });
  const scored = data.decisions.filter((d) => d.risk_score !== null);
  const risk =
    scored.length === 0
      ? null
      : plot({
          ...base,
          height: 240,
          x: { type: 'utc', label: 'time (UTC)', domain },
          y: { label: 'risk score', grid: true },
          color: { legend: false },
          marks: [
            Plot.line(scored, {
              x: (d: (typeof scored)[number]) => UTC(d.ts_ms),
              y: 'risk_score',
              stroke: 'extension_id',
              curve: 'step-after',
            }),
            Plot.dot(scored, { x: (d: (typeof scored)[number]) => UTC(d.ts_ms), y: 'risk_score', stroke: 'extension_id', r: 2 }),
          ],
        });
  const phaseRows = phaseTimings(data)
    .filter((t) => t.elapsedMs !== null)
    .map((t) => ({
      name: t.phase.name,
      elapsedMin: (t.slaElapsedMs as number) / 60_000,
      slaMin: t.phase.slaMs === null ? null : t.phase.slaMs / 60_000,
      breached: t.status === 'breached',
    }));
  const phaseChart =
    phaseRows.length === 0
      ? null
      : plot({
          ...base,
          height: 40 + 30 * phaseRows.length,
          x: { label: 'minutes since the SLA started counting (bar: taken, tick: SLA)', grid: true },
          y: { domain: phaseRows.map((p) => p.name), label: null },
          marks: [
            Plot.barX(phaseRows, {
              x: 'elapsedMin',
              y: 'name',
              fill: (p: (typeof phaseRows)[number]) => (p.breached ? '#d62828' : '#2a9d4b'),
            }),
            Plot.tickX(
              phaseRows.filter((p) => p.slaMin !== null),
              { x: 'slaMin', y: 'name', stroke: 'black', strokeWidth: 3 },
            ),
          ],
        });
  return {
    timeline: svgOf(timeline),
    risk: risk === null ? null : svgOf(risk),
    phases: phaseChart === null ? null : svgOf(phaseChart),
  };
}
