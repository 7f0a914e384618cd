/**
 * pi's built-in file tools (read, write, edit, ls, find, grep) called through the `tool` hostcall, run by
 * pi-warden on the confined fs operations instead of by pi on the raw path.
 *
 * The mediation stage (src/mediation/tools/toolCalls.ts) checks the path a tool call names when the call is decided. If pi's
 * own tool then acted on that path later, a symlink swapped in between would redirect it, and a recursive tool
 * (grep, find) would walk the whole tree below a granted root, credential stores included. So the tools run here,
 * built from pi's own tool definitions (its output format, truncation, edit matching and image handling) with
 * their pluggable operations bound to the confined ones (src/mediation/fs/operations.ts): every file the tool opens is
 * checked where the kernel says it is, at the moment it is opened. find and grep walk through the same operations
 * (confinedSearch.ts) instead of spawning fd and ripgrep, and report how many paths were withheld.
 *
 * pi is not a dependency of pi-warden: the bridge passes the pi module it runs in (`PiFileToolKit`), tests pass the
 * npm package. Other tools (bash, extension tools) go to the host's `tool` operation.
 */
import { Compile } from 'typebox/compile';
import type { Operation, OperationContext } from '../../dispatch/index.ts';
import { WardenError } from '../../errors.ts';
import { resolve } from 'node:path';
import { foldToolName, piToolPath } from './toolCalls.ts';
import { findFiles, grepFiles, type FsCall, type WalkCounts } from './confinedSearch.ts';

/** The part of a pi tool definition used here. */
/** pi's file tools refused or failed (bad input is `tool_input`, from toolCalls.ts). */
export const FILE_TOOL_REASONS = ['tool_unconfined', 'tool_unavailable', 'tool_failed'] as const;
export type FileToolReason = (typeof FILE_TOOL_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    fileTool: FileToolReason;
  }
}

export interface PiToolDefinition {
  readonly name: string;
  readonly parameters: unknown;
  execute(toolCallId: string, params: never, signal?: AbortSignal, onUpdate?: undefined, ctx?: never): Promise<unknown>;
}

/** pi's tool-definition factories (`@earendil-works/pi-coding-agent` exports them). Operations are pi's shapes. */
export interface PiFileToolKit {
  createReadToolDefinition(cwd: string, options: { operations: object; autoResizeImages?: boolean }): PiToolDefinition;
  createWriteToolDefinition(cwd: string, options: { operations: object }): PiToolDefinition;
  createEditToolDefinition(cwd: string, options: { operations: object }): PiToolDefinition;
  createLsToolDefinition(cwd: string, options: { operations: object }): PiToolDefinition;
  createFindToolDefinition(cwd: string, options: { operations: object }): PiToolDefinition;
  createGrepToolDefinition(cwd: string, options: { operations: object }): PiToolDefinition;
}

export const PI_FILE_TOOLS = ['read', 'write', 'edit', 'ls', 'find', 'grep'] as const;
export type PiFileTool = (typeof PI_FILE_TOOLS)[number];

export interface FileToolOptions {
  /** pi's definitions; without them pi's file tools are refused (`tool_unconfined`), never handed to `fallback`. */
  readonly kit: PiFileToolKit | undefined;
  /** The confined fs operations (results already scanned by the secret broker). */
  readonly fs: ReadonlyMap<string, Operation>;
  /** The project root: relative tool paths are taken from here, as pi takes them from its cwd. */
  readonly projectRoot: string;
  /** The user's home, for `~` in tool paths. */
  readonly home: string;
  /** Content a tool is about to write that the extension did not send as such (an edit's result): throws to refuse. */
  readonly checkWrite?: (content: string, path: string, ctx: OperationContext) => void;
  /** Tools that are not pi's file tools. */
  readonly fallback?: Operation | undefined;
  /** How long grep's matching may run (default 20 s). */
  readonly grepDeadlineMs?: number;
}

const DEFAULT_GREP_LIMIT = 100;
const MAX_OUTPUT_BYTES = 50 * 1024;

export const isPiFileTool = (name: unknown): boolean => (PI_FILE_TOOLS as readonly string[]).includes(foldToolName(name) ?? '');

/** First bytes → one of the image types pi's read tool sends to the model, or null. */
function imageType(head: Buffer): string | null {
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 6 && (head.toString('latin1', 0, 6) === 'GIF87a' || head.toString('latin1', 0, 6) === 'GIF89a')) return 'image/gif';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

function notice(counts: WalkCounts): string {
  const parts: string[] = [];
  if (counts.withheld > 0) parts.push(`${counts.withheld} path${counts.withheld === 1 ? '' : 's'} withheld by pi-warden's file scope`);
  if (counts.truncated) parts.push('the walk stopped at its entry limit; narrow the path');
  return parts.length === 0 ? '' : `\n\n[${parts.join('. ')}]`;
}

