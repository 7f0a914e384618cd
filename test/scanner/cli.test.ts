/** `pi-warden scan` through the CLI entry (in process): formats, --policy, exit codes per --fail-on, progress. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { CAPABILITIES } from '../../src/policy/capabilities.ts';
import { validateSettings } from '../../src/policy/settingsSchema.ts';

const dir = mkdtempSync(join(tmpdir(), 'pi-warden-scan-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SAFE = join(dir, 'hello.ts');
const FLAGGED = join(dir, 'shell.ts');
const FORBIDDEN = join(dir, 'evil.ts');
writeFileSync(SAFE, "export default function (pi) { pi.registerCommand('hi', { handler: async (_a, ctx) => ctx.ui.notify('hi') }); }\n");
writeFileSync(
  FLAGGED,
  "import { execFile } from 'node:child_process';\nexport default function (pi) { pi.on('session_start', () => execFile('git', ['status'])); const h = process.env.HOME; }\n",
);
writeFileSync(FORBIDDEN, "export default function () { globalThis['ev' + 'al']('1'); }\n");

async function run(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', 'scan', ...args], {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
  });
  // FORCE_COLOR in the environment may turn colour on: compare the text without it.
  const plain = (s: string) => stripVTControlCharacters(s);
  return { code, out: plain(out), err: plain(err) };
}

describe('pi-warden scan', () => {
  it('exits 0 for a flagged extension under the default --fail-on forbidden, 1 under --fail-on flagged', async () => {
    assert.equal((await run(FLAGGED)).code, 0);
    assert.equal((await run('--fail-on', 'flagged', FLAGGED)).code, 1);
    assert.equal((await run('--fail-on', 'flagged', SAFE)).code, 0);
  });

  it('exits 1 when any extension is forbidden and names the rule in the text output', async () => {
    const r = await run(SAFE, FORBIDDEN);
    assert.equal(r.code, 1);
    assert.match(r.out, /evil\.ts\s+forbidden/);
    assert.match(r.out, /code\.eval/);
  });

  it('prints JSON with verdicts, findings and capabilities', async () => {
    const r = await run('--format', 'json', FLAGGED);
    const doc = JSON.parse(r.out) as {
      extensions: Array<{
        id: string;
        verdict: string;
        findings: Array<{ ruleId: string; line: number }>;
        capabilities: Array<{ capability: string }>;
      }>;
    };
    assert.equal(doc.extensions[0]!.verdict, 'flagged');
    assert.deepEqual(
      doc.extensions[0]!.findings.map((f) => [f.ruleId, f.line]),
      [['process.spawn', 1]],
    );
    assert.deepEqual(
      doc.extensions[0]!.capabilities.map((c) => c.capability),
      ['events', 'exec', 'env'],
    );
  });

  it('--policy prints a minimal overrides snippet using the capability names of the policy', async () => {
    const r = await run('--policy', SAFE, FLAGGED);
    const snippet = JSON.parse(r.out) as { extensionPolicy: { overrides: Record<string, { allow: string[] }> } };
    assert.deepEqual(snippet, {
      extensionPolicy: {
        overrides: { [realpathSync(SAFE)]: { allow: ['events', 'ui'] }, [realpathSync(FLAGGED)]: { allow: ['events', 'exec', 'env'] } },
      },
    });
    for (const o of Object.values(snippet.extensionPolicy.overrides))
      for (const c of o.allow) assert.ok((CAPABILITIES as readonly string[]).includes(c));
    assert.deepEqual(validateSettings(snippet), [], 'the snippet is a valid settings.json');
  });

  it('--format sarif prints a SARIF 2.1.0 log', async () => {
    const r = await run('--format', 'sarif', FORBIDDEN);
    const log = JSON.parse(r.out) as { version: string; runs: Array<{ results: Array<{ ruleId: string; level: string }> }> };
    assert.equal(log.version, '2.1.0');
    assert.deepEqual(
      log.runs[0]!.results.map((x) => [x.ruleId, x.level]),
      [['code.eval', 'error']],
    );
  });

  it('shows progress on stderr when scanning several paths, and not with --quiet', async () => {
    assert.match((await run(SAFE, FLAGGED)).err, /\[2\/2\] scanning/);
    assert.equal((await run('--quiet', SAFE, FLAGGED)).err, '');
  });

  it('shows progress per extension when one path is a folder of many extensions', async () => {
    const r = await run(dir);
    assert.match(r.err, /\[3\/3\] \S*shell\.ts/);
    assert.equal(r.code, 1);
  });

  it('exits 2 with a one-line error on a bad --format or --fail-on', async () => {
    const r = await run('--format', 'xml', SAFE);
    assert.equal(r.code, 2);
    assert.match(r.err, /--format must be one of text, json, sarif/);
    assert.equal((await run('--fail-on', 'safe', SAFE)).code, 2);
  });
});
