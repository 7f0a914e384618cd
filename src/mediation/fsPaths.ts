/**
 * Filesystem path classes (SPEC §5.5, §5.6): where an extension's file access is confined to, which places are
 * credential stores (any access needs a grant that names them), and which places can never be written because
 * what is there runs or is read later outside the sandbox (pi's and pi-warden's settings, store and keys,
 * extension and package folders, git internals, shell startup files).
 *
 * Paths here are absolute and normalised (no `..`, no trailing slash), already resolved through symlinks by
 * the caller. Comparisons are per path component, so `/home/u/.sshx` is not inside `/home/u/.ssh`.
 */
import { readdirSync, type Dirent } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

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

/** Case-insensitive file systems (macOS, Windows) compare folded; Linux compares as is. */
const FOLD = process.platform === 'darwin' || process.platform === 'win32';
const norm = (p: string): string => (FOLD ? p.toLowerCase() : p);

/** True when `path` is `root` or lies below it (per component). */
export function within(path: string, root: string): boolean {
  const p = norm(path);
  const r = norm(root);
  if (p === r) return true;
  // No `r + sep`: this runs for every root on every checked path (and every entry of a walked tree).
  return p.startsWith(r) && (r.endsWith(sep) || p[r.length] === sep);
}

/** The folder an extension may use for its own data. Ids are encoded so none can name a parent or a sibling. */
export function dataFolder(dataRoot: string, extensionId: string): string {
  // An empty id would name the data root itself (every extension's data): it gets a name no encoded id can have.
  if (extensionId === '') return join(dataRoot, '%');
  const encoded = encodeURIComponent(extensionId).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
  return join(dataRoot, encoded);
}

/** Credential stores under the home directory: reading or writing needs a grant naming them (SPEC §5.5). */
const HOME_SENSITIVE = [
  '.ssh', '.aws', '.gnupg', '.config/gcloud', '.azure', '.kube', '.docker/config.json', '.netrc', '.npmrc', '.yarnrc.yml',
  '.pypirc', '.git-credentials', '.config/gh', '.config/hub', '.pgpass', '.my.cnf', '.password-store', '.vault-token',
  '.cargo/credentials', '.cargo/credentials.toml', '.gem/credentials', '.config/op', '.local/share/keyrings', '.mozilla',
  '.config/google-chrome', '.config/chromium', '.terraform.d/credentials.tfrc.json', '.config/rclone', '.s3cfg', '.boto',
  '.config/doctl', '.oci', '.bash_history', '.zsh_history', '.psql_history', '.mysql_history', '.python_history',
  '.node_repl_history', '.lesshst', '.wget-hsts',
  // Coding agents' and CLIs' tokens.
  '.claude/.credentials.json', '.claude.json', '.codex/auth.json', '.config/github-copilot', '.config/git/credentials',
  '.git-credential-cache', '.config/sops/age/keys.txt', '.cache/huggingface/token', '.huggingface/token', '.pulumi/credentials.json',
  '.terraformrc', '.config/hcloud', '.config/helm/repositories.yaml', '.ollama/id_ed25519', '.wrangler/config', '.config/netlify',
  '.netlify/config.json', '.local/share/com.vercel.cli', '.config/configstore', '.config/heroku', '.netrc.gpg', '.authinfo', '.authinfo.gpg',
] as const;

