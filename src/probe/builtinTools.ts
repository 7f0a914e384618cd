/**
 * pi's built-in tools (read, bash, edit, write, grep, find, ls) as plain data, taken from the installed pi itself,
 * so that an extension that wraps one (`createReadToolDefinition(cwd)`, `createBashTool(cwd)`) registers exactly
 * pi's schema. pi is optional here (a peer of pi-warden): without it the sandbox falls back to an open object.
 */
import type { BuiltinToolDescription } from '../sandbox/index.ts';

export const PI_PACKAGES = ['@earendil-works/pi-coding-agent', '@mariozechner/pi-coding-agent'] as const;
const NAMES = { read: 'Read', bash: 'Bash', edit: 'Edit', write: 'Write', grep: 'Grep', find: 'Find', ls: 'Ls' } as const;

/** True when a bundle uses one of pi's built-in tool factories (so the host should provide the descriptions). */
export function usesBuiltinTools(code: string): boolean {
  return /\bcreate(Read|Bash|Edit|Write|Grep|Find|Ls)Tool(Definition)?\b|\bcreate(Coding|ReadOnly)Tools\b/.test(code);
}

const cache = new Map<string, Promise<Record<string, BuiltinToolDescription> | undefined>>();

async function load(pkg: string, cwd: string): Promise<Record<string, BuiltinToolDescription> | undefined> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const out: Record<string, BuiltinToolDescription> = {};
  for (const [name, cap] of Object.entries(NAMES)) {
    const factory = mod[`create${cap}ToolDefinition`] ?? mod[`create${cap}Tool`];
    if (typeof factory !== 'function') continue;
    try {
      const def = (factory as (cwd: string) => { label?: unknown; description?: unknown; parameters?: unknown })(cwd);
      out[name] = {
        label: typeof def.label === 'string' ? def.label : name,
        description: typeof def.description === 'string' ? def.description : '',
        parameters: JSON.parse(JSON.stringify(def.parameters ?? {})) as unknown,
      };
    } catch {
      // a factory that needs more than a cwd: leave that tool to the fallback
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The descriptions from the given pi package, or from the first installed one. */
export async function builtinToolDescriptions(cwd: string, pkg?: string): Promise<Record<string, BuiltinToolDescription> | undefined> {
  for (const name of pkg === undefined ? PI_PACKAGES : [pkg]) {
    const key = `${name}\u0000${cwd}`;
    if (!cache.has(key)) cache.set(key, load(name, cwd));
    const found = await cache.get(key);
    if (found !== undefined) return found;
  }
  return undefined;
}
