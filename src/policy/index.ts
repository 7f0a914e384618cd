export { CAPABILITIES, DANGEROUS_CAPABILITIES, CAPABILITY_MEANING, isCapability, isDangerous, type Capability } from './capabilities.ts';
export { METHOD_TABLE, TOOL_NAME_CAPABILITY, listMethods, toolNameCapability, type MethodSpec, type RequiredCapability } from './methods.ts';
export { PROFILES, PROFILE_PRESETS, MODES, parseProfile, type Mode, type Profile } from './profiles.ts';
export {
  POLICY_REASONS, RULES, RULE_DESCRIPTIONS, compilePolicy, evaluateCapability, verdictFor,
  type CapabilityVerdict, type CompiledPolicy, type Decision, type ExtensionOverride, type PolicyReason, type PolicyRules, type Rule,
} from './precedence.ts';
export {
  RISK_DEFAULTS, agentDir, loadSettingsFile, projectSettingsPath, resolvePolicy, rulesFor, userSettingsPath,
  type ProfileSource, type ResolvedPolicy, type ResolveOptions, type RiskSettings, type SettingsError,
} from './settings.ts';
export { explainPolicy, EXPLANATION_SCHEMA, type PolicyExplanation } from './explain.ts';
export { diffPolicies, type PolicyChange } from './diff.ts';
export { forgetPromptAnswers, rememberPromptAnswer, type PromptAnswer, type PromptScope } from './promptAnswers.ts';
export {
  BASE_IN_HOME, CONFINED_KINDS, NEVER_WRITTEN_KINDS, PLACE_BASES, PLACE_KIND_MEANING, PLACE_KINDS, PlaceWords, SECRET_KINDS, SENSITIVE_PLACES, XDG_DIRS,
  normaliseWord, type PlaceBase, type PlaceKind, type PlaceRoots, type Relocation, type SensitivePlace,
} from './places.ts';
