/**
 * Sockets of sandboxed extensions inside a pi session (ADR 0038): a `net.connect` that mediation allowed (granted
 * by name, a target in the grant: src/mediation/net) is checked once more here, where the children are known: the
 * listening end must belong to a process this extension started through the bridge (`exec.spawn`), unless the
 * user's grant turns the owner check off. Then the socket is held by handle, per extension, like a streamed child:
 * what it receives waits here until the extension reads it (`net.read`), what the extension sends goes out with
 * `net.write`, `net.close` destroys it.
 *
 * Caps: `MAX_SOCKETS` open per extension; a read hands on at most `READ_BYTES`; a socket that has `HELD_BYTES`
 * unread is paused (TCP and Unix sockets push back on the sender) until the extension reads, so the host holds at
 * most about MAX_SOCKETS × HELD_BYTES for one extension.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { isAbsolute, join } from 'node:path';
import type { OperationContext } from '../dispatch/index.ts';
import { WardenError } from '../errors.ts';
import { checkListenerOwner, netError, parseNetTarget } from '../mediation/index.ts';
import type { NetGrant } from '../policy/index.ts';

export const MAX_SOCKETS = 16;
export const READ_BYTES = 64 * 1024;
export const HELD_BYTES = 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/** What a socket received since the last read (base64); `done` once it closed and everything was read. */
export interface SocketChunk {
  readonly data: string;
  readonly done: boolean;
  /** Why it closed, when it closed with an error (ECONNRESET, EPIPE). */
  readonly error?: string;
}

class HeldSocket {
  readonly #socket: Socket;
  #pending: Buffer[] = [];
  #size = 0;
  #closed = false;
  #error: string | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (b: Buffer) => {
      this.#pending.push(b);
      this.#size += b.length;
      if (this.#size >= HELD_BYTES) socket.pause();
      this.#wake?.();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error = err.code ?? err.message;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  async read(waitMs: number, signal?: AbortSignal): Promise<SocketChunk> {
    if (this.#size === 0 && !this.#closed) {
      await new Promise<void>((wake) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.#wake = undefined;
          wake();
        };
        const timer = setTimeout(done, waitMs);
        this.#wake = done;
        signal?.addEventListener('abort', done);
      });
    }
    const all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const out = all.subarray(0, READ_BYTES);
    const rest = all.subarray(out.length);
    this.#pending = rest.length === 0 ? [] : [rest];
    this.#size = rest.length;
    if (this.#size < HELD_BYTES && this.#socket.isPaused() && !this.#closed) this.#socket.resume();
    const done = this.#closed && this.#size === 0;
    return { data: out.toString('base64'), done, ...(done && this.#error !== undefined ? { error: this.#error } : {}) };
  }

  /** Resolves once the bytes are handed to the kernel, so a guest writing in a loop is held back by the receiver. */
  write(data: Buffer, end: boolean): Promise<void> {
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) return Promise.resolve();
    return new Promise((done) => {
      const finish = () => {
        if (end) this.#socket.end();
        done();
      };
      if (data.length === 0) finish();
      else this.#socket.write(data, () => finish());
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

export interface NetSocketsOptions {
  /** The project: relative socket paths are taken from it (as mediation took them). */
  readonly cwd: string;
  /** The user's net grant of an extension (its owner check switch). */
  readonly grant: (extensionId: string) => NetGrant;
  /** The pids of the processes an extension started through the bridge that still run. */
  readonly children: (extensionId: string) => number[];
}

export class NetSockets {
  readonly #o: NetSocketsOptions;
  readonly #sockets = new Map<string, Map<string, HeldSocket>>();
  readonly #connecting = new Map<string, number>();

  constructor(o: NetSocketsOptions) {
    this.#o = o;
  }

  async connect(params: Readonly<Record<string, unknown>>, op: OperationContext): Promise<{ handle: string }> {
    const id = op.extensionId;
    const mine = this.#sockets.get(id) ?? new Map<string, HeldSocket>();
    for (const [handle, s] of mine) if (s.closed) mine.delete(handle);
    const connecting = this.#connecting.get(id) ?? 0;
    if (mine.size + connecting >= MAX_SOCKETS)
      throw netError({
        reason: 'net_socket_limit',
        detail: `expected at most ${MAX_SOCKETS} open sockets per extension, found ${mine.size + connecting} open or opening`,
      });
    const cwd = this.#o.cwd;
    const parsed = parseNetTarget(params, { absolute: (p) => (isAbsolute(p) ? p : join(cwd, p)) });
    if (!parsed.ok) throw netError(parsed.refusal);
    const target = parsed.target;
    if (this.#o.grant(id).ownerCheck) {
      const refusal = checkListenerOwner(target, this.#o.children(id));
      if (refusal !== undefined) throw netError(refusal, target.kind === 'unix' ? target.path : `${target.host}:${target.port}`);
    }
    this.#connecting.set(id, connecting + 1);
    let socket: Socket;
    try {
      socket = await new Promise<Socket>((done, fail) => {
        const s = target.kind === 'unix' ? connect({ path: target.real }) : connect({ host: target.host, port: target.port });
        const timer = setTimeout(() => s.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
        const abort = () => s.destroy(new Error('the call was cancelled'));
        op.signal?.addEventListener('abort', abort);
        s.once('connect', () => {
          clearTimeout(timer);
          op.signal?.removeEventListener('abort', abort);
          done(s);
        });
        s.once('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          op.signal?.removeEventListener('abort', abort);
          fail(
            new WardenError('io', `net.connect: ${err.code ?? 'error'}: ${err.message}`, {
              reasonCodes: err.code === undefined ? [] : [err.code as Uppercase<string>],
            }),
          );
        });
      });
    } finally {
      this.#connecting.set(id, (this.#connecting.get(id) ?? 1) - 1);
    }
    const handle = randomUUID();
    mine.set(handle, new HeldSocket(socket));
    this.#sockets.set(id, mine);
    return { handle };
  }

  #socket(name: string, params: Readonly<Record<string, unknown>>, op: OperationContext): HeldSocket {
    const s = this.#sockets.get(op.extensionId)?.get(String(params.handle));
    if (s === undefined)
      throw new WardenError(
        'invalid_request',
        `${name}: expected the handle of a socket this extension opened, found ${String(params.handle)}`,
      );
    return s;
  }

  async read(params: Readonly<Record<string, unknown>>, op: OperationContext, waitMs: number): Promise<SocketChunk> {
    const quiet = typeof params.quietMs === 'number' && params.quietMs >= 0 ? Math.min(params.quietMs, waitMs) : waitMs;
    const r = await this.#socket('net.read', params, op).read(quiet, op.signal);
    op.hold?.(r.data.length);
    if (r.done) this.#sockets.get(op.extensionId)?.delete(String(params.handle));
    return r;
  }

  async write(params: Readonly<Record<string, unknown>>, op: OperationContext): Promise<null> {
    const data = Buffer.from(String(params.data), params.encoding === 'base64' ? 'base64' : 'utf8');
    await this.#socket('net.write', params, op).write(data, params.end === true);
    return null;
  }

  close(params: Readonly<Record<string, unknown>>, op: OperationContext): null {
    const handle = String(params.handle);
    this.#socket('net.close', params, op).close();
    this.#sockets.get(op.extensionId)?.delete(handle);
    return null;
  }

  /** Closes the sockets of an extension (all extensions' without one). */
  stop(extensionId?: string): void {
    for (const [ext, sockets] of this.#sockets) {
      if (extensionId !== undefined && ext !== extensionId) continue;
      for (const s of sockets.values()) s.close();
      this.#sockets.delete(ext);
    }
  }
}
