/** Every command's --json output: one JSON document with a known `schema`, snake_case keys, and errors as JSON too. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';
import { JSON_SCHEMAS } from '../../src/cli/output.ts';
import { buildStore, tempHome } from '../evidence/fixtures.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/extensions/benign.ts', import.meta.url));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

/** Keys that name data rather than fields (a capability, a variable name) are still checked where they are fields. */
function nonSnakeKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k === 'schema' || /^[a-z][a-z0-9_]*$/.test(k) ? [] : [`${path}.${k}`]),
    ...nonSnakeKeys(v, `${path}.${k}`),
  ]);
}

function checkDocument(args: string[], r: { code: number; out: string; err: string }): Record<string, unknown> {
  const label = args.join(' ');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    assert.fail(`${label}: stdout is not one JSON document (exit ${r.code}): ${r.out.slice(0, 200)} ${r.err.slice(0, 200)}`);
  }
  assert.ok((JSON_SCHEMAS as readonly unknown[]).includes(doc.schema), `${label}: schema ${String(doc.schema)} is not a known one`);
  assert.equal(Object.keys(doc)[0], 'schema', `${label}: schema comes first`);
  assert.deepEqual(nonSnakeKeys(doc), [], `${label}: keys that are not snake_case`);
  return doc;
}

describe('--json on every command', () => {
  it('each prints one document with a known schema and snake_case keys', async () => {
    const agent = mkdtempSync(join(tmpdir(), 'pi-warden-json-'));
    process.env.PI_CODING_AGENT_DIR = agent;
    writeFileSync(join(agent, 'settings.json'), JSON.stringify({ extensionPolicy: { profile: 'balanced' } }));
    const a = join(agent, 'a.json');
    const b = join(agent, 'b.json');
    writeFileSync(a, JSON.stringify({ extensionPolicy: { profile: 'safe' } }));
    writeFileSync(b, JSON.stringify({ extensionPolicy: { profile: 'balanced', overrides: { ext_a: { fs: { read: ['~/notes'] } } } } }));
    const { home, writer } = await buildStore(12);
    await writer.close();
    const trustHome = tempHome();
    const bridgeHome = tempHome();
    const pkg = join(agent, 'pkg');
    mkdirSync(pkg);
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'pkg', pi: { extensions: ['./index.ts'] } }));
    writeFileSync(join(pkg, 'index.ts'), 'export default function (pi) {}\n');
    const incident = join(agent, 'incident.json');
    writeFileSync(
      incident,
      JSON.stringify({
        incident: { id: 'INC-T', type: 'INC-1', openedAt: new Date().toISOString(), phases: [], evidence: [], remediations: [] },
      }),
    );
    const commands: string[][] = [
      ['policy', 'explain'],
      ['policy', 'explain', '--extension', 'ext_a'],
      ['policy', 'diff', a, b],
      ['policy', 'forget', '--extension', 'ext_a'],
      ['ledger', 'verify', '--home', home],
      ['ledger', 'replay', '--home', home],
      ['alerts', '--home', home],
      ['alerts', '--home', home, '--format', 'ocsf'],
      ['export', 'status', '--home', home],
      ['keys', 'export', '--home', home],
      ['quota', 'breaches', '--home', home],
      ['trust', 'kill', 'ext_a', '--reason', 'test', '--home', trustHome],
      ['trust', 'kill', 'ext_a', '--reason', 'again', '--home', trustHome],
      ['trust', 'lift', 'ext_a', '--reason', 'test', '--home', trustHome],
      ['trust', 'promote', 'ext_a', '--reason', 'test', '--home', trustHome],
      ['trust', 'status', '--home', trustHome],
      ['trust', 'status', 'ext_a', '--home', trustHome],
      ['rollout', 'status', '--home', trustHome],
      ['rollout', 'rollback', '--reason', 'test', '--home', trustHome],
      ['rollout', 'advance', '--reason', 'test', '--home', trustHome],
      ['secrets', 'classify', 'GITHUB_TOKEN', 'PATH'],
      ['fs', 'check', agent, '--extension', 'ext_a', '--home', trustHome],
      ['scan', FIXTURE],
      ['probe', FIXTURE, '--no-record'],
      ['install', pkg, '--cwd', agent, '--home', bridgeHome],
      ['adopt', '--all', '--cwd', agent, '--home', bridgeHome],
      ['status', '--cwd', agent, '--home', bridgeHome],
      ['disable', '--home', bridgeHome],
      ['enable', '--home', bridgeHome],
      ['unadopt', '--all', '--cwd', agent, '--home', bridgeHome],
      ['incident', 'report', 'INC-T', '--format', 'md', '--from-json', incident, '--home', home],
      ['incident', 'open', '--type', 'INC-1', '--extension', 'ext_a', '--home', trustHome],
      ['incident', 'list', '--home', trustHome],
      ['drill', 'INC-1'],
      ['bundle', 'export', '--home', home, '--out', join(agent, 'bundle.json'), '--redact', 'params'],
      ['bundle', 'verify', join(agent, 'bundle.json'), '--home', home],
      ['bundle', 'disclose', join(agent, 'bundle.json'), '--home', home, '--section', 'ledger', '--entry', '1', '--field', 'params_hash'],
      // Last: it rewrites the user settings the commands above read.
      ['rollback', 'policy', '--cwd', agent],
    ];
    const seen = new Set<unknown>();
    for (const args of commands) {
      const r = await run([...args, '--json']);
      assert.ok(r.code === 0 || r.code === 1, `${args.join(' ')}: exit ${r.code}: ${r.err}`);
      seen.add(checkDocument(args, r).schema);
    }
    const missing = JSON_SCHEMAS.filter((s) => !seen.has(s) && s !== 'pi-warden.error.v1');
    assert.deepEqual(missing, [], 'every schema name is printed by some command');
  });

  it('errors are JSON documents too: a bad option value, an unknown option, a missing store, an unknown command', async () => {
    const nowhere = join(tempHome(), 'nowhere');
    for (const args of [
      ['alerts', '--limit', 'abc', '--home', nowhere],
      ['trust', 'status', '--bogus'],
      ['trust', 'status', '--home', nowhere],
      ['rollout', 'status', '--home', nowhere],
      ['frobnicate'],
      ['scan', '--fail-on', 'nonsense', FIXTURE],
    ]) {
      const r = await run([...args, '--json']);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}`);
      const doc = checkDocument(args, r);
      assert.equal(doc.schema, 'pi-warden.error.v1', args.join(' '));
      const error = doc.error as { code: string; message: string };
      assert.equal(typeof error.code, 'string');
      assert.ok(error.message.length > 0);
    }
  });
});
