/**
 * `scan --policy` (SPEC §8.3): the smallest `extensionPolicy.overrides` that grants each scanned extension exactly
 * the capabilities its scan says it needs, ready to paste into settings.json.
 */
import type { Capability } from '../policy/index.ts';
import type { ExtensionReport } from './types.ts';

export interface PolicySnippet {
  extensionPolicy: { overrides: Record<string, { allow: Capability[] }> };
}

export function policySnippet(reports: readonly ExtensionReport[]): PolicySnippet {
  const overrides: Record<string, { allow: Capability[] }> = {};
  for (const r of reports) overrides[r.id] = { allow: r.capabilities.map((c) => c.capability) };
  return { extensionPolicy: { overrides } };
}
