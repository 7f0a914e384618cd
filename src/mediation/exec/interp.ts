/**
 * How a shell or an interpreter is asked to run code: a `-c` string (in any option form: `-c`, `-ec`, `-Ic`,
 * `-cCODE`, `--eval=`), a script file, or its standard input (no script operand, `-s`, `-`, `/dev/stdin`).
 */

export type Invocation =
  /** Code on the command line: its index in args (undefined: missing). */
  | { readonly kind: 'code'; readonly index: number | undefined; readonly attached?: string; readonly encoded?: boolean }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'file'; readonly index: number }
  /** `python -m module`: runs an installed module (its name attached, or at index). */
  | { readonly kind: 'module'; readonly index: number; readonly attached?: string };

const STDIN_FILES = /^(-|\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0)$/;
const file = (args: readonly string[], i: number): Invocation =>
  STDIN_FILES.test(args[i] ?? '') ? { kind: 'stdin' } : { kind: 'file', index: i };

/**
 * A shell's arguments: `-c` anywhere in an option cluster makes the first operand the script; `-s` or no operand
 * reads stdin; otherwise the first operand is a script file. `-o`/`-O` and `--rcfile`/`--init-file` take a value.
 * `codeLong` names long options that carry code (fish `--command`, `--init-command`).
 */
export function shellInvocation(args: readonly string[], codeLetters = 'c', codeLong: readonly string[] = []): Invocation {
  let code = false;
  let stdin = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--' || a === '-')
      return code
        ? { kind: 'code', index: i + 1 < args.length ? i + 1 : undefined }
        : stdin || i + 1 >= args.length
          ? { kind: 'stdin' }
          : file(args, i + 1);
    if (a.startsWith('--')) {
      const name = a.split('=')[0] as string;
      if (codeLong.includes(name))
        return a.includes('=')
          ? { kind: 'code', index: i, attached: a.slice(name.length + 1) }
          : { kind: 'code', index: i + 1 < args.length ? i + 1 : undefined };
      if (name === '--rcfile' || name === '--init-file') i++;
      continue;
    }
    if (/^[-+][a-zA-Z]+$/.test(a)) {
      if (a.startsWith('-') && [...codeLetters].some((l) => a.includes(l))) code = true;
      if (a.startsWith('-') && a.includes('s')) stdin = true;
      if (/[oO]$/.test(a)) i++;
      continue;
    }
    if (code) return { kind: 'code', index: i };
    return stdin ? { kind: 'stdin' } : file(args, i);
  }
  return code ? { kind: 'code', index: undefined } : { kind: 'stdin' };
}

interface InterpSpec {
  /** Short options that carry code (`-c`, `-e`, `-p`). */
  readonly code: string;
  /** Short options with a value: the rest of the cluster, else the next word. */
  readonly values?: string;
  /** Short options whose value can only be attached (perl `-l`, `-0`, `-M`). */
  readonly attached?: string;
  /** After this option's value the remaining words belong to the module (`python -m`). */
  readonly module?: string;
  readonly codeLong?: readonly string[];
  readonly longValues?: readonly string[];
}

const PY: InterpSpec = { code: 'c', values: 'WXm', module: 'm', longValues: ['--check-hash-based-pycs'] };
const NODE: InterpSpec = {
  code: 'ep',
  values: 'rC',
  codeLong: ['--eval', '--print'],
  longValues: [
    '--require',
    '--import',
    '--loader',
    '--experimental-loader',
    '--conditions',
    '--input-type',
    '--env-file',
    '--env-file-if-exists',
    '--title',
    '--openssl-config',
    '--icu-data-dir',
    '--redirect-warnings',
    '--report-dir',
    '--diagnostic-dir',
    '--disable-warning',
    '--watch-path',
    '--test-reporter',
    '--test-reporter-destination',
    '--test-name-pattern',
    '--test-skip-pattern',
    '--localstorage-file',
    '--allow-fs-read',
    '--allow-fs-write',
    '--run',
    '--cwd',
    '--config',
    '--preload',
  ],
};
const SPECS: Readonly<Record<string, InterpSpec>> = {
  python: PY,
  python2: PY,
  python3: PY,
  pypy: PY,
  pypy3: PY,
  ipython: { code: 'c', values: 'm', module: 'm' },
  node: NODE,
  nodejs: NODE,
  bun: NODE,
  'ts-node': NODE,
  tsx: NODE,
  perl: { code: 'eE', values: 'I', attached: 'MmlixCdDF0' },
  ruby: { code: 'e', values: 'IrCE', attached: 'KTWxil0F' },
  irb: { code: '' },
  php: { code: 'rBRE', values: 'cdfzFtS' },
  lua: { code: 'e', values: 'l' },
  luajit: { code: 'e', values: 'lbj' },
  osascript: { code: 'e', values: 'ls' },
  expect: { code: 'c', values: 'f' },
  tclsh: { code: '' },
  wish: { code: '' },
  jshell: { code: '' },
  rscript: { code: 'e' },
  r: { code: 'e', values: 'f' },
  julia: { code: 'eE', values: 'LJCtp', codeLong: ['--eval', '--print'] },
  elixir: { code: 'e', values: 'r', codeLong: ['--eval'] },
  iex: { code: 'e', values: 'r', codeLong: ['--eval'] },
  guile: { code: 'c', values: 'Lls' },
  racket: { code: 'e', values: 'ftlr', codeLong: ['--eval'] },
  sbcl: { code: '', codeLong: ['--eval'] },
  groovy: { code: 'e' },
};

