/** What an export selects (SPEC §6.7's filter) and redacts, parsed from the caller's strings with errors that say what was expected. */
import { WardenError } from '../../errors.ts';
import { ALERT_CATEGORIES, SEVERITIES, type AlertCategory, type Severity } from '../../evidence/index.ts';
import { isRedactionClass, REDACTION_CLASSES, type RedactionClass } from '../../evidence/index.ts';

export interface BundleFilter {
  readonly start_ms: number | null;
  readonly end_ms: number | null;
  readonly extension_id: string | null;
  /** Alerts only: keep these categories (null: all). */
  readonly alert_categories: readonly AlertCategory[] | null;
  /** Alerts only. */
  readonly min_severity: Severity | null;
}

/** A time as epoch milliseconds or an ISO 8601 date (UTC unless it names a zone). */
export function parseTime(flag: string, v: string | undefined): number | null {
  if (v === undefined) return null;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new WardenError('usage', `${flag} ${v}: expected epoch milliseconds or an ISO 8601 time, found neither`);
  return ms;
}

export function parseFilter(o: {
  start?: string;
  end?: string;
  extension?: string;
  category?: string;
  minSeverity?: string;
}): BundleFilter {
  const start = parseTime('--start', o.start);
  const end = parseTime('--end', o.end);
  if (start !== null && end !== null && end < start)
    throw new WardenError('usage', `--end ${o.end ?? ''} is before --start ${o.start ?? ''}`);
  let categories: AlertCategory[] | null = null;
  if (o.category !== undefined) {
    categories = [];
    for (const c of o.category.split(',').map((s) => s.trim())) {
      if (!(ALERT_CATEGORIES as readonly string[]).includes(c))
        throw new WardenError('usage', `--category ${c}: expected one of ${ALERT_CATEGORIES.join(', ')}`);
      categories.push(c as AlertCategory);
    }
  }
  if (o.minSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(o.minSeverity))
    throw new WardenError('usage', `--min-severity ${o.minSeverity}: expected one of ${SEVERITIES.join(', ')}`);
  return {
    start_ms: start,
    end_ms: end,
    extension_id: o.extension ?? null,
    alert_categories: categories,
    min_severity: (o.minSeverity as Severity | undefined) ?? null,
  };
}

/** `--redact all` or a list of classes; sorted, so the same choice always gives the same bundle. */
export function parseRedaction(list: readonly string[] | undefined): RedactionClass[] {
  if (list === undefined) return [];
  const out = new Set<RedactionClass>();
  for (const item of list
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    if (item === 'all') for (const c of REDACTION_CLASSES) out.add(c);
    else if (isRedactionClass(item)) out.add(item);
    else throw new WardenError('usage', `--redact ${item}: expected all or some of ${REDACTION_CLASSES.join(', ')}`);
  }
  return [...out].sort();
}