/** System places holding credentials or other processes' state. */
const SYSTEM_SENSITIVE = ['/proc', '/sys', '/dev', '/etc/shadow', '/etc/gshadow', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh', '/root', '/var/run/secrets', '/run/secrets'] as const;

/**
 * Under home, code or configuration that runs later outside the sandbox: shell and session startup files, folders
 * on PATH (a file there shadows a command), and the settings of tools that run commands from them (git, coding
 * agents' hooks).
 */
const HOME_STARTUP = [
  '.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.profile', '.zshrc', '.zshenv', '.zprofile', '.zlogin',
  '.zlogout', '.kshrc', '.mkshrc', '.cshrc', '.tcshrc', '.login', '.logout', '.xprofile', '.xinitrc', '.xsession',
  '.config/fish', '.config/nushell', '.config/environment.d', '.config/systemd', '.config/autostart', '.local/share/systemd',
  '.config/git', '.gitconfig', '.ssh/authorized_keys', '.ssh/rc', '.ssh/config', '.ssh/environment', '.pam_environment',
  '.npmrc', '.envrc', '.direnvrc', '.config/direnv', '.inputrc', '.vimrc', '.config/nvim', '.emacs', '.emacs.d',
  '.bash_aliases', '.bashrc.d', '.config/bash', '.local/bin', 'bin', '.claude', '.codex', '.config/starship.toml', '.tmux.conf',
  '.config/tmux', '.config/pip', '.pip', '.yarnrc', '.yarnrc.yml', '.bunfig.toml', '.config/containers',
] as const;

/** `NAME` → the places it moves (absolute values only): [list entry it replaces or adds, kind]. */
type Kind = 'sensitive' | 'startup';
const RELOCATIONS: ReadonlyArray<readonly [string, (value: string) => ReadonlyArray<readonly [string, Kind]>]> = [
  ['XDG_CONFIG_HOME', (v) => [...HOME_SENSITIVE, ...HOME_STARTUP].filter((e) => e.startsWith('.config/')).map((e) => [join(v, e.slice(8)), HOME_SENSITIVE.includes(e as never) ? 'sensitive' : 'startup'] as const)],
  ['XDG_DATA_HOME', (v) => [...HOME_SENSITIVE, ...HOME_STARTUP].filter((e) => e.startsWith('.local/share/')).map((e) => [join(v, e.slice(13)), HOME_SENSITIVE.includes(e as never) ? 'sensitive' : 'startup'] as const)],
  ['XDG_CACHE_HOME', (v) => [[join(v, 'huggingface', 'token'), 'sensitive']]],
  ['HF_HOME', (v) => [[join(v, 'token'), 'sensitive']]],
  ['AWS_SHARED_CREDENTIALS_FILE', (v) => [[v, 'sensitive']]],
  ['AWS_CONFIG_FILE', (v) => [[v, 'sensitive']]],
  ['KUBECONFIG', (v) => v.split(':').filter((x) => isAbsolute(x)).map((x) => [x, 'sensitive'] as const)],
  ['GNUPGHOME', (v) => [[v, 'sensitive']]],
  ['DOCKER_CONFIG', (v) => [[join(v, 'config.json'), 'sensitive']]],
  ['CARGO_HOME', (v) => [[join(v, 'credentials'), 'sensitive'], [join(v, 'credentials.toml'), 'sensitive'], [join(v, 'bin'), 'startup']]],
  ['PASSWORD_STORE_DIR', (v) => [[v, 'sensitive']]],
  ['GH_CONFIG_DIR', (v) => [[v, 'sensitive']]],
  ['CLAUDE_CONFIG_DIR', (v) => [[join(v, '.credentials.json'), 'sensitive'], [v, 'startup']]],
  ['CODEX_HOME', (v) => [[join(v, 'auth.json'), 'sensitive'], [v, 'startup']]],
  ['NPM_CONFIG_USERCONFIG', (v) => [[v, 'sensitive'], [v, 'startup']]],
  ['GIT_CONFIG_GLOBAL', (v) => [[v, 'startup']]],
  ['ZDOTDIR', (v) => ['.zshrc', '.zshenv', '.zprofile', '.zlogin', '.zlogout'].map((f) => [join(v, f), 'startup'] as const)],
];

/** Path components that mark code or configuration read later: any `.pi`, `.git` or `node_modules` folder. */
const PROTECTED_COMPONENTS = new Set(['.pi', '.git', 'node_modules']);
/** Files in any folder that tools run or load when entering it. */
const PROTECTED_NAMES = new Set(['.envrc', '.npmrc', '.gitmodules']);

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
  /** How the list names it (`~/.ssh`, `$GNUPGHOME`), with where it really is when that differs. */
  readonly entry?: string;
}

/** A list entry at one of its places: as named, or where its symlinks lead. */
interface Place {
  readonly path: string;
  readonly entry: string;
}

/**
 * Places indexed by path, looked up by walking a path's ancestors (a handful of map probes, however long the
 * lists get), plus the list itself for the "what lies inside this folder" questions.
 */
class PlaceIndex {
  readonly #byPath = new Map<string, Place>();
  readonly all: Place[] = [];

  add(place: Place): void {
    const key = norm(place.path);
    if (this.#byPath.has(key)) return;
    this.#byPath.set(key, place);
    this.all.push(place);
  }

  /** The place `path` is or lies inside, or undefined. */
  find(path: string): Place | undefined {
    let p = norm(path);
    for (;;) {
      const hit = this.#byPath.get(p);
      if (hit !== undefined) return hit;
      const cut = p.lastIndexOf(sep);
      if (cut <= 0) return p === sep ? undefined : this.#byPath.get(sep);
      p = p.slice(0, cut);
    }
  }
}

/** Symlinks below a listed folder (depth ≤ 3, ≤ 512 entries looked at): [link path, link path to follow]. */
function linksBelow(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const queue: Array<[string, number]> = [[dir, 0]];
  let seen = 0;
  while (queue.length > 0 && seen < 512) {
    const [d, depth] = queue.shift() as [string, number];
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue; // not a folder, missing, unreadable
    }
    for (const e of entries) {
      if (++seen > 512) break;
      const p = join(d, e.name);
      if (e.isSymbolicLink()) out.push([p, p]);
      else if (e.isDirectory() && depth < 2) queue.push([p, depth + 1]);
    }
  }
  return out;
}

