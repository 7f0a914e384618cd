/** Shared set-up for sandbox tests: a headless host, a recorder and a dispatcher under a chosen profile. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDispatcher, MemoryRecorder, type Operation } from '../../src/dispatch/index.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { resolvePolicy, type ResolvedPolicy } from '../../src/policy/settings.ts';

import { bundleEntry, hostBoot, Sandbox, type SandboxEvent, type SandboxLimits } from '../../src/sandbox/index.ts';
import type { BreachSink } from '../../src/evidence/sinks.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'extensions');
export const fixture = (name: string) => join(FIXTURES, name);
const ROOT = join(FIXTURES, '..', '..', '..');
/** The examples shipped in the two pi packages (devDependencies). */
export const EXAMPLES = {
  earendil: join(ROOT, 'node_modules', '@earendil-works', 'pi-coding-agent', 'examples', 'extensions'),
  mariozechner: join(ROOT, 'node_modules', '@mariozechner', 'pi-coding-agent', 'examples', 'extensions'),
} as const;

/** An empty HOME and project, so no settings file of the machine running the tests changes the policy. */
export const NO_HOME = mkdtempSync(join(tmpdir(), 'pi-warden-nohome-'));

export interface Harness {
  readonly sandbox: Sandbox;
  readonly host: HeadlessHost;
  readonly recorder: MemoryRecorder;
  readonly events: SandboxEvent[];
  readonly logs: string[];
}

export interface HarnessOptions {
  /** `open` = permissive with dangerous capabilities allowed; `safe` = the default profile. */
  readonly policy?: 'open' | 'safe' | ResolvedPolicy;
  readonly limits?: Partial<SandboxLimits>;
  readonly extensionId?: string;
  /** Replace or add host operations (e.g. a hostile host). */
  readonly operations?: Record<string, Operation>;
  readonly breaches?: BreachSink;
  /** The sandbox's wall clock (default `performance.now`): a test holds it to know what a breach measured. */
  readonly clock?: () => number;
  /** The sandbox's CPU clock (default: thread CPU time): a test holds it to know what a CPU breach measured. */
  readonly cpuClock?: () => number;
  /** Told the length of every text crossing the boundary (SandboxOptions.meter). */
  readonly meter?: (direction: 'in' | 'out', what: string, chars: number) => void;
  /** Told the promise jobs each invocation's entry ran (SandboxOptions.jobs). */
  readonly jobs?: (what: string, count: number) => void;
  /** Where compiled extension code is kept (SandboxOptions.codeCacheDir). */
  readonly codeCacheDir?: string;
}

export async function createSandbox(options: HarnessOptions = {}): Promise<Harness> {
  const given = options.policy;
  const policy =
    typeof given === 'object'
      ? given
      : resolvePolicy({
          cliProfile: given === 'safe' ? 'safe' : 'permissive',
          env: given === 'safe' ? { HOME: NO_HOME } : { HOME: NO_HOME, PI_EXTENSION_ALLOW_DANGEROUS: '1' },
          cwd: NO_HOME,
        });
  const host = new HeadlessHost({ cwd: tmpdir(), home: '/home/probe' });
  const logs: string[] = [];
  const operations = new Map(hostOperations(host));
  operations.set('log', (p) => {
    logs.push(String(p.message));
    return null;
  });
  for (const [k, v] of Object.entries(options.operations ?? {})) operations.set(k, v);
  const recorder = new MemoryRecorder();
  const dispatcher = createDispatcher({ policy: policy.compiled, operations, recorder, operationTimeoutMs: 5000 });
  const events: SandboxEvent[] = [];
  const sandbox = await Sandbox.create({
    extensionId: options.extensionId ?? 'fixture',
    dispatcher,
    boot: hostBoot(tmpdir(), '/home/probe'),
    limits: { wallTimeMs: 10_000, ...options.limits },
    onEvent: (e) => events.push(e),
    ...(options.breaches === undefined ? {} : { breaches: options.breaches }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.cpuClock === undefined ? {} : { cpuClock: options.cpuClock }),
    ...(options.meter === undefined ? {} : { meter: options.meter }),
    ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
    ...(options.codeCacheDir === undefined ? {} : { codeCacheDir: options.codeCacheDir }),
  });
  return { sandbox, host, recorder, events, logs };
}

/** A sandbox with the given fixture (file name under test/fixtures/extensions, or an absolute path) loaded. */
export async function loadFixture(name: string, options: HarnessOptions = {}): Promise<Harness> {
  const h = await createSandbox(options);
  await h.sandbox.load(await bundleEntry(name.startsWith('/') ? name : fixture(name)));
  return h;
}

/** Loads inline source (written to a temp file) into a fresh sandbox. */
export async function loadSource(source: string, options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-src-'));
  const file = join(dir, 'ext.ts');
  writeFileSync(file, source);
  return loadFixture(file, options);
}

/** The value the first handler of a custom event returned. */
export async function ask(h: Harness, event: string, payload: Record<string, unknown> = {}): Promise<unknown> {
  const [outcome] = await h.sandbox.emit(event, payload);
  const first = outcome?.results[0];
  if (first === undefined) throw new Error(`no handler for ${event}`);
  if (!first.ok) throw new Error(`handler failed: ${first.error?.code}: ${first.error?.message}`);
  return first.value;
}
