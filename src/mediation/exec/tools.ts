/**
 * Exec mediation, per program: the options and scripts through which ordinary tools delete recursively, set
 * setuid bits, dump the environment, or run another command (`find -exec`, `tar --to-command`, sed's `e`,
 * `ssh -o ProxyCommand=`, `vim -c ':!…'`). A command a tool runs is classified in turn when it is a static
 * string; what cannot be read is `obfuscated`.
 */
import { isLong, parseOptions, valueOf, type OptSpec } from './options.ts';
import {
  AWKS,
  CREDENTIAL_COMMANDS,
  envEffect,
  type ExecClass,
  INTERPRETERS,
  OTHER_SHELLS,
  POSIX_SHELLS,
  programName,
  VIMS,
} from './tables.ts';
import { gitTool } from './git.ts';
import { awk, man, pager, sed, vim, zip } from './scripts.ts';
import { at, crontab, csplit, launchctl, packageConfig, sort, split, systemctl, unzip } from './outputs.ts';
import { runner, RUNNER_NAMES } from './runners.ts';

export interface ToolCtx {
  readonly prog: string;
  readonly args: readonly string[];
  /** W_* flags of args (shellParse.ts). */
  readonly flags: readonly number[];
  readonly text: string;
  add(c: ExecClass, detail: string): void;
  /** A command line the program runs through a shell; undefined: the command is missing. */
  shell(script: string | undefined, what: string): void;
  /** An argv the program runs, with its words' W_* flags (omitted: derived from the argument the words came from). */
  argv(words: readonly string[], flags?: readonly number[]): void;
  /**
   * A file (`into: false`) or folder the program writes into, named by an option or operand: `destructive_fs` when it
   * is a never-written place or lies outside the project (the temporary folder aside). Undefined: nothing named.
   */
  writes(target: string | undefined, into?: boolean): void;
  /** The word names a place inside the project other than its root, not never-written: what an OS-confined child may delete. */
  deletableInProject(word: string, flags: number): boolean;
  /** The call has not moved its working folder (`cd`, `env -C`): it lies in the project, where exec mediation starts it. */
  workingFolderInProject(): boolean;
  /** The child is confined by the OS to the project (ExecScope.osConfined). */
  readonly osConfined: boolean;
  /** The program runs what it reads on stdin as a shell script (`at now <<< …`): classified when static, else refused. */
  stdinScript(): void;
}
export type Tool = (c: ToolCtx) => void;

const RECURSIVE_SHORT = /^-[a-zA-Z]*R/;

/** A chmod/install mode that sets the setuid or setgid bit: `4755`, `02755`, `=4755`, `u+s`, `u=rwxs`, `a+s`, `+s`. */
export function setsIdBits(mode: string): boolean {
  const num = /^([+=]?)([0-7]+)$/.exec(mode);
  if (num !== null) return (parseInt(num[2] as string, 8) & 0o6000) !== 0;
  for (const clause of mode.split(',')) {
    const m = /^[ugoa]*((?:[-+=][rwxXstugo]*)+)$/.exec(clause);
    if (m === null) continue;
    for (const op of (m[1] as string).match(/[-+=][^-+=]*/g) ?? []) if (op[0] !== '-' && op.includes('s')) return true;
  }
  return false;
}

const PRIVILEGED_OWNER = /^(root|0)?(?:[:.](root|0|wheel|sudo|admin|adm|shadow|disk|docker))?$/;
function ownerIsPrivileged(spec: string, group: boolean): boolean {
  if (spec === '') return false;
  if (group) return /^(root|0|wheel|sudo|admin|adm|shadow|disk|docker)$/.test(spec);
  const m = PRIVILEGED_OWNER.exec(spec);
  return m !== null && (m[1] !== undefined || m[2] !== undefined);
}

function rm(c: ToolCtx): void {
  if (
    !c.args.some((a) => /^-[a-zA-Z]*[rRf]/.test(a) || isLong(a, '--recursive') || isLong(a, '--force') || isLong(a, '--no-preserve-root'))
  )
    return;
  // Confined by the OS to the project, deleting inside it (`rm -rf dist`) harms nothing the policy protects.
  if (c.osConfined && !c.args.some((a) => isLong(a, '--no-preserve-root'))) {
    let operands = false;
    let outside = false;
    for (let i = 0, options = true; i < c.args.length; i++) {
      const a = c.args[i] as string;
      if (options && a === '--') options = false;
      else if (!(options && a.startsWith('-') && a !== '-')) {
        operands = true;
        if (!c.deletableInProject(a, c.flags[i] ?? 0)) outside = true;
      }
    }
    if (operands && !outside) return;
  }
  c.add('destructive_fs', c.text);
}

