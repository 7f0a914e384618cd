/**
 * Reads checkpoints back from what the collector kept (`ledger verify --remote-checkpoints FILE`): OTLP/JSON export
 * requests as a collector's file exporter writes them (one per line, or one document), or plain checkpoint objects
 * `{tree_size, root_hash, ts_ms, key_id, signature}` (one per line, or an array). Every value is type-checked here:
 * the file comes from outside, and a checkpoint the verifier cannot use is reported, not guessed at.
 */
import { readFileSync } from 'node:fs';
import { WardenError } from '../errors.ts';
import type { Checkpoint } from '../evidence/index.ts';
import { eventName } from './records.ts';

const CHECKPOINT_EVENT = eventName('checkpoint');

export interface RemoteCheckpoints {
  readonly checkpoints: readonly Checkpoint[];
  /** Records that named a checkpoint but whose fields were missing or of the wrong type. */
  readonly malformed: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
}

function otlpScalar(v: OtlpValue | undefined): string | number | undefined {
  if (v === undefined || v === null || typeof v !== 'object') return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  return undefined;
}

function asCheckpoint(o: Record<string, unknown>): Checkpoint | undefined {
  const { tree_size, root_hash, ts_ms, key_id, signature } = o;
  if (!Number.isSafeInteger(tree_size) || !Number.isSafeInteger(ts_ms)) return undefined;
  if (typeof root_hash !== 'string' || typeof key_id !== 'string' || typeof signature !== 'string') return undefined;
  return { tree_size: tree_size as number, root_hash, ts_ms: ts_ms as number, key_id, signature };
}

/** The checkpoint log records of one OTLP/JSON ExportLogsServiceRequest. */
function fromOtlp(doc: { resourceLogs?: unknown }, out: Checkpoint[], bad: { n: number }): void {
  for (const rl of Array.isArray(doc.resourceLogs) ? doc.resourceLogs : []) {
    for (const sl of Array.isArray((rl as { scopeLogs?: unknown }).scopeLogs) ? (rl as { scopeLogs: unknown[] }).scopeLogs : []) {
      for (const lr of Array.isArray((sl as { logRecords?: unknown }).logRecords) ? (sl as { logRecords: unknown[] }).logRecords : []) {
        const rec = lr as { eventName?: string; attributes?: Array<{ key: string; value: OtlpValue }> };
        const attrs = new Map((Array.isArray(rec.attributes) ? rec.attributes : []).map((a) => [a.key, otlpScalar(a.value)]));
        if (rec.eventName !== CHECKPOINT_EVENT && attrs.get('event.name') !== CHECKPOINT_EVENT) continue;
        const c = asCheckpoint({
          tree_size: attrs.get('pi_warden.checkpoint.tree_size'),
          root_hash: attrs.get('pi_warden.checkpoint.root_hash'),
          ts_ms: attrs.get('pi_warden.checkpoint.ts_ms'),
          key_id: attrs.get('pi_warden.checkpoint.key_id'),
          signature: attrs.get('pi_warden.checkpoint.signature'),
        });
        if (c === undefined) bad.n++;
        else out.push(c);
      }
    }
  }
}

function collect(doc: unknown, out: Checkpoint[], bad: { n: number }): void {
  if (Array.isArray(doc)) {
    for (const d of doc) collect(d, out, bad);
    return;
  }
  if (doc === null || typeof doc !== 'object') return;
  if ('resourceLogs' in doc) fromOtlp(doc, out, bad);
  else if ('tree_size' in doc) {
    const c = asCheckpoint(doc);
    if (c === undefined) bad.n++;
    else out.push(c);
  }
}

export function parseRemoteCheckpoints(text: string, where: string): RemoteCheckpoints {
  const out: Checkpoint[] = [];
  const bad = { n: 0 };
  let docs: unknown[];
  try {
    docs = [JSON.parse(text) as unknown];
  } catch {
    docs = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      try {
        docs.push(JSON.parse(line) as unknown);
      } catch (err) {
        throw new WardenError(
          'usage',
          `${where}:${i + 1}: expected JSON (an OTLP/JSON export request or a checkpoint), found ${(err as Error).message}`,
          {
            where,
          },
        );
      }
    }
  }
  for (const d of docs) collect(d, out, bad);
  return { checkpoints: out, malformed: bad.n };
}

export function readRemoteCheckpoints(path: string): RemoteCheckpoints {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WardenError('usage', `--remote-checkpoints ${path}: not readable (${(err as Error).message})`, { where: path });
  }
  return parseRemoteCheckpoints(text, path);
}
