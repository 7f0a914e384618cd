/**
 * The view (view.ts) as bubblewrap arguments (docs/adr/0028-os-sandbox.md). Later mounts cover earlier ones, so
 * the order is the policy: system read-only, private /tmp, hidden stores, readable grants, writable folders, the
 * never-written places read-only over them, then the hidden stores again where a writable folder uncovered one.
 * Every mount costs time on every spawn (bench/exec.bench.ts), so there is none that protects nothing.
 */
import { isInside } from '../../paths.ts';
import type { OsView, ViewPath } from './view.ts';

export interface BwrapCommand {
  readonly cwd: string;
  /** The program and its arguments, as run inside. */
  readonly argv: readonly string[];
  /** The user's home: kept visible (read-only) when it lies under /tmp, which is private to the child. */
  readonly home: string;
  /** The egress proxy's unix socket on the host, mounted at the same path inside (network `proxy` only). */
  readonly proxySocket?: string;
}

/**
 * A hidden folder is an empty tmpfs of the child's own (what it writes there is gone when it exits; not made
 * read-only, which would cost a mount per folder on every spawn and protect nothing); a hidden file, /dev/null.
 */
const hide = (h: ViewPath): string[] => (h.folder ? ['--tmpfs', h.path] : ['--ro-bind', '/dev/null', h.path]);

/** bwrap's arguments for one child: namespaces, mounts, then `--` and the program. Pure. */
export function bwrapArgs(view: OsView, c: BwrapCommand): string[] {
  const args = [
    '--unshare-user',
    // No user namespace inside: the child cannot gain capabilities there to unmount what hides a store.
    '--disable-userns',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    // Always: with `http` granted the child still has no network of its own, only the proxy's socket.
    '--unshare-net',
    '--die-with-parent',
    // No controlling terminal: TIOCSTI cannot push keystrokes into the user's shell.
    '--new-session',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
  ];
  if (isInside('/tmp', c.home) && c.home !== '/tmp') args.push('--ro-bind', c.home, c.home);
  const under = (p: string) => view.writable.some((w) => isInside(w, p)) || view.readable.some((r) => isInside(r, p));
  for (const h of view.hidden) args.push(...hide(h));
  for (const r of view.readable) args.push('--ro-bind', r, r);
  for (const w of view.writable) args.push('--bind', w, w);
  for (const r of view.readOnly) args.push('--ro-bind', r.path, r.path);
  for (const h of view.hidden) if (under(h.path)) args.push(...hide(h));
  if (view.network === 'proxy' && c.proxySocket !== undefined) args.push('--bind', c.proxySocket, c.proxySocket);
  args.push('--chdir', c.cwd, '--', ...c.argv);
  return args;
}
