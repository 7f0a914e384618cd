/**
 * Constant folding and alias resolution (SPEC §8.2). `Evaluator.value(node)` computes what an expression is as far
 * as the scanner can know without running it: a string or number (folding concatenation, templates, `join`,
 * `String.fromCharCode`, base64/hex/URI decoding, `split/reverse/replace`), an array of those, an object literal,
 * a function, or a *reference* — a dotted path naming a global or a module member (`eval`, `process.binding`,
 * `mod:child_process.spawn`). Bindings are per file and flow-insensitive: every `const/let/var`, destructuring,
 * import and plain assignment is remembered, so `const e = eval`, `const {spawn: s} = require('child_process')`
 * and `globalThis['ev' + 'al']` all resolve. Unknown stays unknown (undefined); callers decide what that means.
 */
import { child, children, text, unwrap, type AstNode } from './ast.ts';

export type Value =
  | { readonly k: 'str'; readonly v: string; readonly via: readonly string[] }
  | { readonly k: 'num'; readonly v: number }
  | { readonly k: 'arr'; readonly items: readonly (Value | undefined)[] }
  | { readonly k: 'obj'; readonly props: ReadonlyMap<string, AstNode> }
  | { readonly k: 'fn'; readonly node: AstNode }
  | { readonly k: 'ref'; readonly path: string; readonly via: readonly string[] };

const GLOBAL_ALIASES = new Set(['globalThis', 'global', 'window', 'self', 'frames']);
/** Constructors whose `.constructor` is `Function` (`''.constructor.constructor`, `[].constructor.constructor`). */
const BUILTIN_CTORS = new Set([
  'String',
  'Number',
  'Boolean',
  'Array',
  'Object',
  'Function',
  'Symbol',
  'Promise',
  'RegExp',
  'Error',
  'Date',
  'Map',
  'Set',
  'AsyncFunction',
  'GeneratorFunction',
]);
const MAX_DEPTH = 60;
/** Calls whose result the evaluator computes; every other call of a reference is just `path()`. */
const FOLDING_CALLS = new Set([
  'require',
  'mod:module._load',
  'mod:module.createRequire',
  'String.fromCharCode',
  'String.fromCodePoint',
  'atob',
  'btoa',
  'Buffer.from',
  'decodeURIComponent',
  'decodeURI',
  'unescape',
  'encodeURIComponent',
  'encodeURI',
  'String',
  'Reflect.get',
  'Object.getPrototypeOf',
  'JSON.parse',
]);
const MAX_STRING = 1 << 20;

export function str(v: string, via: readonly string[] = []): Value {
  return { k: 'str', v: v.length > MAX_STRING ? v.slice(0, MAX_STRING) : v, via };
}
export function ref(path: string, via: readonly string[] = []): Value {
  return { k: 'ref', path: normalizePath(path), via };
}

/** `node:fs` → `fs`; the first path segment for deep imports of builtins (`fs/promises` stays). */
export function normalizeModule(name: string): string {
  let n = name.startsWith('node:') ? name.slice(5) : name;
  if (n === 'fs/promises' || n === 'inspector/promises' || n === 'dns/promises' || n === 'timers/promises')
    return n.split('/')[0] === 'fs' ? 'fs/promises' : n.split('/')[0]!;
  if (!n.startsWith('@') && !n.startsWith('.') && !n.startsWith('/') && n.includes('/') && !n.endsWith('.node')) n = n.split('/')[0]!;
  return n;
}

const PATH_REWRITES: ReadonlyArray<readonly [string, string]> = [
  ['process.mainModule.require', 'require'],
  ['module.require', 'require'],
  ['require.main.require', 'require'],
  ['module.constructor', 'mod:module'],
  ['require.main.constructor', 'mod:module'],
  ['process.mainModule.constructor', 'mod:module'],
  ['mod:module.Module', 'mod:module'],
  ['mod:fs.promises', 'mod:fs/promises'],
  ['mod:fs/promises.default', 'mod:fs/promises'],
  ['Function.prototype.constructor', 'Function'],
];

/** First segments of every rewrite source: most paths (`ctx.ui.notify`) skip the rewrite loop. */
const REWRITE_HEADS = new Set(PATH_REWRITES.map(([from]) => from.slice(0, from.indexOf('.'))));

