/**
 * Sends spooled records as OpenTelemetry log records over OTLP/HTTP with the OpenTelemetry JS SDK
 * (docs/adr/0035-fleet-export.md): a LoggerProvider whose batch processor takes `{ exporter }`. The SDK's
 * processor swallows export failures (forceFlush resolves either way), so the exporter is wrapped to remember
 * the outcome: a batch leaves the spool only when the collector said it took it.
 */
import { hostname } from 'node:os';
import { SeverityNumber, type Logger } from '@opentelemetry/api';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Severity } from '../evidence/index.ts';
import { eventName, type ExportRecord } from './records.ts';
import type { OtlpConfig } from './settings.ts';

/** pi-warden severities on the OTel scale (Logs data model, "Field: SeverityNumber"). */
export const SEVERITY_NUMBERS: Readonly<Record<Severity, SeverityNumber>> = {
  info: SeverityNumber.INFO,
  low: SeverityNumber.INFO2,
  medium: SeverityNumber.WARN,
  high: SeverityNumber.ERROR,
  critical: SeverityNumber.FATAL,
};

interface ExportOutcome {
  code: number;
  error?: Error;
}

/** Delegates to the OTLP exporter and keeps the outcome of each export for the caller to read. */
class OutcomeTap implements LogRecordExporter {
  readonly #inner: LogRecordExporter;
  outcomes: ExportOutcome[] = [];
  constructor(inner: LogRecordExporter) {
    this.#inner = inner;
  }
  export(logs: ReadableLogRecord[], done: (result: ExportOutcome) => void): void {
    this.#inner.export(logs, (result) => {
      this.outcomes.push(result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

export interface OtlpSenderOptions {
  /** How long one export request may take (the SDK retries retryable answers within it). */
  readonly timeoutMs?: number;
  /** Resource attributes naming this machine's store (its checkpoint key id). */
  readonly resource?: Readonly<Record<string, string>>;
}

export class OtlpSender {
  readonly #provider: LoggerProvider;
  readonly #logger: Logger;
  readonly #tap: OutcomeTap;
  readonly #batch: number;

  constructor(config: OtlpConfig, options: OtlpSenderOptions = {}) {
    const timeoutMillis = options.timeoutMs ?? 10_000;
    const exporterConfig = { url: config.url, headers: { ...config.headers }, timeoutMillis };
    const inner = config.protocol === 'http/json' ? new JsonLogExporter(exporterConfig) : new ProtobufLogExporter(exporterConfig);
    this.#tap = new OutcomeTap(inner);
    this.#batch = config.batch;
    this.#provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'pi-warden', 'host.name': hostname(), ...options.resource }),
      processors: [
        new BatchLogRecordProcessor({
          exporter: this.#tap,
          maxExportBatchSize: config.batch,
          maxQueueSize: Math.max(2048, config.batch),
          // Only forceFlush sends: the flusher decides when, and learns the outcome.
          scheduledDelayMillis: 2 ** 30,
          exportTimeoutMillis: timeoutMillis + 1000,
        }),
      ],
    });
    this.#logger = this.#provider.getLogger('pi-warden');
  }

  get batchSize(): number {
    return this.#batch;
  }

  /** Sends one batch; resolves undefined when the collector took all of it, else the reason it did not. */
  async send(records: ReadonlyArray<{ seq: number; record: ExportRecord }>): Promise<string | undefined> {
    this.#tap.outcomes = [];
    for (const { seq, record } of records) {
      this.#logger.emit({
        eventName: eventName(record.kind),
        timestamp: record.ts_ms,
        severityNumber: SEVERITY_NUMBERS[record.severity],
        severityText: record.severity,
        body: record.body,
        attributes: { 'event.name': eventName(record.kind), 'pi_warden.export.seq': seq, ...record.attributes },
      });
    }
    await this.#provider.forceFlush();
    const outcomes = this.#tap.outcomes;
    if (outcomes.length === 0) return 'the SDK made no export request';
    const failed = outcomes.find((o) => o.code !== 0);
    return failed === undefined ? undefined : (failed.error?.message ?? 'export failed');
  }

  async shutdown(): Promise<void> {
    await this.#provider.shutdown().catch(() => undefined);
  }
}
