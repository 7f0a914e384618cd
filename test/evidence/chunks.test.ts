/** Ledger chunks (schema v6): layout, the scanner, the aligned subtrees, the writer's chunks, the helper thread. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeChunk, scanChunk, spansOf, storedEntries, type ChunkScan } from '../../src/evidence/chunks.ts';
import { canonicalEntryText } from '../../src/evidence/entry.ts';
import { leafHash, merkleRoot, RawFrontier } from '../../src/evidence/merkle.ts';
import type * as Verify from '../../src/evidence/verify.ts';
import type * as Pipeline from '../../src/evidence/verifyPipeline.ts';
import { Helper, lastRun } from '../../src/evidence/verifyPipeline.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { allowedRead, buildStore, openRw, readChunks, tempHome, verifyInParallel, verifyOneThread, writeChunk } from './fixtures.ts';

const raw = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');

function entryText(seq: number, prev: string | null, extra: Partial<{ call_id: string; reason_codes: string[] }> = {}): string {
  return canonicalEntryText({
    seq,
    prev_ledger_hash: prev,
    ts_ms: 1_700_000_000_000 + seq,
    extension_id: 'ext',
    call_id: extra.call_id ?? `c${seq}`,
    method: 'fs.read',
    capability: 'read',
    declared_capability: null,
    decision: 'allow',
    rule: 'default_caps',
    stage: null,
    error_code: null,
    reason_codes: extra.reason_codes ?? [],
    params_hash: 'a'.repeat(64),
    args_shape_hash: 'b'.repeat(64),
    risk_score: null,
    config_hash: null,
  });
}

/** What the scanner must read, by a plain reference: the last `"seq":` key, then the last prev key before it. */
function referenceLinks(text: string): { seq: number; prev: string | null } | undefined {
  const q = text.lastIndexOf('"seq":');
  const p = q < 0 ? -1 : text.lastIndexOf('"prev_ledger_hash":', q - 19);
  if (q < 0 || p < 0) return undefined;
  const digits = /^\d{1,16}/.exec(text.slice(q + 6))?.[0];
  if (digits === undefined || !Number.isSafeInteger(Number(digits))) return undefined;
  const at = p + 19;
  if (text.startsWith('null', at)) return { seq: Number(digits), prev: null };
  if (text[at] === '"' && at + 65 < text.length && text[at + 65] === '"') return { seq: Number(digits), prev: text.slice(at + 1, at + 65) };
  return undefined;
}

