import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { keyPath } from '../../src/evidence/keys.ts';
import { openStore, schemaVersion, STORE_SCHEMA_VERSION, wardenHome } from '../../src/evidence/store.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { buildStore, downgradeToV5, openRw, readChunks, tempHome, verify } from './fixtures.ts';

describe('evidence store', () => {
  it('lives under PI_WARDEN_HOME, else ~/.pi/agent/warden; a relative PI_WARDEN_HOME is ignored', () => {
    assert.equal(wardenHome({ PI_WARDEN_HOME: '/srv/w', HOME: '/h' }), '/srv/w');
    assert.equal(wardenHome({ HOME: '/h' }), '/h/.pi/agent/warden');
    assert.equal(wardenHome({ PI_WARDEN_HOME: 'rel', HOME: '/h' }), '/h/.pi/agent/warden');
  });

  it('creates the schema through versioned migrations, with private files', async () => {
    const { home } = await buildStore(5);
    const db = openRw(home);
    assert.equal(schemaVersion(db), STORE_SCHEMA_VERSION);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    db.close();
    assert.equal(statSync(join(home, 'warden.db')).mode & 0o777, 0o600);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(keyPath(home)).mode & 0o777, 0o600);
    // Reopening does not re-run migrations.
    openStore(home).close();
    const again = openRw(home);
    assert.equal((again.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n, STORE_SCHEMA_VERSION);
    again.close();
  });

  it('a file that is not a database is a clear error naming it, for the store and for the writer', async () => {
    const home = tempHome();
    writeFileSync(join(home, 'warden.db'), 'this is not sqlite '.repeat(100));
    assert.throws(
      () => openStore(home),
      (e: unknown) =>
        isWardenError(e) && e.code === 'io' && e.message.includes(join(home, 'warden.db')) && /not a pi-warden store/.test(e.message),
    );
    await assert.rejects(EvidenceWriter.open(home), (e: unknown) => isWardenError(e) && /not a pi-warden store/.test(e.message));
  });

  it('a store written by a newer pi-warden is refused, not migrated backwards', () => {
    const home = tempHome();
    const db = openStore(home);
    db.prepare('INSERT INTO schema_version (version, applied_ms) VALUES (?, 0)').run(STORE_SCHEMA_VERSION + 1);
    db.close();
    assert.throws(() => openStore(home), /newer than this pi-warden understands/);
  });

  it('a directory that cannot be written is a clear error naming it', async (t) => {
    const home = tempHome();
    const ro = join(home, 'readonly');
    mkdirSync(ro);
    // Root ignores permission bits, so as root the directory is made immutable (chattr +i) instead of 0555.
    const root = process.getuid?.() === 0;
    if (root) {
      const r = spawnSync('chattr', ['+i', ro]);
      if (r.status !== 0) {
        t.skip(`cannot make a read-only directory as root here (chattr: ${r.stderr?.toString().trim() || r.error?.message || 'failed'})`);
        return;
      }
    } else {
      chmodSync(ro, 0o555);
    }
    try {
      await assert.rejects(
        EvidenceWriter.open(join(ro, 'warden')),
        (e: unknown) =>
          isWardenError(e) &&
          e.code === 'io' &&
          e.message.includes(join(ro, 'warden')) &&
          /cannot create the store directory: (EACCES|EPERM)/.test(e.message),
      );
      assert.throws(() => openStore(join(ro, 'warden')), /cannot create the store directory/);
    } finally {
      if (root) spawnSync('chattr', ['-i', ro]);
      else chmodSync(ro, 0o755);
    }
  });
});

describe('evidence store under concurrent first use', () => {
  it('several processes opening a new store at the same moment all succeed', async () => {
    const { spawn } = await import('node:child_process');
    const url = new URL('../../src/evidence/store.ts', import.meta.url).href;
    for (let round = 0; round < 5; round++) {
      const home = tempHome();
      const run = () =>
        new Promise<string>((resolve) => {
          const p = spawn(
            process.execPath,
            [
              '--input-type=module',
              '-e',
              `import(${JSON.stringify(url)}).then(({ openStore }) => openStore(${JSON.stringify(home)}).close())`,
            ],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let err = '';
          p.stderr.on('data', (c: Buffer) => {
            err += c.toString();
          });
          p.on('exit', (code) => resolve(code === 0 ? '' : err || `exit ${code}`));
        });
      const errors = (await Promise.all([run(), run(), run()])).filter((e) => e !== '');
      assert.deepEqual(errors, [], `round ${round}`);
    }
  });
});

describe('migration 6: the ledger into chunks', () => {
  it('a v5 store (one row per entry) is converted when opened read-write and verifies as before', async () => {
    const { replayStore } = await import('../../src/replay/replay.ts');
    const { storedEntries } = await import('../../src/evidence/chunks.ts');
    const { loadOrCreateKey } = await import('../../src/evidence/keys.ts');
    const { home, writer } = await buildStore(600, { close: false, checkpointEvery: 100 });
    await writer.prune(500);
    await writer.close();
    const db = openRw(home);
    const before = [...storedEntries(db)];
    downgradeToV5(db);
    assert.equal(schemaVersion(db), 5);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM ledger').get() as { n: number }).n, 500);
    db.close();
    // Verify opens read-only and never migrates: a v5 store is reported, not silently accepted.
    assert.deepEqual(
      verify(home).verification_errors.map((e) => [e.kind, e.actual]),
      [['schema_mismatch', '5']],
    );
    openStore(home).close();
    const after = openRw(home);
    assert.equal(schemaVersion(after), STORE_SCHEMA_VERSION);
    assert.deepEqual([...storedEntries(after)], before);
    assert.deepEqual(
      readChunks(after).map((c) => [c.first_seq, c.hashes.length / 32]),
      [
        [101, 128],
        [229, 128],
        [357, 128],
        [485, 116],
      ],
    );
    assert.equal((after.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'ledger_v5'").get() as { n: number }).n, 0);
    after.close();
    const r = verify(home);
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors.slice(0, 3)));
    assert.equal(r.entries_checked, 500);
    assert.equal(r.tree_size, 600);
    assert.equal(replayStore(home, { publicKey: loadOrCreateKey(home).publicKey }).entries_replayed, 500);
  });

  it('what was wrong in the v5 rows stays visible after the conversion', async () => {
    const { home } = await buildStore(60, { checkpointEvery: 16 });
    const db = openRw(home);
    downgradeToV5(db);
    db.exec('DELETE FROM ledger WHERE seq = 14');
    db.exec("INSERT INTO ledger (seq, entry, ledger_hash) VALUES ('sixty-one', 'not an entry', 'not a hash')");
    db.close();
    const writer = await EvidenceWriter.open(home); // the writer opens read-write: it migrates
    await writer.close();
    const after = openRw(home);
    const kept = after
      .prepare("SELECT first_seq, typeof(entries) AS t, CAST(entries AS TEXT) AS e FROM ledger_chunks WHERE typeof(entries) != 'blob'")
      .all();
    after.close();
    assert.deepEqual(
      kept.map((k) => ({ ...k })),
      [{ first_seq: 'sixty-one', t: 'text', e: 'not an entry' }],
    );
    const r = verify(home);
    assert.equal(r.classification, 'tampering');
    assert.equal(r.first_break_seq, 14);
    assert.ok(r.verification_errors.some((e) => e.kind === 'missing_entry' && e.seq === 14));
    assert.ok(r.verification_errors.some((e) => e.kind === 'malformed_entry'));
  });
});
