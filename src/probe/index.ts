/** The probe (SPEC §10, runbook INC-4): one extension in the sandbox against a simulated session with honeytokens. */
export { HONEYTOKEN_NAMES, newDisguise, type SessionDisguise } from './disguise.ts';
export { HeadlessHost, type HeadlessHostOptions, type HoneytokenHit, type HostActivity } from './headlessHost.ts';
export { builtinToolDescriptions, usesBuiltinTools } from './builtinTools.ts';
export { probeExtension, type ProbeOptions, type ProbeReport } from './probe.ts';
