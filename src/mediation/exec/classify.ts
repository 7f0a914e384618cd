/**
 * Exec classification (SPEC §5.4): an exec call as it would run — its argv, or its shell string parsed by
 * shellParse.ts — read through wrappers (`timeout`, `env`, `xargs`, `sudo`, …), per-tool options (src/mediation/exec/tools.ts),
 * nested shells, here-docs and pipes into a shell, and the environment it is given. Where the command that will
 * run cannot be read (a computed program name or script, a script from a pipe, an unknown wrapper option), the
 * call is classified `obfuscated`, `pipe_to_shell` or `unparseable`: those are never run.
 */
import { has, parseOptions, type Parsed, WRAPPERS, type WrapperSpec } from './options.ts';
import { interpreterInvocation, shellInvocation, type Invocation } from './interp.ts';
import {
  AWKS,
  BACKGROUND,
  COMMAND_READERS,
  DECODERS,
  DESTRUCTIVE,
  envEffect,
  type ExecClass,
  INTERPRETERS,
  normalisePath,
  isKnownProgram,
  NETWORK,
  OTHER_SHELLS,
  PI_BINARIES,
  POSIX_SHELLS,
  PRIVILEGE,
  programName,
  registerNames,
  VIMS,
} from './tables.ts';
import { type ToolCtx, TOOLS } from './tools.ts';
import { type PlaceKind, PlaceWords, SECRET_KINDS } from '../../policy/index.ts';
import { isProjectRoot, locate } from './targets.ts';
import { parseShell, type SimpleCommand, type Stdin, W_BRACE, W_DYNAMIC, W_EXTGLOB, W_GLOB, W_OVERFLOW } from './shellParse.ts';

export { EXEC_CLASSES, type ExecClass } from './tables.ts';

export interface ExecAnalysis {
  readonly classes: readonly ExecClass[];
  /** Why, per class (the command words that decided), for the error message and the alert. */
  readonly evidence: ReadonlyArray<{ readonly class: ExecClass; readonly detail: string }>;
  /** The program names the call would run (for the log). */
  readonly programs: readonly string[];
}

type Add = (c: ExecClass, detail: string) => void;

/** Where a command's standard input comes from, as far as the call shows. */
type Source =
  | { readonly kind: 'none' }
  /** exec.spawn: whatever the extension writes later. */
  | { readonly kind: 'stream' }
  | { readonly kind: 'text'; readonly via: string; readonly text: string; readonly dynamic: boolean }
  | { readonly kind: 'file'; readonly target: string; readonly dynamic: boolean }
  | { readonly kind: 'fd'; readonly target: string }
  | { readonly kind: 'pipe'; readonly from: readonly SimpleCommand[]; readonly outer: Source };

interface Run {
  readonly add: Add;
  readonly depth: number;
  readonly stdin: Source;
  /** The words were parsed from a zsh script (glob qualifiers run code). */
  readonly zsh: boolean;
  /** Commands left to classify in this call (shared): a bound on nested wrappers, tools and strings. */
  readonly budget: { n: number };
  /** Shared: the call changes its working folder somewhere (`cd`, `pushd`, `env -C`), so relative words may lie anywhere. */
  readonly cwd: { moved: boolean };
  /** How words name the sensitive places (src/policy/places.ts): credential stores, places that run later. */
  readonly places: PlaceWords;
  readonly scope: ExecScope;
}

/** Where the command runs: the project it may change, and whether the OS confines the child to it. */
export interface ExecScope {
  /** The project root (absolute, real); unknown: every absolute or home path is outside it. */
  readonly project?: string | undefined;
  /**
   * The child runs in an OS sandbox that keeps its writes inside the project (and off the never-written places):
   * deleting inside the project (`rm -rf dist`, `git clean -fd`) is then not refused. Off unless the caller says so.
   */
  readonly osConfined?: boolean | undefined;
}

/** The innermost command after wrappers. */
interface Inner {
  readonly prog: string;
  readonly argv: readonly string[];
}

registerNames([...WRAPPERS.keys(), ...TOOLS.keys(), 'eval', 'source', 'trap', 'npx', 'bunx', 'uvx', 'pnpx']);

const ESCAPES = /\\x[0-9a-f]{2}|\\[0-7]{3}|\\u[0-9a-f]{4}/i;
const RUNS_SCRIPTS = (p: string) =>
  POSIX_SHELLS.has(p) || OTHER_SHELLS.has(p) || INTERPRETERS.has(p) || p === 'eval' || p === 'source' || p === '.';
