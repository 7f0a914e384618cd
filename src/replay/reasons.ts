/**
 * Every reason-code vocabulary at run time, to read codes back from a ledger. Each vocabulary is declared by the
 * module that emits it and registered in `ReasonVocabularies` (errors.ts); the table below is keyed by that
 * registry, so a vocabulary added there and not here does not compile.
 */
import { isSystemErrorReason, type ReasonCode, type ReasonVocabularies } from '../errors.ts';
import { DISPATCH_REASONS } from '../dispatch/dispatcher.ts';
import { DERIVE_CAPABILITY_REASONS } from '../dispatch/stages/deriveCapability.ts';
import { PROMPT_REASONS } from '../dispatch/stages/policy.ts';
import { VALIDATE_REASONS } from '../dispatch/stages/validate.ts';
import { STORE_REASONS } from '../evidence/store.ts';
import { WRITER_REASONS } from '../evidence/writer.ts';
import { OUTCOME_REASONS } from '../evidence/entry.ts';
import { LOCATE_REASON_CODES } from '../extensions/index.ts';
import { EXEC_REASONS, isExecClassReason } from '../mediation/exec/stage.ts';
import { FS_OPERATION_REASONS } from '../mediation/fs/operations.ts';
import { FS_SCOPE_REASONS } from '../mediation/fs/scope.ts';
import { EGRESS_MARKS, EGRESS_REASONS, isEgressClassReason } from '../mediation/http/egress.ts';
import { HTTP_REASONS } from '../mediation/http/operation.ts';
import { SECRET_RESULT_REASONS } from '../mediation/secrets/inbound.ts';
import { SECRET_NAME_REASONS } from '../mediation/secrets/nameFilter.ts';
import { SECRET_VALUE_REASONS } from '../mediation/secrets/outbound.ts';
import { SEARCH_REASONS } from '../mediation/tools/confinedSearch.ts';
import { FILE_TOOL_REASONS } from '../mediation/tools/fileTools.ts';
import { GLOB_REASONS } from '../mediation/tools/glob.ts';
import { TOOL_CALL_REASONS } from '../mediation/tools/toolCalls.ts';
import { POLICY_REASONS } from '../policy/precedence.ts';
import { isSignalCode } from '../risk/controller.ts';
import { isRiskSignalReason, parseRiskActionReason, RISK_REASONS } from '../risk/stage.ts';
import { BUNDLE_REASONS } from '../sandbox/bundle.ts';
import { SANDBOX_REASONS } from '../sandbox/sandbox.ts';
import { isScanRuleReason, SCAN_GATE_REASONS } from '../scanner/gate.ts';
import { HOSTCALL_QUOTA_REASONS } from '../trust/quota.ts';
import { TRUST_GATE_REASONS } from '../trust/gate.ts';
import { TRUST_REASONS } from '../trust/lifecycle.ts';

export type Vocabulary = keyof ReasonVocabularies;

const oneOf = <T extends string>(codes: readonly T[]) => (code: string): code is T => (codes as readonly string[]).includes(code);

const VOCABULARIES: { readonly [V in Vocabulary]: (code: string) => code is ReasonVocabularies[V] } = {
  system: isSystemErrorReason,
  policy: oneOf(POLICY_REASONS),
  validate: oneOf(VALIDATE_REASONS),
  deriveCapability: oneOf(DERIVE_CAPABILITY_REASONS),
  prompt: oneOf(PROMPT_REASONS),
  dispatch: oneOf(DISPATCH_REASONS),
  trustGate: oneOf(TRUST_GATE_REASONS),
  trust: oneOf(TRUST_REASONS),
  hostcallQuota: oneOf(HOSTCALL_QUOTA_REASONS),
  store: oneOf(STORE_REASONS),
  writer: oneOf(WRITER_REASONS),
  outcome: oneOf(OUTCOME_REASONS),
  locate: oneOf(LOCATE_REASON_CODES),
  bundle: oneOf(BUNDLE_REASONS),
  sandbox: oneOf(SANDBOX_REASONS),
  scanGate: oneOf(SCAN_GATE_REASONS),
  scanRule: isScanRuleReason,
  egress: (c): c is ReasonVocabularies['egress'] => oneOf(EGRESS_REASONS)(c) || oneOf(EGRESS_MARKS)(c) || isEgressClassReason(c),
  http: oneOf(HTTP_REASONS),
  fsScope: oneOf(FS_SCOPE_REASONS),
  fsOperation: oneOf(FS_OPERATION_REASONS),
  secretName: oneOf(SECRET_NAME_REASONS),
  secretValue: oneOf(SECRET_VALUE_REASONS),
  secretResult: oneOf(SECRET_RESULT_REASONS),
  toolCall: oneOf(TOOL_CALL_REASONS),
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
