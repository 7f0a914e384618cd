/**
 * Filesystem path classes (SPEC §5.5, §5.6): where an extension's file access is confined to, which places are
 * credential stores (any access needs a grant that names them), and which places can never be written because
 * what is there runs or is read later outside the sandbox (pi's and pi-warden's settings, store and keys,
 * extension and package folders, git internals, shell startup files).
 *
 * Paths here are absolute and normalised (no `..`, no trailing slash), already resolved through symlinks by
 * the caller. Comparisons are per path component, so `/home/u/.sshx` is not inside `/home/u/.ssh`.
 */
import { join, sep } from 'node:path';

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
] as const;

/** System places holding credentials or other processes' state. */
const SYSTEM_SENSITIVE = ['/proc', '/sys', '/dev', '/etc/shadow', '/etc/gshadow', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh', '/root', '/var/run/secrets', '/run/secrets'] as const;

/** Shell and session startup files under home: code in them runs at the user's next login or shell. */
const HOME_STARTUP = [
  '.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.profile', '.zshrc', '.zshenv', '.zprofile', '.zlogin',
  '.zlogout', '.kshrc', '.mkshrc', '.cshrc', '.tcshrc', '.login', '.logout', '.xprofile', '.xinitrc', '.xsession',
  '.config/fish', '.config/nushell', '.config/environment.d', '.config/systemd', '.config/autostart', '.local/share/systemd',
  '.config/git', '.gitconfig', '.ssh/authorized_keys', '.ssh/rc', '.ssh/config', '.ssh/environment', '.pam_environment',
  '.npmrc', '.envrc', '.direnvrc', '.config/direnv', '.inputrc', '.vimrc', '.config/nvim', '.emacs', '.emacs.d',
] as const;

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
}

export class PathClassifier {
  readonly layout: FsLayout;
  readonly #sensitive: readonly string[];
  readonly #startup: readonly string[];

  constructor(layout: FsLayout) {
    this.layout = layout;
    this.#sensitive = [...HOME_SENSITIVE.map((p) => join(layout.home, p)), ...SYSTEM_SENSITIVE, join(layout.agentDir, 'auth.json')];
    this.#startup = [...HOME_STARTUP.map((p) => join(layout.home, p)), '/etc'];
  }

  /** What kind of place `real` is, for an extension whose data folder is `data`. */
  classify(real: string, data: string): PathVerdict {
    const { wardenHome, projectRoot } = this.layout;
    if (within(real, wardenHome) && !within(real, data)) return { cls: 'warden_private', root: wardenHome };
    for (const root of this.#sensitive) if (within(real, root)) return { cls: 'sensitive', root };
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
    for (const root of this.#startup) if (within(real, root)) return `a startup or configuration file that runs later (${root})`;
    const parts = real.split(sep);
    for (const part of parts) if (PROTECTED_COMPONENTS.has(FOLD ? part.toLowerCase() : part)) return `inside a ${part} folder (code or configuration read later)`;
    const base = parts[parts.length - 1] ?? '';
    if (PROTECTED_NAMES.has(FOLD ? base.toLowerCase() : base)) return `${base} (run or loaded by tools entering this folder)`;
    return undefined;
  }

  /** A credential store strictly inside `dir` (moving or deleting `dir` would move or delete it), or undefined. */
  sensitiveInside(dir: string): string | undefined {
    for (const root of this.#sensitive) if (root !== dir && within(root, dir)) return root;
    return undefined;
  }

  /**
   * The protected places strictly inside `dir` that a recursive delete, rename or chmod of it would reach
   * (lexically known ones only; the operation walks the tree for the rest).
   */
  protectedInside(dir: string, data: string): string | undefined {
    const project = this.layout.projectRoot;
    const known = [this.layout.agentDir, this.layout.wardenHome, ...this.#startup, ...[...PROTECTED_COMPONENTS].map((c) => join(project, c))];
    for (const root of known) {
      if (root !== dir && within(root, dir) && !within(root, data)) return root;
    }
    return undefined;
  }
}

export { PROTECTED_COMPONENTS, PROTECTED_NAMES };
