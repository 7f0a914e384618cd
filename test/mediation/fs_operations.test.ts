/**
 * The confined fs operations (src/mediation/fs/operations.ts) on real files, for what the path check of the stage cannot
 * see: what a folder holds when it is deleted or moved (every entry is judged as its own delete or write would be,
 * symlinks as pointing from where they land), and files with other names (hard links), which are never changed
 * in place because the change would reach the other names.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDispatcher } from '../../src/dispatch/dispatcher.ts';
import { createFsOperations } from '../../src/mediation/fs/operations.ts';
import { createFsScopeStage, FsScope } from '../../src/mediation/fs/scope.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';
import { put } from '../helpers.ts';
import type { ReasonCode } from '../../src/errors.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-fsops-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const HOME = join(ROOT, 'home');
const AGENT = join(HOME, '.pi', 'agent');
const WARDEN = join(AGENT, 'warden');
const PROJECT = join(ROOT, 'project');
const NOTES = join(HOME, 'notes');
const STORE = join(ROOT, 'pnpm-store');

put(join(HOME, '.bashrc'), '# bashrc\n');
put(join(HOME, '.ssh', 'id_rsa'), 'PRIVATE KEY');
put(join(PROJECT, 'src', 'a.txt'), 'project file');
put(join(NOTES, 'keep.txt'), 'granted folder');

const LAYOUT = { projectRoot: PROJECT, home: HOME, agentDir: AGENT, wardenHome: WARDEN, dataRoot: join(WARDEN, 'data') };
/** `ext` may write the project; `granted` also ~/notes (as extensionPolicy.overrides.granted.fs.write would). */
const scope = new FsScope({ layout: LAYOUT, grants: new Map([['granted', { read: [], write: [NOTES] }]]) });

function dispatcher(maxWalkEntries?: number) {
  return createDispatcher({
    policy: compilePolicy(rulesFor('permissive', false)),
    operations: createFsOperations({ scope, ...(maxWalkEntries === undefined ? {} : { maxWalkEntries }) }),
    stages: [createFsScopeStage({ scope })],
  });
}
const fs = dispatcher();

let n = 0;
async function call(ext: string, method: string, params: Record<string, unknown>, d = fs) {
  return d.dispatch(ext, { call_id: `ops-${++n}`, method, params });
}
async function allowed(ext: string, method: string, params: Record<string, unknown>, d = fs): Promise<unknown> {
  const r = await call(ext, method, params, d);
  assert.ok(r.ok, `${method} ${JSON.stringify(params)} must be allowed: ${JSON.stringify(r)}`);
  return r.value;
}
async function refused(
  ext: string,
  method: string,
  params: Record<string, unknown>,
  reason: ReasonCode,
  message?: RegExp,
  d = fs,
): Promise<void> {
  const r = await call(ext, method, params, d);
  assert.ok(!r.ok, `${method} ${JSON.stringify(params)}: allowed but must be refused`);
  assert.equal(r.error.code, 'denied', JSON.stringify(r.error));
  assert.ok(r.error.reasonCodes.includes(reason), `${method}: expected ${reason}: ${JSON.stringify(r.error)}`);
  if (message !== undefined) assert.match(r.error.message, message);
}

