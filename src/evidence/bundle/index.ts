/** The incident evidence bundle (SPEC §6.7–6.8): format, redaction commitments, DSSE signature, proofs, verification. */
export {
  BUNDLE_REASONS,
  BUNDLE_SCHEMA,
  isCommitment,
  isRedactionClass,
  REDACTED_FIELDS,
  REDACTION_CLASSES,
  ROW_SECTIONS,
  SECTIONS,
  summarise,
  type BundleDocument,
  type BundleEntry,
  type BundleFailure,
  type BundleReason,
  type Commitment,
  type GapsSection,
  type LedgerSection,
  type RedactionClass,
  type RowSection,
  type SectionName,
  type Summary,
} from './format.ts';
export { commit, commitmentOf, opens, redactionKey, saltOf, type RedactionKey } from './commitments.ts';
export { signEnvelope, statementFor } from './dsse.ts';
export { consistencyProof, multiProof, type ProvableTree } from './proofs.ts';
export { bundleHashOf, verifyBundleText, type BundleVerification, type BundleVerifyOptions } from './verify.ts';