/** Network programs that do not fetch files to run (a later `./x` after them is not download-then-run). */
const DOWNLOAD_PROBES = new Set([
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
  'nmap',
  'ssh-keyscan',
  'kubectl',
  'az',
  'gcloud',
  'gh',
  'glab',
]);
const PACKAGE_MANAGERS = new Set(['npm', 'pnpm', 'yarn', 'pip', 'pip3', 'pipx', 'uv']);
const PACKAGE_NETWORK = new Set(['install', 'i', 'add', 'publish', 'exec', 'dlx', 'download']);
/** Programs that, given arguments from xargs' input, may become something else (options from the input). */
const XARGS_OPTIONS_MATTER = new Set(['rm', 'shred', 'chmod', 'chown', 'chgrp']);
/** Programs that write the files they are given (a persistence path among them is a write to it). */
const WRITERS = new Set([
  'tee',
  'cp',
  'mv',
  'ln',
  'install',
  'dd',
  'rsync',
  'curl',
  'wget',
  'touch',
  'truncate',
  'ed',
  'red',
  'ex',
  'sqlite3',
  'patch',
  'sponge',
]);
/** The path a writer's word names: an operand, `of=F`, or the value of `--opt=F`. */
const writtenWord = (a: string): string | undefined =>
  a.startsWith('-') ? (a.includes('=') ? a.slice(a.indexOf('=') + 1) : undefined) : a.replace(/^of=/, '');
const XARGS_OPAQUE = new Set(['find', 'tar', 'zip', 'rsync', 'ssh', 'scp', 'make', 'less', ...VIMS]);

/**
 * Places an OS-confined `rm -rf` inside the project still may not delete: the repository's own state and secrets.
 * Deleting what runs later (`node_modules`, a hook) plants nothing; writing it is what stays refused.
 */
const CHANGES_DIRECTORY = new Set(['cd', 'pushd', 'popd', 'chdir']);
const KEPT_FROM_DELETION: ReadonlySet<PlaceKind> = new Set(['tool_state', 'warden_private', 'credential', 'system']);

const resolve = (s: Stdin, outer: Source): Source =>
  s.kind === 'inherit' ? outer : s.kind === 'pipe' ? { kind: 'pipe', from: s.from, outer } : s;
const deeper = (run: Run, stdin: Source = run.stdin, zsh = false): Run => ({
  add: run.add,
  depth: run.depth + 1,
  stdin,
  zsh,
  budget: run.budget,
  cwd: run.cwd,
  places: run.places,
  scope: run.scope,
});
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const quote = (w: string) => `'${w.replace(/'/g, "'\\''")}'`;

function analyseShell(script: string, run: Run): void {
  if (run.depth > 4) {
    run.add('obfuscated', 'shells nested more than four deep');
    return;
  }
  // A parse costs about as much as a hundred argv classifications: at most ~100 strings per exec call.
  run.budget.n -= 20;
  if (run.budget.n < 0) {
    run.add('obfuscated', 'too many nested command strings to classify');
    return;
  }
  let parsed;
  try {
    parsed = parseShell(script);
  } catch (err) {
    run.add('unparseable', err instanceof Error ? err.message : String(err));
    return;
  }
  // Before any command is judged: `rm -rf dist` after `cd ~` is not inside the project.
  if (parsed.commands.some((c) => CHANGES_DIRECTORY.has(programName(c.argv[0])))) run.cwd.moved = true;
  const seen = new Map<SimpleCommand, Inner & { classes: Set<ExecClass> }>();
  let stdin = run.stdin;
  for (const c of parsed.commands) {
    seen.set(c, classifySimple(c, stdin === run.stdin ? run : { ...run, stdin }));
    // `exec < file` / `exec <<<…` with no command: what every later command reads.
    if (c.argv.length === 1 && c.argv[0] === 'exec' && c.stdin.kind !== 'inherit' && c.stdin.kind !== 'pipe')
      stdin = resolve(c.stdin, stdin);
  }
  writtenThenRun(parsed.commands, seen, run);
  const net = (c: SimpleCommand) => seen.get(c)?.classes.has('network_tool') === true;
  // Download, then run: `curl -o f x; sh f`, `wget x && chmod +x f && ./f`.
  const firstNet = parsed.commands.findIndex((c) => {
    const s = seen.get(c);
    return (
      s !== undefined &&
      ((NETWORK.has(s.prog) && !DOWNLOAD_PROBES.has(s.prog)) ||
        ((POSIX_SHELLS.has(s.prog) || s.prog === 'eval') && s.classes.has('network_tool')))
    );
  });
  if (firstNet >= 0) {
    const downloader = parsed.commands[firstNet] as SimpleCommand;
    for (const c of parsed.commands.slice(firstNet + 1)) {
      // Later in the same pipe it reads the download as data (`curl … | python3 -m json.tool`); stdinScript judges code.
      if (c.stdin.kind === 'pipe' && upstream(c.stdin.from).includes(downloader)) continue;
      const { prog, argv } = seen.get(c) ?? { prog: '', argv: [] };
      const script = scriptOperand(prog, argv);
      if (script !== undefined && !/^\/(usr\/)?s?bin\//.test(script.word)) {
        run.add('pipe_to_shell', `runs a file after a download: ${c.argv.join(' ').slice(0, 80)}`);
        break;
      }
    }
  }
  // A shell or interpreter given what a network command printed: `eval "$(wget …)"`, `node -e "$(curl …)"`. (Code
  // piped in on stdin is stdinScript's; data piped to a script file, `curl … | python3 -m json.tool`, is not code.)
  for (const c of parsed.commands) {
    const prog = seen.get(c)?.prog ?? '';
    if (RUNS_SCRIPTS(prog) && c.substitutions.some(net))
      run.add('pipe_to_shell', `${prog} is fed from the network: ${c.argv.join(' ').slice(0, 100)}`);
  }
}

