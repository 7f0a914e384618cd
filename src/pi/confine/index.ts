/**
 * OS confinement of child processes (SPEC §5.4–5.6, docs/adr/0028-os-sandbox.md): every child an extension starts
 * runs in bubblewrap (Linux) or sandbox-exec (macOS) built from the fs scope and the egress rules, or is refused when
 * neither can run, unless the user settings turn it off. src/pi/exec.ts is its only caller.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { WardenError } from '../../errors.ts';
import type { AlertSink, DecisionRecorder } from '../../evidence/index.ts';
import type { FsScope } from '../../mediation/index.ts';
import { OS_SANDBOX_REMEDY, type EgressRules, type OsSandboxSetting } from '../../policy/index.ts';
import { osSandboxAvailability, type Availability } from './availability.ts';
import { bwrapArgs } from './bwrap.ts';
import { EgressProxy, FORWARDER, SOCAT_FORWARDER } from './egressProxy.ts';
import { seatbeltProfile } from './seatbelt.ts';
import { osView, type OsView } from './view.ts';

export { osSandboxAvailability, probeBubblewrap, type Availability, type OsSandboxKind } from './availability.ts';
export { bwrapArgs } from './bwrap.ts';
export { EgressProxy } from './egressProxy.ts';
export { seatbeltProfile, sbplString } from './seatbelt.ts';
export { osView, type OsView, type ViewPath } from './view.ts';

/** What one extension's children are confined by. */
export interface Confinement {
  readonly setting: OsSandboxSetting;
  readonly scope: FsScope;
  readonly extensionId: string;
  /** The egress rules when `http` is granted to the extension; undefined: no network at all. */
  readonly http?: EgressRules | undefined;
  /** Ledger and alerts for the egress proxy's decisions. */
  readonly evidence?: (DecisionRecorder & AlertSink) | undefined;
  /** Which sandbox this machine has (default: probed once and cached). */
  readonly availability?: Availability;
}

/** The program to spawn for a child, and what to undo once it has exited. */
export interface ConfinedCommand {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly confined: boolean;
  release(): Promise<void>;
}

/** Placeholders made for never-written places that did not exist, by path: how many children hold each. */
const placeholders = new Map<string, number>();

function hold(view: OsView): string[] {
  const made: string[] = [];
  for (const p of view.readOnly) {
    // A placeholder another child holds looks like a real path to the view: held too, or that child's end would
    // remove it from under this one.
    if (p.placeholder !== true && !placeholders.has(p.path)) continue;
    const n = placeholders.get(p.path) ?? 0;
    try {
      if (n === 0) {
        if (p.folder) mkdirSync(p.path);
        else writeFileSync(p.path, '', { flag: 'wx' });
      }
      placeholders.set(p.path, n + 1);
      made.push(p.path);
    } catch {
      // It appeared meanwhile: it is mounted read-only as it is.
    }
  }
  return made;
}

function unhold(paths: readonly string[]): void {
  for (const p of paths) {
    const n = (placeholders.get(p) ?? 1) - 1;
    if (n > 0) {
      placeholders.set(p, n);
      continue;
    }
    placeholders.delete(p);
    try {
      const st = statSync(p);
      if (st.isDirectory() && readdirSync(p).length === 0) rmdirSync(p);
      else if (st.isFile() && st.size === 0) unlinkSync(p);
    } catch {
      // gone already
    }
  }
}

/** The refusal when no OS sandbox can run: what is missing and how to enable it. */
export function unavailableError(why: string): WardenError {
  return new WardenError(
    'denied',
    `exec refused: child processes run inside an OS sandbox and none is available here (${why}); to enable it, ${OS_SANDBOX_REMEDY}`,
    { reasonCodes: ['os_sandbox_unavailable'] },
  );
}

/** Wraps `argv` (program and arguments) in the OS sandbox for `c`, or refuses. */
let socat: { path: string | undefined } | undefined;
/** Debian's socat (`apt-get install socat`), looked up once: the cheap forwarder; without it the bundled node forwards. */
function socatPath(): string | undefined {
  socat ??= { path: ['/usr/bin/socat', '/bin/socat', '/usr/local/bin/socat'].find((p) => existsSync(p)) };
  return socat.path;
}

export async function confine(argv: readonly string[], cwd: string, c: Confinement): Promise<ConfinedCommand> {
  if (c.setting === 'off') return { cmd: argv[0]!, args: argv.slice(1), confined: false, release: async () => {} };
  const a = c.availability ?? osSandboxAvailability();
  if (!a.available) throw unavailableError(a.why);
  // Its data folder is the child's to write: made here when the extension has not used it yet.
  mkdirSync(c.scope.dataFolder(c.extensionId), { recursive: true });
  const view = osView({ scope: c.scope, extensionId: c.extensionId, network: c.http === undefined ? 'none' : 'proxy' });
  // Held before anything is awaited: the view took the placeholders of children running now for real paths, and one
  // ending meanwhile would remove its placeholder from under this child (bwrap: "Can't find source path").
  const made = hold(view);
  let proxy;
  try {
    proxy = c.http === undefined ? undefined : await EgressProxy.start({ extensionId: c.extensionId, rules: c.http, evidence: c.evidence });
  } catch (err) {
    unhold(made);
    throw err;
  }
  const release = async () => {
    unhold(made);
    await proxy?.close();
  };
  const inner =
    proxy === undefined
      ? argv
      : a.kind === 'bubblewrap' && socatPath() !== undefined
        ? ['/bin/sh', '-c', SOCAT_FORWARDER, 'pi-warden-forwarder', proxy.socket, ...argv]
        : [process.execPath, '-e', FORWARDER, '--', proxy.socket, ...argv];
  if (a.kind === 'sandbox-exec') {
    const profile = seatbeltProfile(view, proxy === undefined ? {} : { proxySocket: proxy.socket });
    return { cmd: a.program, args: ['-p', profile, ...inner], confined: true, release };
  }
  const args = bwrapArgs(view, {
    cwd,
    argv: inner,
    home: c.scope.layout.home,
    ...(proxy === undefined ? {} : { proxySocket: proxy.socket }),
  });
  return { cmd: a.program, args, confined: true, release };
}
