/**
 * GUEST CODE. `node:child_process` through the exec hostcalls, under policy and exec mediation on the host.
 * `spawn` streams: `exec.spawn` starts the child and answers a handle, `exec.read` is asked again and again for what
 * it printed since (the host scanned it for held secrets and hands on whole lines), `exec.write` feeds its stdin
 * and `exec.kill` signals it. A host without streaming (the probe) answers `exec.spawn` with the finished run, which
 * is replayed. `exec`/`execFile` and the sync forms run to completion (`exec`) and replay the output.
 * `fork` is denied: it would start Node code outside the sandbox.
 */
import { callAsync, callSync, HostError } from '../abi.ts';
import { Buffer } from './buffer.ts';
import { EventEmitter } from './events.ts';
import { currentCwd } from './state.ts';

type Opts = Record<string, unknown>;
interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  killed?: boolean;
  signal?: string | null;
}

function params(cmd: string, args: readonly unknown[], options: unknown, shell: boolean): Opts {
  const o = options !== null && typeof options === 'object' ? (options as Opts) : {};
  const out: Opts = { cmd, args: args.map(String), cwd: typeof o.cwd === 'string' ? o.cwd : currentCwd() };
  if (shell || o.shell === true || typeof o.shell === 'string') out.shell = true;
  if (typeof o.timeout === 'number' && o.timeout > 0) out.timeoutMs = Math.floor(o.timeout);
  if (typeof o.input === 'string') out.stdin = o.input;
  if (typeof o.maxBuffer === 'number') out.maxBuffer = Math.floor(o.maxBuffer);
  if (o.env !== null && typeof o.env === 'object') {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.env as Opts)) if (typeof v === 'string') env[k] = v;
    out.env = env;
  }
  return out;
}

function encodingOf(options: unknown): string | undefined {
  const e = options !== null && typeof options === 'object' ? (options as Opts).encoding : undefined;
  return typeof e === 'string' && e !== 'buffer' ? e : undefined;
}

function out(text: string, encoding: string | undefined): string | Buffer {
  return encoding === undefined ? Buffer.from(text) : text;
}

function processError(err: unknown, cmd: string): Error & Opts {
  const e = new Error(err instanceof HostError ? `${cmd}: ${err.message}` : String(err)) as Error & Opts;
  e.code = err instanceof HostError ? (err.code === 'denied' ? 'EACCES' : 'ENOENT') : 'EIO';
  if (err instanceof HostError) e.wardenCode = err.code;
  return e;
}

class ChildProcess extends EventEmitter {
  stdout = new EventEmitter() as EventEmitter & Opts;
  stderr = new EventEmitter() as EventEmitter & Opts;
  stdin: EventEmitter & Opts;
  pid: number | undefined = undefined;
  exitCode: number | null = null;
  signalCode: string | null = null;
  killed = false;
  /** The host's handle of a streamed child, once `exec.spawn` answered; calls made before wait for it. */
  #handle: Promise<string | undefined> = Promise.resolve(undefined);
  constructor() {
    super();
    for (const s of [this.stdout, this.stderr]) {
      s.setEncoding = () => s;
      s.pipe = (dest: unknown) => dest;
    }
    const stdin = new EventEmitter() as EventEmitter & Opts;
    stdin.write = (data: unknown) => {
      this.#send({ data: typeof data === 'string' ? data : String(Buffer.from(data)) });
      return true;
    };
    stdin.end = (data?: unknown) => {
      this.#send({ data: data === undefined || typeof data === 'function' ? '' : String(data), end: true });
    };
    this.stdin = stdin;
  }
  attach(handle: Promise<string | undefined>): void {
    this.#handle = handle;
  }
  #send(params: Opts): void {
    void this.#handle
      .then((handle) => (handle === undefined ? undefined : callAsync('exec.write', { handle, ...params })))
      .catch(() => undefined);
  }
  kill(signal?: unknown): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    this.killed = true;
    const sig = typeof signal === 'string' ? signal : typeof signal === 'number' ? (SIGNALS[signal] ?? 'SIGTERM') : 'SIGTERM';
    void this.#handle
      .then((handle) => (handle === undefined ? undefined : callAsync('exec.kill', { handle, signal: sig })))
      .catch(() => undefined);
    return true;
  }
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };

interface ChildChunk extends ExecResult {
  done?: boolean;
}

function finish(child: ChildProcess, code: number | null, signal: string | null): void {
  child.exitCode = code;
  child.signalCode = signal;
  child.stdout.emit('end');
  child.stderr.emit('end');
  child.emit('exit', code, signal);
  child.emit('close', code, signal);
}

/** Emits what the child printed: Buffers, or strings on a stream `setEncoding` was called on. */
function chunk(child: ChildProcess, r: ExecResult): void {
  if (r.stdout !== '') child.stdout.emit('data', out(r.stdout, child.stdout.readableEncoding as string | undefined));
  if (r.stderr !== '') child.stderr.emit('data', out(r.stderr, child.stderr.readableEncoding as string | undefined));
}

function spawnParams(cmd: string, args: readonly unknown[], options: unknown): Opts {
  const { stdin: _s, maxBuffer: _m, ...rest } = params(cmd, args, options, false);
  const o = options !== null && typeof options === 'object' ? (options as Opts) : {};
  if (o.detached === true) rest.detached = true;
  return rest;
}