const WRITE_OPS = new Set(['>', '>>', '>|', '&>', '&>>']);
const fileKey = (w: string) => normalisePath(w).replace(/^\.\//, '');

/** A file the script writes and then runs (`echo … > f; sh f`, `cat > x <<EOF … EOF; ./x`): its content, if static. */
function writtenThenRun(commands: readonly SimpleCommand[], seen: ReadonlyMap<SimpleCommand, Inner>, run: Run): void {
  const written = new Map<string, string | undefined>();
  for (const c of commands) {
    const { prog, argv } = seen.get(c) ?? { prog: '', argv: [] };
    const script = written.size > 0 ? scriptOperand(prog, argv) : undefined;
    if (script !== undefined && written.has(fileKey(script.word))) {
      const text = written.get(fileKey(script.word));
      if (text === undefined) run.add('pipe_to_shell', `runs a file the script wrote: ${c.argv.join(' ').slice(0, 80)}`);
      else if (script.kind === 'posix') analyseShell(text, deeper(run, { kind: 'none' }));
      else run.add('inline_code', `${prog} runs code the script wrote`);
    }
    for (const r of c.redirects) {
      if (!WRITE_OPS.has(r.op) || r.fd !== 1 || r.dynamic) continue;
      const key = fileKey(r.target);
      written.set(
        key,
        r.op === '>' || r.op === '>|' || r.op === '&>' ? (written.has(key) ? undefined : staticOutput([c], run.stdin, true)) : undefined,
      );
    }
    if (prog === 'tee' || prog === 'cp' || prog === 'mv' || prog === 'ln' || prog === 'install')
      for (const a of argv.slice(1)) if (!a.startsWith('-')) written.set(fileKey(a), undefined);
  }
}

/** The file a command runs as a script: a shell's or interpreter's script operand, `source f`, or `./prog`. */
function scriptOperand(prog: string, argv: readonly string[]): { word: string; kind: 'posix' | 'code' } | undefined {
  const args = argv.slice(1);
  if (prog === 'source' || prog === '.') return args[0] === undefined ? undefined : { word: args[0], kind: 'posix' };
  const inv =
    POSIX_SHELLS.has(prog) || OTHER_SHELLS.has(prog)
      ? shellInvocation(args)
      : INTERPRETERS.has(prog)
        ? interpreterInvocation(prog, args)
        : undefined;
  if (inv?.kind === 'file') return { word: args[inv.index] ?? '', kind: POSIX_SHELLS.has(prog) ? 'posix' : 'code' };
  if (inv === undefined && (argv[0] ?? '').includes('/')) return { word: argv[0] ?? '', kind: 'posix' };
  return undefined;
}

/** The commands feeding a pipe, and those feeding them, in one script. */
function upstream(from: readonly SimpleCommand[]): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  const pending = [...from];
  while (pending.length > 0 && out.length < 64) {
    const c = pending.pop() as SimpleCommand;
    out.push(c);
    if (c.stdin.kind === 'pipe') pending.push(...c.stdin.from);
  }
  return out;
}

