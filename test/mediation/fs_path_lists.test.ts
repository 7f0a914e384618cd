/**
 * The credential-store and never-write lists (src/mediation/fs/paths.ts) hold where a place really is, not only how it is named
 * (issue 6 review finding 4): dotfiles managed by GNU stow are symlinks into ~/dotfiles, so the real file must be as
 * protected as the dotfile; tools relocate their files by environment variables (XDG_CONFIG_HOME, GNUPGHOME, ...);
 * and the lists cover coding agents' tokens and folders on PATH. Each refusal has an allowed twin.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsScope, type FsAccess } from '../../src/mediation/fs/scope.ts';
import { put } from '../helpers.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-lists-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));
const HOME = join(ROOT, 'home');
const PROJECT = join(ROOT, 'project');
const DOT = join(HOME, 'dotfiles');
const XDG = join(ROOT, 'xdg-config');
const KEYS = join(ROOT, 'keys');
const GNUPG = join(KEYS, 'gnupg-home');

// GNU stow layout: the real files live in ~/dotfiles, the dotfiles are links to them.
put(join(DOT, 'bash', '.bashrc'), '# rc');
put(join(DOT, 'ssh', 'id_ed25519'), 'KEY');
put(join(DOT, 'aws', 'credentials'), '[default]');
put(join(DOT, 'README.md'), 'my dotfiles');
mkdirSync(join(HOME, '.aws'), { recursive: true });
symlinkSync(join(DOT, 'bash', '.bashrc'), join(HOME, '.bashrc'));
symlinkSync(join(DOT, 'ssh'), join(HOME, '.ssh'));
symlinkSync(join(DOT, 'aws', 'credentials'), join(HOME, '.aws', 'credentials'));
put(join(XDG, 'gh', 'hosts.yml'), 'oauth_token: x');
put(join(XDG, 'notes.txt'));
put(join(GNUPG, 'private-keys-v1.d', 'k.key'));
put(join(PROJECT, 'a.txt'));
// Links in a credential folder back to broad places must not put those places on the list.
symlinkSync(HOME, join(DOT, 'ssh', 'back-home'));
symlinkSync('/', join(DOT, 'ssh', 'root'));

// Broad grants: none names a store, so each store below them stays closed.
const grants = new Map([['ext', { read: [HOME, XDG, KEYS], write: [HOME, XDG] }]]);
function scope(env: Record<string, string> = {}): FsScope {
  return new FsScope({
    layout: {
      projectRoot: PROJECT,
      home: HOME,
      agentDir: join(HOME, '.pi', 'agent'),
      wardenHome: join(HOME, '.pi', 'agent', 'warden'),
      dataRoot: join(HOME, '.pi', 'agent', 'warden', 'data'),
    },
    grants,
    env,
  });
}
function refused(s: FsScope, path: string, access: FsAccess, reason: string): void {
  const r = s.check('ext', path, access, true);
  assert.ok('reason' in r, `${access} ${path}: allowed but must be refused`);
  assert.equal(r.reason, reason, `${access} ${path}: ${r.detail}`);
}
function allowed(s: FsScope, path: string, access: FsAccess): void {
  const r = s.check('ext', path, access, true);
  assert.ok(!('reason' in r), `${access} ${path}: ${'reason' in r ? r.detail : ''}`);
}

describe('list entries are protected where they really are', () => {
  it('stow-style dotfiles: the real files are as protected as the links, under a grant of ~', () => {
    const s = scope();
    refused(s, join(HOME, '.bashrc'), 'write', 'fs_protected_path');
    refused(s, join(DOT, 'bash', '.bashrc'), 'write', 'fs_protected_path');
    refused(s, join(HOME, '.ssh', 'id_ed25519'), 'read', 'fs_sensitive_path');
    refused(s, join(DOT, 'ssh', 'id_ed25519'), 'read', 'fs_sensitive_path');
    refused(s, join(DOT, 'aws', 'credentials'), 'read', 'fs_sensitive_path');
    // The allowed twin: the rest of ~/dotfiles is ordinary, and so is the project, though links in ~/.ssh lead to
    // home and to / (and /proc/<pid>/root leads to /).
    allowed(s, join(DOT, 'README.md'), 'read');
    allowed(s, join(PROJECT, 'a.txt'), 'write');
    allowed(s, join(DOT, 'README.md'), 'write');
    const r = s.check('ext', join(DOT, 'ssh', 'id_ed25519'), 'read', true);
    assert.ok(
      'reason' in r && r.entry === `~/.ssh (symlink ${join(HOME, '.ssh')} → ${join(DOT, 'ssh')})`,
      'reason' in r ? String(r.entry) : '',
    );
  });

  it('a grant that names the store (by its link) opens it; a grant of the folder holding the real files does not', () => {
    const named = new FsScope({
      layout: {
        projectRoot: PROJECT,
        home: HOME,
        agentDir: join(HOME, '.pi', 'agent'),
        wardenHome: join(HOME, '.pi', 'agent', 'warden'),
        dataRoot: join(HOME, 'data'),
      },
      grants: new Map([
        ['ext', { read: [join(HOME, '.ssh')], write: [] }],
        ['broad', { read: [DOT], write: [] }],
      ]),
    });
    assert.ok(!('reason' in named.check('ext', join(DOT, 'ssh', 'id_ed25519'), 'read', true)));
    assert.ok('reason' in named.check('broad', join(DOT, 'ssh', 'id_ed25519'), 'read', true));
  });

  it('environment relocations: XDG_CONFIG_HOME moves gh and git, GNUPGHOME moves the keyring', () => {
    const plain = scope();
    allowed(plain, join(XDG, 'gh', 'hosts.yml'), 'read');
    allowed(plain, join(GNUPG, 'private-keys-v1.d', 'k.key'), 'read');
    const s = scope({
      XDG_CONFIG_HOME: XDG,
      GNUPGHOME: GNUPG,
      KUBECONFIG: `${join(ROOT, 'kube-a')}:relative/ignored:${join(ROOT, 'kube-b')}`,
    });
    refused(s, join(XDG, 'gh', 'hosts.yml'), 'read', 'fs_sensitive_path');
    refused(s, join(XDG, 'git', 'config'), 'write', 'fs_protected_path');
    refused(s, join(GNUPG, 'private-keys-v1.d', 'k.key'), 'read', 'fs_sensitive_path');
    refused(s, join(ROOT, 'kube-b'), 'read', 'fs_sensitive_path');
    allowed(s, join(XDG, 'notes.txt'), 'read');
    const r = s.check('ext', join(XDG, 'gh', 'hosts.yml'), 'read', true);
    assert.ok('reason' in r && String(r.entry).startsWith('$XDG_CONFIG_HOME'), 'reason' in r ? String(r.entry) : '');
  });

  it("new entries: coding agents' tokens are credential stores; PATH folders and agent settings are never written", () => {
    const s = scope();
    for (const p of [
      '.claude/.credentials.json',
      '.codex/auth.json',
      '.config/github-copilot/apps.json',
      '.cache/huggingface/token',
      '.config/sops/age/keys.txt',
      '.m2/settings.xml',
      '.gradle/gradle.properties',
      '.kaggle/kaggle.json',
      '.databrickscfg',
    ]) {
      refused(s, join(HOME, p), 'read', 'fs_sensitive_path');
    }
    for (const p of ['.bash_aliases', '.local/bin/git', 'bin/ls', '.claude/settings.json', '.codex/config.toml', '.bashrc.d/10-evil.sh']) {
      refused(s, join(HOME, p), 'write', 'fs_protected_path');
    }
    allowed(s, join(HOME, '.local', 'share', 'notes.txt'), 'write');
    allowed(s, join(HOME, 'binaries.txt'), 'write');
  });

  it('pi-warden fs check names the list entry that matched', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'pi-warden.js');
    const r = spawnSync(process.execPath, [bin, 'fs', 'check', '--extension', 'ext', '--json', join(DOT, 'ssh', 'id_ed25519')], {
      cwd: PROJECT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME, NO_COLOR: '1', PI_WARDEN_HOME: join(HOME, '.pi', 'agent', 'warden') },
    });
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { results: Array<{ reason: string; list_entry: string }> };
    assert.equal(out.results[0]?.reason, 'fs_sensitive_path');
    assert.equal(out.results[0]?.list_entry, `~/.ssh (symlink ${join(HOME, '.ssh')} → ${join(DOT, 'ssh')})`);
  });
});

describe('lists, from the second review: hostile config files, links and variables neither hang nor over-block', () => {
  const layoutFor = (home: string, project: string) => ({
    projectRoot: project,
    home,
    agentDir: join(home, '.pi', 'agent'),
    wardenHome: join(home, '.pi', 'agent', 'warden'),
    dataRoot: join(home, '.pi', 'agent', 'warden', 'data'),
  });
  const fresh = (name: string) => {
    const home = join(ROOT, name, 'home');
    const project = join(ROOT, name, 'project');
    mkdirSync(join(project, '.git'), { recursive: true });
    mkdirSync(home, { recursive: true });
    return { home, project };
  };

  it('a FIFO or a /dev/zero link at ~/.gitconfig is not read (startup does not hang or fill memory)', () => {
    const { home, project } = fresh('fifo');
    assert.equal(spawnSync('mkfifo', [join(home, '.gitconfig')]).status, 0);
    // In a child process with a time limit: a blocking read of the FIFO would hang this one for good.
    const build = () =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
      import { FsScope } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'mediation', 'fs', 'scope.ts'))};
      new FsScope({ layout: ${JSON.stringify(layoutFor(home, project))} });
      console.log('built');
    `,
        ],
        { encoding: 'utf8', timeout: 15_000 },
      );
    const fifo = build();
    assert.equal(fifo.stdout.trim(), 'built', `FIFO: ${fifo.error?.message ?? fifo.stderr}`);
    rmSync(join(home, '.gitconfig'));
    symlinkSync('/dev/zero', join(home, '.gitconfig'));
    const zero = build();
    assert.equal(zero.stdout.trim(), 'built', `/dev/zero: ${zero.error?.message ?? zero.stderr}`);
  });

  it("git config as git reads it: a key on the header line, continuations, comments; the project's own hooksPath (husky)", () => {
    const { home, project } = fresh('gitcfg');
    const hooks = join(ROOT, 'gitcfg', 'global-hooks');
    writeFileSync(join(home, '.gitconfig'), `[core] hooksPath = ${hooks}#comment\n`);
    writeFileSync(join(project, '.git', 'config'), '[core]\n\thooksPath = .husky/_\n');
    put(join(project, 'src', 'a.ts'));
    const s = new FsScope({ layout: layoutFor(home, project), grants: new Map([['ext', { read: [], write: [ROOT] }]]) });
    for (const p of [join(hooks, 'pre-commit'), join(project, '.husky', 'pre-commit'), join(project, '.husky', '_', 'h')]) {
      const r = s.check('ext', p, 'write', true);
      assert.ok('reason' in r && r.reason === 'fs_protected_path', `${p}: ${'reason' in r ? r.reason : 'allowed'}`);
    }
    assert.ok(!('reason' in s.check('ext', join(project, 'src', 'a.ts'), 'write', true)), 'the rest of the project is writable');
  });

  it('a PATH folder named through a link into the project protects it where it really is; a variable naming a folder that holds the project, or the project itself on PATH, protects nothing there', () => {
    const { home, project } = fresh('over');
    mkdirSync(join(project, 'bin'), { recursive: true });
    symlinkSync(project, join(ROOT, 'over', 'project-link'));
    const env = { PATH: `${join(ROOT, 'over', 'project-link', 'bin')}:${project}:.:/usr/bin`, CODEX_HOME: ROOT, HISTFILE: '/' };
    const s = new FsScope({ layout: layoutFor(home, project), env });
    const planted = s.check('ext', join(project, 'bin', 'git'), 'write', true);
    assert.ok('reason' in planted && planted.reason === 'fs_protected_path', JSON.stringify(planted));
    assert.ok(!('reason' in s.check('ext', join(project, 'notes.md'), 'write', true)), 'the project itself on PATH does not freeze it');
  });
});
