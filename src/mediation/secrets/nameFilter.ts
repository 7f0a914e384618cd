/**
 * Secret broker, names, on the call paths (SPEC §5.1): the `env.get` hostcall (and so every `process.env.X`
 * read in the sandbox), `env.list` (and so `Object.keys(process.env)`), the `env` option of `exec`/`exec.spawn`
 * (children get a minimal environment), and the pi API calls that hand out provider credentials.
 *
 * The name check runs first in the `mediation` slot, after policy: even an extension granted `env` cannot read a
 * blocked name unless the operator lists it in `extensionPolicy.secretBroker.disclosureAllowlist`. A refused
 * read writes a secret broker log entry (salted name hash, never the value); a planted honeytoken name read
 * raises a critical `secret_exposure` alert. Credential calls (`ctx.modelRegistry.getApiKey*`) need `env`
 * granted to that extension by name (`extensionPolicy.overrides.<id>.allow` or a remembered prompt answer):
 * a profile that allows `env` for everyone does not hand keys to every extension.
 */
import { addReason, type DispatchContext, type Operation, type Stage, type StageOutcome, type SyncStage } from '../../dispatch/index.ts';
import { decisionError } from '../../errors.ts';
import type { AlertSink, SecretBrokerLog } from '../../evidence/index.ts';
import { grantedByName, type CompiledPolicy } from '../../policy/index.ts';

import { logSecretEvents } from './outbound.ts';
import { classifySecretName, type SecretBrokerConfig } from './names.ts';

/** pi API calls that return a provider credential. */
export const CREDENTIAL_METHODS: ReadonlySet<string> = new Set([
  'ctx.modelRegistry.getApiKey',
  'ctx.modelRegistry.getApiKeyAndHeaders',
  'ctx.modelRegistry.getApiKeyForProvider',
]);

/** What a child process inherits from the host, whatever the extension asks for. Nothing else passes. */
export const CHILD_ENV_BASE = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TERM',
  'TMPDIR',
  'TZ',
  'NO_COLOR',
] as const;

/** A secret refused by its name, or a credential method not granted; `honeytoken` marks a planted name or value (also used by the value stages). */
export const SECRET_NAME_REASONS = ['secret_name_blocked', 'secret_name_in_env', 'credential_not_granted', 'honeytoken'] as const;
export type SecretNameReason = (typeof SECRET_NAME_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    secretName: SecretNameReason;
  }
}

export interface SecretNameStageOptions {
  readonly config: SecretBrokerConfig;
  readonly policy: CompiledPolicy;
  /** SHA-256(salt ‖ name), as in the outbound stage's log entries. */
  readonly nameHash: (name: string) => string;
  readonly alerts?: AlertSink | undefined;
  readonly log?: SecretBrokerLog | undefined;
  /** Names of planted honeytokens (upper-case compare): reading one is critical. */
  readonly honeytokens?: ReadonlySet<string>;
}

/** The blocked names among an `env` option's keys. */
export function blockedEnvNames(env: unknown, config: SecretBrokerConfig): string[] {
  if (env === null || typeof env !== 'object') return [];
  return Object.keys(env).filter((k) => classifySecretName(k, config).secret);
}

/**
 * The environment a child gets: the base names from the parent, then the extension's own entries, none of which
 * may be a blocked name (the stage refuses such a call; this drops them again, in case a host calls it directly).
 */
export function childEnvironment(
  extensionEnv: unknown,
  parent: Readonly<Record<string, string | undefined>>,
  config: SecretBrokerConfig,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CHILD_ENV_BASE) {
    const v = parent[name];
    if (typeof v === 'string' && !classifySecretName(name, config).secret) out[name] = v;
  }
  if (extensionEnv !== null && typeof extensionEnv === 'object') {
    for (const [k, v] of Object.entries(extensionEnv)) {
      if (typeof v === 'string' && !classifySecretName(k, config).secret) out[k] = v;
    }
  }
  return out;
}

