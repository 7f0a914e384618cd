import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { regenerate } from '../../bench/report.ts';
import { runEach } from '../../bench/run.ts';

describe('bench/run.ts: each suite in its own process', () => {
  it('a suite that crashes its process is reported and the suites after it still run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-bench-run-'));
    const out = join(dir, 'ok.json');
    writeFileSync(join(dir, 'crash.ts'), 'export async function run() { process.abort(); }\n');
    writeFileSync(join(dir, 'throws.ts'), 'export async function run() { throw new Error("suite failed"); }\n');
    writeFileSync(
      join(dir, 'ok.ts'),
      `import { writeFileSync } from 'node:fs';\nexport async function run() { writeFileSync(${JSON.stringify(out)}, '{}'); return ${JSON.stringify(out)}; }\n`,
    );
    const failed = runEach([
      ['crash', join(dir, 'crash.ts')],
      ['throws', join(dir, 'throws.ts')],
      ['ok', join(dir, 'ok.ts')],
    ]);
    assert.deepEqual(failed, ['crash (SIGABRT)', 'throws (exit 1)']);
    assert.ok(existsSync(out), 'expected the suite after the failed ones to have written its results');
  });
});

describe('bench/report.ts: figures regenerated from the recorded results', () => {
  const recorded = {
    suite: 'bridge',
    node: 'v24.0.0',
    platform: 'linux-x64',
    date: '2026-12-06T15:00:00.000Z',
    machine: { cpus: 2, load_average_start: [3.25, 2, 1], load_average_end: [4.5, 2, 1] },
    first_extension_load_ms: 120,
    load_150_s: 2.5,
    results: [{ name: 'one event', p50_us: 41.5, p99_us: 1234.5, ops_per_s: 20000, iterations: 10 }],
  };

  it('replaces a block with the run it was recorded from: date, load average, rows and target fields', () => {
    const doc = '# x\n\n<!-- results: bridge -->\nold typed figures 1.0 ms\n<!-- /results -->\n\nprose\n';
    const text = regenerate(doc, (s) => (s === 'bridge' ? recorded : undefined));
    assert.doesNotMatch(text, /old typed figures/);
    assert.match(
      text,
      /recorded 2026-12-06 15:00 UTC, Node v24\.0\.0 on linux-x64, 2 CPUs; load average \(1 min\) 3\.25 at the start, 4\.50 at the end/,
    );
    assert.match(text, /\| one event \| 41\.5 µs \| 1\.23 ms \| 20,000 \|/);
    assert.match(text, /\| `first_extension_load_ms` \| [^|]+ \| 120 \| ≤ 150 \| yes \|/);
    assert.match(text, /\| `load_150_s` \| [^|]+ \| 2\.5 \| ≤ 1\.5 \| \*\*no\*\* \|/);
    assert.match(text, /\| `turn_added_us_p50` \| [^|]+ \| not recorded \|/);
    assert.ok(text.endsWith('<!-- /results -->\n\nprose\n'));
    assert.equal(
      regenerate(text, (s) => (s === 'bridge' ? recorded : undefined)),
      text,
      'expected regenerating to be stable',
    );
  });

  it('a block whose results file is missing says so instead of keeping old figures', () => {
    const text = regenerate('<!-- results: policy -->\n| x | 1 µs |\n<!-- /results -->', () => undefined);
    assert.equal(text, '<!-- results: policy -->\n`bench/results/policy.json` has not been recorded yet.\n<!-- /results -->');
  });

  it('docs/benchmarks.md is what the recorded results generate (no figure in a block typed or stale)', () => {
    const root = join(import.meta.dirname, '..', '..');
    const doc = readFileSync(join(root, 'docs', 'benchmarks.md'), 'utf8');
    const read = (suite: string) => {
      const file = join(root, 'bench', 'results', `${suite}.json`);
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
    };
    assert.equal(regenerate(doc, read), doc, 'run `npm run bench:report`');
  });
});
