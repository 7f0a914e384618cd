/**
 * The two routes into a pi session (SPEC §10), on one core (src/pi/bridge.ts):
 *
 * - the **package route** (`pi install npm:pi-warden`): pi loads pi-warden's extension (src/pi/extension.ts), which
 *   sandboxes every adopted extension (pi's own settings keep pi from importing them) and registers their proxies on
 *   its own `pi`; an extension pi would still load unsandboxed raises an alert and a warning in the session;
 * - the **launcher route** (`pi-warden pi [args]`): pi's `main` with `--no-extensions` and one inline proxy per
 *   extension pi would have loaded; nothing pi discovers is imported.
 */
import { resolve } from 'node:path';
import { WardenError } from '../errors.ts';
import { wardenHome } from '../evidence/index.ts';
import { agentDir as piAgentDir, type ResolvedPolicy } from '../policy/index.ts';
import { isPiWarden, locatedFor } from './adopt.ts';
import { checkPin, readAdoptionList, type AdoptedExtension } from './adoption.ts';
import { BridgeSession, type BridgeExtension } from './bridge.ts';
import { discoverExtensions, type DiscoveredExtension } from './discover.ts';
import type { PiObject } from './liveHost.ts';
import { loadPiModule, piBuiltinExtensions, type PiModule } from './piModule.ts';
import type { ProxyNotice } from './proxy.ts';
import { loadInto, showNotices } from './sessionExtensions.ts';
import type { PiFileToolKit } from '../mediation/index.ts';

export interface RouteOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** pi's module (default: found like the user's pi, see loadPiModule). */
  readonly pi?: PiModule;
  readonly policy?: ResolvedPolicy;
  readonly eventDeadlineMs?: number;
}

function places(o: RouteOptions): { cwd: string; agentDir: string; home: string; env: Readonly<Record<string, string | undefined>> } {
  const env = o.env ?? process.env;
  return { cwd: resolve(o.cwd ?? process.cwd()), agentDir: piAgentDir(env), home: wardenHome(env), env };
}

/** The bridge session of one pi session: this pi's file tools, the caller's policy and deadline if given. */
function openSession(o: RouteOptions, p: ReturnType<typeof places>, piModule: PiModule): Promise<BridgeSession> {
  const kit = toolKit(piModule);
  return BridgeSession.open({
    cwd: p.cwd,
    home: p.home,
    env: p.env,
    ...(o.policy === undefined ? {} : { policy: o.policy }),
    ...(kit === undefined ? {} : { piTools: kit }),
    ...(o.eventDeadlineMs === undefined ? {} : { eventDeadlineMs: o.eventDeadlineMs }),
  });
}

/** pi's file-tool factories, when this pi has them (every supported version does). */
function toolKit(pi: PiModule): PiFileToolKit | undefined {
  const m = pi as unknown as Record<string, unknown>;
  return typeof m.createReadToolDefinition === 'function' ? (pi as unknown as PiFileToolKit) : undefined;
}

/**
 * The adopted extensions that may load now: the pin is checked against the bundle on disk (a changed bundle whose
 * capabilities grew is refused until adopted again; one that did not grow loads, as browsers treat extension
 * updates).
 */
async function admitAdopted(
  adopted: readonly AdoptedExtension[],
  session: BridgeSession,
  notices: ProxyNotice[],
): Promise<BridgeExtension[]> {
  const out: BridgeExtension[] = [];
  for (const a of adopted) {
    try {
      const now = await session.pin(a);
      if (checkPin(a, now.bundleHash, now.capabilities) === 'grew') {
        const grown = now.capabilities.filter((c) => !a.capabilities.includes(c));
        notices.push({
          extensionId: a.id,
          level: 'error',
          message: `pi-warden did not load ${a.id}: it changed since it was adopted and now needs more (${grown.join(', ')}); review it, then \`pi-warden adopt ${a.id}\``,
        });
        continue;
      }
    } catch (err) {
      notices.push({
        extensionId: a.id,
        level: 'error',
        message: `pi-warden did not load ${a.id}: ${err instanceof Error ? err.message : String(err)}`,
      });
      continue;
    }
    out.push(locatedFor(a));
  }
  return out;
}

/** Extensions pi loads itself, outside any sandbox (not adopted, or re-enabled by hand), pi-warden excepted. */
function unsandboxed(found: readonly DiscoveredExtension[]): DiscoveredExtension[] {
  return found.filter((e) => e.enabled && !isPiWarden(e));
}

