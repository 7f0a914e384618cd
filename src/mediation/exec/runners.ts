/**
 * Task runners that run another command (`uv run CMD`, `poetry run CMD`, `bundle exec CMD`, `npm exec -- CMD`,
 * `npx CMD`, `pnpm dlx CMD`): the command they run is classified like the command itself. Options known to take
 * a value are skipped; an option we do not know may take the next word, so every later word is read as the
 * command too (stricter, never looser). A runner that fetches the package it runs stays `network_tool`.
 */
import { parseOptions, type OptSpec } from './options.ts';
import type { ToolCtx } from './tools.ts';

interface Runner {
  /** The subcommand that runs a command (`run`, `exec`, `dlx`); empty: the program itself (`npx`). */
  readonly subs: readonly string[];
  readonly spec: OptSpec;
  /** Options whose value is a shell command string (`npm exec -c 'cmd'`). */
  readonly shellOption?: readonly string[];
  /** Options after which the operands are one shell command string (`pnpm dlx -c`). */
  readonly shellFlag?: readonly string[];
  /** Options that make the first operand a Python module (`uv run -m http.server`). */
  readonly module?: readonly string[];
}

const NPX: OptSpec = {
  flags: 'yq',
  values: 'pc',
  long: ['yes', 'no', 'quiet', 'ignore-existing', 'prefer-online', 'prefer-offline', 'offline', 'workspaces', 'include-workspace-root'],
  longValues: ['package', 'call', 'shell', 'workspace', 'cache', 'registry', 'userconfig', 'loglevel'],
};
const UV: OptSpec = {
  flags: 'mqvs',
  values: 'pw',
  long: [
    'module',
    'script',
    'gui-script',
    'isolated',
    'no-project',
    'no-sync',
    'frozen',
    'locked',
    'all-extras',
    'no-dev',
    'dev',
    'active',
    'no-active',
    'exact',
    'no-editable',
    'quiet',
    'verbose',
    'offline',
    'no-cache',
    'native-tls',
    'all-packages',
    'only-dev',
    'no-default-groups',
    'all-groups',
  ],
  longValues: [
    'with',
    'with-editable',
    'with-requirements',
    'python',
    'package',
    'extra',
    'group',
    'only-group',
    'no-group',
    'env-file',
    'directory',
    'project',
    'index',
    'default-index',
    'index-url',
    'extra-index-url',
    'find-links',
    'cache-dir',
    'config-file',
    'color',
    'resolution',
    'prerelease',
    'python-preference',
  ],
};

const RUNNERS: ReadonlyMap<string, Runner> = new Map<string, Runner>([
  ['npx', { subs: [], spec: NPX, shellOption: ['c', 'call'] }],
  ['pnpx', { subs: [], spec: NPX, shellOption: ['c', 'call'] }],
  ['bunx', { subs: [], spec: { flags: 'b', long: ['bun', 'silent', 'verbose', 'no-install'], longValues: ['package'], values: 'p' } }],
  ['uvx', { subs: [], spec: { ...UV, longValues: [...(UV.longValues ?? []), 'from'] } }],
  ['npm', { subs: ['exec', 'x'], spec: NPX, shellOption: ['c', 'call'] }],
  [
    'pnpm',
    {
      subs: ['dlx', 'exec'],
      spec: { flags: 'crs', long: ['recursive', 'parallel', 'shell-mode', 'silent'], longValues: ['package', 'filter', 'dir'] },
      shellFlag: ['c', 'shell-mode'],
    },
  ],
  ['yarn', { subs: ['dlx', 'exec'], spec: { flags: 'pq', long: ['quiet'], longValues: ['package'], values: 'p' } }],
  ['bun', { subs: ['x'], spec: { long: ['bun', 'silent', 'verbose', 'no-install'], longValues: ['package'], values: 'p' } }],
  ['uv', { subs: ['run'], spec: UV, module: ['m', 'module'] }],
  ['uv tool', { subs: ['run'], spec: { ...UV, longValues: [...(UV.longValues ?? []), 'from'] } }],
  [
    'poetry',
    {
      subs: ['run'],
      spec: {
        flags: 'qvn',
        long: ['quiet', 'verbose', 'no-interaction', 'no-ansi', 'ansi', 'no-plugins', 'no-cache'],
        longValues: ['directory', 'project'],
        values: 'CP',
      },
    },
  ],
  ['pipenv', { subs: ['run'], spec: { long: ['system', 'verbose', 'quiet'], longValues: ['python'] } }],
  [
    'pdm',
    {
      subs: ['run'],
      spec: {
        flags: 'lvqgs',
        long: ['list', 'json', 'global', 'site-packages', 'verbose', 'quiet'],
        longValues: ['project', 'venv'],
        values: 'p',
      },
    },
  ],
  ['hatch', { subs: ['run'], spec: { long: ['verbose', 'quiet'], longValues: ['env'], values: 'e' } }],
  ['bundle', { subs: ['exec'], spec: { long: ['keep-file-descriptors', 'gemfile'] } }],
  ['bundler', { subs: ['exec'], spec: { long: ['keep-file-descriptors', 'gemfile'] } }],
]);

export const RUNNER_NAMES: readonly string[] = [...RUNNERS.keys()].filter((n) => !n.includes(' '));

/** Global options before the subcommand that take a value (`poetry -C dir run`, `uv --directory d run`, `pnpm --dir d dlx`). */
const GLOBAL_VALUES =
  /^(-C|-P|--directory|--project|--dir|--prefix|--cwd|--filter|-F|--workspace|-w|--python|--color|--cache-dir|--config-file)$/;

export function runner(c: ToolCtx): void {
  let args = c.args;
  let flags = c.flags;
  let name = c.prog;
  let skip = 0;
  for (let round = 0; round < 2; round++) {
    const r = RUNNERS.get(name);
    if (r === undefined) return;
    if (r.subs.length > 0) {
      let i = 0;
      while (i < args.length && (args[i] as string).startsWith('-')) i += GLOBAL_VALUES.test(args[i] as string) ? 2 : 1;
      const sub = args[i];
      if (sub === 'tool' && name === 'uv') {
        name = 'uv tool';
        args = args.slice(i + 1);
        flags = flags.slice(i + 1);
        continue;
      }
      if (sub === undefined || !r.subs.includes(sub)) return;
      skip = i + 1;
    }
    run(c, r, args.slice(skip), flags.slice(skip));
    return;
  }
}

function run(c: ToolCtx, r: Runner, args: readonly string[], flags: readonly number[]): void {
  const p = parseOptions(args, { ...r.spec, stopAtOperand: true });
  for (const o of p.opts)
    if (r.shellOption?.includes(o.name) === true) c.shell(o.value, `${c.prog} ${o.name.length === 1 ? '-' : '--'}${o.name}`);
  const rest = args.slice(p.rest);
  const restFlags = flags.slice(p.rest);
  if (rest.length === 0) return;
  if (p.opts.some((o) => r.shellFlag?.includes(o.name) === true)) c.shell(rest.join(' '), `${c.prog} -c`);
  else if (p.opts.some((o) => r.module?.includes(o.name) === true)) c.argv(['python', '-m', ...rest], [0, 0, ...restFlags]);
  else c.argv(rest, restFlags);
  // An option we do not know may take the next word as its value: every later word could be the command.
  if (p.unknown.length > 0) for (let j = 1; j < Math.min(rest.length, 16); j++) c.argv(rest.slice(j), restFlags.slice(j));
}
