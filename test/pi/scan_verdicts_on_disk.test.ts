/**
 * Scan verdicts kept on disk (issue 18 item 4): a fresh process answers an unchanged bundle from the verdict an
 * earlier one recorded, and a kept verdict that is in any doubt (edited, another lookup's, a shape the scanner
 * never makes) is scanned again: it can never make a forbidden bundle load.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import { SealedCache } from '../../src/sandbox/index.ts';
import { scanBeforeLoad, ScanVerdictCache, type ExtensionReport } from '../../src/scanner/index.ts';
import { policyFor } from '../helpers.ts';

const EVAL = 'export default function (pi: any) { pi.on("x", (s: string) => eval(s)); }';
const SAFE = 'export default function (pi: any) { pi.on("x", () => 1); }';

/** The real sealed store, recording the lookup of every write (to find and edit the entry a verdict went to). */
class RecordingStore extends SealedCache {
  readonly lookups: string[] = [];
  override write(lookup: string, data: Uint8Array): void {
    this.lookups.push(lookup);
    super.write(lookup, data);
  }
}

const denied = (err: unknown) => isWardenError(err) && err.code === 'denied' && err.reasonCodes.includes('scan_forbidden');

describe('scan verdicts kept on disk (sealed, keyed by scanner and bundle hash)', () => {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-verdicts-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  /** A fresh extension folder, and an empty verdict folder. */
  const setup = (source: string) => {
    n += 1;
    const dir = join(root, `ext-${n}`);
    const path = join(dir, 'index.ts');
    rmSync(dir, { recursive: true, force: true });
    const store = join(root, `scans-${n}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, source);
    return { ext: locateExtensions(path)[0]!, path, store };
  };
  const entryOf = (store: string, lookup: string) => join(store, `${createHash('sha256').update(lookup).digest('hex')}.bin`);

  it('a fresh cache (another process) answers an unchanged bundle from the kept verdict, without scanning', () => {
    const { ext, path, store } = setup(EVAL);
    assert.throws(() => scanBeforeLoad(ext, 'hash-1', policyFor({}), new ScanVerdictCache(new SealedCache(store))), denied);
    // The source no longer evals; the bundle hash is unchanged, so the kept verdict answers (a scan would say safe).
    writeFileSync(path, SAFE);
    assert.throws(() => scanBeforeLoad(ext, 'hash-1', policyFor({}), new ScanVerdictCache(new SealedCache(store))), denied);
    const other = scanBeforeLoad(ext, 'hash-2', policyFor({}), new ScanVerdictCache(new SealedCache(store)));
    assert.deepEqual([other.report.verdict, other.cached], ['safe', false]);
    assert.equal(scanBeforeLoad(ext, 'hash-2', policyFor({}), new ScanVerdictCache(new SealedCache(store))).cached, true);
  });

  it('an edited verdict (forbidden rewritten to safe) does not authenticate: the bundle is scanned again and refused', () => {
    const { ext, store } = setup(EVAL);
    const recording = new RecordingStore(store);
    assert.throws(() => scanBeforeLoad(ext, 'hash-1', policyFor({}), new ScanVerdictCache(recording)), denied);
    const file = entryOf(store, recording.lookups[0]!);
    const sealed = readFileSync(file);
    const report = JSON.parse(sealed.subarray(32).toString('utf8')) as ExtensionReport;
    assert.equal(report.verdict, 'forbidden');
    const safe = { ...report, verdict: 'safe', findings: [] };
    writeFileSync(file, Buffer.concat([sealed.subarray(0, 32), Buffer.from(JSON.stringify(safe))]));
    assert.throws(() => scanBeforeLoad(ext, 'hash-1', policyFor({}), new ScanVerdictCache(new SealedCache(store))), denied);
  });

  it("another bundle's intact verdict copied over this one's is not this one's: scanned again and refused", () => {
    const { ext: bad, store } = setup(EVAL);
    const recording = new RecordingStore(store);
    assert.throws(() => scanBeforeLoad(bad, 'bad-hash', policyFor({}), new ScanVerdictCache(recording)), denied);
    const { ext: good } = setup(SAFE);
    assert.equal(scanBeforeLoad(good, 'good-hash', policyFor({}), new ScanVerdictCache(recording)).report.verdict, 'safe');
    const [badLookup, goodLookup] = recording.lookups;
    copyFileSync(entryOf(store, goodLookup!), entryOf(store, badLookup!));
    assert.throws(() => scanBeforeLoad(bad, 'bad-hash', policyFor({}), new ScanVerdictCache(new SealedCache(store))), denied);
  });

  it('an authentic entry in a shape the scanner never makes (a forbidden finding under a safe verdict, another id) is rescanned', () => {
    const { ext, store } = setup(EVAL);
    const recording = new RecordingStore(store);
    assert.throws(() => scanBeforeLoad(ext, 'hash-1', policyFor({}), new ScanVerdictCache(recording)), denied);
    const lookup = recording.lookups[0]!;
    const report = JSON.parse(readFileSync(entryOf(store, lookup)).subarray(32).toString('utf8')) as ExtensionReport;
    for (const odd of [
      { ...report, verdict: 'safe' },
      { ...report, id: 'someone-else', verdict: 'safe', findings: [] },
      { ...report, verdict: 'harmless', findings: [] },
      { ...report, findings: null },
    ]) {
      new SealedCache(store).write(lookup, Buffer.from(JSON.stringify(odd)));
      assert.throws(
        () => scanBeforeLoad(ext, 'hash-1', policyFor({}), new ScanVerdictCache(new SealedCache(store))),
        denied,
        `expected ${JSON.stringify(odd).slice(0, 80)} to be rescanned and refused`,
      );
    }
  });
});
