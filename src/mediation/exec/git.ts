/**
 * Exec mediation for git: network subcommands, destructive ones, credential helpers, and the many ways git runs
 * another command (`-c core.pager=…`, `-c alias.x='!…'`, `config core.sshCommand …`, `rebase --exec`,
 * `bisect run`, `submodule foreach`, `--upload-pack`, `ext::` URLs, hooks and templates).
 */
import { isLong } from './options.ts';
import { GIT_NETWORK, gitKeyEffect } from './tables.ts';
import type { ToolCtx } from './tools.ts';

/** `key=value` set for one git run (`-c`, `clone --config`) or written to a config file (`git config key value`). */
function gitConfig(c: ToolCtx, kv: string | undefined, what: string): void {
  if (kv === undefined) return;
  const eq = kv.indexOf('=');
  const key = eq < 0 ? kv : kv.slice(0, eq);
  const value = eq < 0 ? 'true' : kv.slice(eq + 1);
  switch (gitKeyEffect(key)) {
    case 'command':
      if (/^core\.fsmonitor$/i.test(key) && /^(true|false|yes|no|on|off|1|0)?$/i.test(value)) return;
      if (value !== '') c.shell(value, `${what} ${key}`);
      return;
    case 'alias':
      if (value.startsWith('!')) c.shell(value.slice(1), `${what} ${key}`);
      else if (value !== '') c.argv(['git', ...value.split(/\s+/)]);
      return;
    case 'helper':
      if (value.startsWith('!')) c.shell(value.slice(1), `${what} ${key}`);
      else if (/[/\s]/.test(value)) c.shell(value, `${what} ${key}`);
      else if (value !== '') c.argv(['git', `credential-${value}`]);
      return;
    case 'opaque':
      c.add('obfuscated', `${what} ${key} points git at code we cannot see: ${c.text}`);
      return;
    default:
  }
}

