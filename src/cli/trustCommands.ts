/** `trust kill|lift|promote|status` and `quota breaches` (runbook INC-5, INC-6). */
import { hostname, userInfo } from 'node:os';
import { openStore, wardenHome } from '../evidence/index.ts';
import { queryBreaches, type TransitionKind, TrustRegistry } from '../trust/index.ts';
import { PHASES, readRollout, setRollout, stepped, type RolloutPhase } from '../risk/rollout.ts';
import { WardenError } from '../errors.ts';
import { colours as pc, printJson, table, type Io } from './output.ts';

interface Common {
  home?: string;
  json?: boolean;
}

/** Who runs an operator command: user@host, for audit records. */
export function defaultActor(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `uid-${process.getuid?.() ?? '?'}@${hostname()}`;
  }
}

export function runTransition(io: Io, kind: TransitionKind, id: string, o: Common & { reason: string; actor?: string }): number {
  const db = openStore(o.home ?? wardenHome());
  try {
    const registry = new TrustRegistry(db);
    // The kill switch is what an operator reaches for in a hurry, maybe twice: a second kill is not an error.
    if (kind === 'kill' && registry.stateOf(id) === 'quarantined') {
      if (o.json === true) printJson(io, 'pi-warden.trust_transition.v1', { extension_id: id, state: 'quarantined', already: true });
      else io.out(`${id}: already quarantined; nothing changed (lift it with \`pi-warden trust lift ${id} --reason …\`)`);
      return 0;
    }
    const t = registry.transition(id, kind, o.actor ?? defaultActor(), o.reason);
    if (o.json === true) printJson(io, 'pi-warden.trust_transition.v1', { ...t, already: false });
    else
      io.out(
        `${id}: ${t.from_state} → ${t.to_state === 'quarantined' ? pc.red(t.to_state) : t.to_state} (${kind} by ${t.actor}, reason: ${t.reason})` +
          (t.to_state === 'quarantined' ? '\nEvery pi process using this store refuses its next hostcall and stops its sandbox.' : ''),
      );
    return 0;
  } finally {
    db.close();
  }
}

export function runStatus(io: Io, id: string | undefined, o: Common): number {
  // Read-only: a status look must work on a forensic copy and must not create a store where there is none.
  const db = openStore(o.home ?? wardenHome(), { readOnly: true });
  try {
    const reg = new TrustRegistry(db);
    if (id !== undefined) {
      const state = reg.stateOf(id);
      const history = reg.history(id);
      if (o.json === true) printJson(io, 'pi-warden.trust_status.v1', { extension_id: id, state, history });
      else {
        io.out(`${id}: ${state === 'quarantined' ? pc.red(state) : state}`);
        if (history.length > 0)
          io.out(
            table(
              ['time', 'from', 'to', 'kind', 'actor', 'reason'],
              history.map((h) => [new Date(h.ts_ms).toISOString(), h.from_state, h.to_state, h.kind, h.actor, h.reason]),
            ),
          );
      }
      return 0;
    }
    const all = reg.all();
    if (o.json === true) printJson(io, 'pi-warden.trust_status.v1', { extensions: all });
    else if (all.length === 0) io.out('No extension has a recorded trust state (all are unknown).');
    else
      io.out(
        table(
          ['extension', 'state', 'since'],
          all.map((e) => [e.extension_id, e.state, new Date(e.updated_ms).toISOString()]),
        ),
      );
    return 0;
  } finally {
    db.close();
  }
}

export function runBreaches(io: Io, o: Common & { extension?: string }): number {
  const db = openStore(o.home ?? wardenHome(), { readOnly: true });
  try {
    const breaches = queryBreaches(db, o.extension);
    if (o.json === true) printJson(io, 'pi-warden.quota_breaches.v1', { count: breaches.length, breaches });
    else if (breaches.length === 0) io.out('No quota breaches recorded.');
    else
      io.out(
        table(
          ['time', 'extension', 'resource', 'limit', 'actual'],
          breaches.map((b) => [new Date(b.ts_ms).toISOString(), b.extension_id, b.resource, String(b.limit), String(b.actual)]),
        ),
      );
    return 0;
  } finally {
    db.close();
  }
}

export function runRollout(
  io: Io,
  action: 'status' | 'advance' | 'rollback',
  o: Common & { reason?: string; actor?: string; to?: string },
): number {
  // `status` only reads: it must not create a store where there is none.
  const db = openStore(o.home ?? wardenHome(), { readOnly: action === 'status' });
  try {
    if (action === 'status') {
      const s = readRollout(db);
      if (o.json === true) printJson(io, 'pi-warden.rollout.v1', { ...s, phases: PHASES });
      else
        io.out(
          `risk rollout phase: ${s.phase}${s.updated_ms === null ? ' (default: nothing stored)' : ` (since ${new Date(s.updated_ms).toISOString()}, by ${String(s.actor)}: ${String(s.reason)})`}\nphases: ${PHASES.join(' → ')}`,
        );
      return 0;
    }
    const from = readRollout(db).phase;
    const to = o.to !== undefined ? o.to : stepped(from, action === 'advance' ? 1 : -1);
    if (!(PHASES as readonly string[]).includes(to))
      throw new WardenError('usage', `--to must be one of ${PHASES.join(', ')}, found "${to}"`);
    if (to === from) throw new WardenError('usage', `already at ${from}: nothing to ${action}`);
    const r = setRollout(db, to as RolloutPhase, o.actor ?? defaultActor(), o.reason ?? '');
    if (o.json === true) printJson(io, 'pi-warden.rollout.v1', r);
    else io.out(`risk rollout: ${r.from} → ${r.to}`);
    return 0;
  } finally {
    db.close();
  }
}