export function createSecretNameStage(o: SecretNameStageOptions): SyncStage {
  const honey = new Set([...(o.honeytokens ?? [])].map((n) => n.toUpperCase()));
  const refuse = (
    ctx: DispatchContext,
    names: readonly string[],
    path: string,
    reason: Exclude<SecretNameReason, 'honeytoken'>,
    message: string,
  ): StageOutcome => {
    const honeytoken = names.some((n) => honey.has(n.toUpperCase()));
    logSecretEvents(
      o.log,
      { ts_ms: ctx.startedMs, extension_id: ctx.extensionId, call_id: ctx.callId, method: ctx.method },
      names.map((name) => ({ nameHash: o.nameHash(name), path, encoding: 'name' })),
    );
    if (honeytoken) {
      try {
        o.alerts?.raise({
          ts_ms: ctx.startedMs,
          extension_id: ctx.extensionId,
          category: 'secret_exposure',
          severity: 'critical',
          capability: ctx.capability ?? null,
          method: ctx.method,
          call_id: ctx.callId,
          summary: `${ctx.extensionId} tried to read a planted honeytoken variable (${path})`,
          reason_codes: ['secret_exposure', 'honeytoken', reason],
          remediation: 'Treat the extension as a credential thief: kill it (`pi-warden trust kill`) and investigate (runbook INC-2)',
        });
      } catch {
        // the ledger entry carries the decision
      }
    }
    addReason(ctx, reason);
    if (honeytoken) addReason(ctx, 'honeytoken');
    return decisionError('denied', message, { reasonCodes: honeytoken ? [reason, 'honeytoken'] : [reason] });
  };
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      const { method, params } = ctx;
      if (method === 'env.get') {
        const name = String(params.name);
        const c = classifySecretName(name, o.config);
        if (!c.secret) return undefined;
        return refuse(
          ctx,
          [name],
          'env.get',
          'secret_name_blocked',
          `env.get: ${name} is a secret (${c.rule}${c.matched === undefined ? '' : ` ${c.matched}`}); the secret broker hides it — list it in extensionPolicy.secretBroker.disclosureAllowlist to disclose it`,
        );
      }
      if (method === 'exec' || method === 'exec.spawn') {
        const blocked = blockedEnvNames(params.env, o.config);
        if (blocked.length === 0) return undefined;
        return refuse(
          ctx,
          blocked,
          `${method}.env`,
          'secret_name_in_env',
          `${method}: the env option sets secret variable(s) ${blocked.join(', ')}; children get a minimal environment without secrets`,
        );
      }
      if (CREDENTIAL_METHODS.has(method) && !grantedByName(o.policy, 'env', ctx.extensionId)) {
        return refuse(
          ctx,
          [],
          method,
          'credential_not_granted',
          `${method}: provider credentials are only handed to an extension granted env by name (extensionPolicy.overrides.${ctx.extensionId}.allow)`,
        );
      }
      return undefined;
    },
  };
}

/** Runs sync stages in order in one slot; the first refusal stops the call. */
export function chainStages(name: Stage['name'], parts: readonly Stage[]): Stage {
  const from = (ctx: DispatchContext, start: number): StageOutcome | Promise<StageOutcome> => {
    for (let i = start; i < parts.length; i++) {
      const r = (parts[i] as Stage).run(ctx);
      // A part that waits (an exec prompt) continues the chain when it answers.
      if (r instanceof Promise) return r.then((out) => out ?? from(ctx, i + 1));
      if (r !== undefined) return r;
    }
    return undefined;
  };
  return { name, run: (ctx) => from(ctx, 0) };
}

/**
 * The operations with the name filter applied to what comes back or goes out: `env.list` drops blocked names,
 * `exec`/`exec.spawn` get the minimal child environment in place of the extension's `env` option.
 */
export function filterEnvOperations(
  operations: ReadonlyMap<string, Operation>,
  config: SecretBrokerConfig,
  parentEnv: Readonly<Record<string, string | undefined>>,
): ReadonlyMap<string, Operation> {
  const out = new Map(operations);
  const list = operations.get('env.list');
  if (list !== undefined) {
    const keep = (names: unknown): string[] =>
      Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string' && !classifySecretName(n, config).secret) : [];
    // Synchronous when the host is: `Object.keys(process.env)` is answered while the guest waits.
    out.set('env.list', (params, ctx) => {
      const names = list(params, ctx);
      return names instanceof Promise ? names.then(keep) : keep(names);
    });
  }
  for (const method of ['exec', 'exec.spawn']) {
    const op = operations.get(method);
    if (op !== undefined) out.set(method, (params, ctx) => op({ ...params, env: childEnvironment(params.env, parentEnv, config) }, ctx));
  }
  return out;
}
