/** `ledger verify`, `ledger replay`, `alerts`, `keys export`: the runbook's INC-3 and evidence steps. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { WardenError } from '../errors.ts';
import {
  ALERT_CATEGORIES,
  type AlertCategory,
  insertAlert,
  isReadOnlyStore,
  keyIdOf,
  keyPath,
  loadOrCreateKey,
  onlyOtherKeySignatures,
  openStore,
  queryAlerts,
  SEVERITIES,
  type Severity,
  type VerificationReport,
  verifyStore,
  wardenHome,
} from '../evidence/index.ts';
import { alertToOcsf, readRemoteCheckpoints } from '../export/index.ts';
import { replayStore } from '../replay/index.ts';
import { colours as pc, printJson, table, type Io } from './output.ts';

export interface StoreOptions {
  readonly home?: string;
  readonly json?: boolean;
}

function home(o: StoreOptions): string {
  return o.home ?? wardenHome();
}

/** The trusted key: --public-key, else the local signing key's public half. Never a key found in the store. */
function trustedKey(dir: string, publicKeyFile?: string): KeyObject {
  if (publicKeyFile !== undefined) {
    try {
      return createPublicKey(readFileSync(publicKeyFile, 'utf8'));
    } catch (err) {
      throw new WardenError('usage', `--public-key ${publicKeyFile}: not a readable public key (${(err as Error).message})`);
    }
  }
  if (!existsSync(keyPath(dir))) {
    throw new WardenError(
      'usage',
      `no signing key at ${keyPath(dir)}: pass the exported key with --public-key FILE to check checkpoint signatures`,
    );
  }
  return loadOrCreateKey(dir).publicKey;
}

/** Records the failure as a ledger_integrity alert; returns what happened, for the report. */
function raiseIntegrityAlert(dir: string, r: VerificationReport, io: Io): string {
  if (isReadOnlyStore(dir)) return 'not recorded: the store is read-only (a forensic copy is never written)';
  try {
    const db = openStore(dir);
    const severity: Severity = r.classification === 'tampering' ? 'critical' : 'high';
    insertAlert(db, {
      extension_id: '',
      category: 'ledger_integrity',
      severity,
      summary: `ledger verification: ${r.classification}, first break at seq ${String(r.first_break_seq)} (${r.verification_errors.length} error(s))`,
      reason_codes: [...new Set(r.verification_errors.map((e) => e.kind))],
      remediation:
        r.classification === 'tampering'
          ? 'Critical: preserve the store (copy the whole store folder, warden.db* and keys/, then chmod it read-only), verify the copy with `pi-warden ledger verify --home COPY --public-key KEY` using the key exported before the incident, and audit the extensions that ran (runbook INC-3)'
          : 'Preserve the store, replay up to the break (`pi-warden ledger replay --until`), investigate storage or crashes (runbook INC-3)',
    });
    db.close();
    return 'recorded as a ledger_integrity alert';
  } catch (err) {
    io.err(`warning: could not record the ledger_integrity alert: ${(err as Error).message}`);
    return `not recorded: ${(err as Error).message}`;
  }
}

