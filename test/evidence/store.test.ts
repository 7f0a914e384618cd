import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { keyPath } from '../../src/evidence/keys.ts';
import { openStore, schemaVersion, STORE_SCHEMA_VERSION, wardenHome } from '../../src/evidence/store.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { buildStore, openRw, tempHome } from './fixtures.ts';

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
    assert.throws(() => openStore(home), (e: unknown) => isWardenError(e) && e.code === 'io' && e.message.includes(join(home, 'warden.db')) && /not a pi-warden store/.test(e.message));
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
      await assert.rejects(EvidenceWriter.open(join(ro, 'warden')), (e: unknown) => isWardenError(e) && e.code === 'io'
        && e.message.includes(join(ro, 'warden')) && /cannot create the store directory: (EACCES|EPERM)/.test(e.message));
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
      const run = () => new Promise<string>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(url)}).then(({ openStore }) => openStore(${JSON.stringify(home)}).close())`], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
        p.on('exit', (code) => resolve(code === 0 ? '' : err || `exit ${code}`));
      });
      const errors = (await Promise.all([run(), run(), run()])).filter((e) => e !== '');
      assert.deepEqual(errors, [], `round ${round}`);
    }
  });
});
