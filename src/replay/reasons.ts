/**
 * Every reason-code vocabulary at run time, to read codes back from a ledger. Each vocabulary is declared by the
 * module that emits it and registered in `ReasonVocabularies` (errors.ts); the table below is keyed by that
 * registry, so a vocabulary added there and not here does not compile.
 */
import { isSystemErrorReason, type ReasonCode, type ReasonVocabularies } from '../errors.ts';
import { DERIVE_CAPABILITY_REASONS, DISPATCH_REASONS, HOST_BYTES_REASONS, PROMPT_REASONS, VALIDATE_REASONS } from '../dispatch/index.ts';
import { BURST_REASONS, OPERATOR_REASONS, OUTCOME_REASONS, STORE_REASONS, WRITER_REASONS } from '../evidence/index.ts';
import { LOCATE_REASON_CODES } from '../extensions/index.ts';
import {
  EGRESS_MARKS,
  EGRESS_REASONS,
  EXEC_REASONS,
  FILE_TOOL_REASONS,
  FS_OPERATION_REASONS,
  FS_SCOPE_REASONS,
  GLOB_REASONS,
  HTTP_REASONS,
  NET_REASONS,
  isEgressClassReason,
  isExecClassReason,
  SEARCH_REASONS,
  SECRET_NAME_REASONS,
  SECRET_RESULT_REASONS,
  SECRET_VALUE_REASONS,
  TOOL_CALL_REASONS,
  RESULT_REASONS,
} from '../mediation/index.ts';
import { OS_SANDBOX_REASONS, POLICY_REASONS } from '../policy/index.ts';
import { isSignalCode } from '../risk/controller.ts';
import { isRiskSignalReason, parseRiskActionReason, RISK_REASONS } from '../risk/stage.ts';
import { BUNDLE_REASONS, SANDBOX_REASONS } from '../sandbox/index.ts';
import { isScanRuleReason, SCAN_GATE_REASONS } from '../scanner/index.ts';
import { HOSTCALL_QUOTA_REASONS, TRUST_GATE_REASONS, TRUST_REASONS } from '../trust/index.ts';

export type Vocabulary = keyof ReasonVocabularies;

const oneOf =
  <T extends string>(codes: readonly T[]) =>
  (code: string): code is T =>
    (codes as readonly string[]).includes(code);

const VOCABULARIES: { readonly [V in Vocabulary]: (code: string) => code is ReasonVocabularies[V] } = {
  system: isSystemErrorReason,
  policy: oneOf(POLICY_REASONS),
  osSandbox: oneOf(OS_SANDBOX_REASONS),
  validate: oneOf(VALIDATE_REASONS),
  deriveCapability: oneOf(DERIVE_CAPABILITY_REASONS),
  prompt: oneOf(PROMPT_REASONS),
  dispatch: oneOf(DISPATCH_REASONS),
  hostBytes: oneOf(HOST_BYTES_REASONS),
  trustGate: oneOf(TRUST_GATE_REASONS),
  trust: oneOf(TRUST_REASONS),
  hostcallQuota: oneOf(HOSTCALL_QUOTA_REASONS),
  store: oneOf(STORE_REASONS),
  writer: oneOf(WRITER_REASONS),
  outcome: oneOf(OUTCOME_REASONS),
  operator: oneOf(OPERATOR_REASONS),
  bursts: oneOf(BURST_REASONS),
  locate: oneOf(LOCATE_REASON_CODES),
  bundle: oneOf(BUNDLE_REASONS),
  sandbox: oneOf(SANDBOX_REASONS),
  scanGate: oneOf(SCAN_GATE_REASONS),
  scanRule: isScanRuleReason,
  egress: (c): c is ReasonVocabularies['egress'] => oneOf(EGRESS_REASONS)(c) || oneOf(EGRESS_MARKS)(c) || isEgressClassReason(c),
  http: oneOf(HTTP_REASONS),
  net: oneOf(NET_REASONS),
  fsScope: oneOf(FS_SCOPE_REASONS),
  fsOperation: oneOf(FS_OPERATION_REASONS),
  secretName: oneOf(SECRET_NAME_REASONS),
  secretValue: oneOf(SECRET_VALUE_REASONS),
  secretResult: oneOf(SECRET_RESULT_REASONS),
  toolCall: oneOf(TOOL_CALL_REASONS),
  result: oneOf(RESULT_REASONS),
  fileTool: oneOf(FILE_TOOL_REASONS),
  search: oneOf(SEARCH_REASONS),
  glob: oneOf(GLOB_REASONS),
  exec: (c): c is ReasonVocabularies['exec'] => oneOf(EXEC_REASONS)(c) || isExecClassReason(c),
  riskSignal: isSignalCode,
  risk: (c): c is ReasonVocabularies['risk'] => oneOf(RISK_REASONS)(c) || parseRiskActionReason(c) !== undefined || isRiskSignalReason(c),
};

/** The vocabularies a code belongs to (most codes have one home), or none for a code this version never emits. */
export function vocabulariesOf(code: string): Vocabulary[] {
  return (Object.keys(VOCABULARIES) as Vocabulary[]).filter((v) => VOCABULARIES[v](code));
}

export function isReasonCode(code: string): code is ReasonCode {
  return vocabulariesOf(code).length > 0;
}