function permissions(c: ToolCtx): void {
  const recursive = c.args.some((a) => RECURSIVE_SHORT.test(a) || isLong(a, '--recursive'));
  if (recursive) c.add('destructive_fs', c.text);
  if (c.prog === 'chmod') {
    if (c.args.some((a) => setsIdBits(a))) c.add('privilege_escalation', `setuid/setgid: ${c.text}`);
    // The mode of another file (`--reference=/usr/bin/sudo`) may carry setuid.
    if (c.args.some((a) => isLong(a, '--reference', 5))) c.add('privilege_escalation', `mode copied from a file: ${c.text}`);
    return;
  }
  const owner = c.args.find((a) => !a.startsWith('-'));
  if (owner !== undefined && ownerIsPrivileged(owner, c.prog === 'chgrp')) c.add('privilege_escalation', `owner ${owner}: ${c.text}`);
}

const INSTALL: OptSpec = {
  flags: 'bcCdDpsTvZ',
  values: 'gmoSt',
  long: [
    'backup',
    'compare',
    'directory',
    'preserve-timestamps',
    'strip',
    'no-target-directory',
    'verbose',
    'context',
    'debug',
    'help',
    'version',
  ],
  longValues: ['group', 'mode', 'owner', 'suffix', 'target-directory', 'strip-program'],
};
function install(c: ToolCtx): void {
  const p = parseOptions(c.args, INSTALL);
  const mode = valueOf(p, 'm', 'mode');
  if (mode !== undefined && setsIdBits(mode)) c.add('privilege_escalation', `setuid/setgid: ${c.text}`);
  const owner = valueOf(p, 'o', 'owner');
  if (owner !== undefined && ownerIsPrivileged(owner, false)) c.add('privilege_escalation', `owner ${owner}: ${c.text}`);
  const strip = valueOf(p, 'strip-program');
  if (strip !== undefined) c.argv([strip]);
}

function find(c: ToolCtx): void {
  const a = c.args;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '-delete') c.add('destructive_fs', c.text);
    if (a[i] === '-fprint' || a[i] === '-fprint0' || a[i] === '-fprintf' || a[i] === '-fls') c.writes(a[++i]);
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(a[i] as string)) continue;
    let end = i + 1;
    while (end < a.length && a[end] !== ';' && !(a[end] === '+' && a[end - 1] === '{}')) end++;
    const words = a.slice(i + 1, end);
    const prog = programName(words[0]);
    // The found path replaces `{}`: as the program, or inside a script, it is input we cannot see.
    if ((words[0] ?? '').includes('{}')) c.add('obfuscated', `find runs the files it finds: ${c.text}`);
    else if (
      (POSIX_SHELLS.has(prog) || OTHER_SHELLS.has(prog) || INTERPRETERS.has(prog)) &&
      words.slice(1).some((w) => w.includes('{}') && w !== '{}')
    ) {
      c.add('obfuscated', `find puts a path into a script: ${c.text}`);
    }
    if (words.length > 0) c.argv(words, c.flags.slice(i + 1, end));
    i = end;
  }
}

/** GNU tar: short options that take a value, in clusters and in the old bundled form (`tar xIf prog a.tar`). */
const TAR_VALUES = 'bCfFgHIKLNTVX';
/** Modes in which tar writes files (extract) or writes the archive (create, append, update, concatenate). */
const TAR_EXTRACT = /^(x|--extract|--get)$/;
const TAR_CREATE = /^(c|r|u|A|--create|--append|--update|--catenate|--concatenate)$/;
function tar(c: ToolCtx): void {
  const a = c.args;
  const dirs: Array<string | undefined> = [];
  let archive: string | undefined;
  let mode = '';
  const short = (ch: string, v: string | undefined) => {
    if (ch === 'I') c.shell(v, 'tar -I (compress program)');
    if (ch === 'F') c.shell(v, 'tar -F (volume script)');
    if (ch === 'C') dirs.push(v);
    if (ch === 'f') archive = v;
    if (ch === 'f' && v !== undefined && /^[^/]*:/.test(v) && !a.includes('--force-local'))
      c.add('network_tool', `tar archive on a remote host: ${v}`);
  };
  for (const w of a) {
    const letters = w.startsWith('--') ? [w.split('=')[0] as string] : [...w.replace(/^-/, '')];
    if (w === a[0] || (w.startsWith('-') && !w.startsWith('--')) || w.startsWith('--'))
      for (const l of letters) if (TAR_EXTRACT.test(l) || TAR_CREATE.test(l)) mode = TAR_EXTRACT.test(l) ? 'extract' : 'create';
  }
  tarOptions(c, a, short);
  // Extracting writes under each -C folder (or the working folder); creating writes the archive file.
  if (mode === 'extract') for (const d of dirs) c.writes(d, true);
  if (mode === 'create' && archive !== '-') c.writes(archive);
}

