/**
 * The load boundary (issue 15 item 1, ADR 0021): bundling reads only regular files inside the extension's package
 * root, never a credential store even there, within size and time limits; a refusal stops the load naming the
 * import and never quoting a file. Fixtures are built in a temporary agent-dir layout, with a secret that must not
 * appear in any bundle or error.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { BUNDLE_LIMITS, bundleEntry, clearBundleCache } from '../../src/sandbox/index.ts';
import { isScanRuleReason, RULES, scanTarget } from '../../src/scanner/index.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { probeExtension } from '../../src/probe/probe.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture } from './harness.ts';

const SECRET = `sk-ant-api03-${Math.random().toString(36).slice(2)}-never-bundled`;

interface Layout {
  /** ~/.pi/agent */
  readonly agent: string;
  /** ~/.pi/agent/extensions/x */
  readonly ext: string;
  readonly home: string;
}

/** A home with pi's agent folder holding credentials, and one folder extension `x` with the given files. */
function layout(files: Record<string, string>): Layout {
  const home = mkdtempSync(join(tmpdir(), 'pi-warden-boundary-'));
  const agent = join(home, '.pi', 'agent');
  const ext = join(agent, 'extensions', 'x');
  mkdirSync(ext, { recursive: true });
  mkdirSync(join(home, '.ssh'));
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(agent, 'auth.json'), JSON.stringify({ anthropic: { type: 'api_key', key: SECRET } }));
  writeFileSync(join(agent, 'notes.md'), `# notes\n${SECRET}\n`);
  writeFileSync(join(agent, 'notes.txt'), `${SECRET}\n`);
  writeFileSync(join(agent, 'id_rsa'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET}\n`);
  writeFileSync(join(home, '.ssh', 'id_rsa'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET}\n`);
  writeFileSync(join(home, '.aws', 'credentials.json'), JSON.stringify({ aws_secret_access_key: SECRET }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(ext, name)), { recursive: true });
    writeFileSync(join(ext, name), text);
  }
  return { home, agent, ext };
}

const FACTORY = 'export default function (pi: unknown) { void pi; }\n';

/** Bundling must reject with `reason`, naming the import and its importer, and quoting no file. */
async function refused(entry: string, reason: string, specifier: string, importer = entry): Promise<void> {
  clearBundleCache();
  await assert.rejects(bundleEntry(entry), (err: Error & { code?: string; reasonCodes?: string[] }) => {
    assert.ok(err.reasonCodes?.includes(reason), `expected reason ${reason}, found ${JSON.stringify(err.reasonCodes)}: ${err.message}`);
    assert.ok(err.message.includes(JSON.stringify(specifier)), `the error names the import ${specifier}: ${err.message}`);
    assert.ok(err.message.includes(` in ${importer}:`), `the error names the importing file ${importer}: ${err.message}`);
    assert.ok(!err.message.includes(SECRET), 'the error quotes no file content');
    return true;
  });
}

