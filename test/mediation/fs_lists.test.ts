/**
 * The credential-store and never-written lists (src/mediation/fs/paths.ts; SPEC §5.5, §5.6) where the places really are, on real
 * files and real symlinks: the checked paths are resolved through symlinks, so the lists must be too. GNU stow makes
 * ~/.ssh, ~/.bashrc, ~/.aws/credentials links into ~/dotfiles; tools move their files by environment variables
 * (XDG_CONFIG_HOME, GNUPGHOME, KUBECONFIG, PATH, ...) and by git configuration (core.hooksPath). Each refusal here
 * has an allowed twin: the ordinary file next to the real target stays usable under a grant of its folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsScope, type FsAccess, type FsGrant } from '../../src/mediation/fs/scope.ts';
import { put } from '../helpers.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-lists-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));

let worlds = 0;
/** A fresh home with a project and a ~/dotfiles folder holding an ordinary README. */
function world(): { root: string; home: string; project: string; dot: string } {
  const root = join(ROOT, `w${++worlds}`);
  const home = join(root, 'home');
  const project = join(root, 'project');
  put(join(project, 'a.txt'));
  put(join(home, 'dotfiles', 'README'), 'my dotfiles');
  return { root, home, project, dot: join(home, 'dotfiles') };
}

function scope(w: { home: string; project: string }, grant: FsGrant, env: Record<string, string> = {}): FsScope {
  const agent = join(w.home, '.pi', 'agent');
  return new FsScope({
    layout: {
      projectRoot: w.project,
      home: w.home,
      agentDir: agent,
      wardenHome: join(agent, 'warden'),
      dataRoot: join(agent, 'warden', 'data'),
    },
    grants: new Map([['ext', grant]]),
    env,
  });
}

function refused(s: FsScope, path: string, access: FsAccess, reason: string): string | undefined {
  const r = s.check('ext', path, access, true);
  assert.ok('reason' in r, `${access} ${path}: allowed, must be refused (${reason})`);
  assert.equal(r.reason, reason, `${access} ${path}: ${r.detail}`);
  return r.entry;
}

function allowed(s: FsScope, path: string, access: FsAccess): void {
  const r = s.check('ext', path, access, true);
  assert.ok(!('reason' in r), `${access} ${path}: ${'reason' in r ? r.detail : ''}`);
}

