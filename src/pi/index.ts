/** The bridge into pi (SPEC §3, §10): the ExtensionHost interface, the headless host and the probe. */
export { REGISTRATION_KINDS, hostOperations, type ExtensionHost, type Registration, type RegistrationKind } from './host.ts';
export { HONEYTOKEN_NAMES, HeadlessHost, type HeadlessHostOptions, type HoneytokenHit, type HostActivity } from './headlessHost.ts';
export { builtinToolDescriptions, usesBuiltinTools } from './builtinTools.ts';
export { probeExtension, type ProbeOptions, type ProbeReport } from './probe.ts';