describe('bundling reads only the extension package', () => {
  it('a package that stays inside itself bundles its JSON, text and markdown (the boundary is not a blanket refusal)', async () => {
    const { ext } = layout({
      'package.json': '{"name":"x"}',
      'index.ts': `import d from './data.json'; import t from './a.txt'; import m from './b.md'; import r from './raw' with { type: 'text' };\nexport const all = [d, t, m, r];\n${FACTORY}`,
      'data.json': '{"ok":1}',
      'a.txt': 'plain',
      'b.md': '# doc',
      raw: 'raw text',
    });
    clearBundleCache();
    const bundle = await bundleEntry(join(ext, 'index.ts'));
    assert.match(bundle.code, /raw text/);
    assert.deepEqual([...bundle.inputs].sort(), ['a.txt', 'b.md', 'data.json', 'index.ts', 'raw']);
  });

  it('the hostile fixture (JSON, markdown, `with { type: text }` and try/catch require of host files) does not load', async () => {
    const { ext } = layout({});
    cpSync(fixture('hostile/bundle-reads-host'), ext, { recursive: true });
    await refused(join(ext, 'index.ts'), 'outside_package', '../../auth.json');
  });

  it('a JSON import of ../../auth.json from an agent-dir extension is refused', async () => {
    const { ext } = layout({ 'index.ts': `import a from '../../auth.json';\nexport const x = a;\n${FACTORY}` });
    await refused(join(ext, 'index.ts'), 'outside_package', '../../auth.json');
  });

  it('.txt and .md imports of host files are refused', async () => {
    const { ext } = layout({
      'package.json': '{"name":"x"}',
      'index.ts': `import t from './t.ts';\nexport const x = t;\n${FACTORY}`,
      't.ts': `import n from '../../notes.txt';\nexport default n;\n`,
      'm.ts': `import n from '../../notes.md';\nexport default n;\n`,
      'md.ts': `import n from './m.ts';\nexport const y = n;\n${FACTORY}`,
    });
    await refused(join(ext, 'index.ts'), 'outside_package', '../../notes.txt', join(ext, 't.ts'));
    await refused(join(ext, 'md.ts'), 'outside_package', '../../notes.md', join(ext, 'm.ts'));
  });

  it("an import `with { type: 'text' }` of a host file without extension (a private key) is refused", async () => {
    const { ext } = layout({ 'index.ts': `import k from '../../id_rsa' with { type: 'text' };\nexport const x = k;\n${FACTORY}` });
    await refused(join(ext, 'index.ts'), 'outside_package', '../../id_rsa');
  });

  it('a symlink inside the package pointing out of it is refused (paths are checked after resolving links)', async () => {
    const { ext, home } = layout({ 'index.ts': `import k from './key.txt';\nexport const x = k;\n${FACTORY}` });
    symlinkSync(join(home, '.ssh', 'id_rsa'), join(ext, 'key.txt'));
    await refused(join(ext, 'index.ts'), 'outside_package', './key.txt');
  });

  it('require() of candidates inside try/catch is refused, not skipped (a refused read stops the load)', async () => {
    const { ext } = layout({
      'index.ts':
        `let found: unknown;\n` +
        `try { found = require('../../../../.ssh/nothing-here.json'); } catch { found = undefined; }\n` +
        `try { found = require('../../../../.aws/credentials.json'); } catch { found = undefined; }\n` +
        `export const x = found;\n${FACTORY}`,
    });
    await refused(join(ext, 'index.ts'), 'outside_package', '../../../../.aws/credentials.json');
  });

  it('a dependency resolved from a node_modules above the package is refused; the package’s own is bundled', async () => {
    const { ext, agent } = layout({
      'package.json': '{"name":"x"}',
      'index.ts': `import dep from 'leftpad-ish';\nexport const x = dep;\n${FACTORY}`,
    });
    mkdirSync(join(agent, 'node_modules', 'leftpad-ish'), { recursive: true });
    writeFileSync(join(agent, 'node_modules', 'leftpad-ish', 'package.json'), '{"name":"leftpad-ish","main":"index.js"}');
    writeFileSync(join(agent, 'node_modules', 'leftpad-ish', 'index.js'), `module.exports = ${JSON.stringify(SECRET)};`);
    await refused(join(ext, 'index.ts'), 'outside_package', 'leftpad-ish');
    mkdirSync(join(ext, 'node_modules', 'leftpad-ish'), { recursive: true });
    writeFileSync(join(ext, 'node_modules', 'leftpad-ish', 'package.json'), '{"name":"leftpad-ish","main":"index.js"}');
    writeFileSync(join(ext, 'node_modules', 'leftpad-ish', 'index.js'), 'module.exports = "own copy";');
    clearBundleCache();
    assert.match((await bundleEntry(join(ext, 'index.ts'))).code, /own copy/);
  });

  it('a credential file inside the package (.env, .npmrc) is refused', async () => {
    const { ext } = layout({
      'index.ts': `import e from './.env' with { type: 'text' };\nexport const x = e;\n${FACTORY}`,
      'npm.ts': `import n from './.npmrc' with { type: 'text' };\nexport const x = n;\n${FACTORY}`,
      'package.json': '{"name":"x"}',
      '.env': `TOKEN=${SECRET}\n`,
      '.npmrc': `//registry.npmjs.org/:_authToken=${SECRET}\n`,
    });
    await refused(join(ext, 'index.ts'), 'sensitive_place', './.env');
    await refused(join(ext, 'npm.ts'), 'sensitive_place', './.npmrc');
  });

  it('an imported FIFO is refused from its stat, without opening it (bundling does not hang)', async () => {
    const { ext } = layout({ 'index.ts': `import p from './pipe.txt';\nexport const x = p;\n${FACTORY}` });
    execFileSync('mkfifo', [join(ext, 'pipe.txt')]);
    // A watchdog, not a timing assertion: without the fix the bundling never settles and the test must still end.
    let watchdog: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      watchdog = setTimeout(() => reject(new Error('bundling hung on a FIFO')), 20_000);
    });
    try {
      await Promise.race([refused(join(ext, 'index.ts'), 'not_regular_file', './pipe.txt'), hung]);
    } finally {
      clearTimeout(watchdog);
    }
  });

  it('a file over the per-file limit is refused unread; the total and time limits stop the bundling too', async () => {
    const { ext } = layout({
      'package.json': '{"name":"x"}',
      'index.ts': `import b from './big.json';\nexport const x = b;\n${FACTORY}`,
      'two.ts': `import a from './a.txt'; import b from './b.txt';\nexport const x = [a, b];\n${FACTORY}`,
      'a.txt': 'a'.repeat(600),
      'b.txt': 'b'.repeat(600),
    });
    writeFileSync(join(ext, 'big.json'), '');
    truncateSync(join(ext, 'big.json'), BUNDLE_LIMITS.fileBytes + 1);
    await refused(join(ext, 'index.ts'), 'file_too_large', './big.json');
    clearBundleCache();
    await assert.rejects(
      bundleEntry(join(ext, 'two.ts'), { limits: { totalBytes: 1_000 } }),
      (err: Error & { reasonCodes?: string[] }) => err.reasonCodes?.includes('bundle_too_large') === true,
    );
    clearBundleCache();
    await assert.rejects(
      bundleEntry(join(ext, 'two.ts'), { limits: { timeMs: 0 } }),
      (err: Error & { code?: string; reasonCodes?: string[] }) => {
        assert.equal(err.code, 'timeout');
        assert.ok(err.reasonCodes?.includes('bundle_timeout'));
        return true;
      },
    );
  });

  it("esbuild's error texts are stripped of what they quote from a file", async () => {
    // esbuild quotes the token it stumbled on: `Expected ";" but found "<token>"`.
    const token = `tok${SECRET.replace(/[^A-Za-z0-9]/g, '')}`;
    const { ext } = layout({ 'package.json': '{"name":"x"}', 'index.ts': `export const x = 1 ${token};\n${FACTORY}` });
    clearBundleCache();
    await assert.rejects(bundleEntry(join(ext, 'index.ts')), (err: Error) => {
      assert.match(err.message, /index\.ts:1:\d+: Expected/);
      assert.ok(!err.message.includes(token), `the error quotes no file content: ${err.message}`);
      return true;
    });
  });
});

