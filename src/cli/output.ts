/** Output helpers shared by CLI commands: JSON, tables, colours (decided per call: a terminal, NO_COLOR, FORCE_COLOR). */
import { stripVTControlCharacters } from 'node:util';
import Table from 'cli-table3';
import pc from 'picocolors';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/**
 * What each command's `--json` output is, named in its `schema` field (closed: a new output shape gets a new name
 * here, and the every-command test checks that each output carries one of these).
 */
export const JSON_SCHEMAS = [
  'pi-warden.policy_explanation.v1',
  'pi-warden.policy_diff.v1',
  'pi-warden.policy_forget.v1',
  'pi-warden.ledger_verification.v1',
  'pi-warden.ledger_replay.v1',
  'pi-warden.alerts.v1',
  'pi-warden.alerts_ocsf.v1',
  'pi-warden.export_status.v1',
  'pi-warden.public_key.v1',
  'pi-warden.trust_transition.v1',
  'pi-warden.trust_status.v1',
  'pi-warden.rollout.v1',
  'pi-warden.quota_breaches.v1',
  'pi-warden.secrets_classification.v1',
  'pi-warden.fs_check.v1',
  'pi-warden.scan.v1',
  'pi-warden.probe.v1',
  'pi-warden.adopt.v1',
  'pi-warden.unadopt.v1',
  'pi-warden.adoption_switch.v1',
  'pi-warden.bridge_status.v1',
  'pi-warden.install.v1',
  'pi-warden.incident_report.v1',
  'pi-warden.incident.v1',
  'pi-warden.incident_list.v1',
  'pi-warden.drill.v1',
  'pi-warden.rollback.v1',
  'pi-warden.bundle_export.v1',
  'pi-warden.bundle_verification.v1',
  'pi-warden.bundle_disclosure.v1',
  'pi-warden.error.v1',
] as const;
export type JsonSchema = (typeof JSON_SCHEMAS)[number];

/** Prints one JSON document with `schema` first; a value that names its own schema (a library report) keeps it. */
export function printJson(io: Io, schema: JsonSchema, value: object): void {
  const { schema: own, ...rest } = value as { schema?: unknown };
  io.out(JSON.stringify({ schema: own ?? schema, ...rest }, null, 2));
}

/**
 * Field names as the JSON outputs spell them: `camelCase` becomes `snake_case`. For reports built outside the CLI
 * in camelCase (the probe's); names that are data, not fields (`GITHUB_TOKEN`, `a-b`), are left as they are.
 */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k,
      snakeCaseKeys(v),
    ]),
  );
}

/** An error as JSON (with `--json`): `{schema, error: {code, message}}`. */
export function printJsonError(io: Io, code: string, message: string): void {
  printJson(io, 'pi-warden.error.v1', { error: { code, message } });
}

/** Terminal width for wrapping; 120 when not a terminal so piped output stays stable. */
export function terminalWidth(): number {
  return Math.max(60, process.stdout.isTTY ? (process.stdout.columns ?? 120) : 120);
}

/** A bordered table whose last column wraps to fit the terminal. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))) + 2);
  const fixed = widths.slice(0, -1).reduce((a, b) => a + b, 0) + head.length + 1;
  const last = Math.max(20, terminalWidth() - fixed);
  widths[widths.length - 1] = Math.min(widths[widths.length - 1] ?? last, last);
  const t = new Table({ head: head.map((h) => colours.bold(h)), style: { head: [], border: [] }, wordWrap: true, colWidths: widths });
  t.push(...rows);
  return t.toString();
}

function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}

export function colourDecision(decision: string): string {
  if (decision.startsWith('allow')) return colours.green(decision);
  if (decision.startsWith('deny')) return colours.red(decision);
  if (decision.startsWith('prompt')) return colours.yellow(decision);
  return decision;
}

/**
 * Whether to colour output, asked on every call rather than once at import (picocolors decides at import and turns
 * colour on whenever `CI` is set, so output captured in CI carried escape codes): `NO_COLOR` (non-empty) turns it off,
 * `FORCE_COLOR` turns it on (`0` or `false` off), otherwise only when standard output is a terminal that is not `dumb`.
 */
export function colourEnabled(env: NodeJS.ProcessEnv = process.env, stdoutIsTty = process.stdout.isTTY === true): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stdoutIsTty && env.TERM !== 'dumb';
}

const COLOURED = pc.createColors(true);
const PLAIN = pc.createColors(false);
type Style = (text: string | number) => string;
const style =
  (name: 'bold' | 'dim' | 'green' | 'red' | 'yellow'): Style =>
  (text) =>
    (colourEnabled() ? COLOURED : PLAIN)[name](text);

/** The styles the commands use. */
export const colours = { bold: style('bold'), dim: style('dim'), green: style('green'), red: style('red'), yellow: style('yellow') };