/** The package route: what pi-warden's extension does when pi loads it. */
export async function startPackageRoute(pi: PiObject, o: RouteOptions = {}): Promise<BridgeSession | undefined> {
  const p = places(o);
  const list = readAdoptionList(p.home);
  const notices: ProxyNotice[] = [];
  const piModule = o.pi ?? (await loadPiModule({ env: p.env }));
  const session = await openSession(o, p, piModule);
  wireSession(pi, session);
  try {
    const discovery = await discoverExtensions({ cwd: p.cwd, agentDir: p.agentDir, pi: piModule });
    for (const e of unsandboxed(discovery.extensions)) {
      const message = `${e.id} runs in pi without pi-warden's sandbox (not adopted, or re-enabled in pi's settings); \`pi-warden adopt ${e.id}\` to sandbox it`;
      session.raise({
        extension_id: e.id,
        category: 'policy_violation',
        severity: 'high',
        summary: message,
        reason_codes: [],
        remediation: `pi-warden adopt ${e.id}`,
      });
      notices.push({ extensionId: e.id, level: 'warning', message });
    }
  } catch (err) {
    notices.push({
      extensionId: 'pi-warden',
      level: 'warning',
      message: `pi-warden could not list pi's extensions: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  if (list.disabled) {
    notices.push({
      extensionId: 'pi-warden',
      level: 'warning',
      message: 'pi-warden is disabled: no adopted extension loads (`pi-warden enable`)',
    });
  } else {
    for (const ext of await admitAdopted(list.extensions, session, notices)) notices.push(...(await loadInto(session, pi, ext)));
  }
  showNotices(pi, notices);
  return session;
}

/** Flushes the evidence when pi shuts the session down, and hands `pi.events` messages from sandboxes to pi's bus. */
function wireSession(pi: PiObject, session: BridgeSession): void {
  const events = pi.events as PiObject | undefined;
  session.onBus = (_from, channel, data) => {
    if (events !== undefined && typeof events.emit === 'function')
      (events.emit as (c: string, d: unknown) => void).call(events, channel, data);
  };
  if (typeof pi.on === 'function')
    (pi.on as (e: string, h: () => Promise<void>) => void)('session_shutdown', async () => {
      await session.runtime.writer.flush();
    });
}

/**
 * pi's built-in extensions (codemode, mcp, ... in 1.5.2+) as the user's settings enable them, as `builtin:<name>`
 * sources: they are pi's own code, which `--no-extensions` would drop, so the launcher asks pi for them by name.
 */
export async function enabledBuiltins(pi: PiModule, p: { cwd: string; agentDir: string }): Promise<string[]> {
  const names = await piBuiltinExtensions(pi);
  if (names.length === 0) return [];
  const settingsManager = pi.SettingsManager.create(p.cwd, p.agentDir);
  const Manager = pi.DefaultPackageManager as unknown as new (o: object) => {
    resolve(onMissing: () => Promise<string>): Promise<{ extensions: Array<{ path: string; enabled: boolean }> }>;
  };
  const resolved = await new Manager({ cwd: p.cwd, agentDir: p.agentDir, settingsManager, builtinExtensions: names }).resolve(() =>
    Promise.resolve('skip'),
  );
  return resolved.extensions.filter((r) => r.enabled && r.path.startsWith('builtin:')).map((r) => r.path);
}

export interface LauncherOptions extends RouteOptions {
  /** pi's arguments (everything after `pi-warden pi`). */
  readonly args: readonly string[];
}

/**
 * The launcher route: pi's own `main` with `--no-extensions` and one inline extension per extension pi would have
 * loaded (and every adopted one), each a proxy of its sandbox. Resolves when pi's main returns.
 */
export async function runLauncher(o: LauncherOptions): Promise<void> {
  const p = places(o);
  const piModule = o.pi ?? (await loadPiModule({ env: p.env }));
  const main = (piModule as unknown as { main?: (args: string[], options: object) => Promise<void> }).main;
  if (typeof main !== 'function')
    throw new WardenError('invalid_request', `this pi (${piModule.VERSION}) does not export main(args, options)`);
  const list = readAdoptionList(p.home);
  const session = await openSession(o, p, piModule);
  const notices: ProxyNotice[] = [];
  let extensions: BridgeExtension[] = [];
  if (list.disabled) {
    notices.push({ extensionId: 'pi-warden', level: 'warning', message: 'pi-warden is disabled: no extension loads (`pi-warden enable`)' });
  } else {
    const discovery = await discoverExtensions({ cwd: p.cwd, agentDir: p.agentDir, pi: piModule });
    const adoptedIds = new Set(list.extensions.map((a) => a.id));
    extensions = [
      ...(await admitAdopted(list.extensions, session, notices)),
      ...unsandboxed(discovery.extensions)
        .filter((e) => !adoptedIds.has(e.id))
        .map((e) => locatedFor(e)),
    ];
    for (const c of discovery.conflicts)
      notices.push({ extensionId: c.id, level: 'error', message: `pi-warden did not load ${c.source}: ${c.reason}` });
  }
  // 1.x names inline extensions (`<inline:name>` in pi's list); 0.73.1 takes plain factories.
  const named = !piModule.VERSION.startsWith('0.');
  let first = true;
  const factories = extensions.map((ext) => {
    const factory = async (pi: PiObject) => {
      wireSession(pi, session);
      if (first) {
        first = false;
        showNotices(pi, notices);
      }
      showNotices(pi, await loadInto(session, pi, ext));
    };
    return named ? { name: ext.id, factory } : factory;
  });
  if (factories.length === 0 && notices.length > 0) {
    factories.push(
      (named
        ? { name: 'pi-warden', factory: (pi: PiObject) => showNotices(pi, notices) }
        : (pi: PiObject) => showNotices(pi, notices)) as never,
    );
  }
  const builtins = list.disabled ? [] : await enabledBuiltins(piModule, p);
  try {
    await main(['--no-extensions', ...builtins.flatMap((b) => ['-e', b]), ...o.args], { extensionFactories: factories });
  } finally {
    await session.close();
  }
}
