/**
 * Where a `net.connect` may lead (ADR 0038): a Unix socket inside the project or the extension's data folder or
 * named in its grant, or a loopback TCP port its grant names. Judged before any connect, from the params alone
 * plus the file system for socket paths; no name is ever resolved through DNS (`localhost` is 127.0.0.1 here).
 * Never: another address than loopback, a socket in a credential store, pi-warden's store, or one of pi-warden's
 * own sockets (the egress proxies of confined children).
 */
import { basename, dirname } from 'node:path';
import { isInside } from '../../paths.ts';
import type { NetGrant } from '../../policy/index.ts';
import { resolveReal, type FsScope } from '../fs/scope.ts';

/** Every egress proxy's socket lives in a folder of this name (src/pi/confine/egressProxy.ts makes them). */
export const WARDEN_SOCKET_DIR_PREFIX = 'pi-warden-egress-';

/** `net` marks every refusal of this mediation; the other code says which. */
export const NET_REASONS = [
  'net',
  'net_not_granted',
  'net_target_invalid',
  'net_not_loopback',
  'net_abstract_socket',
  'net_path_out_of_scope',
  'net_sensitive_path',
  'net_warden_private',
  'net_port_not_granted',
  'net_owner_unknown',
  'net_not_owned',
  'net_other_namespace',
  'net_socket_limit',
] as const;
export type NetReason = (typeof NET_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    net: NetReason;
  }
}

/**
 * Sockets that hand whoever connects what they guard, recognised by name wherever they are: key agents (ssh, gpg,
 * 1Password), the session bus and systemd (they start processes outside every sandbox), container engines (root on
 * the machine), keyrings. No grant opens them; a grant of their folder (`/run/user/1000`) still leaves them closed.
 */
const NEVER_SOCKETS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\/ssh-[^/]+\/agent\.\d+$/, 'an ssh agent'],
  [/\/S\.(gpg-agent|keyboxd|scdaemon|dirmngr)(\.[a-z]+)?$/, 'a gpg agent'],
  [/\/(agent\.sock|ssh-agent\.socket|ssh-agent\.sock)$/, 'a key agent'],
  [/^\/run\/user\/\d+\/(bus|systemd\/.*|keyring\/.*)$/, 'the session bus, systemd or the keyring of a user'],
  [/\/(dbus|system_bus_socket)$|^\/run\/dbus\//, 'the system bus'],
  [/\/(docker|podman|containerd|buildkitd|crio)(\.sock)?$/, 'a container engine'],
];

/** What a never-reachable socket is, or undefined (SSH_AUTH_SOCK too, wherever the agent put it). */
function neverSocket(p: string): string | undefined {
  if (process.env.SSH_AUTH_SOCK !== undefined && p === process.env.SSH_AUTH_SOCK) return 'the ssh agent of this session (SSH_AUTH_SOCK)';
  return NEVER_SOCKETS.find(([re]) => re.test(p))?.[1];
}

/** The addresses a TCP target may name; `localhost` is taken as 127.0.0.1 without asking a resolver. */
const LOOPBACK: ReadonlyMap<string, '127.0.0.1' | '::1'> = new Map([
  ['127.0.0.1', '127.0.0.1'],
  ['localhost', '127.0.0.1'],
  ['::1', '::1'],
  ['[::1]', '::1'],
]);

export type NetTarget =
  | { readonly kind: 'unix'; readonly path: string; readonly real: string }
  | { readonly kind: 'tcp'; readonly host: '127.0.0.1' | '::1'; readonly port: number };

export interface NetRefusal {
  readonly reason: NetReason;
  readonly detail: string;
}

function refuse(reason: NetReason, detail: string): { ok: false; refusal: NetRefusal } {
  return { ok: false, refusal: { reason, detail } };
}

/**
 * The target of `net.connect` params (`{ path }` or `{ host?, port }`), as the connect will use it. A relative path
 * is taken from the project root; a socket path is resolved through symlinks (the connect follows them too).
 */
export function parseNetTarget(
  params: Readonly<Record<string, unknown>>,
  scope: Pick<FsScope, 'absolute'>,
): { ok: true; target: NetTarget } | { ok: false; refusal: NetRefusal } {
  const { path, host, port } = params;
  if (path !== undefined) {
    if (host !== undefined || port !== undefined)
      return refuse(
        'net_target_invalid',
        `expected either a socket path or a host and port, found both (${JSON.stringify(path)}, ${JSON.stringify(port)})`,
      );
    if (typeof path !== 'string' || path === '')
      return refuse('net_target_invalid', `expected a socket path, found ${JSON.stringify(path)}`);
    if (path.startsWith('\u0000') || path.startsWith('@'))
      return refuse('net_abstract_socket', 'expected a socket file, found an abstract socket name (it has no place the policy can judge)');
    const abs = scope.absolute(path);
    let real: string;
    try {
      real = resolveReal(abs, true);
    } catch (err) {
      return refuse(
        'net_target_invalid',
        `expected a socket path that resolves, found ${abs}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return { ok: true, target: { kind: 'unix', path: abs, real } };
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    return refuse('net_target_invalid', `expected a TCP port 1-65535 or a socket path, found port ${JSON.stringify(port)}`);
  const name = host === undefined ? 'localhost' : host;
  const loopback = typeof name === 'string' ? LOOPBACK.get(name.toLowerCase()) : undefined;
  if (loopback === undefined)
    return refuse('net_not_loopback', `expected a loopback address (127.0.0.1, ::1 or localhost), found ${JSON.stringify(name)}`);
  return { ok: true, target: { kind: 'tcp', host: loopback, port } };
}

/** Whether the grant lets the extension reach the target (the owner check comes after, where the children are known). */
export function checkNetTarget(target: NetTarget, grant: NetGrant, scope: FsScope, extensionId: string): NetRefusal | undefined {
  const key = `extensionPolicy.overrides.${extensionId}.net`;
  if (target.kind === 'tcp') {
    if (grant.tcpPorts.some(([lo, hi]) => target.port >= lo && target.port <= hi)) return undefined;
    return { reason: 'net_port_not_granted', detail: `${target.host} port ${target.port} is not in ${key}.tcpPorts` };
  }
  const shown = target.path === target.real ? target.path : `${target.path} (through a symlink to ${target.real})`;
  const data = scope.dataFolder(extensionId);
  for (const p of new Set([target.path, target.real])) {
    if (basename(dirname(p)).startsWith(WARDEN_SOCKET_DIR_PREFIX))
      return { reason: 'net_warden_private', detail: `${shown} is one of pi-warden's own sockets; no extension may connect to it` };
    const never = neverSocket(p);
    if (never !== undefined) return { reason: 'net_sensitive_path', detail: `${shown} is ${never}; no grant opens it` };
    const v = scope.classifier.classify(p, data);
    if (v.cls === 'warden_private')
      return { reason: 'net_warden_private', detail: `${shown} is in pi-warden's store; no extension may connect to it` };
    // Never, whatever the grant: an agent or keyring socket (ssh-agent, gpg-agent) hands out what it guards.
    if (v.cls === 'sensitive')
      return { reason: 'net_sensitive_path', detail: `${shown} is in ${v.described ?? v.root ?? 'a credential store'}; no grant opens it` };
  }
  const { projectRoot } = scope.layout;
  if (isInside(projectRoot, target.real) || isInside(data, target.real)) return undefined;
  if (grant.unix.some((g) => isInside(g, target.real) || isInside(g, target.path))) return undefined;
  return {
    reason: 'net_path_out_of_scope',
    detail: `${shown} is outside the project (${projectRoot}) and the extension's data folder; name it in ${key}.unix`,
  };
}