function tarOptions(c: ToolCtx, a: readonly string[], short: (ch: string, v: string | undefined) => void): void {
  let i = 0;
  if (a[0] !== undefined && !a[0].startsWith('-')) {
    let next = 1;
    for (const ch of a[0]) if (TAR_VALUES.includes(ch)) short(ch, a[next++]);
    i = next;
  }
  for (; i < a.length; i++) {
    const w = a[i] as string;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const value = () => (eq >= 0 ? w.slice(eq + 1) : a[++i]);
      if (
        isLong(w, '--use-compress-program', 5) ||
        isLong(w, '--to-command', 6) ||
        isLong(w, '--rsh-command', 5) ||
        isLong(w, '--info-script', 5) ||
        isLong(w, '--new-volume-script', 6) ||
        isLong(w, '--rmt-command', 5)
      )
        c.shell(value(), `tar ${w.slice(0, eq < 0 ? undefined : eq)}`);
      else if (isLong(w, '--checkpoint-action', 13)) {
        const v = value() ?? '';
        if (v.startsWith('exec=')) c.shell(v.slice(5), 'tar --checkpoint-action=exec');
      } else if (isLong(w, '--file', 4)) short('f', value());
      else if (isLong(w, '--directory', 5)) short('C', value());
      continue;
    }
    if (!w.startsWith('-')) continue;
    for (let j = 1; j < w.length; j++) {
      const ch = w[j] as string;
      if (!TAR_VALUES.includes(ch)) continue;
      short(ch, j + 1 < w.length ? w.slice(j + 1) : a[++i]);
      break;
    }
  }
}

function make(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) {
    const w = c.args[i] as string;
    if (w === '-E' || isLong(w, '--eval', 4)) c.add('obfuscated', `make evaluates text as a makefile: ${c.text}`);
    if (/^(SHELL|\.SHELLFLAGS|MAKESHELL)=/.test(w)) c.add('obfuscated', `make with another shell: ${c.text}`);
    const file =
      w === '-f'
        ? c.args[i + 1]
        : w.startsWith('-f') && !w.startsWith('--')
          ? w.slice(2)
          : isLong(w, '--file', 4) || isLong(w, '--makefile', 4)
            ? (w.split('=')[1] ?? c.args[i + 1])
            : undefined;
    if (file === '-' || file === '/dev/stdin' || file?.startsWith('/dev/fd/') === true || file?.startsWith('/proc/') === true)
      c.add('pipe_to_shell', `make reads a makefile from stdin: ${c.text}`);
  }
}

function rsync(c: ToolCtx): void {
  const a = c.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i] as string;
    if (w.startsWith('--')) {
      if (isLong(w, '--rsh', 5) || isLong(w, '--rsync-path', 5))
        c.shell(w.includes('=') ? w.slice(w.indexOf('=') + 1) : a[++i], 'rsync --rsh');
      continue;
    }
    if (!w.startsWith('-')) continue;
    for (let j = 1; j < w.length; j++) {
      const ch = w[j] as string;
      if (ch === 'e') c.shell(j + 1 < w.length ? w.slice(j + 1) : a[++i], 'rsync -e');
      if ('eBfMT@'.includes(ch)) break;
    }
  }
}

