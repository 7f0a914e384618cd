/**
 * GUEST CODE. `process`: `env` reads are `env.get` hostcalls (a denial reads as undefined, as in PiJS), enumeration
 * is `env.list`; writes stay inside the sandbox. `exit`, `kill`, `binding`, `dlopen` fail with `denied`.
 */
import { callSync, hostLog } from '../abi.ts';
import { EventEmitter } from './events.ts';
import { boot, changeCwd, currentCwd } from './state.ts';

function denied(what: string): never {
  const e = new Error(`denied: ${what} is not available in the sandbox`) as Error & { code: string };
  e.code = 'ERR_ACCESS_DENIED';
  throw e;
}

const local = new Map<string, string | undefined>();

function envGet(name: string): string | undefined {
  if (local.has(name)) return local.get(name);
  try {
    const v = callSync('env.get', { name });
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function envKeys(): string[] {
  let keys: string[] = [];
  try {
    const v = callSync('env.list', {});
    if (Array.isArray(v)) keys = v.filter((k): k is string => typeof k === 'string');
  } catch {
    keys = [];
  }
  for (const [k, v] of local) {
    if (v === undefined) keys = keys.filter((x) => x !== k);
    else if (!keys.includes(k)) keys.push(k);
  }
  return keys;
}

export const env: Record<string, string | undefined> = new Proxy(
  {},
  {
    get: (_t, key) => (typeof key === 'string' ? envGet(key) : undefined),
    set: (_t, key, value) => {
      if (typeof key === 'string') local.set(key, String(value));
      return true;
    },
    deleteProperty: (_t, key) => {
      if (typeof key === 'string') local.set(key, undefined);
      return true;
    },
    has: (_t, key) => typeof key === 'string' && envGet(key) !== undefined,
    ownKeys: () => envKeys(),
    getOwnPropertyDescriptor: (_t, key) => {
      if (typeof key !== 'string') return undefined;
      const value = envGet(key);
      return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
    },
  },
);

const startedAt = Date.now();

function stream(level: 'info' | 'error'): Record<string, unknown> {
  const s = new EventEmitter() as EventEmitter & Record<string, unknown>;
  s.write = (chunk: unknown) => {
    hostLog(level, typeof chunk === 'string' ? chunk : String(chunk));
    return true;
  };
  s.isTTY = false;
  s.columns = 80;
  s.rows = 24;
  s.end = () => undefined;
  return s;
}

function hrtime(prev?: [number, number]): [number, number] {
  const t = performance.now();
  const s = Math.floor(t / 1000);
  const ns = Math.floor((t % 1000) * 1e6);
  if (prev === undefined) return [s, ns];
  let ds = s - prev[0];
  let dn = ns - prev[1];
  if (dn < 0) {
    ds -= 1;
    dn += 1e9;
  }
  return [ds, dn];
}
hrtime.bigint = () => BigInt(Math.floor(performance.now() * 1e6));

const emitter = new EventEmitter();
const stdin = new EventEmitter() as EventEmitter & Record<string, unknown>;
stdin.isTTY = false;
stdin.setRawMode = () => stdin;
stdin.resume = () => stdin;
stdin.pause = () => stdin;
stdin.setEncoding = () => stdin;

export const process: Record<string, unknown> = {
  env,
  get argv() {
    return ['node', boot.extensionPath];
  },
  argv0: 'node',
  execArgv: [],
  get execPath() {
    return '/usr/bin/node';
  },
  get platform() {
    return boot.platform;
  },
  get arch() {
    return boot.arch;
  },
  get version() {
    return boot.nodeVersion;
  },
  get versions() {
    return { node: boot.nodeVersion.replace(/^v/, ''), quickjs: 'ng' };
  },
  release: { name: 'node' },
  pid: 1,
  ppid: 0,
  title: 'pi-extension',
  exitCode: undefined,
  cwd: () => currentCwd(),
  chdir: (dir: string) => changeCwd(String(dir)),
  uptime: () => (Date.now() - startedAt) / 1000,
  hrtime,
  memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
  cpuUsage: () => ({ user: 0, system: 0 }),
  nextTick: (fn: (...a: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => fn(...args)),
  emitWarning: (w: unknown) => hostLog('warn', String(w)),
  getuid: () => 1000,
  getgid: () => 1000,
  geteuid: () => 1000,
  umask: () => 0o22,
  stdout: stream('info'),
  stderr: stream('error'),
  stdin,
  exit: (code?: number) => denied(`process.exit(${code ?? ''})`),
  abort: () => denied('process.abort()'),
  kill: () => denied('process.kill()'),
  binding: (name: string) => denied(`process.binding(${JSON.stringify(name)})`),
  _linkedBinding: () => denied('process._linkedBinding()'),
  dlopen: () => denied('native addons (process.dlopen)'),
  on: (n: string, f: (...a: unknown[]) => void) => {
    emitter.on(n, f);
    return process;
  },
  once: (n: string, f: (...a: unknown[]) => void) => {
    emitter.once(n, f);
    return process;
  },
  off: (n: string, f: (...a: unknown[]) => void) => {
    emitter.off(n, f);
    return process;
  },
  removeListener: (n: string, f: (...a: unknown[]) => void) => {
    emitter.off(n, f);
    return process;
  },
  removeAllListeners: () => process,
  listeners: (n: string) => emitter.listeners(n),
  listenerCount: (n: string) => emitter.listenerCount(n),
  emit: (n: string, ...a: unknown[]) => emitter.emit(n, ...a),
  features: {},
  config: { variables: {} },
};
