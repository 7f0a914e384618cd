/**
 * Scanning a target (SPEC §8.1): a folder, a file, a `.tgz` or an installed package. Its extensions, their ids and
 * entries are `locateExtensions`' answer, the same the sandbox loads (ADR 0026); from each entry the scan follows
 * every file reachable — relative imports and the package's own npm dependencies under its `node_modules` — plus
 * install scripts. Nothing here throws on bad input: an unreadable, binary, oversized or unparsable file, or a
 * target with no entry, is a `scan.input` finding, so the verdict fails closed.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateExtensions, type LocatedExtension } from '../extensions/index.ts';
import { isInside } from '../paths.ts';
import { CAPABILITIES, type Capability } from '../policy/index.ts';
import { analyzeSource } from './analyze.ts';
import { lineIndex, position } from './ast.ts';
import { normalizeModule } from './fold.ts';
import { rule } from './rules.ts';
import { findPackageDir, packageMain, resolveFile, SOURCE_EXT, type PackageJson } from './modules.ts';
import { extractTarball } from './tarball.ts';
import type { CapabilityEvidence, ExtensionReport, Finding } from './types.ts';

export interface ScanOptions {
  readonly maxFileBytes?: number;
  readonly maxFiles?: number;
  /** Base for the file names shown in findings (default: the current directory). */
  readonly displayBase?: string;
  /** Called before each extension of a target is scanned (progress for folders holding many extensions). */
  readonly onExtension?: (id: string, index: number, total: number) => void;
}

export const SCAN_LIMITS = { maxFileBytes: 8 * 1024 * 1024, maxFiles: 5000 } as const;
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preuninstall', 'uninstall', 'postuninstall'];

/** Expands a target into the extensions it holds and scans each. */
export async function scanTarget(target: string, options: ScanOptions = {}): Promise<ExtensionReport[]> {
  const abs = resolve(target);
  let isFile: boolean;
  try {
    isFile = statSync(abs).isFile();
  } catch (err) {
    return [failedTarget(target, `cannot read ${target}: ${errorText(err)}`)];
  }
  if (isFile && /\.(tgz|tar\.gz|tar)$/i.test(abs)) return scanTarball(target, abs, options);
  let entries: LocatedExtension[];
  try {
    entries = locateExtensions(abs);
  } catch (err) {
    return [failedTarget(target, `cannot read ${target}: ${errorText(err)}`)];
  }
  return entries.map((e, i) => {
    options.onExtension?.(e.id, i, entries.length);
    return scanExtension(e, target, options);
  });
}

async function scanTarball(target: string, abs: string, options: ScanOptions): Promise<ExtensionReport[]> {
  let extracted;
  try {
    extracted = await extractTarball(abs);
  } catch (err) {
    return [failedTarget(target, `cannot read ${target}: ${errorText(err)}`)];
  }
  try {
    const root = existsSync(join(extracted.dir, 'package')) ? join(extracted.dir, 'package') : extracted.dir;
    const display = { ...options, displayBase: extracted.dir, displayPrefix: `${target}!/` };
    let located: LocatedExtension[];
    try {
      located = locateExtensions(root);
    } catch (err) {
      return [
        failedTarget(target, extracted.problems.length > 0 ? extracted.problems.join('; ') : `cannot read ${target}: ${errorText(err)}`),
      ];
    }
    const reports = located.map((e) => scanExtension(tarballIdentity(e, root, abs), target, display));
    const problems: Finding[] = extracted.problems.map((p) => inputFinding(`${target}`, p));
    if (problems.length > 0) reports[0] = withFindings(reports[0]!, problems);
    return reports;
  } finally {
    extracted.cleanup();
  }
}

/**
 * A packed package is named by what it will be installed as (`npm:<name>`, its package.json name), not by the
 * temporary folder it was unpacked into; one without a name by the tarball's path.
 */
function tarballIdentity(e: LocatedExtension, root: string, tarball: string): LocatedExtension {
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: unknown }).name;
  } catch {
    name = undefined;
  }
  const base = typeof name === 'string' && name !== '' ? `npm:${name}` : tarball;
  const real = realpathSync(root);
  const id = e.id === real ? base : e.id.startsWith(`${real}/`) ? `${base}/${e.id.slice(real.length + 1)}` : e.id;
  return { ...e, id };
}

type DisplayOptions = ScanOptions & { displayPrefix?: string };

/** Scans one extension already located (a load path has it from `locateExtensions`; no second lookup). */
export function scanLocated(extension: LocatedExtension, options: ScanOptions = {}): ExtensionReport {
  return scanExtension(extension, extension.packageRoot, options);
}

