/**
 * Filesystem path classes (SPEC §5.5, §5.6): where an extension's file access is confined to, which places are
 * credential stores (any access needs a grant that names them), and which places can never be written because
 * what is there runs or is read later outside the sandbox (pi's and pi-warden's settings, store and keys,
 * extension and package folders, git internals, shell startup files).
 *
 * Paths here are absolute and normalised (no `..`, no trailing slash), already resolved through symlinks by
 * the caller. Comparisons are per path component, so `/home/u/.sshx` is not inside `/home/u/.ssh`.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, type Dirent } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, normalize as normalizePath, sep } from 'node:path';
import { isInside, pathKey } from '../../paths.ts';

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

/**
 * Credential stores under the home directory: reading or writing needs a grant naming them (SPEC §5.5). Each entry
 * holds secrets: keys, tokens, passwords, session cookies, or histories that record typed secrets.
 */
const HOME_SENSITIVE = [
  '.ssh', '.aws', '.gnupg', '.config/gcloud', '.azure', '.kube', '.docker/config.json', '.netrc', '.npmrc', '.yarnrc.yml',
  '.pypirc', '.git-credentials', '.config/gh', '.config/hub', '.pgpass', '.my.cnf', '.password-store', '.vault-token',
  '.cargo/credentials', '.cargo/credentials.toml', '.gem/credentials', '.config/op', '.local/share/keyrings', '.mozilla',
  '.config/google-chrome', '.config/chromium', '.terraform.d/credentials.tfrc.json', '.config/rclone', '.s3cfg', '.boto',
  '.config/doctl', '.oci', '.bash_history', '.zsh_history', '.psql_history', '.mysql_history', '.python_history',
  '.node_repl_history', '.lesshst', '.wget-hsts',
  // Coding agents' logins and settings (settings may carry API keys in `env` or an apiKeyHelper).
  '.claude/.credentials.json', '.claude/settings.json', '.claude/settings.local.json', '.claude.json', '.codex/auth.json',
  '.codex/config.toml', '.config/github-copilot',
  // git's credential-store file under XDG and its credential-cache daemon's socket folder.
  '.config/git/credentials', '.git-credential-cache', '.cache/git/credential',
  // Keys and tokens of other CLIs.
  '.config/sops/age/keys.txt', '.cache/huggingface/token', '.huggingface/token', '.pulumi/credentials.json', '.terraformrc',
  '.config/hcloud', '.config/helm/repositories.yaml', '.config/helm/registry', '.ollama/id_ed25519', '.wrangler/config',
  '.config/.wrangler', '.netlify', '.config/netlify', '.vercel', '.local/share/com.vercel.cli', '.config/configstore',
  '.config/heroku', '.netrc.gpg', '.authinfo', '.authinfo.gpg',
  // Build tools' and data platforms' credentials.
  '.m2/settings.xml', '.m2/settings-security.xml', '.gradle/gradle.properties', '.kaggle/kaggle.json', '.config/composer/auth.json',
  '.composer/auth.json', '.databrickscfg', '.config/gcloud/application_default_credentials.json', '.ivy2/.credentials', '.sbt/credentials',
] as const;

