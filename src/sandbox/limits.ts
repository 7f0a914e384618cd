/**
 * Sandbox limits from the policy's quota settings (SPEC §7): memory cap, CPU time per entry and per window, wall time
 * per call, and the per-frame caps of TUI component calls (issue 23; named as the quota breaches they record).
 */
import type { QuotaSettings } from '../policy/index.ts';
import type { SandboxLimits } from './sandbox.ts';

export function limitsFromQuota(quota: QuotaSettings | undefined): Partial<SandboxLimits> {
  const out: { -readonly [K in keyof SandboxLimits]?: SandboxLimits[K] } = {};
  if (quota?.memoryMb !== undefined) out.memoryMb = quota.memoryMb;
  if (quota?.cpuMsPerCall !== undefined) out.cpuMsPerEntry = quota.cpuMsPerCall;
  if (quota?.wallTimeMs !== undefined) out.wallTimeMs = quota.wallTimeMs;
  if (quota?.cpuMsPerWindow !== undefined) out.cpuMsPerWindow = quota.cpuMsPerWindow;
  if (quota?.windowMs !== undefined) out.windowMs = quota.windowMs;
  if (quota?.cpuMsPerFrame !== undefined) out.frameCpuMs = quota.cpuMsPerFrame;
  if (quota?.frameHangMs !== undefined) out.frameHangMs = quota.frameHangMs;
  if (quota?.frameLines !== undefined) out.frameMaxLines = quota.frameLines;
  if (quota?.frameBytes !== undefined) out.frameMaxBytes = quota.frameBytes;
  return out;
}
