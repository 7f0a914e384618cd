/**
 * The OS sandbox of child processes (SPEC §5.4, docs/adr/0028-os-sandbox.md): the user setting that can turn it off,
 * the reason a refusal records, and how to make it available. The confinement itself is src/pi/confine.
 */

/** `extensionPolicy.exec.osSandbox` in the user settings file: `on` (the default) or `off`. */
export const OS_SANDBOX_SETTINGS = ['on', 'off'] as const;
export type OsSandboxSetting = (typeof OS_SANDBOX_SETTINGS)[number];

/** Recorded when exec is refused because no OS sandbox can confine the child. */
export const OS_SANDBOX_REASONS = ['os_sandbox_unavailable'] as const;
export type OsSandboxReason = (typeof OS_SANDBOX_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    osSandbox: OsSandboxReason;
  }
}

/** What the user can do when bubblewrap cannot run here. */
export const OS_SANDBOX_REMEDY =
  'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) and allow unprivileged user ' +
  'namespaces (sysctl -w kernel.unprivileged_userns_clone=1; on Ubuntu 23.10+ also sysctl -w ' +
  'kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), or, to run children without it, set ' +
  'extensionPolicy.exec.osSandbox: "off" in your user settings';
