/** Builds real stores through the real dispatcher and writer, for the evidence tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after } from 'node:test';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { loadOrCreateKey } from '../../src/evidence/keys.ts';
import { verifyStore, type VerificationReport } from '../../src/evidence/verify.ts';
import { EvidenceWriter, type EvidenceWriterOptions } from '../../src/evidence/writer.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';

const homes: string[] = [];
after(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

export function tempHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'pi-warden-store-'));
  homes.push(h);
  return h;
}

/** Writes `n` decisions (a mix of allowed reads and denied execs) through a real dispatcher into a store. */
export async function buildStore(n: number, options: EvidenceWriterOptions & { home?: string; close?: boolean } = {}): Promise<{ home: string; writer: EvidenceWriter }> {
  const home = options.home ?? tempHome();
  const writer = await EvidenceWriter.open(home, options);
  const ops = new Map<string, Operation>([['fs.read', () => 'content']]);
  const d = createDispatcher({ policy: compilePolicy(rulesFor('safe', false)), operations: ops, recorder: writer, alerts: writer });
  for (let i = 0; i < n; i++) {
    await d.dispatch(i % 3 === 0 ? 'ext-b' : 'ext-a', i % 4 === 0
      ? { call_id: `c${i}`, method: 'exec', params: { cmd: 'curl', args: ['https://x'] } }
      : { call_id: `c${i}`, method: 'fs.read', params: { path: `/project/file-${i}.ts` } });
  }
  if (options.close !== false) await writer.close();
  else await writer.flush();
  return { home, writer };
}

export function openRw(home: string): DatabaseSync {
  return new DatabaseSync(join(home, 'warden.db'));
}

export function verify(home: string): VerificationReport {
  return verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey });
}
