/**
 * The owner check of `net.connect` (ADR 0038), Linux: the listening end of the target must be a socket held by a
 * process the extension started through the bridge, or one of that process's descendants. The kernel's socket
 * tables say which socket inode listens where (`/proc/<pid>/net/unix`, `/proc/net/tcp{,6}`: proc(5)); the fd links
 * of each process (`/proc/<pid>/fd/* -> socket:[inode]`) say who holds it.
 *
 * Unix sockets are looked up in the network namespace of each started process (a confined child without `http`
 * has its own, and its socket file is still reachable through the project folder). TCP is looked up in pi's own
 * namespace only, since that is where the connect goes: a child in its own namespace listens where pi cannot reach,
 * and is refused with that reason. The check runs at connect time; what happens to the socket file afterwards (a
 * process with write access to its folder replacing it) is not watched.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NetRefusal, NetTarget } from './target.ts';

/** __SO_ACCEPTCON in the Flags column of /proc/net/unix: the socket listens. */
const SO_ACCEPTCON = 0x10000;
const TCP_LISTEN = '0A';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The processes started, with every descendant still running (from each process's parent in /proc/<pid>/stat). */
export function processTree(roots: readonly number[], proc = '/proc'): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync(proc).filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    const stat = read(`${proc}/${e}/stat`);
    if (stat === undefined) continue;
    // The command name may hold spaces and parentheses: the fields after it start after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(e));
    children.set(ppid, list);
  }
  const alive = new Set(entries.map(Number));
  const out: number[] = [];
  const queue = roots.filter((p) => alive.has(p));
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** The socket inodes a process holds open. */
function socketInodes(pid: number, proc: string, into: Set<string>): void {
  let fds: string[];
  try {
    fds = readdirSync(`${proc}/${pid}/fd`);
  } catch {
    return;
  }
  for (const fd of fds) {
    const m = /^socket:\[(\d+)\]$/.exec(link(`${proc}/${pid}/fd/${fd}`) ?? '');
    if (m !== null) into.add(m[1]!);
  }
}

/** Listening Unix sockets in one network namespace's table: inode and bound path. */
function unixListeners(table: string): Array<{ inode: string; path: string }> {
  const out: Array<{ inode: string; path: string }> = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    if ((parseInt(f[3]!, 16) & SO_ACCEPTCON) === 0 || f[5] !== '01') continue;
    out.push({ inode: f[6]!, path: f.slice(7).join(' ') });
  }
  return out;
}

/** Whether a /proc/net/tcp{,6} local address is loopback or the wildcard (what a connect to loopback reaches). */
function loopbackOrAny(hex: string): boolean {
  if (hex.length === 8) return /^0+$/.test(hex) || hex.endsWith('7F');
  if (/^0+$/.test(hex)) return true;
  if (hex === '00000000000000000000000001000000') return true;
  // ::ffff:127.x.y.z, the v4 address in the last word
  return hex.startsWith('0000000000000000FFFF0000') && hex.endsWith('7F');
}

function tcpListeners(table: string, port: number): string[] {
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addr, p] = f[1]!.split(':');
    if (addr !== undefined && parseInt(p ?? '', 16) === port && loopbackOrAny(addr)) out.push(f[9]!);
  }
  return out;
}

/**
 * Undefined when the target listens on a socket the processes `roots` (or their descendants) hold; otherwise why not.
 * `roots`: the processes the extension started that still run.
 */
export function checkListenerOwner(target: NetTarget, roots: readonly number[], proc = '/proc'): NetRefusal | undefined {
  const shown = target.kind === 'unix' ? target.path : `${target.host}:${target.port}`;
  if (process.platform !== 'linux')
    return {
      reason: 'net_owner_unknown',
      detail: `${shown}: the owner of a socket can only be checked on Linux; set ownerCheck false in the extension's net grant to connect without it`,
    };
  const tree = processTree(roots, proc);
  if (tree.length === 0)
    return {
      reason: 'net_not_owned',
      detail: `${shown}: expected a listener started by this extension, found no process it started running`,
    };
  const held = new Set<string>();
  for (const pid of tree) socketInodes(pid, proc, held);
  const notOwned: NetRefusal = {
    reason: 'net_not_owned',
    detail: `${shown}: expected the listening end held by a process this extension started (pids ${tree.join(', ')}), found none of them listening there`,
  };
  if (target.kind === 'unix') {
    const namespaces = new Map<string, number>();
    for (const pid of tree) {
      const ns = link(`${proc}/${pid}/ns/net`);
      if (ns !== undefined && !namespaces.has(ns)) namespaces.set(ns, pid);
    }
    for (const pid of namespaces.values()) {
      for (const l of unixListeners(read(`${proc}/${pid}/net/unix`) ?? '')) {
        if (!held.has(l.inode)) continue;
        // A relative bind is recorded as given: it was relative to the binder's working folder.
        const bound = l.path.startsWith('/') ? l.path : resolve(link(`${proc}/${pid}/cwd`) ?? '/', l.path);
        if (bound === target.path || bound === target.real) return undefined;
      }
    }
    return notOwned;
  }
  const table = target.host === '::1' ? ['tcp6'] : ['tcp', 'tcp6'];
  const ours = table.flatMap((t) => tcpListeners(read(`${proc}/self/net/${t}`) ?? read(`${proc}/net/${t}`) ?? '', target.port));
  if (ours.some((inode) => held.has(inode))) return undefined;
  const self = link(`${proc}/self/ns/net`);
  const elsewhere = tree.find((pid) => {
    const ns = link(`${proc}/${pid}/ns/net`);
    return (
      ns !== undefined &&
      ns !== self &&
      table.some((t) => tcpListeners(read(`${proc}/${pid}/net/${t}`) ?? '', target.port).some((i) => held.has(i)))
    );
  });
  if (elsewhere !== undefined)
    return {
      reason: 'net_other_namespace',
      detail: `${shown}: the process listening there (pid ${elsewhere}) runs in its own network namespace (a confined child without http), which pi cannot reach; listen on a Unix socket in the project instead`,
    };
  return notOwned;
}
