/**
 * Scanner throughput and accuracy (issue 8 items 5 and 7; SPEC §12: ≥ 10 MB/s of source per core, detection
 * ≥ 99%, benign forbidden ≤ 2%). Baseline in the same process: oxc-parser parsing the same files with nothing else,
 * so `scan_to_parse_ratio` says what the rules, folding and payload decoding cost on top of the parse.
 * Single-threaded, so MB/s is per core.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { extname, join } from 'node:path';
import { parseSync, rawTransferSupported } from 'oxc-parser';
import { analyzeSource, scanTarget } from '../src/scanner/index.ts';
import { benignExampleDirs, measureBenign, measureDetection, measureRealPackages } from '../test/scanner/corpus.ts';
import { benchSync, printResults, relativeTo, writeResults, type BenchResult } from './harness.ts';

function sources(dir: string, out: Array<{ file: string; text: string }> = []): Array<{ file: string; text: string }> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/^\.(ts|tsx|js|mjs|cjs)$/.test(extname(name)) && !name.endsWith('.d.ts')) out.push({ file: p, text: readFileSync(p, 'utf8') });
  }
  return out;
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

export async function run(): Promise<string> {
  const files = benignExampleDirs().flatMap(({ dir }) => sources(dir));
  const bytes = files.reduce((a, f) => a + Buffer.byteLength(f.text), 0);
  const lang = (f: string) => (f.endsWith('.tsx') ? 'tsx' : f.endsWith('.ts') ? 'ts' : 'js');
  const N = 15;

  // oxc-parser builds the JS AST lazily on first access of `.program`; a fair baseline materialises it, as the
  // scanner must. Two baselines: the raw-transfer path the scanner uses, and the default JSON path.
  const parseWith = (extra: object) => () => {
    let nodes = 0;
    for (const f of files)
      nodes += parseSync(`x.${lang(f.file)}`, f.text, { lang: lang(f.file), sourceType: 'unambiguous', ...extra }).program.body.length;
    return nodes;
  };
  const parseJson = benchSync('parse_only (oxc-parser JSON transfer)', N, parseWith({}));
  const parse = benchSync(
    'parse_only (oxc-parser raw transfer, as the scanner)',
    N,
    parseWith(rawTransferSupported() ? { experimentalRawTransfer: true } : {}),
  );

  const scan = relativeTo(
    benchSync('scan (analyzeSource, same sources)', N, () => {
      for (const f of files) analyzeSource(f.text, { file: f.file, lang: lang(f.file) });
    }),
    parse,
  );
  const dirs = benignExampleDirs();
  const t0 = performance.now();
  let extensions = 0;
  for (const { dir } of dirs) extensions += (await scanTarget(dir)).length;
  const coldMs = performance.now() - t0;
  const walls: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    for (const { dir } of dirs) await scanTarget(dir);
    walls.push(performance.now() - t);
  }
  walls.sort((a, b) => a - b);

  const mbps = (r: BenchResult) => bytes / 1e6 / ((r.p50_us ?? Number.NaN) / 1e6);
  // The fastest pass is the least disturbed by other processes on a shared machine; reported next to the p50.
  const bestPassMs = (fn: () => unknown) => {
    let best = Infinity;
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      fn();
      best = Math.min(best, performance.now() - t);
    }
    return best;
  };
  const bestScanMs = bestPassMs(() => {
    for (const f of files) analyzeSource(f.text, { file: f.file, lang: lang(f.file) });
  });
  const bestParseMs = bestPassMs(parseWith(rawTransferSupported() ? { experimentalRawTransfer: true } : {}));
  const scanMbps = mbps(scan);
  const parseMbps = mbps(parse);
  const detection = await measureDetection();
  const benign = await measureBenign();
  // Issue 19 item 5: published pi packages fetched by bench/fixtures/fetch-pi-packages.ts (absent: not fetched).
  const real = await measureRealPackages();
  const results = [parseJson, parse, scan];
  printResults('scanner', results);
  process.stdout.write(
    `  scan ${scanMbps.toFixed(1)} MB/s (best pass ${(bytes / 1e3 / bestScanMs).toFixed(1)}) vs parse-only ${parseMbps.toFixed(1)} MB/s (${(scanMbps / parseMbps).toFixed(2)}×); ` +
      `all ${extensions} shipped examples in ${walls[2]!.toFixed(0)} ms; detection ${(detection.rate * 100).toFixed(1)}% of ${detection.samples}; ` +
      `benign forbidden ${(benign.forbiddenRate * 100).toFixed(1)}%, flagged ${(benign.flaggedRate * 100).toFixed(1)}% of ${benign.extensions}; ` +
      (real === undefined
        ? 'real packages not fetched\n'
        : `real packages forbidden ${(real.forbiddenRate * 100).toFixed(1)}%, flagged ${(real.flaggedRate * 100).toFixed(1)}% of ${real.extensions}\n`),
  );
  return writeResults('scanner', results, {
    note:
      'p50 is one pass over every source file of both pi examples/extensions folders; MB/s = bytes / p50; single thread = per core. ' +
      'best_pass_* use the fastest of 10 passes (least disturbed by other load on a shared VM)',
    corpus_files: files.length,
    corpus_bytes: bytes,
    throughput: {
      scan_mb_per_s: round(scanMbps),
      parse_only_mb_per_s: round(parseMbps),
      scan_to_parse_ratio: round(scanMbps / parseMbps, 3),
      parse_only_json_transfer_mb_per_s: round(mbps(parseJson)),
      best_pass_scan_mb_per_s: round(bytes / 1e3 / bestScanMs),
      best_pass_parse_only_mb_per_s: round(bytes / 1e3 / bestParseMs),
      load_average_1m: round(loadavg()[0]!),
      cores: cpus().length,
      raw_transfer: rawTransferSupported(),
      target_mb_per_s: 10,
      meets_target: scanMbps >= 10,
    },
    scan_all_shipped_examples: {
      extensions,
      packages: dirs.map((d) => d.pkg),
      cold_ms: round(coldMs, 1),
      median_ms: round(walls[2]!, 1),
      note: 'scanTarget on both examples/extensions folders: discovery, file reads, import resolution and analysis',
    },
    accuracy: {
      detection_rate: round(detection.rate, 4),
      detection: `${detection.detected}/${detection.samples}`,
      detection_target: 0.99,
      missed: detection.missed,
      by_rule: detection.byRule,
      benign_extensions: benign.extensions,
      benign_forbidden_rate: round(benign.forbiddenRate, 4),
      benign_forbidden_target: 0.02,
      benign_flagged_rate: round(benign.flaggedRate, 4),
      benign_not_safe: benign.nonSafe,
    },
    real_packages:
      real === undefined
        ? { fetched: false, note: 'run `node bench/fixtures/fetch-pi-packages.ts` first (needs the npm registry)' }
        : {
            fetched: true,
            source: real.source,
            packages: real.packages,
            extensions: real.extensions,
            forbidden_rate: round(real.forbiddenRate, 4),
            flagged_rate: round(real.flaggedRate, 4),
            safe_rate: round(1 - real.forbiddenRate - real.flaggedRate, 4),
            forbidden_target: 0.02,
            not_safe: real.nonSafe,
            skipped: real.skipped,
            not_measured: real.notMeasured,
            note: 'each package with its runtime dependencies (npm install --ignore-scripts), scanned from its pi entries as the loader finds them',
          },
  });
}