describe('stow-style symlinked dotfiles are protected where they really are', () => {
  it('~/.ssh → ~/dotfiles/ssh: the keys need a grant naming the store, through the link and at the real path', () => {
    const w = world();
    put(join(w.dot, 'ssh', 'id_ed25519'), 'PRIVATE KEY');
    symlinkSync(join(w.dot, 'ssh'), join(w.home, '.ssh'));
    const s = scope(w, { read: [w.dot], write: [w.dot] });
    refused(s, join(w.home, '.ssh', 'id_ed25519'), 'read', 'fs_sensitive_path');
    const entry = refused(s, join(w.dot, 'ssh', 'id_ed25519'), 'read', 'fs_sensitive_path');
    assert.equal(entry, `~/.ssh (symlink ${join(w.home, '.ssh')} → ${join(w.dot, 'ssh')})`);
    refused(s, join(w.dot, 'ssh', 'id_ed25519'), 'write', 'fs_sensitive_path');
    allowed(s, join(w.dot, 'README'), 'read');
    allowed(s, join(w.dot, 'README'), 'write');
    // A grant that names the store opens it at both places; the message to the extension names the entry only.
    const named = scope(w, { read: [join(w.home, '.ssh')], write: [] });
    allowed(named, join(w.dot, 'ssh', 'id_ed25519'), 'read');
    allowed(named, join(w.home, '.ssh', 'id_ed25519'), 'read');
    const r = s.check('ext', join(w.dot, 'ssh', 'id_ed25519'), 'read', true);
    assert.ok('reason' in r && r.detail.includes('(~/.ssh)') && !r.detail.includes('symlink'), 'reason' in r ? r.detail : '');
  });

  it('~/.bashrc → ~/dotfiles/bash/.bashrc: never written, through the link or at the real file', () => {
    const w = world();
    put(join(w.dot, 'bash', '.bashrc'), '# rc\n');
    symlinkSync(join(w.dot, 'bash', '.bashrc'), join(w.home, '.bashrc'));
    const s = scope(w, { read: [w.dot, w.home], write: [w.dot, w.home] });
    refused(s, join(w.home, '.bashrc'), 'write', 'fs_protected_path');
    const entry = refused(s, join(w.dot, 'bash', '.bashrc'), 'write', 'fs_protected_path');
    assert.equal(entry, `~/.bashrc (symlink ${join(w.home, '.bashrc')} → ${join(w.dot, 'bash', '.bashrc')})`);
    allowed(s, join(w.dot, 'bash', '.bashrc'), 'read');
    allowed(s, join(w.dot, 'README'), 'write');
    allowed(s, join(w.dot, 'bash', 'notes.txt'), 'write');
    // Deleting or renaming the folder that holds the real file would replace it: refused too.
    assert.deepEqual(
      s.checkCall('ext', 'fs.delete', { path: join(w.dot, 'bash') }).map((p) => p.reason),
      ['fs_protected_descendant'],
    );
    assert.ok(
      s
        .checkCall('ext', 'fs.rename', { from: join(w.dot, 'README'), to: join(w.dot, 'bash', '.bashrc') })
        .some((p) => p.reason === 'fs_protected_path'),
    );
  });

  it('a dangling stow link (~/.zshrc → a file not made yet): creating the target is writing the startup file', () => {
    const w = world();
    mkdirSync(join(w.dot, 'zsh'), { recursive: true });
    symlinkSync(join(w.dot, 'zsh', '.zshrc'), join(w.home, '.zshrc'));
    const s = scope(w, { read: [w.dot], write: [w.dot] });
    refused(s, join(w.dot, 'zsh', '.zshrc'), 'write', 'fs_protected_path');
    allowed(s, join(w.dot, 'zsh', 'plugins.txt'), 'write');
  });

  it('~/.aws/credentials → ~/dotfiles/aws/credentials (a single linked file in a real ~/.aws folder)', () => {
    const w = world();
    put(join(w.dot, 'aws', 'credentials'), '[default]\naws_secret_access_key=x');
    put(join(w.dot, 'aws', 'notes.md'));
    put(join(w.home, '.aws', 'cli', 'alias'));
    symlinkSync(join(w.dot, 'aws', 'credentials'), join(w.home, '.aws', 'credentials'));
    const s = scope(w, { read: [w.dot], write: [w.dot] });
    refused(s, join(w.home, '.aws', 'credentials'), 'read', 'fs_sensitive_path');
    const entry = refused(s, join(w.dot, 'aws', 'credentials'), 'read', 'fs_sensitive_path');
    assert.equal(entry, `~/.aws (symlink ${join(w.home, '.aws', 'credentials')} → ${join(w.dot, 'aws', 'credentials')})`);
    allowed(s, join(w.dot, 'aws', 'notes.md'), 'read');
    allowed(s, join(w.dot, 'README'), 'read');
    assert.deepEqual(
      s.checkCall('ext', 'fs.delete', { path: join(w.dot, 'aws') }).map((p) => p.reason),
      ['fs_sensitive_path'],
    );
  });

  it('a link inside a list folder that leads to a folder holding the project does not make the project a store', () => {
    const w = world();
    put(join(w.home, '.ssh', 'id_rsa'), 'KEY');
    symlinkSync(w.root, join(w.home, '.ssh', 'sockets'));
    mkdirSync(join(w.home, '.config'), { recursive: true });
    symlinkSync(w.root, join(w.home, '.config', 'nvim'));
    const s = scope(w, { read: [], write: [] });
    allowed(s, join(w.project, 'a.txt'), 'read');
    allowed(s, join(w.project, 'a.txt'), 'write');
    refused(s, join(w.home, '.ssh', 'id_rsa'), 'read', 'fs_sensitive_path');
  });
});