function withNotice(result: unknown, counts: WalkCounts): unknown {
  const text = notice(counts);
  if (text === '' || result === null || typeof result !== 'object') return result;
  const r = result as { content?: Array<{ type: string; text?: string }>; details?: Record<string, unknown> };
  const content = (r.content ?? []).map((c, i, all) =>
    i === all.length - 1 && c.type === 'text' ? { ...c, text: `${c.text ?? ''}${text}` } : c,
  );
  return { ...r, content, details: { ...(r.details ?? {}), wardenWithheld: counts.withheld } };
}

/** `f()` as a promise: pi's operations are async, the confined ones synchronous (a throw becomes a rejection). */
const later = <T>(f: () => T): Promise<T> => new Promise((done) => done(f()));

/** Adapters from pi's operation shapes to the confined operations of one call. */
function operationsFor(call: FsCall, o: FileToolOptions, ctx: OperationContext) {
  const readFile = (abs: string): Promise<Buffer> => later(() => Buffer.from(String(call('fs.read', { path: abs })), 'base64'));
  const stat = (abs: string) => call('fs.stat', { path: abs }) as { isDirectory: boolean };
  const access = (abs: string): Promise<void> => later(() => void stat(abs));
  const exists = (abs: string): boolean => call('fs.exists', { path: abs }) === true;
  const writeFile = (abs: string, content: string): Promise<void> =>
    later(() => {
      o.checkWrite?.(content, abs, ctx);
      call('fs.write', { path: abs, data: content });
    });
  return {
    read: {
      readFile,
      access,
      detectImageMimeType: (abs: string) =>
        later(() => imageType(Buffer.from(String(call('fs.read', { path: abs, offset: 0, length: 16 })), 'base64'))),
    },
    write: { writeFile, mkdir: (dir: string) => later(() => void call('fs.mkdir', { path: dir, recursive: true })) },
    edit: { readFile, writeFile, access },
    ls: {
      exists,
      stat: (abs: string) => {
        const s = stat(abs);
        return { isDirectory: () => s.isDirectory };
      },
      readdir: (abs: string) => call('fs.list', { path: abs }) as string[],
    },
  };
}

type Checker = ReturnType<typeof Compile>;
const checkers = new WeakMap<object, Checker>();

function checkInput(def: PiToolDefinition, input: unknown): void {
  const schema = def.parameters;
  if (schema === null || typeof schema !== 'object') return;
  let checker = checkers.get(schema);
  if (checker === undefined) {
    checker = Compile(schema as Parameters<typeof Compile>[0]);
    checkers.set(schema, checker);
  }
  if (checker.Check(input)) return;
  const first = [...checker.Errors(input)][0] as { instancePath?: string; message?: string } | undefined;
  throw new WardenError(
    'invalid_request',
    `tool ${def.name}: input${first?.instancePath ?? ''} ${first?.message ?? 'does not match the tool schema'}`,
    { reasonCodes: ['tool_input'] },
  );
}

/** The `tool` operation: pi's file tools on the confined operations, anything else to `fallback`. */
export function createFileToolOperation(o: FileToolOptions): Operation {
  const run = o.kit === undefined ? undefined : fileToolRunner(o, o.kit);
  return (params, ctx) => {
    const name = foldToolName(params.name);
    if (name !== undefined && isPiFileTool(name)) {
      if (run === undefined) {
        throw new WardenError(
          'denied',
          `tool ${String(params.name)}: pi's file tools run only on pi-warden's confined file operations, and this runtime was given no pi tool definitions (RuntimeOptions.piTools)`,
          { reasonCodes: ['tool_unconfined'] },
        );
      }
      return run(name as PiFileTool, params, ctx);
    }
    if (o.fallback === undefined)
      throw new WardenError('io', `tool ${String(params.name)}: no host runs this tool`, { reasonCodes: ['tool_unavailable'] });
    return o.fallback(params, ctx);
  };
}

