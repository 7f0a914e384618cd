/**
 * The incident record as the report's input (issue 21 item 2 fed by item 1): the workflow's phases with their
 * runbook SLAs counted from detection, the evidence files each step wrote with their SHA-256, and the remediations.
 */
import type { IncidentReportInput } from './report/index.ts';
import { PHASE_TABLE, type IncidentStatus } from './workflow/index.ts';

/** Every `{ path, sha256 }` (or `report`/`analysis`/`timeline` + `*_sha256`) a step's detail names, as evidence lines. */
function evidenceOf(step: string, detail: Record<string, unknown>): Array<{ name: string; sha256: string }> {
  const out: Array<{ name: string; sha256: string }> = [];
  const visit = (v: unknown, where: string): void => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
    const o = v as Record<string, unknown>;
    if (typeof o.path === 'string' && typeof o.sha256 === 'string') out.push({ name: `${where}: ${o.path}`, sha256: o.sha256 });
    if (typeof o.path === 'string' && typeof o.file_sha256 === 'string') out.push({ name: `${where}: ${o.path}`, sha256: o.file_sha256 });
    for (const [k, x] of Object.entries(o)) {
      if (k.endsWith('_sha256') && k !== 'file_sha256' && typeof x === 'string') {
        const file = o[k.slice(0, -'_sha256'.length)];
        out.push({ name: `${where}: ${typeof file === 'string' ? file : k}`, sha256: x });
      } else visit(x, `${where}.${k}`);
    }
  };
  visit(detail, step);
  return out;
}

export function reportInputOf(status: IncidentStatus): IncidentReportInput {
  const spec = new Map(PHASE_TABLE.map((p) => [p.phase, p]));
  const close = status.phases.find((p) => p.step === 'close');
  const remediate = status.phases.find((p) => p.step === 'remediate');
  return {
    incident: {
      id: status.id,
      type: status.type,
      ...(status.extension_id === null ? {} : { extension: status.extension_id }),
      openedAt: status.opened_at,
      ...(close?.done_at == null ? {} : { closedAt: close.done_at }),
      phases: status.phases.map((p) => ({
        name: p.runbook,
        nist: p.nist,
        sans: p.sans,
        ...(p.started_at === null ? {} : { startedAt: p.started_at }),
        ...(p.done_at === null ? {} : { endedAt: p.done_at }),
        slaMs: spec.get(p.phase)?.slaMs ?? null,
        slaFrom: status.opened_at,
      })),
      evidence: status.phases.flatMap((p) => (p.state === 'done' ? evidenceOf(p.step, p.detail) : [])),
      remediations: ((remediate?.detail.actions as string[] | undefined) ?? []).slice(),
    },
  };
}