export function runVerify(io: Io, o: StoreOptions & { publicKey?: string; remoteCheckpoints?: string }): number {
  const dir = home(o);
  const publicKey = trustedKey(dir, o.publicKey);
  // Checkpoints of other machines in the same dump are not this ledger's: only this key's are checked.
  const remote = o.remoteCheckpoints === undefined ? undefined : readRemoteCheckpoints(o.remoteCheckpoints);
  const ownKeyId = keyIdOf(publicKey);
  const extraCheckpoints = remote?.checkpoints.filter((c) => c.key_id === ownKeyId);
  if (remote !== undefined && (extraCheckpoints ?? []).length === 0)
    throw new WardenError(
      'usage',
      `--remote-checkpoints ${o.remoteCheckpoints}: expected checkpoints signed by key ${ownKeyId}, found ${remote.checkpoints.length} checkpoint(s) of other keys${remote.malformed > 0 ? ` and ${remote.malformed} malformed` : ''}`,
    );
  let bar: SingleBar | undefined;
  let report: VerificationReport;
  try {
    report = verifyStore(dir, {
      publicKey,
      ...(extraCheckpoints === undefined ? {} : { extraCheckpoints }),
      onProgress: (done, total) => {
        if (total <= 100_000) return;
        if (bar === undefined) {
          bar = new SingleBar({
            stream: process.stderr,
            format: 'verifying ledger [{bar}] {percentage}% {value}/{total} entries',
            noTTYOutput: true,
            notTTYSchedule: 2000,
          });
          bar.start(total, 0);
        }
        bar.update(done);
      },
    });
  } catch (err) {
    bar?.stop();
    // A store verify cannot even read is an integrity event too: record it, then report the error.
    const alert = raiseIntegrityAlert(
      dir,
      { classification: 'corruption', first_break_seq: null, verification_errors: [] } as unknown as VerificationReport,
      io,
    );
    io.err(`ledger_integrity alert ${alert}`);
    throw err;
  }
  bar?.stop();
  if (o.publicKey !== undefined && onlyOtherKeySignatures(report, publicKey)) {
    // A wrong key is an operator error, not evidence: no alert. Not "intact" either, since checkpoints re-signed
    // by another key look the same.
    throw new WardenError(
      'usage',
      `--public-key ${o.publicKey}: expected the key that signed this store's checkpoints, found a key (id ${keyIdOf(publicKey)}) that signed none of them; nothing was recorded. ` +
        'Pass the key exported from this store (`pi-warden keys export`); if you are sure this is that key, the checkpoints were re-signed: treat it as tampering (runbook INC-3)',
    );
  }
  const alert = report.classification === 'intact' ? undefined : raiseIntegrityAlert(dir, report, io);
  const remoteNote =
    remote === undefined
      ? {}
      : {
          remote_checkpoints: {
            checked: extraCheckpoints?.length ?? 0,
            other_keys: remote.checkpoints.length - (extraCheckpoints?.length ?? 0),
            malformed: remote.malformed,
          },
        };
  if (o.json === true) {
    printJson(io, 'pi-warden.ledger_verification.v1', { ...report, ...remoteNote, ...(alert === undefined ? {} : { alert }) });
  } else {
    const status = report.classification === 'intact' ? pc.green('INTACT') : pc.red(report.classification.toUpperCase());
    io.out(
      `Ledger ${status}: ${report.entries_checked} entries checked, tree size ${report.tree_size}, ${report.checkpoints_checked} signed checkpoint(s) checked`,
    );
    io.out(
      `  chain valid: ${String(report.chain_valid)}   checkpoints valid: ${String(report.checkpoints_valid)}   entries not yet under a signed checkpoint: ${report.unsigned_tail}`,
    );
    if (remote !== undefined)
      io.out(`  remote checkpoints (${o.remoteCheckpoints}): ${extraCheckpoints?.length ?? 0} of this key checked with the local ones`);
    if (report.first_break_seq !== null) {
      io.out(`  first break at seq ${report.first_break_seq}`);
      io.out(
        table(
          ['seq', 'kind', 'expected', 'actual'],
          report.verification_errors.slice(0, 20).map((e) => [String(e.seq), e.kind, e.expected, e.actual]),
        ),
      );
      if (report.verification_errors.length > 20) io.out(`  … ${report.verification_errors.length - 20} more (use --json)`);
    }
    if (alert !== undefined) io.out(`  alert: ${alert}`);
  }
  return report.classification === 'intact' ? 0 : 1;
}