/** A deterministic generator (the same cases every run). */
function prng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('ledger chunks', () => {
  it('encode entries 0x00-separated with hashes alongside, and spans that locate each text', () => {
    const texts = ['{"a":1}', '{"b":"é"}', '{}'];
    const c = encodeChunk(
      texts,
      texts.map((t) => leafHash(t)),
    );
    assert.equal(c.entries.toString('latin1', 0, 1), '\u0000');
    assert.equal(c.hashes.length, 96);
    const spans = JSON.parse(c.spans) as Array<[number, number]>;
    assert.deepEqual(
      spans.map(([o, l]) => c.entries.toString('utf8', o, o + l)),
      texts,
    );
    assert.equal(spansOf(c.entries), c.spans);
    // Each 0x00 ‖ text slice is the leaf input: its hash is the stored hash.
    const scan = scanChunk(1, c.entries, c.hashes, c.spans);
    assert.equal(scan.count, 3);
    assert.equal(scan.spansOk, true);
    assert.deepEqual(
      scan.findings.filter(([, f]) => f.recomputed !== undefined),
      [],
    );
  });

  it('the scanner reads prev_ledger_hash and seq as the reference does, whatever is done to the entries', () => {
    const random = prng(7);
    const keys = ['"prev_ledger_hash":', '"seq":', '"reason_codes":', '"', 'null', ',', '0', '9', 'ab'];
    for (let round = 0; round < 300; round++) {
      // A chain of canonical entries, then random edits: keys duplicated, moved, cut; values changed.
      const texts: string[] = [];
      const hashes: string[] = [];
      let prev: string | null = null;
      for (let i = 0; i < 6; i++) {
        const t = entryText(100 + i, prev, { reason_codes: random() < 0.3 ? ['x"prev_ledger_hash":', '"seq":7'] : [] });
        texts.push(t);
        prev = leafHash(t);
        hashes.push(prev);
      }
      const edited = texts.map((t) => {
        let s = t;
        for (let k = Math.floor(random() * 3); k > 0; k--) {
          const at = Math.floor(random() * s.length);
          const piece = keys[Math.floor(random() * keys.length)] as string;
          s =
            random() < 0.7 ? `${s.slice(0, at)}${piece}${s.slice(at)}` : `${s.slice(0, at)}${s.slice(at + 1 + Math.floor(random() * 30))}`;
        }
        return s.replaceAll('\u0000', '');
      });
      const c = encodeChunk(edited, hashes);
      const scan: ChunkScan = scanChunk(100, c.entries, c.hashes, c.spans);
      assert.equal(scan.count, 6);
      const found = new Map(scan.findings);
      edited.forEach((text, i) => {
        const want = referenceLinks(text);
        const f = found.get(i);
        assert.equal(f?.recomputed !== undefined, text !== texts[i], `round ${round} entry ${i}: hash`);
        if (want === undefined) {
          assert.notEqual(f?.malformed, undefined, `round ${round} entry ${i}: malformed ${text}`);
          return;
        }
        assert.equal(f?.malformed, undefined, `round ${round} entry ${i}: ${text}`);
        assert.equal(f?.seq ?? 100 + i, want.seq, `round ${round} entry ${i}: seq in ${text}`);
        const prevRead = i === 0 ? scan.firstPrev : f !== undefined && 'prev' in f ? f.prev : hashes[i - 1];
        assert.equal(prevRead, want.prev, `round ${round} entry ${i}: prev in ${text}`);
      });
    }
  });

  it('a prev key hidden inside a malformed prev value is the one read (the last), not the outer one', () => {
    const first = entryText(1, null);
    const inner = `${'A'.repeat(10)}"prev_ledger_hash":null,${'B'.repeat(30)}`;
    assert.equal(inner.length, 64);
    const second = entryText(2, leafHash(first)).replace(/"prev_ledger_hash":"[0-9a-f]{64}"/, `"prev_ledger_hash":"${inner}"`);
    assert.deepEqual(referenceLinks(second), { seq: 2, prev: null });
    const c = encodeChunk([first, second], [leafHash(first), leafHash(second)]);
    const scan = scanChunk(1, c.entries, c.hashes, c.spans);
    assert.deepEqual(scan.findings, [[1, { prev: null }]]);
  });

  it('the aligned subtrees of a chunk stand for its leaves at any tree position', () => {
    const leaves = Array.from({ length: 600 }, (_, i) => leafHash(`leaf ${i}`));
    // Up to pieces of 256 leaves: more than a writer's chunk holds (a chunk made larger is still scanned).
    for (const start of [0, 1, 3, 64, 100, 127, 128, 200, 256]) {
      for (const count of [1, 2, 5, 64, 99, 128, 300]) {
        if (start + count > leaves.length) continue;
        const texts = leaves.slice(start, start + count).map((_, i) => `t${i}`);
        const c = encodeChunk(texts, leaves.slice(start, start + count));
        const scan = scanChunk(start + 1, c.entries, c.hashes, c.spans);
        const tree = new RawFrontier();
        for (let i = 0; i < start; i++) tree.append(raw(leaves[i] as string));
        for (const [size, root] of scan.subtrees ?? []) {
          assert.equal(tree.size % size, 0, 'each piece starts at a multiple of its size');
          tree.appendSubtree(size, root);
        }
        assert.equal(tree.size, start + count);
        assert.equal(tree.root(), merkleRoot(leaves.slice(0, start + count)), `start ${start}, count ${count}`);
      }
    }
  });

  it('the writer fills chunks across many small commits, and the ledger view shows one row per entry', async () => {
    const home = tempHome();
    const w = await EvidenceWriter.open(home, { telemetry: false });
    for (let i = 0; i < 300; i++) {
      w.record(allowedRead(i, { i }));
      if (i % 7 === 0) await w.flush();
    }
    await w.close();
    const db = openRw(home);
    assert.deepEqual(
      readChunks(db).map((c) => [c.first_seq, c.hashes.length / 32]),
      [
        [1, 128],
        [129, 128],
        [257, 44],
      ],
    );
    const view = db.prepare('SELECT seq, entry, ledger_hash FROM ledger ORDER BY seq').all() as Array<{
      seq: number;
      entry: string;
      ledger_hash: string;
    }>;
    assert.deepEqual(
      view.map((r) => ({ ...r })),
      [...storedEntries(db)].map((e) => ({ ...e })),
    );
    assert.equal(view.length, 300);
    assert.ok(view.every((r) => leafHash(r.entry) === r.ledger_hash));
    db.close();
    assert.equal(verifyOneThread(home).classification, 'intact');
  });

  it('the writer does not extend a tail chunk that was tampered with (it never rewrites evidence into shape)', async () => {
    const { home } = await buildStore(20, { checkpointEvery: 16 });
    const db = openRw(home);
    const [tail] = readChunks(db);
    writeChunk(db, { ...tail!, spans: '[]' });
    db.close();
    await buildStore(10, { home });
    const after = openRw(home);
    assert.deepEqual(
      readChunks(after).map((c) => [c.first_seq, c.hashes.length / 32, c.spans === '[]']),
      [
        [1, 20, true],
        [21, 10, false],
      ],
    );
    after.close();
    const r = verifyOneThread(home);
    assert.deepEqual(
      r.verification_errors.map((e) => e.kind),
      ['spans_mismatch'],
    );
  });

  it('pruning cuts a chunk that straddles the cut and keeps its tail', async () => {
    const { home, writer } = await buildStore(300, { close: false, checkpointEvery: 64 });
    assert.equal(await writer.prune(100), 200);
    await writer.close();
    const db = openRw(home);
    assert.deepEqual(
      readChunks(db).map((c) => [c.first_seq, c.hashes.length / 32]),
      [
        [201, 56],
        [257, 44],
      ],
    );
    db.close();
    const r = verifyOneThread(home);
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors));
    assert.equal(r.entries_checked, 100);
    assert.deepEqual(verifyInParallel(home), r);
  });
});

