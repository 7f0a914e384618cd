/**
 * The architecture as a test (SPEC §3: data flows down the pipeline and never back up; the allowed imports are
 * checked). Every import of every file under src/ is read with the same parser the scanner uses (static imports,
 * re-exports, and `import('…')` with a literal specifier) and checked against three rules:
 *
 * 1. Folder to folder: an area may import only the areas listed for it in ALLOWED (plus the ground files).
 * 2. A folder's `index.ts` is its face: a file outside an area that has an index.ts imports that index, never a
 *    file behind it.
 * 3. Guest code (src/sandbox/guest/) runs inside the sandbox: it imports only guest code and the pure contract.
 *
 * Tests and benchmarks are not checked: they test internals on purpose.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { parseSync } from 'oxc-parser';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/** Files every area may import: the one error type, value description for messages, path containment, ambient types. */
const GROUND = new Set(['errors.ts', 'describe.ts', 'paths.ts', 'types']);

/** Every area but the CLI and the package face, which may import all of them. */
const EVERY_AREA = [
  'policy',
  'evidence',
  'export',
  'dispatch',
  'trust',
  'mediation',
  'scanner',
  'risk',
  'sandbox',
  'runtime',
  'replay',
  'pi',
  'probe',
  'incident',
  'extensions',
];

/**
 * The allowed folder-to-folder imports, from the bottom of the pipeline up. Adding an arrow here is an
 * architecture change: say why in the commit. The test below also proves this table has no cycle.
 */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  extensions: [],
  policy: [],
  evidence: ['policy'],
  // Fleet export (SPEC §11) reads the store and sends what it holds; the runtime starts it, the CLI reports on it.
  export: ['policy', 'evidence'],
  dispatch: ['policy', 'evidence'],
  trust: ['policy', 'evidence', 'dispatch'],
  mediation: ['policy', 'evidence', 'dispatch'],
  // The scanner classifies commands in exec calls with exec mediation's own classifier (one implementation, issue 19).
  scanner: ['policy', 'mediation', 'extensions'],
  risk: ['policy', 'evidence', 'dispatch', 'trust'],
  sandbox: ['policy', 'evidence', 'dispatch', 'extensions'],
  runtime: ['policy', 'evidence', 'export', 'dispatch', 'trust', 'mediation', 'scanner', 'risk', 'extensions'],
  // Replay recomputes decisions, and knows every reason-code vocabulary (each lives with the stage that emits it).
  replay: ['policy', 'evidence', 'dispatch', 'trust', 'mediation', 'scanner', 'risk', 'sandbox', 'extensions'],
  pi: ['policy', 'evidence', 'export', 'dispatch', 'trust', 'mediation', 'scanner', 'risk', 'sandbox', 'runtime', 'extensions'],
  probe: ['policy', 'evidence', 'export', 'dispatch', 'mediation', 'sandbox', 'runtime', 'pi', 'extensions', 'scanner'],
  // Incident response (issue 21) reads everything below it: the store, replay, trust, policy.
  incident: EVERY_AREA.filter((a) => a !== 'incident'),
  cli: EVERY_AREA,
  // The package's own face re-exports the public API.
  'index.ts': EVERY_AREA,
  // `pi-warden/runtime`: the runtime pieces the bridge is built from, for embedders.
  'embed.ts': EVERY_AREA,
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative specifiers a file imports: static imports, re-exports and literal dynamic imports. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const { module: m, errors } = parseSync(file, text);
  if (errors.length > 0) throw new Error(`${file}: does not parse: ${errors[0]?.message ?? ''}`);
  const specs = [
    ...m.staticImports.map((i) => i.moduleRequest.value),
    ...m.staticExports.flatMap((e) => e.entries.map((x) => x.moduleRequest?.value)).filter((v): v is string => v !== undefined),
  ];
  for (const d of m.dynamicImports) {
    const arg = text.slice(d.moduleRequest.start, d.moduleRequest.end).trim();
    const literal = /^(['"`])([^'"`$]*)\1$/.exec(arg);
    if (literal !== null) specs.push(literal[2] as string);
    else if (arg.startsWith('.') || arg.includes("'.") || arg.includes('".'))
      throw new Error(`${file}: import(${arg}) names a local module by an expression; use a literal`);
  }
  return specs.filter((s) => s.startsWith('.'));
}

/** The area a path under src/ belongs to: its first folder, or the file itself at the top. */
const areaOf = (path: string): string => relative(SRC, path).split(sep)[0] as string;

interface Edge {
  readonly from: string;
  readonly to: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importsOf(file)) out.push({ from: file, to: resolve(dirname(file), spec) });
  }
  return out;
}

