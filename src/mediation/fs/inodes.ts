/**
 * The files of the sensitive places by identity (device, inode), for issue 17 item 5: a hard link made by a child
 * process (`ln ~/.ssh/id_rsa project/k`) gives a credential store's file a second name the path lists cannot know.
 * A file with one name (st_nlink 1) is only reachable by the path already checked, so only files with other names
 * are looked up here; the index is built on the first such lookup and rebuilt when a folder it walked changed
 * (a file created, replaced or renamed changes its folder's mtime), which one stat per walked folder tells.
 */
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import { isInside } from '../../paths.ts';

/** A place whose files are indexed: its path, how the list names it, and whether its content is secret. */
export interface IndexedPlace {
  readonly path: string;
  readonly entry: string;
  readonly secret: boolean;
}

export interface InodeHit {
  /** The sensitive file with this identity, by its listed name. */
  readonly file: string;
  readonly place: IndexedPlace;
}

/** How many entries one place's walk visits, and how deep: browser profiles are large; keys and tokens are near the top. */
const PLACE_ENTRIES = 2000;
const DEPTH = 6;
/** Pseudo file systems no hard link reaches (a link cannot cross devices), and folders whose mtime moves all the time. */
const NOT_WALKED = ['/proc', '/sys', '/dev'];
const NOT_WATCHED = new Set(['/', '/run', '/var/run', '/tmp', ...NOT_WALKED]);

const key = (dev: bigint | number, ino: bigint | number): string => `${dev}:${ino}`;

function lstat(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}

export class PlaceInodes {
  readonly #places: () => readonly IndexedPlace[];
  readonly #skip: readonly string[];
  #files = new Map<string, InodeHit>();
  /** Folder → its mtime and inode when walked (a folder of a place, or the folder holding a place that is a file). */
  #folders = new Map<string, string>();
  #built = false;

  /**
   * `places`: called at each (re)build. `skip`: folders never walked (extensions' data folders below pi-warden's
   * home: not sensitive, and unbounded).
   */
  constructor(places: () => readonly IndexedPlace[], skip: readonly string[] = []) {
    this.#places = places;
    this.#skip = skip;
  }

  /** The sensitive file `st` (a stat of the file about to be accessed) is another name of, or undefined. */
  find(st: {
    readonly dev: bigint | number;
    readonly ino: bigint | number;
    readonly nlink: bigint | number;
    isFile(): boolean;
  }): InodeHit | undefined {
    if (!st.isFile() || Number(st.nlink) <= 1) return undefined;
    if (!this.#built || this.#stale()) this.#build();
    return this.#files.get(key(st.dev, st.ino));
  }

  #stale(): boolean {
    for (const [dir, was] of this.#folders) {
      const s = lstat(dir);
      if ((s === undefined ? '' : `${s.mtimeNs}:${s.ino}`) !== was) return true;
    }
    return false;
  }

  #build(): void {
    const files = new Map<string, InodeHit>();
    const folders = new Map<string, string>();
    const note = (dir: string): void => {
      if (folders.has(dir) || NOT_WATCHED.has(dir)) return;
      const s = lstat(dir);
      folders.set(dir, s === undefined ? '' : `${s.mtimeNs}:${s.ino}`);
    };
    const uid = typeof process.getuid === 'function' ? BigInt(process.getuid()) : undefined;
    for (const place of this.#places()) {
      if (NOT_WALKED.some((d) => isInside(d, place.path))) continue;
      // A missing place may appear later, a file may be replaced: its folder's mtime says when.
      note(dirname(place.path));
      const top = lstat(place.path);
      if (top === undefined) continue;
      // A file the user does not own cannot be hard-linked by the user's processes (Linux protected_hardlinks,
      // on by default): /etc and the PATH folders of the system are not walked.
      if (uid !== undefined && top.uid !== uid && uid !== 0n) continue;
      if (top.isFile()) {
        files.set(key(top.dev, top.ino), { file: place.path, place });
        continue;
      }
      if (!top.isDirectory()) continue;
      let budget = PLACE_ENTRIES;
      const queue: Array<readonly [string, number]> = [[place.path, 0]];
      while (queue.length > 0 && budget > 0) {
        const [dir, depth] = queue.shift()!;
        if (this.#skip.some((s) => isInside(s, dir))) continue;
        note(dir);
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch {
          continue;
        }
        for (const name of names) {
          if (--budget < 0) break;
          const p = join(dir, name);
          const s = lstat(p);
          if (s === undefined) continue;
          if (s.isFile()) {
            if (!files.has(key(s.dev, s.ino))) files.set(key(s.dev, s.ino), { file: p, place });
          } else if (s.isDirectory() && depth < DEPTH) queue.push([p, depth + 1]);
        }
      }
    }
    this.#files = files;
    this.#folders = folders;
    this.#built = true;
  }
}