/** git's own options before the subcommand that take a value as the next word. */
const GIT_GLOBAL_VALUES = new Set(['-C', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--list-cmds', '--attr-source']);

const valueAfter = (args: readonly string[], i: number, w: string): string | undefined =>
  w.includes('=') ? w.slice(w.indexOf('=') + 1) : args[i + 1];

/** The global options before the subcommand leave git in the project (`-C`, `--git-dir`, `--work-tree` inside it, or absent). */
function workTreeInProject(c: ToolCtx, globals: readonly string[]): boolean {
  if (!c.workingFolderInProject()) return false;
  for (let i = 0; i < globals.length; i++) {
    const w = globals[i] as string;
    const named =
      w === '-C' || w === '--git-dir' || w === '--work-tree'
        ? globals[++i]
        : /^--(git-dir|work-tree)=/.test(w)
          ? w.slice(w.indexOf('=') + 1)
          : undefined;
    if (named !== undefined && !c.deletableInProject(named, 0) && !(w === '-C' && named === '.')) return false;
  }
  return true;
}

export function gitTool(c: ToolCtx): void {
  const a = c.args;
  let i = 0;
  for (; i < a.length; i++) {
    const w = a[i] as string;
    if (w === '-c') gitConfig(c, a[++i], 'git -c');
    else if (w.startsWith('-c') && !w.startsWith('--')) gitConfig(c, w.slice(2), 'git -c');
    else if (isLong(w, '--config-env', 5)) {
      const v = w.includes('=') ? w.slice(w.indexOf('=') + 1) : a[++i];
      const key = (v ?? '').split('=')[0] ?? '';
      if (gitKeyEffect(key) !== undefined) c.add('obfuscated', `git --config-env ${key} takes a command from a variable: ${c.text}`);
    } else if (isLong(w, '--exec-path', 4) && w.includes('=')) c.add('obfuscated', `git --exec-path: ${c.text}`);
    else if (GIT_GLOBAL_VALUES.has(w)) i++;
    else if (!w.startsWith('-')) break;
  }
  const sub = a[i];
  const rest = a.slice(i + 1);
  if (sub === undefined) return;
  if (GIT_NETWORK.has(sub) || (sub === 'archive' && rest.some((r) => isLong(r, '--remote', 5)))) c.add('network_tool', c.text);
  // Confined by the OS to the project, cleaning its own work tree is not refused; another tree (`-C ~`) still is.
  if ((sub === 'clean' || (sub === 'reset' && rest.includes('--hard'))) && !(c.osConfined && workTreeInProject(c, a.slice(0, i))))
    c.add('destructive_fs', c.text);
  if (sub === 'credential' || sub.startsWith('credential-')) c.add('credential_access', `git credential: ${c.text}`);
  if (rest.some((r) => /(^|=)ext::/.test(r))) c.add('obfuscated', `git ext:: transport runs a command: ${c.text}`);
  for (let j = 0; j < rest.length; j++) {
    const w = rest[j] as string;
    const v = () => valueAfter(rest, j, w);
    // Files and folders it writes: `log --output=F`, `archive -o F`, `format-patch -o DIR`, `bundle create F`.
    if (isLong(w, '--output', 8)) c.writes(v());
    else if (isLong(w, '--output-directory', 9) || (w === '-o' && sub === 'format-patch')) c.writes(w === '-o' ? rest[j + 1] : v(), true);
    else if (w === '-o' && sub === 'archive') c.writes(rest[j + 1]);
    else if (w.startsWith('-o') && !w.startsWith('--') && sub === 'archive') c.writes(w.slice(2));
    switch (sub) {
      case 'config':
        break;
      case 'clone':
      case 'fetch':
      case 'pull':
      case 'ls-remote':
      case 'push':
      case 'archive':
      case 'submodule':
        if (w === '-u' || isLong(w, '--upload-pack', 4) || isLong(w, '--receive-pack', 4) || isLong(w, '--exec', 4))
          c.shell(w === '-u' ? rest[j + 1] : v(), `git ${sub} ${w}`);
        if (w === '-c' || isLong(w, '--config', 5)) gitConfig(c, w === '-c' ? rest[j + 1] : v(), `git ${sub} --config`);
        if (isLong(w, '--template', 4)) c.add('obfuscated', `git ${sub} --template installs hooks: ${c.text}`);
        break;
      case 'rebase':
        if (w === '-x' || isLong(w, '--exec', 4)) c.shell(w === '-x' ? rest[j + 1] : v(), 'git rebase --exec');
        break;
      case 'difftool':
        if (w === '-x' || isLong(w, '--extcmd', 4)) c.shell(w === '-x' ? rest[j + 1] : v(), 'git difftool --extcmd');
        break;
      case 'filter-branch':
        if (/^--(env|tree|index|parent|msg|commit|tag-name)-filter$|^--setup$/.test(w)) c.shell(rest[j + 1], `git filter-branch ${w}`);
        break;
      case 'send-email':
        if (isLong(w, '--to-cmd', 6) || isLong(w, '--cc-cmd', 6) || isLong(w, '--sendmail-cmd', 6) || isLong(w, '--smtp-server', 7))
          c.shell(v(), `git send-email ${w}`);
        break;
      default:
    }
  }
  if (sub === 'bundle' && rest[0] === 'create') c.writes(rest.slice(1).find((r) => !r.startsWith('-')));
  if (sub === 'bisect' && rest[0] === 'run') c.argv(rest.slice(1), c.flags.slice(i + 2));
  if (sub === 'submodule') {
    const k = rest.indexOf('foreach');
    if (k >= 0)
      c.shell(
        rest
          .slice(k + 1)
          .filter((w) => w !== '--recursive' && w !== '-q' && w !== '--quiet')
          .join(' '),
        'git submodule foreach',
      );
  }
  if (sub === 'config') {
    // `git config [options] key value` or `git config set [options] key value`: what the key makes git run later.
    const VALUE_OPTS = new Set(['-f', '--file', '--blob', '--type', '--default', '--comment', '--value']);
    const operands: string[] = [];
    for (let j = 0; j < rest.length; j++) {
      const w = rest[j] as string;
      if (VALUE_OPTS.has(w)) j++;
      else if (!w.startsWith('-')) operands.push(w);
    }
    if (operands[0] === 'set') operands.shift();
    if (operands.length >= 2) gitConfig(c, `${operands[0] ?? ''}=${operands[1] ?? ''}`, 'git config');
  }
}
