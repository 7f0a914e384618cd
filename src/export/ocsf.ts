/**
 * Alerts as OCSF events (schema 1.3.0, https://schema.ocsf.io/1.3.0/): a security alert is a Detection Finding
 * (class 2004); a trust action (kill switch, quarantine, their lifting) is an Incident Finding (class 2005), the
 * record a SIEM opens an incident from. `type_uid` is class_uid × 100 + activity_id (OCSF "Event Type").
 */
import type { Alert, Severity } from '../evidence/index.ts';

export const OCSF_VERSION = '1.3.0';
export const OCSF_CLASSES = { detection_finding: 2004, incident_finding: 2005 } as const;

/** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. */
const SEVERITY_IDS: Readonly<Record<Severity, number>> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };
/** Alert categories that record a trust action rather than a detection. */
const TRUST_ACTIONS: ReadonlySet<string> = new Set(['kill_switch', 'quarantine']);
const ACTIVITY_CREATE = 1;
const CATEGORY_FINDINGS = 2;

export interface OcsfEvent {
  readonly class_uid: number;
  readonly category_uid: number;
  readonly activity_id: number;
  readonly type_uid: number;
  readonly time: number;
  readonly severity_id: number;
  readonly severity: string;
  readonly message: string;
  readonly status_id: number;
  readonly metadata: {
    readonly version: string;
    readonly product: { readonly name: string; readonly vendor_name: string; readonly version: string };
  };
  readonly finding_info: { readonly uid: string; readonly title: string; readonly types: readonly string[]; readonly desc: string };
  readonly resources: ReadonlyArray<{ readonly type: string; readonly uid: string; readonly name?: string }>;
  readonly unmapped: Readonly<Record<string, unknown>>;
}

export function alertToOcsf(a: Alert, productVersion: string): OcsfEvent {
  const classUid = TRUST_ACTIONS.has(a.category) ? OCSF_CLASSES.incident_finding : OCSF_CLASSES.detection_finding;
  return {
    class_uid: classUid,
    category_uid: CATEGORY_FINDINGS,
    activity_id: ACTIVITY_CREATE,
    type_uid: classUid * 100 + ACTIVITY_CREATE,
    time: a.ts_ms,
    severity_id: SEVERITY_IDS[a.severity],
    severity: a.severity === 'info' ? 'Informational' : a.severity[0]!.toUpperCase() + a.severity.slice(1),
    message: a.summary,
    // 1 New: pi-warden raises; triage happens in the SIEM.
    status_id: 1,
    metadata: { version: OCSF_VERSION, product: { name: 'pi-warden', vendor_name: 'pi-warden', version: productVersion } },
    finding_info: { uid: `pi-warden-alert-${a.seq}`, title: a.category, types: [a.category, ...a.reason_codes], desc: a.remediation },
    resources: [{ type: 'pi_extension', uid: a.extension_id }],
    unmapped: { capability: a.capability, method: a.method, call_id: a.call_id, reason_codes: a.reason_codes },
  };
}
