/**
 * The view (view.ts) as a macOS `sandbox-exec` profile (SBPL). Pure: the text is unit-tested here; it runs only on
 * macOS. In SBPL the last matching rule wins, so the order is the policy, as with bubblewrap's mounts: read
 * everything, write nothing; neither read nor write the hidden places; read the granted ones; write the writable
 * folders; never write the never-written places; hide again the hidden places a writable folder holds. macOS has no network namespace: without `http` every socket is refused; with it, only
 * the egress proxy's socket and the forwarder's loopback port.
 */
import type { OsView } from './view.ts';

/** An SBPL string literal. */
export function sbplString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const subpath = (p: string) => `(subpath ${sbplString(p)})`;
const literal = (p: string) => `(literal ${sbplString(p)})`;

export interface SeatbeltOptions {
  /** The egress proxy's unix socket (network `proxy` only). */
  readonly proxySocket?: string;
}

export function seatbeltProfile(view: OsView, o: SeatbeltOptions = {}): string {
  const place = (p: { path: string; folder: boolean }) => (p.folder ? subpath(p.path) : literal(p.path));
  const lines = [
    '(version 1)',
    '(deny default)',
    '(allow process-exec process-fork)',
    '(allow signal (target same-sandbox))',
    '(allow sysctl-read)',
    '(allow mach-lookup)',
    '(allow ipc-posix-shm)',
    '(allow file-read*)',
    `(allow file-write* ${subpath('/private/tmp')} ${subpath('/private/var/folders')} ${literal('/dev/null')} ${literal('/dev/tty')})`,
  ];
  const inside = (p: string) => [...view.writable, ...view.readable].some((w) => p === w || p.startsWith(`${w}/`));
  const hiddenAgain = view.hidden.filter((h) => inside(h.path));
  if (view.hidden.length > 0) lines.push(`(deny file-read* file-write* ${view.hidden.map(place).join(' ')})`);
  if (view.readable.length > 0) lines.push(`(allow file-read* ${view.readable.map(subpath).join(' ')})`);
  if (view.writable.length > 0) lines.push(`(allow file-read* file-write* ${view.writable.map(subpath).join(' ')})`);
  if (view.readOnly.length > 0) lines.push(`(deny file-write* ${view.readOnly.map(place).join(' ')})`);
  if (hiddenAgain.length > 0) lines.push(`(deny file-read* file-write* ${hiddenAgain.map(place).join(' ')})`);
  if (view.network === 'proxy' && o.proxySocket !== undefined) {
    lines.push(
      '(allow network-bind network-inbound (local ip "localhost:*"))',
      `(allow network-outbound (remote ip "localhost:*") (remote unix-socket (path-literal ${sbplString(o.proxySocket)})))`,
    );
  }
  return `${lines.join('\n')}\n`;
}
