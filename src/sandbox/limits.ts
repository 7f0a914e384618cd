/** Sandbox limits from the policy's quota settings (SPEC §7): memory cap, CPU time per entry and per window, wall time per call. */
import type { QuotaSettings } from '../policy/index.ts';
import type { SandboxLimits } from './sandbox.ts';

export function limitsFromQuota(quota: QuotaSettings | undefined): Partial<SandboxLimits> {
  const out: { -readonly [K in keyof SandboxLimits]?: SandboxLimits[K] } = {};
  if (quota?.memoryMb !== undefined) out.memoryMb = quota.memoryMb;
  if (quota?.cpuMsPerCall !== undefined) out.cpuMsPerEntry = quota.cpuMsPerCall;
  if (quota?.wallTimeMs !== undefined) out.wallTimeMs = quota.wallTimeMs;
  if (quota?.cpuMsPerWindow !== undefined) out.cpuMsPerWindow = quota.cpuMsPerWindow;
  if (quota?.windowMs !== undefined) out.windowMs = quota.windowMs;
  return out;
}
