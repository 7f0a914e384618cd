/**
 * pi-warden as a pi package (`pi install npm:pi-warden`): the extension pi loads. It sandboxes every extension
 * `pi-warden adopt` handed it and registers their proxies with pi (src/pi/routes.ts, the package route). A run of
 * the factory (pi's `/reload`) closes the previous run's sandboxes and runtime first.
 */
import type { BridgeSession } from './bridge.ts';
import type { PiObject } from './liveHost.ts';
import { startPackageRoute } from './routes.ts';

let current: BridgeSession | undefined;

export default async function piWarden(pi: PiObject): Promise<void> {
  const previous = current;
  current = undefined;
  await previous?.close();
  current = await startPackageRoute(pi);
}
