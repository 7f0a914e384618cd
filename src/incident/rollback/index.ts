/** The runbook's Rollback Procedures (policy, risk controller), each verified through `policy explain`. */
export { rollback, ROLLBACK_SETTINGS, ROLLBACK_TARGETS, type RollbackCheck, type RollbackResult, type RollbackTarget } from './rollback.ts';
