export {
  ALERT_CATEGORIES,
  SEVERITIES,
  insertAlert,
  queryAlerts,
  severityRank,
  type Alert,
  type AlertCategory,
  type AlertInput,
  type AlertQuery,
  type AlertSink,
  type Severity,
} from './alerts.ts';
export { argsShapeHash, canonicalJson, paramsHash } from './canonical.ts';
export { type Checkpoint, type PruneRecord } from './checkpoint.ts';
export { canonicalEntryText, OPERATOR_STAGE, OUTCOME_REASON, type LedgerEntry } from './entry.ts';
export { keyIdOf, keyPath, loadOrCreateKey, type SigningKey } from './keys.ts';
export { EMPTY_ROOT, Frontier, leafHash, merkleRoot, nodeHash } from './merkle.ts';
export { isReadOnlyStore, openDatabaseReadOnly, openStore, STORE_SCHEMA_VERSION, wardenHome } from './store.ts';
export {
  onlyOtherKeySignatures,
  verifyLedger,
  verifyStore,
  type Classification,
  type VerificationError,
  type VerificationReport,
} from './verify.ts';
export { EvidenceWriter, type EvidenceWriterOptions, type FlushResult } from './writer.ts';
export type {
  BreachSink,
  DecisionRecord,
  DecisionRecorder,
  ExecLog,
  ExecLogEntry,
  QuotaBreach,
  RecordedDecision,
  SecretBrokerLog,
  SecretBrokerLogEntry,
} from './sinks.ts';
export { DB_FILE, STORE_REASONS } from './store.ts';
export { WRITER_REASONS } from './writer.ts';
export { OPERATOR_REASONS, OUTCOME_REASONS, parseEntry } from './entry.ts';
export { DEFAULT_STORE_BYTES_PER_HOUR } from './writer.ts';
export { BURST_REASONS, DEFAULT_BURSTS, SUMMARY_REASON, summarisedCount, type BurstSettings } from './bursts.ts';
export { storedEntries } from './chunks.ts';
export { rulesFromSnapshot } from './configSnapshot.ts';
// Incident evidence bundles (issue 20): their own face is evidence/bundle/index.ts, re-exported here whole.
export * from './bundle/index.ts';
