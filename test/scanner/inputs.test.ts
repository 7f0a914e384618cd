/**
 * Targets and bad input (issue 8 item 1): folders, files, tarballs and installed packages are followed from the
 * entry; missing, binary, oversized, unparsable, looping and broken inputs end in a `scan.input` finding naming the
 * file and the cause — never a crash and never "safe".
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';
import { scanTarget } from '../../src/scanner/index.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-scan-test-'));
  roots.push(root);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

const HELLO = "export default function (pi) { pi.registerCommand('hi', { handler: async () => {} }); }\n";

/** A one-entry ustar archive with any name, including ones `tar` itself refuses to write. */
function rawTar(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\x0000', 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  body.write(content);
  return gzipSync(Buffer.concat([header, body, Buffer.alloc(1024)]));
}

describe('scan targets', () => {
  it("follows package.json pi.extensions, relative imports and the package's own dependencies", async () => {
    const root = tree({
      'package.json': JSON.stringify({ name: 'my-ext', pi: { extensions: ['./src/main.ts'] } }),
      'src/main.ts': "import { go } from './lib/go.js';\nimport dep from 'dep';\nexport default () => { go(); dep(); };\n",
      'src/lib/go.ts': "export const go = () => globalThis['ev' + 'al']('1');\n",
      'node_modules/dep/package.json': JSON.stringify({ name: 'dep', main: 'main.js' }),
      'node_modules/dep/main.js': "module.exports = () => require('net').connect(1);\n",
      'unreachable.ts': "require('vm');\n",
    });
    const [r] = await scanTarget(root, { displayBase: root });
    assert.equal(r!.id, realpathSync(root));
    assert.equal(r!.verdict, 'forbidden');
    assert.deepEqual([...r!.files].sort(), ['node_modules/dep/main.js', 'src/lib/go.ts', 'src/main.ts']);
    const where = r!.findings.map((f) => `${f.ruleId}@${f.file}`).sort();
    assert.deepEqual(where, ['code.eval@src/lib/go.ts', 'net.raw-socket@node_modules/dep/main.js']);
  });

  it('takes a relative display base from the working folder instead of failing', async () => {
    const root = tree({ 'package.json': JSON.stringify({ name: 'x', pi: { extensions: ['./index.ts'] } }), 'index.ts': HELLO });
    const [r] = await scanTarget(root, { displayBase: relative(process.cwd(), root) });
    assert.deepEqual([...r!.files], ['index.ts']);
  });

  it('scans a folder without an entry of its own as one extension per file or sub-folder', async () => {
    const root = tree({ 'a.ts': HELLO, 'b.js': "require('child_process');\n", 'c/index.ts': HELLO, 'notes.md': '# x' });
    const reports = await scanTarget(root);
    assert.deepEqual(
      reports.map((r) => `${basename(r.id)}:${r.verdict}`),
      ['a.ts:safe', 'b.js:flagged', 'c:safe'],
    );
  });

  it('reports install scripts and scans the file a postinstall runs', async () => {
    const root = tree({
      'package.json': JSON.stringify({ name: 'x', scripts: { postinstall: 'node scripts/setup.js', test: 'node --test' } }),
      'index.js': HELLO,
      'scripts/setup.js': "require('fs').appendFileSync(require('os').homedir() + '/.zshrc', 'x');\n",
    });
    const [r] = await scanTarget(root, { displayBase: root });
    assert.deepEqual(
      r!.findings.map((f) => `${f.ruleId}@${f.file}:${f.line}`),
      ['fs.sensitive-write@scripts/setup.js:1', 'package.install-script@package.json:1'],
    );
  });

  it('scans a .tgz tarball from npm pack layout', async () => {
    const src = tree({
      'package/package.json': JSON.stringify({ name: 'packed-ext', main: 'index.js' }),
      'package/index.js': "require('vm');\n",
    });
    const tgz = join(src, 'packed-ext-1.0.0.tgz');
    await create({ gzip: true, file: tgz, cwd: src }, ['package']);
    const [r] = await scanTarget(tgz);
    assert.equal(r!.id, 'npm:packed-ext', 'a packed package is named as npm will install it');
    assert.equal(r!.verdict, 'forbidden');
    assert.ok(r!.findings[0]!.file.endsWith('.tgz!/package/index.js'), r!.findings[0]!.file);
  });
});