describe('the scanner reports an import that leaves the package', () => {
  it('the hostile fixture is forbidden, with load.outside-package at each import of a host file', async () => {
    const { ext } = layout({});
    cpSync(fixture('hostile/bundle-reads-host'), ext, { recursive: true });
    const [report] = await scanTarget(ext);
    assert.equal(report?.verdict, 'forbidden');
    const leaving = (report?.findings ?? []).filter((f) => f.ruleId === 'load.outside-package');
    for (const spec of ['../../auth.json', '../../notes.md', '../../id_rsa', '../../../../.aws/credentials.json'])
      assert.ok(
        leaving.some((f) => f.message.includes(`'${spec}'`)),
        `expected a load.outside-package finding for ${spec}, found ${JSON.stringify(leaving.map((f) => f.message))}`,
      );
    assert.ok(!JSON.stringify(report).includes(SECRET), 'the report quotes no file content');
    assert.equal(RULES.get('load.outside-package')?.classification, 'forbidden');
    assert.ok(isScanRuleReason('load.outside-package'), 'the rule id is a reason code of the scanner vocabulary');
  });

  it('a symlink inside the package pointing out of it is reported; an import inside the package is not', async () => {
    const { ext, home } = layout({
      'package.json': '{"name":"x"}',
      'index.ts': `import k from './key.json';\nimport d from './data.json';\nexport const x = [k, d];\n${FACTORY}`,
      'data.json': '{"ok":1}',
    });
    symlinkSync(join(home, '.aws', 'credentials.json'), join(ext, 'key.json'));
    const [report] = await scanTarget(ext);
    const leaving = (report?.findings ?? []).filter((f) => f.ruleId === 'load.outside-package');
    assert.deepEqual(
      leaving.map((f) => f.message.split(' resolves')[0]),
      ["'./key.json'"],
    );
    assert.equal(report?.verdict, 'forbidden');
  });
});

describe('a refused load is reported where the load happens', () => {
  it('probe with a store: the hostile fixture does not load, an alert names the import, and nothing quotes a file', async () => {
    const { ext, home } = layout({});
    cpSync(fixture('hostile/bundle-reads-host'), ext, { recursive: true });
    const store = tempHome();
    clearBundleCache();
    const report = await probeExtension({ path: ext, cwd: home, env: { HOME: home }, home: store });
    const [only] = report.extensions;
    assert.equal(only?.loaded, false);
    assert.match(only?.loadError ?? '', /"\.\.\/\.\.\/auth\.json"/);
    assert.ok(!JSON.stringify(report).includes(SECRET), 'the probe report quotes no file content');
    const db = openStore(store, { readOnly: true });
    try {
      const alerts = queryAlerts(db, {});
      const refused = alerts.filter((a) => a.reason_codes.includes('outside_package'));
      assert.equal(refused.length, 1, `expected one load refusal alert, found ${JSON.stringify(alerts)}`);
      assert.equal(refused[0]?.category, 'policy_violation');
      assert.match(refused[0]?.summary ?? '', /"\.\.\/\.\.\/auth\.json" in .*index\.ts/);
      const everything =
        JSON.stringify(db.prepare('SELECT * FROM alerts').all()) + JSON.stringify(db.prepare('SELECT * FROM ledger').all());
      assert.ok(!everything.includes(SECRET), 'no alert or ledger entry quotes a file');
    } finally {
      db.close();
    }
  });
});
