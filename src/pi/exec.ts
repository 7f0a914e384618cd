/**
 * `exec` inside a pi session: the program an extension asked for, after exec mediation allowed it, as a child
 * process without a shell (unless the call asked for one and mediation classified the shell line), with every
 * variable the secret broker calls secret taken out of its environment, a time limit and an output cap, inside
 * the OS sandbox built from the extension's policy (src/pi/confine). This is the only place children are spawned.
 *
 * `startChild` is the same child streamed (`exec.spawn`): its output is kept until the extension reads it
 * (`exec.read`), and the total it may print over its life is the same cap as a buffered run's; past it, it is killed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { isAbsolute, resolve } from 'node:path';
import { WardenError } from '../errors.ts';
import { confine, type Confinement } from './confine/index.ts';

export interface ChildResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly killed: boolean;
}

export interface ChildOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isSecretName: (name: string) => boolean;
  readonly signal?: AbortSignal;
  /** The OS sandbox of the extension's children (its setting `off` runs them unconfined). */
  readonly confinement: Confinement;
}

const DEFAULT_MAX_BUFFER = 10 * 1024 * 1024;

/** The environment a child gets: the parent's minus secret names, plus what the call set (secret names refused). */
export function childEnv(
  parent: Readonly<Record<string, string | undefined>>,
  extra: Readonly<Record<string, unknown>> | undefined,
  isSecretName: (name: string) => boolean,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !isSecretName(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra ?? {})) if (typeof v === 'string' && !isSecretName(k)) env[k] = v;
  return env;
}

/** bubblewrap's words for a program that is not there, said the way a shell says it. */
const BWRAP_NOT_FOUND = /^bwrap: execvp [^\n]*: No such file or directory\n?$/;

export async function runChild(params: Readonly<Record<string, unknown>>, o: ChildOptions): Promise<ChildResult> {
  const cmd = String(params.cmd);
  const args = Array.isArray(params.args) ? params.args.map(String) : [];
  const cwd = typeof params.cwd === 'string' ? (isAbsolute(params.cwd) ? params.cwd : resolve(o.cwd, params.cwd)) : o.cwd;
  // `shell: true` as Node runs it (`/bin/sh -c` with the words joined), so the sandbox wraps the shell itself.
  const argv = params.shell === true ? ['/bin/sh', '-c', [cmd, ...args].join(' ')] : [cmd, ...args];
  const confined = await confine(argv, cwd, o.confinement);
  try {
    const r = await spawnChild(confined.cmd, confined.args, cwd, params, o);
    if (confined.confined && r.code === 1 && r.stdout === '' && BWRAP_NOT_FOUND.test(r.stderr))
      return { ...r, stderr: `${cmd}: command not found\n`, code: 127 };
    return r;
  } finally {
    await confined.release();
  }
}

function spawnChild(
  program: string,
  programArgs: readonly string[],
  cwd: string,
  params: Readonly<Record<string, unknown>>,
  o: ChildOptions,
): Promise<ChildResult> {
  const cmd = String(params.cmd);
  const maxBuffer = typeof params.maxBuffer === 'number' ? params.maxBuffer : DEFAULT_MAX_BUFFER;
  const timeoutMs = typeof params.timeoutMs === 'number' && params.timeoutMs > 0 ? params.timeoutMs : undefined;
  return new Promise((done, fail) => {
    let child;
    try {
      child = spawn(program, programArgs, {
        cwd,
        env: childEnv(o.env, params.env as Record<string, unknown> | undefined, o.isSecretName),
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      });
    } catch (err) {
      fail(new WardenError('io', `exec ${cmd}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    let size = 0;
    let killed = false;
    const kill = () => {
      killed = true;
      child.kill('SIGKILL');
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(kill, timeoutMs);
    const take = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size > maxBuffer) kill();
      else into.push(b);
    };
    child.stdout.on('data', take(out));
    child.stderr.on('data', take(errs));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer !== undefined) clearTimeout(timer);
      if (err.code === 'ENOENT') done({ stdout: '', stderr: `${cmd}: command not found\n`, code: 127, killed: false });
      else if (err.name === 'AbortError')
        done({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errs).toString('utf8'), code: null, killed: true });
      else fail(new WardenError('io', `exec ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      if (timer !== undefined) clearTimeout(timer);
      done({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errs).toString('utf8'), code, killed });
    });
    if (typeof params.stdin === 'string') child.stdin.end(params.stdin);
    else child.stdin.end();
  });
}

/** What a streamed child printed since the last read; `done` once it exited and everything was read. */
export interface ChildOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly done: boolean;
  readonly code?: number | null;
  readonly signal?: string | null;
  readonly killed?: boolean;
}

