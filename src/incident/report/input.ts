/**
 * Reads an IncidentReportInput from untrusted JSON (`--from-json`, a record written by another version): every field
 * is checked and the first wrong one is named with what was expected and what was found.
 */
import { describeValue } from '../../describe.ts';
import { WardenError } from '../../errors.ts';
import { isValidExtensionId } from '../../policy/index.ts';
import { INCIDENT_TYPES, type IncidentPhase, type IncidentReportInput, type IncidentType } from './types.ts';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const SHA256 = /^[0-9a-f]{64}$/;

function bad(where: string, expected: string, found: unknown): never {
  throw new WardenError(
    'usage',
    `incident report input: ${where}: expected ${expected}, found ${typeof found === 'string' ? JSON.stringify(found) : describeValue(found)}`,
  );
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(where, 'an object', v);
  return v as Record<string, unknown>;
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.trim() === '') bad(where, 'a non-empty string', v);
  return v;
}

function time(v: unknown, where: string): string {
  if (typeof v !== 'string' || !ISO_UTC.test(v) || !Number.isFinite(Date.parse(v))) bad(where, 'an ISO 8601 time with a zone (…Z)', v);
  return v;
}

function optional<T>(v: unknown, read: (v: unknown) => T): T | undefined {
  return v === undefined ? undefined : read(v);
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) bad(where, 'an array', v);
  return v;
}

function phase(v: unknown, where: string): IncidentPhase {
  const p = record(v, where);
  const slaMs = p.slaMs;
  if (slaMs !== null && (typeof slaMs !== 'number' || !Number.isSafeInteger(slaMs) || slaMs <= 0))
    bad(`${where}.slaMs`, 'a positive whole number of ms, or null for no SLA', slaMs);
  const slaFrom = optional(p.slaFrom, (t) => time(t, `${where}.slaFrom`));
  const startedAt = optional(p.startedAt, (t) => time(t, `${where}.startedAt`));
  const endedAt = optional(p.endedAt, (t) => time(t, `${where}.endedAt`));
  if (endedAt !== undefined && startedAt === undefined) bad(`${where}.endedAt`, 'no end before the phase started', endedAt);
  if (startedAt !== undefined && endedAt !== undefined && Date.parse(endedAt) < Date.parse(startedAt))
    bad(`${where}.endedAt`, `a time at or after startedAt ${startedAt}`, endedAt);
  return {
    name: text(p.name, `${where}.name`),
    nist: text(p.nist, `${where}.nist`),
    sans: text(p.sans, `${where}.sans`),
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(endedAt === undefined ? {} : { endedAt }),
    slaMs,
    ...(slaFrom === undefined ? {} : { slaFrom }),
  };
}

export function parseReportInput(value: unknown): IncidentReportInput {
  const root = record(value, 'the document');
  const i = record(root.incident, 'incident');
  const type = i.type;
  if (typeof type !== 'string' || !(INCIDENT_TYPES as readonly string[]).includes(type))
    bad('incident.type', INCIDENT_TYPES.join(' | '), type);
  const extension = optional(i.extension, (e) => {
    if (!isValidExtensionId(e)) bad('incident.extension', 'an extension id', e);
    return e;
  });
  const openedAt = time(i.openedAt, 'incident.openedAt');
  const closedAt = optional(i.closedAt, (t) => time(t, 'incident.closedAt'));
  if (closedAt !== undefined && Date.parse(closedAt) < Date.parse(openedAt))
    bad('incident.closedAt', `a time at or after openedAt ${openedAt}`, closedAt);
  const window = optional(root.window, (w) => {
    const o = record(w, 'window');
    const from = optional(o.from, (t) => time(t, 'window.from'));
    const to = optional(o.to, (t) => time(t, 'window.to'));
    if (from !== undefined && to !== undefined && Date.parse(to) < Date.parse(from))
      bad('window.to', `a time at or after window.from ${from}`, to);
    return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
  });
  return {
    incident: {
      id: text(i.id, 'incident.id'),
      type: type as IncidentType,
      ...(extension === undefined ? {} : { extension }),
      openedAt,
      ...(closedAt === undefined ? {} : { closedAt }),
      phases: list(i.phases, 'incident.phases').map((p, n) => phase(p, `incident.phases[${n}]`)),
      evidence: list(i.evidence, 'incident.evidence').map((e, n) => {
        const o = record(e, `incident.evidence[${n}]`);
        const sha256 = o.sha256;
        if (typeof sha256 !== 'string' || !SHA256.test(sha256)) bad(`incident.evidence[${n}].sha256`, '64 lowercase hex digits', sha256);
        return { name: text(o.name, `incident.evidence[${n}].name`), sha256 };
      }),
      remediations: list(i.remediations, 'incident.remediations').map((r, n) => text(r, `incident.remediations[${n}]`)),
    },
    ...(window === undefined ? {} : { window }),
  };
}
