/**
 * Stage 1: the envelope and the params. Unknown method or params that fail the method's schema →
 * `invalid_request` naming what is wrong and where (INV-002). Nothing else runs for such a call.
 */
import { Compile } from 'typebox/compile';
import { decisionError, type WardenError } from '../../errors.ts';
import { METHOD_TABLE, type MethodSpec } from '../../policy/index.ts';
import type { DispatchContext } from '../hostcall.ts';
import { OwnedParams } from '../plainData.ts';
import type { Stage, StageOutcome } from '../stage.ts';

/** The one reason this stage records: the hostcall or its params are not what the method table asks for. */
export const VALIDATE_REASONS = ['invalid_request'] as const;
export type ValidateReason = (typeof VALIDATE_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    validate: ValidateReason;
  }
}

const MAX_CALL_ID = 256;
const MAX_METHOD = 128;
const MAX_DECLARED = 32;

type Checker = ReturnType<typeof Compile>;
const checkers = new Map<string, Checker>();

function checkerFor(spec: MethodSpec): Checker {
  let c = checkers.get(spec.method);
  if (c === undefined) {
    c = Compile(spec.params);
    checkers.set(spec.method, c);
  }
  return c;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null || Array.isArray(value)) return value === null ? 'null' : 'an array';
  return typeof value;
}

function invalid(message: string, where: string): WardenError {
  return decisionError('invalid_request', message, { where, reasonCodes: ['invalid_request'] });
}

interface SchemaError {
  instancePath: string;
  message: string;
  keyword: string;
  params: Record<string, unknown>;
}

function paramsError(spec: MethodSpec, params: unknown, checker: Checker): WardenError {
  let first: SchemaError | undefined;
  for (const e of checker.Errors(params) as Iterable<SchemaError>) {
    if (e.keyword === 'boolean') continue;
    first = e;
    break;
  }
  const path = first === undefined ? '' : first.instancePath;
  let detail = first?.message ?? 'does not match the schema';
  if (first?.keyword === 'additionalProperties' && Array.isArray(first.params.additionalProperties)) {
    detail = `unknown key ${(first.params.additionalProperties as string[]).map((k) => JSON.stringify(k)).join(', ')}`;
  }
  return invalid(`${spec.method}: params${path.replaceAll('/', '.')}: ${detail}`, `params${path}`);
}

/** Reads the envelope once and checks the params. Returns the error to stop with, or undefined. */
export function validateHostcall(ctx: DispatchContext): StageOutcome {
  const raw = ctx.raw;
  if (!isPlainObject(raw)) return invalid(`hostcall must be a plain object, found ${show(raw)}`, 'hostcall');
  const callId = Object.hasOwn(raw, 'call_id') ? raw.call_id : undefined;
  const method = Object.hasOwn(raw, 'method') ? raw.method : undefined;
  const params = Object.hasOwn(raw, 'params') ? raw.params : undefined;
  const declared = Object.hasOwn(raw, 'capability') ? raw.capability : undefined;
  if (typeof callId !== 'string' || callId.trim() === '' || callId.length > MAX_CALL_ID) {
    return invalid(`call_id must be a non-empty string of at most ${MAX_CALL_ID} characters, found ${show(callId)}`, 'call_id');
  }
  ctx.callId = callId;
  if (typeof method !== 'string') return invalid(`method must be a string, found ${show(method)}`, 'method');
  // Only a bounded, printable form of an unknown method reaches the record.
  ctx.method = method.length > MAX_METHOD ? `${method.slice(0, MAX_METHOD)}…` : method;
  const spec = METHOD_TABLE.get(method);
  if (spec === undefined) return invalid(`unknown hostcall method ${show(method)}`, 'method');
  if (declared !== undefined && (typeof declared !== 'string' || declared.length > MAX_DECLARED)) {
    return invalid(`capability must be a string of at most ${MAX_DECLARED} characters when given, found ${show(declared)}`, 'capability');
  }
  // Decide on a private copy: a getter or proxy in the caller's object cannot show one value to the check and
  // another to the operation. Params the bridge hands over as OwnedParams are one already (a copy no caller holds);
  // any other params are copied here, and structuredClone refuses proxies, functions and symbols.
  let copy: Record<string, unknown>;
  const owned = OwnedParams.take(params);
  if (owned === null)
    return invalid(`${method}: owned params must be an object not dispatched before, found a spent or non-object copy`, 'params');
  if (owned !== undefined) copy = owned;
  else {
    if (!isPlainObject(params)) return invalid(`${method}: params must be a plain object, found ${show(params)}`, 'params');
    try {
      copy = structuredClone(params);
    } catch {
      return invalid(`${method}: params must be plain data (no proxies, functions or symbols)`, 'params');
    }
  }
  const checker = checkerFor(spec);
  if (!checker.Check(copy)) return paramsError(spec, copy, checker);
  ctx.spec = spec;
  ctx.params = copy;
  ctx.declaredCapability = declared;
  return undefined;
}

export const validateStage: Stage = { name: 'validate', run: validateHostcall };
