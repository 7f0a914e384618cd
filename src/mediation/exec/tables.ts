/**
 * Exec mediation tables (SPEC §5.4): program names by class, environment variables that make a program run
 * something else, and git configuration keys that name commands. Data only; src/mediation/exec/stage.ts and src/mediation/exec/tools.ts
 * apply them.
 */
import { basename } from 'node:path';
import { normaliseWord } from '../../policy/index.ts';

// The class vocabulary is policy's: the profile data says what each class gets.
export { EXEC_CLASSES, type ExecClass } from '../../policy/index.ts';

const set = (...names: string[]): ReadonlySet<string> => new Set(names);

/** Shells whose language the parser reads (POSIX family and bash/ksh/zsh dialects): `-c` strings are classified. */
export const POSIX_SHELLS = set(
  'sh',
  'bash',
  'rbash',
  'dash',
  'ash',
  'ksh',
  'ksh93',
  'mksh',
  'lksh',
  'pdksh',
  'oksh',
  'loksh',
  'yash',
  'posh',
  'zsh',
  'hush',
  'mrsh',
  'bosh',
  'gash',
  'brush',
  'osh',
);
/** Shells with another language: a `-c` string is code we do not read (inline_code, like `python -c`). */
export const OTHER_SHELLS = set(
  'fish',
  'csh',
  'tcsh',
  'rc',
  'es',
  'elvish',
  'nu',
  'nushell',
  'xonsh',
  'ion',
  'murex',
  'ysh',
  'oil',
  'scsh',
);
export const INTERPRETERS = set(
  'node',
  'nodejs',
  'bun',
  'deno',
  'ts-node',
  'tsx',
  'python',
  'python2',
  'python3',
  'pypy',
  'pypy3',
  'ipython',
  'perl',
  'ruby',
  'irb',
  'php',
  'lua',
  'luajit',
  'osascript',
  'tclsh',
  'wish',
  'expect',
  'rscript',
  'r',
  'julia',
  'elixir',
  'iex',
  'erl',
  'guile',
  'racket',
  'sbcl',
  'groovy',
  'jshell',
  'pwsh',
  'powershell',
);
/** Programs that read commands from stdin and run shell commands from them (`!cmd`, `.shell`). */
export const COMMAND_READERS = set('ed', 'ex', 'sqlite3', 'dc', 'gdb', 'ftp');
export const PI_BINARIES = set('pi', 'pi-coding-agent', 'pi-agent');
export const NETWORK = set(
  'curl',
  'wget',
  'wget2',
  'fetch',
  'axel',
  'aria2c',
  'curlie',
  'http',
  'https',
  'httpie',
  'xh',
  'lynx',
  'w3m',
  'links',
  'elinks',
  'lftp',
  'ncftp',
  'nc',
  'ncat',
  'netcat',
  'nc.openbsd',
  'nc.traditional',
  'cryptcat',
  'socat',
  'websocat',
  'wscat',
  'grpcurl',
  'telnet',
  'ftp',
  'tftp',
  'ssh',
  'scp',
  'sftp',
  'sshpass',
  'mosh',
  'autossh',
  'ssh-keyscan',
  'ssh-copy-id',
  'rsync',
  'smbclient',
  'mosquitto_pub',
  'openssl',
  'nmap',
  'dig',
  'nslookup',
  'host',
  'whois',
  'ping',
  'traceroute',
  'tracepath',
  'mtr',
  'arping',
  'hping3',
  'rclone',
  's3cmd',
  'gsutil',
  'gh',
  'glab',
  'aws',
  'gcloud',
  'az',
  'kubectl',
);
export const GIT_NETWORK = set(
  'clone',
  'fetch',
  'pull',
  'push',
  'ls-remote',
  'submodule',
  'remote',
  'send-email',
  'daemon',
  'svn',
  'p4',
  'request-pull',
);
export const PRIVILEGE = set(
  'sudo',
  'sudoedit',
  'sudo-rs',
  'su',
  'su-rs',
  'sux',
  'ksu',
  'doas',
  'please',
  'pleaseedit',
  'pkexec',
  'runuser',
  'run0',
  'setpriv',
  'sg',
  'newgrp',
  'gosu',
  'su-exec',
  'setcap',
  'chroot',
  'nsenter',
  'unshare',
  'capsh',
  'calife',
  'super',
);
export const DESTRUCTIVE = set(
  'shred',
  'wipefs',
  'mkfs',
  'mke2fs',
  'fdisk',
  'sfdisk',
  'cfdisk',
  'gdisk',
  'sgdisk',
  'parted',
  'mkswap',
  'srm',
  'blkdiscard',
);
export const BACKGROUND = set(
  'nohup',
  'setsid',
  'disown',
  'daemonize',
  'at',
  'batch',
  'crontab',
  'systemd-run',
  'start-stop-daemon',
  'tmux',
  'screen',
  'byobu',
  'dtach',
  'abduco',
  'pm2',
  'forever',
  'launchctl',
);
/** Programs that decode their input: feeding a shell through one hides what it runs. */
export const DECODERS = set(
  'base64',
  'base32',
  'basenc',
  'xxd',
  'rev',
  'openssl',
  'gzip',
  'gunzip',
  'zcat',
  'bzip2',
  'bunzip2',
  'bzcat',
  'xz',
  'unxz',
  'xzcat',
  'zstd',
  'unzstd',
  'zstdcat',
  'lz4',
  'lzma',
  'unlzma',
  'uudecode',
  'uncompress',
  'tr',
  'iconv',
  'recode',
  'gpg',
);
export const AWKS = set('awk', 'gawk', 'mawk', 'nawk', 'busybox-awk');
export const VIMS = set('vim', 'vi', 'nvim', 'view', 'vimdiff', 'gvim', 'rvim', 'evim', 'ex', 'nvi', 'elvis');

