/**
 * The two corpora of issue 8 item 5 and the rates computed by running the scanner over them. Shared by
 * `accuracy.test.ts` (asserts the targets) and `bench/scanner.bench.ts` (writes them to bench/results).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanTarget, type ExtensionReport } from '../../src/scanner/index.ts';

export const MALICIOUS_DIR = fileURLToPath(new URL('../fixtures/scanner/malicious/', import.meta.url));
export const BENIGN_IDIOMS_DIR = fileURLToPath(new URL('../fixtures/scanner/benign/', import.meta.url));

export interface Sample {
  readonly path: string;
  readonly rule: string;
  readonly technique: string;
}

export function maliciousSamples(): Sample[] {
  return (JSON.parse(readFileSync(join(MALICIOUS_DIR, 'manifest.json'), 'utf8')) as { samples: Sample[] }).samples;
}

/** `examples/extensions/` of the pi packages installed as devDependencies (never copied into the repo). */
export function benignExampleDirs(): Array<{ pkg: string; dir: string }> {
  // The packages do not export ./package.json; they are found where npm installed them, next to this repo's own.
  const root = fileURLToPath(new URL('../../node_modules/', import.meta.url));
  return ['@earendil-works/pi-coding-agent', '@mariozechner/pi-coding-agent'].map((pkg) => ({
    pkg,
    dir: join(root, pkg, 'examples', 'extensions'),
  }));
}

export interface DetectionResult {
  readonly samples: number;
  readonly detected: number;
  readonly rate: number;
  readonly missed: ReadonlyArray<{ path: string; rule: string; found: string[] }>;
  readonly byRule: Record<string, { samples: number; detected: number }>;
}

/** A sample counts as detected when its labelled rule fires and no extension in it is judged safe. */
export async function measureDetection(samples: readonly Sample[] = maliciousSamples()): Promise<DetectionResult> {
  const missed: Array<{ path: string; rule: string; found: string[] }> = [];
  const byRule: Record<string, { samples: number; detected: number }> = {};
  let detected = 0;
  for (const s of samples) {
    const reports = await scanTarget(join(MALICIOUS_DIR, s.path), { displayBase: MALICIOUS_DIR });
    const found = reports.flatMap((r) => r.findings.map((f) => f.ruleId));
    const hit = found.includes(s.rule) && reports.every((r) => r.verdict !== 'safe');
    const entry = (byRule[s.rule] ??= { samples: 0, detected: 0 });
    entry.samples++;
    if (hit) {
      detected++;
      entry.detected++;
    } else missed.push({ path: s.path, rule: s.rule, found });
  }
  return { samples: samples.length, detected, rate: detected / samples.length, missed, byRule };
}

export interface BenignResult {
  readonly extensions: number;
  readonly forbidden: number;
  readonly flagged: number;
  readonly forbiddenRate: number;
  readonly flaggedRate: number;
  readonly bytes: number;
  readonly nonSafe: ReadonlyArray<{ pkg: string; id: string; verdict: string; rules: string[] }>;
  readonly reports: readonly ExtensionReport[];
}

export async function measureBenign(): Promise<BenignResult> {
  const reports: ExtensionReport[] = [];
  const nonSafe: Array<{ pkg: string; id: string; verdict: string; rules: string[] }> = [];
  for (const { pkg, dir } of benignExampleDirs()) {
    for (const r of await scanTarget(dir, { displayBase: dir })) {
      reports.push(r);
      if (r.verdict !== 'safe') nonSafe.push({ pkg, id: r.id, verdict: r.verdict, rules: [...new Set(r.findings.map((f) => f.ruleId))] });
    }
  }
  const forbidden = reports.filter((r) => r.verdict === 'forbidden').length;
  const flagged = reports.filter((r) => r.verdict === 'flagged').length;
  return {
    extensions: reports.length,
    forbidden,
    flagged,
    forbiddenRate: forbidden / reports.length,
    flaggedRate: flagged / reports.length,
    bytes: reports.reduce((a, r) => a + r.bytes, 0),
    nonSafe,
    reports,
  };
}

/** The real-package corpus of issue 19 item 5, fetched by bench/fixtures/fetch-pi-packages.ts (never committed). */
export const REAL_CORPUS_DIR = fileURLToPath(new URL('../../bench/.corpus/', import.meta.url));
/** One package's scan is bounded: a package the scanner cannot finish in this time is reported, not waited for. */
export const REAL_PACKAGE_TIMEOUT_MS = 120_000;

export interface RealCorpusResult extends Omit<BenignResult, 'reports'> {
  readonly source: string;
  readonly packages: number;
  readonly skipped: ReadonlyArray<{ name: string; why: string }>;
  /** Packages whose scan did not finish within REAL_PACKAGE_TIMEOUT_MS (left out of the rates). */
  readonly notMeasured: ReadonlyArray<{ name: string; why: string }>;
}

/** Scans every kept package of the fetched corpus, each in a child process; undefined when it has not been fetched. */
export async function measureRealPackages(dir: string = REAL_CORPUS_DIR): Promise<RealCorpusResult | undefined> {
  let manifest: { source: string; packages: Array<{ name: string; dir?: string; kept: boolean; why: string }> };
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'corpus.json'), 'utf8')) as typeof manifest;
  } catch {
    return undefined;
  }
  const reports: Array<{ id: string; verdict: string; bytes: number; rules: string[] }> = [];
  const nonSafe: Array<{ pkg: string; id: string; verdict: string; rules: string[] }> = [];
  const notMeasured: Array<{ name: string; why: string }> = [];
  const kept = manifest.packages.filter((p) => p.kept && p.dir !== undefined);
  const scanOne = fileURLToPath(new URL('./scanOne.ts', import.meta.url));
  for (const p of kept) {
    const root = join(dir, p.dir!);
    const child = spawnSync(process.execPath, [scanOne, root], { encoding: 'utf8', timeout: REAL_PACKAGE_TIMEOUT_MS, maxBuffer: 64 << 20 });
    if (child.status !== 0) {
      notMeasured.push({
        name: p.name,
        why: child.signal !== null ? `scan did not finish in ${REAL_PACKAGE_TIMEOUT_MS / 1000} s` : child.stderr.slice(0, 200),
      });
      continue;
    }
    for (const r of JSON.parse(child.stdout) as typeof reports) {
      reports.push(r);
      if (r.verdict !== 'safe') nonSafe.push({ pkg: p.name, id: relative(root, r.id) || p.name, verdict: r.verdict, rules: r.rules });
    }
  }
  const forbidden = reports.filter((r) => r.verdict === 'forbidden').length;
  const flagged = reports.filter((r) => r.verdict === 'flagged').length;
  return {
    source: manifest.source,
    packages: kept.length - notMeasured.length,
    skipped: manifest.packages.filter((p) => !p.kept).map((p) => ({ name: p.name, why: p.why })),
    notMeasured,
    extensions: reports.length,
    forbidden,
    flagged,
    forbiddenRate: reports.length === 0 ? 0 : forbidden / reports.length,
    flaggedRate: reports.length === 0 ? 0 : flagged / reports.length,
    bytes: reports.reduce((a, r) => a + r.bytes, 0),
    nonSafe,
  };
}
