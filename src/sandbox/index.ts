/** The sandbox runtime (issue 5): one QuickJS-WASM instance per extension, pi API and Node shims as hostcalls. */
export { bundleEntry, bundleExtension, clearBundleCache, type BundleFormat, type BundleOptions, type ExtensionBundle } from './bundle.ts';
export { BUNDLE_LIMITS, loadRefusalAlert, type BundleLimits } from './loadBoundary.ts';
export {
  COMMAND_CONTEXT_MEMBERS,
  CONTEXT_MEMBERS,
  DENIED_NODE_MODULES,
  HOST_PACKAGES,
  LEGACY_EVENTS,
  MODEL_REGISTRY_MEMBERS,
  NATIVE_PROVIDER_FUNCTIONS,
  NODE_MODULES,
  PI_ACTIONS,
  PI_EVENTS,
  REGISTRATIONS,
  UNREGISTRATIONS,
  SESSION_MANAGER_MEMBERS,
  UI_MEMBERS,
  legacyEventsFor,
} from './contract.ts';
export {
  DEFAULT_LIMITS,
  Sandbox,
  type BootInfo,
  type BuiltinToolDescription,
  type EventOutcome,
  type HandlerOutcome,
  type HandlerRun,
  type InvocationContext,
  type SandboxEvent,
  type SandboxLimits,
  type SandboxOptions,
  type Settled,
  type ComponentAnswer,
  type ComponentCall,
  type ComponentSignal,
} from './sandbox.ts';
export { hostBoot } from './boot.ts';
export { SealedCache } from './bundleCache.ts';
export { limitsFromQuota } from './limits.ts';
export { BUNDLE_REASONS } from './bundle.ts';
export { SANDBOX_REASONS } from './sandbox.ts';
