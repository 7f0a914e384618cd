export { FleetExporter, SUMMARY_KEYS, type ExportStatus, type FleetExporterOptions } from './fleetExporter.ts';
export { alertToOcsf, OCSF_CLASSES, OCSF_VERSION, type OcsfEvent } from './ocsf.ts';
export { OtlpSender, SEVERITY_NUMBERS } from './otlp.ts';
export { eventName, RECORD_KINDS, type ExportRecord, type RecordKind } from './records.ts';
export { parseRemoteCheckpoints, readRemoteCheckpoints, type RemoteCheckpoints } from './remoteCheckpoints.ts';
export { DEFAULT_BATCH, DEFAULT_SPOOL_MB, OTLP_PROTOCOLS, resolveOtlpConfig, type OtlpConfig, type OtlpProtocol } from './settings.ts';
export { EXPORT_REASONS, spoolStatus, type SpoolStatus } from './spool.ts';
