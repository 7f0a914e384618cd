/**
 * Filesystem path classes (SPEC §5.5, §5.6): where an extension's file access is confined to, which places are
 * credential stores (any access needs a grant that names them), and which places can never be written because
 * what is there runs or is read later outside the sandbox. Which places those are is the sensitive-places table
 * (src/policy/places.ts), shared with exec, the scanner and risk; what is here is how the file system sees them:
 * each entry at its place in this layout, where symlinks lead, where environment variables move it, what the global
 * and the project's git configuration name, and the folders on PATH.
 *
 * Paths here are absolute and normalised (no `..`, no trailing slash), already resolved through symlinks by
 * the caller. Comparisons are per path component, so `/home/u/.sshx` is not inside `/home/u/.ssh`.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, type Dirent } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, normalize as normalizePath, sep } from 'node:path';
import { isInside, pathKey } from '../../paths.ts';
import {
  CONFINED_KINDS,
  GRANTED_WRITE_KINDS,
  NEVER_WRITTEN_KINDS,
  SENSITIVE_PLACES,
  XDG_DIRS,
  type PlaceKind,
  type SensitivePlace,
} from '../../policy/index.ts';
import { gitInternals, gitLayoutWrite, gitValue } from './git.ts';
import { PlaceInodes, type IndexedPlace, type InodeHit } from './inodes.ts';

export interface FsLayout {
  /** The project root (pi's cwd), realpath'd. */
  readonly projectRoot: string;
  /** The user's home directory, realpath'd. */
  readonly home: string;
  /** pi's agent directory (`$PI_CODING_AGENT_DIR` or `~/.pi/agent`), realpath'd. */
  readonly agentDir: string;
  /** pi-warden's home (store, keys, ledger), realpath'd. */
  readonly wardenHome: string;
  /** Where extension data folders live: `<dataRoot>/<encoded extension id>`. */
  readonly dataRoot: string;
}

/** `path.normalize` without a trailing separator (list entries and variables' values are compared per component). */
function normalize(p: string): string {
  const n = normalizePath(p);
  return n.length > 1 && n.endsWith(sep) ? n.slice(0, -1) : n;
}

/** The folder an extension may use for its own data. Ids are encoded so none can name a parent or a sibling. */
export function dataFolder(dataRoot: string, extensionId: string): string {
  // An empty id would name the data root itself (every extension's data): it gets a name no encoded id can have.
  if (extensionId === '') return join(dataRoot, '%');
  const encoded = encodeURIComponent(extensionId).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
  return join(dataRoot, encoded);
}

/** The table's kinds as the two lists here: credential stores (a grant must name them) and never-written places. */
type Kind = 'sensitive' | 'startup';
const listOf = (kind: PlaceKind): Kind | undefined =>
  CONFINED_KINDS.has(kind) ? 'sensitive' : NEVER_WRITTEN_KINDS.has(kind) && kind !== 'warden_private' ? 'startup' : undefined;

/** A list entry placed by an environment variable or a configuration file: its path, how the list names it, and its kind. */
interface Relocated {
  readonly path: string;
  readonly entry: string;
  readonly kind: Kind;
}

/**
 * Every home entry the environment moves (src/policy/places.ts `movedBy`, and the XDG folders for entries below
 * them), with absolute values only: the XDG specification says relative values are ignored; for the others they are
 * unusual and would depend on the cwd. PATH folders aside (see `pathFolders`).
 */
function relocatedEntries(env: Readonly<Record<string, string | undefined>>): Relocated[] {
  const out: Relocated[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v !== undefined && isAbsolute(v) ? normalize(v) : undefined;
  };
  for (const e of SENSITIVE_PLACES) {
    const kind = listOf(e.kind);
    if (kind === undefined || e.base !== 'home') continue;
    for (const [name, under] of XDG_DIRS) {
      const v = value(name);
      if (v !== undefined && e.path.startsWith(`${under}/`))
        out.push({ path: join(v, e.path.slice(under.length + 1)), entry: `$${name}/${e.path.slice(under.length + 1)}`, kind });
    }
    for (const m of e.movedBy ?? []) {
      const values =
        m.list === true
          ? (env[m.variable] ?? '')
              .split(delimiter)
              .filter((x) => isAbsolute(x))
              .map(normalize)
          : [value(m.variable)];
      for (const v of values) {
        if (v === undefined) continue;
        const path = m.file === undefined ? v : join(v, m.file);
        const entry = m.list === true ? `$${m.variable} (${v})` : m.file === undefined ? `$${m.variable}` : `$${m.variable}/${m.file}`;
        out.push({ path, entry, kind });
      }
    }
  }
  return out;
}

