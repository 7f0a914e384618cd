/** The bridge into pi (SPEC §3, §10): the ExtensionHost interface that a live pi session or the probe's headless host implements. */
export { REGISTRATION_KINDS, hostOperations, type ExtensionHost, type Registration, type RegistrationKind } from './host.ts';