describe('deleting or moving a folder judges every entry as its own delete or write would be', () => {
  it('a credential file inside a granted folder stops its recursive delete; nothing is deleted', async () => {
    put(join(NOTES, 'app', 'readme.md'), 'notes');
    // A `.env` outside the project is a credential store: a grant of ~/notes does not name it.
    put(join(NOTES, 'app', 'deploy', '.env'), 'TOKEN=x');
    await refused(
      'granted',
      'fs.delete',
      { path: join(NOTES, 'app'), recursive: true },
      'fs_sensitive_path',
      /it holds deploy\/\.env, which would be deleted/,
    );
    assert.ok(
      existsSync(join(NOTES, 'app', 'readme.md')) && existsSync(join(NOTES, 'app', 'deploy', '.env')),
      'refused before anything was deleted',
    );
    // The allowed twin: the same tree without it is deleted, and so is a project folder holding the project's own .env.
    rmSync(join(NOTES, 'app', 'deploy', '.env'));
    await allowed('granted', 'fs.delete', { path: join(NOTES, 'app'), recursive: true });
    assert.equal(existsSync(join(NOTES, 'app')), false);
    put(join(PROJECT, 'svc', 'conf', '.env'), 'LOCAL=1');
    await allowed('ext', 'fs.delete', { path: join(PROJECT, 'svc'), recursive: true });
    assert.equal(existsSync(join(PROJECT, 'svc')), false);
  });

  it('an ordinary tree is deleted, symlinks inside as links: what they point at stays', async () => {
    put(join(PROJECT, 'build', 'a', 'b', 'c', 'out.js'), 'x');
    put(join(PROJECT, 'build', 'a', 'index.js'), 'x');
    symlinkSync(join(HOME, '.ssh'), join(PROJECT, 'build', 'a', 'keys'));
    symlinkSync(join(HOME, '.bashrc'), join(PROJECT, 'build', 'rc'));
    await allowed('ext', 'fs.delete', { path: join(PROJECT, 'build'), recursive: true });
    assert.equal(existsSync(join(PROJECT, 'build')), false);
    assert.equal(readFileSync(join(HOME, '.ssh', 'id_rsa'), 'utf8'), 'PRIVATE KEY');
    assert.equal(readFileSync(join(HOME, '.bashrc'), 'utf8'), '# bashrc\n');
  });

  it('moving a folder refuses an entry that would land in a never-writable or credential place', async () => {
    put(join(PROJECT, 'kit', 'hooks', 'pre-commit'), '#!/bin/sh\ncurl x | sh\n');
    await refused('ext', 'fs.rename', { from: join(PROJECT, 'kit'), to: join(PROJECT, '.git') }, 'fs_protected_path');
    put(join(PROJECT, 'dotfiles', 'shell', '.envrc'), 'eval "$(curl x)"');
    await refused(
      'granted',
      'fs.rename',
      { from: join(PROJECT, 'dotfiles'), to: join(NOTES, 'dotfiles') },
      'fs_auto_run',
      /shell\/\.envrc/,
    );
    // Created outside the project, a .env is a credential file: a write there needs a grant naming it, so does a move.
    put(join(PROJECT, 'svc2', 'conf', '.env'), 'TOKEN=x');
    await refused(
      'granted',
      'fs.rename',
      { from: join(PROJECT, 'svc2'), to: join(NOTES, 'svc2') },
      'fs_sensitive_path',
      /conf\/\.env, which would be moved to/,
    );
    assert.ok(existsSync(join(PROJECT, 'svc2', 'conf', '.env')) && !existsSync(join(NOTES, 'svc2')));
    // The allowed twin: without it the folder moves to the granted place.
    rmSync(join(PROJECT, 'svc2', 'conf', '.env'));
    await allowed('granted', 'fs.rename', { from: join(PROJECT, 'svc2'), to: join(NOTES, 'svc2') });
    assert.ok(existsSync(join(NOTES, 'svc2', 'conf')));
  });

  it('a moved symlink must still point where the extension could write, judged from where it lands', async () => {
    // Made through fs.symlink, so allowed when made: ../../home/.bashrc from deep/a is <project>/home/.bashrc.
    mkdirSync(join(PROJECT, 'deep', 'a'), { recursive: true });
    await allowed('ext', 'fs.symlink', { path: join(PROJECT, 'deep', 'a', 'rc'), target: '../../home/.bashrc' });
    // One level up, the same link names ~/.bashrc: pi's own tools would write the user's shell startup through it.
    await refused(
      'ext',
      'fs.rename',
      { from: join(PROJECT, 'deep', 'a'), to: join(PROJECT, 'a') },
      'fs_protected_path',
      /symlink target: .*\.bashrc/,
    );
    await refused(
      'ext',
      'fs.rename',
      { from: join(PROJECT, 'deep', 'a', 'rc'), to: join(PROJECT, 'deep', 'rc') },
      'fs_protected_path',
      /symlink target/,
    );
    assert.ok(lstatSync(join(PROJECT, 'deep', 'a', 'rc')).isSymbolicLink() && !existsSync(join(PROJECT, 'a')));
    // A link made by someone else (git checkout, `ln -s` through exec) to the outside is not carried anywhere either.
    put(join(PROJECT, 'cloned', 'README'), 'x');
    symlinkSync(join(HOME, '.bashrc'), join(PROJECT, 'cloned', 'profile'));
    await refused('ext', 'fs.rename', { from: join(PROJECT, 'cloned'), to: join(PROJECT, 'cloned2') }, 'fs_protected_path', /profile/);
    // ...but deleting it is fine (a link's delete does not write its target).
    await allowed('ext', 'fs.delete', { path: join(PROJECT, 'cloned'), recursive: true });
    assert.equal(readFileSync(join(HOME, '.bashrc'), 'utf8'), '# bashrc\n');
  });

  it('a link through another moved link is resolved as the tree will be after the move', async () => {
    // `n` leads to ~/notes, which `granted` may write: a link that may be made and moved.
    mkdirSync(join(PROJECT, 'pair'), { recursive: true });
    symlinkSync(NOTES, join(PROJECT, 'pair', 'n'));
    // n/../.bashrc is ~/.bashrc once n is followed (the kernel takes `..` after the link).
    symlinkSync('n/../.bashrc', join(PROJECT, 'pair', 'l'));
    await refused('granted', 'fs.rename', { from: join(PROJECT, 'pair'), to: join(PROJECT, 'pair2') }, 'fs_protected_path', /\.bashrc/);
    assert.ok(existsSync(join(PROJECT, 'pair')));
    // The allowed twin: links that stay inside the tree, or lead to granted places, move with it.
    rmSync(join(PROJECT, 'pair', 'l'));
    put(join(PROJECT, 'pair', 'sub', 'file.txt'), 'x');
    symlinkSync('sub', join(PROJECT, 'pair', 'inner'));
    symlinkSync('inner/file.txt', join(PROJECT, 'pair', 'f'));
    await allowed('granted', 'fs.rename', { from: join(PROJECT, 'pair'), to: join(PROJECT, 'pair2') });
    assert.equal(readFileSync(join(PROJECT, 'pair2', 'f'), 'utf8'), 'x');
    assert.equal(readlinkSync(join(PROJECT, 'pair2', 'n')), NOTES);
  });

  it('a tree larger than the walk limit is refused, not guessed; one within it is deleted', async () => {
    const small = dispatcher(5);
    for (let i = 0; i < 6; i++) put(join(PROJECT, 'big', `f${i}`), 'x');
    await refused('ext', 'fs.delete', { path: join(PROJECT, 'big'), recursive: true }, 'fs_tree_too_large', /more than 5 entries/, small);
    await refused(
      'ext',
      'fs.rename',
      { from: join(PROJECT, 'big'), to: join(PROJECT, 'big2') },
      'fs_tree_too_large',
      /delete or move it in parts/,
      small,
    );
    assert.equal(existsSync(join(PROJECT, 'big', 'f5')), true);
    rmSync(join(PROJECT, 'big', 'f5'));
    rmSync(join(PROJECT, 'big', 'f4'));
    await allowed('ext', 'fs.delete', { path: join(PROJECT, 'big'), recursive: true }, small);
    assert.equal(existsSync(join(PROJECT, 'big')), false);
  });
});

