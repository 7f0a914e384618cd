/**
 * Net mediation (ADR 0038): `net.connect` passes only with `net` granted to the extension by name (its override's
 * allow list or a remembered answer; a profile or the mode alone is not a grant) and a target its grant reaches
 * (target.ts). The refusal comes before any socket exists. A refusal other than a malformed call raises a
 * `policy_violation` alert: a sandboxed extension reaching for an agent socket or another host is worth a look.
 */
import { addReason, type DispatchContext, type StageOutcome, type SyncStage } from '../../dispatch/index.ts';
import type { WardenError } from '../../errors.ts';
import { decisionError } from '../../errors.ts';
import type { AlertSink } from '../../evidence/index.ts';
import { grantedByName, NO_NET_GRANT, type CompiledPolicy, type NetGrant } from '../../policy/index.ts';
import type { FsScope } from '../fs/scope.ts';
import { checkNetTarget, parseNetTarget, type NetRefusal } from './target.ts';

export interface NetStageOptions {
  readonly policy: CompiledPolicy;
  readonly grants: ReadonlyMap<string, NetGrant>;
  readonly scope: FsScope;
  readonly alerts?: AlertSink | undefined;
}

/** The error of a refusal, with its reason codes (`net` and the specific one). */
export function netError(refusal: NetRefusal, where?: string): WardenError {
  const code =
    refusal.reason === 'net_target_invalid' ? 'invalid_request' : refusal.reason === 'net_socket_limit' ? 'quota_exceeded' : 'denied';
  return decisionError(code, `net.connect: ${refusal.detail}`, {
    reasonCodes: ['net', refusal.reason],
    ...(where === undefined ? {} : { where }),
  });
}

export function createNetStage(o: NetStageOptions): SyncStage {
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      if (ctx.method !== 'net.connect') return undefined;
      let refusal: NetRefusal | undefined;
      let where: string | undefined;
      if (!grantedByName(o.policy, 'net', ctx.extensionId)) {
        refusal = {
          reason: 'net_not_granted',
          detail: `expected net granted to ${ctx.extensionId} by name (extensionPolicy.overrides.${ctx.extensionId}.allow), found it allowed only by the profile or mode`,
        };
      } else {
        const parsed = parseNetTarget(ctx.params, o.scope);
        if (!parsed.ok) refusal = parsed.refusal;
        else {
          const t = parsed.target;
          where = t.kind === 'unix' ? t.path : `${t.host}:${t.port}`;
          refusal = checkNetTarget(t, o.grants.get(ctx.extensionId) ?? NO_NET_GRANT, o.scope, ctx.extensionId);
        }
      }
      if (refusal === undefined) return undefined;
      const error = netError(refusal, where);
      for (const c of error.reasonCodes) addReason(ctx, c);
      if (error.code === 'denied') alertRefusal(o.alerts, ctx, error);
      return error;
    },
  };
}

function alertRefusal(alerts: AlertSink | undefined, ctx: DispatchContext, error: WardenError): void {
  try {
    alerts?.raise({
      ts_ms: ctx.startedMs,
      extension_id: ctx.extensionId,
      category: 'policy_violation',
      severity: error.reasonCodes.includes('net_sensitive_path') || error.reasonCodes.includes('net_warden_private') ? 'high' : 'medium',
      capability: 'net',
      method: ctx.method,
      call_id: ctx.callId,
      summary: `${ctx.extensionId}: ${error.message}`.slice(0, 500),
      reason_codes: error.reasonCodes,
      remediation: `If the extension needs this socket, name it in extensionPolicy.overrides.${ctx.extensionId}.net (unix paths or tcpPorts) of the user settings`,
    });
  } catch {
    // the refusal stands either way
  }
}
