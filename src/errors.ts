/**
 * The one error type of pi-warden. Callers switch on `code`; messages say what was expected and what was found.
 *
 * Codes an extension can see (SPEC §4.5) are kept distinct end to end: the reference collapses `quota_exceeded`
 * into `internal` on the wire; we never remap a code.
 */
export const EXTENSION_ERROR_CODES = ['invalid_request', 'denied', 'timeout', 'io', 'quota_exceeded', 'quarantined', 'internal'] as const;
export type ExtensionErrorCode = (typeof EXTENSION_ERROR_CODES)[number];

/** Codes only an operator sees (CLI, library callers). */
export const OPERATOR_ERROR_CODES = [
  'settings_invalid',
  'usage',
  'ledger_chain_broken',
  'incident_out_of_order',
  'incident_step_busy',
  'containment_failed',
] as const;
export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[number];

export type WardenErrorCode = ExtensionErrorCode | OperatorErrorCode;

/**
 * Reason codes are closed vocabularies. Each module that emits codes exports them as a const array and a union
 * (`PROMPT_REASONS` in dispatch/stages/policy.ts, `FS_SCOPE_REASONS` in mediation/fs/scope.ts, ...) and adds
 * the union here by declaration merging, since this file sits below every emitter and cannot import them:
 *
 *   declare module '../../errors.ts' { interface ReasonVocabularies { fsScope: FsScopeReason } }
 *
 * `ReasonCode` is the union of all of them, so a code that no vocabulary lists does not compile. The same union
 * at run time, for codes read back from a ledger, is `isReasonCode` in replay/reasons.ts.
 */
export interface ReasonVocabularies {
  system: SystemErrorReason;
}
export type ReasonCode = ReasonVocabularies[keyof ReasonVocabularies];

/**
 * Codes that Node or the OS report (`ENOENT`, `ECONNRESET`, `CERT_HAS_EXPIRED`): a vocabulary owned outside
 * pi-warden, kept as reported when it has that shape (upper case), which none of pi-warden's own codes has.
 */
export type SystemErrorReason = Uppercase<string>;

const SYSTEM_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

export function isSystemErrorReason(code: string): code is SystemErrorReason {
  return SYSTEM_CODE.test(code);
}

/** The `code` of a thrown Node error as a reason, or `fallback` when it has none or not that shape. */
export function systemErrorReason(err: unknown, fallback: SystemErrorReason = 'EIO'): SystemErrorReason {
  let code: unknown;
  try {
    code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  } catch {
    code = undefined;
  }
  return typeof code === 'string' && isSystemErrorReason(code) ? code : fallback;
}

export interface WardenErrorOptions {
  /** Machine-readable reason codes (e.g. `deny_caps`, `prompt_no_ui`), from the closed vocabularies above. */
  reasonCodes?: readonly ReasonCode[];
  /** Where the problem is: a file, a key path, a params path. */
  where?: string;
  cause?: unknown;
}

export class WardenError extends Error {
  readonly code: WardenErrorCode;
  readonly reasonCodes: readonly ReasonCode[];
  readonly where: string | undefined;

  constructor(code: WardenErrorCode, message: string, options: WardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.reasonCodes = options.reasonCodes ?? [];
    this.where = options.where;
  }

  /** The shape handed back into a sandbox: code and message only, never a stack or a host object. */
  toWire(): { code: WardenErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/**
 * A WardenError without a captured stack, for decisions on the dispatch hot path (denials, invalid requests).
 * Capturing a stack costs microseconds and a hostcall flood would pay it per call; the stack is never handed to
 * an extension and says nothing an operator needs about a policy decision.
 */
export function decisionError(code: WardenErrorCode, message: string, options: WardenErrorOptions = {}): WardenError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new WardenError(code, message, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function isWardenError(value: unknown): value is WardenError {
  return value instanceof WardenError;
}
