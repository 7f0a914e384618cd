/** One tamper test per detection (issue: evidence, item 3), each asserting classification and first_break_seq. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkpointText } from '../../src/evidence/checkpoint.ts';
import { leafHash } from '../../src/evidence/merkle.ts';
import {
  buildStore,
  editAsRows,
  editStore,
  openRw,
  readChunks,
  verify,
  verifyInParallel,
  verifyOneThread,
  writeChunk,
  type StoredChunk,
} from './fixtures.ts';

async function tampered(n: number, mutate: (db: ReturnType<typeof openRw>) => void, opts: { checkpointEvery?: number } = {}) {
  const { home } = await buildStore(n, opts);
  editStore(home, mutate);
  return bothWays(home);
}

/** The report, checked to be the same whether the helper thread scans or this one does. */
function bothWays(home: string) {
  const one = verifyOneThread(home);
  assert.deepEqual(verifyInParallel(home), one, 'the helper thread gives the same report');
  return one;
}

describe('ledger verify', () => {
  it('an untouched ledger is intact, with every checkpoint checked', async () => {
    const { home } = await buildStore(50, { checkpointEvery: 16 });
    const r = verify(home);
    assert.equal(r.classification, 'intact');
    assert.equal(r.first_break_seq, null);
    assert.equal(r.entries_checked, 50);
    assert.equal(r.chain_valid, true);
    assert.equal(r.checkpoints_valid, true);
    assert.ok(r.checkpoints_checked >= 4);
    assert.equal(r.unsigned_tail, 0);
  });

  it('modified field: content changed, hash left alone → corruption at that seq', async () => {
    const r = await tampered(30, (db) => {
      const changed = db
        .prepare(
          `UPDATE ledger SET entry = replace(entry, '"decision":"deny"', '"decision":"allow"') WHERE seq = 9 AND entry LIKE '%"decision":"deny"%'`,
        )
        .run();
      assert.equal(changed.changes, 1);
    });
    assert.equal(r.classification, 'corruption');
    assert.equal(r.first_break_seq, 9);
    assert.deepEqual(
      r.verification_errors.map((e) => e.kind),
      ['hash_mismatch'],
    );
  });

  it('modified hash: the stored hash rewritten → tampering at that seq', async () => {
    const r = await tampered(30, (db) => db.exec(`UPDATE ledger SET ledger_hash = '${'ab'.repeat(32)}' WHERE seq = 12`));
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 12);
  });

  it('modified field with its hash recomputed: linkage and checkpoint break → tampering', async () => {
    const r = await tampered(30, (db) => {
      const row = db.prepare('SELECT entry FROM ledger WHERE seq = 9').get() as { entry: string };
      const entry = row.entry.replace('"decision":"deny"', '"decision":"allow"');
      assert.notEqual(entry, row.entry);
      db.prepare('UPDATE ledger SET entry = ?, ledger_hash = ? WHERE seq = 9').run(entry, leafHash(entry));
    });
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 10);
    assert.ok(r.verification_errors.some((e) => e.kind === 'prev_mismatch' && e.seq === 10));
    assert.ok(r.verification_errors.some((e) => e.kind === 'checkpoint_mismatch'));
  });

  it('deleted entry → tampering at the missing seq', async () => {
    const r = await tampered(30, (db) => db.exec('DELETE FROM ledger WHERE seq = 14'));
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 14);
    assert.ok(r.verification_errors.some((e) => e.kind === 'missing_entry'));
  });

  it('inserted entry (forged, renumbering what follows) → tampering at the insertion point', async () => {
    const r = await tampered(30, (db) => {
      db.exec('UPDATE ledger SET seq = seq + 1 WHERE seq >= 20');
      const fake = '{"args_shape_hash":"x","call_id":"forged","prev_ledger_hash":null,"seq":20}';
      db.prepare('INSERT INTO ledger (seq, entry, ledger_hash) VALUES (20, ?, ?)').run(fake, leafHash(fake));
    });
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 20);
  });

  it('swapped entries → tampering at the first of them', async () => {
    const r = await tampered(30, (db) => {
      const a = db.prepare('SELECT entry, ledger_hash FROM ledger WHERE seq = 5').get() as { entry: string; ledger_hash: string };
      const b = db.prepare('SELECT entry, ledger_hash FROM ledger WHERE seq = 6').get() as { entry: string; ledger_hash: string };
      db.prepare('UPDATE ledger SET entry = ?, ledger_hash = ? WHERE seq = 5').run(b.entry, b.ledger_hash);
      db.prepare('UPDATE ledger SET entry = ?, ledger_hash = ? WHERE seq = 6').run(a.entry, a.ledger_hash);
    });
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 5);
    assert.ok(r.verification_errors.some((e) => e.kind === 'seq_mismatch'));
  });

  it('duplicated seq → tampering at the duplicate', async () => {
    const r = await tampered(30, (db) =>
      db.exec('INSERT INTO ledger (seq, entry, ledger_hash) SELECT seq, entry, ledger_hash FROM ledger WHERE seq = 17'),
    );
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 17);
    assert.ok(r.verification_errors.some((e) => e.kind === 'duplicate_seq'));
  });

  it('schema mismatch → corruption, nothing trusted', async () => {
    const r = await tampered(10, (db) => db.exec('INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)'));
    assert.equal(r.classification, 'corruption');
    assert.equal(r.first_break_seq, 1);
    assert.deepEqual(
      r.verification_errors.map((e) => e.kind),
      ['schema_mismatch'],
    );
  });

  it('truncated tail (entries a signed checkpoint covers are gone) → truncation after the last present entry', async () => {
    const r = await tampered(40, (db) => db.exec('DELETE FROM ledger WHERE seq > 33'));
    assert.equal(r.classification, 'truncation');
    assert.equal(r.first_break_seq, 34);
    assert.ok(r.verification_errors.some((e) => e.kind === 'truncated_tail'));
  });

  it('truncated head (prefix removed without a signed prune record) → truncation from seq 1', async () => {
    const r = await tampered(40, (db) => db.exec('DELETE FROM ledger WHERE seq <= 10'));
    assert.equal(r.classification, 'truncation');
    assert.equal(r.first_break_seq, 1);
    assert.ok(r.verification_errors.some((e) => e.kind === 'truncated_head'));
  });

  it('forged checkpoint signature (root re-signed with another key) → tampering after the last good checkpoint', async () => {
    const r = await tampered(
      48,
      (db) => {
        const { privateKey } = generateKeyPairSync('ed25519');
        const cp = db.prepare('SELECT id, tree_size, ts_ms, key_id FROM checkpoints WHERE tree_size = 32').get() as {
          id: number;
          tree_size: number;
          ts_ms: number;
          key_id: string;
        };
        const root = 'cd'.repeat(32);
        const sig = sign(
          null,
          Buffer.from(checkpointText({ tree_size: cp.tree_size, root_hash: root, ts_ms: cp.ts_ms, key_id: cp.key_id })),
          privateKey,
        ).toString('base64');
        db.prepare('UPDATE checkpoints SET root_hash = ?, signature = ? WHERE id = ?').run(root, sig, cp.id);
      },
      { checkpointEvery: 16 },
    );
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 17);
    assert.ok(r.verification_errors.some((e) => e.kind === 'forged_checkpoint_signature'));
    assert.equal(r.checkpoints_valid, false);
  });

  it('a whole chain rewritten consistently (every hash recomputed) is caught by the signed checkpoints', async () => {
    const r = await tampered(20, (db) => {
      let prev: string | null = null;
      const rows = db.prepare('SELECT seq, entry FROM ledger ORDER BY seq').all() as Array<{ seq: number; entry: string }>;
      for (const row of rows) {
        let entry = row.entry.replace(
          /"prev_ledger_hash":(null|"[0-9a-f]{64}")/,
          `"prev_ledger_hash":${prev === null ? 'null' : `"${prev}"`}`,
        );
        if (row.seq === 5) entry = entry.replace('"decision":"deny"', '"decision":"allow"');
        const h = leafHash(entry);
        db.prepare('UPDATE ledger SET entry = ?, ledger_hash = ? WHERE seq = ?').run(entry, h, row.seq);
        prev = h;
      }
    });
    assert.equal(r.chain_valid, true);
    assert.equal(r.classification, 'tampering');
    assert.ok(r.verification_errors.some((e) => e.kind === 'checkpoint_mismatch'));
  });
});

