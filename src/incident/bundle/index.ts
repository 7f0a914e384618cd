/** Incident evidence bundles (issue 20): export from a store, verify a file, disclose one redacted field. */
export { exportBundle, type ExportOptions, type ExportResult } from './export.ts';
export { discloseField, verifyBundle, type Disclosure, type VerifyBundleOptions, type VerifyBundleResult } from './verify.ts';
export { parseFilter, parseRedaction, type BundleFilter } from './filter.ts';
export { replayBundleText } from './replay.ts';
