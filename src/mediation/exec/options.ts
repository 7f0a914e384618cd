/**
 * Command-line options the way getopt_long reads them (short clusters, `-oVALUE`/`-o VALUE`, `--long=value`,
 * `--long value`, long options by unique prefix: `rm --recur` is `--recursive`), and the option tables of the
 * wrappers whose operand is another command (`timeout -s KILL 5 cmd`, `env -u X cmd`, `xargs -I {} cmd`).
 */

export interface OptSpec {
  /** Short options without a value. */
  readonly flags?: string;
  /** Short options with a value: the rest of the cluster, else the next word. */
  readonly values?: string;
  /** Short options whose value can only be attached (`xargs -i{}`, `sed -i.bak`). */
  readonly optional?: string;
  readonly long?: readonly string[];
  /** `--name=value` or `--name value`. */
  readonly longValues?: readonly string[];
  /** `--name[=value]`. */
  readonly longOptional?: readonly string[];
  /** Stop at the first operand (getopt `+`, as wrappers do); otherwise options may follow operands. */
  readonly stopAtOperand?: boolean;
  /** `-NUM` is an option (`nice -10`). */
  readonly numeric?: boolean;
}

export interface Opt {
  readonly name: string;
  readonly value: string | undefined;
}

export interface Parsed {
  readonly opts: Opt[];
  /** Indices of the operands (with stopAtOperand: only the first, then parsing stops). */
  readonly operands: number[];
  /** Options the spec does not know, or ambiguous abbreviations. */
  readonly unknown: string[];
  /** Index of the first word not consumed by option parsing (args.length when none). */
  readonly rest: number;
}

/** The long option `name` abbreviates (getopt_long: an exact match, else the only option it is a prefix of). */
export function resolveLong(name: string, spec: OptSpec): { name: string; kind: 'flag' | 'value' | 'optional' } | undefined {
  const lists: Array<[readonly string[] | undefined, 'flag' | 'value' | 'optional']> = [
    [spec.long, 'flag'],
    [spec.longValues, 'value'],
    [spec.longOptional, 'optional'],
  ];
  let found: { name: string; kind: 'flag' | 'value' | 'optional' } | undefined;
  for (const [list, kind] of lists) {
    for (const o of list ?? []) {
      if (o === name) return { name: o, kind };
      if (o.startsWith(name) && name.length > 0) {
        if (found !== undefined) return undefined;
        found = { name: o, kind };
      }
    }
  }
  return found;
}

/** Does `--word` (or `--word=value`) abbreviate `option` (`--rec` → `--recursive`)? For checks on one option. */
export function isLong(word: string, option: string, minLength = 3): boolean {
  if (!word.startsWith('--')) return false;
  const eq = word.indexOf('=');
  const name = eq < 0 ? word : word.slice(0, eq);
  return name.length >= Math.min(minLength, option.length) && option.startsWith(name);
}

export function parseOptions(args: readonly string[], spec: OptSpec, start = 0): Parsed {
  const opts: Opt[] = [];
  const operands: number[] = [];
  const unknown: string[] = [];
  let rest = args.length;
  for (let i = start; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      rest = i + 1;
      if (!spec.stopAtOperand) for (let j = i + 1; j < args.length; j++) operands.push(j);
      break;
    }
    if (spec.numeric === true && /^--?\d+$/.test(a)) {
      opts.push({ name: 'NUM', value: a.replace(/^-+/, '') });
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const r = resolveLong(name, spec);
      if (r === undefined || (r.kind === 'flag' && eq >= 0)) {
        unknown.push(a);
        continue;
      }
      const value = r.kind === 'flag' ? undefined : eq >= 0 ? a.slice(eq + 1) : r.kind === 'value' ? args[++i] : undefined;
      opts.push({ name: r.name, value });
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        if (spec.values?.includes(c) === true) {
          opts.push({ name: c, value: j + 1 < a.length ? a.slice(j + 1) : args[++i] });
          break;
        }
        if (spec.optional?.includes(c) === true) {
          opts.push({ name: c, value: j + 1 < a.length ? a.slice(j + 1) : undefined });
          break;
        }
        if (spec.flags?.includes(c) !== true) unknown.push(`-${c}`);
        opts.push({ name: c, value: undefined });
      }
      continue;
    }
    if (spec.stopAtOperand === true) {
      rest = i;
      operands.push(i);
      break;
    }
    operands.push(i);
  }
  return { opts, operands, unknown, rest };
}

