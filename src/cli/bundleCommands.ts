/** `bundle export`, `bundle verify`, `bundle disclose`: the runbook's Evidence Collection (issue 20, SPEC §6.7–6.8). */
import { existsSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { Option } from 'commander';
import { keyPath, loadOrCreateKey, REDACTION_CLASSES, wardenHome } from '../evidence/index.ts';
import { discloseField, exportBundle, verifyBundle } from '../incident/bundle/index.ts';
import { colours as pc, printJson, snakeCaseKeys, table, type Io } from './output.ts';

/** Exports smaller than this many ledger entries draw no progress bar. */
const PROGRESS_FROM = 20_000;

interface ExportFlags {
  home?: string;
  out: string;
  start?: string;
  end?: string;
  extension?: string;
  category?: string;
  minSeverity?: string;
  redact?: string;
  json?: boolean;
}

async function runExport(io: Io, o: ExportFlags): Promise<number> {
  let bar: SingleBar | undefined;
  const r = await exportBundle({
    home: o.home ?? wardenHome(),
    out: o.out,
    ...(o.start === undefined ? {} : { start: o.start }),
    ...(o.end === undefined ? {} : { end: o.end }),
    ...(o.extension === undefined ? {} : { extension: o.extension }),
    ...(o.category === undefined ? {} : { category: o.category }),
    ...(o.minSeverity === undefined ? {} : { minSeverity: o.minSeverity }),
    ...(o.redact === undefined ? {} : { redact: [o.redact] }),
    commandLine: process.argv.slice(1),
    onProgress: (done, total) => {
      if (total < PROGRESS_FROM || process.stderr.isTTY !== true) return;
      if (bar === undefined) {
        bar = new SingleBar({ stream: process.stderr, format: 'exporting ledger [{bar}] {percentage}% {value}/{total} entries' });
        bar.start(total, 0);
      }
      bar.update(done);
    },
  }).finally(() => bar?.stop());
  if (o.json === true) printJson(io, 'pi-warden.bundle_export.v1', snakeCaseKeys(r) as object);
  else {
    io.out(`Bundle written: ${r.path}`);
    io.out(`  ${r.entries} ledger entries, ${r.bytes} bytes, redaction: ${r.redaction.length === 0 ? 'none' : r.redaction.join(', ')}`);
    io.out(`  bundle_hash ${r.bundleHash}`);
    io.out(`  file sha256 ${r.fileSha256}  (record this in the chain of custody)`);
    if (r.unsignedTail !== null)
      io.out(
        `  not included: seq ${r.unsignedTail.from_seq}–${r.unsignedTail.to_seq}, written after the last signed checkpoint (listed under gaps)`,
      );
  }
  return 0;
}

async function runBundleVerify(io: Io, file: string, o: { home?: string; publicKey?: string; json?: boolean }): Promise<number> {
  const home = o.home ?? wardenHome();
  // The trusted key: --public-key, else this installation's; only without either is the file's own key used.
  const publicKey = o.publicKey ?? (existsSync(keyPath(home)) ? loadOrCreateKey(home).publicKeyPem : undefined);
  const r = await verifyBundle(file, { ...(publicKey === undefined ? {} : { publicKey }), ...(existsSync(home) ? { home } : {}) });
  if (o.json === true) printJson(io, 'pi-warden.bundle_verification.v1', r);
  else {
    io.out(`Bundle ${r.ok ? pc.green('VERIFIED') : pc.red('FAILED')}: ${file}`);
    io.out(`  bundle_hash ${String(r.bundle_hash)}   ${r.entries} ledger entries   key ${String(r.key_id)} (${String(r.key_source)})`);
    if (r.key_source === 'embedded')
      io.out(pc.yellow('  the key is the one the file carries: this proves integrity, not who made it; pass --public-key'));
    if (r.redaction.length > 0)
      io.out(
        `  redacted: ${r.redaction.join(', ')}; ${r.raw_values_checked} original value(s) from the local store searched for in the file`,
      );
    if (r.failures.length > 0)
      io.out(
        table(
          ['section', 'entry', 'reason', 'detail'],
          r.failures.slice(0, 30).map((f) => [f.section, f.entry ?? '', f.reason, f.detail]),
        ),
      );
    if (r.failures.length > 30) io.out(`  … ${r.failures.length - 30} more (use --json)`);
  }
  return r.ok ? 0 : 1;
}

function runDisclose(io: Io, file: string, o: { home?: string; section: string; entry: string; field: string; json?: boolean }): number {
  const d = discloseField({ home: o.home ?? wardenHome(), file, section: o.section, entry: o.entry, field: o.field });
  if (o.json === true) printJson(io, 'pi-warden.bundle_disclosure.v1', d);
  else {
    io.out(`${d.section} ${d.entry} ${d.field}: ${JSON.stringify(d.value)}`);
    io.out(`  salt ${d.salt}`);
    io.out(`  commitment ${d.commitment}: ${d.opens ? pc.green('opens') : pc.red('DOES NOT OPEN')} (SHA-256(salt ‖ JCS(value)))`);
    if (d.leaf_hash_matches !== null) io.out(`  the entry with this value hashes to its leaf: ${String(d.leaf_hash_matches)}`);
  }
  return d.opens && d.leaf_hash_matches !== false ? 0 : 1;
}

export function registerBundle(program: Command, io: Io, setExit: (code: number) => void): void {
  const homeOption = () => new Option('--home <dir>', 'the evidence store directory (default: $PI_WARDEN_HOME or ~/.pi/agent/warden)');
  const bundle = program
    .command('bundle')
    .description('incident evidence bundles: export, verify offline, disclose a redacted field (runbook Evidence Collection)');
  bundle
    .command('export')
    .description(
      'write a signed incident evidence bundle (pi.security.incident_evidence_bundle.v1): ledger entries with\n' +
        'inclusion proofs to a signed checkpoint, alerts, telemetry, exec and secret logs, quota breaches, trust\n' +
        'transitions, replay, policy, gaps and chain of custody. Reads the store read-only: nothing is consumed',
    )
    .addOption(homeOption())
    .requiredOption('--out <file>', 'where to write the bundle (must not exist)')
    .option('--start <time>', 'from this time (epoch ms or ISO 8601), inclusive')
    .option('--end <time>', 'until this time (epoch ms or ISO 8601), inclusive')
    .option('--extension <id>', 'only this extension')
    .option('--category <list>', 'alerts only: these categories (comma-separated)')
    .option('--min-severity <level>', 'alerts only: at least this severity')
    .option('--redact <list>', `replace fields by salted commitments: all, or some of ${REDACTION_CLASSES.join(',')}`)
    .option('--json', 'machine-readable result')
    .action(async (_o: unknown, cmd: Command) => setExit(await runExport(io, cmd.optsWithGlobals<ExportFlags>())));
  bundle
    .command('verify')
    .argument('<file>', 'the bundle')
    .description(
      'recompute everything and trust no stored flag: schema, bundle hash, DSSE signature, every entry hash,\n' +
        'inclusion proofs against checkpoint roots, checkpoint and prune signatures, consistency between\n' +
        'checkpoints, summary counts; for a redacted bundle, that no original value is in the file.\n' +
        'Exit code 0 only when everything holds',
    )
    .addOption(homeOption())
    .option('--public-key <file>', 'trusted public key (PEM) (default: the local installation key)')
    .option('--json', 'machine-readable report')
    .action(async (file: string, _o: unknown, cmd: Command) => setExit(await runBundleVerify(io, file, cmd.optsWithGlobals())));
  bundle
    .command('disclose')
    .argument('<file>', 'the bundle')
    .description("reveal one redacted field's value and salt, so anyone can open its commitment")
    .addOption(homeOption())
    .requiredOption('--section <name>', 'ledger, alerts, telemetry, exec_log or secret_broker_log')
    .requiredOption('--entry <n>', 'the ledger seq, or the row id (alerts: seq)')
    .requiredOption('--field <name>', 'the redacted field')
    .option('--json', 'machine-readable result')
    .action((file: string, _o: unknown, cmd: Command) => setExit(runDisclose(io, file, cmd.optsWithGlobals())));
}
