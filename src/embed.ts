/**
 * `pi-warden/runtime`: the pieces the bridge is built from, for programs that embed pi-warden (SPEC §10, issue 14
 * item 8). `createRuntime` assembles the pipeline over one evidence store; `Sandbox` runs one extension entry;
 * `bundleEntry` and `locateExtensions` prepare what it runs; `scanBeforeLoad` is the load gate every load path passes;
 * `hostOperations` turns an `ExtensionHost` into the dispatcher's operations. The bridge itself is
 * `pi-warden/bridge` (src/pi/index.ts).
 */
export { createRuntime, type RuntimeOptions, type WardenRuntime } from './runtime/createRuntime.ts';
export {
  Sandbox,
  DEFAULT_LIMITS,
  bundleEntry,
  hostBoot,
  limitsFromQuota,
  type BootInfo,
  type ExtensionBundle,
  type InvocationContext,
  type SandboxLimits,
  type SandboxOptions,
  type Settled,
} from './sandbox/index.ts';
export { locateExtensions, type LocatedExtension } from './extensions/index.ts';
export { scanBeforeLoad, ScanVerdictCache } from './scanner/index.ts';
export { hostOperations, type ExtensionHost, type Registration } from './pi/index.ts';
export { resolvePolicy, type ResolvedPolicy } from './policy/index.ts';
export { wardenHome } from './evidence/index.ts';