export interface ClassifierOptions {
  /** Where a place really is (symlinks followed, a missing tail kept); default: as named. */
  readonly resolve?: (path: string) => string;
  /** The environment whose variables relocate list entries (XDG_CONFIG_HOME, GNUPGHOME, ...); default: none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class PathClassifier {
  readonly layout: FsLayout;
  readonly #sensitive = new PlaceIndex();
  readonly #startup = new PlaceIndex();

  /**
   * Builds the lists for `layout`. Each entry is indexed where it is named and where its symlinks lead when it is
   * built (a dotfile managed by GNU stow is a link into ~/dotfiles: writing the real file is writing the dotfile),
   * and relocated by the environment variables tools read (RELOCATIONS).
   */
  constructor(layout: FsLayout, o: ClassifierOptions = {}) {
    this.layout = layout;
    const home = layout.home;
    const resolvePlace = o.resolve ?? ((p: string) => p);
    // A link target that holds home or the project (`/`, `/home`) would put everything in the list: not taken.
    const tooBroad = (p: string) => within(home, p) || within(layout.projectRoot, p);
    const add = (index: PlaceIndex, path: string, entry: string, followLinksBelow = true) => {
      index.add({ path, entry });
      let real: string;
      try {
        real = resolvePlace(path);
      } catch {
        return;
      }
      if (real !== path && !tooBroad(real)) index.add({ path: real, entry: `${entry} → ${real}` });
      if (!followLinksBelow) return;
      // Links inside a listed folder (~/.aws/credentials → ~/dotfiles/aws/credentials) lead out of it too.
      for (const [link, target] of linksBelow(real)) {
        let to: string;
        try {
          to = resolvePlace(target);
        } catch {
          continue;
        }
        if (!tooBroad(to)) index.add({ path: to, entry: `${entry}${link.slice(real.length)} → ${to}` });
      }
    };
    for (const e of HOME_SENSITIVE) add(this.#sensitive, join(home, e), `~/${e}`);
    // Not below the system places: /proc/<pid>/root and /proc/<pid>/cwd are links to `/` and to working folders.
    for (const e of SYSTEM_SENSITIVE) add(this.#sensitive, e, e, false);
    add(this.#sensitive, join(layout.agentDir, 'auth.json'), join(layout.agentDir, 'auth.json'));
    for (const e of HOME_STARTUP) add(this.#startup, join(home, e), `~/${e}`);
    add(this.#startup, '/etc', '/etc', false);
    for (const [name, places] of RELOCATIONS) {
      const value = o.env?.[name];
      if (value === undefined || value === '' || (!isAbsolute(value) && name !== 'KUBECONFIG')) continue;
      for (const [path, kind] of places(value)) add(kind === 'sensitive' ? this.#sensitive : this.#startup, path, `$${name} (${path})`);
    }
  }

  /** What kind of place `real` is, for an extension whose data folder is `data`. */
  classify(real: string, data: string): PathVerdict {
    const { wardenHome, projectRoot } = this.layout;
    if (within(real, wardenHome) && !within(real, data)) return { cls: 'warden_private', root: wardenHome };
    const hit = this.#sensitive.find(real);
    if (hit !== undefined) return { cls: 'sensitive', root: hit.path, entry: hit.entry };
    // `.env` files are credentials unless they belong to the project.
    const base = real.slice(real.lastIndexOf(sep) + 1);
    if (/^\.env(\..+)?$/i.test(base) && !within(real, projectRoot)) return { cls: 'sensitive', root: real };
    return { cls: 'ordinary' };
  }

  /**
   * Why `real` can never be written, deleted, renamed or linked over by an extension (SPEC §5.6), or undefined.
   * Grants do not change this.
   */
  protectedWhy(real: string, data: string): string | undefined {
    const { agentDir, wardenHome } = this.layout;
    if (within(real, data)) return undefined;
    if (within(real, wardenHome)) return `pi-warden's store and keys (${wardenHome})`;
    if (within(real, agentDir)) return `pi's agent directory (${agentDir}: settings, auth, extensions)`;
    const hit = this.#startup.find(real);
    if (hit !== undefined) return `a startup or configuration file that runs later (${hit.entry})`;
    const parts = real.split(sep);
    for (const part of parts) if (PROTECTED_COMPONENTS.has(FOLD ? part.toLowerCase() : part)) return `inside a ${part} folder (code or configuration read later)`;
    const base = parts[parts.length - 1] ?? '';
    if (PROTECTED_NAMES.has(FOLD ? base.toLowerCase() : base)) return `${base} (run or loaded by tools entering this folder)`;
    return undefined;
  }

  /** A credential store strictly inside `dir` (moving or deleting `dir` would move or delete it), or undefined. */
  sensitiveInside(dir: string): string | undefined {
    for (const { path } of this.#sensitive.all) if (path !== dir && within(path, dir)) return path;
    return undefined;
  }

  /**
   * The protected places strictly inside `dir` that a recursive delete, rename or chmod of it would reach
   * (lexically known ones only; the operation walks the tree for the rest).
   */
  protectedInside(dir: string, data: string): string | undefined {
    const project = this.layout.projectRoot;
    const known = [this.layout.agentDir, this.layout.wardenHome, ...this.#startup.all.map((p) => p.path), ...[...PROTECTED_COMPONENTS].map((c) => join(project, c))];
    for (const root of known) {
      if (root !== dir && within(root, dir) && !within(root, data)) return root;
    }
    return undefined;
  }
}

export { PROTECTED_COMPONENTS, PROTECTED_NAMES };