function classifySimple(c: SimpleCommand, outer: Run): Inner & { classes: Set<ExecClass> } {
  const classes = new Set<ExecClass>();
  const add: Add = (k, d) => {
    classes.add(k);
    outer.add(k, d);
  };
  const run: Run = {
    add,
    depth: outer.depth,
    stdin: resolve(c.stdin, outer.stdin),
    zsh: outer.zsh,
    budget: outer.budget,
    cwd: outer.cwd,
    places: outer.places,
    scope: outer.scope,
  };
  if (c.background) add('background', `runs in the background: ${c.argv.join(' ').slice(0, 120)}`);
  for (const r of c.redirects) {
    if (/^\/dev\/(tcp|udp)\//.test(r.target)) add('network_tool', `redirect to ${r.target}`);
    if (run.places.secret(r.target)) add('credential_access', `redirect from ${r.target}`);
    if (/^\/dev\/(sd|nvme|hd|disk|mmcblk)/.test(r.target)) add('destructive_fs', `redirect to ${r.target}`);
    if (WRITE_OPS.has(r.op) && run.places.neverWritten(r.target)) add('destructive_fs', `writes ${r.target}, which is never written`);
  }
  for (const a of c.assignments) environment(a.name, a.value, a.dynamic, run);
  return { classes, ...classifyWords(c.argv, c.flags, run, c.substitutions) };
}

/** A variable set for a command (`NAME=v cmd`, `export NAME=v`, `env NAME=v cmd`, the exec `env` option). */
function environment(name: string, value: string, dynamic: boolean, run: Run): void {
  const effect = envEffect(name, value);
  if (effect === undefined) return;
  if (effect.kind === 'opaque') run.add('obfuscated', effect.why);
  else if (dynamic) run.add('obfuscated', `${name} is set to a computed command`);
  else analyseShell(effect.text, deeper(run, { kind: 'fd', target: 'the program' }));
}

/** Classifies one argv (a direct exec, one simple command of a shell string, or a command a wrapper or tool runs). */
function classifyWords(argv: readonly string[], flags: readonly number[], run: Run, subs: readonly SimpleCommand[]): Inner {
  if (argv.length === 0) return { prog: '', argv };
  const { add } = run;
  if (--run.budget.n < 0) {
    add('obfuscated', 'too many nested commands to classify');
    return { prog: '', argv };
  }
  const text = argv.join(' ').slice(0, 120);
  const f0 = flags[0] ?? 0;
  if ((f0 & W_DYNAMIC) !== 0) add('obfuscated', `program name is computed: ${text}`);
  else if ((f0 & (W_GLOB | W_BRACE)) !== 0) add('obfuscated', `program name is a pattern: ${text}`);
  // `/proc/self/exe` is the running shell, `/dev/fd/3` whatever was opened there: the name says nothing.
  else if (/^\/(proc|dev\/fd)\//.test(normalisePath(argv[0] ?? ''))) add('obfuscated', `program named through ${argv[0] ?? ''}: ${text}`);
  // A word that is not what it reads as (`$'\x72m'` in an argv) near the start: we cannot classify it.
  else if (argv.some((a, i) => i < 3 && ESCAPES.test(a))) add('obfuscated', `escaped words: ${text}`);
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] as string;
    const f = flags[i] ?? 0;
    if (run.places.secret(a) || ((f & W_GLOB) !== 0 && run.places.globMayName(a, SECRET_KINDS))) add('credential_access', `reads ${a}`);
    if ((f & W_OVERFLOW) !== 0) add('obfuscated', `brace expansion too large: ${text}`);
    if (run.zsh && (f & W_EXTGLOB) !== 0) add('obfuscated', `zsh glob qualifier: ${a}`);
  }
  const prog = programName(argv[0]);
  const args = argv.slice(1);
  const aflags = flags.slice(1);
  if (PRIVILEGE.has(prog)) add('privilege_escalation', text);
  if (BACKGROUND.has(prog)) add('background', text);
  const wrapper = WRAPPERS.get(prog);
  if (wrapper !== undefined) return unwrap(prog, wrapper, args, aflags, run, subs, text) ?? { prog, argv };
  TOOLS.get(prog)?.(toolCtx(prog, args, aflags, text, run));
  if (NETWORK.has(prog)) add('network_tool', text);
  if (DESTRUCTIVE.has(prog) || prog.startsWith('mkfs.')) add('destructive_fs', text);
  if ((prog === 'dd' && args.some((a) => a.startsWith('of='))) || prog === 'truncate') add('destructive_fs', text);
  if (WRITERS.has(prog) && args.some((a) => run.places.neverWritten(writtenWord(a) ?? '')))
    add('destructive_fs', `writes a place that is never written: ${text}`);
  if (
    (PACKAGE_MANAGERS.has(prog) && args.some((a) => PACKAGE_NETWORK.has(a))) ||
    prog === 'npx' ||
    prog === 'bunx' ||
    prog === 'uvx' ||
    prog === 'pnpx'
  )
    add('network_tool', text);
  if (PI_BINARIES.has(prog)) add('inline_code', `spawns pi: ${text}`);
  if (
    (prog === 'eval' || prog === 'source' || prog === '.') &&
    (subs.length > 0 || args.some((a, i) => a.includes('$') || ((aflags[i] ?? 0) & W_DYNAMIC) !== 0))
  )
    add('obfuscated', text);
  // eval and trap run their (literal) arguments as a script; source runs a file (or stdin).
  if (prog === 'eval' && args.length > 0) analyseShell(args.join(' '), deeper(run));
  if (prog === 'trap' && args.length > 0) analyseShell((args[0] === '--' ? args[1] : args[0]) ?? '', deeper(run));
  if ((prog === 'source' || prog === '.') && args.length > 0) scriptFile('posix', prog, args[0] ?? '', run, subs);
  if (POSIX_SHELLS.has(prog) || OTHER_SHELLS.has(prog)) shell(prog, args, aflags, run, subs, text);
  else if (INTERPRETERS.has(prog)) interpreter(prog, args, aflags, run, subs, text);
  else if (/sh$/.test(prog) && !isKnownProgram(prog) && args.some((a) => /^-[a-zA-Z]*c/.test(a)))
    add('obfuscated', `${prog} looks like a shell and is given -c: ${text}`);
  if (COMMAND_READERS.has(prog) || (VIMS.has(prog) && (prog === 'ex' || args.some((a) => /^-[a-zA-Z]*[eE]/.test(a))))) {
    if (prog !== 'sqlite3' || args.filter((a) => !a.startsWith('-')).length <= 1) stdinScript('reader', prog, run.stdin, run);
  }
  return { prog, argv };
}