describe('list entries moved by environment variables', () => {
  it('XDG_CONFIG_HOME: its gh (a stow link) is a credential store and its git never written; other files are ordinary', () => {
    const w = world();
    const xdg = join(w.root, 'xdg');
    put(join(w.dot, 'gh', 'hosts.yml'), 'oauth_token: gho_x');
    put(join(xdg, 'notes.txt'));
    symlinkSync(join(w.dot, 'gh'), join(xdg, 'gh'));
    const grant = { read: [xdg, w.dot], write: [xdg, w.dot] };
    // Without the variable the folder is ordinary (the lists name ~/.config).
    allowed(scope(w, grant), join(xdg, 'gh', 'hosts.yml'), 'read');
    const s = scope(w, grant, { XDG_CONFIG_HOME: xdg });
    assert.equal(refused(s, join(xdg, 'gh', 'hosts.yml'), 'read', 'fs_sensitive_path'), '$XDG_CONFIG_HOME/gh');
    assert.equal(
      refused(s, join(w.dot, 'gh', 'hosts.yml'), 'read', 'fs_sensitive_path'),
      `$XDG_CONFIG_HOME/gh (symlink ${join(xdg, 'gh')} → ${join(w.dot, 'gh')})`,
    );
    refused(s, join(xdg, 'git', 'config'), 'write', 'fs_protected_path');
    refused(s, join(xdg, 'fish', 'config.fish'), 'write', 'fs_protected_path');
    allowed(s, join(xdg, 'notes.txt'), 'read');
    allowed(s, join(xdg, 'notes.txt'), 'write');
    allowed(s, join(w.dot, 'README'), 'read');
    // Relative values are ignored (XDG specification).
    allowed(scope(w, grant, { XDG_CONFIG_HOME: 'xdg' }), join(xdg, 'gh', 'hosts.yml'), 'read');
  });

  it('GNUPGHOME (a link into ~/dotfiles): the keyring needs a grant naming it, at both places', () => {
    const w = world();
    const gnupg = join(w.root, 'gnupg');
    put(join(w.dot, 'gnupg', 'private-keys-v1.d', 'k.key'), 'KEY');
    symlinkSync(join(w.dot, 'gnupg'), gnupg);
    const grant = { read: [w.dot, w.root], write: [] };
    allowed(scope(w, grant), join(w.dot, 'gnupg', 'private-keys-v1.d', 'k.key'), 'read');
    const s = scope(w, grant, { GNUPGHOME: gnupg });
    refused(s, join(gnupg, 'private-keys-v1.d', 'k.key'), 'read', 'fs_sensitive_path');
    assert.equal(
      refused(s, join(w.dot, 'gnupg', 'private-keys-v1.d', 'k.key'), 'read', 'fs_sensitive_path'),
      `$GNUPGHOME (symlink ${gnupg} → ${join(w.dot, 'gnupg')})`,
    );
    allowed(s, join(w.dot, 'README'), 'read');
  });

  it('file and list variables: AWS_SHARED_CREDENTIALS_FILE, KUBECONFIG (each entry), ZDOTDIR, CARGO_HOME, PATH', () => {
    const w = world();
    const t = (p: string) => join(w.root, 'tools', p);
    put(t('aws-creds'));
    put(t('kube-a'));
    put(t('kube-b'));
    put(t('zsh/.zshrc'));
    put(t('zsh/notes'));
    put(t('cargo/credentials.toml'));
    put(t('bin/mytool'));
    put(t('other'));
    const grant = { read: [join(w.root, 'tools')], write: [join(w.root, 'tools'), join(w.project, 'bin')] };
    const s = scope(w, grant, {
      AWS_SHARED_CREDENTIALS_FILE: t('aws-creds'),
      KUBECONFIG: `${t('kube-a')}:relative/ignored:${t('kube-b')}`,
      ZDOTDIR: t('zsh'),
      CARGO_HOME: t('cargo'),
      PATH: `${t('bin')}:${join(w.project, 'bin')}:relative-bin`,
    });
    refused(s, t('aws-creds'), 'read', 'fs_sensitive_path');
    refused(s, t('kube-a'), 'read', 'fs_sensitive_path');
    refused(s, t('kube-b'), 'read', 'fs_sensitive_path');
    refused(s, t('zsh/.zshrc'), 'write', 'fs_protected_path');
    refused(s, t('cargo/credentials.toml'), 'read', 'fs_sensitive_path');
    refused(s, t('cargo/bin/rg'), 'write', 'fs_protected_path');
    assert.equal(refused(s, t('bin/mytool'), 'write', 'fs_protected_path'), '$PATH');
    allowed(s, t('bin/mytool'), 'read');
    allowed(s, t('zsh/notes'), 'write');
    allowed(s, t('other'), 'read');
    // A PATH folder inside the project (direnv's PATH_add) is one too: a planted `bin/git` runs at the next `git`;
    // a relative entry is taken from the project root, where pi runs commands.
    assert.equal(refused(s, join(w.project, 'bin', 'script.sh'), 'write', 'fs_protected_path'), '$PATH');
    assert.equal(refused(s, join(w.project, 'relative-bin', 'git'), 'write', 'fs_protected_path'), '$PATH');
    allowed(s, join(w.project, 'src', 'script.sh'), 'write');
  });

  it('git configuration: a global core.hooksPath and an included file are never written', () => {
    const w = world();
    put(
      join(w.home, '.gitconfig'),
      '[user]\n\tname = U\n[core]\n\thooksPath = ~/githooks ; shared hooks\n[include]\n\tpath = dotfiles/git/extra.inc\n',
    );
    put(join(w.dot, 'git', 'extra.inc'), '[credential]\n\thelper = store --file /x/creds\n');
    put(join(w.home, 'githooks', 'pre-commit'), '#!/bin/sh\n');
    const s = scope(w, { read: [w.home], write: [w.home] });
    refused(s, join(w.home, 'githooks', 'pre-commit'), 'write', 'fs_protected_path');
    refused(s, join(w.dot, 'git', 'extra.inc'), 'write', 'fs_protected_path');
    allowed(s, join(w.dot, 'README'), 'write');
    const creds = s.classifier.classify('/x/creds', join(w.home, 'data'));
    assert.equal(creds.cls, 'sensitive');
  });
});

