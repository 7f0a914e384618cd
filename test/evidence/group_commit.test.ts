/**
 * The group commit (writer.ts `#schedule`): records wait at most `groupCommitMs` before the writer thread commits
 * them, with no flush asked for; batch after batch (the one timer is re-armed), also after a batch that was sent
 * early by a flush.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { allowedRead, tempHome, verify } from './fixtures.ts';

/** Entries committed to the store as a reader sees it, polled until `n` are there (a watchdog ends a wait that never does). */
async function committed(home: string, n: number): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const seen = verify(home).entries_checked;
    if (seen >= n) return seen;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`expected ${n} entries to be committed without a flush, found ${verify(home).entries_checked}`);
}

describe('group commit', () => {
  it('commits waiting records on its own, batch after batch, and after a batch a flush sent early', async () => {
    const home = tempHome();
    const writer = await EvidenceWriter.open(home, { groupCommitMs: 5 });
    try {
      writer.record(allowedRead(1));
      assert.equal(await committed(home, 1), 1);
      writer.record(allowedRead(2));
      writer.record(allowedRead(3));
      assert.equal(await committed(home, 3), 3);
      writer.record(allowedRead(4));
      await writer.flush();
      writer.record(allowedRead(5));
      assert.equal(await committed(home, 5), 5);
    } finally {
      await writer.close();
    }
  });
});
