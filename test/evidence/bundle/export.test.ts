/**
 * Export from live stores written by the real writer: nothing in the store changes, a per-extension bundle of an
 * interleaved ledger verifies, a fully redacted bundle holds none of the planted canaries and replays to the same
 * decisions, and a disclosed salt opens its commitment.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabaseReadOnly, storedEntries } from '../../../src/evidence/index.ts';
import type { BundleDocument, BundleEntry, LedgerSection } from '../../../src/evidence/bundle/index.ts';
import { discloseField, exportBundle, replayBundleText, verifyBundle } from '../../../src/incident/bundle/index.ts';
import { tempHome } from '../fixtures.ts';
import { buildIncidentStore, CANARIES, reseal } from './stores.ts';

/** The database's bytes and its -wal's content (absent = empty: any SQLite reader of a WAL store may create an empty one). */
const storeBytes = (home: string): string[] =>
  ['warden.db', 'warden.db-wal'].map((f) =>
    createHash('sha256')
      .update(existsSync(join(home, f)) ? readFileSync(join(home, f)) : Buffer.alloc(0))
      .digest('hex'),
  );
const read = (file: string): BundleDocument => JSON.parse(readFileSync(file, 'utf8')) as BundleDocument;
const entriesOf = (d: BundleDocument): BundleEntry[] => [...(d.sections.ledger as LedgerSection).entries];

/** Every value the store holds in a field `--redact all` covers. */
function storedSensitiveValues(home: string): string[] {
  const db = openDatabaseReadOnly(home);
  try {
    const out = new Set<string>(Object.values(CANARIES));
    for (const row of storedEntries(db)) {
      const e = JSON.parse(row.entry) as { params_hash: string; args_shape_hash: string };
      out.add(e.params_hash);
      out.add(e.args_shape_hash);
    }
    for (const r of db.prepare('SELECT params_hash, args_shape_hash FROM telemetry').all() as Array<{
      params_hash: string;
      args_shape_hash: string;
    }>) {
      out.add(r.params_hash);
      out.add(r.args_shape_hash);
    }
    return [...out];
  } finally {
    db.close();
  }
}

