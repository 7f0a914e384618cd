export { CAPABILITIES, DANGEROUS_CAPABILITIES, CAPABILITY_MEANING, isCapability, isDangerous, type Capability } from './capabilities.ts';
export {
  METHOD_TABLE,
  PACED_BY_PI,
  TOOL_NAME_CAPABILITY,
  listMethods,
  toolNameCapability,
  type MethodSpec,
  type RequiredCapability,
} from './methods.ts';
export {
  CHANNEL_SINKS,
  CHANNEL_TABLE,
  duplicateChannels,
  mapSent,
  sentStrings,
  type Channel,
  type ChannelOut,
  type ChannelSink,
  type SentString,
} from './channels.ts';
export { PROFILES, PROFILE_PRESETS, MODES, parseProfile, type Mode, type Profile } from './profiles.ts';
export {
  POLICY_REASONS,
  RULES,
  RULE_DESCRIPTIONS,
  compilePolicy,
  evaluateCapability,
  verdictFor,
  type CapabilityVerdict,
  type CompiledPolicy,
  type Decision,
  type ExtensionOverride,
  type PolicyReason,
  type PolicyRules,
  type Rule,
} from './precedence.ts';
export {
  RISK_DEFAULTS,
  agentDir,
  assertLoadAllowed,
  loadSettingsFile,
  projectSettingsPath,
  resolvePolicy,
  rulesFor,
  userSettingsPath,
  type ProfileSource,
  type ResolvedPolicy,
  type ResolveOptions,
  type RiskSettings,
  type SettingsError,
  type SettingsScope,
} from './settings.ts';
export { OS_SANDBOX_REASONS, OS_SANDBOX_REMEDY, OS_SANDBOX_SETTINGS, type OsSandboxReason, type OsSandboxSetting } from './osSandbox.ts';
export { explainNetGrant, NO_NET_GRANT, parsePortRange, type NetGrant } from './netGrants.ts';
export { explainPolicy, EXPLANATION_SCHEMA, type PolicyExplanation } from './explain.ts';
export { diffPolicies, type PolicyChange } from './diff.ts';
export {
  forgetPromptAnswers,
  readSettingsObject,
  rememberPromptAnswer,
  writeSettingsObject,
  type PromptAnswer,
  type PromptScope,
} from './promptAnswers.ts';
export {
  BASE_IN_HOME,
  CONFINED_KINDS,
  GIT_DIR_MARKERS,
  GIT_DIR_NAMES,
  GIT_PROGRAM_KEYS,
  GITDIR_FILE_PREFIX,
  GRANTED_WRITE_KINDS,
  NEVER_WRITTEN_KINDS,
  PLACE_BASES,
  PLACE_KIND_MEANING,
  PLACE_KINDS,
  PlaceWords,
  SECRET_KINDS,
  SENSITIVE_PLACES,
  XDG_DIRS,
  normaliseWord,
  type PlaceBase,
  type PlaceKind,
  type PlaceRoots,
  type Relocation,
  type SensitivePlace,
} from './places.ts';
export { CREDENTIAL_ISSUERS, isSecretEnvName, sentToIssuer, type CredentialIssuer } from './credentialIssuers.ts';
export { type RolloutSettings } from './settings.ts';
export { type ExecRule } from './profiles.ts';
export { grantedByName, liftDenial } from './precedence.ts';
export { EXEC_CLASSES, type ExecClass } from './execClasses.ts';
export { ADDRESS_CLASSES, type AddressClass, classifyAddress, classifyHost, isLoopbackName, NEVER_ALLOWED } from './addressClasses.ts';
export { type EgressRules, egressRulesLookup } from './egressSettings.ts';
export {
  type Address,
  formatAddress,
  hostListMatcher,
  inPrefix,
  isMappedIPv4,
  matchesAnyHost,
  matchHostPattern,
  parseAddress,
  type PrivateGrant,
  sameAddress,
  urlHost,
  type UrlHost,
} from './hostPatterns.ts';
export { type ExportSettings, type QuotaSettings } from './settingsSchema.ts';
export { isValidExtensionId, overrideKey } from './extensionId.ts';
