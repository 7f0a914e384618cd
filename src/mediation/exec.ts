/**
 * Exec mediation (SPEC §5.4): every `exec`/`exec.spawn` is parsed (argv as given; `sh -c`/`bash -c` strings and
 * `shell: true` commands with a real shell parser, nested shells included) and classified. The classes that
 * are never run by an extension are denied whatever the profile; the others need the permissive profile or
 * `exec` granted to that extension by name. `shell: true` needs that named grant too, and the working directory
 * must lie inside the workspace. Every exec decision is logged by salted command hash; a denial raises an
 * `exec_mediation` alert. The environment is stripped separately (secretNameFilter.ts).
 */
import { realpathSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import type { DispatchContext } from '../dispatch/hostcall.ts';
import { addReason } from '../dispatch/hostcall.ts';
import type { StageOutcome, SyncStage } from '../dispatch/stage.ts';
import { decisionError } from '../errors.ts';
import type { AlertSink } from '../evidence/alerts.ts';
import { grantedByName, type CompiledPolicy } from '../policy/precedence.ts';
import { parseShell, type SimpleCommand } from './shellParse.ts';

export const EXEC_CLASSES = [
  'destructive_fs', 'pipe_to_shell', 'privilege_escalation', 'credential_access', 'obfuscated', 'unparseable',
  'network_tool', 'inline_code', 'background',
] as const;
export type ExecClass = (typeof EXEC_CLASSES)[number];

/** Never run for an extension, whatever the profile or grant. */
export const ALWAYS_DENIED: ReadonlySet<ExecClass> = new Set(['destructive_fs', 'pipe_to_shell', 'privilege_escalation', 'credential_access', 'obfuscated', 'unparseable']);

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'busybox']);
const INTERPRETERS = new Set(['node', 'nodejs', 'bun', 'deno', 'python', 'python2', 'python3', 'perl', 'ruby', 'php', 'lua', 'osascript', 'pwsh', 'powershell']);
const INLINE_FLAGS = new Set(['-e', '--eval', '-p', '--print', '-c', '-r', '-E', 'eval', '-x', '-Command', '-command']);
const PI_BINARIES = new Set(['pi', 'pi-coding-agent', 'pi-agent']);
const NETWORK = new Set(['curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'ssh', 'scp', 'sftp', 'telnet', 'ftp', 'tftp', 'nmap', 'dig', 'nslookup', 'host', 'ping', 'aria2c', 'http', 'https', 'xh', 'lynx', 'w3m', 'openssl', 'rsync', 'smbclient', 'mosquitto_pub']);
const GIT_NETWORK = new Set(['clone', 'fetch', 'pull', 'push', 'ls-remote', 'submodule', 'remote']);
const PRIVILEGE = new Set(['sudo', 'su', 'doas', 'pkexec', 'runuser', 'setcap', 'chroot', 'nsenter', 'unshare', 'capsh']);
const DESTRUCTIVE = new Set(['shred', 'wipefs', 'mkfs', 'fdisk', 'sfdisk', 'parted', 'mkswap', 'srm']);
const BACKGROUND = new Set(['nohup', 'setsid', 'disown', 'daemonize', 'at', 'batch', 'crontab', 'systemd-run', 'start-stop-daemon']);
const ENV_DUMP = new Set(['printenv', 'env', 'export', 'set', 'declare', 'typeset', 'compgen']);
/** Wrappers whose operand is the real command. */
const WRAPPERS = new Set(['busybox', 'toybox', 'env', 'command', 'exec', 'nice', 'ionice', 'time', 'timeout', 'stdbuf', 'xargs', 'nohup', 'setsid', 'sudo', 'doas', 'builtin', 'chrt', 'taskset', 'flock']);
const CREDENTIAL_PATH = /(^|[/~])\.ssh(\/|$)|id_(rsa|dsa|ecdsa|ed25519)\b|\.aws\/(credentials|config)|\.netrc\b|\.npmrc\b|\.pypirc\b|\.docker\/config\.json|\.git-credentials|\.gnupg(\/|$)|\/proc\/[^/\s]+\/environ|\.kube\/config|\.config\/gcloud|\.pi\/agent\/auth\.json|\/etc\/(shadow|gshadow|sudoers)|(^|\/)\.env(\.[\w-]+)?$|\.password-store|keychain|\.vault-token/i;

export interface ExecAnalysis {
  readonly classes: readonly ExecClass[];
  /** Why, per class (the command words that decided), for the error message and the alert. */
  readonly evidence: ReadonlyArray<{ readonly class: ExecClass; readonly detail: string }>;
  /** The program names the call would run (for the log). */
  readonly programs: readonly string[];
}

const name = (word: string | undefined) => basename(word ?? '').toLowerCase();

/** The command after wrapper words (`env A=1 nice -n 5 curl …` → `curl …`); wrappers stay classified themselves. */
function unwrap(argv: readonly string[]): readonly string[] {
  let rest = argv;
  for (let guard = 0; guard < 8 && rest.length > 0 && WRAPPERS.has(name(rest[0])); guard++) {
    let i = 1;
    // Flags, VAR=value assignments and numeric operands (`nice -n 5`, `timeout 10s`) belong to the wrapper.
    while (i < rest.length && (rest[i]?.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[i] ?? '') || /^\d+(\.\d+)?[smhd]?$/.test(rest[i] ?? ''))) i++;
    if (i >= rest.length) return rest;
    rest = rest.slice(i);
  }
  return rest;
}

/**
 * The script of `sh -c …` in any option form (`-c`, `-ec`, `-Ec`, `-c -e`, `-c --`, `-O opt -c`): with `c` in an
 * option cluster, the script is the first operand after the options. null: not a `-c` call; undefined: no script.
 */
function shellScript(argv: readonly string[]): string | null | undefined {
  if (!SHELLS.has(name(argv[0]))) return null;
  let sawC = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') return sawC ? argv[i + 1] : null;
    if (/^[-+][a-zA-Z]+$/.test(a)) {
      if (a.startsWith('-') && a.includes('c')) sawC = true;
      if (/[oO]$/.test(a)) i++; // -o option / -O shopt take a value
      continue;
    }
    return sawC ? a : null;
  }
  return sawC ? undefined : null;
}