describe('ledger verify: findings of the second review', () => {
  it('a consistent rewrite with every checkpoint deleted is tampering once the entries are older than the signing window', async () => {
    const { verifyStore } = await import('../../src/evidence/verify.ts');
    const { loadOrCreateKey } = await import('../../src/evidence/keys.ts');
    const { home } = await buildStore(20);
    const db = openRw(home);
    db.exec('DELETE FROM checkpoints');
    editAsRows(db, () => {
      let prev: string | null = null;
      for (const row of db.prepare('SELECT seq, entry FROM ledger ORDER BY seq').all() as Array<{ seq: number; entry: string }>) {
        const entry = row.entry
          .replace('"decision":"deny"', '"decision":"allow"')
          .replace(/"prev_ledger_hash":(null|"[0-9a-f]{64}")/, `"prev_ledger_hash":${prev === null ? 'null' : `"${prev}"`}`);
        const h = leafHash(entry);
        db.prepare('UPDATE ledger SET entry = ?, ledger_hash = ? WHERE seq = ?').run(entry, h, row.seq);
        prev = h;
      }
    });
    db.close();
    const later = verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey, now: Date.now() + 60 * 60_000 });
    assert.equal(later.classification, 'tampering');
    assert.equal(later.checkpoints_valid, false);
    assert.ok(later.verification_errors.some((e) => e.kind === 'missing_checkpoint'));
  });

  it('more unsigned entries than the writer ever leaves is tampering at once', async () => {
    const { home } = await buildStore(5000, { checkpointEvery: 1_000_000 });
    const db = openRw(home);
    assert.ok(
      (db.prepare('SELECT COUNT(*) AS n FROM checkpoints WHERE tree_size = 4096').get() as { n: number }).n === 1,
      'the writer caps checkpointEvery at 4096',
    );
    db.exec('DELETE FROM checkpoints');
    db.close();
    const r = verify(home);
    assert.equal(r.classification, 'tampering');
    assert.ok(r.verification_errors.some((e) => e.kind === 'missing_checkpoint'));
  });

  it('a missing head with checkpoints present says the checkpoints could not be verified', async () => {
    const r = await tampered(20, (db) => db.exec('DELETE FROM ledger WHERE seq = 1'));
    assert.equal(r.classification, 'truncation');
    assert.equal(r.checkpoints_valid, false);
    assert.ok(r.verification_errors.some((e) => e.kind === 'checkpoint_unverifiable'));
  });

  it('planted garbage is reported, never thrown', async () => {
    const cases: Array<[string, (db: ReturnType<typeof openRw>) => void]> = [
      [
        'null prune record',
        (db) => {
          db.exec("INSERT INTO prunes (record) VALUES ('null')");
          db.exec('DELETE FROM ledger WHERE seq = 1');
        },
      ],
      [
        'deeply nested prune frontier',
        (db) => {
          db.prepare('INSERT INTO prunes (record) VALUES (?)').run(
            `{"pruned_through_seq":1,"anchor_hash":"x","signature":"y","frontier":${'['.repeat(70)}${']'.repeat(70)}}`,
          );
          db.exec('DELETE FROM ledger WHERE seq = 1');
        },
      ],
      ['huge checkpoint timestamp', (db) => db.exec('UPDATE checkpoints SET ts_ms = 9007199254740993')],
      ['blob ledger hash', (db) => db.exec("UPDATE ledger SET ledger_hash = x'00' WHERE seq = 3")],
      ['text seq', (db) => db.exec("UPDATE ledger SET seq = 'three' WHERE seq = 3")],
    ];
    for (const [name, mutate] of cases) {
      const r = await tampered(10, mutate);
      assert.notEqual(r.classification, 'intact', name);
    }
  });

  it('a ledger pruned to nothing still verifies through its prune record', async () => {
    const { home, writer } = await buildStore(30, { close: false });
    assert.equal(await writer.prune(0), 30);
    await writer.close();
    const r = verify(home);
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors));
  });

  it('a writer signs a tail left unsigned by a crash when it next starts', async () => {
    const { EvidenceWriter } = await import('../../src/evidence/writer.ts');
    const { home } = await buildStore(10, { close: false, checkpointEvery: 1_000_000, checkpointIntervalMs: 3_600_000 });
    const before = openRw(home);
    assert.equal((before.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n, 0);
    before.close();
    const again = await EvidenceWriter.open(home);
    const after = openRw(home);
    assert.equal((after.prepare('SELECT MAX(tree_size) AS s FROM checkpoints').get() as { s: number }).s, 10);
    after.close();
    await again.close();
  });
});

