/**
 * The one error type of pi-warden. Callers switch on `code`; messages say what was expected and what was found.
 *
 * Codes an extension can see (SPEC §4.5) are kept distinct end to end: the reference collapses `quota_exceeded`
 * into `internal` on the wire; we never remap a code.
 */
export const EXTENSION_ERROR_CODES = [
  'invalid_request',
  'denied',
  'timeout',
  'io',
  'quota_exceeded',
  'quarantined',
  'internal',
] as const;
export type ExtensionErrorCode = (typeof EXTENSION_ERROR_CODES)[number];

/** Codes only an operator sees (CLI, library callers). */
export const OPERATOR_ERROR_CODES = ['settings_invalid', 'usage', 'ledger_chain_broken'] as const;
export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[number];

export type WardenErrorCode = ExtensionErrorCode | OperatorErrorCode;

export interface WardenErrorOptions {
  /** Machine-readable reason codes (e.g. `deny_caps`, `prompt_no_ui`). */
  reasonCodes?: readonly string[];
  /** Where the problem is: a file, a key path, a params path. */
  where?: string;
  cause?: unknown;
}

export class WardenError extends Error {
  readonly code: WardenErrorCode;
  readonly reasonCodes: readonly string[];
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