function scanExtension(entry: LocatedExtension, target: string, options: DisplayOptions): ExtensionReport {
  const maxFileBytes = options.maxFileBytes ?? SCAN_LIMITS.maxFileBytes;
  const maxFiles = options.maxFiles ?? SCAN_LIMITS.maxFiles;
  // A relative base (`scan --display-base .`) is taken from the working folder, as the targets are.
  const base = resolve(options.displayBase ?? process.cwd());
  const show = (abs: string) => (options.displayPrefix ?? '') + (isInside(base, abs) ? relative(base, abs) : abs);
  const findings: Finding[] = [];
  const evidence: CapabilityEvidence[] = [];
  const files: string[] = [];
  let bytes = 0;
  const queue: string[] = [];
  const visited = new Set<string>();
  const packagesSeen = new Set<string>();
  const packageRoot = realOrSelf(entry.packageRoot);
  /** The real path of a file outside the extension's package, or undefined when it lies inside. */
  const outsidePackage = (p: string): string | undefined => {
    const real = realOrSelf(p);
    return isInside(packageRoot, real) ? undefined : real;
  };
  const enqueue = (p: string) => {
    let real: string;
    try {
      real = realpathSync(p);
    } catch (err) {
      findings.push(inputFinding(show(p), `cannot resolve ${show(p)}: ${errorText(err)}`));
      return;
    }
    if (!visited.has(real)) {
      visited.add(real);
      queue.push(real);
    }
  };
  const checkPackage = (pkgPath: string) => {
    if (packagesSeen.has(pkgPath)) return;
    packagesSeen.add(pkgPath);
    const r = packageScripts(pkgPath, show(pkgPath));
    findings.push(...r.findings);
    for (const f of r.scriptFiles) enqueue(f);
    if (r.findings.length > 0) files.push(show(pkgPath));
  };
  if (entry.packageJson !== undefined) checkPackage(entry.packageJson);
  for (const e of entry.entries) enqueue(e);

  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.length >= maxFiles) {
      findings.push(inputFinding(show(file), `more than ${maxFiles} files reachable; the rest was not scanned`));
      break;
    }
    const shown = show(file);
    files.push(shown);
    const ext = extname(file).toLowerCase();
    if (ext === '.node') {
      findings.push(
        makeFinding(
          'native.addon',
          shown,
          1,
          1,
          'a native addon binary is reachable from the entry; refused at runtime: the sandbox cannot load native code',
        ),
      );
      continue;
    }
    const lang = SOURCE_EXT[ext];
    if (lang === undefined) continue;
    let source: string;
    try {
      const st = statSync(file);
      if (st.size > maxFileBytes) {
        findings.push(inputFinding(shown, `file is ${st.size} bytes, over the ${maxFileBytes}-byte limit; not scanned`));
        continue;
      }
      const buf = readFileSync(file);
      if (buf.includes(0)) {
        findings.push(inputFinding(shown, 'binary content (NUL bytes) in a source file; not scanned'));
        continue;
      }
      source = buf.toString('utf8');
      bytes += buf.length;
    } catch (err) {
      findings.push(inputFinding(shown, `cannot read: ${errorText(err)}`));
      continue;
    }
    const result = analyzeSource(source, { file: shown, lang });
    findings.push(...result.findings);
    evidence.push(...result.evidence);
    for (const spec of result.imports) {
      // A file: URL names a path like an absolute specifier does (`import('file:///home/u/.ssh/id_rsa')`).
      const fileUrl = /^file:/i.test(spec) ? filePathOf(spec) : undefined;
      if (spec.startsWith('.') || spec.startsWith('/') || fileUrl !== undefined) {
        const wanted = fileUrl ?? resolve(dirname(file), spec);
        const resolved = resolveFile(wanted);
        // The loader refuses it (src/sandbox/loadBoundary.ts); absent here, it may exist where the extension is loaded.
        const leaves = outsidePackage(resolved ?? wanted);
        if (leaves !== undefined) findings.push(leavesPackage(shown, source, spec, leaves, packageRoot));
        else if (resolved !== undefined) enqueue(resolved);
        else if (!/\.(css|svg|png|jpg|md|txt|wasm)$/i.test(spec)) findings.push(unresolved(shown, source, spec));
        continue;
      }
      const name = normalizeModule(spec);
      const pkgName = name.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : name;
      const pkgDir = findPackageDir(dirname(file), entry.root, pkgName);
      if (pkgDir === undefined) continue;
      checkPackage(join(pkgDir, 'package.json'));
      const sub = spec.slice(pkgName.length);
      let target: string | undefined;
      if (sub.startsWith('/')) target = resolveFile(join(pkgDir, sub));
      else {
        let pkg: PackageJson = {};
        try {
          pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as PackageJson;
        } catch {
          findings.push(inputFinding(show(join(pkgDir, 'package.json')), 'package.json is not valid JSON'));
        }
        target = packageMain(pkgDir, pkg);
      }
      if (target === undefined) continue;
      const leaves = outsidePackage(target);
      if (leaves !== undefined) findings.push(leavesPackage(shown, source, spec, leaves, packageRoot));
      else enqueue(target);
    }
  }
  return report(entry.id, target, findings, evidence, files, bytes);
}

