/** Operator commands on the stores they are pointed at (issue 15 item 7): read-only copies, missing stores, bad options. */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { buildStore, editStore, tempHome } from '../evidence/fixtures.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  // Colours follow the environment (CI=true turns them on): the assertions read the text.
  return { code, out: stripVTControlCharacters(out), err: stripVTControlCharacters(err) };
}

/** Every file of the store with its size and modification time. */
function snapshot(home: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else files.push(`${p} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(home);
  return files;
}

function makeReadOnly(home: string): void {
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else chmodSync(p, 0o400);
    }
    chmodSync(dir, 0o500);
  };
  walk(home);
}

async function closedStore(n: number): Promise<string> {
  const { home, writer } = await buildStore(n);
  await writer.close();
  return home;
}

describe('a read-only store (a forensic copy) is read and never written', () => {
  it('ledger verify, alerts and trust status work on it and leave every file as it was, with no -wal or -shm', async () => {
    const home = await closedStore(15);
    makeReadOnly(home);
    const before = snapshot(home);
    // Checked after each command: a later read-write close would delete the side files an earlier one left.
    const unchanged = (what: string) => {
      assert.deepEqual(snapshot(home), before, what);
      assert.ok(!existsSync(join(home, 'warden.db-wal')) && !existsSync(join(home, 'warden.db-shm')), what);
    };
    const verify = await run(['ledger', 'verify', '--home', home]);
    assert.equal(verify.code, 0, verify.err);
    assert.match(verify.out, /Ledger INTACT: 15 entries/);
    unchanged('ledger verify');
    const alerts = await run(['alerts', '--home', home, '--json']);
    assert.equal(alerts.code, 0, alerts.err);
    assert.ok(JSON.parse(alerts.out).count >= 1);
    unchanged('alerts');
    const status = await run(['trust', 'status', '--home', home]);
    assert.equal(status.code, 0, status.err);
    unchanged('trust status');
  });

  it('a tampered read-only copy is reported as tampering without recording the alert, and says so', async () => {
    const home = await closedStore(20);
    editStore(home, (db) => db.exec('DELETE FROM ledger WHERE seq = 7'));
    makeReadOnly(home);
    const before = snapshot(home);
    const r = await run(['ledger', 'verify', '--home', home]);
    assert.equal(r.code, 1);
    assert.match(r.out, /Ledger TAMPERING/);
    assert.match(r.out, /alert: not recorded: the store is read-only/);
    const json = JSON.parse((await run(['ledger', 'verify', '--home', home, '--json'])).out);
    assert.match(json.alert, /not recorded/);
    assert.deepEqual(snapshot(home), before);
  });
});

describe('status commands do not create a store', () => {
  it('trust status and rollout status on a missing store: exit 2, a clear error, nothing created', async () => {
    const home = join(tempHome(), 'nowhere');
    for (const args of [
      ['trust', 'status'],
      ['trust', 'status', 'x'],
      ['rollout', 'status'],
    ]) {
      const r = await run([...args, '--home', home]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /no evidence store here/);
      assert.ok(!existsSync(home), `${args.join(' ')} created ${home}`);
    }
  });
});

describe('alerts validates its options', () => {
  it('--limit abc, 0, -1 or 1.5 is a usage error naming the flag (exit 2), never an SQL error', async () => {
    const home = await closedStore(5);
    for (const bad of ['abc', '0', '-1', '1.5', '']) {
      const r = await run(['alerts', '--home', home, '--limit', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.err, /--limit must be a positive whole number, found "/);
      assert.doesNotMatch(r.err, /SQL|sqlite|datatype/i);
    }
    assert.equal((await run(['alerts', '--home', home, '--limit', '1', '--json'])).code, 0);
    assert.equal(JSON.parse((await run(['alerts', '--home', home, '--limit', '1', '--json'])).out).count, 1);
  });
});

describe('trust kill', () => {
  it('on an already quarantined extension succeeds, says so and records nothing new', async () => {
    const home = tempHome();
    assert.equal((await run(['trust', 'kill', 'evil', '--reason', 'exfil', '--home', home])).code, 0);
    const again = await run(['trust', 'kill', 'evil', '--reason', 'second responder', '--home', home]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already quarantined/);
    const status = JSON.parse((await run(['trust', 'status', 'evil', '--home', home, '--json'])).out);
    assert.equal(status.state, 'quarantined');
    assert.equal(status.history.length, 1);
    assert.equal((await run(['trust', 'lift', 'evil', '--reason', 'fixed', '--home', home])).code, 0);
    assert.equal((await run(['trust', 'lift', 'evil', '--reason', 'twice', '--home', home])).code, 2, 'lifting twice is still refused');
  });
});

describe('ledger verify with a wrong --public-key', () => {
  it('is an operator error (exit 2) naming the key, and leaves no tampering alert behind', async () => {
    const home = await closedStore(10);
    const other = tempHome();
    const exported = JSON.parse((await run(['keys', 'export', '--home', other, '--json'])).out);
    const wrong = join(other, 'wrong.pem');
    writeFileSync(wrong, exported.public_key_pem);
    const r = await run(['ledger', 'verify', '--home', home, '--public-key', wrong]);
    assert.equal(r.code, 2);
    assert.match(r.err, /expected the key that signed this store's checkpoints, found a key \(id [0-9a-f]{16}\) that signed none of them/);
    const alerts = JSON.parse((await run(['alerts', '--home', home, '--category', 'ledger_integrity', '--json'])).out);
    assert.equal(alerts.count, 0);
    const right = join(other, 'right.pem');
    writeFileSync(right, JSON.parse((await run(['keys', 'export', '--home', home, '--json'])).out).public_key_pem);
    assert.equal((await run(['ledger', 'verify', '--home', home, '--public-key', right])).code, 0);
  });
});

describe('policy diff compares every part of the policy', () => {
  /** Writes two settings files whose extensionPolicy differ only by `b`'s additions, and returns the diff rows by field. */
  async function diff(a: unknown, b: unknown): Promise<{ code: number; rows: Map<string, { a: string; b: string; direction: string }> }> {
    const dir = tempHome();
    const fa = join(dir, 'a.json');
    const fb = join(dir, 'b.json');
    writeFileSync(fa, JSON.stringify(a));
    writeFileSync(fb, JSON.stringify(b));
    const r = await run(['policy', 'diff', fa, fb, '--json']);
    const out = JSON.parse(r.out) as { changes: Array<{ field: string; a: string; b: string; direction: string }> };
    return { code: r.code, rows: new Map(out.changes.map((c) => [c.field, c])) };
  }
  const base = { extensionPolicy: { profile: 'balanced' } };

  it('filesystem grants: ~ for writes and ~/.ssh for reads are looser, removing them tighter', async () => {
    const granted = {
      extensionPolicy: { profile: 'balanced', overrides: { 'notes-sync': { fs: { read: ['~/.ssh'], write: ['~'] } } } },
    };
    const d = await diff(base, granted);
    assert.equal(d.code, 1, 'a difference exits 1');
    assert.equal(d.rows.get('extension notes-sync: fs.write')?.direction, 'looser');
    assert.equal(d.rows.get('extension notes-sync: fs.read')?.direction, 'looser');
    assert.match(d.rows.get('extension notes-sync: fs.read')?.b ?? '', /\.ssh$/);
    const back = await diff(granted, base);
    assert.equal(back.rows.get('extension notes-sync: fs.write')?.direction, 'tighter');
  });

  it('exec rules of the profile, risk allowed hosts and rollout thresholds are compared', async () => {
    const d = await diff({ extensionPolicy: { profile: 'safe' } }, { extensionPolicy: { profile: 'permissive' } });
    const exec = [...d.rows.keys()].filter((k) => k.startsWith('exec.'));
    assert.ok(exec.length > 0, 'exec mediation rows differ between safe and permissive');
    assert.ok(
      exec.every((k) => d.rows.get(k)?.direction === 'looser'),
      exec.join(', '),
    );
    const r = await diff(
      { ...base, extensionRisk: { enabled: true } },
      { ...base, extensionRisk: { enabled: true, allowedHosts: ['api.example.com'], windowSize: 32 } },
    );
    assert.equal(r.rows.get('risk.allowed_hosts')?.direction, 'looser');
    assert.equal(r.rows.get('risk.window_size')?.direction, 'changed');
  });
});
