/**
 * The package route's settings side against real pi (issue 14 items 1 and 6): discovery through pi's resolver, adopt
 * writing pi's own disable filters (checked with pi's `DefaultPackageManager.resolve()`), unadopt restoring the files
 * exactly, pins, status, install. Settings semantics run against pi 1.6.0, 1.5.2 and 0.73.1.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import {
  adopt,
  checkPin,
  discoverExtensions,
  install,
  listAdopted,
  readAdoptionList,
  setAdoptionDisabled,
  status,
  unadopt,
} from '../../src/pi/index.ts';
import type { PiModule } from '../../src/pi/piModule.ts';
import { BENIGN, FORBIDDEN, importPi, PI_VERSIONS, piWorld, read, write, type PiVersion, type PiWorld } from './piWorld.ts';

const VERSIONS = Object.keys(PI_VERSIONS) as PiVersion[];

/** pi's own answer: is this resource path enabled (undefined: pi does not list it)? */
async function piEnabled(pi: PiModule, w: PiWorld, path: string): Promise<boolean | undefined> {
  const settingsManager = pi.SettingsManager.create(w.cwd, w.agentDir);
  const resolved = await new pi.DefaultPackageManager({ cwd: w.cwd, agentDir: w.agentDir, settingsManager }).resolve(() =>
    Promise.resolve('skip'),
  );
  return resolved.extensions.find((r) => r.path === path)?.enabled;
}

const opts = (w: PiWorld, pi: PiModule) => ({ cwd: w.cwd, agentDir: w.agentDir, home: w.home, pi });