/** The path of a `file:` URL; a URL that does not parse names no file the scan can check, so it stays outside. */
function filePathOf(spec: string): string {
  try {
    return fileURLToPath(spec);
  } catch {
    return `/${spec}`;
  }
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function leavesPackage(file: string, source: string, spec: string, real: string, packageRoot: string): Finding {
  const at = Math.max(0, source.indexOf(spec));
  const { line, column } = position(lineIndex(source), at);
  return makeFinding(
    'load.outside-package',
    file,
    line,
    column,
    `'${spec}' resolves to ${real}, outside the extension's package ${packageRoot}; the loader refuses to bundle it`,
  );
}

function unresolved(file: string, source: string, spec: string): Finding {
  const at = Math.max(0, source.indexOf(spec));
  const { line, column } = position(lineIndex(source), at);
  return makeFinding('scan.unresolved-import', file, line, column, `cannot resolve '${spec}'; that code was not scanned`);
}

/** Install scripts of one package.json, and files they run with `node FILE`. */
export function packageScripts(pkgPath: string, shown: string): { findings: Finding[]; scriptFiles: string[] } {
  let text: string;
  let pkg: PackageJson;
  try {
    text = readFileSync(pkgPath, 'utf8');
    pkg = JSON.parse(text) as PackageJson;
  } catch (err) {
    return { findings: [inputFinding(shown, `package.json unreadable or not JSON: ${errorText(err)}`)], scriptFiles: [] };
  }
  const findings: Finding[] = [];
  const scriptFiles: string[] = [];
  const lines = lineIndex(text);
  for (const name of INSTALL_SCRIPTS) {
    const script = pkg.scripts?.[name];
    if (typeof script !== 'string' || script.trim() === '') continue;
    const at = Math.max(0, text.indexOf(`"${name}"`));
    const { line, column } = position(lines, at);
    findings.push(
      makeFinding(
        'package.install-script',
        shown,
        line,
        column,
        `${name} script runs at install: ${script.length > 120 ? `${script.slice(0, 117)}...` : script}`,
      ),
    );
    for (const m of script.matchAll(/\bnode\s+(?:-[^\s]+\s+)*([^\s&|;]+)/g)) {
      const f = resolveFile(resolve(dirname(pkgPath), m[1]!));
      if (f !== undefined) scriptFiles.push(f);
    }
  }
  return { findings, scriptFiles };
}

function makeFinding(ruleId: string, file: string, line: number, column: number, message: string): Finding {
  const r = rule(ruleId);
  return { ruleId, message, file, line, column, capability: r.capability, confidence: r.confidence, classification: r.classification };
}

function inputFinding(file: string, message: string): Finding {
  return makeFinding('scan.input', file, 1, 1, message);
}

function failedTarget(target: string, message: string): ExtensionReport {
  return report(basename(target).replace(/\.(tgz|tar\.gz|ts|js)$/, '') || target, target, [inputFinding(target, message)], [], [], 0);
}

function withFindings(r: ExtensionReport, extra: Finding[]): ExtensionReport {
  return report(
    r.id,
    r.target,
    [...extra, ...r.findings],
    r.capabilities.flatMap((c) => c.evidence),
    [...r.files],
    r.bytes,
  );
}

function report(
  id: string,
  target: string,
  findings: Finding[],
  evidence: CapabilityEvidence[],
  files: string[],
  bytes: number,
): ExtensionReport {
  const verdict = findings.some((f) => f.classification === 'forbidden') ? 'forbidden' : findings.length > 0 ? 'flagged' : 'safe';
  const byCap = new Map<Capability, CapabilityEvidence[]>();
  for (const e of evidence) {
    const list = byCap.get(e.capability) ?? [];
    if (list.length < 5) list.push(e);
    byCap.set(e.capability, list);
  }
  const capabilities = CAPABILITIES.filter((c) => byCap.has(c)).map((c) => ({ capability: c, evidence: byCap.get(c)! }));
  const sorted = [...findings].sort(
    (a, b) =>
      rank(a) - rank(b) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId),
  );
  return { id, target, verdict, findings: sorted, capabilities, files, bytes };
}

function rank(f: Finding): number {
  return f.classification === 'forbidden' ? 0 : 1;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ELOOP'
      ? 'symbolic link loop'
      : code === 'ENOENT'
        ? 'no such file or directory'
        : code === 'EACCES'
          ? 'permission denied'
          : err.message;
  }
  return String(err);
}
