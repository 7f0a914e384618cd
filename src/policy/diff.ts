/**
 * `policy diff A B`: what changes between two settings files, and in which direction. Decisions are compared
 * capability by capability (globally and for every extension either file names), so a rollback can be checked
 * as "nothing got looser".
 */
import { CAPABILITIES } from './capabilities.ts';
import { egressOverrideIds, egressRulesFor, explainEgressRules } from './egressSettings.ts';
import { evaluateCapability, type Decision } from './precedence.ts';
import { explainExecRules } from './explain.ts';
import { explainNetGrant, NO_NET_GRANT } from './netGrants.ts';
import { PROFILE_PRESETS, PROFILE_STRICTNESS } from './profiles.ts';
import type { ResolvedPolicy } from './settings.ts';

export type Direction = 'looser' | 'tighter' | 'changed';

export interface PolicyChange {
  /** e.g. `profile`, `capabilities.exec`, `extension my-ext: capabilities.read`, `risk.enforce`. */
  readonly field: string;
  readonly a: string;
  readonly b: string;
  readonly direction: Direction;
}

const DECISION_STRICTNESS: Readonly<Record<Decision, number>> = { allow: 0, prompt: 1, deny: 2 };

function direction(strictA: number, strictB: number): Direction {
  return strictB > strictA ? 'tighter' : strictB < strictA ? 'looser' : 'changed';
}

function list(values: readonly string[]): string {
  return values.length === 0 ? '(none)' : [...values].sort().join(', ');
}

function boolChange(field: string, a: boolean, b: boolean, trueIsLooser: boolean, out: PolicyChange[]): void {
  if (a === b) return;
  const looser = trueIsLooser ? b : !b;
  out.push({ field, a: String(a), b: String(b), direction: looser ? 'looser' : 'tighter' });
}

/** Quota limits: a higher or removed limit is looser, a lower or new one tighter. */
function quotaChanges(
  prefix: string,
  qa: Readonly<Record<string, number | undefined>>,
  qb: Readonly<Record<string, number | undefined>>,
  out: PolicyChange[],
): void {
  for (const key of [...new Set([...Object.keys(qa), ...Object.keys(qb)])].sort()) {
    const va = qa[key];
    const vb = qb[key];
    if (va === vb) continue;
    const limitA = va ?? Number.POSITIVE_INFINITY;
    const limitB = vb ?? Number.POSITIVE_INFINITY;
    out.push({
      field: `${prefix}.${key}`,
      a: va === undefined ? '(default)' : String(va),
      b: vb === undefined ? '(default)' : String(vb),
      direction: limitB > limitA ? 'looser' : 'tighter',
    });
  }
}

/** A list whose entries add permission (allowPrivate) or take it away (denyHosts). */
function setChange(field: string, la: readonly string[], lb: readonly string[], addingIsLooser: boolean, out: PolicyChange[]): void {
  if (list(la) === list(lb)) return;
  const added = lb.some((x) => !la.includes(x));
  const removed = la.some((x) => !lb.includes(x));
  const looser = addingIsLooser ? added && !removed : removed && !added;
  const tighter = addingIsLooser ? removed && !added : added && !removed;
  out.push({ field, a: list(la), b: list(lb), direction: looser ? 'looser' : tighter ? 'tighter' : 'changed' });
}

/** HTTP egress rules for the defaults and every extension either side names. */
function egressChanges(a: ResolvedPolicy, b: ResolvedPolicy, out: PolicyChange[]): void {
  // Extensions the user or the project names (a project file can tighten one extension's egress).
  const ids = new Set([undefined, ...egressOverrideIds(a.httpEgress), ...egressOverrideIds(b.httpEgress)]);
  for (const id of [...ids].sort()) {
    const ea = explainEgressRules(egressRulesFor(a.httpEgress, id));
    const eb = explainEgressRules(egressRulesFor(b.httpEgress, id));
    const prefix = id === undefined ? 'http' : `extension ${id}: http`;
    setChange(`${prefix}.deny_hosts`, ea.deny_hosts, eb.deny_hosts, false, out);
    setChange(`${prefix}.allow_private`, ea.allow_private, eb.allow_private, true, out);
    const allowA = ea.allow_hosts === null ? '(any public host)' : ea.allow_hosts.map((l) => list(l)).join(' AND ');
    const allowB = eb.allow_hosts === null ? '(any public host)' : eb.allow_hosts.map((l) => list(l)).join(' AND ');
    if (allowA !== allowB) {
      out.push({
        field: `${prefix}.allow_hosts`,
        a: allowA,
        b: allowB,
        direction: ea.allow_hosts === null ? 'tighter' : eb.allow_hosts === null ? 'looser' : 'changed',
      });
    }
    for (const key of ['max_request_bytes', 'max_response_bytes', 'max_redirects'] as const) {
      if (ea[key] !== eb[key])
        out.push({
          field: `${prefix}.${key}`,
          a: String(ea[key]),
          b: String(eb[key]),
          direction: eb[key] > ea[key] ? 'looser' : 'tighter',
        });
    }
  }
}