/** Signals that end a child: after one, what it prints is dropped (see `StreamedChild.kill`). */
const ENDING = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT']);

/** A child started by `exec.spawn`: output waits here until read; the total is capped like a buffered run's. */
export class StreamedChild {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #maxBuffer: number;
  readonly #decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  #pending = { stdout: '', stderr: '' };
  #size = 0;
  #exit: { code: number | null; signal: string | null } | undefined;
  #killed = false;
  /** Set by an ending signal: output after it is not handed on. */
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly pid: number | undefined;

  constructor(child: ChildProcessWithoutNullStreams, cmd: string, maxBuffer: number, timeoutMs: number | undefined, onExit: () => void) {
    this.#child = child;
    this.#maxBuffer = maxBuffer;
    this.pid = child.pid;
    this.#timer = timeoutMs === undefined ? undefined : setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => this.#take('stdout', b));
    child.stderr.on('data', (b: Buffer) => this.#take('stderr', b));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') this.#pending.stderr += `${cmd}: command not found\n`;
      this.#finish(err.code === 'ENOENT' ? 127 : null, null, onExit);
    });
    child.on('close', (code, signal) => this.#finish(code, signal, onExit));
    // stdin stays open for exec.write; an error on it (the child exited first) is the child's business.
    child.stdin.on('error', () => undefined);
  }

  #take(stream: 'stdout' | 'stderr', b: Buffer): void {
    if (this.#ended) return;
    this.#size += b.length;
    if (this.#size > this.#maxBuffer) {
      this.kill('SIGKILL');
      return;
    }
    this.#pending[stream] += this.#decoders[stream].write(b);
    this.#wake?.();
  }

  #finish(code: number | null, signal: string | null, onExit: () => void): void {
    if (this.#exit !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#pending.stdout += this.#decoders.stdout.end();
    this.#pending.stderr += this.#decoders.stderr.end();
    this.#exit = { code, signal };
    onExit();
    this.#wake?.();
  }

  /** What was printed since the last read; waits up to `waitMs` for something (the caller polls again on nothing). */
  async read(waitMs: number, signal?: AbortSignal): Promise<ChildOutput> {
    if (this.#pending.stdout === '' && this.#pending.stderr === '' && this.#exit === undefined) {
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, waitMs);
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.#wake = undefined;
          wake();
        };
        this.#wake = done;
        signal?.addEventListener('abort', done);
      });
    }
    const { stdout, stderr } = this.#pending;
    this.#pending = { stdout: '', stderr: '' };
    if (this.#exit === undefined) return { stdout, stderr, done: false };
    return { stdout, stderr, done: true, code: this.#exit.code, signal: this.#exit.signal, killed: this.#killed };
  }

  write(data: string, end: boolean): void {
    if (this.#exit !== undefined || this.#child.stdin.destroyed) return;
    if (data !== '') this.#child.stdin.write(data);
    if (end) this.#child.stdin.end();
  }

  /**
   * Signals the child. Inside bubblewrap the signal reaches bwrap, and the program dies with it (die-with-parent)
   * a moment later: Node closes the child's stdin when bwrap exits, so in that moment a program waiting on stdin
   * would go on and print. What it prints after an ending signal is therefore dropped.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.#exit !== undefined) return false;
    this.#killed = true;
    if (ENDING.has(signal)) this.#ended = true;
    return this.#child.kill(signal);
  }

  get exited(): boolean {
    return this.#exit !== undefined;
  }
}

/** Starts a streamed child the way `runChild` runs one: same argv, environment, confinement, time limit and cap. */
export async function startChild(params: Readonly<Record<string, unknown>>, o: ChildOptions): Promise<StreamedChild> {
  const cmd = String(params.cmd);
  const args = Array.isArray(params.args) ? params.args.map(String) : [];
  const cwd = typeof params.cwd === 'string' ? (isAbsolute(params.cwd) ? params.cwd : resolve(o.cwd, params.cwd)) : o.cwd;
  const argv = params.shell === true ? ['/bin/sh', '-c', [cmd, ...args].join(' ')] : [cmd, ...args];
  const confined = await confine(argv, cwd, o.confinement);
  const maxBuffer = typeof params.maxBuffer === 'number' ? params.maxBuffer : DEFAULT_MAX_BUFFER;
  const timeoutMs = typeof params.timeoutMs === 'number' && params.timeoutMs > 0 ? params.timeoutMs : undefined;
  let child;
  try {
    child = spawn(confined.cmd, confined.args, {
      cwd,
      env: childEnv(o.env, params.env as Record<string, unknown> | undefined, o.isSecretName),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    await confined.release();
    throw new WardenError('io', `exec ${cmd}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return new StreamedChild(child, cmd, maxBuffer, timeoutMs, () => void confined.release());
}