function normalizePath(path: string): string {
  const dot = path.indexOf('.');
  if (dot < 0 || !REWRITE_HEADS.has(path.slice(0, dot)))
    return path.startsWith('mod:') && path.includes('.default') ? path.replace(/\.default(?=\.|$)/, '') : path;
  let p = path;
  for (const [from, to] of PATH_REWRITES) {
    if (p === from || p.startsWith(`${from}.`)) p = to + p.slice(from.length);
  }
  // `import cp from 'child_process'` in ESM interop: `.default` of a module is the module.
  if (p.startsWith('mod:')) p = p.replace(/\.default(?=\.|$)/, '');
  return p;
}

function viaOf(...values: Array<Value | undefined>): string[] {
  const out: string[] = [];
  for (const v of values) if (v !== undefined && (v.k === 'str' || v.k === 'ref')) for (const s of v.via) if (!out.includes(s)) out.push(s);
  return out;
}

function decodeBuffer(input: string, encoding: string): string | undefined {
  const enc = encoding.toLowerCase();
  if (enc === 'base64' || enc === 'base64url') return Buffer.from(input, enc).toString('latin1');
  if (enc === 'hex') return /^([0-9a-f]{2})*$/i.test(input) ? Buffer.from(input, 'hex').toString('latin1') : undefined;
  if (enc === 'utf8' || enc === 'utf-8' || enc === 'latin1' || enc === 'binary' || enc === 'ascii') return input;
  return undefined;
}

export function looksBase64(s: string): boolean {
  return s.length >= 8 && s.length % 4 !== 1 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(s);
}

/** Resolves names to what they were bound to. One per file; built by `collectBindings`. */
export class Evaluator {
  readonly bindings = new Map<string, AstNode[]>();
  /** Destructured and imported names: name → (source expression or module ref, key). */
  readonly projections = new Map<string, Array<{ source: AstNode | Value; key: string | number | undefined }>>();
  private readonly active = new Set<string>();
  private readonly cache = new Map<AstNode, Value | undefined>();
  private readonly names = new Map<string, Value | undefined>();
  private depth = 0;
  private readonly locals: Array<Map<string, Value | undefined>> = [];

  bind(name: string, init: AstNode): void {
    const list = this.bindings.get(name);
    if (list === undefined) this.bindings.set(name, [init]);
    else if (list.length < 8) list.push(init);
  }

  project(name: string, source: AstNode | Value, key: string | number | undefined): void {
    const list = this.projections.get(name);
    if (list === undefined) this.projections.set(name, [{ source, key }]);
    else if (list.length < 8) list.push({ source, key });
  }

  /** Binds the names of a pattern (`{a, b: c}`, `[x, y]`, `{...rest}`) to parts of `source`. */
  bindPattern(pattern: AstNode, source: AstNode | Value): void {
    const p = unwrap(pattern);
    if (p.type === 'Identifier') {
      const name = text(p, 'name')!;
      if ('type' in source) this.bind(name, source);
      else this.project(name, source, undefined);
      return;
    }
    if (p.type === 'AssignmentPattern') {
      const left = child(p, 'left');
      if (left !== undefined) this.bindPattern(left, source);
      return;
    }
    if (p.type === 'ObjectPattern') {
      for (const prop of children(p, 'properties')) {
        if (prop.type === 'RestElement') {
          const arg = child(prop, 'argument');
          if (arg !== undefined && arg.type === 'Identifier') this.project(text(arg, 'name')!, source, undefined);
          continue;
        }
        const keyNode = child(prop, 'key');
        const valueNode = child(prop, 'value');
        if (keyNode === undefined || valueNode === undefined) continue;
        const key =
          prop.computed === true
            ? this.constant(keyNode)
            : (text(keyNode, 'name') ?? (typeof keyNode.value === 'string' ? keyNode.value : undefined));
        const target = unwrap(valueNode.type === 'AssignmentPattern' ? (child(valueNode, 'left') ?? valueNode) : valueNode);
        if (target.type === 'Identifier') this.project(text(target, 'name')!, source, key);
      }
      return;
    }
    if (p.type === 'ArrayPattern') {
      children(p, 'elements').forEach((el, i) => {
        const t = unwrap(el.type === 'AssignmentPattern' ? (child(el, 'left') ?? el) : el);
        if (t.type === 'Identifier') this.project(text(t, 'name')!, source, i);
      });
    }
  }

  /** A constant string or number key, or undefined. */
  constant(node: AstNode): string | undefined {
    const v = this.value(node);
    if (v === undefined) return undefined;
    if (v.k === 'str') return v.v;
    if (v.k === 'num') return String(v.v);
    return undefined;
  }

