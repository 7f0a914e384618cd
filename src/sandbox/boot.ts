/**
 * How a guest starts: the BootInfo of this process (what a sandbox may know about where it runs: no environment, no
 * secrets), and the booted guest every sandbox starts from. The guest runtime is evaluated once per process in a
 * template instance whose memory is then snapshotted; each sandbox restores that memory into its own new instance
 * (issue 18 item 4) instead of evaluating the runtime again. Nothing of an extension or of a BootInfo is in the
 * snapshot: each sandbox's `boot` entry comes after the restore.
 */
import { homedir, tmpdir, userInfo } from 'node:os';
import { WardenError } from '../errors.ts';
import { GuestEngine, type GuestSnapshot } from './engine.ts';
import { guestRuntimeSource } from './runtime.ts';
import type { BootInfo } from './sandbox.ts';

export function hostBoot(cwd: string = process.cwd(), home: string = homedir()): BootInfo {
  let username = 'user';
  try {
    username = userInfo().username;
  } catch {
    // no passwd entry (containers): keep the placeholder
  }
  return { cwd, home, tmpdir: tmpdir(), platform: process.platform, arch: process.arch, nodeVersion: process.version, username };
}

/** The template's limits: the runtime is trusted code, evaluated once; the sandbox's own limits apply after restore. */
const TEMPLATE_MEMORY_BYTES = 64 * 1024 * 1024;
const TEMPLATE_CPU_MS = 30_000;

let booted: Promise<GuestSnapshot> | undefined;

/** The guest runtime, evaluated and snapshotted once per process. */
export function bootedGuest(): Promise<GuestSnapshot> {
  booted ??= bootTemplate().catch((err: unknown) => {
    booted = undefined;
    throw err;
  });
  return booted;
}

/** Wall-clock hang limit of booting the template: generous, the CPU limit is the one that applies. */
const TEMPLATE_HANG_MS = 30_000;

async function bootTemplate(): Promise<GuestSnapshot> {
  const runtime = await guestRuntimeSource();
  const template = await GuestEngine.create({
    memoryLimitBytes: TEMPLATE_MEMORY_BYTES,
    // The runtime makes no hostcall while it is evaluated; one would be a bug, refused.
    host: (op) => JSON.stringify({ ok: false, error: { code: 'internal', message: `no hostcall while booting (${op})` } }),
  });
  try {
    template.evalBytecode(template.compileScript(runtime, 'pi-warden-runtime.js'), TEMPLATE_CPU_MS, TEMPLATE_HANG_MS);
    return template.snapshot();
  } catch (err) {
    throw new WardenError('internal', `cannot boot the guest runtime: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    template.dispose();
  }
}