/** Filesystem grants beyond the project and data folder: a path added to an extension's read or write list loosens. */
function fsGrantChanges(a: ResolvedPolicy, b: ResolvedPolicy, out: PolicyChange[]): void {
  const none = { read: [], write: [] };
  for (const id of [...new Set([...a.fsGrants.keys(), ...b.fsGrants.keys()])].sort()) {
    const ga = a.fsGrants.get(id) ?? none;
    const gb = b.fsGrants.get(id) ?? none;
    setChange(`extension ${id}: fs.read`, ga.read, gb.read, true, out);
    setChange(`extension ${id}: fs.write`, ga.write, gb.write, true, out);
  }
}

/** What each extension's `net` grant names: more sockets or ports, or the owner check off, loosens. */
function netGrantChanges(a: ResolvedPolicy, b: ResolvedPolicy, out: PolicyChange[]): void {
  for (const id of [...new Set([...a.netGrants.keys(), ...b.netGrants.keys()])].sort()) {
    const ga = explainNetGrant(a.netGrants.get(id) ?? NO_NET_GRANT);
    const gb = explainNetGrant(b.netGrants.get(id) ?? NO_NET_GRANT);
    setChange(`extension ${id}: net.unix`, ga.unix, gb.unix, true, out);
    setChange(`extension ${id}: net.tcp_ports`, ga.tcp_ports, gb.tcp_ports, true, out);
    boolChange(`extension ${id}: net.owner_check`, ga.owner_check, gb.owner_check, false, out);
  }
}

/** Exec mediation's rows (command classes, shell, cwd) as each profile enforces them, with and without exec granted by name. */
function execRuleChanges(a: ResolvedPolicy, b: ResolvedPolicy, out: PolicyChange[]): void {
  const rowsB = new Map(explainExecRules(PROFILE_PRESETS[b.profile].exec).map((r) => [r.subject, r]));
  for (const ra of explainExecRules(PROFILE_PRESETS[a.profile].exec)) {
    const rb = rowsB.get(ra.subject);
    if (rb === undefined) continue;
    for (const column of ['granted', 'ungranted'] as const) {
      if (ra[column] === rb[column]) continue;
      out.push({
        field: `exec.${ra.subject} (${column === 'granted' ? 'exec granted by name' : 'exec not granted by name'})`,
        a: ra[column],
        b: rb[column],
        direction: direction(DECISION_STRICTNESS[ra[column]], DECISION_STRICTNESS[rb[column]]),
      });
    }
  }
}

