/**
 * Filesystem scope (SPEC §5.5, §5.6; issue 6 item 4), on real files: reads and writes confined to the project and
 * the extension's data folder, credential stores only when a grant names them, protected places never written,
 * `..` and symlink escapes resolved before the check, and a symlink swapped in while a call runs never redirects
 * the write (racing child process).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { createFsOperations, anchoredByKernel } from '../../src/mediation/fs/operations.ts';
import { FsScope, resolveReal } from '../../src/mediation/fs/scope.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { explainPolicy } from '../../src/policy/explain.ts';
import { resolvePolicy } from '../../src/policy/settings.ts';
import { createRuntime, type WardenRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { policyFor, settingsDirs, put } from '../helpers.ts';
import * as pi from '@earendil-works/pi-coding-agent';
import type { PiFileToolKit } from '../../src/mediation/tools/fileTools.ts';
import type { ReasonCode } from '../../src/errors.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-fs-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const HOME = join(ROOT, 'home');
const AGENT = join(HOME, '.pi', 'agent');
const WARDEN = join(AGENT, 'warden');
const PROJECT = join(ROOT, 'project');
const OUTSIDE = join(ROOT, 'outside');

put(join(HOME, '.ssh', 'id_rsa'), 'PRIVATE KEY');
put(join(HOME, '.aws', 'credentials'), '[default]\naws_secret_access_key=x');
put(join(HOME, '.bashrc'), '# bashrc\n');
put(join(HOME, '.env'), 'TOKEN=home-env');
put(join(HOME, 'notes', 'todo.txt'), 'ordinary file outside the project');
put(join(AGENT, 'settings.json'), '{}');
put(join(AGENT, 'auth.json'), '{"anthropic":{"type":"api_key","key":"sk-ant-xxxxxxxx"}}');
put(join(PROJECT, 'src', 'a.txt'), 'project file');
put(join(PROJECT, '.env'), 'LOCAL=1');
put(join(PROJECT, '.pi', 'settings.json'), '{}');
put(join(PROJECT, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\n');
put(join(PROJECT, 'node_modules', 'pkg', 'index.js'), 'module.exports = 1;');
put(join(PROJECT, 'vendor', 'lib', '.git', 'config'), '[core]');
put(join(OUTSIDE, 'secret.txt'), 'outside');
symlinkSync(OUTSIDE, join(PROJECT, 'link-out'));
symlinkSync(join(HOME, '.ssh'), join(PROJECT, 'link-ssh'));
symlinkSync(join(HOME, '.config', 'autostart', 'evil.desktop'), join(PROJECT, 'dangling'));
symlinkSync(join(HOME, '.bashrc'), join(PROJECT, 'rc-link'));

const LAYOUT = { projectRoot: PROJECT, home: HOME, agentDir: AGENT, wardenHome: WARDEN, dataRoot: join(WARDEN, 'data') };

const runtimes: WardenRuntime[] = [];
after(async () => {
  for (const rt of runtimes) await rt.close();
});

async function runtime(extensionPolicy: Record<string, unknown> = {}): Promise<WardenRuntime> {
  mkdirSync(WARDEN, { recursive: true });
  const rt = await createRuntime({
    home: WARDEN,
    policy: policyFor({ user: { extensionPolicy: { profile: 'permissive', ...extensionPolicy } } }),
    heldSecrets: [],
    operations: hostOperations(new HeadlessHost({ cwd: PROJECT, home: HOME })),
    workspace: PROJECT,
    fsLayout: { home: HOME, agentDir: AGENT },
    realFs: true,
    piTools: pi as unknown as PiFileToolKit,
  });
  runtimes.push(rt);
  return rt;
}

let n = 0;
async function call(rt: WardenRuntime, ext: string, method: string, params: Record<string, unknown>) {
  return rt.dispatcher.dispatch(ext, { call_id: `fs-${++n}`, method, params });
}
function refused(r: Awaited<ReturnType<typeof call>>, reason: ReasonCode, what: string): void {
  assert.ok(!r.ok, `${what}: allowed but must be refused`);
  assert.equal(r.error.code, 'denied', what);
  assert.ok(r.error.reasonCodes.includes(reason), `${what}: ${JSON.stringify(r.error)}`);
}

describe('filesystem scope: project and data folder only', () => {
  it('reads and writes inside the project and the data folder work on the real files', async () => {
    const rt = await runtime();
    const r = await call(rt, 'ext', 'fs.read', { path: join(PROJECT, 'src', 'a.txt'), encoding: 'utf8' });
    assert.ok(r.ok && r.value === 'project file', JSON.stringify(r));
    const w = await call(rt, 'ext', 'fs.write', { path: join(PROJECT, 'src', 'out.txt'), data: 'written' });
    assert.ok(w.ok, JSON.stringify(w));
    assert.equal(readFileSync(join(PROJECT, 'src', 'out.txt'), 'utf8'), 'written');
    const rel = await call(rt, 'ext', 'fs.read', { path: 'src/a.txt', encoding: 'utf8' });
    assert.ok(rel.ok && rel.value === 'project file', 'a relative path is taken from the project root');
    const data = rt.fsScope.dataFolder('ext');
    const mk = await call(rt, 'ext', 'fs.mkdir', { path: join(data, 'cache', 'deep'), recursive: true });
    assert.ok(mk.ok, JSON.stringify(mk));
    assert.ok((await call(rt, 'ext', 'fs.write', { path: join(data, 'cache', 'deep', 'x.json'), data: '{}' })).ok);
    assert.ok(existsSync(join(WARDEN, 'data', 'ext', 'cache', 'deep', 'x.json')));
    const list = await call(rt, 'ext', 'fs.list', { path: join(PROJECT, 'src') });
    assert.ok(list.ok && (list.value as string[]).includes('a.txt'));
    const tmp = await call(rt, 'ext', 'fs.mkdtemp', { prefix: join(data, 'tmp-') });
    assert.ok(tmp.ok && statSync(String(tmp.value)).isDirectory() && String(tmp.value).startsWith(join(data, 'tmp-')));
  });

  it('paths outside, `..` escapes and symlink escapes are refused before anything is touched', async () => {
    const rt = await runtime();
    refused(await call(rt, 'ext', 'fs.read', { path: join(OUTSIDE, 'secret.txt') }), 'fs_out_of_scope', 'absolute outside');
    refused(await call(rt, 'ext', 'fs.read', { path: join(PROJECT, '..', 'outside', 'secret.txt') }), 'fs_out_of_scope', '.. escape');
    refused(await call(rt, 'ext', 'fs.read', { path: '../outside/secret.txt' }), 'fs_out_of_scope', 'relative .. escape');
    refused(await call(rt, 'ext', 'fs.read', { path: join(PROJECT, 'link-out', 'secret.txt') }), 'fs_out_of_scope', 'symlinked folder');
    refused(
      await call(rt, 'ext', 'fs.write', { path: join(PROJECT, 'link-out', 'planted.txt'), data: 'x' }),
      'fs_out_of_scope',
      'write through symlink',
    );
    assert.equal(existsSync(join(OUTSIDE, 'planted.txt')), false);
    refused(await call(rt, 'ext', 'fs.exists', { path: join(HOME, 'notes', 'todo.txt') }), 'fs_out_of_scope', 'exists outside');
    refused(await call(rt, 'ext', 'fs.stat', { path: '/etc/passwd' }), 'fs_out_of_scope', 'stat outside');
    refused(
      await call(rt, 'ext', 'fs.copy', { from: join(PROJECT, 'src', 'a.txt'), to: join(OUTSIDE, 'copy.txt') }),
      'fs_out_of_scope',
      'copy out',
    );
    refused(
      await call(rt, 'ext', 'fs.rename', { from: join(PROJECT, 'src', 'a.txt'), to: join(OUTSIDE, 'moved.txt') }),
      'fs_out_of_scope',
      'move out',
    );
    refused(
      await call(rt, 'ext', 'fs.read', { path: join(rt.fsScope.dataFolder('other'), 'x') }),
      'fs_warden_private',
      "another extension's data folder",
    );
    assert.equal(existsSync(join(OUTSIDE, 'copy.txt')) || existsSync(join(OUTSIDE, 'moved.txt')), false);
    assert.ok(existsSync(join(PROJECT, 'src', 'a.txt')));
    // A dangling link is followed by hand: writing through it would create a login autostart entry.
    refused(
      await call(rt, 'ext', 'fs.write', { path: join(PROJECT, 'dangling'), data: '[Desktop Entry]' }),
      'fs_protected_path',
      'dangling link',
    );
    assert.equal(existsSync(join(HOME, '.config', 'autostart', 'evil.desktop')), false);
  });

  it('resolveReal follows links in the missing tail and detects loops', () => {
    assert.equal(resolveReal(join(PROJECT, 'link-out', 'new', 'file'), true), join(OUTSIDE, 'new', 'file'));
    assert.equal(resolveReal(join(PROJECT, 'dangling'), true), join(HOME, '.config', 'autostart', 'evil.desktop'));
    assert.equal(resolveReal(join(PROJECT, 'dangling'), false), join(PROJECT, 'dangling'));
    const loop = join(ROOT, 'loop');
    mkdirSync(loop);
    symlinkSync(join(loop, 'b'), join(loop, 'a'));
    symlinkSync(join(loop, 'a'), join(loop, 'b'));
    assert.throws(() => resolveReal(join(loop, 'a', 'x'), true), /ELOOP/);
  });
});

describe('credential stores need a grant that names them', () => {
  it('~/.ssh, ~/.aws, auth.json and a .env outside the project are refused, even with the whole home granted', async () => {
    const rt = await runtime({
      overrides: { broad: { fs: { read: [HOME], write: [join(HOME, 'notes')] } }, named: { fs: { read: [join(HOME, '.ssh')] } } },
    });
    for (const ext of ['ext', 'broad']) {
      refused(await call(rt, ext, 'fs.read', { path: join(HOME, '.ssh', 'id_rsa') }), 'fs_sensitive_path', `${ext}: ssh key`);
      refused(await call(rt, ext, 'fs.read', { path: join(HOME, '.aws', 'credentials') }), 'fs_sensitive_path', `${ext}: aws`);
      refused(await call(rt, ext, 'fs.read', { path: join(AGENT, 'auth.json') }), 'fs_sensitive_path', `${ext}: pi auth.json`);
      refused(await call(rt, ext, 'fs.read', { path: join(HOME, '.env') }), 'fs_sensitive_path', `${ext}: home .env`);
      refused(
        await call(rt, ext, 'fs.read', { path: join(PROJECT, 'link-ssh', 'id_rsa') }),
        'fs_sensitive_path',
        `${ext}: via a project symlink`,
      );
      refused(await call(rt, ext, 'fs.list', { path: join(HOME, '.ssh') }), 'fs_sensitive_path', `${ext}: list`);
    }
    const broad = await call(rt, 'broad', 'fs.read', { path: join(HOME, 'notes', 'todo.txt'), encoding: 'utf8' });
    assert.ok(broad.ok, 'the broad grant opens ordinary files');
    const named = await call(rt, 'named', 'fs.read', { path: join(HOME, '.ssh', 'id_rsa'), encoding: 'utf8' });
    assert.ok(named.ok && named.value === 'PRIVATE KEY', 'a grant naming ~/.ssh opens it');
    refused(
      await call(rt, 'named', 'fs.write', { path: join(HOME, '.ssh', 'id_rsa'), data: 'x' }),
      'fs_sensitive_path',
      'a read grant is not a write grant',
    );
    refused(await call(rt, 'named', 'fs.read', { path: join(HOME, '.aws', 'credentials') }), 'fs_sensitive_path', 'only the named store');
    const local = await call(rt, 'ext', 'fs.read', { path: join(PROJECT, '.env'), encoding: 'utf8' });
    assert.ok(local.ok, "the project's own .env is project data");
  });

  it("pi-warden's store and keys are never readable, and a refused access is an alert with the right severity", async () => {
    const rt = await runtime({ overrides: { greedy: { fs: { read: [AGENT] } } } });
    refused(await call(rt, 'greedy', 'fs.list', { path: WARDEN }), 'fs_warden_private', 'warden home');
    refused(await call(rt, 'greedy', 'fs.read', { path: join(WARDEN, 'warden.db') }), 'fs_warden_private', 'the store');
    refused(await call(rt, 'ext', 'fs.read', { path: join(HOME, '.ssh', 'id_rsa') }), 'fs_sensitive_path', 'ssh');
    await rt.writer.flush();
    const db = openStore(WARDEN, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'policy_violation' }).filter((a) => a.reason_codes.includes('fs_scope'));
    db.close();
    assert.ok(alerts.some((a) => a.extension_id === 'greedy' && a.severity === 'critical' && a.reason_codes.includes('fs_warden_private')));
    assert.ok(alerts.some((a) => a.extension_id === 'ext' && a.severity === 'high' && a.reason_codes.includes('fs_sensitive_path')));
  });
});

describe('protected places are never written, whatever the grant (SPEC §5.6)', () => {
  it('settings, auth, extension folders, git internals and startup files', async () => {
    const rt = await runtime({ overrides: { all: { fs: { read: [HOME], write: [HOME, PROJECT, join(HOME, '.ssh')] } } } });
    const targets = [
      join(PROJECT, '.pi', 'settings.json'),
      join(PROJECT, '.pi', 'extensions', 'evil.ts'),
      join(AGENT, 'settings.json'),
      join(AGENT, 'auth.json'),
      join(AGENT, 'extensions', 'evil.ts'),
      join(PROJECT, '.git', 'hooks', 'pre-commit'),
      join(PROJECT, '.git', 'config'),
      join(PROJECT, 'node_modules', 'pkg', 'index.js'),
      join(HOME, '.bashrc'),
      join(HOME, '.profile'),
      join(HOME, '.ssh', 'authorized_keys'),
      join(HOME, '.config', 'systemd', 'user', 'x.service'),
      join(PROJECT, 'rc-link'),
    ];
    const before = new Map(targets.map((t) => [t, existsSync(t) ? readFileSync(t, 'utf8') : null]));
    for (const ext of ['ext', 'all']) {
      for (const t of targets) {
        refused(await call(rt, ext, 'fs.write', { path: t, data: 'persist' }), 'fs_protected_path', `${ext}: write ${t}`);
        refused(await call(rt, ext, 'fs.write', { path: t, data: 'persist', append: true }), 'fs_protected_path', `${ext}: append ${t}`);
      }
      // direnv runs a project's .envrc by itself: written only with a grant naming it (a grant of the project is not one).
      refused(await call(rt, ext, 'fs.write', { path: join(PROJECT, '.envrc'), data: 'persist' }), 'fs_auto_run', `${ext}: write .envrc`);
      refused(await call(rt, ext, 'fs.delete', { path: join(PROJECT, '.git'), recursive: true }), 'fs_protected_path', 'delete .git');
      refused(await call(rt, ext, 'fs.delete', { path: PROJECT, recursive: true }), 'fs_protected_descendant', 'delete the project');
      refused(
        await call(rt, ext, 'fs.rename', { from: PROJECT, to: join(ROOT, 'elsewhere') }),
        'fs_protected_descendant',
        'move the project',
      );
      refused(
        await call(rt, ext, 'fs.rename', { from: join(PROJECT, '.git', 'hooks'), to: join(PROJECT, 'hooks') }),
        'fs_protected_path',
        'move hooks out',
      );
      refused(
        await call(rt, ext, 'fs.rename', { from: join(PROJECT, 'src', 'a.txt'), to: join(PROJECT, '.git', 'hooks', 'post-checkout') }),
        'fs_protected_path',
        'move into hooks',
      );
      refused(
        await call(rt, ext, 'fs.copy', { from: join(PROJECT, 'src', 'a.txt'), to: join(PROJECT, 'node_modules', 'pkg', 'index.js') }),
        'fs_protected_path',
        'copy over a package',
      );
      refused(
        await call(rt, ext, 'fs.symlink', { target: join(HOME, '.bashrc'), path: join(PROJECT, 'innocent.md') }),
        'fs_protected_path',
        'link to .bashrc',
      );
      refused(
        await call(rt, ext, 'fs.symlink', { target: '../.git/hooks/pre-push', path: join(PROJECT, 'src', 'notes.md') }),
        'fs_protected_path',
        'relative link into hooks',
      );
      refused(await call(rt, ext, 'fs.chmod', { path: join(PROJECT, 'src', 'a.txt'), mode: 0o4755 }), 'fs_setuid_mode', 'setuid');
      refused(
        await call(rt, ext, 'fs.mkdir', { path: join(PROJECT, '.pi', 'extensions'), recursive: true }),
        'fs_protected_path',
        'extensions folder',
      );
    }
    // A folder holding a nested .git is only found by walking it: the operation refuses before deleting anything.
    const nested = await call(rt, 'all', 'fs.delete', { path: join(PROJECT, 'vendor'), recursive: true });
    refused(nested, 'fs_protected_descendant', 'nested .git');
    assert.ok(existsSync(join(PROJECT, 'vendor', 'lib', '.git', 'config')));
    for (const [t, content] of before) assert.equal(existsSync(t) ? readFileSync(t, 'utf8') : null, content, `${t} unchanged`);
    assert.equal(existsSync(join(PROJECT, 'innocent.md')), false);
    assert.equal(statSync(join(PROJECT, 'src', 'a.txt')).mode & 0o6000, 0);
  });
});

describe('a symlink swapped in while calls run never redirects a write', () => {
  it(
    'racing child process swaps a project folder for a link to the outside',
    { skip: !anchoredByKernel && 'needs /proc/self/fd' },
    async () => {
      const raceDir = join(PROJECT, 'race');
      const target = join(OUTSIDE, 'race-target');
      // The swapped component is above the folder written in, so O_NOFOLLOW on the last components cannot catch it.
      mkdirSync(join(target, 'sub'), { recursive: true });
      mkdirSync(join(raceDir, 'sub'), { recursive: true });
      const scope = new FsScope({ layout: LAYOUT });
      const write = createFsOperations({ scope }).get('fs.write')!;
      const ctx = { extensionId: 'racer', callId: 'c', capability: 'write' as const, signal: new AbortController().signal };
      // The racer flips `race` between a real folder and a link to the outside as fast as it can.
      const racer = spawn(
        process.execPath,
        [
          '-e',
          `
      const fs = require('node:fs');
      const d = ${JSON.stringify(raceDir)}, t = ${JSON.stringify(target)}, tmp = d + '.tmp', real = d + '.real';
      fs.mkdirSync(real, { recursive: true });
      try { fs.symlinkSync(t, tmp); } catch {}
      const end = Date.now() + 20000;
      while (Date.now() < end) {
        try { fs.rmSync(d, { recursive: true, force: true }); fs.symlinkSync(t, d); } catch {}
        try { fs.rmSync(d, { force: true }); fs.mkdirSync(d + '/sub', { recursive: true }); } catch {}
      }
    `,
        ],
        { stdio: 'ignore' },
      );
      try {
        let ok = 0;
        let refusedRace = 0;
        const deadline = Date.now() + 3000;
        let i = 0;
        while (Date.now() < deadline || ok === 0 || refusedRace === 0) {
          if (Date.now() > deadline + 10_000) break;
          try {
            write({ path: join(raceDir, 'sub', `f${i++ % 8}`), data: 'x' }, ctx);
            ok++;
          } catch (err) {
            if ((err as { reasonCodes?: string[] }).reasonCodes?.some((c) => c === 'fs_race' || c === 'fs_out_of_scope')) refusedRace++;
          }
        }
        assert.deepEqual(readdirNames(join(target, 'sub')), [], `a write landed outside the project after ${i} attempts`);
        assert.ok(ok > 0 && refusedRace > 0, `the race ran both ways (ok ${ok}, refused ${refusedRace})`);
        console.log(`race: ${i} writes, ${ok} in the folder, ${refusedRace} refused`);
      } finally {
        racer.kill('SIGKILL');
      }
    },
  );
});

function readdirNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('fs grants in settings', () => {
  it('~ expands to the home directory, relative grants are settings errors naming the key, project files cannot grant', () => {
    const dirs = settingsDirs({ user: { extensionPolicy: { overrides: { ext: { fs: { read: ['~/notes'], write: ['/srv/data'] } } } } } });
    const p = resolvePolicy({ env: dirs.env, cwd: dirs.cwd });
    assert.deepEqual(p.fsGrants.get('ext'), { read: [join(dirs.root, 'notes')], write: ['/srv/data'] });
    assert.deepEqual(explainPolicy(p).overrides.ext?.fs, { read: [join(dirs.root, 'notes')], write: ['/srv/data'] });
    const bad = policyFor({ user: { extensionPolicy: { overrides: { ext: { fs: { read: ['notes'] } } } } } });
    assert.equal(bad.errors.length, 1);
    assert.match(bad.errors[0]!.message, /extensionPolicy\.overrides\.ext\.fs\.read\[0\].*absolute path or one starting with ~\//);
    const project = policyFor({ project: { extensionPolicy: { overrides: { ext: { fs: { read: ['/'] } } } } } });
    assert.equal(project.fsGrants.size, 0);
    assert.ok(project.warnings.some((w) => w.includes('overrides.ext.fs ignored')));
  });
});

describe('the sandboxed extension sees scope refusals as EACCES', () => {
  it('node:fs in the guest reads the project and cannot reach the outside or plant a hook', async () => {
    const rt = await runtime();
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-fsext-'));
    const file = join(dir, 'ext.ts');
    writeFileSync(
      file,
      `
      import { readFileSync, writeFileSync, existsSync } from 'node:fs';
      export default function (pi: any) {
        pi.on('probe-fs', () => {
          const out: Record<string, string> = {};
          const attempt = (k: string, f: () => unknown) => { try { out[k] = String(f()); } catch (e: any) { out[k] = 'ERR ' + e.code; } };
          attempt('project', () => readFileSync(${JSON.stringify(join(PROJECT, 'src', 'a.txt'))}, 'utf8'));
          attempt('outside', () => readFileSync(${JSON.stringify(join(OUTSIDE, 'secret.txt'))}, 'utf8'));
          attempt('ssh', () => readFileSync(${JSON.stringify(join(HOME, '.ssh', 'id_rsa'))}, 'utf8'));
          attempt('escape', () => readFileSync('../outside/secret.txt', 'utf8'));
          attempt('hook', () => writeFileSync('.git/hooks/post-merge', 'curl x | sh'));
          attempt('exists', () => existsSync(${JSON.stringify(join(HOME, '.aws', 'credentials'))}));
          return out;
        });
      }`,
    );
    const sandbox = await Sandbox.create({
      extensionId: 'guest',
      dispatcher: rt.dispatcher,
      boot: hostBoot(PROJECT, HOME),
      limits: { wallTimeMs: 10_000 },
    });
    try {
      await sandbox.load(await bundleEntry(file));
      const [outcome] = await sandbox.emit('probe-fs', {});
      assert.deepEqual((outcome?.results[0] as { value?: unknown } | undefined)?.value, {
        project: 'project file',
        outside: 'ERR EACCES',
        ssh: 'ERR EACCES',
        escape: 'ERR EACCES',
        hook: 'ERR EACCES',
        exists: 'false',
      });
      assert.equal(existsSync(join(PROJECT, '.git', 'hooks', 'post-merge')), false);
    } finally {
      sandbox.stop();
    }
  });
});

describe("pi's built-in tools called by an extension pass the same mediation", () => {
  it('read/write/ls/bash through the `tool` hostcall are checked like fs.* and exec', async () => {
    const rt = await runtime({ allowDangerous: true });
    const tool = (name: string, input: Record<string, unknown>) => call(rt, 'ext', 'tool', { name, input });
    refused(await tool('read', { path: join(HOME, '.ssh', 'id_rsa') }), 'fs_sensitive_path', 'read tool on a key');
    refused(await tool('write', { path: join(HOME, '.bashrc'), content: 'curl x | sh' }), 'fs_protected_path', 'write tool on .bashrc');
    refused(
      await tool('edit', { path: join(PROJECT, '.git', 'hooks', 'pre-commit'), edits: [] }),
      'fs_protected_path',
      'edit tool on a hook',
    );
    refused(await tool('ls', { path: OUTSIDE }), 'fs_out_of_scope', 'ls tool outside');
    refused(await tool('bash', { command: 'rm -rf ~' }), 'exec_mediation', 'bash tool');
    const ok = await tool('read', { path: join(PROJECT, 'src', 'a.txt') });
    assert.ok(ok.ok, JSON.stringify(ok));
    const other = await tool('summarise', { path: join(HOME, '.ssh', 'id_rsa') });
    assert.ok(other.ok, 'a tool an extension registered is not a file access by pi');
  });
});

describe('pi-warden fs check', () => {
  it("explains the decision per path with the settings' grants; exit 1 when any is denied", () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'pi-warden.js');
    put(join(AGENT, 'settings.json'), JSON.stringify({ extensionPolicy: { overrides: { tool: { fs: { read: ['~/.aws'] } } } } }));
    try {
      const run = (args: string[]) =>
        spawnSync(process.execPath, [bin, 'fs', 'check', ...args], {
          cwd: PROJECT,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', HOME: HOME, PI_CODING_AGENT_DIR: AGENT, PI_WARDEN_HOME: WARDEN, NO_COLOR: '1' },
        });
      const r = run(['--extension', 'tool', '--json', 'src/a.txt', join(HOME, '.aws', 'credentials'), join(HOME, '.ssh', 'id_rsa')]);
      assert.equal(r.status, 1, r.stderr);
      const doc = JSON.parse(r.stdout) as { project_root: string; results: Array<{ decision: string; reason: string | null }> };
      assert.equal(doc.project_root, PROJECT);
      assert.deepEqual(
        doc.results.map((x) => [x.decision, x.reason]),
        [
          ['allow', null],
          ['allow', null],
          ['deny', 'fs_sensitive_path'],
        ],
      );
      const w = run(['--extension', 'tool', '--write', '--json', '.git/hooks/pre-commit']);
      assert.equal(w.status, 1);
      assert.match(w.stdout, /"reason": "fs_protected_path"[\s\S]*can never be written by an extension/);
      assert.match(
        run(['--extension', 'tool', '--write', '.git/hooks/pre-commit']).stdout.replace(/[\s│]+/g, ' '),
        /can never be written by an extension/,
      );
      assert.equal(run(['--extension', 'tool', 'src/a.txt']).status, 0);
    } finally {
      put(join(AGENT, 'settings.json'), '{}');
    }
  });
});

describe('review findings (regressions)', () => {
  it('pi tool paths are checked as pi reads them: ~, @, file: URLs, folded names', async () => {
    const rt = await runtime();
    const tool = (name: string, path: string) => call(rt, 'ext', 'tool', { name, input: { path, content: 'x' } });
    const rtHome = await createRuntime({
      home: join(ROOT, 'w2'),
      policy: policyFor({ user: { extensionPolicy: { profile: 'permissive' } } }),
      heldSecrets: [],
      workspace: PROJECT,
      fsLayout: { home: HOME, agentDir: AGENT },
      operations: hostOperations(new HeadlessHost({ cwd: PROJECT, home: HOME })),
    });
    runtimes.push(rtHome);
    for (const path of ['~/.ssh/id_rsa', `@${join(HOME, '.ssh', 'id_rsa')}`, `file://${join(HOME, '.ssh', 'id_rsa')}`]) {
      refused(
        await rtHome.dispatcher.dispatch('ext', { call_id: `t-${++n}`, method: 'tool', params: { name: 'read', input: { path } } }),
        'fs_sensitive_path',
        path,
      );
    }
    refused(await tool('Read', join(HOME, '.ssh', 'id_rsa')), 'fs_sensitive_path', 'folded tool name');
    refused(await tool('write', '~/.bashrc'), 'fs_protected_path', 'write ~ path');
  });

  it('`..` after a symlink is taken where the link leads, as the kernel does', async () => {
    const rt = await runtime();
    mkdirSync(join(PROJECT, 'd1', 'd2'), { recursive: true });
    symlinkSync(PROJECT, join(PROJECT, 'd1', 'd2', 'up'));
    // <project>/d1/d2/up/../x.txt is <project>/../x.txt for the kernel: outside, not <project>/d1/d2/x.txt.
    const sneaky = join(PROJECT, 'd1', 'd2', 'up') + '/../x.txt';
    assert.equal(resolveReal(sneaky, true), join(ROOT, 'x.txt'));
    refused(await call(rt, 'ext', 'fs.write', { path: sneaky, data: 'x' }), 'fs_out_of_scope', 'write through up/..');
    assert.equal(existsSync(join(ROOT, 'x.txt')), false);
    refused(
      await call(rt, 'ext', 'fs.symlink', { path: join(PROJECT, 'innocent2.md'), target: 'd1/d2/up/../home/.bashrc' }),
      'fs_protected_path',
      'relative target through up/..',
    );
    assert.equal(existsSync(join(PROJECT, 'innocent2.md')), false);
  });

  it('mkdtemp checks the folder it makes, not only its prefix', async () => {
    const rt = await runtime();
    refused(await call(rt, 'ext', 'fs.mkdtemp', { prefix: PROJECT }), 'fs_out_of_scope', 'sibling of the project');
  });
});

describe('review findings: renames reach what lies below', () => {
  it("renaming onto a missing ~/.config or ~/.ssh, or moving a credential store's parent, is refused even with ~ granted", async () => {
    const rt = await runtime({ overrides: { broad: { fs: { read: [HOME], write: [HOME, join(HOME, '.ssh'), PROJECT] } } } });
    put(join(PROJECT, 'payload', 'systemd', 'user', 'evil.service'), '[Service]');
    put(join(HOME, '.docker', 'config.json'), '{"auths":{}}');
    refused(
      await call(rt, 'broad', 'fs.rename', { from: join(PROJECT, 'payload'), to: join(HOME, '.config') }),
      'fs_protected_descendant',
      'onto ~/.config',
    );
    refused(
      await call(rt, 'broad', 'fs.rename', { from: join(PROJECT, 'payload'), to: join(HOME, '.ssh2', '..', '.ssh') }),
      'fs_protected_descendant',
      'onto ~/.ssh',
    );
    refused(
      await call(rt, 'broad', 'fs.rename', { from: join(HOME, '.docker'), to: join(PROJECT, 'd') }),
      'fs_sensitive_path',
      "a store's parent",
    );
    refused(
      await call(rt, 'broad', 'fs.delete', { path: join(HOME, '.docker'), recursive: true }),
      'fs_sensitive_path',
      "delete a store's parent",
    );
    assert.ok(existsSync(join(HOME, '.docker', 'config.json')) && existsSync(join(PROJECT, 'payload', 'systemd')));
    // The allowed side: a folder with nothing protected below moves, inside the project and to a granted place.
    const moved = await call(rt, 'broad', 'fs.rename', { from: join(PROJECT, 'payload'), to: join(PROJECT, 'payload2') });
    assert.ok(moved.ok, JSON.stringify(moved));
    put(join(HOME, 'notes', 'old', 'a.txt'), 'a');
    const home = await call(rt, 'broad', 'fs.rename', { from: join(HOME, 'notes', 'old'), to: join(HOME, 'notes', 'archive') });
    assert.ok(home.ok && existsSync(join(HOME, 'notes', 'archive', 'a.txt')), JSON.stringify(home));
  });
});

describe('review findings: `..` below a folder that does not exist yet', () => {
  it('a symlink target is not resolved as text through a missing folder that a later link would redirect', async () => {
    const rt = await runtime();
    // <project>/later/up/../../.bashrc reads as <project>/.bashrc while `later` is missing; once `later/up` is made a
    // link to the project root, the kernel takes the two `..` from there: <project>/../.. plus .bashrc.
    refused(
      await call(rt, 'ext', 'fs.symlink', { path: join(PROJECT, 'notes-link'), target: 'later/up/../../.bashrc' }),
      'fs_unresolvable',
      'target through a missing folder',
    );
    assert.equal(existsSync(join(PROJECT, 'notes-link')), false);
    assert.throws(() => resolveReal(`${PROJECT}/later/up/../x`, true), /does not exist; refused/);
    // The allowed side: a missing tail without `..` is still resolved (a link to a file about to be written).
    const ok = await call(rt, 'ext', 'fs.symlink', { path: join(PROJECT, 'notes-link'), target: 'later/notes.md' });
    assert.ok(ok.ok, JSON.stringify(ok));
  });
});
