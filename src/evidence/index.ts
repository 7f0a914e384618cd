export { ALERT_CATEGORIES, SEVERITIES, queryAlerts, severityRank, type Alert, type AlertCategory, type AlertInput, type AlertQuery, type AlertSink, type Severity } from './alerts.ts';
export { argsShapeHash, canonicalJson, paramsHash } from './canonical.ts';
export { type Checkpoint, type PruneRecord } from './checkpoint.ts';
export { canonicalEntryText, type LedgerEntry } from './entry.ts';
export { keyPath, loadOrCreateKey, type SigningKey } from './keys.ts';
export { EMPTY_ROOT, Frontier, leafHash, merkleRoot, nodeHash } from './merkle.ts';
export { openStore, STORE_SCHEMA_VERSION, wardenHome } from './store.ts';
export { verifyLedger, verifyStore, type Classification, type VerificationError, type VerificationReport } from './verify.ts';
export { EvidenceWriter, type EvidenceWriterOptions, type FlushResult } from './writer.ts';