export const has = (p: Parsed, ...names: string[]): boolean => p.opts.some((o) => names.includes(o.name));
export const valueOf = (p: Parsed, ...names: string[]): string | undefined => p.opts.findLast((o) => names.includes(o.name))?.value;

/** A wrapper: options, then `operands` words of its own, then the command it runs. */
export interface WrapperSpec {
  readonly spec: OptSpec;
  /** Operands before the command (`timeout DURATION`, `taskset MASK`, `chrt PRIORITY`, `flock FILE`, `gosu USER`). */
  readonly operands?: number;
  /** Operands before the options, unless the first word is an option (`setarch ARCH -R cmd`, `setarch -R cmd`). */
  readonly leading?: number;
  /** Options after which no command runs (`command -v`, `taskset -p`, `ionice -p`). */
  readonly noCommand?: readonly string[];
  /** Options whose value is a shell command string (`flock -c`, `su -c`). */
  readonly shellOption?: readonly string[];
  /** The remaining words are one shell command string (`watch`, `sg`), unless one of these options is given. */
  readonly joinsShell?: { readonly unless: readonly string[] };
  /** `NAME=value` words before the command (env). */
  readonly assignments?: boolean;
  /** Option tables we keep partial (many rarely used options): an unknown option does not fail closed, every later word is scanned instead. */
  readonly loose?: boolean;
}

const W = (spec: OptSpec, more: Omit<WrapperSpec, 'spec'> = {}): WrapperSpec => ({ spec: { stopAtOperand: true, ...spec }, ...more });

