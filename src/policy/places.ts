/**
 * Sensitive places (SPEC §5.5, §5.6, §8): the one table of credential stores, places whose content runs later,
 * tools' own state folders and pi-warden's private store. Four consumers read it and must agree (a conformance test
 * walks the table through each): the filesystem scope (src/mediation/fs/paths.ts, on resolved paths, with symlinks,
 * environment variables and git configuration), exec classification (src/mediation/exec/classify.ts, on the words of a
 * command), the scanner (src/scanner/paths.ts, on the paths extension source builds) and risk (src/risk/features.ts,
 * on hostcall params). Data here; how a path or a word is matched against it is each consumer's, through the
 * helpers below.
 */
import { posix } from 'node:path';

/** What being in a place means. The consequences per consumer are the sets below, not ad-hoc lists. */
export const PLACE_KINDS = ['credential', 'system', 'runs_later', 'auto_run', 'tool_state', 'warden_private'] as const;
export type PlaceKind = (typeof PLACE_KINDS)[number];

export const PLACE_KIND_MEANING: Readonly<Record<PlaceKind, string>> = {
  credential: 'holds secrets (keys, tokens, passwords, histories that record typed secrets): any access needs a grant naming it',
  system: "devices and other processes' state: any file access needs a grant naming it (a command reading /proc/cpuinfo is ordinary)",
  runs_later: 'code or configuration run or read later outside the sandbox (startup files, PATH folders, command settings): never written',
  auto_run:
    'configuration another tool runs by itself when it opens the folder (editor tasks, agent hooks, git hook managers, CI workflows, direnv, npm): written only with a grant naming it',
  tool_state: "a tool's own state folder, trusted by the tool when it reads it back (.git, .pi): never written",
  warden_private: "pi-warden's store, keys and ledger: never read or written (an extension's data folder below it aside)",
};

/** Kinds whose content is secret: fs needs a named grant to read; exec, the scanner and risk take a read as credential access. */
export const SECRET_KINDS: ReadonlySet<PlaceKind> = new Set(['credential', 'warden_private']);
/** Kinds the filesystem scope confines: any access needs a grant that names the place. */
export const CONFINED_KINDS: ReadonlySet<PlaceKind> = new Set(['credential', 'system']);
/** Kinds never written by an extension, whatever the grants; exec classifies a write to one destructive_fs. */
export const NEVER_WRITTEN_KINDS: ReadonlySet<PlaceKind> = new Set(['runs_later', 'tool_state', 'warden_private']);
/** Kinds the filesystem scope lets an extension write only with a write grant that names the place (reading stays ordinary). */
export const GRANTED_WRITE_KINDS: ReadonlySet<PlaceKind> = new Set(['auto_run']);

/** Where an entry's path is taken from. */
export const PLACE_BASES = ['home', 'system', 'agent', 'warden', 'any', 'git'] as const;
export type PlaceBase = (typeof PLACE_BASES)[number];

/** An environment variable that moves an entry: its value is the entry itself or, with `file`, the folder holding `file`. */
export interface Relocation {
  readonly variable: string;
  readonly file?: string;
  /** The value is a list of paths (`KUBECONFIG=a:b`): each is the entry. */
  readonly list?: true;
}

export interface SensitivePlace {
  readonly kind: PlaceKind;
  readonly base: PlaceBase;
  /**
   * home, agent, warden: relative to that folder (`''`: the folder itself). system: absolute; `*` stands for one or
   * more components (`/proc/*\/environ`). any: a name or a short relative path found in any folder (`.git/hooks`);
   * a trailing `*` in the last component is any suffix (`.env.*`). git: a name inside any git directory (a `.git`
   * folder, a bare repository, a submodule's or linked worktree's git directory; recognised by GIT_DIR_MARKERS).
   */
  readonly path: string;
  /** any, git: the place is a folder (it and everything inside) or a file of that name only (a folder named `.env` is not). */
  readonly holds?: 'folder' | 'file';
  readonly movedBy?: readonly Relocation[];
  /**
   * The same name is common inside projects with harmless content (`.claude/settings.json`, `.yarnrc.yml`): a word
   * names this place only when anchored at the home (`~/`, `$HOME/`, the home's absolute path), not as any path suffix.
   */
  readonly anchored?: true;
}

