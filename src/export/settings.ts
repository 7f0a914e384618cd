/**
 * Where and how fleet export sends (SPEC §11): `extensionPolicy.export.otlp` from the user settings file, else the
 * standard `OTEL_EXPORTER_OTLP_*` variables (https://opentelemetry.io/docs/specs/otel/protocol/exporter/). Header
 * values may name environment variables as `${VAR}`; they are resolved here, at start, and never stored.
 */
import { WardenError } from '../errors.ts';
import type { ExportSettings } from '../policy/index.ts';

export const OTLP_PROTOCOLS = ['http/json', 'http/protobuf'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface OtlpConfig {
  /** The full logs URL (`…/v1/logs`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly protocol: OtlpProtocol;
  /** Records per export request. */
  readonly batch: number;
  /** Bytes the spool may hold before new records are dropped (counted, and an alert). */
  readonly spoolBytes: number;
  /** Where the endpoint came from, for `export status`. */
  readonly source: 'settings' | 'env';
}

export const DEFAULT_BATCH = 256;
export const DEFAULT_SPOOL_MB = 64;

type Env = Readonly<Record<string, string | undefined>>;

/** `${VAR}` → its value; a variable that is not set is an error (a header sent empty would fail in the collector's logs). */
export function expandHeader(name: string, value: string, env: Env): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v: string) => {
    const found = env[v];
    if (found === undefined)
      throw new WardenError(
        'settings_invalid',
        `extensionPolicy.export.otlp.headers.${name}: expected environment variable ${v} to be set, found it unset`,
      );
    return found;
  });
}

/** `k=v,k2=v2` as OTEL_EXPORTER_OTLP_HEADERS spells them (values URL-encoded). */
function envHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}

function logsUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/logs') ? trimmed : `${trimmed}/v1/logs`;
}

/**
 * The export configuration in force, or undefined when export is off (no endpoint in the user file or the
 * environment). Settings win over the environment field by field.
 */
export function resolveOtlpConfig(settings: ExportSettings | undefined, env: Env = process.env): OtlpConfig | undefined {
  const s = settings?.otlp;
  const envLogs = env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT?.trim();
  const envBase = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  let url: string;
  let source: OtlpConfig['source'];
  if (s?.endpoint !== undefined) {
    url = logsUrl(s.endpoint);
    source = 'settings';
  } else if (envLogs !== undefined && envLogs !== '') {
    url = envLogs;
    source = 'env';
  } else if (envBase !== undefined && envBase !== '') {
    url = logsUrl(envBase);
    source = 'env';
  } else return undefined;
  const headers: Record<string, string> = {
    ...envHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
    ...envHeaders(env.OTEL_EXPORTER_OTLP_LOGS_HEADERS),
  };
  for (const [name, value] of Object.entries(s?.headers ?? {})) headers[name] = expandHeader(name, value, env);
  const envProtocol = env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const protocol: OtlpProtocol =
    s?.protocol ?? ((OTLP_PROTOCOLS as readonly string[]).includes(envProtocol ?? '') ? (envProtocol as OtlpProtocol) : 'http/protobuf');
  return {
    url,
    headers,
    protocol,
    batch: s?.batch ?? DEFAULT_BATCH,
    spoolBytes: Math.floor((s?.spoolMb ?? DEFAULT_SPOOL_MB) * 1024 * 1024),
    source,
  };
}
