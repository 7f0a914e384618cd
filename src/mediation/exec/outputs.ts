/**
 * Exec mediation for programs that write a file or folder named by an option (`sort -o F`, `unzip -d D`,
 * `csplit -f PREFIX`) or that install something run later (`crontab F`, `at now`, `systemctl --user enable`,
 * `npm config set script-shell`). A write to a never-written place or outside the project is `destructive_fs`
 * (ToolCtx.writes); a schedule or unit installed to run later is `destructive_fs` too: it is a file that runs later,
 * outside any sandbox the call ran in.
 */
import { isLong, parseOptions, valueOf, type OptSpec } from './options.ts';
import type { ToolCtx } from './tools.ts';

const SORT: OptSpec = {
  flags: 'bcCdfghiMmnrRsuVz',
  values: 'koStT',
  long: [
    'ignore-leading-blanks',
    'dictionary-order',
    'ignore-case',
    'general-numeric-sort',
    'ignore-nonprinting',
    'month-sort',
    'human-numeric-sort',
    'numeric-sort',
    'random-sort',
    'reverse',
    'version-sort',
    'merge',
    'stable',
    'unique',
    'zero-terminated',
    'debug',
    'help',
    'version',
  ],
  longValues: [
    'key',
    'output',
    'buffer-size',
    'field-separator',
    'temporary-directory',
    'random-source',
    'files0-from',
    'parallel',
    'sort',
    'batch-size',
    'compress-program',
  ],
  longOptional: ['check'],
};
export function sort(c: ToolCtx): void {
  const p = parseOptions(c.args, SORT);
  for (const o of p.opts) if (o.name === 'o' || o.name === 'output') c.writes(o.value);
  const compress = valueOf(p, 'compress-program');
  if (compress !== undefined) c.argv([compress]);
}

/** `split [options] [file [prefix]]`: the pieces are written next to the prefix; `--filter` runs a shell command per piece. */
const SPLIT: OptSpec = {
  flags: 'denux',
  values: 'abClnt',
  long: ['elide-empty-files', 'unbuffered', 'verbose', 'separator', 'help', 'version'],
  longValues: ['suffix-length', 'additional-suffix', 'bytes', 'line-bytes', 'lines', 'number', 'filter', 'separator'],
  longOptional: ['numeric-suffixes', 'hex-suffixes'],
};
export function split(c: ToolCtx): void {
  const p = parseOptions(c.args, SPLIT);
  // The filter reads each piece on its stdin: `--filter=sh` runs the file as a script.
  for (const o of p.opts) if (o.name === 'filter') c.shell(o.value, 'split --filter');
  const prefix = p.operands[1];
  if (prefix !== undefined) c.writes(`${c.args[prefix] ?? ''}x`);
}

const CSPLIT: OptSpec = {
  flags: 'kszn',
  values: 'bfn',
  long: ['keep-files', 'quiet', 'silent', 'elide-empty-files', 'suppress-matched', 'help', 'version'],
  longValues: ['suffix-format', 'prefix', 'digits'],
};
export function csplit(c: ToolCtx): void {
  const p = parseOptions(c.args, CSPLIT);
  c.writes(`${valueOf(p, 'f', 'prefix') ?? 'xx'}00`);
}

/** unzip's `-d DIR`, or `-d` attached; the archive's own paths land under it. */
export function unzip(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) {
    const w = c.args[i] as string;
    if (w === '-d') c.writes(c.args[++i], true);
    else if (/^-[a-zA-Z]*d./.test(w) && !w.startsWith('--')) c.writes(w.slice(w.indexOf('d') + 1), true);
  }
}

/** `crontab FILE`, `crontab -` or `crontab` fed on stdin: a schedule that runs its commands later, outside the call. */
export function crontab(c: ToolCtx): void {
  const p = parseOptions(c.args, { flags: 'lreiTVx', values: 'usx' });
  if (p.opts.some((o) => 'lreiTV'.includes(o.name))) return;
  c.add('destructive_fs', `installs a crontab, commands that run later: ${c.text}`);
}

/** `at`/`batch`: the job (from stdin or `-f FILE`) runs later, outside the call; `-l`, `-r`, `-c` only read or remove jobs. */
export function at(c: ToolCtx): void {
  const p = parseOptions(c.args, { flags: 'mMlrdbcvVqh', values: 'fqt' });
  if (c.prog === 'at' && p.opts.some((o) => 'lrdcV'.includes(o.name) && o.value === undefined)) return;
  c.add('destructive_fs', `queues a job that runs later: ${c.text}`);
  // What it reads from stdin is the job's script: classified like `sh` reading it.
  if (!p.opts.some((o) => o.name === 'f')) c.stdinScript();
}

/** systemctl subcommands that install or change a unit so that it runs later (at boot, login, or on a timer). */
const SYSTEMCTL_INSTALLS = new Set([
  'enable',
  'link',
  'edit',
  'preset',
  'preset-all',
  'reenable',
  'add-wants',
  'add-requires',
  'set-property',
  'set-environment',
  'import-environment',
  'revert',
  'unmask',
]);
export function systemctl(c: ToolCtx): void {
  const sub = c.args.find((a) => !a.startsWith('-'));
  if (sub !== undefined && SYSTEMCTL_INSTALLS.has(sub))
    c.add('destructive_fs', `installs a unit or its environment, which runs later: ${c.text}`);
}

/** launchctl subcommands that load a job to run later. */
export function launchctl(c: ToolCtx): void {
  const sub = c.args.find((a) => !a.startsWith('-'));
  if (sub !== undefined && /^(load|bootstrap|enable|submit|setenv|kickstart|asuser)$/.test(sub))
    c.add('destructive_fs', `loads a launchd job, which runs later: ${c.text}`);
}

/** npm configuration keys whose value is a program npm runs later (`script-shell` runs every `npm run`). */
const NPM_COMMAND_KEYS =
  /^(script-shell|shell|editor|git|browser|viewer|node-options|onload-script|init-module|globalconfig|userconfig|prefix|globalignorefile|node-gyp|ignore-scripts)$/i;
/** `npm config set KEY VALUE` / `npm set KEY=VALUE`: a setting that names a command npm runs later. */
export function packageConfig(c: ToolCtx): void {
  const words = c.args.filter((a) => !a.startsWith('-'));
  const at = words[0] === 'config' || words[0] === 'c' ? 1 : 0;
  if (!(at === 1 ? words[1] === 'set' : words[0] === 'set')) return;
  for (const kv of words.slice(at + 1)) {
    const key = kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv;
    if (NPM_COMMAND_KEYS.test(key) || isLong(`--${key}`, '--script-shell'))
      c.add('destructive_fs', `${c.prog} config ${key} names a program that runs later: ${c.text}`);
  }
}