export function runReplay(io: Io, o: StoreOptions & { publicKey?: string; extension?: string; until?: string }): number {
  const dir = home(o);
  const until = o.until === undefined ? undefined : Number(o.until);
  if (until !== undefined && (!Number.isSafeInteger(until) || until < 1))
    throw new WardenError('usage', `--until must be a positive sequence number, found "${o.until}"`);
  const r = replayStore(dir, { publicKey: trustedKey(dir, o.publicKey), extension: o.extension, until });
  if (o.json === true) {
    printJson(io, 'pi-warden.ledger_replay.v1', r);
  } else {
    io.out(
      `Replayed ${r.entries_replayed} entries under their recorded policy: ${r.matching} match, ${r.differences.length} differ, ${r.not_recomputable} not recomputable` +
        `${r.outcomes > 0 ? `; skipped ${r.outcomes} outcome entries (how allowed calls that then failed ended, not decisions)` : ''}.`,
    );
    io.out(
      `Verification: ${r.verification.classification}${r.untrusted.from_seq === null ? '' : `; ${r.untrusted.count} entries from seq ${r.untrusted.from_seq} are untrusted and were not replayed`}`,
    );
    if (r.unknown_reason_codes.length > 0)
      io.out(`Reason codes this version does not know (not interpreted): ${r.unknown_reason_codes.join(', ')}`);
    if (r.differences.length > 0) {
      io.out(
        table(
          ['seq', 'extension', 'method', 'recorded', 'recomputed', 'why'],
          r.differences
            .slice(0, 50)
            .map((d) => [
              String(d.seq),
              d.extension_id,
              d.method,
              `${d.recorded.decision} (${String(d.recorded.rule)})`,
              `${d.recomputed.decision} (${String(d.recomputed.rule)})`,
              d.reason,
            ]),
        ),
      );
    }
  }
  return r.differences.length === 0 && r.untrusted.count === 0 ? 0 : 1;
}

function parseTime(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new WardenError('usage', `${flag} must be epoch milliseconds or an ISO date, found "${value}"`);
  return n;
}

export function runAlerts(
  io: Io,
  o: StoreOptions & {
    since?: string;
    until?: string;
    extension?: string;
    category?: string;
    minSeverity?: string;
    limit?: string;
    format?: string;
    version?: string;
  },
): number {
  if (o.format !== undefined && o.format !== 'pi-warden' && o.format !== 'ocsf')
    throw new WardenError('usage', `--format must be pi-warden or ocsf, found "${o.format}"`);
  if (o.format === 'ocsf' && o.json !== true) throw new WardenError('usage', '--format ocsf is a JSON format: add --json');
  if (o.category !== undefined && !(ALERT_CATEGORIES as readonly string[]).includes(o.category)) {
    throw new WardenError('usage', `--category must be one of ${ALERT_CATEGORIES.join(', ')}, found "${o.category}"`);
  }
  if (o.minSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(o.minSeverity)) {
    throw new WardenError('usage', `--min-severity must be one of ${SEVERITIES.join(', ')}, found "${o.minSeverity}"`);
  }
  const limit = o.limit === undefined ? undefined : Number(o.limit);
  if (limit !== undefined && (!/^\d+$/.test(o.limit ?? '') || !Number.isSafeInteger(limit) || limit < 1))
    throw new WardenError('usage', `--limit must be a positive whole number, found "${o.limit}"`);
  const since = parseTime('--since', o.since);
  const until = parseTime('--until', o.until);
  const db = openStore(home(o), { readOnly: true });
  try {
    const alerts = queryAlerts(db, {
      since,
      until,
      extension: o.extension,
      category: o.category as AlertCategory | undefined,
      minSeverity: o.minSeverity as Severity | undefined,
      limit,
    });
    if (o.format === 'ocsf')
      printJson(io, 'pi-warden.alerts_ocsf.v1', { count: alerts.length, events: alerts.map((a) => alertToOcsf(a, o.version ?? '0.0.0')) });
    else if (o.json === true) printJson(io, 'pi-warden.alerts.v1', { count: alerts.length, alerts });
    else if (alerts.length === 0) io.out('No alerts match.');
    else
      io.out(
        table(
          ['seq', 'time', 'severity', 'category', 'extension', 'summary'],
          alerts.map((a) => [String(a.seq), new Date(a.ts_ms).toISOString(), a.severity, a.category, a.extension_id || '-', a.summary]),
        ),
      );
    return 0;
  } finally {
    db.close();
  }
}

export function runKeysExport(io: Io, o: StoreOptions): number {
  const dir = home(o);
  const key = loadOrCreateKey(dir);
  if (o.json === true)
    printJson(io, 'pi-warden.public_key.v1', {
      key_id: key.keyId,
      algorithm: 'ed25519',
      public_key_pem: key.publicKeyPem,
      private_key_path: keyPath(dir),
    });
  else io.out(`# key_id ${key.keyId} (Ed25519; private key ${keyPath(dir)}, mode 0600)\n${key.publicKeyPem}`);
  return 0;
}
