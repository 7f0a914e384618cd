/**
 * `tool` hostcalls that name one of pi's built-in tools run outside the sandbox with the user's rights, so they
 * pass the same mediation as the equivalent direct call: `bash` is an `exec` of `bash -c <command>` (exec
 * mediation), `read`/`grep`/`find`/`ls` read their path and `write`/`edit` write it (filesystem scope). Without
 * this an extension denied `rm -rf ~` through `exec` could ask pi's bash tool for it.
 *
 * The stage swaps the call's method and params for the equivalent ones while the inner stages run and restores
 * them afterwards, so reason codes land on the real call and the ledger records it as the `tool` call it was.
 */
import type { DispatchContext, Stage, StageOutcome } from '../../dispatch/index.ts';
import { decisionError } from '../../errors.ts';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A tool call whose input does not match the tool's schema. */
export const TOOL_CALL_REASONS = ['tool_input'] as const;
export type ToolCallReason = (typeof TOOL_CALL_REASONS)[number];
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    toolCall: ToolCallReason;
  }
}

type Equivalent = { method: string; params: Record<string, unknown> };

const UNICODE_SPACES = /[\u00A0\u2000-\u200A\u202F\u205F\u3000]/g;

/**
 * The path pi's tools will open, the way pi's `resolveToCwd` reads it: a leading `@` dropped, `file:` URLs and
 * `~` expanded, unicode spaces made plain. Checking the raw string would check `<project>/~/.ssh/id_rsa`.
 */
export function piToolPath(raw: string, home: string): string {
  let p = raw.replace(UNICODE_SPACES, ' ');
  if (p.startsWith('@')) p = p.slice(1);
  if (p.startsWith('file:')) {
    try {
      p = fileURLToPath(p);
    } catch {
      // not a valid file URL: pi keeps it as a relative name, and so does the check
    }
  }
  if (p === '~') return home;
  if (p.startsWith('~/')) return `${home}/${p.slice(2)}`;
  return p;
}

/** pi's read tool also tries these spellings when the path does not exist: each must pass. */
export function piReadVariants(path: string): string[] {
  const nfd = path.normalize('NFD');
  const curly = (s: string) => s.replace(/'/g, '\u2019');
  return [...new Set([path, path.replace(/ (AM|PM)\./gi, '\u202F$1.'), nfd, curly(path), curly(nfd)])];
}

/** A tool name as pi's built-ins are matched here and by the tool operation (src/mediation/tools/fileTools.ts): trimmed, lower case. */
export function foldToolName(name: unknown): string | undefined {
  return typeof name === 'string' ? name.trim().toLowerCase() : undefined;
}

const inputOf = (input: unknown): Record<string, unknown> =>
  input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};

function pathOf(input: Record<string, unknown>, home: string): string {
  return typeof input.path === 'string' && input.path !== '' ? piToolPath(input.path, home) : '.';
}

/** The direct call a built-in tool call amounts to, or undefined for tools that are not pi's built-ins. */
export function equivalentCall(name: unknown, input: unknown, home: string = homedir()): Equivalent | undefined {
  const i = inputOf(input);
  // Folded, so `Read` cannot skip the check the capability lookup (which folds too) applies.
  switch (foldToolName(name)) {
    case 'bash':
      return { method: 'exec', params: { cmd: 'bash', args: ['-c', typeof i.command === 'string' ? i.command : ''] } };
    case 'read':
    case 'grep':
    case 'find':
      return { method: 'fs.read', params: { path: pathOf(i, home) } };
    case 'ls':
      return { method: 'fs.list', params: { path: pathOf(i, home) } };
    case 'write':
      return { method: 'fs.write', params: { path: pathOf(i, home), data: typeof i.content === 'string' ? i.content : '' } };
    case 'edit':
      return { method: 'fs.write', params: { path: pathOf(i, home), data: '' } };
    default:
      return undefined;
  }
}

/**
 * Why a built-in tool call's input cannot be mediated (a field the check reads is not a string), or undefined. Such
 * a call is refused: `command: ['rm -rf ~']` would be checked as an empty command and run by a host that turns it
 * into a string.
 */
export function toolInputProblem(name: unknown, input: unknown): string | undefined {
  const tool = foldToolName(name);
  const i = inputOf(input);
  const must = (key: string, required: boolean) =>
    (required ? typeof i[key] !== 'string' : i[key] !== undefined && typeof i[key] !== 'string')
      ? `tool ${tool}: input.${key} must be a string`
      : undefined;
  switch (tool) {
    case 'bash':
      return must('command', true);
    case 'read':
    case 'grep':
    case 'find':
    case 'ls':
    case 'edit':
      return must('path', tool === 'read' || tool === 'edit');
    case 'write':
      return must('path', true) ?? must('content', true);
    default:
      return undefined;
  }
}

/**
 * `inner` runs with the call swapped for its equivalent. A stage that waits (exec mediation asking the user) must
 * come last and read the params before it waits: the swap is undone when this returns. Only `bash` reaches exec,
 * with one variant, so its answer is the whole outcome.
 */
export function createToolCallStage(inner: readonly Stage[], home: string = homedir()): Stage {
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome | Promise<StageOutcome> {
      // `tool.input`: a tool_call handler's rewrite of the input pi's own tool will run (the bridge, SPEC §10).
      if (ctx.method !== 'tool' && ctx.method !== 'tool.input') return undefined;
      const eq = equivalentCall(ctx.params.name, ctx.params.input, home);
      if (eq === undefined) return undefined;
      const bad = toolInputProblem(ctx.params.name, ctx.params.input);
      if (bad !== undefined) return decisionError('invalid_request', bad, { reasonCodes: ['tool_input'] });
      const { method, params } = ctx;
      const variants = typeof eq.params.path === 'string' ? piReadVariants(eq.params.path) : [undefined];
      try {
        for (const v of variants) {
          ctx.method = eq.method;
          ctx.params = v === undefined ? eq.params : { ...eq.params, path: v };
          for (const stage of inner) {
            const out = stage.run(ctx);
            if (out !== undefined) return out;
          }
        }
        return undefined;
      } finally {
        ctx.method = method;
        ctx.params = params;
      }
    },
  };
}