function toolCtx(prog: string, args: readonly string[], flags: readonly number[], text: string, run: Run): ToolCtx {
  return {
    prog,
    args,
    flags,
    text,
    add: run.add,
    shell: (script, what) => {
      if (script === undefined) run.add('unparseable', `${what} without a command`);
      else if (script !== '' && args.some((a, i) => ((flags[i] ?? 0) & W_DYNAMIC) !== 0 && a.endsWith(script)))
        run.add('obfuscated', `${what} runs a computed string: ${text}`);
      else analyseShell(script, deeper(run, { kind: 'fd', target: `${prog}'s output` }));
    },
    writes: (target, into = false) => {
      if (target === undefined) return;
      const where = locate(target, run.scope.project, run.places.roots.home);
      if (run.places.neverWritten(target)) run.add('destructive_fs', `${prog} writes ${target}, which is never written: ${text}`);
      else if (where === 'outside')
        run.add('destructive_fs', `${prog} writes ${into ? 'into ' : ''}${target}, outside the project: ${text}`);
    },
    deletableInProject: (word, f) =>
      (f & W_DYNAMIC) === 0 &&
      !(run.cwd.moved && !word.startsWith('/')) &&
      locate(word, run.scope.project, run.places.roots.home) === 'project' &&
      !isProjectRoot(word, run.scope.project) &&
      !run.places.names(word, KEPT_FROM_DELETION) &&
      !((f & W_GLOB) !== 0 && run.places.globMayName(word, KEPT_FROM_DELETION)),
    workingFolderInProject: () => !run.cwd.moved,
    osConfined: run.scope.osConfined === true,
    stdinScript: () => stdinScript('posix', prog, run.stdin, run),
    argv: (words, wflags) => {
      if (run.depth > 8) run.add('obfuscated', `commands nested too deep: ${text}`);
      // Words taken from an option's value (`--strip-program=$S`) are computed when that value is.
      else
        classifyWords(
          words,
          wflags ??
            words.map((w) => (/[$…]/.test(w) && args.some((a, i) => ((flags[i] ?? 0) & W_DYNAMIC) !== 0 && a.includes(w)) ? W_DYNAMIC : 0)),
          deeper(run),
          [],
        );
    },
  };
}