  value(node: AstNode): Value | undefined {
    if (this.depth > MAX_DEPTH) return undefined;
    // Memoised per node: the rules ask about the same callee and argument many times. Values computed under an
    // arrow callback's local binding depend on it and are not cached.
    const cacheable = this.locals.length === 0 && this.active.size === 0;
    if (cacheable && this.cache.has(node)) return this.cache.get(node);
    this.depth++;
    try {
      const v = this.compute(unwrap(node));
      if (cacheable) this.cache.set(node, v);
      return v;
    } finally {
      this.depth--;
    }
  }

  /** Evaluates `body` with `name` bound to `value` (arrow callbacks of `map`). */
  withLocal(name: string, value: Value | undefined, body: AstNode): Value | undefined {
    return this.withLocals(new Map([[name, value]]), body);
  }

  private withLocals(bound: Map<string, Value | undefined>, body: AstNode): Value | undefined {
    if (this.locals.length >= 8) return undefined;
    this.locals.push(bound);
    try {
      return this.value(body);
    } finally {
      this.locals.pop();
    }
  }

  /**
   * Inlines a call of a small local function — an arrow with an expression body or a function whose body is one
   * `return` — with its parameters bound to the folded arguments: the decoder helper of
   * `const d = (s) => atob(s); require(d('…'))`.
   */
  private inline(fn: AstNode, n: AstNode): Value | undefined {
    let body = child(fn, 'body');
    if (body === undefined) return undefined;
    if (body.type === 'BlockStatement') {
      const stmts = children(body, 'body');
      if (stmts.length !== 1 || stmts[0]!.type !== 'ReturnStatement') return undefined;
      body = child(stmts[0]!, 'argument');
      if (body === undefined) return undefined;
    }
    const params = children(fn, 'params');
    const args = this.args(n);
    const bound = new Map<string, Value | undefined>();
    for (const [i, p] of params.entries()) {
      const target = unwrap(p.type === 'AssignmentPattern' ? (child(p, 'left') ?? p) : p);
      if (target.type !== 'Identifier') return undefined;
      bound.set(text(target, 'name')!, args[i] ?? (p.type === 'AssignmentPattern' ? this.value(child(p, 'right')!) : undefined));
    }
    return this.withLocals(bound, body);
  }

  private identifier(name: string): Value | undefined {
    for (let i = this.locals.length - 1; i >= 0; i--) if (this.locals[i]!.has(name)) return this.locals[i]!.get(name);
    if (this.active.has(name)) return undefined;
    if (this.locals.length === 0 && this.active.size === 0 && this.names.has(name)) return this.names.get(name);
    const v = this.resolveName(name);
    if (this.locals.length === 0 && this.active.size === 0) this.names.set(name, v);
    return v;
  }

  private resolveName(name: string): Value | undefined {
    const bound = this.bindings.get(name);
    const projected = this.projections.get(name);
    if (bound === undefined && projected === undefined) {
      if (name === 'undefined') return undefined;
      return ref(GLOBAL_ALIASES.has(name) ? 'globalThis' : name);
    }
    this.active.add(name);
    try {
      let first: Value | undefined;
      for (const init of bound ?? []) {
        const v = this.value(init);
        if (v?.k === 'ref') return v;
        first ??= v;
      }
      for (const { source, key } of projected ?? []) {
        const base = 'type' in source ? this.value(source) : source;
        const v = key === undefined ? base : this.member(base, String(key));
        if (v?.k === 'ref') return v;
        first ??= v;
      }
      return first;
    } finally {
      this.active.delete(name);
    }
  }