/**
 * git configuration that names places whose content runs later: `core.hooksPath` (every repository's hooks),
 * `init.templateDir` (copied into new repositories' .git), `include.path`/`includeIf.*.path` (more configuration,
 * followed), and a `credential.helper = store --file F` (F holds passwords). Read from the global files without
 * running git; only absolute and `~/` values (a relative hooksPath is relative to each repository).
 */
function gitConfigPlaces(home: string, env: Readonly<Record<string, string | undefined>>, project?: string): Relocated[] {
  const out: Relocated[] = [];
  const seen = new Set<string>();
  const xdgConfig = env.XDG_CONFIG_HOME !== undefined && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
  const global =
    env.GIT_CONFIG_GLOBAL !== undefined && isAbsolute(env.GIT_CONFIG_GLOBAL) ? env.GIT_CONFIG_GLOBAL : join(home, '.gitconfig');
  const expand = (v: string, base: string | undefined): string | undefined => {
    if (v.startsWith('~/')) return join(home, v.slice(2));
    if (isAbsolute(v)) return normalize(v);
    return base === undefined ? undefined : join(base, v);
  };
  /** `repo`: the repository whose own config this is (a relative hooksPath is taken from its root). */
  const read = (file: string, depth: number, repo: string | undefined): void => {
    if (seen.has(file) || depth > 4 || seen.size > 16) return;
    seen.add(file);
    const text = readConfigFile(file);
    if (text === undefined) return;
    let section = '';
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!.trim();
      const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"[^"]*")?\s*\]/.exec(line);
      if (header !== null) {
        section = header[1]!.toLowerCase();
        // `[core] hooksPath = x`: a key may follow the header on its line.
        line = line.slice(header[0].length).trim();
      }
      const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*)$/.exec(line);
      if (kv === null) continue;
      // A value continues on the next line after a trailing backslash.
      let rawValue = kv[2]!;
      while (/(^|[^\\])(\\\\)*\\$/.test(rawValue) && i + 1 < lines.length) rawValue = rawValue.slice(0, -1) + lines[++i]!;
      const key = `${section}.${kv[1]!.toLowerCase()}`;
      const value = gitValue(rawValue);
      const entry = `${key} in ${file}`;
      if (key === 'core.hookspath' || key === 'init.templatedir') {
        const p = expand(value, key === 'core.hookspath' ? repo : undefined);
        if (p !== undefined) {
          out.push({ path: p, entry, kind: 'startup' });
          // husky: hooksPath `.husky/_` runs the scripts in `.husky/`.
          if (repo !== undefined && basename(p) === '_' && isInside(repo, dirname(p)) && dirname(p) !== repo)
            out.push({ path: dirname(p), entry, kind: 'startup' });
        }
      } else if ((section === 'include' || section === 'includeif') && key.endsWith('.path')) {
        const p = expand(value, dirname(file));
        if (p !== undefined) {
          out.push({ path: p, entry, kind: 'startup' });
          read(p, depth + 1, repo);
        }
      } else if (key === 'credential.helper') {
        const m = /^store\b.*--file[= ]\s*("[^"]+"|\S+)/.exec(value);
        const p = m === null ? undefined : expand(m[1]!.replace(/^"|"$/g, ''), undefined);
        if (p !== undefined) out.push({ path: p, entry, kind: 'sensitive' });
      }
    }
  };
  read(global, 0, undefined);
  read(join(xdgConfig, 'git', 'config'), 0, undefined);
  // The project's own configuration: its hooksPath (husky, `.githooks`) runs at the user's next commit.
  if (project !== undefined) {
    read(join(project, '.git', 'config'), 0, project);
    read(join(project, '.git', 'config.worktree'), 0, project);
  }
  return out;
}

/**
 * A configuration file's text, at most 1 MiB, or undefined: only a regular file is read (a FIFO or a link to
 * /dev/zero or /dev/stdin at ~/.gitconfig must not hang or exhaust the process at startup).
 */
function readConfigFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, 1 << 20));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.toString('utf8', 0, got);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** An `any` entry of the table (src/policy/places.ts) as components, matched against a path's components. */
interface AnyPlace {
  readonly parts: readonly string[];
  readonly place: SensitivePlace;
}