/** How an interpreter (node, python, perl, …) is asked to run code. Unknown interpreters: any `-e`/`-c` is code. */
export function interpreterInvocation(prog: string, args: readonly string[]): Invocation {
  // node/bun/deno load `data:` URLs as modules (`--import data:…`): code on the command line.
  const data = args.findIndex((a) => /^(--[\w-]+=)?data:/i.test(a));
  if (data >= 0) return { kind: 'code', index: data };
  if (prog === 'pwsh' || prog === 'powershell') return powershell(args);
  if (prog === 'deno') return deno(args);
  if (prog === 'erl')
    return args.some((a) => a === '-eval' || a === '-s' || a === '-run')
      ? { kind: 'code', index: args.findIndex((a) => a === '-eval') + 1 }
      : { kind: 'file', index: 0 };
  const spec = SPECS[prog] ?? { code: 'ce' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') return i + 1 < args.length ? file(args, i + 1) : { kind: 'stdin' };
    if (a === '-') return { kind: 'stdin' };
    if (a.startsWith('--')) {
      const name = a.split('=')[0] as string;
      if (spec.codeLong?.includes(name) === true)
        return {
          kind: 'code',
          index: a.includes('=') ? i : i + 1 < args.length ? i + 1 : undefined,
          ...(a.includes('=') ? { attached: a.slice(name.length + 1) } : {}),
        };
      if (spec.longValues?.includes(name) === true && !a.includes('=')) i++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j] as string;
        if (spec.code.includes(ch))
          return j + 1 < a.length
            ? { kind: 'code', index: i, attached: a.slice(j + 1) }
            : { kind: 'code', index: i + 1 < args.length ? i + 1 : undefined };
        // perl -M'Foo;system(…)' becomes `use Foo;system(…);`: a module name that is not a name is code.
        if ((ch === 'M' || ch === 'm') && prog === 'perl' && /[^\w:=,\-'"]/.test(a.slice(j + 1)))
          return { kind: 'code', index: i, attached: a.slice(j + 1) };
        if (spec.attached?.includes(ch) === true) break;
        if (spec.values?.includes(ch) === true) {
          if (spec.module?.includes(ch) === true)
            return j + 1 < a.length ? { kind: 'module', index: i, attached: a.slice(j + 1) } : { kind: 'module', index: i + 1 };
          if (j + 1 >= a.length) i++;
          break;
        }
      }
      continue;
    }
    return file(args, i);
  }
  return { kind: 'stdin' };
}

/** pwsh takes parameters by any unambiguous prefix, case-insensitively: `-c`, `-Com`, `-e`/`-ec` (base64). */
function powershell(args: readonly string[]): Invocation {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!/^[-/]/.test(a)) return file(args, i);
    const name = a.slice(1).toLowerCase();
    if (name === '') continue;
    if (name.startsWith('ex')) {
      i++;
      continue;
    }
    if ('encodedcommand'.startsWith(name) || name === 'ec') return { kind: 'code', index: i + 1, encoded: true };
    if ('command'.startsWith(name) || 'commandwithargs'.startsWith(name) || name === 'cwa')
      return { kind: 'code', index: i + 1 < args.length ? i + 1 : undefined };
    if ('file'.startsWith(name)) return args[i + 1] === '-' ? { kind: 'stdin' } : file(args, i + 1);
    if (
      [
        'configurationname',
        'custompipename',
        'inputformat',
        'outputformat',
        'settingsfile',
        'workingdirectory',
        'windowstyle',
        'version',
      ].some((p) => p.startsWith(name))
    )
      i++;
  }
  return { kind: 'stdin' };
}

function deno(args: readonly string[]): Invocation {
  const sub = args.findIndex((a) => !a.startsWith('-'));
  const name = args[sub] ?? '';
  if (name === 'eval' || args.some((a) => a === '--eval' || a.startsWith('--eval='))) return { kind: 'code', index: sub + 1 };
  if (name === 'run' || name === 'x') {
    const target = args.slice(sub + 1).findIndex((a) => !a.startsWith('-'));
    return target < 0 ? { kind: 'stdin' } : file(args, sub + 1 + target);
  }
  return sub < 0 ? { kind: 'stdin' } : { kind: 'file', index: sub };
}
