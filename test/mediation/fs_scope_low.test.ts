/**
 * Low-severity findings of the independent filesystem-scope review, each with its allowed twin:
 * - a refusal reached through a symlink names the path as the extension wrote it, not where the link leads;
 * - an empty extension id does not get the data root (every extension's data) as its data folder;
 * - probe's readable package folder is the extension's package, not whatever folder its entry file sits in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dataFolder } from '../../src/mediation/fs/paths.ts';
import { FsScope } from '../../src/mediation/fs/scope.ts';
import { locateExtensions } from '../../src/extensions/index.ts';

const packageRootOf = (entry: string, home: string) => locateExtensions(entry, { home })[0]!.packageRoot;
import { put } from '../helpers.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-fs-low-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));
const HOME = join(ROOT, 'home');
const PROJECT = join(ROOT, 'project');
const HIDDEN = join(ROOT, 'srv', 'internal-layout', 'db');

put(join(HIDDEN, 'dump.sql'), 'x');
put(join(PROJECT, 'src', 'a.ts'), 'x');
put(join(HOME, '.ssh', 'id_rsa'), 'KEY');
symlinkSync(HIDDEN, join(PROJECT, 'db'));
symlinkSync(join(HOME, '.ssh'), join(PROJECT, 'keys'));

const WARDEN = join(HOME, '.pi', 'agent', 'warden');
const scope = new FsScope({
  layout: { projectRoot: PROJECT, home: HOME, agentDir: join(HOME, '.pi', 'agent'), wardenHome: WARDEN, dataRoot: join(WARDEN, 'data') },
});

describe('low-severity review findings', () => {
  it('a refusal through a symlink does not tell the extension where the link leads (the alert path does)', () => {
    const r = scope.check('ext', join(PROJECT, 'db', 'dump.sql'), 'read', true);
    assert.ok('reason' in r && r.reason === 'fs_out_of_scope');
    assert.ok(!r.detail.includes('internal-layout'), r.detail);
    assert.match(r.detail, /project\/db\/dump\.sql \(through a symlink\) is outside/);
    assert.equal(r.path, join(HIDDEN, 'dump.sql'), 'the operator still sees the resolved place');
    const k = scope.check('ext', join(PROJECT, 'keys', 'id_rsa'), 'read', true);
    assert.ok('reason' in k && k.reason === 'fs_sensitive_path' && !k.detail.includes('.ssh'), 'reason' in k ? k.detail : '');
    // Named directly, the message keeps the place (nothing is revealed that the extension did not write).
    const direct = scope.check('ext', join(HOME, '.ssh', 'id_rsa'), 'read', true);
    assert.ok('reason' in direct && direct.detail.includes(join(HOME, '.ssh')));
  });

  it('an empty extension id gets its own data folder, never the data root', () => {
    const root = join(WARDEN, 'data');
    assert.notEqual(dataFolder(root, ''), root);
    assert.equal(scope.dataFolder(''), join(root, '%'));
    put(join(root, 'other-ext', 'token.json'), '{}');
    const r = scope.check('', join(root, 'other-ext', 'token.json'), 'read', true);
    assert.ok('reason' in r, "another extension's data is not readable by the empty id");
    assert.ok(!('reason' in scope.check('', join(root, '%', 'mine.json'), 'write', true)), 'its own folder is');
  });

  it('probe grants an extension its package folder, not every sibling of a single entry file', () => {
    const downloads = join(HOME, 'Downloads');
    put(join(downloads, 'tool.ts'), 'export default () => {}');
    put(join(downloads, 'tax-return.pdf'), 'x');
    assert.equal(packageRootOf(join(downloads, 'tool.ts'), HOME), join(downloads, 'tool.ts'), 'a lone file: itself only');
    put(join(HOME, 'exts', 'pkg', 'package.json'), '{}');
    put(join(HOME, 'exts', 'pkg', 'src', 'main.ts'), '');
    assert.equal(packageRootOf(join(HOME, 'exts', 'pkg', 'src', 'main.ts'), HOME), join(HOME, 'exts', 'pkg'), 'the package');
    put(join(HOME, 'exts', 'folder-ext', 'index.ts'), '');
    assert.equal(packageRootOf(join(HOME, 'exts', 'folder-ext', 'index.ts'), HOME), join(HOME, 'exts', 'folder-ext'), 'a folder extension');
    put(join(HOME, 'package.json'), '{}');
    assert.equal(
      packageRootOf(join(downloads, 'tool.ts'), HOME),
      join(downloads, 'tool.ts'),
      'a package.json in home does not make home the package',
    );
    const roots = new Map([['tool', packageRootOf(join(downloads, 'tool.ts'), HOME)]]);
    const s = new FsScope({
      layout: {
        projectRoot: PROJECT,
        home: HOME,
        agentDir: join(HOME, '.pi', 'agent'),
        wardenHome: WARDEN,
        dataRoot: join(WARDEN, 'data'),
      },
      extensionRoots: roots,
    });
    assert.ok('reason' in s.check('tool', join(downloads, 'tax-return.pdf'), 'read', true));
    assert.ok(!('reason' in s.check('tool', join(downloads, 'tool.ts'), 'read', true)));
  });
});
