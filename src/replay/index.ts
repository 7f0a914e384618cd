/** Forensic replay (SPEC §6.4, runbook INC-3 analysis): recompute each recorded decision under the policy and risk state it was made with. */
export { replayLedger, replayStore, type ReplayDifference, type ReplayReport } from './replay.ts';
export { isReasonCode, vocabulariesOf, type Vocabulary } from './reasons.ts';