const SSH_VALUES: Readonly<Record<string, string>> = {
  ssh: 'BbcDEeFIiJLlmOoPpQRSWw',
  autossh: 'BbcDEeFIiJLlmMOoPpQRSWw',
  scp: 'cDFiJloPSX',
  sftp: 'BbcDFiJloPRsSX',
};
function ssh(c: ToolCtx): void {
  const values = SSH_VALUES[c.prog] ?? '';
  const a = c.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i] as string;
    if (!w.startsWith('-') || w === '--') {
      if (w === '--' || c.prog === 'ssh' || c.prog === 'autossh') break;
      continue;
    }
    for (let j = 1; j < w.length; j++) {
      const ch = w[j] as string;
      if (!values.includes(ch)) continue;
      const v = j + 1 < w.length ? w.slice(j + 1) : a[++i];
      if (ch === 'o') sshOption(c, v ?? '');
      else if (ch === 'S' && c.prog !== 'ssh' && c.prog !== 'autossh') c.shell(v, `${c.prog} -S (ssh program)`);
      else if (ch === 'D' && c.prog === 'sftp') c.shell(v, 'sftp -D (server program)');
      break;
    }
  }
}
function sshOption(c: ToolCtx, v: string): void {
  const m = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)([\s\S]*)$/.exec(v);
  if (m === null) return;
  const key = (m[1] as string).toLowerCase();
  const value = (m[2] as string).trim();
  if ((key === 'proxycommand' || key === 'localcommand' || key === 'knownhostscommand') && value.toLowerCase() !== 'none') {
    c.shell(value.replace(/%[a-zA-Z%]/g, 'x'), `ssh -o ${m[1] ?? ''}`);
  }
  if (key === 'match' && /\bexec\b/i.test(value)) c.add('obfuscated', `ssh -o Match exec: ${c.text}`);
}

function ps(c: ToolCtx): void {
  if (c.args.some((a) => !a.startsWith('-') && /^[a-zA-Z]+$/.test(a) && a.includes('e')))
    c.add('credential_access', `ps shows process environments: ${c.text}`);
}

function envDump(c: ToolCtx): void {
  const dumps =
    c.prog === 'printenv' ||
    (c.prog === 'set' ? c.args.length === 0 : c.args.length === 0 || c.args.includes('-p') || c.args.every((a) => a.startsWith('-')));
  if (dumps) c.add('credential_access', `dumps the environment: ${c.text}`);
}