function unwrap(
  prog: string,
  w: WrapperSpec,
  args: readonly string[],
  flags: readonly number[],
  run: Run,
  subs: readonly SimpleCommand[],
  text: string,
): Inner | undefined {
  const p = parseOptions(args, w.spec, (args[0] ?? '-').startsWith('-') ? 0 : (w.leading ?? 0));
  const ctx = toolCtx(prog, args, flags, text, run);
  if (w.loose !== true && p.unknown.length > 0) run.add('obfuscated', `${prog}: unknown option ${p.unknown[0] ?? ''}: ${text}`);
  if (w.noCommand !== undefined && has(p, ...w.noCommand)) return undefined;
  if (prog === 'chpst' && has(p, 'u', 'U')) run.add('privilege_escalation', text);
  if (has(p, 'C', 'chdir', 'D', 'working-directory', 'w', 'wd', '/')) run.cwd.moved = true;
  for (const o of p.opts) if (w.shellOption?.includes(o.name) === true) ctx.shell(o.value, `${prog} -c`);
  const split = p.opts.findLast((o) => o.name === 'S' || o.name === 'split-string');
  if (prog === 'env' && split !== undefined) {
    // env -S splits its value into the command line (the shebang form `#!/usr/bin/env -S node --flag`).
    if (split.value === undefined) run.add('unparseable', 'env -S without a command');
    else ctx.shell([split.value, ...args.slice(p.rest).map(quote)].join(' '), 'env -S');
    return undefined;
  }
  let i = p.rest;
  if (w.assignments === true) {
    if (args[i] === '-') i++;
    for (; i < args.length && /^[^=/-][^=/]*=/.test(args[i] ?? ''); i++) {
      const a = args[i] as string;
      environment(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1), ((flags[i] ?? 0) & W_DYNAMIC) !== 0, run);
    }
  }
  i += w.operands ?? 0;
  if (prog === 'flock' && (args[i] === '-c' || args[i] === '--command')) {
    ctx.shell(args[i + 1], 'flock -c');
    return undefined;
  }
  if (i >= args.length) {
    if (prog === 'env') run.add('credential_access', `dumps the environment: ${text}`);
    return prog === 'xargs' ? xargs(p, ['echo'], [0], run, text) : undefined;
  }
  if (w.joinsShell !== undefined && !has(p, ...w.joinsShell.unless)) {
    ctx.shell(args.slice(i).join(' '), prog);
    if (flags.slice(i).some((f) => (f & W_DYNAMIC) !== 0)) run.add('obfuscated', `${prog} runs a computed string: ${text}`);
    return undefined;
  }
  if (prog === 'xargs') return xargs(p, args.slice(i), flags.slice(i), run, text);
  const inner = classifyWords(args.slice(i), flags.slice(i), run, subs);
  // An option we do not know may take the next word as its value: every later word could be the command.
  if (w.loose === true && p.unknown.length > 0)
    for (let j = i + 1; j < Math.min(args.length, i + 16); j++) classifyWords(args.slice(j), flags.slice(j), run, subs);
  return inner;
}

/** xargs appends its input to the command (or puts it where `-I` says): input that becomes a program or a script is not seen. */
function xargs(p: Parsed, inner: readonly string[], flags: readonly number[], run: Run, text: string): Inner {
  const replace = p.opts.findLast((o) => o.name === 'I' || o.name === 'i' || o.name === 'replace');
  const r = replace === undefined ? undefined : (replace.value ?? '{}');
  const prog = programName(inner[0]);
  const scriptish = POSIX_SHELLS.has(prog) || OTHER_SHELLS.has(prog) || INTERPRETERS.has(prog);
  if (r !== undefined && (inner[0] ?? '').includes(r)) run.add('obfuscated', `xargs puts its input into the program name: ${text}`);
  if (scriptish) {
    const inv = INTERPRETERS.has(prog) ? interpreterInvocation(prog, inner.slice(1)) : shellInvocation(inner.slice(1));
    const script = inv.kind === 'code' && inv.attached === undefined && inv.index !== undefined ? inner[inv.index + 1] : undefined;
    // `xargs -I{} sh -c '{}'`: each input line is the script; `… sh -c 'echo {}'`: input spliced into one.
    if (r !== undefined && script !== undefined && script.trim() === r)
      run.add('pipe_to_shell', `xargs runs its input as a script: ${text}`);
    else if (r !== undefined && inner.slice(1).some((w) => w.includes(r) && w !== r))
      run.add('obfuscated', `xargs puts its input into a script: ${text}`);
    if (inv.kind === 'stdin' && r === undefined) run.add('obfuscated', `xargs supplies the script ${prog} runs: ${text}`);
  }
  if (r === undefined && XARGS_OPTIONS_MATTER.has(prog)) run.add('destructive_fs', `xargs gives ${prog} arguments from its input: ${text}`);
  if (r === undefined && (XARGS_OPAQUE.has(prog) || WRAPPERS.has(prog) || AWKS.has(prog) || (prog === 'git' && inner.length === 1))) {
    run.add('obfuscated', `xargs gives ${prog} options from its input: ${text}`);
  }
  // xargs runs the command with stdin from /dev/null.
  return classifyWords(inner, flags, { ...run, stdin: { kind: 'none' } }, []);
}

