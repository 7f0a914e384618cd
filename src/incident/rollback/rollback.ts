/**
 * The runbook's Rollback Procedures: `rollback policy` writes "extensionPolicy": {"profile": "safe",
 * "allowDangerous": false} and `rollback risk` writes the runbook's "extensionRisk" values, each into the user
 * settings file (keeping every other key), after copying the file to a backup, and then checks through `policy
 * explain` (the same resolution every pi-warden process makes) that the rolled-back values are in force. They may
 * not be: a project settings file or `PI_EXTENSION_POLICY` beats the user file; the check then fails and names the
 * source that won.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { WardenError } from '../../errors.ts';
import { explainPolicy, readSettingsObject, resolvePolicy, writeSettingsObject, type PolicyExplanation } from '../../policy/index.ts';

export const ROLLBACK_TARGETS = ['policy', 'risk'] as const;
export type RollbackTarget = (typeof ROLLBACK_TARGETS)[number];

/** The runbook's JSON, exactly: the settings key and the values it sets. */
export const ROLLBACK_SETTINGS = {
  policy: { key: 'extensionPolicy', values: { profile: 'safe', allowDangerous: false } },
  risk: { key: 'extensionRisk', values: { enabled: false, enforce: true, alpha: 0.01, windowSize: 128, failClosed: true } },
} as const satisfies Record<RollbackTarget, { key: string; values: Record<string, unknown> }>;

export interface RollbackCheck {
  readonly setting: string;
  readonly expected: unknown;
  readonly found: unknown;
  readonly ok: boolean;
}

export interface RollbackResult {
  readonly target: RollbackTarget;
  readonly settings: string;
  /** The copy of the file as it was, or null when there was no file. */
  readonly backup: string | null;
  readonly written: Record<string, unknown>;
  /** What `policy explain` shows after the write, setting by setting. */
  readonly checks: readonly RollbackCheck[];
  readonly verified: boolean;
  /** Where the effective profile came from (a project file or the environment may beat the user file). */
  readonly profile_source: string;
}

export interface RollbackOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** For the backup's name (default Date.now). */
  readonly now?: number;
}

/** What `policy explain` must show once the target is rolled back. */
function checksOf(target: RollbackTarget, e: PolicyExplanation): RollbackCheck[] {
  const check = (setting: string, expected: unknown, found: unknown): RollbackCheck => ({
    setting,
    expected,
    found,
    ok: expected === found,
  });
  if (target === 'policy') return [check('profile', 'safe', e.profile), check('allow_dangerous', false, e.allow_dangerous)];
  const r = e.risk;
  return [
    check('risk.enabled', false, r.enabled),
    check('risk.enforce', true, r.enforce),
    check('risk.alpha', 0.01, r.alpha),
    check('risk.window_size', 128, r.window_size),
    check('risk.fail_closed', true, r.fail_closed),
  ];
}

export function rollback(target: RollbackTarget, o: RollbackOptions = {}): RollbackResult {
  if (!(ROLLBACK_TARGETS as readonly string[]).includes(target))
    throw new WardenError('usage', `rollback target must be one of ${ROLLBACK_TARGETS.join(', ')}, found "${String(target)}"`);
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const path = resolvePolicy({ env, cwd }).userSettingsPath;
  // Read (and refuse a file it cannot rewrite safely) before anything is copied or written.
  const root = readSettingsObject(path);
  let backup: string | null = null;
  if (existsSync(path)) {
    backup = `${path}.${new Date(o.now ?? Date.now()).toISOString().replace(/[:.]/g, '-')}.rollback-${target}.bak`;
    copyFileSync(path, backup);
  }
  const { key, values } = ROLLBACK_SETTINGS[target];
  const existing = root[key];
  const section =
    existing !== null && typeof existing === 'object' && !Array.isArray(existing) ? (existing as Record<string, unknown>) : {};
  root[key] = { ...section, ...values };
  writeSettingsObject(path, root);
  const resolved = resolvePolicy({ env, cwd });
  const checks = checksOf(target, explainPolicy(resolved));
  return {
    target,
    settings: path,
    backup,
    written: { [key]: values },
    checks,
    verified: resolved.errors.length === 0 && checks.every((c) => c.ok),
    profile_source: resolved.profileSource,
  };
}
