/**
 * `tool` hostcalls that name one of pi's built-in tools run outside the sandbox with the user's rights, so they
 * pass the same mediation as the equivalent direct call: `bash` is an `exec` of `bash -c <command>` (exec
 * mediation), `read`/`grep`/`find`/`ls` read their path and `write`/`edit` write it (filesystem scope). Without
 * this an extension denied `rm -rf ~` through `exec` could ask pi's bash tool for it.
 *
 * The stage swaps the call's method and params for the equivalent ones while the inner stages run and restores
 * them afterwards, so reason codes land on the real call and the ledger records it as the `tool` call it was.
 */
import type { DispatchContext } from '../dispatch/hostcall.ts';
import type { StageOutcome, SyncStage } from '../dispatch/stage.ts';

type Equivalent = { method: string; params: Record<string, unknown> };

function pathOf(input: Record<string, unknown>): string {
  return typeof input.path === 'string' && input.path !== '' ? input.path : '.';
}

/** The direct call a built-in tool call amounts to, or undefined for tools that are not pi's built-ins. */
export function equivalentCall(name: unknown, input: unknown): Equivalent | undefined {
  const i = input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  switch (name) {
    case 'bash': return { method: 'exec', params: { cmd: 'bash', args: ['-c', typeof i.command === 'string' ? i.command : ''] } };
    case 'read': case 'grep': case 'find': return { method: 'fs.read', params: { path: pathOf(i) } };
    case 'ls': return { method: 'fs.list', params: { path: pathOf(i) } };
    case 'write': return { method: 'fs.write', params: { path: pathOf(i), data: typeof i.content === 'string' ? i.content : '' } };
    case 'edit': return { method: 'fs.write', params: { path: pathOf(i), data: '' } };
    default: return undefined;
  }
}

export function createToolCallStage(inner: readonly SyncStage[]): SyncStage {
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      if (ctx.method !== 'tool') return undefined;
      const eq = equivalentCall(ctx.params.name, ctx.params.input);
      if (eq === undefined) return undefined;
      const { method, params } = ctx;
      ctx.method = eq.method;
      ctx.params = eq.params;
      try {
        for (const stage of inner) {
          const out = stage.run(ctx);
          if (out !== undefined) return out;
        }
        return undefined;
      } finally {
        ctx.method = method;
        ctx.params = params;
      }
    },
  };
}
