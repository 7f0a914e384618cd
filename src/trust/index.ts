export { TRUST_STATES, TrustRegistry, nextState, type Transition, type TransitionKind, type TrustState } from './lifecycle.ts';
export { createTrustGate, type TrustGate } from './gate.ts';
export { QUOTA_DEFAULTS, createQuotaStage, effectiveQuota, quotaLookup } from './quota.ts';
export { queryBreaches } from './breaches.ts';
export { TRUST_REASONS } from './lifecycle.ts';
export { HOSTCALL_QUOTA_REASONS } from './quota.ts';
export { TRUST_GATE_REASONS } from './gate.ts';