/** Runs one of pi's file tools, built from `kit` with the confined operations of the calling extension. */
function fileToolRunner(
  o: FileToolOptions,
  kit: PiFileToolKit,
): (name: PiFileTool, params: Readonly<Record<string, unknown>>, ctx: OperationContext) => Promise<unknown> {
  const cwd = o.projectRoot;
  for (const m of ['fs.read', 'fs.write', 'fs.list', 'fs.stat', 'fs.exists', 'fs.mkdir']) {
    if (o.fs.get(m) === undefined) throw new WardenError('internal', `pi's file tools need the confined ${m} operation`);
  }
  return async (name, params, ctx) => {
    const input = params.input !== null && typeof params.input === 'object' ? params.input : {};
    const call: FsCall = (method, p) => (o.fs.get(method) as Operation)(p, ctx);
    const ops = operationsFor(call, o, ctx);
    const counts: WalkCounts = { withheld: 0, truncated: false };
    const toolCtx = { cwd } as never;
    let def: PiToolDefinition;
    switch (name) {
      case 'read':
        def = kit.createReadToolDefinition(cwd, { operations: ops.read, autoResizeImages: false });
        break;
      case 'write':
        def = kit.createWriteToolDefinition(cwd, { operations: ops.write });
        break;
      case 'edit':
        def = kit.createEditToolDefinition(cwd, { operations: ops.edit });
        break;
      case 'ls':
        def = kit.createLsToolDefinition(cwd, { operations: ops.ls });
        break;
      case 'find':
        def = kit.createFindToolDefinition(cwd, {
          operations: {
            exists: ops.ls.exists,
            glob: (pattern: string, root: string, g: { limit: number }) => findFiles(call, pattern, root, g.limit, counts, ctx.signal),
          },
        });
        break;
      case 'grep':
        def = kit.createGrepToolDefinition(cwd, { operations: { isDirectory: (abs: string) => ops.ls.stat(abs).isDirectory() } });
        break;
    }
    checkInput(def, input);
    // pi reads `~` with the process's home; the scope checked it with the layout's. One reading: absolute here.
    const given = input as Record<string, unknown>;
    const absolute =
      typeof given.path === 'string' && given.path !== '' ? { ...given, path: resolve(cwd, piToolPath(given.path, o.home)) } : given;
    try {
      if (name === 'grep') return withNotice(await grep(call, absolute, o, counts, ctx), counts);
      return withNotice(await def.execute(ctx.callId, absolute as never, ctx.signal, undefined, toolCtx), counts);
    } catch (err) {
      if (err instanceof WardenError) throw err;
      throw new WardenError('io', `tool ${name}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000), {
        reasonCodes: ['tool_failed'],
      });
    }
  };
}

/** pi's grep tool's behaviour and output (`path:line: text`, `path-line- text` for context), on confinedSearch. */
async function grep(
  call: FsCall,
  input: Record<string, unknown>,
  o: FileToolOptions,
  counts: WalkCounts,
  ctx: OperationContext,
): Promise<unknown> {
  const root = resolve(o.projectRoot, piToolPath(typeof input.path === 'string' && input.path !== '' ? input.path : '.', o.home));
  let isDirectory: boolean;
  try {
    isDirectory = (call('fs.stat', { path: root }) as { isDirectory: boolean }).isDirectory;
  } catch (err) {
    if (err instanceof WardenError && err.code === 'denied') throw err;
    throw new WardenError('io', `Path not found: ${root}`, { reasonCodes: ['ENOENT'] });
  }
  const limit = Math.max(1, Math.floor(typeof input.limit === 'number' ? input.limit : DEFAULT_GREP_LIMIT));
  const r = await grepFiles(
    call,
    {
      pattern: String(input.pattern),
      glob: input.glob as string | undefined,
      ignoreCase: input.ignoreCase === true,
      literal: input.literal === true,
      context: typeof input.context === 'number' ? input.context : 0,
      limit,
    },
    root,
    isDirectory,
    counts,
    o.grepDeadlineMs ?? 20_000,
    ctx.signal,
  );
  if (r.matches === 0) return { content: [{ type: 'text', text: 'No matches found' }], details: undefined };
  let text = r.lines.join('\n');
  const notices: string[] = [];
  const details: Record<string, unknown> = {};
  if (r.limitReached) {
    notices.push(`${limit} matches limit reached. Use limit=${limit * 2} for more, or refine pattern`);
    details.matchLimitReached = limit;
  }
  const over = Buffer.byteLength(text) > MAX_OUTPUT_BYTES;
  if (over) {
    text = Buffer.from(text).subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
    text = text.slice(0, Math.max(0, text.lastIndexOf('\n')));
  }
  if (over || r.outputFull) {
    notices.push(`${MAX_OUTPUT_BYTES / 1024}KB limit reached`);
    details.truncated = true;
  }
  if (r.linesTruncated) {
    notices.push('Some lines truncated to 500 chars. Use read tool to see full lines');
    details.linesTruncated = true;
  }
  if (notices.length > 0) text += `\n\n[${notices.join('. ')}]`;
  return { content: [{ type: 'text', text }], details: Object.keys(details).length > 0 ? details : undefined };
}
