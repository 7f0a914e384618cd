/**
 * Configuration snapshots for replay (SPEC §6.4): the policy rules a decision was made under, in canonical form,
 * stored once by hash; each ledger entry carries the hash.
 */
import type { Capability, Mode, PolicyRules, Profile } from '../policy/index.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';

export interface ConfigSnapshot {
  readonly schema: 'pi-warden.config_snapshot.v1';
  readonly policy: {
    readonly profile: Profile;
    readonly mode: Mode;
    readonly default_caps: readonly Capability[];
    readonly deny_caps: readonly Capability[];
    readonly allow_dangerous: boolean;
    readonly overrides: Record<string, { allow: readonly Capability[]; deny: readonly Capability[] }>;
    readonly prompt_answers: Record<string, Record<string, 'allow' | 'deny'>>;
  };
}

export function snapshotOf(rules: PolicyRules): { hash: string; text: string } {
  const snap: ConfigSnapshot = {
    schema: 'pi-warden.config_snapshot.v1',
    policy: {
      profile: rules.profile,
      mode: rules.mode,
      default_caps: [...rules.defaultCaps].sort(),
      deny_caps: [...rules.denyCaps].sort(),
      allow_dangerous: rules.allowDangerous,
      overrides: Object.fromEntries([...rules.overrides].map(([id, o]) => [id, { allow: [...o.allow].sort(), deny: [...o.deny].sort() }])),
      prompt_answers: Object.fromEntries([...rules.promptAnswers].map(([id, a]) => [id, Object.fromEntries(a)])),
    },
  };
  const text = canonicalJson(snap);
  return { hash: sha256Hex(text), text };
}

export function rulesFromSnapshot(text: string): PolicyRules {
  const snap = JSON.parse(text) as ConfigSnapshot;
  const p = snap.policy;
  return {
    profile: p.profile,
    mode: p.mode,
    defaultCaps: p.default_caps,
    denyCaps: p.deny_caps,
    allowDangerous: p.allow_dangerous,
    overrides: new Map(Object.entries(p.overrides)),
    promptAnswers: new Map(
      Object.entries(p.prompt_answers).map(([id, a]) => [id, new Map(Object.entries(a) as Array<[Capability, 'allow' | 'deny']>)]),
    ),
  };
}