/** Waits (blocking, as verify does) until the process's helper thread listens. */
function helperReady(helper: { readonly ready: boolean } | undefined): void {
  const deadline = Date.now() + 20_000;
  while (helper?.ready !== true && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  assert.equal(helper?.ready, true, 'the helper thread started');
}

describe('the verify helper thread', () => {
  it('does the scanning it is given, and its findings are the ones this thread would make', async () => {
    helperReady(Helper.acquire());
    const { home } = await buildStore(2000, { checkpointEvery: 300 });
    const db = openRw(home);
    const chunk = readChunks(db)[5]!;
    chunk.entries[chunk.entries.indexOf('"call_id":"c', 100) + 11] = 'y'.charCodeAt(0);
    writeChunk(db, chunk);
    db.close();
    const parallel = verifyInParallel(home);
    assert.ok(lastRun.helperJobs > 0, `the helper scanned ${lastRun.helperJobs} job(s), this thread ${lastRun.localJobs}`);
    assert.equal(parallel.classification, 'corruption');
    assert.deepEqual(parallel, verifyOneThread(home));
  });

  it('works from the build too (the helper runs the compiled scanner source)', async (t) => {
    const dist = fileURLToPath(new URL('../../dist/evidence/verifyPipeline.js', import.meta.url));
    if (!existsSync(dist)) {
      t.skip('no build (npm test builds first)');
      return;
    }
    const built = (await import(new URL('../../dist/evidence/verifyPipeline.js', import.meta.url).href)) as typeof Pipeline;
    const builtVerify = (await import(new URL('../../dist/evidence/verify.js', import.meta.url).href)) as typeof Verify;
    const { loadOrCreateKey } = await import('../../src/evidence/keys.ts');
    helperReady(built.Helper.acquire());
    const { home } = await buildStore(1500, { checkpointEvery: 256 });
    const r = builtVerify.verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey, threads: 2, parallelFrom: 0 });
    assert.ok(built.lastRun.helperJobs > 0, 'the built helper scanned');
    assert.equal(r.classification, 'intact', JSON.stringify(r.verification_errors.slice(0, 3)));
    assert.equal(r.entries_checked, 1500);
  });
});