function rejectsWith(code: string, where?: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isWardenError(err), `expected a WardenError, found ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (where !== undefined) assert.ok(err.message.includes(where), `message names ${where}: ${err.message}`);
    return true;
  };
}

for (const version of VERSIONS) {
  describe(`adoption on pi ${version}`, () => {
    it('discovers packages and top-level files in both scopes, named by their source', async () => {
      const pi = await importPi(version);
      const w = piWorld();
      const { extensions, conflicts } = await discoverExtensions({ cwd: w.cwd, agentDir: w.agentDir, pi });
      assert.deepEqual(conflicts, []);
      const byId = new Map(extensions.map((e) => [e.id, e]));
      const pkg = byId.get(realpathSync(w.packageDir));
      assert.ok(pkg, `the local package is named by its real path: ${[...byId.keys()].join(', ')}`);
      assert.equal(pkg.origin, 'package');
      assert.equal(pkg.scope, 'user');
      assert.equal(pkg.source, '../pkgs/greeter');
      assert.deepEqual(pkg.entries, [join(w.packageDir, 'index.ts')]);
      assert.equal(pkg.packageRoot, w.packageDir);
      const user = byId.get(realpathSync(w.userFile));
      assert.equal(user?.origin, 'top-level');
      assert.equal(user?.scope, 'user');
      const project = byId.get(realpathSync(w.projectFile));
      assert.equal(project?.scope, 'project');
      assert.ok(extensions.every((e) => e.enabled));
    });

    it('adopt --all disables every extension in pi, and unadopt gives the files back byte for byte', async () => {
      const pi = await importPi(version);
      const w = piWorld();
      const userBefore = read(w.userSettings);
      assert.equal(existsSync(w.projectSettings), false);
      const outcomes = await adopt('all', opts(w, pi));
      assert.deepEqual(outcomes.map((o) => o.result).sort(), ['adopted', 'adopted', 'adopted']);
      const pkgEntry = join(w.packageDir, 'index.ts');
      for (const p of [pkgEntry, w.userFile, w.projectFile]) assert.equal(await piEnabled(pi, w, p), false, `pi lists ${p} disabled`);
      // The entries pi config writes, in the scope where each is configured.
      const user = JSON.parse(read(w.userSettings)) as { packages: unknown[]; extensions: string[]; defaultModel: string };
      assert.deepEqual(user.packages, [{ source: '../pkgs/greeter', extensions: [] }]);
      assert.deepEqual(user.extensions, ['-extensions/hello.ts']);
      assert.equal(user.defaultModel, 'faux-1');
      assert.deepEqual((JSON.parse(read(w.projectSettings)) as { extensions: string[] }).extensions, ['-extensions/proj.ts']);
      const adopted = listAdopted(w.home);
      assert.equal(adopted.length, 3);
      for (const a of adopted) {
        assert.match(a.bundleHash, /^[0-9a-f]{64}$/);
        assert.ok(Array.isArray(a.capabilities));
      }
      const undone = await unadopt('all', opts(w, pi));
      assert.deepEqual(
        undone.map((u) => u.settings),
        ['restored_exactly', 'restored_exactly', 'restored_exactly'],
      );
      assert.equal(read(w.userSettings), userBefore, 'the user file is byte-identical');
      assert.equal(existsSync(w.projectSettings), false, 'the project file that did not exist is gone again');
      for (const p of [pkgEntry, w.userFile, w.projectFile]) assert.equal(await piEnabled(pi, w, p), true, `pi loads ${p} again`);
      assert.deepEqual(listAdopted(w.home), []);
      assert.deepEqual(
        readdirSync(w.agentDir).filter((n) => n.includes('.tmp') || n.endsWith('.lock')),
        [],
        'no temp file or lock is left',
      );
    });

    it('unadopt after another change to the file removes only its own filter', async () => {
      const pi = await importPi(version);
      const w = piWorld();
      await adopt([realpathSync(w.packageDir)], opts(w, pi));
      const changed = JSON.parse(read(w.userSettings)) as Record<string, unknown>;
      changed.defaultModel = 'other-model';
      writeFileSync(w.userSettings, JSON.stringify(changed, null, 2));
      const [u] = await unadopt([realpathSync(w.packageDir)], opts(w, pi));
      assert.equal(u?.settings, 'reverted');
      const after = JSON.parse(read(w.userSettings)) as Record<string, unknown>;
      assert.deepEqual(after.packages, ['../pkgs/greeter']);
      assert.equal(after.defaultModel, 'other-model', 'the other change is kept');
      assert.equal(await piEnabled(pi, w, join(w.packageDir, 'index.ts')), true);
    });
  });
}

describe('adoption: refusals and errors', () => {
  it('a malformed pi settings file is an error naming it and is never overwritten', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld({ userSettings: '{ "packages": [ "../pkgs/greeter" ' });
    await assert.rejects(adopt('all', opts(w, pi)), rejectsWith('settings_invalid', w.userSettings));
    assert.equal(read(w.userSettings), '{ "packages": [ "../pkgs/greeter" ');
    assert.equal(existsSync(w.projectSettings), false, 'nothing was written to the other scope either');
    assert.deepEqual(listAdopted(w.home), []);
  });

  it('a forbidden scan verdict refuses the adoption and leaves pi settings alone, unless the user allows it', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    writeFileSync(w.userFile, FORBIDDEN);
    const before = read(w.userSettings);
    const [o] = await adopt([w.userFile], opts(w, pi));
    assert.equal(o?.result, 'refused');
    assert.equal(o?.reason, 'scan_forbidden');
    assert.equal(read(w.userSettings), before);
    assert.deepEqual(listAdopted(w.home), []);
    const id = realpathSync(w.userFile);
    const allowing = JSON.parse(before) as Record<string, unknown>;
    allowing.extensionPolicy = { overrides: { [id]: { allowForbiddenScan: true } } };
    writeFileSync(w.userSettings, JSON.stringify(allowing, null, 2));
    const [allowed] = await adopt([w.userFile], opts(w, pi));
    assert.equal(allowed?.result, 'adopted', allowed?.message);
  });

  it('an unknown source is an error listing what pi has, before anything is written', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    const before = read(w.userSettings);
    await assert.rejects(adopt(['npm:not-configured'], opts(w, pi)), rejectsWith('invalid_request', realpathSync(w.packageDir)));
    assert.equal(read(w.userSettings), before);
  });

  it('pi-warden itself is never adopted, by name or with --all', async () => {
    const pi = await importPi('1.6.0');
    const self = resolve(import.meta.dirname, '..', '..');
    const w = piWorld({ userSettings: JSON.stringify({ packages: ['../pkgs/greeter', self] }) });
    const [o] = await adopt([self], opts(w, pi));
    assert.equal(o?.result, 'refused');
    assert.equal(o?.reason, 'self');
    const all = await adopt('all', opts(w, pi));
    assert.ok(!all.some((x) => x.id === realpathSync(self) && x.result !== 'refused'));
    assert.ok(!listAdopted(w.home).some((a) => a.id === realpathSync(self)));
    assert.equal((JSON.parse(read(w.userSettings)) as { packages: unknown[] }).packages[1], self, "pi-warden's entry is untouched");
  });

  it('two extensions with one id: the second is a conflict, never listed under that id', async () => {
    const pi = await importPi('1.6.0');
    // One folder, reached by pi's package route (its manifest glob: src/a.ts) and by its folder route (index.ts).
    const w = piWorld({ userSettings: JSON.stringify({ packages: ['./extensions/dual'] }) });
    const dual = join(w.agentDir, 'extensions', 'dual');
    write(join(dual, 'package.json'), JSON.stringify({ name: 'dual', pi: { extensions: ['./src/*.ts'] } }));
    write(join(dual, 'src', 'a.ts'), BENIGN);
    write(join(dual, 'index.ts'), BENIGN);
    const { extensions, conflicts } = await discoverExtensions({ cwd: w.cwd, agentDir: w.agentDir, pi });
    const id = realpathSync(dual);
    assert.equal(extensions.filter((e) => e.id === id).length, 1);
    assert.equal(conflicts.length, 1);
    assert.equal(conflicts[0]?.id, id);
    const outcomes = await adopt('all', opts(w, pi));
    assert.ok(outcomes.some((o) => o.reason === 'conflict' && o.result === 'refused'));
    const s = await status(opts(w, pi));
    assert.ok(s.extensions.some((e) => e.id === id && e.reason === 'conflict' && e.state === 'unsandboxed'));
  });

  it('a settings file locked by a running pi is not written', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    const before = read(w.userSettings);
    mkdirSync(`${w.userSettings}.lock`);
    await assert.rejects(adopt([realpathSync(w.packageDir)], opts(w, pi)), rejectsWith('io', w.userSettings));
    assert.equal(read(w.userSettings), before);
  });

  it('a corrupt adopted.json is an error naming it', () => {
    const w = piWorld();
    writeFileSync(join(w.home, 'adopted.json'), '{"version":1,"disabled":false,"extensions":[{"id":"x"}]}');
    assert.throws(() => listAdopted(w.home), rejectsWith('settings_invalid', join(w.home, 'adopted.json')));
  });
});

describe('pins and status', () => {
  it('checkPin: same bundle, an update within the pinned capabilities, capabilities that grew', () => {
    const pinned = { bundleHash: 'a', capabilities: ['events', 'ui'] as const };
    assert.equal(checkPin({ ...pinned, capabilities: [...pinned.capabilities] }, 'a', ['ui']), 'same');
    assert.equal(checkPin({ ...pinned, capabilities: [...pinned.capabilities] }, 'b', ['events']), 'updated');
    assert.equal(checkPin({ ...pinned, capabilities: [...pinned.capabilities] }, 'b', ['events', 'exec']), 'grew');
  });

  it('status: sandboxed, updated, grown, re-enabled by hand, new since adopt, and disable', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    await adopt([realpathSync(w.packageDir), w.userFile], opts(w, pi));
    const stateOf = async () => new Map((await status(opts(w, pi))).extensions.map((e) => [e.id, e]));
    let s = await stateOf();
    assert.equal(s.get(realpathSync(w.packageDir))?.state, 'sandboxed');
    assert.equal(s.get(realpathSync(w.userFile))?.state, 'sandboxed');
    assert.equal(s.get(realpathSync(w.projectFile))?.state, 'unsandboxed');
    assert.equal(s.get(realpathSync(w.projectFile))?.reason, 'not_adopted');

    // An update that needs nothing new keeps its pin's grants; one that reaches for exec must not load.
    writeFileSync(join(w.packageDir, 'index.ts'), `${BENIGN}export const version = 2;\n`);
    writeFileSync(w.userFile, `import { execSync } from 'node:child_process';\n${BENIGN}export const run = () => execSync('id');\n`);
    s = await stateOf();
    assert.equal(s.get(realpathSync(w.packageDir))?.reason, 'pin_updated');
    assert.equal(s.get(realpathSync(w.packageDir))?.state, 'sandboxed');
    assert.equal(s.get(realpathSync(w.userFile))?.state, 'refused');
    assert.equal(s.get(realpathSync(w.userFile))?.reason, 'capabilities_grew');

    // The user removes pi-warden's filter by hand with pi's own setter: pi loads it unsandboxed again.
    const manager = pi.SettingsManager.create(w.cwd, w.agentDir);
    manager.setPackages(['../pkgs/greeter']);
    await manager.flush();
    s = await stateOf();
    assert.equal(s.get(realpathSync(w.packageDir))?.state, 'unsandboxed');
    assert.equal(s.get(realpathSync(w.packageDir))?.reason, 're_enabled');

    // Adopting again re-pins the grown one and writes the filter removed by hand once more.
    const again = await adopt([realpathSync(w.userFile), realpathSync(w.packageDir)], opts(w, pi));
    assert.deepEqual(
      again.map((o) => o.result),
      ['repinned', 'repinned'],
    );
    assert.ok(
      listAdopted(w.home)
        .find((a) => a.id === realpathSync(w.userFile))
        ?.capabilities.includes('exec'),
    );
    s = await stateOf();
    assert.equal(s.get(realpathSync(w.userFile))?.state, 'sandboxed');
    assert.equal(s.get(realpathSync(w.packageDir))?.state, 'sandboxed');
    assert.equal(await piEnabled(pi, w, join(w.packageDir, 'index.ts')), false);

    setAdoptionDisabled(w.home, true);
    assert.equal(readAdoptionList(w.home).disabled, true);
    s = await stateOf();
    assert.equal(s.get(realpathSync(w.userFile))?.state, 'disabled');
    setAdoptionDisabled(w.home, false);
    assert.equal(readAdoptionList(w.home).disabled, false);
    assert.equal(listAdopted(w.home).length, 2, 'disable keeps the list');
  });
});

describe('install (a local path source: no network)', () => {
  it('installs disabled from the first write, scans and adopts', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    const dir = join(w.root, 'pkgs', 'fresh');
    write(join(dir, 'package.json'), JSON.stringify({ name: 'fresh', pi: { extensions: ['./index.ts'] } }));
    write(join(dir, 'index.ts'), BENIGN);
    const o = await install(dir, opts(w, pi));
    assert.equal(o.result, 'adopted', o.message);
    assert.equal(o.id, realpathSync(dir));
    const packages = (JSON.parse(read(w.userSettings)) as { packages: unknown[] }).packages;
    assert.deepEqual(packages[1], { source: '../pkgs/fresh', extensions: [] });
    assert.equal(await piEnabled(pi, w, join(dir, 'index.ts')), false);
    assert.ok(listAdopted(w.home).some((a) => a.id === realpathSync(dir)));
    // unadopt leaves it as `pi install` would have: configured and loaded by pi.
    await unadopt([realpathSync(dir)], opts(w, pi));
    assert.deepEqual((JSON.parse(read(w.userSettings)) as { packages: unknown[] }).packages[1], '../pkgs/fresh');
  });

  it('a forbidden package is removed again and pi settings are as before', async () => {
    const pi = await importPi('1.6.0');
    const w = piWorld();
    const dir = join(w.root, 'pkgs', 'evil');
    write(join(dir, 'package.json'), JSON.stringify({ name: 'evil', pi: { extensions: ['./index.ts'] } }));
    write(join(dir, 'index.ts'), FORBIDDEN);
    const before = readFileSync(w.userSettings);
    const o = await install(dir, opts(w, pi));
    assert.equal(o.result, 'refused');
    assert.deepEqual(readFileSync(w.userSettings), before);
    assert.deepEqual(listAdopted(w.home), []);
  });
});
