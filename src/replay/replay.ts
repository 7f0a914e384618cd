/**
 * Forensic replay (SPEC §6.4): recompute each decision from what the entry recorded (method, capability,
 * extension, the stage that stopped it, prompt outcomes) under the policy snapshot it names, and report every
 * entry whose recorded decision differs. Replay stops at the first break verify finds: later entries are
 * listed as untrusted, not replayed.
 *
 * What can be recomputed: the static policy verdict, for static-capability methods the capability itself, and
 * the risk controller's score and action from the recorded signals. What cannot: params validation and the
 * mediation verdicts (fs scope, exec classes, egress, secret values). Their inputs are the params, the file system
 * and the network at the time, and params are never stored, only hashed, because they carry paths, commands and
 * possibly secrets. For such entries only the policy part is checked: a mediation refusal must have been an
 * allowed call at the policy stage.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../errors.ts';
import { promptOutcome } from '../dispatch/index.ts';
import { evaluateCapability, isCapability, METHOD_TABLE, type PolicyRules } from '../policy/index.ts';
import {
  DB_FILE,
  type LedgerEntry,
  openDatabaseReadOnly,
  OPERATOR_STAGE,
  OUTCOME_REASON,
  parseEntry,
  rulesFromSnapshot,
  storedEntries,
  type VerificationReport,
  verifyLedger,
} from '../evidence/index.ts';
import { RiskReplayer } from '../risk/replayRisk.ts';
import { isReasonCode } from './reasons.ts';

export interface ReplayDifference {
  readonly seq: number;
  readonly extension_id: string;
  readonly method: string;
  readonly capability: string | null;
  readonly recorded: { readonly decision: string; readonly rule: string | null; readonly capability: string | null };
  readonly recomputed: { readonly decision: string; readonly rule: string | null; readonly capability: string | null };
  readonly reason: string;
}

export interface ReplayReport {
  readonly schema: 'pi-warden.ledger_replay.v1';
  readonly verification: Pick<VerificationReport, 'classification' | 'first_break_seq' | 'chain_valid' | 'checkpoints_valid'>;
  readonly entries_replayed: number;
  /** Entries that record how an admitted call ended (reason code `outcome_after_allow`): outcomes, not replayed. */
  readonly outcomes: number;
  /** Operator actions in the chain (incident workflow steps, stage `operator`): no decision, not replayed. */
  readonly operator_actions: number;
  readonly matching: number;
  readonly not_recomputable: number;
  /** Entries whose risk decision was recomputed from their recorded signals. */
  readonly risk_decisions_replayed: number;
  readonly differences: readonly ReplayDifference[];
  /**
   * Reason codes of replayed entries that no vocabulary of this version lists (sorted, at most 100): a ledger
   * written by another version, or by a recorder that did not use pi-warden's stages. Their meaning was not
   * checked; an entry's replay only reads the codes it knows.
   */
  readonly unknown_reason_codes: readonly string[];
  /** Entries at or after the first break: not replayed, to be re-evaluated by hand. */
  readonly untrusted: { readonly from_seq: number | null; readonly count: number };
}

export interface ReplayOptions {
  readonly publicKey: KeyObject;
  readonly extension?: string;
  readonly until?: number;
}

export function replayStore(home: string, options: ReplayOptions): ReplayReport {
  const path = join(home, DB_FILE);
  if (!existsSync(path)) throw new WardenError('io', `${path}: no evidence store here`, { where: path });
  const db = openDatabaseReadOnly(home);
  try {
    return replayLedger(db, options);
  } finally {
    db.close();
  }
}

/** The policy-level decision the entry should show, or a reason it cannot be recomputed. */
function recompute(
  e: LedgerEntry,
  rules: PolicyRules | undefined,
): { decision: string; rule: string | null; capability: string | null } | string {
  const spec = METHOD_TABLE.get(e.method);
  if (e.stage === 'validate')
    return spec === undefined
      ? { decision: 'error', rule: null, capability: null }
      : 'params are not retained, so validation cannot be re-run';
  if (spec === undefined) return { decision: 'error', rule: null, capability: null };
  const capability = spec.capability === 'by_tool_name' ? e.capability : spec.capability;
  if (capability === null || !isCapability(capability)) return 'no capability recorded';
  if (rules === undefined) return 'the policy snapshot is missing';
  const v = evaluateCapability(rules, capability, e.extension_id);
  let decision: string = v.decision;
  if (v.decision === 'prompt') {
    const answered = promptOutcome(e.reason_codes);
    if (answered === undefined) return 'a prompt with no recorded answer';
    decision = answered;
  }
  return { decision, rule: v.rule, capability };
}

/** The policy-level part of what was recorded: a later stage or the operation may have stopped an allowed call. */
function recordedPolicyDecision(e: LedgerEntry): string {
  if (e.stage === 'policy') return 'deny';
  return 'allow';
}