describe('scan of bad input fails closed with a finding naming the file and cause', () => {
  const expectInput = (r: { verdict: string; findings: readonly { ruleId: string; message: string; file: string }[] }, cause: RegExp) => {
    assert.equal(r.verdict, 'forbidden');
    const f = r.findings.find((x) => x.ruleId === 'scan.input');
    assert.ok(f, JSON.stringify(r.findings));
    assert.match(f.message, cause);
  };

  it('a missing path', async () => {
    const [r] = await scanTarget('/nonexistent/pi-warden/ext');
    expectInput(r!, /no such file/);
  });

  it('an unparsable source file', async () => {
    const root = tree({ 'index.ts': 'export default function ( {\n' });
    const [r] = await scanTarget(root);
    expectInput(r!, /cannot parse/);
  });

  it('a binary file posing as source', async () => {
    const root = tree({ 'index.js': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]) });
    const [r] = await scanTarget(root);
    expectInput(r!, /binary/);
  });

  it('a file over the size limit', async () => {
    const root = tree({ 'index.js': `${'// padding\n'.repeat(2000)}` });
    const [r] = await scanTarget(root, { maxFileBytes: 1000 });
    expectInput(r!, /over the 1000-byte limit/);
  });

  it('a symbolic link loop', async () => {
    const root = tree({ 'index.ts': "import './loop/a.js';\n" });
    mkdirSync(join(root, 'loop'));
    symlinkSync(join(root, 'loop', 'b.js'), join(root, 'loop', 'a.js'));
    symlinkSync(join(root, 'loop', 'a.js'), join(root, 'loop', 'b.js'));
    const [r] = await scanTarget(root);
    assert.notEqual(r!.verdict, 'safe');
    assert.ok(
      r!.findings.some((f) => /loop|resolve/.test(f.message)),
      JSON.stringify(r!.findings),
    );
  });

  it("source nested deeper than the parser's stack allows (a crash in native code otherwise)", async () => {
    const root = tree({
      'index.js': `x = ${'('.repeat(100_000)}a${')'.repeat(100_000)};\n`,
      'unary.js': `y = ${'!'.repeat(50_000)}a;\n`,
    });
    const [r] = await scanTarget(join(root, 'index.js'));
    expectInput(r!, /nesting about \d+ levels deep/);
    const [u] = await scanTarget(join(root, 'unary.js'));
    expectInput(u!, /nesting about \d+ levels deep/);
  });

  it('brackets inside strings, comments, templates and regular expressions do not count as nesting', async () => {
    const many = '('.repeat(5000);
    const root = tree({
      'index.js': `const a = '${many}';\n// ${many}\nconst b = \`${many}\`;\nconst c = /\\(${'\\('.repeat(3000)}/;\nexport default a + b + c;\n`,
    });
    const [r] = await scanTarget(join(root, 'index.js'));
    assert.equal(r!.verdict, 'safe', JSON.stringify(r!.findings));
  });

  it('a relative import that does not resolve is flagged, not ignored', async () => {
    const root = tree({ 'index.ts': "import { x } from './missing.js';\nx();\n" });
    const [r] = await scanTarget(root);
    assert.equal(r!.verdict, 'flagged');
    assert.equal(r!.findings[0]!.ruleId, 'scan.unresolved-import');
  });

  it('a broken tarball', async () => {
    const root = tree({ 'broken.tgz': Buffer.from('this is not gzip at all') });
    const [r] = await scanTarget(join(root, 'broken.tgz'));
    expectInput(r!, /broken archive|no extension entry/);
  });

  it('a tarball entry that climbs out with .. is not extracted and is reported', async () => {
    const root = tree({ 'evil.tgz': rawTar('package/../../escaped.js', "require('vm')") });
    const [r] = await scanTarget(join(root, 'evil.tgz'));
    expectInput(r!, /escapes the package/);
    assert.equal(existsSync(join(tmpdir(), 'escaped.js')), false);
  });
});
