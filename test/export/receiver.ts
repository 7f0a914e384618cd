/**
 * A local OTLP/HTTP logs receiver for the export tests: listens on 127.0.0.1, decodes OTLP/JSON export requests
 * (the proto3 JSON mapping of opentelemetry/proto/collector/logs/v1 ExportLogsServiceRequest) and keeps every log
 * record and every raw request body. It can be stopped (connections cut) and started again on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FleetExporterOptions, OtlpConfig } from '../../src/export/index.ts';

export function otlpConfig(url: string, over: Partial<OtlpConfig> = {}): OtlpConfig {
  return { url, headers: {}, protocol: 'http/json', batch: 50, spoolBytes: 4 * 1024 * 1024, source: 'settings', ...over };
}

/** Fast timings so a test's outage and recovery take milliseconds, not the production seconds. */
export const FAST: Partial<FleetExporterOptions> = { pollMs: 20, retryMinMs: 20, retryMaxMs: 200, requestTimeoutMs: 2000 };

export interface ReceivedRecord {
  readonly eventName: string | undefined;
  readonly severityNumber: number | undefined;
  readonly severityText: string | undefined;
  readonly body: string | undefined;
  readonly attributes: ReadonlyMap<string, unknown>;
  readonly resource: ReadonlyMap<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}

function value(v: AnyValue | undefined): unknown {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

type KeyValues = Array<{ key: string; value: AnyValue }> | undefined;
const toMap = (kv: KeyValues) => new Map((kv ?? []).map((a) => [a.key, value(a.value)]));

export class OtlpReceiver {
  readonly records: ReceivedRecord[] = [];
  /** Raw request bodies, as they arrived (for canary scans). */
  readonly bodies: string[] = [];
  /** The decoded requests, as a collector's file exporter would write them (one JSON document each). */
  readonly requests: unknown[] = [];
  /** Answer this status instead of 200 while set (e.g. 503). */
  failWith: number | undefined;
  #server: Server | undefined;
  #port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.#port}/v1/logs`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.failWith !== undefined) {
        res.writeHead(this.failWith).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      this.bodies.push(text);
      if (req.url !== '/v1/logs' || !(req.headers['content-type'] ?? '').includes('application/json')) {
        res.writeHead(415).end();
        return;
      }
      const doc = JSON.parse(text) as {
        resourceLogs?: Array<{
          resource?: { attributes?: KeyValues };
          scopeLogs?: Array<{
            logRecords?: Array<{
              eventName?: string;
              severityNumber?: number;
              severityText?: string;
              body?: AnyValue;
              attributes?: KeyValues;
            }>;
          }>;
        }>;
      };
      this.requests.push(doc);
      for (const rl of doc.resourceLogs ?? []) {
        const resource = toMap(rl.resource?.attributes);
        for (const sl of rl.scopeLogs ?? [])
          for (const lr of sl.logRecords ?? [])
            this.records.push({
              eventName: lr.eventName,
              severityNumber: lr.severityNumber,
              severityText: lr.severityText,
              body: value(lr.body) as string | undefined,
              attributes: toMap(lr.attributes),
              resource,
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }

  /** Received records of one event name. */
  of(event: string): ReceivedRecord[] {
    return this.records.filter((r) => r.eventName === event);
  }
}

/** Polls `done` every 20 ms until it holds or `limitMs` passes; returns whether it held (never asserts time). */
export async function waitFor(done: () => boolean, limitMs = 20_000): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