describe('a file with other names (hard links) is never changed in place', () => {
  it('write, append, copy over and chmod of a project name of ~/.bashrc are refused before a byte changes', async () => {
    linkSync(join(HOME, '.bashrc'), join(PROJECT, 'notes.md'));
    const before = statSync(join(HOME, '.bashrc'));
    const hint = /2 names \(hard links\).*copy the file to a new name and rename the copy over it/;
    await refused('ext', 'fs.write', { path: join(PROJECT, 'notes.md'), data: 'curl x | sh\n' }, 'fs_hard_link', hint);
    await refused('ext', 'fs.write', { path: join(PROJECT, 'notes.md'), data: 'curl x | sh\n', append: true }, 'fs_hard_link');
    await refused('ext', 'fs.copy', { from: join(PROJECT, 'src', 'a.txt'), to: join(PROJECT, 'notes.md') }, 'fs_hard_link');
    await refused('ext', 'fs.chmod', { path: join(PROJECT, 'notes.md'), mode: 0o777 }, 'fs_hard_link');
    const now = statSync(join(HOME, '.bashrc'));
    assert.equal(readFileSync(join(HOME, '.bashrc'), 'utf8'), '# bashrc\n', 'not truncated, not written');
    assert.equal(now.mode, before.mode);
    // What the message advises changes only the project's name: copy to a new name, rename it over.
    await allowed('ext', 'fs.copy', { from: join(PROJECT, 'notes.md'), to: join(PROJECT, 'notes.md.tmp') });
    await allowed('ext', 'fs.rename', { from: join(PROJECT, 'notes.md.tmp'), to: join(PROJECT, 'notes.md') });
    await allowed('ext', 'fs.write', { path: join(PROJECT, 'notes.md'), data: 'mine' });
    assert.equal(readFileSync(join(HOME, '.bashrc'), 'utf8'), '# bashrc\n');
    assert.equal(statSync(join(HOME, '.bashrc')).nlink, 1);
  });

  it('a file with one name is written, truncated, copied over and chmod-ed as before; folders are chmod-ed', async () => {
    const f = join(PROJECT, 'src', 'b.txt');
    await allowed('ext', 'fs.write', { path: f, data: 'a longer first version' });
    await allowed('ext', 'fs.write', { path: f, data: 'short' });
    assert.equal(readFileSync(f, 'utf8'), 'short', 'an overwrite still truncates');
    await allowed('ext', 'fs.write', { path: f, data: '+', append: true });
    assert.equal(readFileSync(f, 'utf8'), 'short+');
    await allowed('ext', 'fs.write', { path: join(PROJECT, 'src', 'c.txt'), data: 'a much longer destination' });
    await allowed('ext', 'fs.copy', { from: f, to: join(PROJECT, 'src', 'c.txt') });
    assert.equal(readFileSync(join(PROJECT, 'src', 'c.txt'), 'utf8'), 'short+');
    await allowed('ext', 'fs.chmod', { path: f, mode: 0o600 });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    // A folder always has several links (its `.` and its children's `..`): not a hard-linked file.
    mkdirSync(join(PROJECT, 'src', 'sub'), { recursive: true });
    await allowed('ext', 'fs.chmod', { path: join(PROJECT, 'src', 'sub'), mode: 0o700 });
  });

  it('reads of hard-linked files are not refused: pnpm links node_modules files to its store', async () => {
    put(join(STORE, 'v3', 'files', 'ab', 'cdef-index.js'), 'module.exports = 42;');
    mkdirSync(join(PROJECT, 'node_modules', 'dep'), { recursive: true });
    linkSync(join(STORE, 'v3', 'files', 'ab', 'cdef-index.js'), join(PROJECT, 'node_modules', 'dep', 'index.js'));
    assert.equal(
      await allowed('ext', 'fs.read', { path: join(PROJECT, 'node_modules', 'dep', 'index.js'), encoding: 'utf8' }),
      'module.exports = 42;',
    );
    await allowed('ext', 'fs.copy', { from: join(PROJECT, 'node_modules', 'dep', 'index.js'), to: join(PROJECT, 'src', 'dep.js') });
  });
});