function shell(
  prog: string,
  args: readonly string[],
  flags: readonly number[],
  run: Run,
  subs: readonly SimpleCommand[],
  text: string,
): void {
  const posix = POSIX_SHELLS.has(prog);
  const inv =
    prog === 'fish'
      ? shellInvocation(args, 'cC', ['--command', '--init-command'])
      : prog === 'nu' || prog === 'nushell'
        ? shellInvocation(args, 'ce', ['--commands', '--execute'])
        : shellInvocation(args);
  invoke(posix ? 'posix' : 'code', prog, inv, args, flags, run, subs, text);
}

function interpreter(
  prog: string,
  args: readonly string[],
  flags: readonly number[],
  run: Run,
  subs: readonly SimpleCommand[],
  text: string,
): void {
  const inv = interpreterInvocation(prog, args);
  if (inv.kind === 'module') {
    const mod = inv.attached ?? args[inv.index] ?? '';
    const rest = args.slice(inv.index + 1);
    if ((mod === 'pip' && rest.some((a) => a === 'install' || a === 'download')) || mod === 'http.server' || mod === 'SimpleHTTPServer')
      run.add('network_tool', text);
    if (mod === 'timeit' || mod === 'code') run.add('inline_code', text);
    return;
  }
  if (inv.kind === 'code' && inv.encoded === true) run.add('obfuscated', `${prog} runs encoded code: ${text}`);
  invoke('code', prog, inv, args, flags, run, subs, text);
}

function invoke(
  kind: 'posix' | 'code',
  prog: string,
  inv: Invocation,
  args: readonly string[],
  flags: readonly number[],
  run: Run,
  subs: readonly SimpleCommand[],
  text: string,
): void {
  switch (inv.kind) {
    case 'code': {
      if (kind === 'code') {
        run.add('inline_code', text);
        return;
      }
      const script = inv.attached ?? (inv.index === undefined ? undefined : args[inv.index]);
      if (script === undefined) run.add('unparseable', `${prog} -c without a command`);
      // The script is computed (`sh -c "$X"`, `bash -c "$(cat f)"`): what it runs is not on the command line.
      else if (inv.index !== undefined && ((flags[inv.index] ?? 0) & W_DYNAMIC) !== 0)
        run.add('obfuscated', `${prog} -c runs a computed string: ${text}`);
      else analyseShell(script, deeper(run, run.stdin, prog === 'zsh'));
      return;
    }
    case 'stdin':
      stdinScript(kind, prog, run.stdin, run);
      return;
    case 'file':
      scriptFile(kind, prog, args[inv.index] ?? '', run, subs);
      return;
    default:
  }
}

/** A script operand: a local file runs what it holds (not classified), a process substitution is a pipe. */
function scriptFile(kind: 'posix' | 'code', prog: string, word: string, run: Run, subs: readonly SimpleCommand[]): void {
  if (/^(\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0|-)$/.test(word)) stdinScript(kind, prog, run.stdin, run);
  else if (word.includes('$(…)')) stdinScript(kind, prog, { kind: 'pipe', from: subs, outer: run.stdin }, run);
}

/** A program that reads what it runs from its stdin: a here-doc or echoed text is classified; anything else is not seen. */
function stdinScript(kind: 'posix' | 'code' | 'reader', prog: string, source: Source, run: Run): void {
  const text =
    source.kind === 'text' && !source.dynamic ? source.text : source.kind === 'pipe' ? staticOutput(source.from, source.outer) : undefined;
  if (text !== undefined) {
    if (kind === 'posix') analyseShell(text, deeper(run, { kind: 'none' }, prog === 'zsh'));
    else if (kind === 'code') run.add('inline_code', `${prog} runs code given on stdin`);
    else if (/!|\.shell|\.system|\bshell\b|\bsystem\b|\|/.test(text)) run.add('obfuscated', `${prog} runs shell commands from its input`);
    return;
  }
  if (source.kind === 'none' || (kind === 'reader' && prog === 'sqlite3')) return;
  if (source.kind === 'text') {
    run.add('obfuscated', `${prog} reads a ${source.via} with expansions`);
    return;
  }
  if (source.kind === 'pipe' && upstream(source.from).some((c) => c.argv.some((a) => DECODERS.has(programName(a)))))
    run.add('obfuscated', `${prog} runs decoded input`);
  const from =
    source.kind === 'pipe'
      ? 'a pipe'
      : source.kind === 'file'
        ? source.target
        : source.kind === 'fd'
          ? `descriptor ${source.target}`
          : 'the stdin the extension writes';
  run.add('pipe_to_shell', `${prog} reads what it runs from ${from}`);
}