export const WRAPPERS: ReadonlyMap<string, WrapperSpec> = new Map<string, WrapperSpec>([
  [
    'env',
    W(
      {
        flags: 'i0v',
        values: 'uCS',
        long: ['ignore-environment', 'null', 'debug', 'list-signal-handling', 'help', 'version'],
        longValues: ['unset', 'chdir', 'split-string'],
        longOptional: ['block-signal', 'default-signal', 'ignore-signal'],
      },
      { assignments: true },
    ),
  ],
  ['command', W({ flags: 'pvV' }, { noCommand: ['v', 'V'] })],
  ['builtin', W({})],
  ['exec', W({ flags: 'cl', values: 'a' })],
  ['nice', W({ values: 'n', longValues: ['adjustment'], long: ['help', 'version'], numeric: true })],
  [
    'ionice',
    W(
      { flags: 'tPu', values: 'cnpPu', longValues: ['class', 'classdata', 'pid', 'pgid', 'uid'], long: ['ignore', 'help', 'version'] },
      { noCommand: ['p', 'P', 'u', 'pid', 'pgid', 'uid'] },
    ),
  ],
  [
    'chrt',
    W(
      {
        flags: 'abdfimopRrve',
        values: 'TPD',
        long: [
          'all-tasks',
          'batch',
          'deadline',
          'fifo',
          'idle',
          'max',
          'other',
          'pid',
          'reset-on-fork',
          'rr',
          'verbose',
          'ext',
          'help',
          'version',
        ],
        longValues: ['sched-runtime', 'sched-period', 'sched-deadline'],
      },
      { operands: 1, noCommand: ['p', 'pid', 'm', 'max'] },
    ),
  ],
  ['taskset', W({ flags: 'acp', long: ['all-tasks', 'cpu-list', 'pid', 'help', 'version'] }, { operands: 1, noCommand: ['p', 'pid'] })],
  ['stdbuf', W({ values: 'ioe', longValues: ['input', 'output', 'error'], long: ['help', 'version'] })],
  [
    'timeout',
    W(
      {
        flags: 'v',
        values: 'ks',
        long: ['foreground', 'preserve-status', 'verbose', 'help', 'version'],
        longValues: ['kill-after', 'signal'],
      },
      { operands: 1 },
    ),
  ],
  [
    'time',
    W({
      flags: 'apqvV',
      values: 'fo',
      long: ['append', 'portability', 'quiet', 'verbose', 'version', 'help'],
      longValues: ['format', 'output'],
    }),
  ],
  [
    'xargs',
    W({
      flags: '0prtxo',
      values: 'aEdILnPs',
      optional: 'eil',
      long: ['null', 'interactive', 'no-run-if-empty', 'verbose', 'exit', 'show-limits', 'open-tty', 'help', 'version'],
      longValues: ['arg-file', 'delimiter', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
      longOptional: ['eof', 'replace', 'max-lines'],
    }),
  ],
  ['nohup', W({ long: ['help', 'version'] })],
  // `setarch [ARCH] [options] cmd` (util-linux reads the architecture first); linux32, linux64, i386 and x86_64 take none.
  ...['setarch', 'linux32', 'linux64', 'i386', 'x86_64'].map(
    (name) =>
      [
        name,
        W(
          {
            flags: '3BFILRSTXZv',
            long: [
              'addr-no-randomize',
              'fdpic-funcptrs',
              'mmap-page-zero',
              'addr-compat-layout',
              'read-implies-exec',
              '32bit',
              'short-inode',
              'whole-seconds',
              'sticky-timeouts',
              'uname-2.6',
              'verbose',
              'list',
              'help',
              'version',
            ],
          },
          { leading: name === 'setarch' ? 1 : 0, noCommand: ['list', 'help', 'version'] },
        ),
      ] as [string, WrapperSpec],
  ),
  ['setsid', W({ flags: 'cfw', long: ['ctty', 'fork', 'wait', 'help', 'version'] })],
  [
    'flock',
    W(
      {
        flags: 'sxeunoFv',
        values: 'wEc',
        long: ['shared', 'exclusive', 'unlock', 'nonblock', 'nb', 'no-fork', 'close', 'verbose', 'help', 'version'],
        longValues: ['wait', 'timeout', 'conflict-exit-code', 'command'],
      },
      { operands: 1, shellOption: ['c', 'command'] },
    ),
  ],
  ['busybox', W({ long: ['list', 'list-full', 'install', 'help'] }, { noCommand: ['list', 'list-full', 'install', 'help'] })],
  ['toybox', W({ long: ['long', 'help', 'version'] }, { noCommand: ['long', 'help', 'version'] })],
  [
    'watch',
    W(
      {
        flags: 'bcCegptwxr',
        optional: 'd',
        values: 'nq',
        long: ['beep', 'color', 'no-color', 'errexit', 'chgexit', 'precise', 'no-title', 'no-wrap', 'exec', 'no-rerun', 'help', 'version'],
        longValues: ['interval', 'equexit'],
        longOptional: ['differences'],
      },
      { joinsShell: { unless: ['x', 'exec'] } },
    ),
  ],
  // Privilege changers: denied whatever they run; their command is still classified for the evidence.
  [
    'sudo',
    W(
      {
        flags: 'AbEeHhiKklnPSsVv',
        values: 'CDgpRrTtUu',
        long: [
          'askpass',
          'background',
          'edit',
          'set-home',
          'login',
          'remove-timestamp',
          'reset-timestamp',
          'list',
          'non-interactive',
          'preserve-groups',
          'stdin',
          'shell',
          'version',
          'validate',
          'help',
        ],
        longValues: ['close-from', 'chdir', 'group', 'host', 'prompt', 'role', 'chroot', 'type', 'command-timeout', 'other-user', 'user'],
        longOptional: ['preserve-env'],
      },
      { noCommand: ['e', 'edit', 'l', 'list', 'v', 'validate', 'k', 'K'] },
    ),
  ],
  ['doas', W({ flags: 'Lns', values: 'Cu' })],
  [
    'run0',
    W(
      {
        flags: 'uDg',
        longValues: ['user', 'group', 'unit', 'property', 'description', 'slice', 'nice', 'chdir', 'setenv', 'background'],
        long: ['slice-inherit', 'no-ask-password', 'help', 'version'],
      },
      { loose: true },
    ),
  ],
  ['pkexec', W({ longValues: ['user'], long: ['disable-internal-agent', 'keep-cwd', 'version', 'help'] })],
  ['gosu', W({}, { operands: 1 })],
  ['su-exec', W({}, { operands: 1 })],
  ['chpst', W({ flags: 'vP012', values: 'uUbe/nlLmdopfcrt' })],
  ['chroot', W({ longValues: ['userspec', 'groups'], long: ['skip-chdir', 'help', 'version'] }, { operands: 1 })],
  [
    'setpriv',
    W(
      {
        flags: 'd',
        long: ['clear-groups', 'keep-groups', 'init-groups', 'no-new-privs', 'nnp', 'reset-env', 'dump', 'help', 'version'],
        longValues: [
          'reuid',
          'ruid',
          'euid',
          'regid',
          'rgid',
          'egid',
          'groups',
          'inh-caps',
          'ambient-caps',
          'bounding-set',
          'securebits',
          'pdeathsig',
          'selinux-label',
          'apparmor-profile',
          'landlock-access',
          'landlock-rule',
          'ptracer',
        ],
      },
      { loose: true },
    ),
  ],
  [
    'unshare',
    W({ flags: 'imnpuUCTfrc', long: ['fork', 'map-root-user', 'map-current-user', 'kill-child', 'mount-proc'] }, { loose: true }),
  ],
  ['nsenter', W({ flags: 'amuinpUCTrwFZ', values: 'tSG', longValues: ['target', 'setuid', 'setgid'] }, { loose: true })],
  [
    'systemd-run',
    W(
      {
        flags: 'rtPGqdS',
        values: 'upEHM',
        longValues: [
          'unit',
          'property',
          'description',
          'slice',
          'uid',
          'gid',
          'nice',
          'working-directory',
          'setenv',
          'machine',
          'host',
          'service-type',
          'on-active',
          'on-boot',
          'on-startup',
          'on-unit-active',
          'on-unit-inactive',
          'on-calendar',
          'timer-property',
          'path-property',
          'socket-property',
        ],
      },
      { loose: true },
    ),
  ],
  ['strace', W({ flags: 'cCdDfFhiqrtTvVwxyYZk', values: 'abeEIoOpPsSuUX' }, { loose: true })],
  ['ltrace', W({ flags: 'bcCfhiLrStTV', values: 'aAeEflnopsuwxXD' }, { loose: true })],
  ['valgrind', W({}, { loose: true })],
  ['prlimit', W({ values: 'p' }, { loose: true, noCommand: ['p', 'pid'] })],
  ['numactl', W({ flags: 'alsH', values: 'CimNpP' }, { loose: true })],
  ['fakeroot', W({ flags: 'uv', values: 'lsi', longValues: ['lib', 'faked'] }, { loose: true })],
  ['faketime', W({ flags: 'fm', values: 'p' }, { loose: true, operands: 1 })],
  ['unbuffer', W({ flags: 'p' }, { loose: true })],
  ['eatmydata', W({}, { loose: true })],
  ['catchsegv', W({}, { loose: true })],
  ['dbus-run-session', W({ longValues: ['config-file', 'dbus-daemon'] }, { loose: true })],
  ['ssh-agent', W({ flags: 'cDdk', values: 'aEPt' }, { loose: true })],
  ['proxychains', W({ flags: 'q', values: 'f' }, { loose: true })],
  ['proxychains4', W({ flags: 'q', values: 'f' }, { loose: true })],
  ['torsocks', W({ flags: 'diq', values: 'uapP' }, { loose: true })],
  ['firejail', W({}, { loose: true })],
  ['bwrap', W({}, { loose: true })],
  ['caffeinate', W({ flags: 'dimsu', values: 'tw' }, { loose: true })],
  ['cgexec', W({ values: 'g', long: ['sticky'] }, { loose: true })],
]);