/** Classifies one argv (a direct exec, or one simple command of a shell string). */
function classifyArgv(cmd: SimpleCommand, add: (c: ExecClass, d: string) => void, depth: number): void {
  const argv = cmd.argv;
  const text = argv.join(' ').slice(0, 120);
  if (cmd.dynamicName) add('obfuscated', `program name is computed: ${text}`);
  // A word that is not what it reads as (`$'\x72m'`) anywhere in the command: we cannot classify it.
  if (!cmd.dynamicName && argv.some((a, i) => i < 3 && /\\x[0-9a-f]{2}|\\[0-7]{3}|\\u[0-9a-f]{4}/i.test(a))) add('obfuscated', `escaped words: ${text}`);
  if (cmd.background) add('background', `runs in the background: ${text}`);
  for (const { target: r } of cmd.redirects) {
    if (/^\/dev\/(tcp|udp)\//.test(r)) add('network_tool', `redirect to ${r}`);
    if (CREDENTIAL_PATH.test(r)) add('credential_access', `redirect from ${r}`);
    if (/^\/dev\/(sd|nvme|hd|disk|mmcblk)/.test(r)) add('destructive_fs', `redirect to ${r}`);
  }
  for (const a of argv.slice(1)) if (CREDENTIAL_PATH.test(a)) add('credential_access', `reads ${a}`);
  for (const wrapper of argv) {
    if (!WRAPPERS.has(name(wrapper))) break;
    if (PRIVILEGE.has(name(wrapper))) add('privilege_escalation', text);
    if (BACKGROUND.has(name(wrapper))) add('background', text);
  }
  const inner = unwrap(argv);
  const prog = name(inner[0]);
  const args = inner.slice(1);
  if (prog === '') return;
  if (PRIVILEGE.has(prog)) add('privilege_escalation', text);
  if (BACKGROUND.has(prog)) add('background', text);
  if (prog === 'chmod' && args.some((a) => /^[ugoa]*\+[rwx]*s|^[0-7]?[4-7][0-7]{3}$/.test(a))) add('privilege_escalation', `setuid/setgid: ${text}`);
  if (prog === 'rm' && args.some((a) => /^-[a-zA-Z]*[rRf]/.test(a) || a === '--recursive' || a === '--force' || a === '--no-preserve-root')) add('destructive_fs', text);
  if (DESTRUCTIVE.has(prog) || prog.startsWith('mkfs.')) add('destructive_fs', text);
  if (prog === 'dd' && args.some((a) => a.startsWith('of='))) add('destructive_fs', text);
  if (prog === 'find' && args.some((a) => a === '-delete' || a === '-exec' || a === '-execdir')) add(args.includes('-delete') ? 'destructive_fs' : 'obfuscated', text);
  if ((prog === 'chmod' || prog === 'chown' || prog === 'chgrp') && args.some((a) => /^-[a-zA-Z]*R/.test(a))) add('destructive_fs', text);
  if (prog === 'truncate' || (prog === 'git' && (args.includes('clean') || (args.includes('reset') && args.includes('--hard'))))) add('destructive_fs', text);
  if (NETWORK.has(prog) || (prog === 'git' && args.some((a) => GIT_NETWORK.has(a)))) add('network_tool', text);
  if ((prog === 'npm' || prog === 'pnpm' || prog === 'yarn' || prog === 'pip' || prog === 'pip3') && args.some((a) => ['install', 'i', 'add', 'publish', 'exec', 'dlx'].includes(a))) add('network_tool', text);
  if (prog === 'npx' || prog === 'bunx' || prog === 'uvx') add('network_tool', text);
  if (INTERPRETERS.has(prog) && args.some((a) => INLINE_FLAGS.has(a) || /^--(eval|print)=/.test(a))) add('inline_code', text);
  if (PI_BINARIES.has(prog)) add('inline_code', `spawns pi: ${text}`);
  // Programs whose own script language runs commands: awk system()/pipes, sed's e, tar/git hooks.
  if (/^[gmn]?awk$/.test(prog) && args.some((a) => /system\s*\(|\|\s*getline|print[^;}]*\|/.test(a))) add('obfuscated', `awk runs a command: ${text}`);
  if (prog === 'tar' && args.some((a) => /^--(to-command|checkpoint-action|use-compress-program)/.test(a) || a === '-I')) add('obfuscated', `tar runs a command: ${text}`);
  if (prog === 'git' && args.some((a, i) => args[i - 1] === '-c' && /^(core\.(pager|sshcommand|editor|fsmonitor|hookspath)|.*\.(command|program))=/i.test(a))) add('obfuscated', `git runs a configured command: ${text}`);
  if (ENV_DUMP.has(prog) && (args.length === 0 || (prog !== 'set' && args.every((a) => a.startsWith('-')) || (prog === 'env' && inner === argv)))) add('credential_access', `dumps the environment: ${text}`);
  if (prog === 'eval' || prog === 'source' || prog === '.') {
    if (cmd.substitutions.length > 0 || args.some((a) => a.includes('$'))) add('obfuscated', text);
  }
  // A shell or interpreter fed from a network command: `bash <(curl …)`, `sh -c "$(wget …)"`, `eval "$(curl …)"`.
  if ((SHELLS.has(prog) || INTERPRETERS.has(prog) || prog === 'eval' || prog === 'source' || prog === '.') && cmd.substitutions.some((s) => NETWORK.has(name(unwrap(s.argv)[0])))) {
    add('pipe_to_shell', text);
  }
  // A nested shell string: classify what it runs.
  const script = shellScript(inner);
  if (script === undefined) add('unparseable', `${prog} -c without a command`);
  else if (script !== null) analyseShell(script, add, depth + 1);
  // eval and trap run their (literal) arguments as a script.
  if ((prog === 'eval' || prog === 'trap') && args.length > 0) analyseShell(prog === 'trap' ? (args[0] ?? '') : args.join(' '), add, depth + 1);
}

function analyseShell(script: string, add: (c: ExecClass, d: string) => void, depth: number): void {
  if (depth > 4) {
    add('obfuscated', 'shells nested more than four deep');
    return;
  }
  let parsed;
  try {
    parsed = parseShell(script);
  } catch (err) {
    add('unparseable', err instanceof Error ? err.message : String(err));
    return;
  }
  for (const c of parsed.commands) classifyArgv(c, add, depth);
  // Download, then run: `curl -o f x; sh f`, `wget x && chmod +x f && ./f`.
  const firstNet = parsed.commands.findIndex((c) => NETWORK.has(name(unwrap(c.argv)[0])));
  if (firstNet >= 0) {
    for (const c of parsed.commands.slice(firstNet + 1)) {
      const run = unwrap(c.argv);
      const prog = name(run[0]);
      const local = (run[0] ?? '').includes('/') && !/^\/(usr\/)?s?bin\//.test(run[0] ?? '');
      if (((SHELLS.has(prog) || INTERPRETERS.has(prog) || prog === 'source' || prog === '.') && run.slice(1).some((a) => !a.startsWith('-'))) || local) {
        add('pipe_to_shell', `runs a file after a download: ${c.argv.join(' ').slice(0, 80)}`);
        break;
      }
    }
  }
  for (const c of parsed.commands) {
    const prog = name(unwrap(c.argv)[0]);
    if (c.stdin.kind !== 'pipe' || !(SHELLS.has(prog) || INTERPRETERS.has(prog) || prog === 'eval' || prog === 'source')) continue;
    // Every stage before this one in the pipe, and the stages feeding those.
    const feeding: SimpleCommand[] = [];
    const todo = [...c.stdin.from];
    while (todo.length > 0 && feeding.length < 64) {
      const f = todo.pop() as SimpleCommand;
      feeding.push(f);
      if (f.stdin.kind === 'pipe') todo.push(...f.stdin.from);
    }
    if (feeding.some((f) => NETWORK.has(name(unwrap(f.argv)[0])))) add('pipe_to_shell', [...feeding.reverse(), c].map((f) => f.argv.join(' ')).join(' | ').slice(0, 120));
  }
}

/** Classifies an exec call as it would run (Node semantics: `shell: true` joins cmd and args into one string). */
export function analyseExec(params: { cmd: string; args?: readonly string[]; shell?: boolean; detached?: boolean }): ExecAnalysis {
  const evidence: Array<{ class: ExecClass; detail: string }> = [];
  const add = (c: ExecClass, detail: string) => {
    if (!evidence.some((e) => e.class === c)) evidence.push({ class: c, detail });
  };
  const args = params.args ?? [];
  if (params.shell === true) analyseShell([params.cmd, ...args].join(' '), add, 0);
  else {
    const argv = [params.cmd, ...args];
    classifyArgv({ argv, flags: argv.map(() => 0), dynamicName: false, background: false, redirects: [], stdin: { kind: 'inherit' }, assignments: [], substitutions: [] }, add, 0);
  }
  if (params.detached === true) add('background', 'detached: true');
  const programs = params.shell === true ? ['sh'] : [name(params.cmd)];
  return { classes: evidence.map((e) => e.class), evidence, programs };
}

export interface ExecLogEntry {
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly call_id: string;
  /** SHA-256(store salt ‖ NUL ‖ command line): the same command hashes alike in one store; it cannot be read back. */
  readonly command_hash: string;
  /** The classes found, comma-separated, or `none`. */
  readonly class: string;
  readonly decision: 'allow' | 'deny';
  readonly reason_codes: readonly string[];
}

export interface ExecLog {
  recordExecEvent(e: ExecLogEntry): void;
}

export interface ExecStageOptions {
  readonly policy: CompiledPolicy;
  /** The workspace a child's cwd must lie in (realpath'd). */
  readonly workspace: string;
  readonly commandHash: (commandLine: string) => string;
  readonly alerts?: AlertSink | undefined;
  readonly log?: ExecLog | undefined;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export function createExecStage(o: ExecStageOptions): SyncStage {
  const workspace = real(o.workspace);
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      if (ctx.method !== 'exec' && ctx.method !== 'exec.spawn') return undefined;
      const p = ctx.params as { cmd: string; args?: string[]; shell?: boolean; detached?: boolean; cwd?: string };
      const analysis = analyseExec(p);
      const reasons: string[] = [];
      const granted = grantedByName(o.policy, 'exec', ctx.extensionId);
      const permissive = o.policy.rules.profile === 'permissive';
      for (const c of analysis.classes) {
        if (ALWAYS_DENIED.has(c)) reasons.push(`exec_${c}`);
        else if (!permissive && !granted) reasons.push(`exec_${c}`);
      }
      if (p.shell === true && !granted) reasons.push('shell_not_allowed');
      if (p.cwd !== undefined) {
        const cwd = real(isAbsolute(p.cwd) ? p.cwd : resolve(workspace, p.cwd));
        const rel = relative(workspace, cwd);
        if (rel.startsWith('..') || isAbsolute(rel)) reasons.push('cwd_outside_workspace');
      }
      const decision = reasons.length === 0 ? 'allow' : 'deny';
      const line = [p.cmd, ...(p.args ?? [])].join('\u0000');
      try {
        o.log?.recordExecEvent({
          ts_ms: ctx.startedMs, extension_id: ctx.extensionId, call_id: ctx.callId, command_hash: o.commandHash(line),
          class: analysis.classes.length === 0 ? 'none' : analysis.classes.join(','), decision, reason_codes: reasons,
        });
      } catch {
        // the decision stands; the ledger entry carries it
      }
      for (const c of analysis.classes) addReason(ctx, `exec_class_${c}`);
      if (decision === 'allow') return undefined;
      const why = [
        ...analysis.evidence.filter((e) => reasons.includes(`exec_${e.class}`)).map((e) => `${e.class.replace(/_/g, ' ')} (${e.detail})`),
        ...(reasons.includes('shell_not_allowed') ? ['shell: true needs exec granted to this extension by name'] : []),
        ...(reasons.includes('cwd_outside_workspace') ? [`cwd ${p.cwd} is outside the workspace ${workspace}`] : []),
      ];
      const severe = analysis.classes.some((c) => c === 'pipe_to_shell' || c === 'privilege_escalation' || c === 'credential_access');
      try {
        o.alerts?.raise({
          ts_ms: ctx.startedMs, extension_id: ctx.extensionId, category: 'exec_mediation', severity: severe ? 'critical' : 'high',
          capability: 'exec', method: ctx.method, call_id: ctx.callId,
          // Classes and program names only: a command line can carry a secret, and alerts are stored.
          summary: `${ctx.extensionId} tried to run ${analysis.programs.join(', ')}: refused (${reasons.map((r) => r.replace(/^exec_/, '').replace(/_/g, ' ')).join(', ')})`.slice(0, 500),
          reason_codes: ['exec_mediation', ...reasons],
          remediation: 'Review the extension (`pi-warden scan`), kill it if the command was hostile (`pi-warden trust kill`); runbook INC-1',
        });
      } catch {
        // the ledger entry carries the decision
      }
      for (const r of reasons) addReason(ctx, r);
      return decisionError('denied', `${ctx.method}: refused by exec mediation: ${why.join('; ')}`, { reasonCodes: ['exec_mediation', ...reasons] });
    },
  };
}
