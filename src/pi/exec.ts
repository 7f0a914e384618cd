/**
 * `exec` inside a pi session: the program an extension asked for, after exec mediation allowed it, as a child
 * process without a shell (unless the call asked for one and mediation classified the shell line), with every
 * variable the secret broker calls secret taken out of its environment, a time limit and an output cap, inside
 * the OS sandbox built from the extension's policy (src/pi/confine). This is the only place children are spawned.
 */
import { spawn } from 'node:child_process';
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
