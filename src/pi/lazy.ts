/**
 * A sandbox that is not there yet (issue 18 item 4, ADR 0039): it stands in for an extension entry whose recorded
 * registrations pi was given instead of a boot, and boots the real sandbox on the first call pi makes into it (an
 * event, a tool, a command, a shortcut). The bridge decides whether an entry may wait (src/pi/recording.ts) and
 * how it boots (scan gate, kill switch, the comparison with the recording); this module only holds the calls until
 * then. A call that arrives while the boot runs waits for it; a boot that fails refuses the call, and every later one.
 */
import { WardenError } from '../errors.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { REGISTRATION_KINDS } from './host.ts';
import type { PiObject } from './liveHost.ts';

/** The members of a sandbox the proxies (proxy.ts) and the components (components/) use. */
type ProxiedSandbox = Pick<
  Sandbox,
  'stopped' | 'runTool' | 'runCommand' | 'completeCommand' | 'runShortcut' | 'emitHandler' | 'deliverBus' | 'component' | 'forgetComponent'
> & { onComponentSignal: Sandbox['onComponentSignal'] };

/** The pi methods that register (`registerTool`, `on`, ...), by the name pi gives them on its API object. */
const REGISTER_METHODS = Object.keys(REGISTRATION_KINDS)
  .filter((m) => m.startsWith('pi.') && !m.startsWith('pi.events.'))
  .map((m) => m.slice('pi.'.length));

export class LazySandbox implements ProxiedSandbox {
  readonly extensionId: string;
  readonly #boot: () => Promise<Sandbox>;
  #real: Sandbox | undefined;
  #booting: Promise<Sandbox> | undefined;
  #stopped: WardenError | undefined;
  #signal: Sandbox['onComponentSignal'];
  /** While the factory runs at boot, what it registers is compared with the recording, not registered with pi again. */
  #quiet = false;

  constructor(extensionId: string, boot: () => Promise<Sandbox>) {
    this.extensionId = extensionId;
    this.#boot = boot;
  }

  /** `lazy` until the first call boots it, then `booted`. */
  get state(): 'lazy' | 'booted' {
    return this.#real === undefined ? 'lazy' : 'booted';
  }

  /** The booted sandbox, if it booted. */
  get sandbox(): Sandbox | undefined {
    return this.#real;
  }

  /**
   * What the proxies hold. They and the components call only the members above (checked by `implements`), so the
   * stand-in is handed to them as the sandbox it will become.
   */
  get standIn(): Sandbox {
    return this as unknown as Sandbox;
  }

  /** pi's API object for this entry's proxies: registrations made while the factory runs at boot stay with pi-warden. */
  piFor(pi: PiObject): PiObject {
    const api = Object.create(pi) as PiObject;
    for (const name of REGISTER_METHODS)
      api[name] = (...args: unknown[]) => {
        if (this.#quiet) return undefined;
        const fn = pi[name];
        if (typeof fn !== 'function') throw new WardenError('invalid_request', `this pi version has no pi.${name}`);
        return (fn as (...a: unknown[]) => unknown).apply(pi, args);
      };
    return api;
  }

  /** Runs the factory's boot with the registrations it makes kept from pi (the bridge compares them with the record). */
  async quietly<T>(run: () => Promise<T>): Promise<T> {
    this.#quiet = true;
    try {
      return await run();
    } finally {
      this.#quiet = false;
    }
  }

  get stopped(): WardenError | undefined {
    return this.#stopped ?? this.#real?.stopped;
  }

  /** Stops it: booted, the sandbox stops; not booted, it never boots. */
  stop(error: WardenError): void {
    if (this.#real !== undefined) this.#real.stop(error);
    else this.#stopped ??= error;
  }

  dispose(): void {
    this.stop(new WardenError('quarantined', `sandbox ${this.extensionId} was disposed`));
    this.#real?.dispose();
  }

  /** The booted sandbox: boots it on the first call; throws why it cannot run (stopped, the boot failed). */
  ready(): Promise<Sandbox> {
    if (this.#real !== undefined) return Promise.resolve(this.#real);
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    this.#booting ??= this.#boot().then(
      (sandbox) => {
        // Stopped while it booted (the kill switch, a reload): the new sandbox never answers.
        if (this.#stopped !== undefined) {
          sandbox.dispose();
          throw this.#stopped;
        }
        this.#real = sandbox;
        sandbox.onComponentSignal = this.#signal;
        return sandbox;
      },
      (err: unknown) => {
        this.#stopped ??= err instanceof WardenError ? err : new WardenError('internal', String(err));
        throw this.#stopped;
      },
    );
    return this.#booting;
  }

  async runTool(...args: Parameters<Sandbox['runTool']>): ReturnType<Sandbox['runTool']> {
    return (await this.ready()).runTool(...args);
  }

  async runCommand(...args: Parameters<Sandbox['runCommand']>): ReturnType<Sandbox['runCommand']> {
    return (await this.ready()).runCommand(...args);
  }

  async completeCommand(...args: Parameters<Sandbox['completeCommand']>): ReturnType<Sandbox['completeCommand']> {
    return (await this.ready()).completeCommand(...args);
  }

  async runShortcut(...args: Parameters<Sandbox['runShortcut']>): ReturnType<Sandbox['runShortcut']> {
    return (await this.ready()).runShortcut(...args);
  }

  async emitHandler(...args: Parameters<Sandbox['emitHandler']>): ReturnType<Sandbox['emitHandler']> {
    return (await this.ready()).emitHandler(...args);
  }

  async deliverBus(...args: Parameters<Sandbox['deliverBus']>): ReturnType<Sandbox['deliverBus']> {
    return (await this.ready()).deliverBus(...args);
  }

  /** Components exist only in a handler or a renderer, so after the boot. */
  component(...args: Parameters<Sandbox['component']>): ReturnType<Sandbox['component']> {
    if (this.#real === undefined) throw new WardenError('internal', `${this.extensionId}: a component call before its sandbox booted`);
    return this.#real.component(...args);
  }

  forgetComponent(id: number): void {
    this.#real?.forgetComponent(id);
  }

  set onComponentSignal(fn: Sandbox['onComponentSignal']) {
    this.#signal = fn;
    if (this.#real !== undefined) this.#real.onComponentSignal = fn;
  }
}
