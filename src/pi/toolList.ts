/**
 * A tool's `ctx.tools` (pi 1.5.2+) as the sandbox gets it: each tool's name, label, description and parameters as
 * plain data. pi builds a new array on every read (`_getCallableTools`, agent-session.js) but of the same tool
 * objects until a tool is registered or the active set changes, so the copy is made once per distinct list: copying
 * pi's built-in tools' schemas on every call was 45–54 µs of an echo tool call (measured, issue 18).
 */
import { plainData } from '../dispatch/index.ts';

type Tool = readonly [tool: unknown, name: unknown, label: unknown, description: unknown, parameters: unknown];

/** What the copy was made from: pi's tool objects and the four fields read off each. */
const toolOf = (t: unknown): Tool => {
  const o = t !== null && typeof t === 'object' ? (t as Record<string, unknown>) : {};
  return [t, o.name, o.label, o.description, o.parameters];
};

/**
 * One extension's copy of the last list it was given. A list is the same when it holds the same tool objects in the
 * same order and each still has the same four fields (`parameters` by identity: a schema object edited in place after
 * registration is not seen, as pi's own registry never does that; registering or activating tools gives new objects).
 * The copy is deeply frozen, so the sandbox may know it by identity (Sandbox.#toolsOnce).
 */
export class ToolListCopy {
  #from: readonly Tool[] = [];
  #copy: readonly unknown[] | undefined;

  of(list: readonly unknown[]): readonly unknown[] {
    const from = list.map(toolOf);
    if (this.#copy !== undefined && sameTools(from, this.#from)) return this.#copy;
    const copy = deepFreeze(from.map(([, name, label, description, parameters]) => plainData({ name, label, description, parameters })));
    this.#from = from;
    this.#copy = copy;
    return copy;
  }
}

function sameTools(a: readonly Tool[], b: readonly Tool[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Tool;
    const y = b[i] as Tool;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

/** plainData's output is a tree of fresh objects and arrays (no cycles), so freezing walks each once. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
