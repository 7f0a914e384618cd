/**
 * `pi-warden adopt | unadopt | disable | enable | status | install` against a scratch agent dir (PI_CODING_AGENT_DIR)
 * and project with real pi settings files, judged by pi 1.6.0's own resolver.
 */
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { BENIGN, FORBIDDEN, importPi, PI_VERSIONS, piWorld, write, type PiWorld } from '../pi/piWorld.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'pi-warden', ...args], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out: stripVTControlCharacters(out), err: stripVTControlCharacters(err) };
}

const saved = { ...process.env };
let w: PiWorld;
before(() => {
  w = piWorld();
  process.env.NO_COLOR = '1';
  process.env.PI_CODING_AGENT_DIR = w.agentDir;
  process.env.PI_WARDEN_PI_PACKAGE = PI_VERSIONS['1.6.0'];
});
after(() => {
  for (const k of ['NO_COLOR', 'PI_CODING_AGENT_DIR', 'PI_WARDEN_PI_PACKAGE']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

async function piEnabled(path: string): Promise<boolean | undefined> {
  const pi = await importPi('1.6.0');
  const settingsManager = pi.SettingsManager.create(w.cwd, w.agentDir);
  const r = await new pi.DefaultPackageManager({ cwd: w.cwd, agentDir: w.agentDir, settingsManager }).resolve(() =>
    Promise.resolve('skip'),
  );
  return r.extensions.find((x) => x.path === path)?.enabled;
}

describe('bridge commands', () => {
  it('status before adopting: everything runs unsandboxed (exit 1)', async () => {
    const r = await run(['status', '--cwd', w.cwd, '--home', w.home]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /unsandboxed/);
    assert.match(r.out, /pi-warden adopt/);
  });

  it('adopt --all --json: pi lists each disabled; status then exits 0', async () => {
    const userBefore = readFileSync(w.userSettings, 'utf8');
    const r = await run(['adopt', '--all', '--cwd', w.cwd, '--home', w.home, '--json']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as {
      schema: string;
      results: { id: string; result: string; extension: { settings_change: { kind: string } } }[];
    };
    assert.equal(doc.schema, 'pi-warden.adopt.v1');
    assert.deepEqual(
      doc.results.map((x) => x.result),
      ['adopted', 'adopted', 'adopted'],
    );
    assert.match(r.err, /bundling and scanning/, 'progress goes to stderr');
    for (const p of [join(w.packageDir, 'index.ts'), w.userFile, w.projectFile]) assert.equal(await piEnabled(p), false);
    const s = await run(['status', '--cwd', w.cwd, '--home', w.home, '--json']);
    assert.equal(s.code, 0, s.out);
    const status = JSON.parse(s.out) as { schema: string; extensions: { state: string }[] };
    assert.equal(status.schema, 'pi-warden.bridge_status.v1');
    assert.deepEqual(
      status.extensions.map((e) => e.state),
      ['sandboxed', 'sandboxed', 'sandboxed'],
    );

    const d = await run(['disable', '--home', w.home]);
    assert.equal(d.code, 0);
    assert.match((await run(['status', '--cwd', w.cwd, '--home', w.home])).out, /disabled/);
    assert.equal((await run(['enable', '--home', w.home, '--json'])).code, 0);

    const u = await run(['unadopt', '--all', '--cwd', w.cwd, '--home', w.home]);
    assert.equal(u.code, 0, u.err);
    assert.match(u.out, /restored exactly/);
    assert.equal(readFileSync(w.userSettings, 'utf8'), userBefore);
    assert.equal(await piEnabled(w.userFile), true);
  });

  it('adopt by id of one scope only; an unknown source and a missing argument exit 2', async () => {
    const r = await run(['adopt', realpathSync(w.projectFile), '--scope', 'project', '--cwd', w.cwd, '--home', w.home]);
    assert.equal(r.code, 0, r.err);
    assert.equal(await piEnabled(w.projectFile), false);
    assert.equal(await piEnabled(w.userFile), true);
    const unknown = await run(['adopt', 'npm:nothing-here', '--cwd', w.cwd, '--home', w.home, '--json']);
    assert.equal(unknown.code, 2);
    assert.equal((JSON.parse(unknown.out) as { schema: string }).schema, 'pi-warden.error.v1');
    assert.equal((await run(['adopt', '--cwd', w.cwd, '--home', w.home])).code, 2);
    assert.equal((await run(['adopt', '--all', '--scope', 'galaxy', '--cwd', w.cwd, '--home', w.home])).code, 2);
    assert.equal((await run(['unadopt', '--all', '--cwd', w.cwd, '--home', w.home])).code, 0);
  });

  it('install: a clean local package is adopted (exit 0), a forbidden one removed again (exit 1)', async () => {
    const clean = join(w.root, 'pkgs', 'clean');
    write(join(clean, 'package.json'), JSON.stringify({ name: 'clean', pi: { extensions: ['./index.ts'] } }));
    write(join(clean, 'index.ts'), BENIGN);
    const ok = await run(['install', clean, '--cwd', w.cwd, '--home', w.home, '--json']);
    assert.equal(ok.code, 0, ok.err);
    assert.equal((JSON.parse(ok.out) as { schema: string; result: string }).result, 'adopted');
    assert.equal(await piEnabled(join(clean, 'index.ts')), false);
    const evil = join(w.root, 'pkgs', 'evil');
    write(join(evil, 'package.json'), JSON.stringify({ name: 'evil', pi: { extensions: ['./index.ts'] } }));
    write(join(evil, 'index.ts'), FORBIDDEN);
    const settingsBefore = readFileSync(w.userSettings, 'utf8');
    const refused = await run(['install', evil, '--cwd', w.cwd, '--home', w.home]);
    assert.equal(refused.code, 1, refused.err);
    assert.match(refused.out, /refused/);
    assert.equal(readFileSync(w.userSettings, 'utf8'), settingsBefore);
  });

  it('a malformed pi settings file exits 2 and names the file', async () => {
    const broken = piWorld({ userSettings: '{"packages": [' });
    process.env.PI_CODING_AGENT_DIR = broken.agentDir;
    try {
      const r = await run(['adopt', '--all', '--cwd', broken.cwd, '--home', broken.home]);
      assert.equal(r.code, 2);
      assert.ok(r.err.includes(broken.userSettings), r.err);
      assert.equal(readFileSync(broken.userSettings, 'utf8'), '{"packages": [');
    } finally {
      process.env.PI_CODING_AGENT_DIR = w.agentDir;
    }
  });

  it('--help explains each command', async () => {
    for (const cmd of ['adopt', 'unadopt', 'disable', 'enable', 'status', 'install']) {
      const r = await run([cmd, '--help']);
      assert.equal(r.code, 0, cmd);
      assert.match(r.out, /Exit\scode 0/, `${cmd} --help states its exit codes`);
    }
  });
});