/**
 * Every name above plus wrappers and tools, so `python3.12`, `perl5.36` or `bash5` can be recognised as their
 * family: filled by registerNames (src/mediation/exec/stage.ts registers wrapper and tool names).
 */
const KNOWN = new Set<string>([
  ...POSIX_SHELLS,
  ...OTHER_SHELLS,
  ...INTERPRETERS,
  ...COMMAND_READERS,
  ...PI_BINARIES,
  ...NETWORK,
  ...PRIVILEGE,
  ...DESTRUCTIVE,
  ...BACKGROUND,
  ...DECODERS,
  ...AWKS,
  ...VIMS,
]);
export function registerNames(names: Iterable<string>): void {
  for (const n of names) KNOWN.add(n);
}
export const isKnownProgram = (name: string): boolean => KNOWN.has(name);

/** The program a word names: basename, lower case, without `.exe` or a version suffix of a known program. */
export function programName(word: string | undefined): string {
  let n = basename(word ?? '').toLowerCase();
  if (n.endsWith('.exe')) n = n.slice(0, -4);
  if (KNOWN.has(n) || !/\d$/.test(n)) return n;
  const base = n.replace(/[-_.]?\d+(?:\.\d+)*[a-z]?$/, '');
  return KNOWN.has(base) ? base : n;
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials (which paths are credential stores or run later is src/policy/places.ts, read through PlaceWords)

/** A path as the file system would see it: `$HOME`/`${HOME}` as `~` (and the table's other variables), `//`, `/./` and `..` folded. */
export const normalisePath = (word: string): string => normaliseWord(word);

/** Subcommands that print a stored credential: `gh auth token`, `aws configure get …`, `pass show`. */
export const CREDENTIAL_COMMANDS: ReadonlyMap<string, RegExp> = new Map([
  ['gh', /^auth (token|status .*(-t|--show-token))/],
  ['glab', /^auth (token|status .*(-t|--show-token))/],
  ['aws', /^(configure (get|export-credentials)|sts get-session-token|ecr get-login-password)/],
  ['gcloud', /^auth (print-access-token|print-identity-token|application-default print-access-token)/],
  ['az', /^account get-access-token/],
  ['kubectl', /^config view.*--raw/],
  ['security', /^(find-(generic|internet)-password|dump-keychain|export)/],
  ['secret-tool', /^(lookup|search)/],
  ['pass', /^(show|\S+$)/],
  ['gopass', /^(show|cat|\S+$)/],
  ['op', /^(read|item get|inject|run)/],
  ['bw', /^(get|export)/],
  ['vault', /^(kv get|read|token lookup|print token)/],
  ['keyring', /^get/],
  ['gpg', /(--export-secret|--decrypt|-d\b)/],
  ['systemctl', /\bshow-environment\b/],
  ['tmux', /\b(show-environment|showenv)\b/],
  ['launchctl', /^(getenv|export)/],
]);

// ---------------------------------------------------------------------------------------------------------------
// Environment variables

/** The value is a command line the program runs (`GIT_PAGER='…' git log`, `LESSOPEN='|…' less f`). */
export const ENV_COMMAND = set(
  'GIT_PAGER',
  'PAGER',
  'MANPAGER',
  'SYSTEMD_PAGER',
  'GIT_EDITOR',
  'EDITOR',
  'VISUAL',
  'SUDO_EDITOR',
  'GIT_SEQUENCE_EDITOR',
  'FCEDIT',
  'GIT_SSH_COMMAND',
  'GIT_SSH',
  'GIT_EXTERNAL_DIFF',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
  'SUDO_ASKPASS',
  'GIT_PROXY_COMMAND',
  'RSYNC_RSH',
  'BROWSER',
  'PROMPT_COMMAND',
  'LESSOPEN',
  'LESSCLOSE',
);
/** The value makes the program load code or configuration we do not see. */
export const ENV_CODE = set(
  'LD_PRELOAD',
  'LD_AUDIT',
  'DYLD_INSERT_LIBRARIES',
  'BASH_ENV',
  'ENV',
  'PERL5OPT',
  'RUBYOPT',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG',
  'GIT_EXEC_PATH',
  'GIT_TEMPLATE_DIR',
  'TAR_OPTIONS',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'PYTHONSTARTUP',
  'NPM_CONFIG_SCRIPT_SHELL',
);

/** Why setting `name=value` for a program makes it run something the command line does not show, if it does. */
export function envEffect(name: string, value: string): { kind: 'command'; text: string } | { kind: 'opaque'; why: string } | undefined {
  if (value === '') return undefined;
  const upper = name.toUpperCase();
  if (ENV_COMMAND.has(upper))
    return { kind: 'command', text: upper.startsWith('LESS') ? value.replace(/^\|\|?|^-/, '').replace(/%s/g, 'f') : value };
  if (ENV_CODE.has(upper)) return { kind: 'opaque', why: `${name} loads code or configuration` };
  if (upper.startsWith('BASH_FUNC_')) return { kind: 'opaque', why: `${name} defines a shell function` };
  if (upper === 'NODE_OPTIONS' && /(^|\s)(-r|--require|--import|--loader|--experimental-loader)\b/.test(value))
    return { kind: 'opaque', why: 'NODE_OPTIONS loads a module' };
  if (/^PS[0-4]$/.test(upper) && /\$\(|`/.test(value)) return { kind: 'opaque', why: `${name} runs a substitution` };
  if (/^GIT_CONFIG_KEY_\d+$/.test(upper) && gitKeyEffect(value) !== undefined) return { kind: 'opaque', why: `${name} sets ${value}` };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// git configuration

const GIT_COMMAND_KEY =
  /^(core\.(pager|editor|sshcommand|askpass|fsmonitor|gitproxy)|sequence\.editor|pager\..+|diff\.external|diff\..+\.(command|textconv)|merge\..+\.driver|filter\..+\.(clean|smudge|process)|(diff|merge)tool\..+\.cmd|gpg(\..+)?\.program|sendemail\.(tocmd|cccmd|sendmailcmd|smtpserver)|uploadpack\.packobjectshook|remote\..+\.(uploadpack|receivepack)|web\.browser|browser\..+\.cmd|man\..+\.cmd|instaweb\.httpd)$/i;
const GIT_OPAQUE_KEY = /^(core\.hookspath|include\.path|includeif\..+\.path|init\.templatedir|protocol\.(ext\.)?allow)$/i;

/** What a git configuration key makes git run: a command line, an alias, a credential helper, or something we cannot see. */
export function gitKeyEffect(key: string): 'command' | 'alias' | 'helper' | 'opaque' | undefined {
  if (GIT_COMMAND_KEY.test(key)) return 'command';
  if (/^alias\./i.test(key)) return 'alias';
  if (/^credential(\..+)?\.helper$/i.test(key)) return 'helper';
  if (GIT_OPAQUE_KEY.test(key)) return 'opaque';
  return undefined;
}
