/**
 * How a guest starts: the BootInfo of this process (what a sandbox may know about where it runs: no environment, no
 * secrets), and the booted guest every sandbox starts from. The guest runtime is evaluated once per process in a
 * template instance whose memory is then snapshotted; each sandbox restores that memory into its own new instance
 * (issue 18 item 4) instead of evaluating the runtime again. Nothing of an extension or of a BootInfo is in the
 * snapshot: each sandbox's `boot` entry comes after the restore.
 *
 * Given a cache folder, the booted guest is also kept on disk (sealed like the bundle cache, bundleCache.ts), found
 * by the engine's and the runtime's fingerprints: a fresh process restores it instead of starting esbuild, compiling
 * and evaluating the runtime. An entry that does not authenticate or does not restore is booted again and replaced.
 */
import { readFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { WardenError } from '../errors.ts';
import { SealedCache, sha256 } from './bundleCache.ts';
import { engineFingerprint, GuestEngine, GuestSnapshot } from './engine.ts';
import { guestRuntimeFingerprint, guestRuntimeSource, onDemandSources } from './runtime.ts';
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

/**
 * The guest runtime, evaluated and snapshotted once per process (or restored from `cacheDir`, where the first
 * caller keeps it: the bridge's `<home>/cache/boot`).
 */
export function bootedGuest(cacheDir?: string): Promise<GuestSnapshot> {
  booted ??= loadBootedGuest(cacheDir).then(
    (b) => b.snapshot,
    (err: unknown) => {
      booted = undefined;
      throw err;
    },
  );
  return booted;
}

export interface BootedGuest {
  readonly snapshot: GuestSnapshot;
  /** True when the snapshot came from the cache on disk. */
  readonly fromCache: boolean;
}

/** The booted guest from `cacheDir` if an intact one for this engine and runtime is there; else booted and stored. */
export async function loadBootedGuest(cacheDir?: string): Promise<BootedGuest> {
  if (cacheDir === undefined) return { snapshot: await bootTemplate(), fromCache: false };
  const cache = new SealedCache(cacheDir);
  const lookup = `booted-guest\u0000${engineFingerprint()}\u0000${guestRuntimeFingerprint()}\u0000${bootFingerprint()}`;
  const kept = cache.read(lookup);
  if (kept !== undefined) {
    const snapshot = await restorable(kept);
    if (snapshot !== undefined) return { snapshot, fromCache: true };
  }
  const snapshot = await bootTemplate();
  cache.write(lookup, snapshot.serialize());
  // A booted guest of an earlier engine or runtime is never restored again: 2 MiB each, not left to pile up.
  cache.keepOnly(lookup);
  return { snapshot, fromCache: false };
}

let ownHash: string | undefined;
/** This file decides the template (its limits, how the runtime is evaluated): a new one misses every old entry. */
function bootFingerprint(): string {
  ownHash ??= sha256(readFileSync(new URL(import.meta.url)));
  return ownHash;
}

/** A kept snapshot that parses and restores once (then disposed); undefined sends the caller to boot afresh. */
async function restorable(bytes: Buffer): Promise<GuestSnapshot | undefined> {
  try {
    const snapshot = GuestSnapshot.deserialize(bytes);
    const trial = await GuestEngine.create({ memoryLimitBytes: TEMPLATE_MEMORY_BYTES, host: noHostcall, from: snapshot });
    trial.dispose();
    return snapshot;
  } catch {
    return undefined;
  }
}

/** The runtime makes no hostcall while it is evaluated; one would be a bug, refused. */
const noHostcall = (op: string) => JSON.stringify({ ok: false, error: { code: 'internal', message: `no hostcall while booting (${op})` } });

/** Wall-clock hang limit of booting the template: generous, the CPU limit is the one that applies. */
const TEMPLATE_HANG_MS = 30_000;

async function bootTemplate(): Promise<GuestSnapshot> {
  const [runtime, onDemand] = await Promise.all([guestRuntimeSource(), onDemandSources()]);
  // Compiled in a throwaway instance: the parser's peak stays out of the template's linear memory, the size of
  // every restored instance (WASM memory grows but never shrinks).
  const compiler = await GuestEngine.create({ memoryLimitBytes: TEMPLATE_MEMORY_BYTES, host: noHostcall });
  let bytecode: Uint8Array;
  const modules = new Map<string, Uint8Array>();
  try {
    bytecode = compiler.compileScript(runtime, 'pi-warden-runtime.js');
    // Kept beside the snapshot, not evaluated in it: a guest evaluates one at its first use (engine.ts).
    for (const [name, source] of onDemand) modules.set(name, compiler.compileScript(source, `pi-warden-${name}.js`));
  } catch (err) {
    throw new WardenError('internal', `cannot compile the guest runtime: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    compiler.dispose();
  }
  const template = await GuestEngine.create({ memoryLimitBytes: TEMPLATE_MEMORY_BYTES, host: noHostcall });
  try {
    template.evalBytecode(bytecode, TEMPLATE_CPU_MS, TEMPLATE_HANG_MS);
    return template.snapshot(modules);
  } catch (err) {
    throw new WardenError('internal', `cannot boot the guest runtime: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    template.dispose();
  }
}
