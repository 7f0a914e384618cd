/**
 * `pi-warden incident …`, `drill`, `rollback` through the CLI entry (in process): every command has --help and
 * --json (one document, a known schema, snake_case keys), errors name what was expected, and a whole incident
 * runs from the command line up to the bundle export this build does not have.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { JSON_SCHEMAS } from '../../src/cli/output.ts';
import { scratch } from './tools.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

function nonSnakeKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k === 'schema' || /^[a-z][a-z0-9_]*$/.test(k) ? [] : [`${path}.${k}`]),
    ...nonSnakeKeys(v, `${path}.${k}`),
  ]);
}

function doc(r: { code: number; out: string; err: string }, label: string): Record<string, unknown> {
  const d = JSON.parse(r.out) as Record<string, unknown>;
  assert.ok((JSON_SCHEMAS as readonly unknown[]).includes(d.schema), `${label}: schema ${String(d.schema)}`);
  assert.equal(Object.keys(d)[0], 'schema');
  assert.deepEqual(nonSnakeKeys(d), [], `${label}: keys that are not snake_case`);
  return d;
}

const saved: Record<string, string | undefined> = {};
before(() => {
  for (const k of ['NO_COLOR', 'PI_CODING_AGENT_DIR', 'PI_WARDEN_HOME']) saved[k] = process.env[k];
  process.env.NO_COLOR = '1';
  process.env.PI_CODING_AGENT_DIR = scratch();
});
after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('pi-warden incident, drill, rollback', () => {
  it('--help on every command', async () => {
    for (const args of [
      ['incident'],
      ...['open', 'contain', 'collect', 'verify', 'analyze', 'remediate', 'close', 'status', 'list'].map((c) => ['incident', c]),
      ['drill'],
      ['rollback'],
      ['rollback', 'policy'],
      ['rollback', 'risk'],
    ]) {
      const r = await run([...args, '--help']);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.out, /Usage: pi-warden/, args.join(' '));
    }
  });

  it('open, contain, status, list as JSON; collect fails closed with a JSON error until the bundle exists', async () => {
    const home = scratch();
    const opened = doc(await run(['incident', 'open', '--type', 'INC-5', '--extension', 'escapee', '--home', home, '--json']), 'open');
    const incident = opened.incident as { id: string; next_step: string };
    assert.equal(incident.next_step, 'contain');
    const contained = doc(await run(['incident', 'contain', incident.id, '--home', home, '--json']), 'contain');
    assert.deepEqual((contained.detail as { isolation: unknown }).isolation, {
      method: 'pi.on',
      served: false,
      error_code: 'quarantined',
      reason_codes: ['quarantined'],
    });
    const again = doc(await run(['incident', 'contain', incident.id, '--home', home, '--json']), 'contain again');
    assert.equal(again.already, true);
    const collect = doc(await run(['incident', 'collect', incident.id, '--home', home, '--json']), 'collect');
    const bundle = (collect.detail as { bundle: { path: string; file_sha256: string } }).bundle;
    assert.match(bundle.file_sha256, /^[0-9a-f]{64}$/);
    const status = doc(await run(['incident', 'status', incident.id, '--home', home, '--json']), 'status');
    const phases = (status.incident as { phases: Array<{ phase: string; state: string; remaining_ms: number | null; breached: boolean }> })
      .phases;
    assert.deepEqual(
      phases.slice(0, 4).map((p) => [p.phase, p.state]),
      [
        ['detect', 'done'],
        ['contain', 'done'],
        ['collect', 'done'],
        ['verify', 'pending'],
      ],
    );
    const human = await run(['incident', 'status', incident.id, '--home', home]);
    assert.match(human.out, /Contain\s+│ Respond \(RS\.MI-01: contained\)\s+│ Containment\s+│ < 5 min\s+│ done/);
    assert.match(human.out, /next: pi-warden incident verify /);
    const list = doc(await run(['incident', 'list', '--home', home, '--json']), 'list');
    assert.equal((list.incidents as unknown[]).length, 1);
    const analyze = await run(['incident', 'analyze', incident.id, '--home', home]);
    assert.equal(analyze.code, 2);
    assert.match(analyze.err, /incident_out_of_order: cannot analyze .*: expected phase Verify to be done first/);
  });

  it('usage errors say what was expected', async () => {
    const home = scratch();
    const r = await run(['incident', 'open', '--type', 'INC-9', '--home', home]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--type must be one of INC-1, INC-2, INC-3, INC-4, INC-5, INC-6, found "INC-9"/);
    const d = await run(['drill', 'INC-0']);
    assert.match(d.err, /expected one of INC-1, .* or all, found "INC-0"/);
    const s = await run(['incident', 'status', 'INC-1-nope', '--home', home]);
    assert.match(s.err, /no incident "INC-1-nope" in this store/);
  });

  it('rollback policy --json writes the user settings and verifies; exit 0', async () => {
    const r = await run(['rollback', 'policy', '--json', '--cwd', scratch()]);
    assert.equal(r.code, 0, r.err);
    const d = doc(r, 'rollback');
    assert.equal(d.verified, true);
    const settings = JSON.parse(readFileSync(join(process.env.PI_CODING_AGENT_DIR as string, 'settings.json'), 'utf8')) as unknown;
    assert.deepEqual(settings, { extensionPolicy: { profile: 'safe', allowDangerous: false } });
  });

  it('drill INC-1 --json passes end to end', async () => {
    const r = await run(['drill', 'INC-1', '--json']);
    assert.equal(r.code, 0, r.out);
    assert.equal(doc(r, 'drill').ok, true);
  });
});