export function spawn(command: unknown, args?: unknown, options?: unknown): ChildProcess {
  const list = Array.isArray(args) ? args : [];
  const opts = Array.isArray(args) ? options : args;
  const child = new ChildProcess();
  const cmd = String(command);
  for (const s of [child.stdout, child.stderr])
    s.setEncoding = (e: unknown) => {
      s.readableEncoding = typeof e === 'string' ? e : 'utf8';
      return s;
    };
  const fail = (err: unknown) => {
    // Node reports a spawn failure as 'error'; with no listener it would be an uncaught exception.
    if (child.listenerCount('error') > 0) child.emit('error', processError(err, cmd));
    child.emit('close', -1, null);
  };
  const started = callAsync('exec.spawn', spawnParams(cmd, list, opts)).then((raw) => raw as Opts);
  child.attach(started.then((r) => (typeof r.handle === 'string' ? r.handle : undefined)).catch(() => undefined));
  const pump = (handle: string): void => {
    callAsync('exec.read', { handle }).then((raw) => {
      const r = raw as ChildChunk;
      chunk(child, r);
      if (r.done === true) finish(child, r.code, r.signal ?? null);
      else pump(handle);
    }, fail);
  };
  started.then((r) => {
    if (typeof r.handle !== 'string') {
      // A host without streaming answered with the finished run.
      child.emit('spawn');
      chunk(child, r as unknown as ExecResult);
      finish(child, (r.code as number | null) ?? null, (r.signal as string | null | undefined) ?? null);
      return;
    }
    child.pid = typeof r.pid === 'number' ? r.pid : undefined;
    child.emit('spawn');
    pump(r.handle);
  }, fail);
  return child;
}

export function execFile(file: unknown, ...rest: unknown[]): ChildProcess {
  const cb = typeof rest[rest.length - 1] === 'function' ? (rest.pop() as (e: unknown, out: unknown, err: unknown) => void) : undefined;
  const args = Array.isArray(rest[0]) ? (rest.shift() as unknown[]) : [];
  const options = rest[0];
  return run(String(file), args, options, false, cb);
}

export function exec(command: unknown, ...rest: unknown[]): ChildProcess {
  const cb = typeof rest[rest.length - 1] === 'function' ? (rest.pop() as (e: unknown, out: unknown, err: unknown) => void) : undefined;
  return run(String(command), [], rest[0], true, cb);
}

function run(
  cmd: string,
  args: unknown[],
  options: unknown,
  shell: boolean,
  cb?: (e: unknown, out: unknown, err: unknown) => void,
): ChildProcess {
  const child = new ChildProcess();
  const enc = encodingOf(options) ?? 'utf8';
  callAsync('exec', params(cmd, args, options, shell)).then(
    (raw) => {
      const r = raw as ExecResult;
      child.exitCode = r.code;
      if (r.stdout !== '') child.stdout.emit('data', r.stdout);
      if (r.stderr !== '') child.stderr.emit('data', r.stderr);
      child.emit('exit', r.code, null);
      child.emit('close', r.code, null);
      const err =
        r.code === 0
          ? null
          : Object.assign(new Error(`Command failed: ${cmd}\n${r.stderr}`), {
              code: r.code,
              killed: r.killed === true,
              stdout: r.stdout,
              stderr: r.stderr,
            });
      cb?.(err, out(r.stdout, enc), out(r.stderr, enc));
    },
    (err) => {
      const e = processError(err, cmd);
      cb?.(e, '', '');
      if (child.listenerCount('error') > 0) child.emit('error', e);
    },
  );
  return child;
}

function runSync(cmd: string, args: unknown[], options: unknown, shell: boolean): ExecResult {
  try {
    return callSync('exec', params(cmd, args, options, shell)) as ExecResult;
  } catch (err) {
    throw processError(err, cmd);
  }
}

export function execSync(command: unknown, options?: unknown): string | Buffer {
  const r = runSync(String(command), [], options, true);
  if (r.code !== 0)
    throw Object.assign(new Error(`Command failed: ${String(command)}\n${r.stderr}`), {
      status: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
    });
  return out(r.stdout, encodingOf(options));
}

export function execFileSync(file: unknown, args?: unknown, options?: unknown): string | Buffer {
  const list = Array.isArray(args) ? args : [];
  const opts = Array.isArray(args) ? options : args;
  const r = runSync(String(file), list, opts, false);
  if (r.code !== 0)
    throw Object.assign(new Error(`Command failed: ${String(file)}\n${r.stderr}`), { status: r.code, stdout: r.stdout, stderr: r.stderr });
  return out(r.stdout, encodingOf(opts));
}

export function spawnSync(command: unknown, args?: unknown, options?: unknown): Opts {
  const list = Array.isArray(args) ? args : [];
  const opts = Array.isArray(args) ? options : args;
  try {
    const r = runSync(String(command), list, opts, false);
    const enc = encodingOf(opts);
    return {
      pid: 0,
      status: r.code,
      signal: r.signal ?? null,
      stdout: out(r.stdout, enc),
      stderr: out(r.stderr, enc),
      output: [null, out(r.stdout, enc), out(r.stderr, enc)],
    };
  } catch (err) {
    return { pid: 0, status: null, signal: null, stdout: '', stderr: '', output: [null, '', ''], error: err };
  }
}

export function fork(): never {
  const e = new Error('denied: child_process.fork is not available in the sandbox (it would run Node code outside it)') as Error & Opts;
  e.code = 'ERR_ACCESS_DENIED';
  throw e;
}

export default { spawn, exec, execFile, execSync, execFileSync, spawnSync, fork, ChildProcess };