const show = (e: Edge) => `${relative(SRC, e.from)} -> ${relative(SRC, e.to)}`;

/** Rule 1. */
export function layerViolations(list: readonly Edge[]): string[] {
  const bad: string[] = [];
  for (const e of list) {
    const a = areaOf(e.from);
    const b = areaOf(e.to);
    if (a === b || GROUND.has(b)) continue;
    if (!(ALLOWED[a] ?? []).includes(b)) bad.push(`${show(e)} (${a} may not import ${b})`);
  }
  return bad;
}

/** Rule 2. */
export function deepImports(list: readonly Edge[]): string[] {
  const bad: string[] = [];
  for (const e of list) {
    const b = areaOf(e.to);
    if (areaOf(e.from) === b || GROUND.has(b) || b.endsWith('.ts')) continue;
    const face = join(SRC, b, 'index.ts');
    if (existsSync(face) && e.to !== face) bad.push(`${show(e)} (import ${relative(SRC, face)} instead)`);
  }
  return bad;
}

/** Rule 3. */
export function guestLeaks(list: readonly Edge[]): string[] {
  const guest = join(SRC, 'sandbox', 'guest') + sep;
  const contract = join(SRC, 'sandbox', 'contract.ts');
  return list.filter((e) => e.from.startsWith(guest) && !e.to.startsWith(guest) && e.to !== contract).map(show);
}

describe('architecture: the allowed imports are checked (SPEC §3)', () => {
  const all = edges();

  it('reads the imports of every source file', () => {
    assert.ok(all.length > 300, `only ${all.length} imports found: the reader is broken`);
    const areas = new Set(all.map((e) => areaOf(e.from)));
    for (const a of Object.keys(ALLOWED))
      if (existsSync(join(SRC, a))) assert.ok(areas.has(a) || a === 'extensions', `no imports read from ${a}`);
  });

  it('every area imports only the areas below it', () => {
    assert.deepEqual(layerViolations(all), []);
    for (const a of new Set(all.map((e) => areaOf(e.from)))) assert.ok(a in ALLOWED || GROUND.has(a), `area ${a} has no entry in ALLOWED`);
  });

  it('the table of allowed imports has no cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const visit = (a: string, path: string[]): void => {
      if (state.get(a) === 'done') return;
      assert.notEqual(state.get(a), 'open', `cycle: ${[...path, a].join(' -> ')}`);
      state.set(a, 'open');
      for (const b of ALLOWED[a] ?? []) visit(b, [...path, a]);
      state.set(a, 'done');
    };
    for (const a of Object.keys(ALLOWED)) visit(a, []);
  });

  it("a folder's index.ts is its face: no imports around it", () => {
    assert.deepEqual(deepImports(all), []);
  });

  it('guest code imports only guest code and the contract', () => {
    assert.deepEqual(guestLeaks(all), []);
  });

  it('the rules flag what they must (each rule fails on a planted violation)', () => {
    const at = (p: string) => join(SRC, ...p.split('/'));
    // evidence must never import dispatch, mediation or trust (it sits below them).
    assert.equal(layerViolations([{ from: at('evidence/writer.ts'), to: at('dispatch/record.ts') }]).length, 1);
    assert.equal(layerViolations([{ from: at('evidence/writer.ts'), to: at('mediation/index.ts') }]).length, 1);
    assert.equal(layerViolations([{ from: at('policy/settings.ts'), to: at('evidence/index.ts') }]).length, 1);
    assert.equal(layerViolations([{ from: at('dispatch/dispatcher.ts'), to: at('errors.ts') }]).length, 0);
    assert.equal(deepImports([{ from: at('runtime/createRuntime.ts'), to: at('dispatch/dispatcher.ts') }]).length, 1);
    assert.equal(deepImports([{ from: at('mediation/fs/scope.ts'), to: at('mediation/fs/paths.ts') }]).length, 0);
    assert.equal(guestLeaks([{ from: at('sandbox/guest/pi.ts'), to: at('sandbox/sandbox.ts') }]).length, 1);
    assert.deepEqual(
      importsOf('x.ts', "import a from './a.ts'; export { b } from '../b.ts'; const c = await import('./c.ts'); import d from 'node:fs';"),
      ['./a.ts', '../b.ts', './c.ts'],
    );
    assert.throws(() => importsOf('x.ts', "const m = await import('./' + name);"), /by an expression/);
  });
});
