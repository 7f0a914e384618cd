/** The bridge into pi (SPEC §3, §10): the ExtensionHost interface that a live pi session or the probe's headless host implements. */
export { osSandboxAvailability, type Availability, type OsSandboxKind } from './confine/index.ts';
export { REGISTRATION_KINDS, hostOperations, type ExtensionHost, type Registration, type RegistrationKind } from './host.ts';
export { loadPiModule, PI_PACKAGE_NAMES, type PiModule } from './piModule.ts';
export { discoverExtensions, type DiscoveredExtension, type Discovery, type DiscoveryConflict } from './discover.ts';
export {
  ADOPTION_FILE,
  PIN_STATES,
  adoptionPath,
  checkPin,
  listAdopted,
  readAdoptionList,
  type AdoptedExtension,
  type AdoptionList,
  type PinState,
  type SettingsChange,
} from './adoption.ts';
export {
  ADOPT_SKIP_REASONS,
  adopt,
  adoptionBundleHash,
  install,
  isPiWarden,
  pinExtension,
  setAdoptionDisabled,
  unadopt,
  type AdoptionOptions,
  type AdoptOutcome,
  type InstallOutcome,
  type RevertResult,
  type UnadoptOutcome,
} from './adopt.ts';
export {
  EXTENSION_STATES,
  LOAD_MODES,
  STATUS_REASONS,
  status,
  type BridgeStatus,
  type ExtensionState,
  type ExtensionStatus,
  type LoadMode,
} from './status.ts';
export { EAGER_REASONS, type EagerReason } from './recording.ts';
export {
  BridgeSession,
  DEFAULT_EVENT_DEADLINE_MS,
  type BridgeExtension,
  type BridgeOptions,
  type LoadFailure,
  type SandboxedEntry,
} from './bridge.ts';
export { LiveHost, type LiveHostOptions } from './liveHost.ts';
export { inPlaceFields, registerProxies, type ProxyNotice } from './proxy.ts';
export { loadInto, showNotices } from './sessionExtensions.ts';
export { runLauncher, startPackageRoute, type LauncherOptions, type RouteOptions } from './routes.ts';
