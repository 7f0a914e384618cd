/**
 * The outbound-payload check (SPEC §5.2) as the `mediation` dispatch stage: http url/headers/body, exec argv and
 * stdin, fs write content and paths, and messages to the model are scanned for held secret values (any
 * encoding) and provider token formats, then, with the rolling window of the extension's recent calls to the
 * same destination, for a value sent in pieces (outboundWindow.ts; encoding `split`). A hit denies the call,
 * raises `secret_exposure` (critical for a honeytoken) and writes a secret broker log entry with a salted name
 * hash, the payload path and the decision.
 */
import { createHash } from 'node:crypto';
import { decisionError } from '../../errors.ts';
import type { AlertSink, SecretBrokerLog } from '../../evidence/index.ts';
import { addReason, type DispatchContext, type SyncStage } from '../../dispatch/index.ts';
// What is scanned is every string the channel table says a call sends out (./channels.ts).
import { outboundStrings } from './channels.ts';
import { OutboundWindow } from './outboundWindow.ts';
import { tokenFormatHits, type SecretValueIndex } from './values.ts';

/**
 * One secret_broker_log entry per secret found (name hashed, never the value). A log that fails does not change the
 * decision: the call is refused, or its result withheld, either way.
 */
export function logSecretEvents(
  log: SecretBrokerLog | undefined,
  at: { readonly ts_ms: number; readonly extension_id: string; readonly call_id: string; readonly method: string },
  found: ReadonlyArray<{ readonly nameHash: string; readonly path: string; readonly encoding: string }>,
): void {
  for (const f of found) {
    try {
      log?.recordSecretEvent({ ...at, name_hash: f.nameHash, path: f.path, encoding: f.encoding, decision: 'deny' });
    } catch {
      // the decision stands
    }
  }
}

/** A payload that carries a known secret value (with `honeytoken` when it is a planted one). */
export const SECRET_VALUE_REASONS = ['secret_exposure'] as const;
export type SecretValueReason = (typeof SECRET_VALUE_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    secretValue: SecretValueReason;
  }
}

export interface OutboundStageOptions {
  readonly index: () => SecretValueIndex;
  readonly salt: string;
  readonly alerts?: AlertSink | undefined;
  readonly log?: SecretBrokerLog | undefined;
  /** Provider token formats as a second filter (default on). */
  readonly tokenFormats?: boolean;
  /** Join each extension's recent calls to one destination to find a value sent in pieces (default on). */
  readonly window?: boolean;
}

/** SHA-256(salt ‖ NUL ‖ name): the `name_hash` of secret broker log entries. */
export function secretNameHasher(salt: string): (name: string) => string {
  return (name) => createHash('sha256').update(salt).update('\u0000').update(name).digest('hex');
}

export function createOutboundStage(o: OutboundStageOptions): SyncStage {
  const nameHash = secretNameHasher(o.salt);
  const window = o.window === false ? undefined : new OutboundWindow();
  return {
    name: 'mediation',
    run(ctx: DispatchContext) {
      const strings = outboundStrings(ctx.method, ctx.params);
      if (strings.length === 0) return undefined;
      const index = o.index();
      const found: Array<{ name: string; path: string; encoding: string; honeytoken: boolean }> = [];
      for (const [path, text] of strings) {
        for (const h of index.scan(text)) found.push({ ...h, path });
        if (o.tokenFormats !== false)
          for (const f of tokenFormatHits(text)) found.push({ name: `token_format:${f}`, encoding: 'format', honeytoken: false, path });
      }
      if (found.length === 0 && window !== undefined)
        found.push(...window.check(index, ctx.extensionId, ctx.method, ctx.params, strings, ctx.startedMs));
      if (found.length === 0) return undefined;
      const honeytoken = found.some((f) => f.honeytoken);
      logSecretEvents(
        o.log,
        { ts_ms: ctx.startedMs, extension_id: ctx.extensionId, call_id: ctx.callId, method: ctx.method },
        found.map((f) => ({ nameHash: nameHash(f.name), path: f.path, encoding: f.encoding })),
      );
      const paths = [...new Set(found.map((f) => f.path))];
      try {
        o.alerts?.raise({
          ts_ms: ctx.startedMs,
          extension_id: ctx.extensionId,
          category: 'secret_exposure',
          severity: honeytoken ? 'critical' : 'high',
          capability: ctx.capability ?? null,
          method: ctx.method,
          call_id: ctx.callId,
          summary: `${ctx.extensionId} tried to send ${found.length === 1 ? 'a secret' : `${found.length} secrets`} (${[...new Set(found.map((f) => f.encoding))].join(', ')}) in ${paths.join(', ')}${honeytoken ? ' — a planted honeytoken' : ''}`,
          reason_codes: ['secret_exposure', ...(honeytoken ? ['honeytoken'] : []), ...new Set(found.map((f) => f.encoding))],
          remediation:
            'Rotate the exposed credentials if the call got through anywhere else; kill the extension (`pi-warden trust kill`) and investigate (runbook INC-2)',
        });
      } catch {
        // the ledger entry carries the decision
      }
      addReason(ctx, 'secret_exposure');
      return decisionError('denied', `${ctx.method}: the payload contains a secret (${paths.join(', ')}); refused`, {
        reasonCodes: honeytoken ? ['secret_exposure', 'honeytoken'] : ['secret_exposure'],
      });
    },
  };
}
