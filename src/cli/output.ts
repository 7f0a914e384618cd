/** Output helpers shared by CLI commands: JSON, tables, colours (picocolors honours NO_COLOR and non-TTY). */
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

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
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
  const t = new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [] }, wordWrap: true, colWidths: widths });
  t.push(...rows);
  return t.toString();
}

function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}

export function colourDecision(decision: string): string {
  if (decision.startsWith('allow')) return pc.green(decision);
  if (decision.startsWith('deny')) return pc.red(decision);
  if (decision.startsWith('prompt')) return pc.yellow(decision);
  return decision;
}

export const colours = pc;