  /** `obj[key]` on abstract values. */
  member(obj: Value | undefined, key: string): Value | undefined {
    if (obj === undefined) return undefined;
    switch (obj.k) {
      case 'ref': {
        if (key === 'constructor' && (obj.path.endsWith('.constructor') || BUILTIN_CTORS.has(obj.path) || obj.path === 'FunctionPrototype'))
          return ref('Function', obj.via);
        // `X.prototype.constructor` is X itself (`Function.prototype.constructor` is Function).
        if (key === 'constructor' && obj.path.endsWith('.prototype')) return ref(obj.path.slice(0, -'.prototype'.length), obj.via);
        if (obj.path === 'globalThis') return ref(GLOBAL_ALIASES.has(key) ? 'globalThis' : key, obj.via);
        return ref(`${obj.path}.${key}`, obj.via);
      }
      case 'fn':
        // `f.prototype` is the object f's instances inherit from, f's own: not Function.prototype (that is
        // Object.getPrototypeOf(f)). A library defining its classes writes there all the time.
        return key === 'constructor' ? ref('Function') : undefined;
      case 'str': {
        if (key === 'constructor') return ref('String');
        if (key === 'length') return { k: 'num', v: obj.v.length };
        const i = Number(key);
        return Number.isInteger(i) && i >= 0 && i < obj.v.length ? str(obj.v[i]!, obj.via) : undefined;
      }
      case 'num':
        return key === 'constructor' ? ref('Number') : undefined;
      case 'arr': {
        if (key === 'constructor') return ref('Array');
        if (key === 'length') return { k: 'num', v: obj.items.length };
        const i = Number(key);
        return Number.isInteger(i) ? obj.items[i] : undefined;
      }
      case 'obj': {
        if (key === 'constructor') return ref('Object');
        const n = obj.props.get(key);
        return n === undefined ? undefined : this.value(n);
      }
    }
  }

  private compute(n: AstNode): Value | undefined {
    switch (n.type) {
      case 'Literal': {
        if (typeof n.value === 'string') {
          const raw = text(n, 'raw') ?? '';
          return str(n.value, /\\[ux]/.test(raw) ? ['escape'] : []);
        }
        if (typeof n.value === 'number') return { k: 'num', v: n.value };
        return undefined;
      }
      case 'TemplateLiteral': {
        const quasis = children(n, 'quasis');
        const exprs = children(n, 'expressions');
        let out = '';
        const parts: Value[] = [];
        for (let i = 0; i < quasis.length; i++) {
          const cooked = (quasis[i]!.value as { cooked?: string | null } | undefined)?.cooked;
          if (typeof cooked !== 'string') return undefined;
          out += cooked;
          if (i < exprs.length) {
            const v = this.value(exprs[i]!);
            if (v === undefined || (v.k !== 'str' && v.k !== 'num')) return undefined;
            out += String(v.v);
            parts.push(v);
          }
        }
        const raw = quasis.map((q) => (q.value as { raw?: string }).raw ?? '').join('');
        return str(out, [...viaOf(...parts), ...(/\\[ux]/.test(raw) ? ['escape'] : [])]);
      }
      case 'TaggedTemplateExpression': {
        const tag = this.value(child(n, 'tag')!);
        const quasi = child(n, 'quasi');
        if (tag?.k === 'ref' && tag.path === 'String.raw' && quasi !== undefined && children(quasi, 'expressions').length === 0) {
          return str(
            children(quasi, 'quasis')
              .map((q) => (q.value as { raw?: string }).raw ?? '')
              .join(''),
          );
        }
        return undefined;
      }
      case 'Identifier':
        return this.identifier(text(n, 'name')!);
      case 'ThisExpression':
        return undefined;
      case 'MemberExpression': {
        const obj = this.value(child(n, 'object')!);
        if (obj === undefined) return undefined;
        const prop = child(n, 'property')!;
        const key = n.computed === true ? this.constant(prop) : text(prop, 'name');
        if (key === undefined) return obj.k === 'ref' ? ref(`${obj.path}.?`, obj.via) : undefined;
        const keyVia = n.computed === true ? viaOf(this.value(prop)) : [];
        const v = this.member(obj, key);
        if (v?.k === 'ref' && keyVia.length > 0) return ref(v.path, [...v.via, ...keyVia]);
        return v;
      }
      case 'BinaryExpression': {
        const op = text(n, 'operator');
        const a = this.value(child(n, 'left')!);
        const b = this.value(child(n, 'right')!);
        if (a === undefined || b === undefined) return undefined;
        if (op === '+' && (a.k === 'str' || a.k === 'num') && (b.k === 'str' || b.k === 'num')) {
          if (a.k === 'num' && b.k === 'num') return { k: 'num', v: a.v + b.v };
          return str(String(a.v) + String(b.v), viaOf(a, b));
        }
        if (a.k === 'num' && b.k === 'num') {
          switch (op) {
            case '-':
              return { k: 'num', v: a.v - b.v };
            case '*':
              return { k: 'num', v: a.v * b.v };
            case '^':
              return { k: 'num', v: a.v ^ b.v };
            case '%':
              return { k: 'num', v: a.v % b.v };
            case '/':
              return { k: 'num', v: a.v / b.v };
            default:
              return undefined;
          }
        }
        return undefined;
      }
      case 'SequenceExpression': {
        const list = children(n, 'expressions');
        return list.length === 0 ? undefined : this.value(list[list.length - 1]!);
      }
      case 'LogicalExpression':
        return this.value(child(n, 'left')!) ?? this.value(child(n, 'right')!);
      case 'ConditionalExpression': {
        const a = this.value(child(n, 'consequent')!);
        const b = this.value(child(n, 'alternate')!);
        return a?.k === 'ref' ? a : b?.k === 'ref' ? b : (a ?? b);
      }
      case 'AssignmentExpression':
        return text(n, 'operator') === '=' ? this.value(child(n, 'right')!) : undefined;
      case 'AwaitExpression':
        return this.value(child(n, 'argument')!);
      case 'ArrayExpression': {
        const items: (Value | undefined)[] = [];
        for (const el of children(n, 'elements')) {
          if (el.type === 'SpreadElement') {
            const v = this.value(child(el, 'argument')!);
            if (v?.k === 'arr') items.push(...v.items);
            else if (v?.k === 'str') items.push(...[...v.v].map((c) => str(c, v.via)));
            else return undefined;
          } else items.push(this.value(el));
          if (items.length > 100_000) return undefined;
        }
        return { k: 'arr', items };
      }
      case 'ObjectExpression': {
        const props = new Map<string, AstNode>();
        for (const p of children(n, 'properties')) {
          if (p.type !== 'Property') continue;
          const keyNode = child(p, 'key')!;
          const key =
            p.computed === true
              ? this.constant(keyNode)
              : (text(keyNode, 'name') ?? (typeof keyNode.value === 'string' ? keyNode.value : undefined));
          const value = child(p, 'value');
          if (key !== undefined && value !== undefined) props.set(key, value);
        }
        return { k: 'obj', props };
      }
      case 'ArrowFunctionExpression':
      case 'FunctionExpression':
      case 'FunctionDeclaration':
      case 'ClassExpression':
        return { k: 'fn', node: n };
      case 'ImportExpression': {
        const name = this.constant(child(n, 'source')!);
        return name === undefined ? undefined : ref(`mod:${normalizeModule(name)}`, viaOf(this.value(child(n, 'source')!)));
      }
      case 'NewExpression': {
        const callee = this.value(child(n, 'callee')!);
        return callee?.k === 'ref' ? ref(`${callee.path}#instance`, callee.via) : undefined;
      }
      case 'CallExpression':
        return this.call(n);
      default:
        return undefined;
    }
  }