export function replayLedger(db: DatabaseSync, options: ReplayOptions): ReplayReport {
  const v = verifyLedger(db, { publicKey: options.publicKey });
  const breakAt = v.first_break_seq;
  const read = db.prepare('SELECT config FROM config_snapshots WHERE config_hash = ?');
  const until = options.until ?? Number.MAX_SAFE_INTEGER;
  let untrusted = 0;
  let unparsable = 0;
  function* trusted(): Generator<LedgerEntry> {
    for (const row of storedEntries(db, until)) {
      if (breakAt !== null && row.seq >= breakAt) {
        untrusted++;
        continue;
      }
      try {
        yield parseEntry(row.entry, row.ledger_hash);
      } catch {
        unparsable++;
      }
    }
  }
  const r = replayEntries(trusted(), (hash) => (read.get(hash) as { config: string } | undefined)?.config, options.extension);
  return {
    schema: 'pi-warden.ledger_replay.v1',
    verification: {
      classification: v.classification,
      first_break_seq: breakAt,
      chain_valid: v.chain_valid,
      checkpoints_valid: v.checkpoints_valid,
    },
    ...r,
    not_recomputable: r.not_recomputable + unparsable,
    untrusted: { from_seq: breakAt, count: untrusted },
  };
}

export type EntriesReplay = Omit<ReplayReport, 'schema' | 'verification' | 'untrusted'>;

/**
 * Replays entries already verified (a store's up to its first break, a bundle's after `bundle verify`), with the
 * policy snapshots `snapshot` gives by config hash. Reads only the fields a decision depends on, never the params
 * hashes, so a bundle whose hashes are redacted by commitments replays to the same decisions.
 */
export function replayEntries(
  entries: Iterable<LedgerEntry>,
  snapshot: (configHash: string) => string | undefined,
  extension?: string,
): EntriesReplay {
  const snapshots = new Map<string, PolicyRules | undefined>();
  const rulesFor = (hash: string | null): PolicyRules | undefined => {
    if (hash === null) return undefined;
    if (!snapshots.has(hash)) {
      const text = snapshot(hash);
      snapshots.set(hash, text === undefined ? undefined : rulesFromSnapshot(text));
    }
    return snapshots.get(hash);
  };
  const differences: ReplayDifference[] = [];
  let replayed = 0;
  let matching = 0;
  let notRecomputable = 0;
  let outcomes = 0;
  let operatorActions = 0;
  const risk = new RiskReplayer();
  const unknownCodes = new Set<string>();
  let riskReplayed = 0;
  for (const e of entries) {
    if (extension !== undefined && e.extension_id !== extension) continue;
    // How an admitted call ended, not a decision: its decision is the allow entry before it.
    if (e.stage === 'execute' && e.reason_codes.includes(OUTCOME_REASON)) {
      outcomes++;
      continue;
    }
    if (e.stage === OPERATOR_STAGE) {
      operatorActions++;
      continue;
    }
    replayed++;
    for (const c of e.reason_codes) if (unknownCodes.size < 100 && !isReasonCode(c)) unknownCodes.add(c);
    const rules = rulesFor(e.config_hash);
    const rr = rules === undefined ? undefined : risk.replay(e.extension_id, rules.profile, e.reason_codes);
    if (rr !== undefined) {
      riskReplayed++;
      const scoreDiffers = e.risk_score !== null && Math.abs(e.risk_score - rr.recomputed.score) > 0.005;
      if (rr.recorded !== rr.recomputed.action || scoreDiffers) {
        differences.push({
          seq: e.seq,
          extension_id: e.extension_id,
          method: e.method,
          capability: e.capability,
          recorded: { decision: `risk:${rr.recorded}`, rule: String(e.risk_score), capability: e.capability },
          recomputed: { decision: `risk:${rr.recomputed.action}`, rule: String(rr.recomputed.score), capability: e.capability },
          reason: scoreDiffers
            ? 'the recorded risk score is not the sum of its recorded signals'
            : 'the recorded risk action is not what the bands and hysteresis give',
        });
        continue;
      }
    }
    const r = recompute(e, rules);
    if (typeof r === 'string') {
      notRecomputable++;
      continue;
    }
    const recordedPolicy = e.stage === 'validate' ? e.decision : recordedPolicyDecision(e);
    const capabilityDiffers = r.capability !== null && e.capability !== r.capability;
    const ruleDiffers = e.stage === 'policy' && e.rule !== r.rule && promptOutcome(e.reason_codes) !== 'deny';
    if (recordedPolicy === r.decision && !capabilityDiffers && !ruleDiffers) {
      matching++;
      continue;
    }
    differences.push({
      seq: e.seq,
      extension_id: e.extension_id,
      method: e.method,
      capability: e.capability,
      recorded: { decision: e.decision, rule: e.rule, capability: e.capability },
      recomputed: r,
      reason: capabilityDiffers
        ? 'the recorded capability is not what the method requires'
        : recordedPolicy !== r.decision
          ? `recorded ${recordedPolicy} at the policy stage, the recorded policy gives ${r.decision}`
          : `recorded rule ${String(e.rule)}, the recorded policy gives ${String(r.rule)}`,
    });
  }
  return {
    entries_replayed: replayed,
    outcomes,
    operator_actions: operatorActions,
    matching,
    not_recomputable: notRecomputable,
    risk_decisions_replayed: riskReplayed,
    differences,
    unknown_reason_codes: [...unknownCodes].sort(),
  };
}