function sqlite(c: ToolCtx): void {
  for (const w of c.args) {
    const m = /^\s*\.(shell|system)\b\s*([\s\S]*)$/.exec(w);
    if (m !== null) c.shell(m[2], 'sqlite3 .shell');
    if (/^\s*\.(output|once|import|read)\s+['"]?\|/.test(w)) c.add('obfuscated', `sqlite3 pipes through a command: ${c.text}`);
    // The files it writes: `.output F`, `.once F`, `.save F`, `.backup [DB] F`, `.dump` to them, `VACUUM INTO 'F'`, `ATTACH 'F'`.
    for (const m of w.matchAll(/(?:^|\n|;)\s*\.(?:output|once|save|backup(?:\s+\S+(?=\s+\S))?)\s+(['"]?)([^\s'";|][^\s'";]*)\1/g))
      c.writes(m[2]);
    for (const m of w.matchAll(/\b(?:into|attach(?:\s+database)?)\s+(['"])([^'"]+)\1/gi)) c.writes(m[2]);
  }
}

function dbClient(c: ToolCtx): void {
  if (c.args.some((w) => /\\!|(^|;)\s*system\s/.test(w))) c.add('obfuscated', `${c.prog} runs a shell command: ${c.text}`);
}

function gdb(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) {
    const w = c.args[i] as string;
    if (!/^--?(ex|iex|eval-command|init-eval-command)\b/.test(w)) continue;
    c.add('inline_code', `gdb runs commands: ${c.text}`);
    const cmd = (w.includes('=') ? w.slice(w.indexOf('=') + 1) : c.args[++i]) ?? '';
    // `shell CMD` / `!CMD` / `pipe … | CMD` run a shell; `dump … FILE`, `set logging file F` write a file.
    const sh = /^\s*(?:shell\b|!|pipe\b[^|]*\||\|[^|]*\|)\s*([\s\S]*)$/.exec(cmd);
    if (sh !== null) c.shell(sh[1], 'gdb shell');
    const words = cmd.trim().split(/\s+/);
    if (/^(dump|append|save|gcore|generate-core-file|set)$/.test(words[0] ?? ''))
      for (const word of words.slice(1)) if (/^[~/.]|\//.test(word)) c.writes(word);
  }
}

/** openssl writes its output (`-out F`, `-keyout F`) where it is told. */
function openssl(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) if (/^-(out|keyout)$/.test(c.args[i] as string)) c.writes(c.args[++i]);
}

function dc(c: ToolCtx): void {
  if (c.args.some((w) => w.includes('!'))) c.add('obfuscated', `dc runs a shell command: ${c.text}`);
}

function container(c: ToolCtx): void {
  const sub = c.args.find((a) => !a.startsWith('-'));
  if (sub !== 'run' && sub !== 'create' && sub !== 'exec') return;
  const joined = c.args.join(' ');
  if (
    /(^| )--privileged\b|--pid[= ]host\b|--cap-add[= ](all|sys_admin)\b|(^| )(-v|--volume)[= ]?\/:|source=\/,|docker\.sock/i.test(joined)
  ) {
    c.add('privilege_escalation', `container with host privileges: ${c.text}`);
  }
  // A bind mount gives the container what it names, to write as the container pleases: home, `/`, or the like.
  for (const source of bindSources(c.args)) c.writes(source, true);
}

/** The host paths of `-v SRC:DST[:opts]`, `--volume`, `--mount type=bind,source=SRC,…` (named volumes have no `/`). */
function bindSources(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const w = args[i] as string;
    const v =
      w === '-v' || w === '--volume' || w === '--mount'
        ? args[++i]
        : /^(-v|--volume=|--mount=)/.test(w)
          ? w.replace(/^(-v=?|--volume=|--mount=)/, '')
          : undefined;
    if (v === undefined) continue;
    if (w.startsWith('--mount')) {
      const src = /(?:^|,)(?:source|src)=([^,]*)/.exec(v)?.[1];
      if (src !== undefined && /(?:^|,)type=bind(?:,|$)/.test(v)) out.push(src);
      continue;
    }
    const src = v.split(':')[0] ?? '';
    if (/[/~$.]/.test(src[0] ?? '')) out.push(src);
  }
  return out;
}

function machinectl(c: ToolCtx): void {
  const sub = c.args.find((a) => !a.startsWith('-'));
  if (sub === 'shell' || sub === 'login') c.add('privilege_escalation', c.text);
}

const SU: OptSpec = {
  flags: 'lmpfPT',
  values: 'cgGsw',
  long: ['login', 'preserve-environment', 'pty', 'fast', 'help', 'version'],
  longValues: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment'],
};
function su(c: ToolCtx): void {
  const p = parseOptions(c.args, SU);
  for (const o of p.opts) if (['c', 'command', 'session-command'].includes(o.name)) c.shell(o.value, `${c.prog} -c`);
}

function sg(c: ToolCtx): void {
  const rest = c.args.filter((a) => a !== '-').slice(1);
  if (rest[0] === '-c') rest.shift();
  if (rest.length > 0) c.shell(rest.join(' '), 'sg');
}

function tmux(c: ToolCtx): void {
  const i = c.args.findIndex((a) => !a.startsWith('-'));
  if (i < 0) return;
  if (/^(send-keys|send|send-prefix)$/.test(c.args[i] ?? '')) c.add('obfuscated', `tmux types into a terminal: ${c.text}`);
  credentialCommand(c);
  // tmux hands a command word to the shell: read every later word as one (option values parse as harmless words).
  for (const w of c.args.slice(i + 1)) if (!w.startsWith('-')) c.shell(w, 'tmux');
}

function screen(c: ToolCtx): void {
  if (c.args.includes('-X')) c.add('obfuscated', `screen sends a command to a session: ${c.text}`);
  for (let i = 0; i < c.args.length; i++) if (!(c.args[i] as string).startsWith('-')) c.argv(c.args.slice(i), c.flags.slice(i));
}

const SCRIPT: OptSpec = {
  flags: 'aefqhVr',
  values: 'cTIOBEmo',
  optional: 't',
  long: ['append', 'return', 'flush', 'force', 'quiet', 'help', 'version'],
  longValues: ['command', 'log-in', 'log-out', 'log-io', 'log-timing', 'echo', 'logging-format', 'output-limit'],
  longOptional: ['timing'],
};
function script(c: ToolCtx): void {
  const cmd = valueOf(parseOptions(c.args, SCRIPT), 'c', 'command');
  if (cmd !== undefined) c.shell(cmd, 'script -c');
}

/**
 * Shell builtins that change what a later word runs: `alias ls='…'`, `hash -p /bin/rm ls`, `enable -f lib.so`.
 * Defining an alias is itself obfuscated: `alias l=rm; eval l -rf ~` runs `rm -rf ~` while each part looks harmless
 * (dash and `bash --posix` expand aliases in `-c` strings), and a script has no other use for one.
 */
function alias(c: ToolCtx): void {
  for (const a of c.args) {
    if (!a.includes('=')) continue;
    c.add('obfuscated', `alias ${a.slice(0, a.indexOf('='))} changes what a later command name runs`);
    c.shell(a.slice(a.indexOf('=') + 1), `alias ${a.slice(0, a.indexOf('='))}`);
  }
}

/** `mapfile -C cmd`, `readarray -C cmd`, `compgen -C cmd`/`-F fn`, `complete -C`: a callback the shell runs. */
function callbackOption(c: ToolCtx): boolean {
  const at = c.args.findIndex((a) => /^-[a-zA-Z]*[CF]/.test(a));
  if (at < 0) return false;
  c.add('obfuscated', `${c.prog} runs a callback command: ${c.text}`);
  return true;
}
function mapfile(c: ToolCtx): void {
  if (!callbackOption(c)) assignsVariable(c);
}
function compgen(c: ToolCtx): void {
  if (!callbackOption(c)) envDump(c);
}

/** `printf -v NAME`, `read NAME`, `mapfile NAME`: setting a variable that loads code is as good as `NAME=…`. */
function assignsVariable(c: ToolCtx): void {
  const names =
    c.prog === 'printf'
      ? c.args.flatMap((a, i) => (a === '-v' && i + 1 < c.args.length ? [c.args[i + 1] as string] : /^-v./.test(a) ? [a.slice(2)] : []))
      : c.args.filter((a) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(a));
  for (const name of names) {
    if (envEffect(name, 'x') !== undefined) c.add('obfuscated', `${c.prog} sets ${name}, which loads code or names a command: ${c.text}`);
  }
}
function rebind(c: ToolCtx): void {
  if (c.args.some((a) => /^-[a-zA-Z]*[pf]/.test(a))) c.add('obfuscated', `${c.prog} changes what a command name runs: ${c.text}`);
}

function credentialCommand(c: ToolCtx): void {
  const re = CREDENTIAL_COMMANDS.get(c.prog);
  if (re?.test(c.args.join(' ')) === true) c.add('credential_access', `prints a stored credential: ${c.text}`);
}

export const TOOLS: ReadonlyMap<string, Tool> = new Map<string, Tool>([
  ['rm', rm],
  ['chmod', permissions],
  ['chown', permissions],
  ['chgrp', permissions],
  ['install', install],
  ['find', find],
  ['git', gitTool],
  ['tar', tar],
  ['gtar', tar],
  ['bsdtar', tar],
  ['sed', sed],
  ['gsed', sed],
  ...[...AWKS].map((n) => [n, awk] as [string, Tool]),
  ['zip', zip],
  ...[...VIMS].map((n) => [n, vim] as [string, Tool]),
  ['less', pager],
  ['more', pager],
  ['most', pager],
  ['man', man],
  ['make', make],
  ['gmake', make],
  ['rsync', rsync],
  ['ssh', ssh],
  ['autossh', ssh],
  ['scp', ssh],
  ['sftp', ssh],
  ['ps', ps],
  ['printenv', envDump],
  ['export', envDump],
  ['declare', envDump],
  ['typeset', envDump],
  ['readonly', envDump],
  ['set', envDump],
  ['compgen', compgen],
  ['complete', compgen],
  ['mapfile', mapfile],
  ['readarray', mapfile],
  ['printf', assignsVariable],
  ['read', assignsVariable],
  ['sqlite3', sqlite],
  ['psql', dbClient],
  ['mysql', dbClient],
  ['mariadb', dbClient],
  ['gdb', gdb],
  ['dc', dc],
  ['docker', container],
  ['podman', container],
  ['nerdctl', container],
  ['machinectl', machinectl],
  ['alias', alias],
  ['hash', rebind],
  ['enable', rebind],
  ['local', envDump],
  ['su', su],
  ['runuser', su],
  ['sg', sg],
  ['tmux', tmux],
  ['screen', screen],
  ['script', script],
  ...[...CREDENTIAL_COMMANDS.keys()].filter((n) => n !== 'tmux').map((n) => [n, credentialCommand] as [string, Tool]),
  ['openssl', openssl],
  ['sort', sort],
  ['split', split],
  ['csplit', csplit],
  ['unzip', unzip],
  ['crontab', crontab],
  ['at', at],
  ['batch', at],
  ['systemctl', (c) => (credentialCommand(c), systemctl(c))],
  ['launchctl', (c) => (credentialCommand(c), launchctl(c))],
  ...RUNNER_NAMES.map((n) => [n, runner] as [string, Tool]),
  ['npm', (c) => (runner(c), packageConfig(c))],
  ['pnpm', (c) => (runner(c), packageConfig(c))],
]);
