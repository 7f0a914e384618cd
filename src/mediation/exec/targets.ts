/**
 * Where a path word on a command line points, for the options that name a file or folder a program writes
 * (`sort -o F`, `tar -C D`, `git log --output=F`, `docker run -v SRC:…`): inside the project, the temporary
 * folder, or elsewhere. Read without the file system: what the word cannot tell (`$X`, `$(…)`, `..` past the
 * start) is elsewhere.
 */
import { posix } from 'node:path';
import { isInside } from '../../paths.ts';
import { normalisePath } from './tables.ts';

export type Location = 'project' | 'temp' | 'outside';

/** Words that are the working folder, which exec mediation keeps inside the project (`cwd_outside_workspace`). */
const CWD = /^(\$PWD|\$\{PWD\}|\$\(pwd\))(?=\/|$)/;
/** Scratch folders: a write there does not change the project, the user's files or anything that runs later. */
const TEMP = /^(\/tmp|\/var\/tmp|\/dev\/shm|\$TMPDIR|\$\{TMPDIR\})(\/|$)/;
const DEVICES = /^\/dev\/(null|stdout|stderr|fd\/[12])$/;

/** `home`: the user's home (to read `~/…`); `project`: the project root; both absolute, unknown when undefined. */
export function locate(word: string, project: string | undefined, home: string | undefined): Location {
  const w = normalisePath(word.replace(CWD, '.'));
  const where = within(w, project, home);
  return where === 'outside' && (TEMP.test(w) || DEVICES.test(w)) ? 'temp' : where;
}

function within(w: string, project: string | undefined, home: string | undefined): 'project' | 'outside' {
  // A computed part (`$X`, `$(…)`, `…`) or a glob of dot names (`.*` reaches `..` in some shells): cannot tell.
  if (/[$…`]/.test(w) || /(^|\/)\.\*/.test(w)) return 'outside';
  let abs: string;
  if (w === '~' || w.startsWith('~/')) {
    if (home === undefined) return 'outside';
    abs = posix.join(home, w.slice(1));
  } else if (w.startsWith('~')) return 'outside';
  else if (w.startsWith('/')) abs = posix.normalize(w);
  else {
    const rel = posix.normalize(w === '' ? '.' : w);
    return rel === '..' || rel.startsWith('../') ? 'outside' : 'project';
  }
  return project !== undefined && isInside(project, abs) ? 'project' : 'outside';
}

/** The word names the project root itself (`.`, `./`, `$PWD`, the root's absolute path): deleting it is not inside it. */
export function isProjectRoot(word: string, project: string | undefined): boolean {
  const w = normalisePath(word.replace(CWD, '.'));
  if (!w.startsWith('/')) return posix.normalize(w === '' ? '.' : w).replace(/\/$/, '') === '.';
  return project !== undefined && posix.normalize(w).replace(/\/$/, '') === project.replace(/\/$/, '');
}