/** XDG base-directory variables and the home folder each replaces: every home entry below it moves with it. */
export const XDG_DIRS: ReadonlyArray<readonly [variable: string, underHome: string]> = [
  ['XDG_CONFIG_HOME', '.config'],
  ['XDG_DATA_HOME', '.local/share'],
  ['XDG_CACHE_HOME', '.cache'],
];

/** The default agent and pi-warden folders under home (src/policy/settings.ts agentDir, src/evidence/store.ts wardenHome). */
export const BASE_IN_HOME: Readonly<Record<'agent' | 'warden', { readonly variable: string; readonly path: string }>> = {
  agent: { variable: 'PI_CODING_AGENT_DIR', path: '.pi/agent' },
  warden: { variable: 'PI_WARDEN_HOME', path: '.pi/agent/warden' },
};

type Options = Pick<SensitivePlace, 'movedBy' | 'anchored' | 'holds'>;
const entry =
  (kind: PlaceKind, base: PlaceBase) =>
  (path: string, o: Options = {}): SensitivePlace => ({ kind, base, path, ...o });
const credential = entry('credential', 'home');
const runsLater = entry('runs_later', 'home');
const env = (variable: string, file?: string): Relocation => (file === undefined ? { variable } : { variable, file });
const list = (variable: string): Relocation => ({ variable, list: true });
const plain = (make: (p: string) => SensitivePlace, ...paths: string[]): SensitivePlace[] => paths.map((p) => make(p));