describe('ledger verify: tampering with the chunks themselves', () => {
  // 300 entries: chunks of 128, 128 and 44 entries (seq 1–128, 129–256, 257–300), a checkpoint every 50.
  async function chunked(mutate: (chunks: StoredChunk[], db: ReturnType<typeof openRw>) => void, checkpointEvery = 50) {
    const { home } = await buildStore(300, { checkpointEvery });
    const db = openRw(home);
    const chunks = readChunks(db);
    assert.deepEqual(
      chunks.map((c) => [c.first_seq, c.hashes.length / 32]),
      [
        [1, 128],
        [129, 128],
        [257, 44],
      ],
    );
    mutate(chunks, db);
    db.close();
    return bothWays(home);
  }
  const entryStart = (c: StoredChunk, index: number) => {
    let pos = 0;
    for (let i = 0; i < index; i++) pos = c.entries.indexOf(0, pos + 1);
    return pos;
  };

  it('the untouched chunks verify, with every checkpoint checked on either thread', async () => {
    const r = await chunked(() => undefined);
    assert.equal(r.classification, 'intact');
    assert.equal(r.entries_checked, 300);
    assert.equal(r.checkpoints_checked >= 6, true);
  });

  it('a byte changed inside an entry of the middle chunk → corruption at that seq', async () => {
    const r = await chunked((chunks, db) => {
      const c = chunks[1] as StoredChunk;
      const at = c.entries.indexOf('"call_id":"c', entryStart(c, 21)) + 11; // seq 150
      c.entries[at] = 'x'.charCodeAt(0);
      writeChunk(db, c);
    });
    assert.equal(r.classification, 'corruption');
    assert.equal(r.first_break_seq, 150);
    assert.deepEqual(
      r.verification_errors.map((e) => e.kind),
      ['hash_mismatch'],
    );
  });

  it('a stored hash changed in the hashes blob → tampering at that seq', async () => {
    const r = await chunked((chunks, db) => {
      const c = chunks[1] as StoredChunk;
      c.hashes[(200 - 129) * 32] = (c.hashes[(200 - 129) * 32] as number) ^ 1;
      writeChunk(db, c);
    });
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 200);
    assert.ok(r.verification_errors.some((e) => e.kind === 'prev_mismatch' && e.seq === 201));
    assert.ok(r.verification_errors.some((e) => e.kind === 'checkpoint_mismatch'));
  });

  // Checkpoints every 128: at chunk boundaries, so each chunk enters the tree as its scan's aligned subtrees
  // (no checkpoint inside a chunk) and the checkpoint roots are computed from those subtrees.
  it("checkpoints at chunk boundaries verify from the chunks' subtrees", async () => {
    const r = await chunked(() => undefined, 128);
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors.slice(0, 3)));
    assert.equal(r.checkpoints_valid, true);
    assert.equal(r.checkpoints_checked, 3, 'at 128, 256 and 300 (at close)');
  });

  it('a stored hash changed in a chunk that enters the tree as subtrees → the checkpoint after it does not match', async () => {
    const r = await chunked((chunks, db) => {
      const c = chunks[1] as StoredChunk;
      c.hashes[(200 - 129) * 32] = (c.hashes[(200 - 129) * 32] as number) ^ 1;
      writeChunk(db, c);
    }, 128);
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 200);
    assert.equal(r.checkpoints_valid, false);
    assert.ok(
      r.verification_errors.some((e) => e.kind === 'checkpoint_mismatch' && e.seq === 129),
      JSON.stringify(r.verification_errors),
    );
  });

  it('spans that no longer match the separators (the view would show other bytes) → tampering, the evidence itself intact', async () => {
    const r = await chunked((chunks, db) => {
      const c = chunks[1] as StoredChunk;
      const spans = JSON.parse(c.spans) as Array<[number, number]>;
      (spans[3] as [number, number])[1] -= 10;
      writeChunk(db, { ...c, spans: JSON.stringify(spans) });
    });
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 129);
    assert.deepEqual(
      r.verification_errors.map((e) => e.kind),
      ['spans_mismatch'],
    );
    assert.equal(r.chain_valid, true);
    assert.equal(r.checkpoints_valid, true);
  });

  it('a whole chunk deleted → tampering at its first seq', async () => {
    const r = await chunked((chunks, db) => db.prepare('DELETE FROM ledger_chunks WHERE id = ?').run((chunks[1] as StoredChunk).id));
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 129);
    assert.ok(r.verification_errors.some((e) => e.kind === 'missing_entry' && e.seq === 129));
  });

  it("two chunks stored in each other's place → tampering from seq 1", async () => {
    const r = await chunked((chunks, db) => {
      const [a, b] = chunks as [StoredChunk, StoredChunk];
      writeChunk(db, { ...b, id: a.id });
      writeChunk(db, { ...a, id: b.id });
    });
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 1);
    assert.ok(r.verification_errors.some((e) => e.kind === 'missing_entry' && e.seq === 1));
    assert.ok(
      r.verification_errors.some((e) => e.kind === 'duplicate_seq' && e.seq === 1),
      'seqs 1–128 come again after 129–256',
    );
  });

  it('a chunk renumbered (first_seq moved) → tampering where its seqs stop matching', async () => {
    const r = await chunked((chunks, db) => writeChunk(db, { ...(chunks[2] as StoredChunk), first_seq: 258 }));
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 257);
    assert.ok(r.verification_errors.some((e) => e.kind === 'missing_entry' && e.seq === 257));
    assert.ok(r.verification_errors.some((e) => e.kind === 'seq_mismatch' && e.seq === 258));
  });

  it('unreadable chunks are reported where they stand, never thrown', async () => {
    const cases: Array<[string, (c: StoredChunk) => StoredChunk, number]> = [
      ['hashes blob cut short', (c) => ({ ...c, hashes: c.hashes.subarray(0, c.hashes.length - 5) }), 129],
      ['entries without the leading 0x00', (c) => ({ ...c, entries: c.entries.subarray(1) }), 129],
      [
        'an extra separator inside an entry',
        (c) => {
          const at = entryStart(c, 5) + 40;
          return { ...c, entries: Buffer.concat([c.entries.subarray(0, at), Buffer.from([0]), c.entries.subarray(at)]) };
        },
        129,
      ],
      ['first_seq zero', (c) => ({ ...c, first_seq: 0 }), 129],
    ];
    for (const [name, change, at] of cases) {
      const r = await chunked((chunks, db) => writeChunk(db, change(chunks[1] as StoredChunk)));
      assert.notEqual(r.classification, 'intact', name);
      assert.equal(r.first_break_seq, at, name);
      assert.ok(
        r.verification_errors.some((e) => e.kind === 'malformed_entry' && e.seq === 129),
        name,
      );
    }
    const garbage = await chunked((_chunks, db) =>
      db.exec("UPDATE ledger_chunks SET hashes = 'text', entries = 42, spans = x'00' WHERE first_seq = 129"),
    );
    assert.equal(garbage.first_break_seq, 129);
    assert.equal(garbage.classification, 'tampering');
  });
});