/** System places holding credentials or other processes' state. */
const SYSTEM_SENSITIVE = ['/proc', '/sys', '/dev', '/etc/shadow', '/etc/gshadow', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh', '/root', '/var/run/secrets', '/run/secrets'] as const;

/**
 * Never written, under home: code in them runs, or configuration in them is read, later and outside the sandbox —
 * shell and session startup files, folders on PATH (a file there shadows a command), and settings that name
 * commands to run (git, ssh, aws `credential_process`, kubeconfig `exec`, coding agents' hooks and MCP servers).
 */
const HOME_STARTUP = [
  '.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.profile', '.zshrc', '.zshenv', '.zprofile', '.zlogin',
  '.zlogout', '.kshrc', '.mkshrc', '.cshrc', '.tcshrc', '.login', '.logout', '.xprofile', '.xinitrc', '.xsession',
  '.config/fish', '.config/nushell', '.config/environment.d', '.config/systemd', '.config/autostart', '.local/share/systemd',
  '.config/git', '.gitconfig', '.ssh/authorized_keys', '.ssh/rc', '.ssh/config', '.ssh/environment', '.pam_environment',
  '.npmrc', '.envrc', '.direnvrc', '.config/direnv', '.inputrc', '.vimrc', '.config/nvim', '.emacs', '.emacs.d',
  // Sourced by the startup files of common setups (Debian's .bashrc, bashrc.d drop-ins, rustup's .profile line).
  '.bash_aliases', '.bashrc.d', '.config/bash', '.config/bashrc', '.cargo/env',
  // On PATH: a file planted there runs instead of the command it names.
  '.local/bin', 'bin', '.cargo/bin',
  // Commands run by tools on their next use.
  '.aws/config', '.kube/config', '.claude', '.claude.json', '.codex',
  // Configuration that runs commands or chooses what code is installed: tmux run-shell, starship custom modules,
  // pip's index, yarnPath, bun's preload, container registries.
  '.config/starship.toml', '.tmux.conf', '.config/tmux', '.config/pip', '.pip', '.yarnrc', '.yarnrc.yml', '.bunfig.toml',
  '.config/containers',
] as const;

type Kind = 'sensitive' | 'startup';

/** A list entry placed by an environment variable: its path, how the list names it, and its kind. */
interface Relocated {
  readonly path: string;
  readonly entry: string;
  readonly kind: Kind;
}

/** XDG variables and the home folder each replaces: every list entry below it moves (`~/.config/gh` → `$XDG_CONFIG_HOME/gh`). */
const XDG = [['XDG_CONFIG_HOME', '.config/'], ['XDG_DATA_HOME', '.local/share/'], ['XDG_CACHE_HOME', '.cache/']] as const;

/** Entries under a home folder an XDG variable moves: `~/.config/gh` → `$XDG_CONFIG_HOME/gh`. */
function xdg(name: string, under: string, value: string): Relocated[] {
  const out: Relocated[] = [];
  for (const [list, kind] of [[HOME_SENSITIVE, 'sensitive'], [HOME_STARTUP, 'startup']] as const) {
    for (const e of list) if (e.startsWith(under)) out.push({ path: join(value, e.slice(under.length)), entry: `$${name}/${e.slice(under.length)}`, kind });
  }
  return out;
}

/**
 * Environment variables that move list entries (their tools read them): name → the places for its value. Relative
 * values are ignored (the XDG specification says so; the others are unusual and would depend on the cwd).
 */
const RELOCATIONS: ReadonlyArray<readonly [string, (v: string) => ReadonlyArray<readonly [string, Kind]>]> = [
  ['AWS_SHARED_CREDENTIALS_FILE', (v) => [[v, 'sensitive']]],
  ['AWS_CONFIG_FILE', (v) => [[v, 'sensitive'], [v, 'startup']]],
  ['GNUPGHOME', (v) => [[v, 'sensitive']]],
  ['DOCKER_CONFIG', (v) => [[join(v, 'config.json'), 'sensitive']]],
  ['CARGO_HOME', (v) => [[join(v, 'credentials'), 'sensitive'], [join(v, 'credentials.toml'), 'sensitive'], [join(v, 'bin'), 'startup'], [join(v, 'env'), 'startup']]],
  ['GIT_CONFIG_GLOBAL', (v) => [[v, 'startup']]],
  ['NPM_CONFIG_USERCONFIG', (v) => [[v, 'sensitive'], [v, 'startup']]],
  ['npm_config_userconfig', (v) => [[v, 'sensitive'], [v, 'startup']]],
  ['PASSWORD_STORE_DIR', (v) => [[v, 'sensitive']]],
  ['ZDOTDIR', (v) => [...['.zshrc', '.zshenv', '.zprofile', '.zlogin', '.zlogout'].map((f) => [join(v, f), 'startup'] as const), [join(v, '.zsh_history'), 'sensitive']]],
  ['HISTFILE', (v) => [[v, 'sensitive']]],
  ['GH_CONFIG_DIR', (v) => [[v, 'sensitive']]],
  ['CLOUDSDK_CONFIG', (v) => [[v, 'sensitive']]],
  ['AZURE_CONFIG_DIR', (v) => [[v, 'sensitive']]],
  ['TF_CLI_CONFIG_FILE', (v) => [[v, 'sensitive']]],
  ['PULUMI_HOME', (v) => [[join(v, 'credentials.json'), 'sensitive']]],
  ['SOPS_AGE_KEY_FILE', (v) => [[v, 'sensitive']]],
  ['HF_HOME', (v) => [[join(v, 'token'), 'sensitive']]],
  ['HF_TOKEN_PATH', (v) => [[v, 'sensitive']]],
  ['GOOGLE_APPLICATION_CREDENTIALS', (v) => [[v, 'sensitive']]],
  ['KAGGLE_CONFIG_DIR', (v) => [[join(v, 'kaggle.json'), 'sensitive']]],
  ['GRADLE_USER_HOME', (v) => [[join(v, 'gradle.properties'), 'sensitive'], [join(v, 'init.d'), 'startup'], [join(v, 'init.gradle'), 'startup']]],
  ['CLAUDE_CONFIG_DIR', (v) => [[v, 'startup'], ...['.credentials.json', 'settings.json', 'settings.local.json'].map((f) => [join(v, f), 'sensitive'] as const)]],
  ['CODEX_HOME', (v) => [[v, 'startup'], [join(v, 'auth.json'), 'sensitive'], [join(v, 'config.toml'), 'sensitive']]],
];

/** Variables holding a list of paths (KUBECONFIG: each file is a credential store and may name `exec` plugins). */
const LIST_RELOCATIONS: ReadonlyArray<readonly [string, readonly Kind[]]> = [['KUBECONFIG', ['sensitive', 'startup']]];

/** Every list entry the environment places, with absolute values only (PATH folders aside: see `pathFolders`). */
function relocatedEntries(env: Readonly<Record<string, string | undefined>>): Relocated[] {
  const out: Relocated[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v !== undefined && isAbsolute(v) ? normalize(v) : undefined;
  };
  for (const [name, under] of XDG) {
    const v = value(name);
    if (v !== undefined) out.push(...xdg(name, under, v));
  }
  for (const [name, places] of RELOCATIONS) {
    const v = value(name);
    if (v === undefined) continue;
    for (const [path, kind] of places(v)) out.push({ path, entry: path === v ? `$${name}` : `$${name}/${path.slice(v.length + 1)}`, kind });
  }
  for (const [name, kinds] of LIST_RELOCATIONS) {
    for (const value of (env[name] ?? '').split(delimiter)) {
      if (!isAbsolute(value)) continue;
      for (const kind of kinds) out.push({ path: normalize(value), entry: `$${name} (${normalize(value)})`, kind });
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
  const global = env.GIT_CONFIG_GLOBAL !== undefined && isAbsolute(env.GIT_CONFIG_GLOBAL) ? env.GIT_CONFIG_GLOBAL : join(home, '.gitconfig');
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
          if (repo !== undefined && basename(p) === '_' && isInside(repo, dirname(p)) && dirname(p) !== repo) out.push({ path: dirname(p), entry, kind: 'startup' });
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

/** A git config value as git reads it: quotes removed, `\\` escapes, a `#` or `;` outside quotes starts a comment. */
function gitValue(raw: string): string {
  let out = '';
  let quoted = false;
  let pending = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += pending + (n === 'n' ? '\n' : n === 't' ? '\t' : n);
      pending = '';
    } else if (c === '"') {
      out += pending;
      pending = '';
      quoted = !quoted;
    } else if (!quoted && (c === '#' || c === ';')) {
      break;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (out !== '') pending += c; // inner spaces kept, trailing ones dropped
    } else {
      out += pending + c;
      pending = '';
    }
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
  /** The list entry that matched, as the list names it (`~/.ssh`, `$GNUPGHOME`). */
  readonly entry?: string;
  /** `entry` with the symlink it was reached through, for the operator (see `describe`). */
  readonly described?: string;
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
      p.split(sep).filter((c) => c !== '').length < 2 || [home, layout.projectRoot, layout.wardenHome, layout.dataRoot].some((r) => isInside(p, r));
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
    for (const e of HOME_SENSITIVE) add(this.#sensitive, join(home, e), `~/${e}`, true);
    for (const e of SYSTEM_SENSITIVE) add(this.#sensitive, e, e, false);
    const auth = join(layout.agentDir, 'auth.json');
    add(this.#sensitive, auth, auth, false);
    for (const e of HOME_STARTUP) add(this.#startup, join(home, e), `~/${e}`, true);
    add(this.#startup, '/etc', '/etc', false);
    for (const r of [...relocatedEntries(env), ...gitConfigPlaces(home, env, layout.projectRoot)]) {
      // A variable (or config value) naming `/`, a top-level folder, or a folder holding home, the project or
      // pi-warden's home would put everything on a list: not taken (`CODEX_HOME=/home/u` would freeze the project).
      if (broad(r.path)) continue;
      add(r.kind === 'sensitive' ? this.#sensitive : this.#startup, r.path, r.entry, true);
    }
    for (const dir of pathFolders(env, layout)) {
      // Named through a link, a PATH folder may really be inside the project (direnv's `PATH_add bin`).
      const r = real(dir);
      if (r !== undefined && isInside(layout.projectRoot, r)) continue;
      add(this.#startup, dir, '$PATH', false);
    }
  }

  /** What kind of place `real` is, for an extension whose data folder is `data`. */
  classify(real: string, data: string): PathVerdict {
    const { wardenHome, projectRoot } = this.layout;
    if (isInside(wardenHome, real) && !isInside(data, real)) return { cls: 'warden_private', root: wardenHome };
    const hit = this.#sensitive.find(real);
    if (hit !== undefined) return { cls: 'sensitive', root: hit.path, entry: hit.entry, described: describe(hit) };
    // `.env` files are credentials unless they belong to the project.
    const base = real.slice(real.lastIndexOf(sep) + 1);
    if (/^\.env(\..+)?$/i.test(base) && !isInside(projectRoot, real)) return { cls: 'sensitive', root: real, entry: '.env outside the project', described: '.env outside the project' };
    return { cls: 'ordinary' };
  }

  /**
   * Why `real` can never be written, deleted, renamed or linked over by an extension (SPEC §5.6), with the list
   * entry that matched (`entry`: with the symlink it was reached through, for the operator; `why` names the entry
   * only, since it goes back to the extension), or undefined. Grants do not change this.
   */
  protectedMatch(real: string, data: string): { readonly why: string; readonly entry: string } | undefined {
    const { agentDir, wardenHome } = this.layout;
    if (isInside(data, real)) return undefined;
    if (isInside(wardenHome, real)) return { why: `pi-warden's store and keys (${wardenHome})`, entry: wardenHome };
    if (isInside(agentDir, real)) return { why: `pi's agent directory (${agentDir}: settings, auth, extensions)`, entry: agentDir };
    const hit = this.#startup.find(real);
    if (hit !== undefined) return { why: `a startup or configuration file that runs later (${hit.entry})`, entry: describe(hit) };
    const parts = real.split(sep);
    for (const part of parts) {
      if (PROTECTED_COMPONENTS.has(pathKey(part))) return { why: `inside a ${part} folder (code or configuration read later)`, entry: `any ${part} folder` };
    }
    const base = parts[parts.length - 1] ?? '';
    if (PROTECTED_NAMES.has(pathKey(base))) return { why: `${base} (run or loaded by tools entering this folder)`, entry: `${base} in any folder` };
    return undefined;
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
    const known = [this.layout.agentDir, this.layout.wardenHome, ...this.#startup.all.map((p) => p.path), ...[...PROTECTED_COMPONENTS].map((c) => join(project, c))];
    for (const root of known) {
      if (root !== dir && isInside(dir, root) && !isInside(data, root)) return root;
    }
    return undefined;
  }
}

/**
 * The absolute folders on PATH: a file planted in one runs in place of a command. Not those inside the project (a
 * direnv `PATH_add bin` would make the project's own scripts unwritable) or holding the home or the project.
 */
function pathFolders(env: Readonly<Record<string, string | undefined>>, layout: FsLayout): string[] {
  const out: string[] = [];
  for (const raw of (env.PATH ?? '').split(delimiter)) {
    if (!isAbsolute(raw)) continue;
    const dir = normalize(raw);
    if (isInside(layout.projectRoot, dir) || isInside(dir, layout.home) || isInside(dir, layout.projectRoot)) continue;
    out.push(dir);
  }
  return out;
}