function anyPlace(place: SensitivePlace): AnyPlace {
  return { parts: place.path.split('/').map(pathKey), place };
}

/** One component against an entry's: equal, or (a trailing `*`) starting with the rest. */
const componentMatches = (have: string, want: string): boolean =>
  want.endsWith('*') ? have.startsWith(want.slice(0, -1)) && have.length >= want.length : have === want;

/** True when `path`'s components hold the entry: as its last components (a file), or anywhere (a folder and what is inside). */
function holdsAny(parts: readonly string[], a: AnyPlace): boolean {
  const k = a.parts.length;
  const starts = a.place.holds === 'file' ? [parts.length - k] : Array.from({ length: parts.length - k + 1 }, (_, i) => i);
  return starts.some((i) => i >= 0 && a.parts.every((w, j) => componentMatches(pathKey(parts[i + j] ?? ''), w)));
}

/** The path of the entry's place within `parts` (the file, or the folder the path lies in), or undefined. */
function placeAt(parts: readonly string[], a: AnyPlace): string | undefined {
  const k = a.parts.length;
  const starts = a.place.holds === 'file' ? [parts.length - k] : Array.from({ length: parts.length - k + 1 }, (_, i) => i);
  const i = starts.find((i) => i >= 0 && a.parts.every((w, j) => componentMatches(pathKey(parts[i + j] ?? ''), w)));
  return i === undefined ? undefined : parts.slice(0, i + k).join(sep);
}

export type PathClass =
  /** pi-warden's own store, keys and ledger: no access at all (an extension's data folder aside). */
  | 'warden_private'
  /** A credential store: any access needs a grant that names it. */
  | 'sensitive'
  | 'ordinary';

export interface PathVerdict {
  readonly cls: PathClass;
  /** The credential store or private root that matched (for the message), when not ordinary. */
  readonly root?: string;
  /** The list entry that matched, as the list names it (`~/.ssh`, `$GNUPGHOME`). */
  readonly entry?: string;
  /** `entry` with the symlink it was reached through, for the operator (see `describe`). */
  readonly described?: string;
  /** What the place is, when not a credential store (git's object store). */
  readonly what?: string;
}

/** One place a list entry occupies: where it is named, where a symlink of it leads, or where a variable moves it. */
export interface Place {
  /** Absolute and normalised; what paths are compared with. */
  readonly path: string;
  /** How the list names it: `~/.ssh`, `/etc`, `$GNUPGHOME`, `$XDG_CONFIG_HOME/gh`, `core.hookspath in ~/.gitconfig`. */
  readonly entry: string;
  /** When `path` was reached through a symlink: `link → path`. */
  readonly via?: string;
}

/** `~/.ssh`, or `~/.ssh (symlink /home/u/.ssh → /home/u/dotfiles/ssh)`. */
export function describe(place: Place): string {
  return place.via === undefined ? place.entry : `${place.entry} (symlink ${place.via})`;
}

/**
 * Places indexed by path: a lookup walks the checked path's ancestors (one map probe per component, however long
 * the lists are), where a linear scan would call `isInside()` for every entry on every checked path.
 */
class PlaceIndex {
  readonly #byPath = new Map<string, Place>();
  readonly #all: Place[] = [];

  get all(): readonly Place[] {
    return this.#all;
  }

  add(place: Place): void {
    const key = pathKey(place.path);
    if (this.#byPath.has(key)) return;
    this.#byPath.set(key, place);
    this.#all.push(place);
  }

  /** The place `path` is or lies inside (the deepest one), or undefined. */
  find(path: string): Place | undefined {
    let p = pathKey(path);
    for (;;) {
      const hit = this.#byPath.get(p);
      if (hit !== undefined) return hit;
      const cut = p.lastIndexOf(sep);
      if (cut <= 0) return undefined;
      p = p.slice(0, cut);
    }
  }
}

export interface ClassifierOptions {
  /**
   * Where a path really is: symlinks followed, dangling ones too, a missing tail kept (fsScope's `resolveReal`).
   * Without it the lists hold the places as named only.
   */
  readonly resolve?: (path: string) => string;
  /** The environment whose variables move list entries (XDG_CONFIG_HOME, GNUPGHOME, ...). Default: none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** How deep and how many directory entries the symlink scan inside one list folder looks at. */
const SCAN_DEPTH = 4;
const SCAN_ENTRIES = 2000;

export class PathClassifier {
  readonly layout: FsLayout;
  readonly #sensitive = new PlaceIndex();
  readonly #startup = new PlaceIndex();
  /** pi-warden's own store (no access at all) and pi's own folders (never written), at their places in this layout. */
  readonly #private: string[] = [];
  readonly #piOwn: string[] = [];
  /** Entries found in any folder: credential files (outside the project) and never-written folders and files. */
  readonly #anyCredential: AnyPlace[] = [];
  readonly #anyNeverWritten: AnyPlace[] = [];
  /** Entries found in any folder that are written only with a grant naming them (what other tools run by themselves). */
  readonly #anyGrantedWrite: AnyPlace[] = [];
  /** The files of the lists by identity, for hard links (./inodes.ts). */
  readonly #inodes: PlaceInodes;