describe('bundle export from a live store', () => {
  it('changes nothing in the store: its bytes hash alike before and after, and quota breaches are exported each time', async () => {
    const { home } = await buildIncidentStore(12);
    const out = tempHome();
    const before = storeBytes(home);
    const a = await exportBundle({ home, out: join(out, 'a.json') });
    const b = await exportBundle({ home, out: join(out, 'b.json'), redact: ['all'], extension: 'ext-b' });
    assert.deepEqual(storeBytes(home), before);
    const breachesA = read(a.path).sections.quota_breaches as unknown[];
    const again = await exportBundle({ home, out: join(out, 'c.json') });
    assert.equal(breachesA.length, 1);
    assert.deepEqual(read(again.path).sections.quota_breaches, breachesA);
    assert.equal((read(b.path).sections.quota_breaches as unknown[]).length, 1);
    assert.deepEqual(storeBytes(home), before);
  });

  it('records chain of custody: collector, tool and version, command line, UTC time with its clock source, the store state', async () => {
    const { home } = await buildIncidentStore(3);
    const file = join(tempHome(), 'c.json');
    await exportBundle({
      home,
      out: file,
      commandLine: ['pi-warden', 'bundle', 'export', '--out', file],
      nowMs: Date.parse('2026-12-06T10:00:00Z'),
    });
    const c = read(file).sections.custody as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(c.tool.version, pkg.version);
    assert.deepEqual(c.command_line, ['pi-warden', 'bundle', 'export', '--out', file]);
    assert.equal(c.collected_at, '2026-12-06T10:00:00.000Z');
    assert.match(c.clock_source, /UTC/);
    assert.ok(typeof c.collector.host === 'string' && c.collector.host.length > 0);
    assert.equal(c.store.verification.classification, 'intact');
  });

  it('a per-extension bundle of an interleaved two-extension ledger verifies, with only that extension in it', async () => {
    const { home, key } = await buildIncidentStore(20, { checkpointEvery: 6 });
    const file = join(tempHome(), 'ext-b.json');
    await exportBundle({ home, out: file, extension: 'ext-b' });
    const doc = read(file);
    const entries = entriesOf(doc);
    assert.ok(entries.length >= 5);
    assert.ok(entries.every((e) => e['extension_id'] === 'ext-b'));
    assert.ok(
      entries.some((e, i) => i > 0 && e.seq !== (entries[i - 1] as BundleEntry).seq + 1),
      'the selected seqs are not contiguous',
    );
    const r = await verifyBundle(file, { publicKey: key.publicKeyPem, home });
    assert.deepEqual(r.failures, []);
    assert.equal(r.ok, true);
  });

  it('a time window selects entries by ts_ms, inclusive, and still verifies', async () => {
    const { home, key } = await buildIncidentStore(12);
    const all = read((await exportBundle({ home, out: join(tempHome(), 'all.json') })).path);
    const ts = entriesOf(all).map((e) => e['ts_ms'] as number);
    const mid = ts[Math.floor(ts.length / 2)] as number;
    const file = join(tempHome(), 'w.json');
    await exportBundle({ home, out: file, start: String(mid), end: new Date(mid).toISOString() });
    const picked = entriesOf(read(file)).map((e) => e['ts_ms']);
    assert.deepEqual(
      picked,
      ts.filter((t) => t === mid),
    );
    assert.equal((await verifyBundle(file, { publicKey: key.publicKeyPem })).ok, true);
  });

  it('a fully redacted bundle holds none of the planted canaries or stored hashes, verifies, and fails once a raw value is planted in it', async () => {
    const { home, key } = await buildIncidentStore(12);
    const dir = tempHome();
    const plain = await exportBundle({ home, out: join(dir, 'plain.json') });
    const redacted = await exportBundle({ home, out: join(dir, 'redacted.json'), redact: ['all'] });
    const values = storedSensitiveValues(home);
    const plainBytes = readFileSync(plain.path, 'utf8');
    for (const c of Object.values(CANARIES))
      assert.ok(plainBytes.includes(c), `the unredacted bundle carries ${c}: the canaries are planted`);
    const bytes = readFileSync(redacted.path, 'utf8');
    for (const v of values) assert.ok(!bytes.includes(v), `found ${v} in the redacted bundle`);
    const r = await verifyBundle(redacted.path, { publicKey: key.publicKeyPem, home });
    assert.deepEqual(r.failures, []);
    assert.ok(r.raw_values_checked >= values.length - Object.keys(CANARIES).length);
    // A raw value anywhere (here: in the custody record's command line), even in a bundle signed again.
    const doc = read(redacted.path);
    (doc.sections.custody as { command_line: string[] }).command_line.push(CANARIES.remediation);
    const leaked = join(dir, 'leaked.json');
    writeFileSync(leaked, JSON.stringify(reseal(doc, key)));
    const bad = await verifyBundle(leaked, { publicKey: key.publicKeyPem, home });
    assert.deepEqual(
      bad.failures.map((f) => f.reason),
      ['raw_value_present'],
    );
  });

  it('a redacted bundle replays to the same decisions as the unredacted one, which match the store replay', async () => {
    const { home } = await buildIncidentStore(16);
    const dir = tempHome();
    const plain = readFileSync((await exportBundle({ home, out: join(dir, 'p.json') })).path, 'utf8');
    const redacted = readFileSync((await exportBundle({ home, out: join(dir, 'r.json'), redact: ['all'] })).path, 'utf8');
    const a = replayBundleText(plain);
    const b = replayBundleText(redacted);
    assert.deepEqual(b, a);
    assert.equal(a.entries_replayed, 16);
    assert.deepEqual(a.differences, []);
    const stored = JSON.parse(plain).sections.risk_replay as { matching: number; entries_replayed: number };
    assert.equal(a.matching, stored.matching);
    assert.equal(a.entries_replayed, stored.entries_replayed);
  });

  it('a disclosed salt opens its commitment, the disclosed value re-creates the leaf hash, and a swapped commitment does not open', async () => {
    const { home } = await buildIncidentStore(8);
    const file = join(tempHome(), 'r.json');
    await exportBundle({ home, out: file, redact: ['params'] });
    const doc = read(file);
    const x = entriesOf(doc).find((e) => e['method'] === 'exec') as BundleEntry;
    const y = entriesOf(doc).find((e) => e['method'] === 'fs.read') as BundleEntry;
    assert.notDeepEqual(x['params_hash'], y['params_hash']);
    const d = discloseField({ home, file, section: 'ledger', entry: String(x.seq), field: 'params_hash' });
    assert.equal(d.opens, true);
    assert.equal(d.leaf_hash_matches, true);
    assert.match(d.salt, /^[0-9a-f]{64}$/);
    // Swap two entries' commitments: each entry's disclosed value no longer opens what it now carries.
    const swapped = structuredClone(doc);
    const sx = entriesOf(swapped).find((e2) => e2.seq === x.seq) as Record<string, unknown>;
    const sy = entriesOf(swapped).find((e2) => e2.seq === y.seq) as Record<string, unknown>;
    [sx['params_hash'], sy['params_hash']] = [sy['params_hash'], sx['params_hash']];
    const swappedFile = join(tempHome(), 's.json');
    writeFileSync(swappedFile, JSON.stringify(swapped));
    const s = discloseField({ home, file: swappedFile, section: 'ledger', entry: String(x.seq), field: 'params_hash' });
    assert.equal(s.opens, false);
    assert.equal(s.leaf_hash_matches, true, 'the value from the store still makes the leaf: only the commitment was moved');
  });
});