export const SENSITIVE_PLACES: readonly SensitivePlace[] = [
  // ---- Credential stores under home: keys, tokens, passwords, session cookies, histories that record typed secrets.
  ...plain(
    credential,
    '.ssh',
    '.netrc',
    '.pypirc',
    '.git-credentials',
    '.config/hub',
    '.pgpass',
    '.my.cnf',
    '.vault-token',
    '.gem/credentials',
    '.config/op',
    '.op',
    '.local/share/keyrings',
    '.mozilla',
    '.config/google-chrome',
    '.config/chromium',
    '.config/BraveSoftware',
    '.terraform.d/credentials.tfrc.json',
    '.config/rclone',
    '.s3cfg',
    '.boto',
    '.config/doctl',
    '.oci',
    '.psql_history',
    '.mysql_history',
    '.python_history',
    '.node_repl_history',
    '.lesshst',
    '.wget-hsts',
    'Library/Keychains',
  ),
  credential('.aws', { movedBy: [env('AWS_SHARED_CREDENTIALS_FILE'), env('AWS_CONFIG_FILE')] }),
  credential('.gnupg', { movedBy: [env('GNUPGHOME')] }),
  credential('.config/gcloud', { movedBy: [env('CLOUDSDK_CONFIG')] }),
  credential('.azure', { movedBy: [env('AZURE_CONFIG_DIR')] }),
  credential('.kube', { movedBy: [list('KUBECONFIG')] }),
  credential('.docker/config.json', { movedBy: [env('DOCKER_CONFIG', 'config.json')] }),
  credential('.npmrc', { movedBy: [env('NPM_CONFIG_USERCONFIG'), env('npm_config_userconfig')] }),
  credential('.yarnrc.yml', { anchored: true }),
  credential('.config/gh', { movedBy: [env('GH_CONFIG_DIR')] }),
  credential('.password-store', { movedBy: [env('PASSWORD_STORE_DIR')] }),
  credential('.cargo/credentials', { movedBy: [env('CARGO_HOME', 'credentials')] }),
  credential('.cargo/credentials.toml', { movedBy: [env('CARGO_HOME', 'credentials.toml')] }),
  credential('.bash_history', { movedBy: [env('HISTFILE')] }),
  credential('.zsh_history', { movedBy: [env('ZDOTDIR', '.zsh_history')] }),
  // Coding agents' logins and settings (settings may carry API keys in `env` or an apiKeyHelper).
  credential('.claude/.credentials.json', { movedBy: [env('CLAUDE_CONFIG_DIR', '.credentials.json')] }),
  credential('.claude/settings.json', { movedBy: [env('CLAUDE_CONFIG_DIR', 'settings.json')], anchored: true }),
  credential('.claude/settings.local.json', { movedBy: [env('CLAUDE_CONFIG_DIR', 'settings.local.json')], anchored: true }),
  credential('.claude.json'),
  credential('.codex/auth.json', { movedBy: [env('CODEX_HOME', 'auth.json')] }),
  credential('.codex/config.toml', { movedBy: [env('CODEX_HOME', 'config.toml')], anchored: true }),
  credential('.config/github-copilot'),
  // git's credential-store file under XDG and its credential-cache daemon's socket folder.
  ...plain(credential, '.config/git/credentials', '.git-credential-cache', '.cache/git/credential'),
  // Keys and tokens of other CLIs.
  credential('.config/sops/age/keys.txt', { movedBy: [env('SOPS_AGE_KEY_FILE')] }),
  credential('.cache/huggingface/token', { movedBy: [env('HF_HOME', 'token'), env('HF_TOKEN_PATH')] }),
  credential('.pulumi/credentials.json', { movedBy: [env('PULUMI_HOME', 'credentials.json')] }),
  credential('.terraformrc', { movedBy: [env('TF_CLI_CONFIG_FILE')] }),
  ...plain(
    credential,
    '.huggingface/token',
    '.config/hcloud',
    '.config/helm/repositories.yaml',
    '.config/helm/registry',
    '.ollama/id_ed25519',
    '.config/.wrangler',
    '.config/netlify',
    '.local/share/com.vercel.cli',
    '.config/configstore',
    '.config/heroku',
    '.netrc.gpg',
    '.authinfo',
    '.authinfo.gpg',
  ),
  ...['.wrangler/config', '.netlify', '.vercel'].map((p) => credential(p, { anchored: true })),
  // Build tools' and data platforms' credentials.
  credential('.gradle/gradle.properties', { movedBy: [env('GRADLE_USER_HOME', 'gradle.properties')] }),
  credential('.kaggle/kaggle.json', { movedBy: [env('KAGGLE_CONFIG_DIR', 'kaggle.json')] }),
  credential('.config/gcloud/application_default_credentials.json', { movedBy: [env('GOOGLE_APPLICATION_CREDENTIALS')] }),
  ...plain(
    credential,
    '.m2/settings.xml',
    '.m2/settings-security.xml',
    '.config/composer/auth.json',
    '.composer/auth.json',
    '.databrickscfg',
    '.ivy2/.credentials',
    '.sbt/credentials',
  ),

  // ---- System places holding credentials, and other processes' state.
  ...plain(
    entry('credential', 'system'),
    '/etc/shadow',
    '/etc/gshadow',
    '/etc/master.passwd',
    '/etc/sudoers',
    '/etc/sudoers.d',
    '/etc/ssh',
    '/root',
    '/var/run/secrets',
    '/run/secrets',
    '/proc/*/environ',
  ),
  ...plain(entry('system', 'system'), '/proc', '/sys', '/dev'),
  // pi's logins.
  entry('credential', 'agent')('auth.json'),

  // ---- Credential files wherever they are (the project's own aside: its `.env` is its developer's to give).
  ...[
    '.env',
    '.env.*',
    '.envrc',
    'id_rsa',
    'id_dsa',
    'id_ecdsa',
    'id_ed25519',
    'id_ecdsa_sk',
    'id_ed25519_sk',
    'Login Data',
    'Cookies',
    'logins.json',
    'key4.db',
    'key3.db',
    'cookies.sqlite',
  ].map((p) => entry('credential', 'any')(p, { holds: 'file' })),

  // ---- Never written, under home: shell and session startup files, folders on PATH (a file there shadows a command),
  // settings that name commands to run (git, ssh, aws `credential_process`, kubeconfig `exec`, agents' hooks and MCP servers).
  ...plain(
    runsLater,
    '.bashrc',
    '.bash_profile',
    '.bash_login',
    '.bash_logout',
    '.profile',
    '.kshrc',
    '.mkshrc',
    '.cshrc',
    '.tcshrc',
    '.login',
    '.logout',
    '.xprofile',
    '.xinitrc',
    '.xsession',
    '.config/fish',
    '.config/nushell',
    '.config/environment.d',
    '.config/systemd',
    '.config/autostart',
    '.local/share/systemd',
    '.config/git',
    '.ssh/authorized_keys',
    '.ssh/rc',
    '.ssh/config',
    '.ssh/environment',
    '.pam_environment',
    '.envrc',
    '.direnvrc',
    '.config/direnv',
    '.inputrc',
    '.vimrc',
    '.config/nvim',
    '.emacs',
    '.emacs.d',
    'Library/LaunchAgents',
  ),
  ...['.zshrc', '.zshenv', '.zprofile', '.zlogin', '.zlogout'].map((f) => runsLater(f, { movedBy: [env('ZDOTDIR', f)] })),
  runsLater('.gitconfig', { movedBy: [env('GIT_CONFIG_GLOBAL')] }),
  runsLater('.npmrc', { movedBy: [env('NPM_CONFIG_USERCONFIG'), env('npm_config_userconfig')] }),
  // Sourced by the startup files of common setups (Debian's .bashrc, bashrc.d drop-ins, rustup's .profile line).
  ...plain(runsLater, '.bash_aliases', '.bashrc.d', '.config/bash', '.config/bashrc'),
  runsLater('.cargo/env', { movedBy: [env('CARGO_HOME', 'env')] }),
  // On PATH: a file planted there runs instead of the command it names.
  ...plain(runsLater, '.local/bin', 'bin'),
  runsLater('.cargo/bin', { movedBy: [env('CARGO_HOME', 'bin')] }),
  // Commands run by tools on their next use.
  runsLater('.aws/config', { movedBy: [env('AWS_CONFIG_FILE')] }),
  runsLater('.kube/config', { movedBy: [list('KUBECONFIG')] }),
  runsLater('.claude', { movedBy: [env('CLAUDE_CONFIG_DIR')], anchored: true }),
  runsLater('.claude.json'),
  runsLater('.codex', { movedBy: [env('CODEX_HOME')], anchored: true }),
  runsLater('.gradle/init.d', { movedBy: [env('GRADLE_USER_HOME', 'init.d')] }),
  runsLater('.gradle/init.gradle', { movedBy: [env('GRADLE_USER_HOME', 'init.gradle')] }),
  // Configuration that runs commands or chooses what code is installed: tmux run-shell, starship custom modules,
  // pip's index, yarnPath, bun's preload, container registries.
  ...plain(runsLater, '.config/starship.toml', '.tmux.conf', '.config/tmux', '.config/pip', '.pip', '.bunfig.toml', '.config/containers'),
  ...['.yarnrc', '.yarnrc.yml'].map((p) => runsLater(p, { anchored: true })),
  // System startup and scheduled jobs.
  ...plain(entry('runs_later', 'system'), '/etc', '/var/spool/cron', '/Library/LaunchAgents', '/Library/LaunchDaemons'),
  // pi's agent directory: its settings, logins and extensions.
  entry('runs_later', 'agent')(''),

  // ---- Never written, in any folder: what tools run or load when they enter it.
  ...['node_modules', '.git/hooks', '.pi/extensions'].map((p) => entry('runs_later', 'any')(p, { holds: 'folder' })),
  // `.gitconfig` anywhere: `git config --file`, `include.path` and GIT_CONFIG_GLOBAL all take one from any folder.
  ...['.gitmodules', '.gitconfig', '.git/config', '.pi/settings.json'].map((p) => entry('runs_later', 'any')(p, { holds: 'file' })),
  ...['.git', '.pi'].map((p) => entry('tool_state', 'any')(p, { holds: 'folder' })),

  // ---- Written only with a grant naming them, in any folder: what other tools run by themselves on entering it
  // (VS Code's folder tasks and settings, Claude Code's hooks, husky, CI, direnv, pre-commit, npm's script-shell, dev containers).
  ...['.vscode/tasks.json', '.vscode/settings.json', '.claude/settings.json', '.claude/settings.local.json', '.envrc'].map((p) =>
    entry('auto_run', 'any')(p, { holds: 'file' }),
  ),
  ...['.pre-commit-config.yaml', '.npmrc'].map((p) => entry('auto_run', 'any')(p, { holds: 'file' })),
  ...['.husky', '.github/workflows', '.devcontainer'].map((p) => entry('auto_run', 'any')(p, { holds: 'folder' })),

  // ---- git's object store and index, in any git directory: zlib copies of every committed or staged file (a `.env`
  // withheld by name is readable there). HEAD, refs, config and logs stay ordinary (branch names, remotes).
  ...['objects', 'lfs'].map((p) => entry('credential', 'git')(p, { holds: 'folder' })),
  ...['index', 'sharedindex.*'].map((p) => entry('credential', 'git')(p, { holds: 'file' })),

  // ---- pi-warden's own store, keys and ledger.
  entry('warden_private', 'warden')(''),
];