  /**
   * Builds the lists for `layout` (file system reads here, none per check). Every entry is kept where it is named
   * and where it really is: a dotfile managed by GNU stow is a symlink into ~/dotfiles, and writing the real file
   * is writing the dotfile. Folders of the home and environment entries are scanned for symlinks too (stow links
   * single files, `~/.aws/credentials`, when the folder already existed), within SCAN_DEPTH and SCAN_ENTRIES.
   * A symlink leading to `/`, to a top-level folder, or to a folder holding the home, the project or pi-warden's
   * home is not followed: `~/.ssh/sockets → /tmp` does not make /tmp a credential store.
   */
  constructor(layout: FsLayout, o: ClassifierOptions = {}) {
    this.layout = layout;
    const { home } = layout;
    const env = o.env ?? {};
    const resolveReal = o.resolve;
    const broad = (p: string): boolean =>
      p.split(sep).filter((c) => c !== '').length < 2 ||
      [home, layout.projectRoot, layout.wardenHome, layout.dataRoot].some((r) => isInside(p, r));
    const real = (p: string): string | undefined => {
      if (resolveReal === undefined) return undefined;
      try {
        const r = normalize(resolveReal(p));
        return r === p || broad(r) ? undefined : r;
      } catch {
        return undefined;
      }
    };
    const scan = (index: PlaceIndex, root: string, entry: string): void => {
      if (resolveReal === undefined) return;
      const queue: Array<readonly [string, number]> = [[root, 0]];
      const visited = new Set<string>();
      let budget = SCAN_ENTRIES;
      while (queue.length > 0 && budget > 0) {
        const [dir, depth] = queue.shift()!;
        if (visited.has(dir)) continue;
        visited.add(dir);
        let ents: Dirent[];
        try {
          ents = readdirSync(dir, { withFileTypes: true });
        } catch {
          continue;
        }
        for (const d of ents) {
          if (--budget < 0) break;
          const p = join(dir, d.name);
          if (d.isSymbolicLink()) {
            const r = real(p);
            if (r === undefined) continue;
            index.add({ path: r, entry, via: `${p} → ${r}` });
            if (depth < SCAN_DEPTH) queue.push([r, depth + 1]);
          } else if (d.isDirectory() && depth < SCAN_DEPTH) queue.push([p, depth + 1]);
        }
      }
    };
    const add = (index: PlaceIndex, path: string, entry: string, walk: boolean): void => {
      index.add({ path, entry });
      const r = real(path);
      if (r !== undefined) index.add({ path: r, entry, via: `${path} → ${r}` });
      if (walk) scan(index, r ?? path, entry);
    };
    for (const e of SENSITIVE_PLACES) {
      // git entries are found on disk, by the layout of the folder holding them (./git.ts).
      if (e.base === 'git') continue;
      if (e.base === 'any') {
        if (CONFINED_KINDS.has(e.kind)) this.#anyCredential.push(anyPlace(e));
        else if (NEVER_WRITTEN_KINDS.has(e.kind)) this.#anyNeverWritten.push(anyPlace(e));
        else if (GRANTED_WRITE_KINDS.has(e.kind)) this.#anyGrantedWrite.push(anyPlace(e));
        continue;
      }
      // `/proc/*\/environ` is inside `/proc`, which is confined whole: patterns are for the word matchers.
      if (e.path.includes('*')) continue;
      const root = e.base === 'home' ? home : e.base === 'agent' ? layout.agentDir : e.base === 'warden' ? layout.wardenHome : '/';
      const path = e.path === '' ? root : join(root, e.path);
      if (e.kind === 'warden_private') this.#private.push(path);
      else if (e.base === 'agent' && NEVER_WRITTEN_KINDS.has(e.kind)) this.#piOwn.push(path);
      else {
        const list = listOf(e.kind);
        // Home entries are walked for symlinks into them (stow); system and agent ones are named as they are.
        if (list !== undefined)
          add(list === 'sensitive' ? this.#sensitive : this.#startup, path, e.base === 'home' ? `~/${e.path}` : path, e.base === 'home');
      }
    }
    for (const r of [...relocatedEntries(env), ...gitConfigPlaces(home, env, layout.projectRoot)]) {
      // A variable (or config value) naming `/`, a top-level folder, or a folder holding home, the project or
      // pi-warden's home would put everything on a list: not taken (`CODEX_HOME=/home/u` would freeze the project).
      if (broad(r.path)) continue;
      add(r.kind === 'sensitive' ? this.#sensitive : this.#startup, r.path, r.entry, true);
    }
    for (const dir of pathFolders(env, layout)) add(this.#startup, dir, '$PATH', false);
    // Only the secret places: reading a never-written file by another name reveals nothing, and writing any file
    // with other names is refused by the operations.
    // System places (/etc/shadow, /root) aside: root's files cannot be linked by the user's processes (Linux
    // protected_hardlinks), and walking /root or /etc at each change would cost more than it guards (README limits).
    const system = SENSITIVE_PLACES.filter((e) => e.base === 'system' && !e.path.includes('*')).map((e) => e.path);
    this.#inodes = new PlaceInodes(
      (): IndexedPlace[] =>
        [...this.#sensitive.all, ...this.#private.map((path) => ({ path, entry: path }))]
          .filter((p) => isInside(home, p.path) || !system.some((r) => isInside(r, p.path)))
          .map((p) => ({ ...p, secret: true })),
      [layout.dataRoot],
    );
  }

  /**
   * The credential store's (or pi-warden's) file that `st`, a stat of a file about to be read, is another name of:
   * a hard link (issue 17 item 5), or undefined.
   */
  hardLinkOf(st: Parameters<PlaceInodes['find']>[0]): InodeHit | undefined {
    return this.#inodes.find(st);
  }

  /**
   * Why writing `real` would make or arm a git directory (./git.ts), or undefined. Anywhere, the extension's data
   * folder included: a repository made there runs its configuration at the first `git` inside it.
   */
  gitLayoutMatch(real: string): { readonly why: string; readonly entry: string } | undefined {
    const why = gitLayoutWrite(real);
    return why === undefined ? undefined : { why, entry: 'a git directory layout (HEAD, objects/, refs/, .git)' };
  }

  /**
   * The place `real` is or lies in that other tools run by themselves (`.vscode/tasks.json`, `.husky/`), written only
   * with a grant naming it: its path (a grant must be it or lie inside it) and the table's entry.
   */
  autoRunMatch(real: string): { readonly root: string; readonly entry: string } | undefined {
    const parts = real.split(sep);
    for (const a of this.#anyGrantedWrite) {
      const at = placeAt(parts, a);
      if (at !== undefined) return { root: at, entry: `${a.place.path} in any folder` };
    }
    return undefined;
  }

  /**
   * The lists at their places in this layout, for the OS sandbox of child processes (src/pi/confine), which mounts
   * the same places the checks here protect: credential stores, never-written places, pi-warden's store, pi's own
   * folders, and the names that are never written in any folder.
   */
  lists(): {
    readonly credential: readonly Place[];
    readonly neverWritten: readonly Place[];
    readonly wardenPrivate: readonly string[];
    readonly piOwn: readonly string[];
    readonly anyNeverWritten: readonly SensitivePlace[];
    readonly anyGrantedWrite: readonly SensitivePlace[];
  } {
    return {
      credential: this.#sensitive.all,
      neverWritten: this.#startup.all,
      wardenPrivate: this.#private,
      piOwn: this.#piOwn,
      anyNeverWritten: this.#anyNeverWritten.map((a) => a.place),
      anyGrantedWrite: this.#anyGrantedWrite.map((a) => a.place),
    };
  }

  /** What kind of place `real` is, for an extension whose data folder is `data`. */
  classify(real: string, data: string): PathVerdict {
    const { projectRoot } = this.layout;
    const own = this.#private.find((p) => isInside(p, real));
    if (own !== undefined && !isInside(data, real)) return { cls: 'warden_private', root: own };
    const hit = this.#sensitive.find(real);
    if (hit !== undefined) return { cls: 'sensitive', root: hit.path, entry: hit.entry, described: describe(hit) };
    // Credential files found in any folder (`.env`, `id_rsa`) are credentials unless they belong to the project.
    if (!isInside(projectRoot, real)) {
      const parts = real.split(sep);
      const named = this.#anyCredential.find((a) => holdsAny(parts, a));
      if (named !== undefined) {
        const entry = `${named.place.path} outside the project`;
        return { cls: 'sensitive', root: real, entry, described: entry };
      }
    }
    // git's object store and index, in the project too: a grant naming the git directory (or inside it) opens them.
    const git = gitInternals(real);
    if (git !== undefined) {
      const entry = `${git.place.path} of a git directory`;
      return {
        cls: 'sensitive',
        root: git.gitDir,
        entry,
        described: `${entry} (${git.gitDir})`,
        what: `git's ${git.place.holds === 'file' ? 'index' : 'object store'} (compressed copies of committed and staged files)`,
      };
    }
    return { cls: 'ordinary' };
  }

  /**
   * Why `real` can never be written, deleted, renamed or linked over by an extension (SPEC §5.6), with the list
   * entry that matched (`entry`: with the symlink it was reached through, for the operator; `why` names the entry
   * only, since it goes back to the extension), or undefined. Grants do not change this.
   */
  protectedMatch(real: string, data: string): { readonly why: string; readonly entry: string } | undefined {
    if (isInside(data, real)) return undefined;
    const own = this.#private.find((p) => isInside(p, real));
    if (own !== undefined) return { why: `pi-warden's store and keys (${own})`, entry: own };
    const pi = this.#piOwn.find((p) => isInside(p, real));
    if (pi !== undefined) return { why: `pi's agent directory (${pi}: settings, auth, extensions)`, entry: pi };
    const hit = this.#startup.find(real);
    if (hit !== undefined) return { why: `a startup or configuration file that runs later (${hit.entry})`, entry: describe(hit) };
    const parts = real.split(sep);
    const named = this.#anyNeverWritten.find((a) => holdsAny(parts, a));
    if (named === undefined) return undefined;
    const { path } = named.place;
    return named.place.holds === 'file'
      ? { why: `${path} (run or loaded by tools entering this folder)`, entry: `${path} in any folder` }
      : { why: `inside a ${path} folder (code or configuration read later)`, entry: `any ${path} folder` };
  }

  /** A credential store strictly inside `dir` (moving or deleting `dir` would move or delete it), or undefined. */
  sensitiveInside(dir: string): string | undefined {
    for (const { path } of this.#sensitive.all) if (path !== dir && isInside(dir, path)) return path;
    return undefined;
  }

  /**
   * The protected places strictly inside `dir` that a recursive delete, rename or chmod of it would reach
   * (lexically known ones only; the operation walks the tree for the rest).
   */
  protectedInside(dir: string, data: string): string | undefined {
    const project = this.layout.projectRoot;
    const folders = this.#anyNeverWritten.filter((a) => a.place.holds === 'folder').map((a) => join(project, a.place.path));
    const known = [...this.#piOwn, ...this.#private, ...this.#startup.all.map((p) => p.path), ...folders];
    for (const root of known) {
      if (root !== dir && isInside(dir, root) && !isInside(data, root)) return root;
    }
    return undefined;
  }
}

/**
 * The folders on PATH: a file planted in one runs in place of a command. Those inside the project too (a planted
 * `bin/git` runs at the user's next `git`); a relative entry is taken from the project root, where pi runs
 * commands. Not a folder that is or holds the home or the project root (that would freeze the whole project: a
 * limit the README states).
 */
function pathFolders(env: Readonly<Record<string, string | undefined>>, layout: FsLayout): string[] {
  const out: string[] = [];
  for (const raw of (env.PATH ?? '').split(delimiter)) {
    if (raw === '') continue;
    const dir = normalize(isAbsolute(raw) ? raw : join(layout.projectRoot, raw));
    if (isInside(dir, layout.home) || isInside(dir, layout.projectRoot)) continue;
    out.push(dir);
  }
  return out;
}
