/**
 * Bundling an extension that awaits at top level (issue 23 item 5): esbuild cannot put top-level await in a CommonJS
 * script, so such an extension becomes one ES module; every other extension stays a script. What holds for a script
 * bundle holds for a module bundle: the load boundary, the disk cache and its authentication, the scan of the same
 * files, and no import left for the engine's module loader to resolve.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { bundleEntry, clearBundleCache } from '../../src/sandbox/index.ts';
import { scanTarget } from '../../src/scanner/index.ts';
import { fixture } from './harness.ts';

const TLA_DEPENDENCY = fixture('tla-dependency/index.ts');

/** A package folder with these files (paths relative to it). */
function pkg(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-tla-bundle-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Rewrites the one stored entry's bundle and re-signs it with the cache's own key (a forger who has it). */
function resign(cacheDir: string, edit: (bundle: Record<string, unknown>) => void): void {
  const [name] = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
  assert.ok(name !== undefined, `expected a cache entry in ${cacheDir}`);
  const path = join(cacheDir, name);
  const file = JSON.parse(readFileSync(path, 'utf8')) as { body: string };
  const body = JSON.parse(file.body) as { bundle: Record<string, unknown> };
  edit(body.bundle);
  const text = JSON.stringify(body);
  const mac = createHmac('sha256', readFileSync(join(cacheDir, 'key')))
    .update(text)
    .digest('hex');
  writeFileSync(path, JSON.stringify({ body: text, mac }));
}

describe('an extension that awaits at top level is bundled as one ES module', () => {
  it('a dependency or the extension itself awaiting at top level makes a module; an extension without stays a script', async () => {
    clearBundleCache();
    const dependency = await bundleEntry(TLA_DEPENDENCY);
    assert.equal(dependency.format, 'esm');
    assert.match(dependency.code, /^export \{\n {2}index_default as default\n\};$/m);
    const own = await bundleEntry(
      join(pkg({ 'ext.ts': 'const t = await Promise.resolve(1);\nexport default function () { void t; }\n' }), 'ext.ts'),
    );
    assert.equal(own.format, 'esm');
    const plain = await bundleEntry(fixture('benign.ts'));
    assert.equal(plain.format, 'cjs');
    assert.doesNotMatch(plain.code, /^(export|import) /m);
  });

  it('no import statement is left in a module bundle: built-ins and host packages come from the guest require', async () => {
    clearBundleCache();
    const bundle = await bundleEntry(TLA_DEPENDENCY);
    assert.doesNotMatch(bundle.code, /^\s*import\b/m, 'an import would reach the engine module loader, which serves nothing else');
    for (const name of ['@sinclair/typebox', 'node:path', 'node:os', 'node:fs/promises'])
      assert.ok(bundle.code.includes(`globalThis.require(${JSON.stringify(name)})`), `${name} is served by the guest's require`);
  });

  it('its inputs are the files it was built from, the same files the scanner scans', async () => {
    clearBundleCache();
    const bundle = await bundleEntry(TLA_DEPENDENCY);
    assert.deepEqual([...bundle.inputs].sort(), ['index.ts', 'node_modules/slow-config/index.js']);
    const [report] = await scanTarget(dirname(TLA_DEPENDENCY));
    const scanned = (report?.files ?? []).map((f) => relative(dirname(TLA_DEPENDENCY), f)).sort();
    assert.deepEqual(scanned, [...bundle.inputs].sort());
    assert.ok(
      report?.capabilities.some((c) => c.capability === 'read' && c.evidence.some((e) => e.file.endsWith('slow-config/index.js'))),
      "the scan sees the dependency's top-level read",
    );
  });

  it('a later process reuses a module bundle from disk, format and all', async () => {
    const dir = pkg({
      'package.json': '{"name":"tla-cached","type":"module"}',
      'ext.ts':
        "import { readFileSync } from 'node:fs';\nconst t = await Promise.resolve(readFileSync);\nexport default function () { void t; }\n",
    });
    const cacheDir = join(dir, '.cache');
    clearBundleCache();
    const first = await bundleEntry(join(dir, 'ext.ts'), { cacheDir });
    clearBundleCache();
    const second = await bundleEntry(join(dir, 'ext.ts'), { cacheDir });
    assert.deepEqual([first.fromCache, second.fromCache], [false, true]);
    assert.deepEqual([second.format, second.code, second.bundleHash], ['esm', first.code, first.bundleHash]);
  });

  it('a signed disk entry whose format is not one the sandbox knows is a miss, rebuilt, never run', async () => {
    const dir = pkg({ 'package.json': '{"name":"tla-forged"}', 'ext.ts': 'await 0;\nexport default function () {}\n' });
    const cacheDir = join(dir, '.cache');
    clearBundleCache();
    await bundleEntry(join(dir, 'ext.ts'), { cacheDir });
    resign(cacheDir, (b) => {
      b.format = 'script';
    });
    clearBundleCache();
    const again = await bundleEntry(join(dir, 'ext.ts'), { cacheDir });
    assert.deepEqual([again.fromCache, again.format], [false, 'esm']);
  });

  it('the load boundary holds for a module bundle: an import leaving the package is refused, naming it', async () => {
    const outside = pkg({ 'secret.js': 'export const key = "outside";\n' });
    const dir = pkg({
      'package.json': '{"name":"tla-escapes"}',
      'ext.ts': `const { key } = await import(${JSON.stringify(join(outside, 'secret.js'))});\nexport default function () { void key; }\n`,
    });
    clearBundleCache();
    await assert.rejects(bundleEntry(join(dir, 'ext.ts')), (err: Error & { code?: string; reasonCodes?: string[] }) => {
      assert.equal(err.code, 'denied', err.message);
      assert.ok(err.reasonCodes?.includes('outside_package'), `expected outside_package, found ${JSON.stringify(err.reasonCodes)}`);
      assert.ok(err.message.includes(JSON.stringify(join(outside, 'secret.js'))), err.message);
      return true;
    });
  });

  it("the module build reads every file again under the same byte limit, counted afresh, not on top of the script build's", async () => {
    const padding = `// ${'x'.repeat(4000)}\n`;
    const dir = pkg({ 'ext.ts': `${padding}await 0;\nexport default function () {}\n` });
    const size = statSync(join(dir, 'ext.ts')).size;
    clearBundleCache();
    const bundle = await bundleEntry(join(dir, 'ext.ts'), { limits: { totalBytes: Math.ceil(size * 1.5) } });
    assert.equal(bundle.format, 'esm');
    clearBundleCache();
    await assert.rejects(bundleEntry(join(dir, 'ext.ts'), { limits: { totalBytes: size - 1 } }), /bundle_too_large|total at most/);
  });
});