/**
 * What makes a folder a git directory to git's own discovery (setup.c `is_git_directory`): a `HEAD`, and `objects/`
 * with `refs/`, or a `commondir` file (a linked worktree's). `HEAD` is the keystone: without it git passes the folder by.
 */
export const GIT_DIR_MARKERS = { head: 'HEAD', others: ['objects', 'refs', 'commondir'] } as const;
/**
 * Names that, written into a folder holding a `HEAD`, make or arm a git directory there (the markers, its config,
 * hooks and the files git reads on entering it); `HEAD` is refused in a folder holding any of the markers' others.
 */
export const GIT_DIR_NAMES: readonly string[] = [
  ...GIT_DIR_MARKERS.others,
  'config',
  'config.worktree',
  'hooks',
  'info',
  'packed-refs',
  'index',
  'gitdir',
];
/** How a `.git` file (a submodule's or worktree's) points git elsewhere: its content starts with this (gitdir.c `read_gitfile`). */
export const GITDIR_FILE_PREFIX = 'gitdir:';

/**
 * git configuration keys whose value is a program git runs (or, for `include`, more configuration read): a file whose
 * content parses as git configuration setting one is refused anywhere, whatever its name. `*` is a subsection
 * (`diff.<driver>.textconv`); `value` narrows an entry to values starting with it (`alias.x = !sh`).
 */
