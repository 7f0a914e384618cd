/**
 * What both routes do inside pi for the extensions pi-warden runs: one inline extension per sandboxed extension,
 * whose factory (run by pi at start-up and again on `/reload`) loads the extension's entries into fresh sandboxes
 * (or, where its recorded registrations allow, stand-ins that boot on first need: ADR 0039) and registers their
 * proxies on the `pi` it is given. Sandboxes of an earlier run of the factory are stopped
 * first, so a reload or a session switch never leaves two generations of an extension answering.
 */
import { WardenError } from '../errors.ts';
import type { BridgeExtension, BridgeSession } from './bridge.ts';
import type { PiObject } from './liveHost.ts';
import { registerProxies, type ProxyNotice } from './proxy.ts';

/** Loads one extension into `session` and registers it on `pi`; returns what could not be proxied or loaded. */
export async function loadInto(session: BridgeSession, pi: PiObject, extension: BridgeExtension): Promise<ProxyNotice[]> {
  session.unload(extension.id, new WardenError('quarantined', `${extension.id} was reloaded: this sandbox was replaced`));
  const failuresBefore = session.failures.length;
  const notices: ProxyNotice[] = [];
  // A lazy entry's proxies go on a pi that keeps its boot's registrations for the comparison (src/pi/lazy.ts).
  for (const entry of await session.load(extension)) notices.push(...registerProxies(session, entry.lazy?.piFor(pi) ?? pi, entry));
  for (const f of session.failures.slice(failuresBefore))
    notices.push({
      extensionId: f.extensionId,
      level: 'error',
      message: `pi-warden did not load ${f.extensionId} (${f.entry}): ${f.message}`,
    });
  return notices;
}

/** Shows notices in the session: as notifications where there is a UI, on stderr otherwise (print, JSON, RPC modes). */
export function showNotices(pi: PiObject, notices: readonly ProxyNotice[]): void {
  if (notices.length === 0 || typeof pi.on !== 'function') return;
  (pi.on as (e: string, h: (evt: unknown, ctx: unknown) => void) => void)('session_start', (_evt, ctx) => {
    const c = ctx as { hasUI?: boolean; ui?: { notify?: (m: string, level: string) => void } } | undefined;
    for (const n of notices) {
      if (c?.hasUI === true && typeof c.ui?.notify === 'function') c.ui.notify(n.message, n.level);
      else process.stderr.write(`pi-warden: ${n.message}\n`);
    }
  });
}
