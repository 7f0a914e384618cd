/**
 * Path containment (src/paths.ts), the one function every confining or protecting check uses: one table of
 * (root, path, inside?) rows over the forms that broke copies before — sibling prefixes, trailing separators,
 * `..` and `.` segments, doubled separators, the filesystem root, case.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../src/errors.ts';
import { isInside } from '../src/paths.ts';

const FOLDS = process.platform === 'darwin' || process.platform === 'win32';

const TABLE: ReadonlyArray<readonly [root: string, path: string, inside: boolean, why: string]> = [
  ['/home/u/.ssh', '/home/u/.ssh', true, 'the root itself'],
  ['/home/u/.ssh', '/home/u/.ssh/id_rsa', true, 'a child'],
  ['/home/u/.ssh', '/home/u/.ssh/keys/deep/id_rsa', true, 'a grandchild'],
  ['/home/u/.ssh', '/home/u/.sshx', false, 'a sibling sharing the prefix'],
  ['/home/u/.ssh', '/home/u/.ssh-old/id_rsa', false, 'a sibling folder sharing the prefix'],
  ['/home/u/.ssh', '/home/u', false, 'the parent'],
  ['/home/u/.ssh/', '/home/u/.ssh/id_rsa', true, 'a trailing separator on the root'],
  ['/home/u/.ssh/', '/home/u/.ssh', true, 'the root named with and without its trailing separator'],
  ['/home/u/.ssh', '/home/u/.ssh/', true, 'the same, the other way round'],
  ['/home/u/.ssh//', '/home/u/.sshx', false, 'doubled trailing separators do not widen the root'],
  ['/p', '/p/a/../../etc/passwd', false, '`..` climbing out'],
  ['/p', '/p/a/../b', true, '`..` staying inside'],
  ['/p/a/..', '/p/b', true, '`..` in the root'],
  ['/p/a/..', '/pb', false, '`..` in the root does not become a bare prefix'],
  ['/p', '/p/./a', true, 'a `.` segment'],
  ['/p', '/p//a', true, 'a doubled separator'],
  ['/p', '/p/..a', true, 'a name starting with two dots is not `..`'],
  ['/p', '/p/.../x', true, 'three dots are a name'],
  ['/p', '/p/..', false, 'the parent through `..`'],
  ['/', '/', true, 'the filesystem root itself'],
  ['/', '/etc/passwd', true, 'everything is inside the filesystem root'],
  ['//', '/etc', true, 'the filesystem root doubled'],
  ['/p', '/', false, 'the filesystem root is inside nothing else'],
  ['/p', '/P/a', FOLDS, 'case: equal only where the file system folds case'],
  ['/home/u/Project', '/home/u/project', FOLDS, 'case of the root'],
];

describe('isInside(root, path): one answer to containment', () => {
  for (const [root, path, inside, why] of TABLE) {
    it(`${why}: ${path} is ${inside ? '' : 'not '}inside ${root}`, () => {
      assert.equal(isInside(root, path), inside);
    });
  }

  it('refuses a relative path on either side instead of guessing a base', () => {
    for (const [root, path] of [
      ['p', '/p/a'],
      ['/p', 'p/a'],
      ['/p', '../p/a'],
      ['/p', ''],
    ]) {
      assert.throws(
        () => isInside(root!, path!),
        (e: unknown) => isWardenError(e) && e.code === 'internal' && /expected an absolute path/.test(e.message),
        `${root} / ${path}`,
      );
    }
  });
});
