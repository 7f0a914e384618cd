/**
 * Hostcall quotas (SPEC §7.4, runbook INC-6): calls per second and per minute per extension, from
 * `extensionPolicy.quota` with `overrides.<id>.quota` on top (field by field, unlike the reference which
 * replaced the whole config). A breach refuses the call with `quota_exceeded` (never `internal`) and is
 * reported as `{extension_id, resource, limit, actual, ts_ms}`. Memory, CPU and wall time are enforced by the
 * sandbox, which reports its breaches through the same sink.
 */
import { decisionError } from '../errors.ts';
import type { Stage } from '../dispatch/index.ts';
import { PACED_BY_PI, type QuotaSettings } from '../policy/index.ts';
import type { BreachSink } from '../evidence/index.ts';

/** The rate that was exceeded, recorded after the dispatcher's `quota_exceeded`. */
export const HOSTCALL_QUOTA_REASONS = ['hostcalls_per_second', 'hostcalls_per_minute'] as const;
export type HostcallQuotaReason = (typeof HOSTCALL_QUOTA_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    hostcallQuota: HostcallQuotaReason;
  }
}

/** Defaults when settings say nothing: calibrated on pi's shipped examples and a file-reading tool in real sessions (ADR 0030). */
export const QUOTA_DEFAULTS = { memoryMb: 256, hostcallsPerSecond: 5000, hostcallsPerMinute: 60_000 } as const;

export function effectiveQuota(global: QuotaSettings, override: QuotaSettings | undefined): QuotaSettings {
  return { ...QUOTA_DEFAULTS, ...global, ...override };
}

/** Per-extension limits from the resolved settings, computed once per extension. */
export function quotaLookup(global: QuotaSettings, overrides: ReadonlyMap<string, QuotaSettings>): (extensionId: string) => QuotaSettings {
  const cache = new Map<string, QuotaSettings>();
  const base = effectiveQuota(global, undefined);
  return (id) => {
    let q = cache.get(id);
    if (q === undefined) {
      const o = overrides.get(id);
      q = o === undefined ? base : effectiveQuota(global, o);
      if (cache.size < 10_000) cache.set(id, q);
    }
    return q;
  };
}

interface Window {
  second: number;
  perSecond: number;
  minuteBuckets: Uint32Array;
  bucketSecond: Float64Array;
}

export function createQuotaStage(limits: (extensionId: string) => QuotaSettings, sink?: BreachSink): Stage {
  const windows = new Map<string, Window>();
  const breach = (extensionId: string, resource: HostcallQuotaReason, limit: number, actual: number, ts: number) => {
    try {
      sink?.recordBreach({ extension_id: extensionId, resource, limit, actual, ts_ms: ts });
    } catch {
      // the refusal stands even if the breach cannot be recorded
    }
    return decisionError('quota_exceeded', `${extensionId}: ${resource} ${actual} exceeds the limit ${limit}`, {
      reasonCodes: ['quota_exceeded', resource],
    });
  };
  return {
    name: 'quota',
    run(ctx) {
      // Paced by pi's events, not by the extension (PACED_BY_PI): counting them would refuse results of a busy turn.
      if (PACED_BY_PI.has(ctx.method)) return undefined;
      const q = limits(ctx.extensionId);
      const now = ctx.startedMs;
      const second = Math.floor(now / 1000);
      let w = windows.get(ctx.extensionId);
      if (w === undefined) {
        w = { second, perSecond: 0, minuteBuckets: new Uint32Array(60), bucketSecond: new Float64Array(60) };
        windows.set(ctx.extensionId, w);
      }
      if (w.second !== second) {
        w.second = second;
        w.perSecond = 0;
      }
      const slot = second % 60;
      if (w.bucketSecond[slot] !== second) {
        w.bucketSecond[slot] = second;
        w.minuteBuckets[slot] = 0;
      }
      let minute = 0;
      for (let i = 0; i < 60; i++) if (second - (w.bucketSecond[i] as number) < 60) minute += w.minuteBuckets[i] as number;
      const perSecondLimit = q.hostcallsPerSecond ?? QUOTA_DEFAULTS.hostcallsPerSecond;
      const perMinuteLimit = q.hostcallsPerMinute ?? QUOTA_DEFAULTS.hostcallsPerMinute;
      if (w.perSecond + 1 > perSecondLimit) return breach(ctx.extensionId, 'hostcalls_per_second', perSecondLimit, w.perSecond + 1, now);
      if (minute + 1 > perMinuteLimit) return breach(ctx.extensionId, 'hostcalls_per_minute', perMinuteLimit, minute + 1, now);
      // Refused calls do not count against the window: a flood cannot lock itself out forever.
      w.perSecond++;
      w.minuteBuckets[slot] = (w.minuteBuckets[slot] as number) + 1;
      return undefined;
    },
  };
}
