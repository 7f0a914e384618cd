/** `pi-warden export status`: where fleet export sends, what waits in the spool, the last success and the drops. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { openStore, wardenHome } from '../evidence/index.ts';
import { resolveOtlpConfig, spoolStatus, type SpoolStatus } from '../export/index.ts';
import { resolvePolicy } from '../policy/index.ts';
import { printJson, table, type Io } from './output.ts';

interface StatusOptions {
  readonly home?: string;
  readonly json?: boolean;
}

/** Store rows past the exporter's cursors: written, not yet in the spool (the exporter's queue as the store sees it). */
function pendingRows(home: string, cursors: Readonly<Record<string, number>>): number {
  const db = openStore(home, { readOnly: true });
  try {
    let n = 0;
    for (const [table, after] of Object.entries(cursors)) {
      const idColumn = table === 'alerts' ? 'seq' : 'id';
      n += (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${idColumn} > ?`).get(after) as { n: number }).n;
    }
    return n;
  } finally {
    db.close();
  }
}

function readStatus(home: string): SpoolStatus {
  const db = openStore(home, { readOnly: true });
  try {
    return spoolStatus(db);
  } finally {
    db.close();
  }
}

export function runExportStatus(io: Io, o: StatusOptions): number {
  const home = o.home ?? wardenHome();
  const policy = resolvePolicy();
  let config;
  let configError: string | null = null;
  try {
    config = resolveOtlpConfig(policy.export);
  } catch (err) {
    configError = (err as Error).message;
  }
  const spool = readStatus(home);
  const queued = pendingRows(home, spool.cursors);
  const destination =
    config === undefined
      ? null
      : {
          endpoint: config.url,
          protocol: config.protocol,
          source: config.source,
          header_names: Object.keys(config.headers),
          batch: config.batch,
        };
  if (o.json === true) {
    printJson(io, 'pi-warden.export_status.v1', {
      enabled: config !== undefined,
      destination,
      config_error: configError,
      queued,
      spool_limit_bytes: config?.spoolBytes ?? null,
      ...spool,
    });
    return 0;
  }
  const when = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());
  io.out(
    config === undefined
      ? `Fleet export: off${configError === null ? ' (no extensionPolicy.export.otlp.endpoint and no OTEL_EXPORTER_OTLP_ENDPOINT)' : ` (${configError})`}`
      : `Fleet export: ${config.protocol} to ${config.url} (from ${config.source})`,
  );
  io.out(
    table(
      ['queued', 'spooled', 'spool bytes', 'exported', 'dropped', 'last success', 'last error'],
      [
        [
          String(queued),
          String(spool.records),
          `${spool.bytes}${config === undefined ? '' : ` of ${config.spoolBytes}`}`,
          String(spool.exported),
          String(spool.dropped),
          when(spool.last_success_ms),
          spool.last_error ?? '-',
        ],
      ],
    ),
  );
  return 0;
}

export function registerExport(program: Command, io: Io, setExit: (code: number) => void): void {
  const exp = program.command('export').description('fleet export of alerts and signed checkpoints to an OpenTelemetry collector (OTLP)');
  exp
    .command('status')
    .description(
      'where export sends, records written but not yet spooled (queued), the spool (records, bytes, bound), records exported,\n' +
        'records dropped at the spool bound, the last success and the last error',
    )
    .addOption(new Option('--home <dir>', 'the evidence store directory (default: $PI_WARDEN_HOME or ~/.pi/agent/warden)'))
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runExportStatus(io, cmd.optsWithGlobals<StatusOptions>())));
}