/** The risk controller: on, enforcing and failing closed are tighter; its allowed hosts skip scoring (adding loosens). */
function riskChanges(a: ResolvedPolicy, b: ResolvedPolicy, out: PolicyChange[]): void {
  boolChange('risk.enabled', a.risk.enabled, b.risk.enabled, false, out);
  boolChange('risk.enforce', a.risk.enforce, b.risk.enforce, false, out);
  boolChange('risk.fail_closed', a.risk.failClosed, b.risk.failClosed, false, out);
  setChange('risk.allowed_hosts', a.risk.allowedHosts, b.risk.allowedHosts, true, out);
  for (const key of ['alpha', 'windowSize', 'decisionTimeoutMs', 'ledgerLimit', 'consecutiveUnsafe'] as const) {
    if (a.risk[key] !== b.risk[key])
      out.push({ field: `risk.${snake(key)}`, a: String(a.risk[key]), b: String(b.risk[key]), direction: 'changed' });
  }
  for (const key of ['sampleWindow', 'maxFalsePositiveRate', 'maxErrorRate', 'maxAvgLatencyUs'] as const) {
    if (a.risk.rollout[key] !== b.risk.rollout[key])
      out.push({
        field: `risk.rollout.${snake(key)}`,
        a: String(a.risk.rollout[key]),
        b: String(b.risk.rollout[key]),
        direction: 'changed',
      });
  }
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function diffPolicies(a: ResolvedPolicy, b: ResolvedPolicy): PolicyChange[] {
  const out: PolicyChange[] = [];
  if (a.profile !== b.profile) {
    out.push({
      field: 'profile',
      a: a.profile,
      b: b.profile,
      direction: direction(PROFILE_STRICTNESS[a.profile], PROFILE_STRICTNESS[b.profile]),
    });
  }
  if (a.rules.mode !== b.rules.mode) out.push({ field: 'mode', a: a.rules.mode, b: b.rules.mode, direction: 'changed' });
  boolChange('allow_dangerous', a.rules.allowDangerous, b.rules.allowDangerous, true, out);
  // The caps lists act together with the mode; their effect is graded in the per-capability rows below.
  for (const [field, la, lb] of [
    ['default_caps', a.rules.defaultCaps, b.rules.defaultCaps],
    ['deny_caps', a.rules.denyCaps, b.rules.denyCaps],
  ] as const) {
    if (list(la) !== list(lb)) out.push({ field, a: list(la), b: list(lb), direction: 'changed' });
  }
  // Disclosing more secret names loosens; fewer tightens.
  const da = a.secretBroker.disclosureAllowlist;
  const db = b.secretBroker.disclosureAllowlist;
  if (list(da) !== list(db)) {
    const added = db.some((x) => !da.includes(x));
    const removed = da.some((x) => !db.includes(x));
    out.push({
      field: 'secret_broker.disclosure_allowlist',
      a: list(da),
      b: list(db),
      direction: added && !removed ? 'looser' : removed && !added ? 'tighter' : 'changed',
    });
  }
  quotaChanges('quota', a.quota, b.quota, out);
  const quotaIds = new Set([...a.overrideQuotas.keys(), ...b.overrideQuotas.keys()]);
  for (const id of [...quotaIds].sort())
    quotaChanges(`extension ${id}: quota`, a.overrideQuotas.get(id) ?? {}, b.overrideQuotas.get(id) ?? {}, out);
  boolChange('secret_broker_enabled', a.secretBroker.enabled, b.secretBroker.enabled, false, out);
  boolChange('exec_os_sandbox', a.osSandbox === 'on', b.osSandbox === 'on', false, out);
  egressChanges(a, b, out);
  riskChanges(a, b, out);
  fsGrantChanges(a, b, out);
  netGrantChanges(a, b, out);
  execRuleChanges(a, b, out);

  for (const id of [...new Set([...a.allowForbiddenScan, ...b.allowForbiddenScan])].sort()) {
    boolChange(`extension ${id}: allow_forbidden_scan`, a.allowForbiddenScan.has(id), b.allowForbiddenScan.has(id), true, out);
  }
  const scopes: Array<string | undefined> = [undefined];
  const ids = new Set([
    ...a.rules.overrides.keys(),
    ...b.rules.overrides.keys(),
    ...a.rules.promptAnswers.keys(),
    ...b.rules.promptAnswers.keys(),
  ]);
  scopes.push(...[...ids].sort());
  for (const id of scopes) {
    for (const cap of CAPABILITIES) {
      const va = evaluateCapability(a.rules, cap, id);
      const vb = evaluateCapability(b.rules, cap, id);
      if (va.decision === vb.decision && va.rule === vb.rule) continue;
      const field = id === undefined ? `capabilities.${cap}` : `extension ${id}: capabilities.${cap}`;
      out.push({
        field,
        a: `${va.decision} (${va.rule})`,
        b: `${vb.decision} (${vb.rule})`,
        direction: direction(DECISION_STRICTNESS[va.decision], DECISION_STRICTNESS[vb.decision]),
      });
    }
  }
  return out;
}