  private args(n: AstNode): (Value | undefined)[] {
    const out: (Value | undefined)[] = [];
    for (const a of children(n, 'arguments')) {
      if (a.type === 'SpreadElement') {
        const v = this.value(child(a, 'argument')!);
        if (v?.k === 'arr') out.push(...v.items);
        else out.push(undefined);
      } else out.push(this.value(a));
    }
    return out;
  }

  private call(n: AstNode): Value | undefined {
    const calleeNode = unwrap(child(n, 'callee')!);
    // Method calls on folded strings and arrays.
    if (calleeNode.type === 'MemberExpression') {
      const objNode = child(calleeNode, 'object')!;
      const prop = child(calleeNode, 'property')!;
      const method = calleeNode.computed === true ? this.constant(prop) : text(prop, 'name');
      const obj = this.value(objNode);
      if (method !== undefined && obj !== undefined && (obj.k === 'str' || obj.k === 'arr')) {
        const folded = this.method(obj, method, n);
        if (folded !== undefined) return folded;
      }
      if (method !== undefined && obj?.k === 'ref' && method === 'bind') return obj;
    }
    const callee = this.value(calleeNode);
    if (callee?.k === 'fn' && callee.node.type !== 'ClassExpression') return this.inline(callee.node, n);
    if (callee?.k !== 'ref') return undefined;
    if (!FOLDING_CALLS.has(callee.path)) return ref(`${callee.path}()`, callee.via);
    const args = this.args(n);
    const a0 = args[0];
    switch (callee.path) {
      case 'require':
      case 'mod:module._load':
        return a0?.k === 'str' ? ref(`mod:${normalizeModule(a0.v)}`, a0.via) : undefined;
      case 'mod:module.createRequire':
        return ref('require');
      case 'String.fromCharCode':
      case 'String.fromCodePoint': {
        if (args.length === 0 || args.length > 100_000 || !args.every((a) => a?.k === 'num')) return undefined;
        const codes = args.map((a) => (a as { v: number }).v);
        try {
          return str(callee.path === 'String.fromCharCode' ? String.fromCharCode(...codes) : String.fromCodePoint(...codes), ['charcode']);
        } catch {
          return undefined;
        }
      }
      case 'atob':
        return a0?.k === 'str' ? str(Buffer.from(a0.v, 'base64').toString('latin1'), [...a0.via, 'base64']) : undefined;
      case 'btoa':
        return a0?.k === 'str' ? str(Buffer.from(a0.v, 'latin1').toString('base64'), a0.via) : undefined;
      case 'Buffer.from': {
        if (a0?.k === 'arr' && a0.items.every((x) => x?.k === 'num'))
          return str(Buffer.from(a0.items.map((x) => (x as { v: number }).v)).toString('latin1'), ['charcode']);
        if (a0?.k !== 'str') return undefined;
        const enc = args[1]?.k === 'str' ? args[1].v : 'utf8';
        const decoded = decodeBuffer(a0.v, enc);
        return decoded === undefined
          ? undefined
          : str(decoded, enc === 'utf8' || enc === 'utf-8' ? a0.via : [...a0.via, enc.toLowerCase()]);
      }
      case 'decodeURIComponent':
      case 'decodeURI':
      case 'unescape': {
        if (a0?.k !== 'str') return undefined;
        try {
          const s =
            callee.path === 'unescape'
              ? a0.v.replace(/%u([0-9a-f]{4})|%([0-9a-f]{2})/gi, (_m, u: string | undefined, h: string | undefined) =>
                  String.fromCharCode(parseInt(u ?? h ?? '0', 16)),
                )
              : decodeURIComponent(a0.v);
          return str(s, s === a0.v ? a0.via : [...a0.via, 'uri']);
        } catch {
          return undefined;
        }
      }
      case 'encodeURIComponent':
      case 'encodeURI':
        return a0?.k === 'str' ? str(callee.path === 'encodeURI' ? encodeURI(a0.v) : encodeURIComponent(a0.v), a0.via) : undefined;
      case 'String':
        return a0?.k === 'str' ? a0 : a0?.k === 'num' ? str(String(a0.v)) : undefined;
      case 'Reflect.get': {
        const key = args[1];
        return key?.k === 'str' ? this.member(a0, key.v) : undefined;
      }
      case 'Object.getPrototypeOf':
        return a0?.k === 'fn'
          ? ref('FunctionPrototype')
          : a0?.k === 'ref' && BUILTIN_CTORS.has(a0.path)
            ? ref('FunctionPrototype')
            : undefined;
      case 'JSON.parse':
        return a0?.k === 'str' && /^"[^"]*"$/.test(a0.v) ? str(JSON.parse(a0.v) as string, a0.via) : undefined;
      default:
        return ref(`${callee.path}()`, callee.via);
    }
  }

  private method(obj: Value & { k: 'str' | 'arr' }, method: string, n: AstNode): Value | undefined {
    const args = this.args(n);
    const a0 = args[0];
    const a1 = args[1];
    if (obj.k === 'str') {
      const s = obj.v;
      switch (method) {
        case 'split':
          return a0?.k === 'str' ? { k: 'arr', items: s.split(a0.v).map((x) => str(x, obj.via)) } : undefined;
        case 'toString':
        case 'valueOf':
        case 'normalize':
          return obj;
        case 'toLowerCase':
          return str(s.toLowerCase(), obj.via);
        case 'toUpperCase':
          return str(s.toUpperCase(), obj.via);
        case 'trim':
          return str(s.trim(), obj.via);
        case 'concat':
          return args.every((a) => a?.k === 'str' || a?.k === 'num')
            ? str(s + args.map((a) => String((a as { v: unknown }).v)).join(''), viaOf(obj, ...args))
            : undefined;
        case 'repeat':
          return a0?.k === 'num' && a0.v >= 0 && a0.v * s.length < MAX_STRING ? str(s.repeat(a0.v), obj.via) : undefined;
        case 'slice':
        case 'substring':
        case 'substr': {
          const x = a0?.k === 'num' ? a0.v : 0;
          const y = a1?.k === 'num' ? a1.v : undefined;
          return str(method === 'slice' ? s.slice(x, y) : method === 'substring' ? s.substring(x, y) : s.substr(x, y), obj.via);
        }
        case 'charAt':
        case 'at':
          return a0?.k === 'num' ? str(s.at(a0.v) ?? '', obj.via) : undefined;
        case 'replace':
        case 'replaceAll': {
          const patNode = children(n, 'arguments')[0];
          const regex = patNode !== undefined ? (patNode.regex as { pattern?: string; flags?: string } | undefined) : undefined;
          if (a1?.k !== 'str') return undefined;
          try {
            if (regex !== undefined && typeof regex.pattern === 'string') {
              return str(s.replace(new RegExp(regex.pattern, regex.flags ?? ''), a1.v), obj.via);
            }
          } catch {
            return undefined;
          }
          if (a0?.k !== 'str') return undefined;
          return str(method === 'replace' ? s.replace(a0.v, a1.v) : s.replaceAll(a0.v, a1.v), obj.via);
        }
        default:
          return undefined;
      }
    }
    switch (method) {
      case 'join': {
        const sep = a0 === undefined ? ',' : a0.k === 'str' ? a0.v : undefined;
        if (sep === undefined || !obj.items.every((x) => x?.k === 'str' || x?.k === 'num')) return undefined;
        return str(obj.items.map((x) => String((x as { v: unknown }).v)).join(sep), viaOf(...obj.items));
      }
      case 'reverse':
        return { k: 'arr', items: [...obj.items].reverse() };
      case 'concat':
        return a0?.k === 'arr' ? { k: 'arr', items: [...obj.items, ...a0.items] } : undefined;
      case 'map': {
        const fnNode = children(n, 'arguments')[0];
        if (fnNode === undefined) return undefined;
        const fn = this.value(fnNode);
        if (fn?.k === 'ref' && (fn.path === 'String.fromCharCode' || fn.path === 'String.fromCodePoint')) {
          return { k: 'arr', items: obj.items.map((x) => (x?.k === 'num' ? str(String.fromCharCode(x.v), ['charcode']) : undefined)) };
        }
        if (fn?.k === 'fn' && fn.node.type === 'ArrowFunctionExpression') {
          const param = children(fn.node, 'params')[0];
          const body = child(fn.node, 'body');
          if (param?.type !== 'Identifier' || body === undefined || body.type === 'BlockStatement') return undefined;
          return { k: 'arr', items: obj.items.map((x) => this.withLocal(text(param, 'name')!, x, body)) };
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/** First pass over a file: every binding the evaluator may need. */
export function collectBindings(ev: Evaluator, node: AstNode): void {
  switch (node.type) {
    case 'VariableDeclarator': {
      const id = child(node, 'id');
      const init = child(node, 'init');
      if (id !== undefined && init !== undefined) ev.bindPattern(id, init);
      break;
    }
    case 'AssignmentExpression': {
      const left = child(node, 'left');
      const right = child(node, 'right');
      if (left !== undefined && right !== undefined && text(node, 'operator') === '=' && left.type !== 'MemberExpression')
        ev.bindPattern(left, right);
      break;
    }
    case 'FunctionDeclaration': {
      const id = child(node, 'id');
      if (id?.type === 'Identifier') ev.bind(text(id, 'name')!, node);
      break;
    }
    case 'ImportDeclaration': {
      const source = child(node, 'source');
      if (source === undefined || typeof source.value !== 'string') break;
      const mod = ref(`mod:${normalizeModule(source.value)}`);
      for (const s of children(node, 'specifiers')) {
        const local = text(child(s, 'local') ?? s, 'name');
        if (local === undefined) continue;
        if (s.type === 'ImportSpecifier') {
          const imported = child(s, 'imported');
          const name =
            imported === undefined ? local : (text(imported, 'name') ?? (typeof imported.value === 'string' ? imported.value : local));
          ev.project(local, mod, name === 'default' ? undefined : name);
        } else ev.project(local, mod, undefined);
      }
      break;
    }
    case 'TSImportEqualsDeclaration': {
      const id = text(child(node, 'id') ?? node, 'name');
      const modRef = child(node, 'moduleReference');
      const expr = modRef === undefined ? undefined : child(modRef, 'expression');
      if (id !== undefined && expr !== undefined && typeof expr.value === 'string')
        ev.project(id, ref(`mod:${normalizeModule(expr.value)}`), undefined);
      break;
    }
    default:
      break;
  }
}