describe('entries added to the lists', () => {
  it("coding agents' and CLIs' tokens are credential stores", () => {
    const w = world();
    const s = scope(w, { read: [w.home], write: [] });
    for (const p of [
      '.claude/.credentials.json',
      '.claude.json',
      '.codex/auth.json',
      '.config/github-copilot/apps.json',
      '.config/sops/age/keys.txt',
      '.cache/huggingface/token',
      '.pulumi/credentials.json',
      '.config/configstore/firebase-tools.json',
      '.config/git/credentials',
      '.ollama/id_ed25519',
    ]) {
      refused(s, join(w.home, p), 'read', 'fs_sensitive_path');
    }
    allowed(s, join(w.home, '.claude', 'projects', 'x.jsonl'), 'read');
    allowed(s, join(w.home, '.cache', 'pip', 'http'), 'read');
  });

  it("folders on PATH, sourced shell files and agents' settings are never written", () => {
    const w = world();
    const s = scope(w, { read: [w.home], write: [w.home] });
    for (const p of [
      '.local/bin/git',
      'bin/ls',
      '.bash_aliases',
      '.bashrc.d/10-path.sh',
      '.config/bash/env',
      '.cargo/env',
      '.claude/settings.json',
      '.codex/config.toml',
      '.aws/config',
      '.kube/config',
    ]) {
      refused(s, join(w.home, p), 'write', 'fs_protected_path');
    }
    allowed(s, join(w.home, '.local', 'share', 'notes.txt'), 'write');
    allowed(s, join(w.home, 'binaries.txt'), 'write');
  });
});

describe('pi-warden fs check', () => {
  it('names the list entry that matched and the symlink it was reached through', () => {
    const w = world();
    put(join(w.dot, 'ssh', 'id_ed25519'), 'KEY');
    symlinkSync(join(w.dot, 'ssh'), join(w.home, '.ssh'));
    const agent = join(w.home, '.pi', 'agent');
    put(join(agent, 'settings.json'), JSON.stringify({ extensionPolicy: { overrides: { tool: { fs: { read: ['~/dotfiles'] } } } } }));
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'pi-warden.js');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [bin, 'fs', 'check', '--extension', 'tool', ...args], {
        cwd: w.project,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: w.home,
          PI_CODING_AGENT_DIR: agent,
          PI_WARDEN_HOME: join(agent, 'warden'),
          NO_COLOR: '1',
        },
      });
    const r = run(['--json', join(w.dot, 'ssh', 'id_ed25519'), join(w.dot, 'README')]);
    assert.equal(r.status, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as { results: Array<{ decision: string; reason: string | null; list_entry: string | null }> };
    assert.deepEqual(
      doc.results.map((x) => [x.decision, x.reason, x.list_entry]),
      [
        ['deny', 'fs_sensitive_path', `~/.ssh (symlink ${join(w.home, '.ssh')} → ${join(w.dot, 'ssh')})`],
        ['allow', null, null],
      ],
    );
    assert.match(run([join(w.dot, 'ssh', 'id_ed25519')]).stdout.replace(/[\s│]+/g, ' '), /list entry .*~\/\.ssh \(symlink/);
  });
});