export const GIT_PROGRAM_KEYS: ReadonlyArray<{ readonly key: string; readonly value?: string }> = [
  ...[
    'core.fsmonitor',
    'core.hooksPath',
    'core.sshCommand',
    'core.pager',
    'core.editor',
    'core.askPass',
    'core.gitProxy',
    'diff.external',
    'diff.*.textconv',
    'diff.*.command',
    'filter.*.clean',
    'filter.*.smudge',
    'filter.*.process',
    'merge.*.driver',
    'credential.helper',
    'credential.*.helper',
    'sequence.editor',
    'pager.*',
    'gpg.program',
    'gpg.*.program',
    'difftool.*.cmd',
    'mergetool.*.cmd',
    'uploadpack.packObjectsHook',
    'remote.*.uploadpack',
    'remote.*.receivepack',
    'sendemail.sendmailCmd',
    'init.templateDir',
    'include.path',
    'includeIf.*.path',
  ].map((key) => ({ key })),
  { key: 'alias.*', value: '!' },
  { key: 'remote.*.url', value: 'ext::' },
  { key: 'protocol.ext.allow' },
];

/** The absolute and user-specific roots words are matched against, when known. */
export interface PlaceRoots {
  readonly home?: string;
  readonly agentDir?: string;
  readonly wardenHome?: string;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `*` in a system path: one or more components. */
const systemPattern = (p: string): string => p.split('*').map(escape).join('[^/]+(?:/[^/]+)*');
/** A trailing `*` in an `any` entry: any suffix within the last component. */
const namePattern = (p: string): string => (p.endsWith('*') ? `${escape(p.slice(0, -1))}[^/]+` : escape(p));

/** The home-relative form of an entry of a home-based base (`agent` and `warden` at their default places). */
function homeForm(e: SensitivePlace): string | undefined {
  if (e.base === 'home') return e.path;
  if (e.base === 'agent' || e.base === 'warden') return posix.join(BASE_IN_HOME[e.base].path, e.path).replace(/\/$/, '');
  return undefined;
}

/**
 * The regular expression (source) for the words that name an entry, after `normaliseWord`: a home place as `~/P`
 * (at the start of the word or after `=`/`:`, as in `--file=~/.netrc`) or, when its first component is a dot name
 * and it is not `anchored`, as a path suffix anywhere (`/home/u/.ssh/x`, `.ssh/id_rsa`); a system place by its
 * absolute path; an `any` place as a path suffix anywhere.
 */
function wordPattern(e: SensitivePlace): string {
  const [lead, body, tail] = wordParts(e);
  return `${lead}${body}${tail}`;
}

const LEAD_ANYWHERE = '(?:^|[/=:])';
const LEAD_ANCHORED = '(?:^|[=:])';
const TAIL_INSIDE = '(?:/|$)';

/** `wordPattern` as its three parts, so patterns that share a lead and a tail are joined into one alternation. */
function wordParts(e: SensitivePlace): readonly [string, string, string] {
  const rel = homeForm(e);
  if (rel !== undefined) {
    const anywhere = e.anchored !== true && rel.startsWith('.');
    return anywhere ? [LEAD_ANYWHERE, escape(rel), TAIL_INSIDE] : [LEAD_ANCHORED, `~/${escape(rel)}`, TAIL_INSIDE];
  }
  if (e.base === 'system') return [LEAD_ANCHORED, systemPattern(e.path), TAIL_INSIDE];
  // A word can only show a git directory by its usual name: `.git/objects/…` (a bare repository is the fs scope's to see).
  const body = e.base === 'git' ? `\\.git/${namePattern(e.path)}` : namePattern(e.path);
  return [LEAD_ANYWHERE, body, e.holds === 'file' ? '$' : TAIL_INSIDE];
}

/** One regular expression for many entries: their patterns grouped by lead and tail (much faster than one alternation each). */
function combined(entries: readonly SensitivePlace[]): RegExp {
  const groups = new Map<string, string[]>();
  for (const e of entries) {
    const [lead, body, tail] = wordParts(e);
    const key = `${lead}\u0000${tail}`;
    groups.set(key, [...(groups.get(key) ?? []), body]);
  }
  const sources = [...groups].map(([key, bodies]) => {
    const [lead, tail] = key.split('\u0000') as [string, string];
    return `${lead}(?:${bodies.join('|')})${tail}`;
  });
  return new RegExp(sources.length === 0 ? '(?!)' : sources.join('|'), 'i');
}

/** A path a word stands for, as the table's entries are matched: `~/P`, `/abs`, or a name (`*` made concrete). */
function sampleWord(e: SensitivePlace): string {
  const rel = homeForm(e);
  if (rel !== undefined) return rel === '' ? '~' : `~/${rel}`;
  if (e.base === 'system') return e.path.replace(/\*/g, 'self');
  return `${e.base === 'git' ? '.git/' : ''}${e.path.replace(/\*$/, 'local')}`;
}

/** Variables a word may name a place through, and the home-relative path each stands for (`$CODEX_HOME` → `.codex`). */
const WORD_VARIABLES: ReadonlyMap<string, string> = (() => {
  const out = new Map<string, string>([['HOME', ''], ...XDG_DIRS.map(([v, p]) => [v, p] as [string, string])]);
  for (const b of ['agent', 'warden'] as const) out.set(BASE_IN_HOME[b].variable, BASE_IN_HOME[b].path);
  for (const e of SENSITIVE_PLACES) {
    const rel = homeForm(e);
    if (rel === undefined) continue;
    for (const m of e.movedBy ?? []) {
      const file = m.file;
      const at = file === undefined ? rel : rel.endsWith(`/${file}`) ? rel.slice(0, -file.length - 1) : rel === file ? '' : undefined;
      // The most specific place wins: `$AWS_CONFIG_FILE` is `~/.aws/config`, inside `~/.aws`.
      if (at !== undefined && (out.get(m.variable) ?? '').length <= at.length) out.set(m.variable, at);
    }
  }
  return out;
})();

/**
 * A word as a path the table's patterns are matched against: `$HOME`, `$XDG_CONFIG_HOME`, `$CODEX_HOME`, ... as the
 * home places they stand for (`~`, `~/.config`, `~/.codex`), the known roots' absolute paths likewise, and `//`,
 * `/./`, `..` folded.
 */
export function normaliseWord(word: string, roots: PlaceRoots = {}): string {
  return normaliseWith(word, rootForms(roots));
}

const DOTS = /\/\/|\/\.\.?(\/|$)|^\.\.?\//;
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function normaliseWith(word: string, roots: ReadonlyArray<RootForm>): string {
  let s = word;
  if (s.includes('$')) {
    s = s.replace(VARIABLE, (all, braced: string | undefined, bare: string | undefined) => {
      const rel = WORD_VARIABLES.get(braced ?? bare ?? '');
      return rel === undefined ? all : rel === '' ? '~' : `~/${rel}`;
    });
  }
  if (DOTS.test(s)) s = posix.normalize(s);
  for (const r of roots) if (s.includes(r.root)) s = s.replace(r.pattern, `$1${r.form}`);
  return s;
}

interface RootForm {
  readonly root: string;
  readonly pattern: RegExp;
  readonly form: string;
}

function rootForms(roots: PlaceRoots): RootForm[] {
  const out: Array<readonly [string, string]> = [];
  if (roots.wardenHome !== undefined) out.push([roots.wardenHome, `~/${BASE_IN_HOME.warden.path}`]);
  if (roots.agentDir !== undefined) out.push([roots.agentDir, `~/${BASE_IN_HOME.agent.path}`]);
  if (roots.home !== undefined) out.push([roots.home, '~']);
  // The longest first: pi-warden's home usually lies inside the agent folder, which lies inside home.
  return out
    .filter(([r]) => r.length > 1)
    .sort((a, b) => b[0].length - a[0].length)
    .map(([root, form]) => ({ root, form, pattern: new RegExp(`(^|[=:])${escape(root)}(?=/|$)`, 'g') }));
}

/**
 * How words (a command's arguments, a path built in source, a hostcall's param) name the table's places: exec, the
 * scanner and risk match through this, so they agree with each other and, through the conformance test, with fs.
 */
export class PlaceWords {
  readonly roots: PlaceRoots;
  readonly #roots: readonly RootForm[];
  readonly #byKind = new Map<PlaceKind, RegExp>();
  readonly #entries: ReadonlyArray<readonly [SensitivePlace, RegExp]>;

