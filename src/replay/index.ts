/** Forensic replay (SPEC §6.4, runbook INC-3 analysis): recompute each recorded decision under the policy and risk state it was made with. */
export { replayEntries, replayLedger, replayStore, type EntriesReplay, type ReplayDifference, type ReplayReport } from './replay.ts';
export { isReasonCode, vocabulariesOf, type Vocabulary } from './reasons.ts';