/** What a pipe stage prints when that is on the command line: `echo …`, `printf '…'`, `cat <<EOF`. */
function staticOutput(from: readonly SimpleCommand[], outer: Source, toFile = false): string | undefined {
  if (from.length !== 1) return undefined;
  const c = from[0] as SimpleCommand;
  // toFile: what the command writes to the file it redirects stdout to; otherwise what goes down the pipe.
  if (c.flags.some((f) => (f & (W_DYNAMIC | W_GLOB)) !== 0) || (!toFile && c.redirects.some((r) => r.fd === 1))) return undefined;
  const prog = programName(c.argv[0]);
  const args = c.argv.slice(1);
  if (prog === 'echo') {
    let i = 0;
    let newline = true;
    for (; i < args.length && /^-[neE]+$/.test(args[i] ?? ''); i++) {
      if (args[i]?.includes('n') === true) newline = false;
      if (args[i]?.includes('e') === true) return undefined;
    }
    const words = args.slice(i);
    return words.some((w) => w.includes('\\')) ? undefined : `${words.join(' ')}${newline ? '\n' : ''}`;
  }
  if (prog === 'printf') {
    const fmt = args[0];
    if (fmt === undefined || args.length > 1 || fmt.startsWith('-') || /%(?!%)/.test(fmt) || /\\[^nt\\]/.test(fmt)) return undefined;
    return fmt.replace(/%%/g, '%').replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\\\/g, '\\');
  }
  if (prog === 'cat' && args.every((a) => a === '-')) {
    const s = resolve(c.stdin, outer);
    if (s.kind === 'text' && !s.dynamic) return s.text;
    if (s.kind === 'pipe') return staticOutput(s.from, s.outer);
  }
  return undefined;
}

/** Words matched without knowing the user's folders: `~/`, `$HOME/` and dot-named places anywhere. */
const NO_ROOTS = new PlaceWords();

/**
 * Classifies an exec call as it would run (Node semantics: `shell: true` joins cmd and args into one string).
 * `places`: the sensitive places with this user's home, agent and pi-warden folders, so `/home/u/bin/x` is `~/bin/x`.
 * `scope`: the project the command may change and whether the OS confines the child to it.
 */
export function analyseExec(
  params: {
    cmd: string;
    args?: readonly string[];
    shell?: boolean;
    detached?: boolean;
    stdin?: string;
    env?: Readonly<Record<string, string>>;
  },
  method: 'exec' | 'exec.spawn' = 'exec',
  places: PlaceWords = NO_ROOTS,
  scope: ExecScope = {},
): ExecAnalysis {
  const evidence: Array<{ class: ExecClass; detail: string }> = [];
  const addEvidence: Add = (c, detail) => {
    if (!evidence.some((e) => e.class === c)) evidence.push({ class: c, detail });
  };
  const stdin: Source =
    typeof params.stdin === 'string'
      ? { kind: 'text', via: 'stdin option', text: params.stdin, dynamic: false }
      : method === 'exec.spawn'
        ? { kind: 'stream' }
        : { kind: 'none' };
  const run: Run = { add: addEvidence, depth: 0, stdin, zsh: false, budget: { n: 2000 }, cwd: { moved: false }, places, scope };
  for (const [k, v] of Object.entries(params.env ?? {})) if (typeof v === 'string') environment(k, v, false, run);
  const argv = [params.cmd, ...(params.args ?? [])];
  if (params.shell === true) analyseShell(argv.join(' '), run);
  else classifyWords(argv, zeros(argv.length), run, []);
  if (params.detached === true) addEvidence('background', 'detached: true');
  const programs = params.shell === true ? ['sh'] : [programName(params.cmd)];
  return { classes: evidence.map((e) => e.class), evidence, programs };
}
