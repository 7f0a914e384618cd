/**
 * Whether an OS sandbox can confine children here, probed once per process: on Linux by running `bwrap` with the
 * namespaces a child gets (a missing binary and disabled user namespaces both fail it), on macOS by finding
 * `sandbox-exec`. Elsewhere there is none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type OsSandboxKind = 'bubblewrap' | 'sandbox-exec';

export type Availability =
  | { readonly available: true; readonly kind: OsSandboxKind; readonly program: string }
  | { readonly available: false; readonly why: string };

const PROBE_ARGS = [
  '--unshare-user',
  '--disable-userns',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-net',
  '--die-with-parent',
];

/** Probes `bwrap` (from PATH, or `program`). Uncached: `osSandboxAvailability` caches it. */
export function probeBubblewrap(program = 'bwrap'): Availability {
  try {
    execFileSync(program, [...PROBE_ARGS, '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 10_000,
    });
    return { available: true, kind: 'bubblewrap', program };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') return { available: false, why: `${program} (bubblewrap) is not installed` };
    const said = e.stderr?.toString('utf8').trim().split('\n')[0] ?? e.message;
    return { available: false, why: `${program} cannot create the sandbox's namespaces (${said.slice(0, 200)})` };
  }
}

let cached: Availability | undefined;

/** The OS sandbox of this machine, probed on first use and cached for the process. */
export function osSandboxAvailability(): Availability {
  if (cached !== undefined) return cached;
  if (process.platform === 'linux') cached = probeBubblewrap();
  else if (process.platform === 'darwin')
    cached = existsSync('/usr/bin/sandbox-exec')
      ? { available: true, kind: 'sandbox-exec', program: '/usr/bin/sandbox-exec' }
      : { available: false, why: '/usr/bin/sandbox-exec is missing' };
  else cached = { available: false, why: `no OS sandbox is supported on ${process.platform}` };
  return cached;
}
