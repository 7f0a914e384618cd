/**
 * The OS sandbox's view of the file system, derived from the fs scope (issue 17 items 1 and 2), and its two
 * renderings: bubblewrap arguments (order is policy: a later mount covers an earlier one) and the macOS
 * sandbox-exec profile, whose text is checked here because it cannot run on this machine.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsScope, type FsAccess } from '../../src/mediation/index.ts';
import { bwrapArgs, osView, sbplString, seatbeltProfile, type OsView } from '../../src/pi/confine/index.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const put = (p: string, text = 'x') => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
};

function scratch(grants: Partial<Record<FsAccess, string[]>> = {}) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-view-')));
  roots.push(root);
  const home = join(root, 'home');
  const project = join(root, 'project');
  put(join(home, '.bashrc'));
  put(join(home, '.ssh', 'id_rsa'));
  put(join(home, '.aws', 'credentials'));
  put(join(project, '.git', 'hooks', 'pre-commit.sample'));
  put(join(project, '.git', 'config'));
  put(join(project, 'sub', 'node_modules', 'x', 'index.js'));
  const agent = join(home, '.pi', 'agent');
  const g = (list: string[] | undefined) => (list ?? []).map((p) => p.replace(/^~/, home));
  const scope = new FsScope({
    layout: { projectRoot: project, home, agentDir: agent, wardenHome: join(agent, 'warden'), dataRoot: join(agent, 'warden', 'data') },
    grants: new Map([['ext', { read: g(grants.read), write: g(grants.write) }]]),
    env: { HOME: home },
  });
  mkdirSync(scope.dataFolder('ext'), { recursive: true });
  return { home, project, scope, data: scope.dataFolder('ext') };
}

const paths = (xs: ReadonlyArray<{ path: string }>) => xs.map((x) => x.path);

describe('the view derived from the fs scope', () => {
  it('writable: the project and the data folder; read-only over them: hooks, git config, node_modules anywhere, a placeholder .envrc', () => {
    const w = scratch();
    const v = osView({ scope: w.scope, extensionId: 'ext', network: 'none' });
    assert.deepEqual(v.writable, [w.project, w.data]);
    const ro = paths(v.readOnly);
    for (const p of ['.git/hooks', '.git/config', 'sub/node_modules', '.envrc', '.npmrc', '.gitmodules'])
      assert.ok(ro.includes(join(w.project, p)), `${p} is not read-only: ${ro.join(', ')}`);
    assert.ok(v.readOnly.find((r) => r.path === join(w.project, '.envrc'))?.placeholder, '.envrc does not exist: a placeholder holds it');
    assert.equal(ro.includes(join(w.project, '.git')), false, '.git stays writable: git commit writes objects and refs');
    assert.equal(ro.includes(join(w.home, '.bashrc')), false, 'home is read-only as a whole: nothing to cover');
  });

  it('a never-written name that is a symlink covers where it leads inside the project; one leading outside is read-only already', () => {
    const w = scratch();
    put(join(w.project, 'envrc.real'), 'export A=1');
    symlinkSync('envrc.real', join(w.project, '.envrc'));
    symlinkSync(join(w.home, 'nm'), join(w.project, 'node_modules'));
    const ro = paths(osView({ scope: w.scope, extensionId: 'ext', network: 'none' }).readOnly);
    assert.ok(ro.includes(join(w.project, 'envrc.real')), ro.join(', '));
    assert.equal(ro.includes(join(w.project, '.envrc')), false);
    assert.equal(ro.includes(join(w.project, 'node_modules')), false);
  });

  it('what other tools run by themselves is read-only to children unless a write grant names it exactly', () => {
    const w = scratch();
    const ro = paths(osView({ scope: w.scope, extensionId: 'ext', network: 'none' }).readOnly);
    for (const p of ['.vscode/tasks.json', '.claude/settings.json', '.github/workflows'])
      assert.equal(ro.includes(join(w.project, p)), false, `${p}: its parent folder does not exist, no placeholder needed`);
    put(join(w.project, '.vscode', 'tasks.json'), '{}');
    mkdirSync(join(w.project, '.husky'), { recursive: true });
    const ro2 = paths(osView({ scope: w.scope, extensionId: 'ext', network: 'none' }).readOnly);
    for (const p of ['.vscode/tasks.json', '.husky', '.envrc'])
      assert.ok(ro2.includes(join(w.project, p)), `${p} is not read-only: ${ro2.join(', ')}`);
    const granted = scratch();
    const ro3 = paths(
      osView({
        scope: new FsScope({
          layout: granted.scope.layout,
          grants: new Map([['ext', { read: [], write: [join(granted.project, '.envrc')] }]]),
          env: { HOME: granted.home },
        }),
        extensionId: 'ext',
        network: 'none',
      }).readOnly,
    );
    assert.equal(ro3.includes(join(granted.project, '.envrc')), false, 'a grant naming .envrc lets children write it');
    assert.ok(ro3.includes(join(granted.project, '.npmrc')), 'the grant names .envrc only');
  });

  it('hidden: the credential stores and pi-warden store, unless a grant names a store', () => {
    const w = scratch();
    const hidden = paths(osView({ scope: w.scope, extensionId: 'ext', network: 'none' }).hidden);
    for (const p of ['.ssh', '.aws', '.pi/agent/warden'])
      assert.ok(hidden.includes(join(w.home, p)), `${p} is not hidden: ${hidden.join(', ')}`);
    for (const p of ['/proc', '/dev', '/sys']) assert.equal(hidden.includes(p), false, `${p} is replaced, not hidden`);
    const granted = scratch({ read: ['~/.ssh'] });
    const h2 = paths(osView({ scope: granted.scope, extensionId: 'ext', network: 'none' }).hidden);
    assert.equal(h2.includes(join(granted.home, '.ssh')), false);
    assert.ok(h2.includes(join(granted.home, '.aws')));
    // A grant inside a store shows only what it names: the store is hidden and the grant mounted after it.
    const inside = scratch({ read: ['~/.aws/credentials'] });
    const v3 = osView({ scope: inside.scope, extensionId: 'ext', network: 'none' });
    assert.ok(paths(v3.hidden).includes(join(inside.home, '.aws')));
    assert.ok(v3.readable.includes(join(inside.home, '.aws', 'credentials')));
  });

  it('a write grant of the whole home keeps its startup files read-only and its credential stores hidden, mounted after it', () => {
    const w = scratch({ write: ['~'] });
    const v = osView({ scope: w.scope, extensionId: 'ext', network: 'none' });
    assert.ok(v.writable.includes(w.home));
    assert.ok(paths(v.readOnly).includes(join(w.home, '.bashrc')));
    const args = bwrapArgs(v, { cwd: w.project, argv: ['true'], home: w.home });
    const at = (...seq: string[]) => args.findIndex((_, i) => seq.every((s, j) => args[i + j] === s));
    const bindHome = at('--bind', w.home, w.home);
    assert.ok(bindHome > 0);
    assert.ok(at('--ro-bind', join(w.home, '.bashrc'), join(w.home, '.bashrc')) > bindHome, '.bashrc read-only after home is bound');
    assert.ok(args.lastIndexOf(join(w.home, '.ssh')) > bindHome, '~/.ssh hidden again after home is bound');
  });
});

describe('bubblewrap arguments', () => {
  const view: OsView = {
    writable: ['/w/project', '/w/data'],
    readable: ['/w/pkg'],
    readOnly: [{ path: '/w/project/.git/hooks', folder: true }],
    hidden: [
      { path: '/h/.ssh', folder: true },
      { path: '/h/.netrc', folder: false },
    ],
    network: 'none',
  };

  it('new namespaces, no network, no terminal, the system read-only, then the view in order, then the program', () => {
    assert.deepEqual(bwrapArgs(view, { cwd: '/w/project', argv: ['git', 'status'], home: '/h' }), [
      ...['--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--unshare-net'],
      ...['--die-with-parent', '--new-session'],
      ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
      ...['--tmpfs', '/h/.ssh', '--ro-bind', '/dev/null', '/h/.netrc'],
      ...['--ro-bind', '/w/pkg', '/w/pkg'],
      ...['--bind', '/w/project', '/w/project', '--bind', '/w/data', '/w/data'],
      ...['--ro-bind', '/w/project/.git/hooks', '/w/project/.git/hooks'],
      ...['--chdir', '/w/project', '--', 'git', 'status'],
    ]);
  });

  it('with the proxy, the socket is the one way out, and a home under /tmp stays visible', () => {
    const args = bwrapArgs({ ...view, network: 'proxy' }, { cwd: '/w', argv: ['curl'], home: '/tmp/h', proxySocket: '/tmp/p/egress.sock' });
    assert.ok(args.includes('--unshare-net'));
    assert.ok(args.join(' ').includes('--bind /tmp/p/egress.sock /tmp/p/egress.sock'));
    assert.ok(args.join(' ').includes('--tmpfs /tmp --ro-bind /tmp/h /tmp/h'));
  });
});

describe('the macOS sandbox-exec profile', () => {
  it('is generated from the same view: write nothing but the writable folders, never the read-only places, not the hidden ones', () => {
    const view: OsView = {
      writable: ['/Users/u/project'],
      readable: [],
      readOnly: [{ path: '/Users/u/project/.git/hooks', folder: true }],
      hidden: [
        { path: '/Users/u/.ssh', folder: true },
        { path: '/Users/u/.netrc', folder: false },
      ],
      network: 'none',
    };
    assert.equal(
      seatbeltProfile(view),
      [
        '(version 1)',
        '(deny default)',
        '(allow process-exec process-fork)',
        '(allow signal (target same-sandbox))',
        '(allow sysctl-read)',
        '(allow mach-lookup)',
        '(allow ipc-posix-shm)',
        '(allow file-read*)',
        '(allow file-write* (subpath "/private/tmp") (subpath "/private/var/folders") (literal "/dev/null") (literal "/dev/tty"))',
        '(deny file-read* file-write* (subpath "/Users/u/.ssh") (literal "/Users/u/.netrc"))',
        '(allow file-read* file-write* (subpath "/Users/u/project"))',
        '(deny file-write* (subpath "/Users/u/project/.git/hooks"))',
        '',
      ].join('\n'),
    );
  });

  it('has no network rule without http, and only the proxy socket and loopback with it', () => {
    const view: OsView = { writable: [], readable: [], readOnly: [], hidden: [], network: 'proxy' };
    assert.doesNotMatch(seatbeltProfile({ ...view, network: 'none' }), /network/);
    const p = seatbeltProfile(view, { proxySocket: '/private/tmp/x/egress.sock' });
    assert.match(
      p,
      /\(allow network-outbound \(remote ip "localhost:\*"\) \(remote unix-socket \(path-literal "\/private\/tmp\/x\/egress\.sock"\)\)\)/,
    );
  });

  it('quotes paths so a quote or backslash in a folder name cannot end the string', () => {
    assert.equal(sbplString('/a "b"\\c'), '"/a \\"b\\"\\\\c"');
  });
});
