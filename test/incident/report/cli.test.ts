/** `pi-warden incident report` through the CLI's own entry point, on real stores. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { main } from '../../../src/cli/main.ts';
import { reportCommand } from '../../../src/cli/reportCommands.ts';
import { evidenceTools } from '../../../src/incident/evidenceTools.ts';
import { IncidentWorkflow } from '../../../src/incident/workflow/index.ts';
import { buildFixture, tempDir } from './fixture.ts';

process.env.NO_COLOR = '1';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

async function withInput(calls = 8) {
  const f = await buildFixture(calls);
  const dir = tempDir();
  const inputFile = join(dir, 'incident.json');
  writeFileSync(inputFile, JSON.stringify(f.input));
  return { ...f, dir, inputFile, id: f.input.incident.id };
}

describe('pi-warden incident report', () => {
  it('--html FILE writes the page (0600) and says what it holds; --json gives the hash of what was written', async () => {
    const f = await withInput();
    const out = join(f.dir, 'report.html');
    const r = await run(['incident', 'report', f.id, '--html', out, '--from-json', f.inputFile, '--home', f.home]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      new RegExp(
        `Wrote the html report of incident ${f.id} to .*report\\.html .*: 11 ledger entries, \\d+ alerts, 1 trust transitions for hostile-ext`,
      ),
    );
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.match(readFileSync(out, 'utf8'), /^<!doctype html>/);
    const j = await run(['incident', 'report', f.id, '--html', out, '--from-json', f.inputFile, '--home', f.home, '--json']);
    const doc = JSON.parse(j.out) as { schema: string; sha256: string; ledger_entries: number; format: string };
    assert.equal(doc.schema, 'pi-warden.incident_report.v1');
    assert.equal(doc.format, 'html');
    assert.equal(doc.sha256, createHash('sha256').update(readFileSync(out)).digest('hex'));
  });

  it('--format md prints markdown for a ticket, without a canary', async () => {
    const f = await withInput();
    const r = await run(['incident', 'report', f.id, '--format', 'md', '--from-json', f.inputFile, '--home', f.home]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^# Incident INC-20261206-001 \(INC-1\)/);
    assert.match(r.out, /## Postmortem/);
    for (const c of f.canaries) assert.ok(!r.out.includes(c), `markdown contains ${c}`);
  });

  it('reads a read-only (forensic) store without writing to it', async () => {
    const f = await withInput(4);
    const before = readdirSync(f.home).sort();
    chmodSync(join(f.home, 'warden.db'), 0o444);
    chmodSync(f.home, 0o555);
    try {
      const r = await run(['incident', 'report', f.id, '--format', 'md', '--from-json', f.inputFile, '--home', f.home]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(readdirSync(f.home).sort(), before);
    } finally {
      chmodSync(f.home, 0o700);
    }
  });

  it("without --from-json reports the store's incident record: its phases, SLAs from detection, evidence and remediations", async () => {
    const f = await withInput(4);
    const wf = new IncidentWorkflow({ home: f.home, tools: evidenceTools, actor: 'tester' });
    const opened = await wf.open({ type: 'INC-2', extension: 'hostile-ext' });
    const id = opened.incident.id;
    const r = await run(['incident', 'report', id, '--format', 'md', '--home', f.home]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^# Incident ${id} \\(INC-2\\)`));
    // Detect has no SLA in the runbook ("Automatic"); Contain's SLA is shown and has not started.
    assert.match(r.out, /\| Detect \|[^\n]*\| none \|/);
    assert.match(r.out, /\| Contain \|[^\n]*not started/);
    for (const c of f.canaries) assert.ok(!r.out.includes(c), `markdown contains ${c}`);
    const j = JSON.parse((await run(['incident', 'report', id, '--format', 'md', '--home', f.home, '--json'])).out) as {
      extensions: string[];
    };
    assert.deepEqual(j.extensions, ['hostile-ext']);
  });

  it("reads the incident's record from a read-only (forensic) store without writing to it", async () => {
    const f = await withInput(2);
    const opened = await new IncidentWorkflow({ home: f.home, tools: evidenceTools, actor: 'tester' }).open({
      type: 'INC-2',
      extension: 'hostile-ext',
    });
    const before = readdirSync(f.home).sort();
    chmodSync(join(f.home, 'warden.db'), 0o444);
    chmodSync(f.home, 0o555);
    try {
      const r = await run(['incident', 'report', opened.incident.id, '--format', 'md', '--home', f.home]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^# Incident ${opened.incident.id} \\(INC-2\\)`));
      assert.deepEqual(readdirSync(f.home).sort(), before);
      // A read-write open would have made the file private again (0600).
      assert.equal(statSync(join(f.home, 'warden.db')).mode & 0o777, 0o444);
    } finally {
      chmodSync(f.home, 0o700);
      chmodSync(join(f.home, 'warden.db'), 0o600);
    }
  });

  it('refuses with what it expected and what it found', async () => {
    const f = await withInput(2);
    const cases: Array<[string[], RegExp]> = [
      [['incident', 'report', f.id, '--from-json', f.inputFile], /expected --html FILE or --format md, found neither/],
      [['incident', 'report', f.id, '--format', 'pdf', '--from-json', f.inputFile], /--format must be one of html, md, found "pdf"/],
      [['incident', 'report', f.id, '--format', 'html', '--from-json', f.inputFile], /--format html needs --out FILE/],
      [['incident', 'report', f.id, '--format', 'md'], /no incident "INC-20261206-001" in this store \(see `pi-warden incident list`\)/],
      [
        ['incident', 'report', 'INC-OTHER', '--format', 'md', '--from-json', f.inputFile],
        /expected incident INC-OTHER, found INC-20261206-001/,
      ],
      [
        ['incident', 'report', f.id, '--format', 'md', '--from-json', join(f.dir, 'missing.json')],
        /--from-json .*missing\.json: cannot read it/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run([...args, '--home', f.home]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
      assert.match(r.err, message);
    }
  });

  it('joins an `incident` command registered before it instead of adding a second one', () => {
    const program = new Command('pi-warden');
    program.command('incident').command('open');
    reportCommand(program, { out: () => {}, err: () => {} }, () => {});
    const incident = program.commands.filter((c) => c.name() === 'incident');
    assert.equal(incident.length, 1);
    assert.deepEqual(
      incident[0]?.commands.map((c) => c.name()),
      ['open', 'report'],
    );
  });
});