  constructor(roots: PlaceRoots = {}) {
    this.roots = roots;
    this.#roots = rootForms(roots);
    for (const kind of PLACE_KINDS) this.#byKind.set(kind, combined(SENSITIVE_PLACES.filter((e) => e.kind === kind)));
    this.#entries = SENSITIVE_PLACES.map((e) => [e, new RegExp(wordPattern(e), 'i')] as const);
  }

  /** True when the word names a place of one of `kinds` (or lies inside one). */
  names(word: string, kinds: ReadonlySet<PlaceKind>): boolean {
    const w = normaliseWith(word, this.#roots);
    for (const k of kinds) if (this.#byKind.get(k)!.test(w)) return true;
    return false;
  }

  /** The kinds of the places the word names (one combined pattern per kind). */
  kindsOf(word: string): PlaceKind[] {
    const w = normaliseWith(word, this.#roots);
    return PLACE_KINDS.filter((k) => this.#byKind.get(k)!.test(w));
  }

  /** Every entry the word names (for explanations and tests). */
  entries(word: string): SensitivePlace[] {
    const w = normaliseWith(word, this.#roots);
    return this.#entries.filter(([, re]) => re.test(w)).map(([e]) => e);
  }

  /** Reading what the word names reads a secret. */
  secret(word: string): boolean {
    return this.names(word, SECRET_KINDS);
  }

  /** Writing what the word names writes a place that is never written. */
  neverWritten(word: string): boolean {
    return this.names(word, NEVER_WRITTEN_KINDS);
  }

  /**
   * A glob word (`~/.a?s/credentials`, `/proc/*\/environ`) that could name a place of `kinds`: some leading part of
   * it (by components) matches one of their entries, so what it expands to may lie inside.
   */
  globMayName(glob: string, kinds: ReadonlySet<PlaceKind>): boolean {
    if (this.names(glob, kinds)) return true;
    const path = normaliseWith(glob, this.#roots);
    const samples = SENSITIVE_PLACES.filter((e) => kinds.has(e.kind)).map(sampleWord);
    const parts = path.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const re = globRegex(parts.slice(0, n).join('/'));
      if (re === undefined) return true;
      if (samples.some((s) => re.test(s))) return true;
    }
    return false;
  }
}

/** A shell glob as a regular expression over a path's tail (a leading `*` or `?` does not match a dot, as in sh). */
function globRegex(glob: string): RegExp | undefined {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    const segStart = i === 0 || glob[i - 1] === '/';
    if (c === '*') re += segStart ? '(?!\\.)[^/]*' : '[^/]*';
    else if (c === '?') re += segStart ? '(?!\\.)[^/]' : '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`(^|/)${re}$`, 'i');
  } catch {
    return undefined;
  }
}
