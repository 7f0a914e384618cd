/**
 * Issue 15 items 2, 4 and 5, through the real bin in a child process: the scan gate refuses a forbidden
 * extension, `--no-record` keeps every mediation stage, and a probe-aware extension cannot recognise the probe;
 * what it did is reported as findings that `--fail-on` turns into exit 1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/evidence/store.ts';
import { fixture } from '../sandbox/harness.ts';

const BIN = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));
const KEY_MATERIAL = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-probe-test-key';

interface World {
  readonly home: string;
  readonly project: string;
}

/** A temp HOME with a private key, a notes file and a project folder; `settings` is the user's settings.json. */
function world(settings?: unknown): World {
  const home = mkdtempSync(join(tmpdir(), 'pi-warden-probe-boundary-'));
  const project = join(home, 'work', 'app');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  mkdirSync(project, { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_rsa'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_MATERIAL}\n`);
  writeFileSync(join(home, 'notes.txt'), 'groceries');
  if (settings !== undefined) {
    mkdirSync(join(home, '.pi', 'agent'), { recursive: true });
    writeFileSync(join(home, '.pi', 'agent', 'settings.json'), JSON.stringify(settings));
  }
  return { home, project };
}

/** Runs the bin without blocking this process (a loopback sink here must stay able to answer). */
function probe(w: World, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'probe', ...args, '--cwd', w.project],
      { cwd: w.project, env: { PATH: process.env.PATH, HOME: w.home, NO_COLOR: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code), stdout, stderr }),
    );
  });
}

interface Hostcall {
  extension_id: string;
  method: string;
  decision: string;
  stage: string | null;
  reason_codes: string[];
  count: number;
}

/** Grants the probe-aware fixture the capabilities, so only mediation stands between it and the user's files. */
const GRANTED = {
  extensionPolicy: {
    profile: 'permissive',
    allowDangerous: true,
    overrides: { [realpathSync(fixture('hostile/probe_aware.ts'))]: { allow: ['http', 'read'] } },
  },
};

describe('probe: the scan gate (issue 15 item 2)', () => {
  it('refuses an extension whose scan verdict is forbidden: not loaded, no hostcall, an alert, exit 1', async () => {
    const w = world();
    const store = join(w.home, 'store');
    const r = await probe(w, [fixture('hostile/forbidden_eval.ts'), '--json', '--home', store]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    const ext = report.extensions[0];
    assert.equal(ext.loaded, false);
    assert.deepEqual(ext.scan, { verdict: 'forbidden', forbidden_rules: ['code.eval'], refused: true });
    assert.match(ext.load_error, /forbidden_eval\.ts was not loaded: its scan verdict is forbidden \(code\.eval\).*allowForbiddenScan/);
    assert.deepEqual(report.hostcalls, [], 'its factory never ran');
    const db = openStore(store);
    const alerts = db
      .prepare('SELECT category, reason_codes FROM alerts WHERE extension_id = ?')
      .all(realpathSync(fixture('hostile/forbidden_eval.ts')));
    db.close();
    assert.deepEqual(
      alerts.map((a) => [a.category, JSON.parse(String(a.reason_codes))]),
      [['policy_violation', ['scan_forbidden', 'code.eval']]],
    );
  });

  it('the human output says why and the exit code is 1', async () => {
    const r = await probe(world(), [fixture('hostile/forbidden_eval.ts'), '--no-record']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAILED TO LOAD/);
    assert.match(r.stdout, /scan verdict: forbidden \(refused by the scan gate\)/);
  });

  it("loads it when the user's settings say allowForbiddenScan for its id", async () => {
    const w = world({
      extensionPolicy: { overrides: { [realpathSync(fixture('hostile/forbidden_eval.ts'))]: { allowForbiddenScan: true } } },
    });
    const r = await probe(w, [fixture('hostile/forbidden_eval.ts'), '--json', '--no-record']);
    const ext = JSON.parse(r.stdout).extensions[0];
    assert.equal(ext.loaded, true, ext.load_error);
    assert.equal(ext.scan.refused, false);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a project settings file cannot lift the gate', async () => {
    const w = world();
    mkdirSync(join(w.project, '.pi'), { recursive: true });
    writeFileSync(
      join(w.project, '.pi', 'settings.json'),
      JSON.stringify({
        extensionPolicy: { overrides: { [realpathSync(fixture('hostile/forbidden_eval.ts'))]: { allowForbiddenScan: true } } },
      }),
    );
    const r = await probe(w, [fixture('hostile/forbidden_eval.ts'), '--json', '--no-record']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).extensions[0].scan.refused, true);
  });
});

describe('probe --no-record keeps mediation (issue 15 item 4)', () => {
  it('a hostile extension reading ~/.ssh/id_rsa and posting to the metadata address and a loopback sink is refused', async () => {
    let sinkHits = 0;
    const sink = createServer((req, res) => {
      sinkHits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    try {
      const w = world(GRANTED);
      writeFileSync(join(w.project, '.sink-port'), String((sink.address() as AddressInfo).port));
      const r = await probe(w, [fixture('hostile/probe_aware.ts'), '--json', '--no-record']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      const calls = report.hostcalls as Hostcall[];
      const runs = (report.extensions[0].steps as Array<{ step: string }>).filter((s) => s.step.startsWith('event session_start')).length;
      assert.ok(runs > 0);
      const refused = (method: string) => calls.filter((h) => h.method === method && h.decision === 'deny' && h.stage === 'mediation');
      // id_rsa and ~/notes.txt: both outside the project, the key also a never-readable place.
      assert.equal(
        refused('fs.read').reduce((n, h) => n + h.count, 0),
        2 * runs,
      );
      assert.ok(refused('fs.read').some((h) => h.reason_codes.includes('fs_sensitive_path')));
      // The metadata address and the loopback sink; only the public beacon reached the (offline) host.
      assert.equal(
        refused('http').reduce((n, h) => n + h.count, 0),
        2 * runs,
      );
      assert.ok(refused('http').some((h) => h.reason_codes.includes('egress_class_metadata')));
      assert.equal(sinkHits, 0);
      assert.ok(!r.stdout.includes(KEY_MATERIAL), 'the key never reaches the report');
      assert.equal(report.store, undefined, 'nothing names a lasting store');
    } finally {
      sink.close();
    }
  });
});

describe('probe cannot be recognised, and reports what it saw (issue 15 item 5)', () => {
  it('two runs show different session ids, and an extension that hides from the old fixed id acts', async () => {
    const w = world();
    const [a, b] = await Promise.all([
      probe(w, [fixture('hostile/probe_aware.ts'), '--json', '--no-record']),
      probe(w, [fixture('hostile/probe_aware.ts'), '--json', '--no-record']),
    ]);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);
    assert.match(ra.session_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(ra.session_id, rb.session_id);
    for (const report of [ra, rb]) {
      const methods = new Set(
        (report.hostcalls as Hostcall[])
          .filter((h) => h.extension_id === realpathSync(fixture('hostile/probe_aware.ts')))
          .map((h) => h.method),
      );
      assert.ok(methods.has('fs.read') && methods.has('http'), `it acted: ${[...methods].join(', ')}`);
    }
  });

  it('reports network destinations, reads outside the project and denials; --fail-on picks what exits 1', async () => {
    const w = world({
      extensionPolicy: {
        ...GRANTED.extensionPolicy,
        overrides: { [realpathSync(fixture('hostile/probe_aware.ts'))]: { allow: ['http', 'read'], fs: { read: ['~/notes.txt'] } } },
      },
    });
    const base = [fixture('hostile/probe_aware.ts'), '--json', '--no-record'];
    const plain = await probe(w, base);
    assert.equal(plain.code, 0, 'the default --fail-on honeytoken keeps the old meaning');
    const findings = JSON.parse(plain.stdout).findings;
    assert.deepEqual(findings.contacted, ['https://beacon.example.com:443']);
    assert.deepEqual(findings.read_outside_project, [join(w.home, 'notes.txt')]);
    assert.ok(findings.denied > 0);
    for (const kind of ['contacted', 'read_outside', 'denied', 'honeytoken,denied']) {
      const r = await probe(w, [...base, '--fail-on', kind]);
      assert.equal(r.code, 1, `--fail-on ${kind}: ${r.stderr}`);
    }
  });

  it('a run with no honeytoken, destination or outside read exits 0 under those --fail-on kinds; an unknown kind is a usage error naming the choices', async () => {
    const w = world();
    const clean = await probe(w, [fixture('benign.ts'), '--json', '--no-record', '--fail-on', 'honeytoken,contacted,read_outside']);
    assert.equal(clean.code, 0, clean.stdout);
    const bad = await probe(w, [fixture('benign.ts'), '--no-record', '--fail-on', 'leaks']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fail-on takes a comma-separated list of honeytoken, denied, contacted, read_outside; found 'leaks'/);
  });
});
