/**
 * The AST rules for one source text (SPEC §8.1, §8.2). Parses with oxc-parser, folds constants and resolves
 * aliases (`fold.ts`), then walks every node once. Strings that fold to code — arguments of `eval`/`Function`,
 * long base64/hex literals — are parsed and scanned again, up to `MAX_PAYLOAD_DEPTH`, and what is found inside is
 * reported at the outer location with the decoding chain in `via`.
 */
import { parseSync, rawTransferSupported, type ParserOptions } from 'oxc-parser';
import { analyseExec } from '../mediation/index.ts';
import { type Capability, isSecretEnvName, METHOD_TABLE, sentToIssuer } from '../policy/index.ts';
import { child, children, lineIndex, position, text, unwrap, walk, type AstNode } from './ast.ts';
import { collectBindings, Evaluator, looksBase64, normalizeModule, str, type Value } from './fold.ts';
import { MAX_NESTING, nestingDepth } from './nesting.ts';
import { foldCallPath, foldPathExpression, isCredentialPath, isPiAgentWrite, isSensitiveWriteTarget, linksLikeToLike } from './paths.ts';
import {
  BINDING_PATHS,
  BUILTIN_PROTOTYPES,
  CTX_RECEIVERS,
  FS_MODULES,
  FS_READS,
  FS_WRITES,
  HTTP_MODULES,
  isSharedPrototype,
  LOADER_PATHS,
  MEMBER_NAMES,
  MODULE_RULES,
  PI_RECEIVERS,
  POLLUTING_CALLS,
  SPAWN_GLOBALS,
} from './apis.ts';
import { rule } from './rules.ts';
import type { CapabilityEvidence, Finding } from './types.ts';

export const MAX_PAYLOAD_DEPTH = 4;
/** Globals a compiler builds source with; any other unbound name in a Function argument is source from elsewhere. */
const SOURCE_BUILDERS = new Set(['String', 'JSON', 'Array', 'Object', 'Math', 'Number', 'Boolean', 'undefined', 'arguments']);
/**
 * Raw transfer hands the AST from Rust to JS through shared memory instead of a JSON string; on the pi examples it
 * parses about twice as fast (ADR 0010). It needs a 64-bit little-endian platform; elsewhere the JSON path is used.
 */
const RAW_TRANSFER = rawTransferSupported();
const PARSE_OPTIONS = Object.fromEntries(
  (['ts', 'tsx', 'js', 'jsx'] as const).map((lang) => [
    lang,
    { lang, sourceType: 'unambiguous', ...(RAW_TRANSFER ? { experimentalRawTransfer: true } : {}) },
  ]),
) as Record<'ts' | 'tsx' | 'js' | 'jsx', ParserOptions>;
const DECODING_STEPS = new Set(['base64', 'base64url', 'hex', 'charcode', 'uri', 'escape']);

type TaintKind = 'env-one' | 'env-bulk' | 'secret';
/** A taint with its source: `env-bulk`, `env-one:NAME` (`env-one:` when the name is computed), `secret:PATH`. */
type Taint = 'env-bulk' | `env-one:${string}` | `secret:${string}`;
const kindOf = (t: Taint): TaintKind => t.slice(0, t.indexOf(':') < 0 ? t.length : t.indexOf(':')) as TaintKind;

export interface Location {
  line: number;
  column: number;
}

export interface AnalyzeOptions {
  /** Shown as the finding's file. */
  readonly file: string;
  /** `ts`, `tsx`, `js`, `jsx`: picks the parser dialect. */
  readonly lang?: 'ts' | 'tsx' | 'js' | 'jsx';
  readonly depth?: number;
  readonly via?: readonly string[];
  /** Decoded payloads report at the location of the call or literal that held them. */
  readonly anchor?: Location;
}

export interface SourceAnalysis {
  findings: Finding[];
  evidence: CapabilityEvidence[];
  /** Constant module specifiers this source loads (import, export-from, require, import()). */
  imports: string[];
}

export function analyzeSource(source: string, options: AnalyzeOptions): SourceAnalysis {
  return new SourceScan(source, options).run();
}

class SourceScan {
  private readonly out: SourceAnalysis = { findings: [], evidence: [], imports: [] };
  private readonly seen = new Set<string>();
  private readonly evidenceSeen = new Set<string>();
  private readonly ev = new Evaluator();
  private readonly parents = new Map<AstNode, AstNode>();
  private readonly taint = new Map<string, Set<Taint>>();
  /** Names declared as function parameters anywhere in the source: what a caller hands in. */
  private readonly params = new Set<string>();
  /** Taint is computed on the first network send: most files have none, and it walks every initializer. */
  private taintReady = false;
  private readonly source: string;
  private readonly options: AnalyzeOptions;
  private readonly depth: number;
  private readonly via: readonly string[];
  private lines: Int32Array = new Int32Array([0]);

  constructor(source: string, options: AnalyzeOptions) {
    this.source = source;
    this.options = options;
    this.depth = options.depth ?? 0;
    this.via = options.via ?? [];
  }

  run(): SourceAnalysis {
    const lang = this.options.lang ?? 'ts';
    let program: AstNode;
    const nesting = nestingDepth(this.source);
    if (nesting > MAX_NESTING) {
      this.reportAt(
        'scan.input',
        0,
        `nesting about ${nesting} levels deep (limit ${MAX_NESTING}); not parsed, as the parser would overflow its stack`,
      );
      return this.out;
    }
    try {
      const result = parseSync(`input.${lang}`, this.source, PARSE_OPTIONS[lang]);
      this.lines = lineIndex(this.source);
      if (result.errors.length > 0) {
        const e = result.errors[0]!;
        const at = e.labels?.[0]?.start ?? 0;
        this.reportAt('scan.input', at, `cannot parse: ${e.message}`);
        if (this.depth > 0) return this.out;
      }
      program = result.program as unknown as AstNode;
    } catch (err) {
      this.reportAt('scan.input', 0, `cannot parse: ${err instanceof Error ? err.message : String(err)}`);
      return this.out;
    }
    // One traversal collects the nodes and bindings; the rules then run over the list (bindings are hoisted).
    const nodes: AstNode[] = [];
    walk(program, (node, parent) => {
      nodes.push(node);
      // Parents are kept only where a rule looks up: eval/Function identifiers, `process.env`, spreads.
      if (parent !== undefined && needsParent(node)) this.parents.set(node, parent);
      collectBindings(this.ev, node);
      if (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression')
        for (const param of children(node, 'params'))
          walk(param, (n) => {
            if (n.type === 'Identifier') this.params.add(text(n, 'name')!);
            return true;
          });
    });
    this.checkText();
    const mangled = new Set<string>();
    for (const node of nodes) {
      this.check(node);
      if (node.type === 'Identifier') {
        const name = text(node, 'name')!;
        if (name.charCodeAt(0) === 95 && /^_0x[0-9a-f]{3,}$/i.test(name)) {
          mangled.add(name);
          if (mangled.size === 3)
            this.report('obfuscation.mangled-names', node, 'obfuscator-style identifiers (_0x…): the code is deliberately unreadable');
        }
      }
    }
    return this.out;
  }

  // ---- reporting ------------------------------------------------------------------------------------------

  private loc(offset: number): Location {
    return this.options.anchor ?? position(this.lines, offset);
  }

  private reportAt(ruleId: string, offset: number, message: string, via: readonly string[] = []): void {
    const r = rule(ruleId);
    const { line, column } = this.loc(offset);
    const chain = [...this.via, ...via];
    const key = `${ruleId}:${line}:${column}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.out.findings.push({
      ruleId,
      message,
      file: this.options.file,
      line,
      column,
      capability: r.capability,
      confidence: r.confidence,
      classification: r.classification,
      ...(chain.length > 0 ? { via: chain } : {}),
    });
    if (r.capability !== null) this.evidence(r.capability, offset, message);
    if (!ruleId.startsWith('obfuscation.') && !ruleId.startsWith('scan.') && via.some((s) => DECODING_STEPS.has(s))) {
      this.reportAt(
        'obfuscation.encoded-code',
        offset,
        `${ruleId} is hidden behind ${via.filter((s) => DECODING_STEPS.has(s)).join(' → ')} decoding`,
        via,
      );
    }
  }

  private report(ruleId: string, node: AstNode, message: string, via: readonly string[] = []): void {
    this.reportAt(ruleId, node.start, message, via);
  }

  private evidence(capability: Capability, offset: number, reason: string): void {
    const key = `${capability}:${reason}`;
    if (this.evidenceSeen.has(key) || this.evidenceSeen.size > 200) return;
    this.evidenceSeen.add(key);
    const { line, column } = this.loc(offset);
    this.out.evidence.push({ capability, file: this.options.file, line, column, reason });
  }

  // ---- payloads ---------------------------------------------------------------------------------------------

  /**
   * Scans a string that is (or decodes to) code. Returns how many findings it produced and whether it parsed;
   * a `Function` body is parsed inside a function so that `return` and `await` are legal.
   */
  private payload(code: string, node: AstNode, via: readonly string[], asFunctionBody = false): { found: number; parsed: boolean } {
    if (this.depth >= MAX_PAYLOAD_DEPTH) return { found: 0, parsed: false };
    const source = asFunctionBody ? `(async function () {\n${code}\n})` : code;
    const nested = analyzeSource(source, {
      file: this.options.file,
      lang: 'js',
      depth: this.depth + 1,
      via: [...this.via, ...via],
      anchor: this.loc(node.start),
    });
    const real = nested.findings.filter((f) => f.ruleId !== 'scan.input');
    for (const f of real) {
      const key = `${f.ruleId}:${f.line}:${f.column}`;
      if (!this.seen.has(key)) {
        this.seen.add(key);
        this.out.findings.push(f);
      }
    }
    for (const e of nested.evidence) this.evidence(e.capability, node.start, e.reason);
    return { found: real.length, parsed: real.length === nested.findings.length };
  }

  private payloadStrings(values: readonly (Value | undefined)[]): Array<{ code: string; via: readonly string[] }> {
    const out: Array<{ code: string; via: readonly string[] }> = [];
    for (const v of values) {
      if (v?.k === 'str') out.push({ code: v.v, via: v.via });
      else if (v?.k === 'arr') for (const x of v.items) if (x?.k === 'str') out.push({ code: x.v, via: x.via });
    }
    return out;
  }

  // ---- taint (environment and credential content flowing into network sends) ----------------------------------

  private computeTaint(): void {
    for (let round = 0; round < 3; round++) {
      let changed = false;
      const add = (name: string, kinds: Set<Taint>) => {
        if (kinds.size === 0) return;
        const cur = this.taint.get(name) ?? new Set<Taint>();
        const before = cur.size;
        for (const k of kinds) cur.add(k);
        this.taint.set(name, cur);
        if (cur.size !== before) changed = true;
      };
      // Only initializers that mention the environment, a read, or an already tainted name can be tainted.
      const tainted = [...this.taint.keys()];
      const relevant = (n: AstNode) => {
        const t = this.source.slice(n.start, n.end);
        return /env|read/i.test(t) || tainted.some((name) => t.includes(name));
      };
      for (const [name, inits] of this.ev.bindings) for (const init of inits) if (relevant(init)) add(name, this.taintOf(init));
      for (const [name, list] of this.ev.projections) {
        for (const { source, key } of list) {
          if (!('type' in source) || !relevant(source)) continue;
          const kinds = this.taintOf(source);
          if (key !== undefined && kinds.has('env-bulk')) {
            kinds.delete('env-bulk');
            kinds.add(`env-one:${String(key)}`);
          }
          add(name, kinds);
        }
      }
      if (!changed) break;
    }
  }

  private taintOf(root: AstNode): Set<Taint> {
    const kinds = new Set<Taint>();
    let budget = 500;
    walk(root, (node, parent) => {
      if (--budget < 0) return false;
      // A function is not data: its body runs elsewhere and is checked where it sends.
      if (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression' || node.type === 'ClassExpression')
        return node === root ? true : false;
      if (node.type === 'Identifier') {
        const t = this.taint.get(text(node, 'name')!);
        if (t !== undefined) for (const k of t) kinds.add(k);
      } else if (node.type === 'MemberExpression' && this.isProcessEnv(node)) {
        const whole = parent === undefined || parent.type !== 'MemberExpression' || child(parent, 'object') !== node;
        if (whole) kinds.add('env-bulk');
        else {
          const prop = child(parent, 'property')!;
          kinds.add(`env-one:${(parent.computed === true ? this.ev.constant(prop) : text(prop, 'name')) ?? ''}`);
        }
        return false;
      } else if (node.type === 'CallExpression' && FS_READS.has(calleeName(node))) {
        const target = this.ev.value(child(node, 'callee')!);
        if (target?.k === 'ref' && this.fsMethod(target.path) !== undefined && FS_READS.has(this.fsMethod(target.path)!)) {
          const path = this.pathOf(children(node, 'arguments'));
          if (isCredentialPath(path)) kinds.add(`secret:${path}`);
        }
      }
      return true;
    });
    return kinds;
  }

  private isProcessEnv(node: AstNode): boolean {
    const prop = child(node, 'property');
    if (prop === undefined) return false;
    if (node.computed !== true ? text(prop, 'name') !== 'env' : this.ev.constant(prop) !== 'env') return false;
    const v = this.ev.value(node);
    return v?.k === 'ref' && v.path === 'process.env';
  }

  /** The path a filesystem call names, folded as a reader would write it (`paths.ts`). */
  private pathOf(args: readonly AstNode[]): string {
    return foldCallPath(this.ev, args);
  }

  private fsMethod(path: string): string | undefined {
    if (!path.startsWith('mod:')) return undefined;
    const dot = path.lastIndexOf('.');
    if (dot < 0) return undefined;
    let mod = path.slice(4, dot);
    if (mod.endsWith('.promises')) mod = mod.slice(0, -'.promises'.length);
    return FS_MODULES.has(mod) ? path.slice(dot + 1) : undefined;
  }

  // ---- the rules ---------------------------------------------------------------------------------------------

  private checkText(): void {
    // A zero-width joiner inside an emoji sequence is ordinary text; after ASCII it hides something.
    const m = /[\u202A-\u202E\u2066-\u2069\u200B\u200C\u2060]|(?<=[\t -~])\u200D|(?!^)\uFEFF/.exec(this.source);
    if (m !== null)
      this.reportAt(
        'obfuscation.invisible-chars',
        m.index,
        `invisible or bidirectional control character U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
      );
  }

  private check(node: AstNode): void {
    switch (node.type) {
      case 'CallExpression':
      case 'NewExpression':
        this.checkCall(node);
        break;
      case 'ImportExpression':
        this.checkImportExpression(node);
        break;
      case 'ImportDeclaration':
      case 'ExportAllDeclaration':
      case 'ExportNamedDeclaration': {
        const source = child(node, 'source');
        if (source !== undefined && typeof source.value === 'string') this.moduleLoaded(source.value, source, []);
        break;
      }
      case 'TSImportEqualsDeclaration': {
        const expr = child(child(node, 'moduleReference') ?? node, 'expression');
        if (expr !== undefined && typeof expr.value === 'string') this.moduleLoaded(expr.value, expr, []);
        break;
      }
      case 'MemberExpression':
        this.checkMember(node);
        break;
      case 'AssignmentExpression':
        this.checkAssignment(node);
        break;
      case 'Identifier': {
        const name = text(node, 'name');
        if ((name === 'eval' || name === 'Function') && this.isValueUse(node)) {
          const v = this.ev.value(node);
          const p = this.parents.get(node);
          // Handed to a call (`.then(eval)`, `Reflect.construct(Function, …)`) or bound (`Function.bind(…)`), it runs
          // data the scan cannot see.
          // Kept (an intrinsics table, an alias), every call the scan can follow is judged by what it compiles.
          const handedOn =
            ((p?.type === 'CallExpression' || p?.type === 'NewExpression') && child(p, 'callee') !== node) ||
            p?.type === 'MemberExpression';
          if (v?.k === 'ref' && v.path === name)
            this.report(
              handedOn ? (name === 'eval' ? 'code.eval' : 'code.function-constructor') : 'code.eval-reference',
              node,
              handedOn
                ? `${name} passed to a call, which runs it on data the scanner cannot see`
                : `${name} kept as a value (a table entry, an alias); calls the scanner can follow are judged where they are made`,
            );
        }
        break;
      }
      case 'Literal':
        this.checkLiteral(node);
        break;
      default:
        break;
    }
  }

  /** An identifier read as a value, not a declaration, property key, callee or `typeof` test. */
  private isValueUse(node: AstNode): boolean {
    const p = this.parents.get(node);
    if (p === undefined) return false;
    switch (p.type) {
      case 'MemberExpression':
        return child(p, 'object') === node && !(text(node, 'name') === 'Function' && this.isPrototypeMethod(p));
      case 'Property':
      case 'PropertyDefinition':
      case 'MethodDefinition':
        return child(p, 'value') === node && p.shorthand !== true;
      case 'CallExpression':
      case 'NewExpression':
        return child(p, 'callee') !== node;
      case 'UnaryExpression':
        return text(p, 'operator') !== 'typeof';
      case 'BinaryExpression':
        return !(text(p, 'operator') === 'instanceof' && child(p, 'right') === node);
      case 'VariableDeclarator':
        return child(p, 'init') === node;
      case 'ImportSpecifier':
      case 'ExportSpecifier':
      case 'ImportDefaultSpecifier':
      case 'ImportNamespaceSpecifier':
      case 'LabeledStatement':
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
      case 'ClassDeclaration':
      case 'TSTypeReference':
      case 'TSQualifiedName':
      case 'TSPropertySignature':
      case 'TSInterfaceDeclaration':
      case 'TSTypeAliasDeclaration':
      case 'TSTypeQuery':
        return false;
      default:
        return true;
    }
  }

  /**
   * `Function.prototype…`, and `Function.call.bind(…)` (the same inherited method, not called on Function): these
   * reach the methods every function has, not the constructor. `Function.call(…)`, `Function.bind(…)` stay uses.
   */
  private isPrototypeMethod(member: AstNode): boolean {
    const prop = child(member, 'property')!;
    const key = member.computed === true ? this.ev.constant(prop) : text(prop, 'name');
    if (key === 'prototype') return true;
    if (key !== 'call' && key !== 'apply' && key !== 'bind') return false;
    const outer = this.parents.get(member);
    return outer?.type === 'MemberExpression' && child(outer, 'object') === member;
  }

  private moduleLoaded(specifier: string, node: AstNode, via: readonly string[]): void {
    if (/^data:/i.test(specifier)) {
      // `import('data:text/javascript,…')` runs the URL's content as a module: eval by another name.
      this.report('code.eval', node, 'import of a data: URL runs its content as code', via);
      const m = /^data:[^,]*?(;base64)?,(.*)$/is.exec(specifier);
      if (m !== null) {
        let code: string | undefined;
        try {
          code = m[1] !== undefined ? Buffer.from(m[2]!, 'base64').toString('latin1') : decodeURIComponent(m[2]!);
        } catch {
          code = m[2];
        }
        if (code !== undefined) this.scanPayloads([str(code, m[1] !== undefined ? [...via, 'base64'] : via)], node, ['data-url']);
      }
      return;
    }
    this.out.imports.push(specifier);
    const name = normalizeModule(specifier);
    const ruleId = MODULE_RULES.get(name) ?? (name.endsWith('.node') ? 'native.addon' : undefined);
    if (ruleId !== undefined) {
      const refused =
        name === 'net'
          ? '; at runtime only a client of a local socket the net grant names (ADR 0038)'
          : ruleId === 'net.raw-socket' || ruleId === 'process.worker' || ruleId === 'native.addon'
            ? '; refused at runtime: the sandbox denies this module'
            : '';
      this.report(ruleId, node, `loads '${specifier}'${via.length > 0 ? ` (computed via ${via.join(', ')})` : ''}${refused}`, via);
    }
    if (HTTP_MODULES.has(name)) this.evidence('http', node.start, `imports ${name}`);
    // node:net connects only through the net grant at runtime (ADR 0038): the capability a user must grant.
    if (name === 'net') this.evidence('net', node.start, 'imports net');
  }

  private checkImportExpression(node: AstNode): void {
    const source = child(node, 'source');
    if (source === undefined) return;
    const v = this.ev.value(source);
    if (v?.k === 'str') this.moduleLoaded(v.v, node, v.via);
    else this.report('module.dynamic-require', node, 'import() of a name the scanner cannot compute');
  }

  private calleeTarget(node: AstNode): { target: Value | undefined; args: AstNode[]; argValues: () => (Value | undefined)[] } {
    const callee = unwrap(child(node, 'callee')!);
    const args = children(node, 'arguments');
    if (callee.type === 'MemberExpression' && node.type === 'CallExpression') {
      const method = callee.computed === true ? this.ev.constant(child(callee, 'property')!) : text(child(callee, 'property')!, 'name');
      if (method === 'call' || method === 'apply') {
        const obj = this.ev.value(child(callee, 'object')!);
        if (obj?.k === 'ref') {
          const rest = args.slice(1);
          const argValues = () => {
            const values = method === 'apply' && rest[0] !== undefined ? [this.ev.value(rest[0])] : rest.map((a) => this.ev.value(a));
            return values.flatMap((v) => (v?.k === 'arr' ? v.items : [v]));
          };
          return { target: obj, args: rest, argValues };
        }
      }
    }
    const target = this.ev.value(callee);
    if (target?.k === 'ref' && (target.path === 'Reflect.apply' || target.path === 'Reflect.construct')) {
      const fn = args[0] === undefined ? undefined : this.ev.value(args[0]);
      const list = args[target.path === 'Reflect.apply' ? 2 : 1];
      const lv = list === undefined ? undefined : this.ev.value(list);
      return { target: fn, args: args.slice(1), argValues: () => (lv?.k === 'arr' ? [...lv.items] : []) };
    }
    return { target, args, argValues: () => args.map((a) => this.ev.value(a)) };
  }

  private checkCall(node: AstNode): void {
    const { target, args, argValues: values } = this.calleeTarget(node);
    this.piCapability(node);
    if (target === undefined) return;
    if (target.k === 'fn' || target.k === 'obj' || target.k === 'str' || target.k === 'num' || target.k === 'arr') return;
    const path = target.path;
    const via = target.via;
    // Calling what `new Function(…)` returned runs the code compiled there, and that is judged at the `new`.
    if (path.endsWith('Function#instance')) return;
    if (path === 'eval' || path === 'Function' || path === 'setTimeout' || path === 'setInterval' || path === 'setImmediate') {
      const all = values();
      const timer = path.startsWith('set');
      if (timer && all[0]?.k !== 'str') return;
      const isFunction = !timer && path !== 'eval';
      // Function('a', 'b', body): the body is code, the other arguments must be plain parameter names.
      const code = timer ? all.slice(0, 1) : isFunction ? all.slice(-1) : all.slice(0, 1);
      const params = isFunction ? all.slice(0, -1) : [];
      const step = timer ? `${path}-argument` : isFunction ? 'Function-argument' : 'eval-argument';
      const result = this.scanPayloads(code, node, [step], isFunction);
      // A plainly spelled call on a constant string that was read in full and found clean hides nothing: flagged.
      // Any other spelling, computed or decoded input, or a finding inside stays forbidden.
      const callee = unwrap(child(node, 'callee')!);
      // Spelled as itself: not an alias (`const F = Function`), not escaped (`\u0065val`).
      const plain = callee.type === 'Identifier' && via.length === 0 && this.source.slice(callee.start, callee.end) === path;
      const constant =
        code.length === 1 &&
        code[0]?.k === 'str' &&
        code[0].via.length === 0 &&
        params.every((p) => p?.k === 'str' && /^[\w$\s,]*$/.test(p.v));
      if (plain && constant && result.found === 0 && result.parsed) {
        this.report(
          'code.eval-constant',
          node,
          `${timer ? `${path} with a` : path === 'eval' ? 'eval of a' : 'Function of a'} constant string that contains nothing the rules flag`,
        );
        return;
      }
      // A template or schema compiler builds its source from its own strings and its caller's values; decode-and-eval
      // and download-and-run feed Function from decoding, a read or a download. Only the first is flagged (ADR 0011).
      const loaded = isFunction ? this.loadedFrom(args) : undefined;
      const decoded = all.some((v) => v?.k === 'str' && v.via.some((x) => DECODING_STEPS.has(x)));
      if (isFunction && via.length === 0 && this.literalFunction(callee) && !decoded && loaded === undefined && result.found === 0) {
        this.report(
          'code.generated',
          node,
          'Function compiles source this code builds from its own strings and arguments (a template compiler)',
        );
        return;
      }
      const ruleId = timer || path === 'eval' ? 'code.eval' : 'code.function-constructor';
      this.report(
        ruleId,
        node,
        timer
          ? `${path} with a string argument evaluates it as code`
          : path === 'eval'
            ? 'eval of a string'
            : `Function constructor compiles a string into code${loaded === undefined ? '' : ` (from ${loaded})`}`,
        via,
      );
      return;
    }
    if (
      path === 'require' ||
      path === 'mod:module._load' ||
      path === 'require.resolve' ||
      path === 'require()' ||
      path === 'mod:module.createRequire()'
    ) {
      const a0 = values()[0];
      if (a0?.k === 'str') {
        if (path !== 'require.resolve') this.moduleLoaded(a0.v, node, [...via, ...a0.via]);
      } else if (path !== 'require.resolve')
        this.report('module.dynamic-require', node, 'require of a name the scanner cannot compute', via);
      return;
    }
    if (BINDING_PATHS.has(path)) {
      this.report('native.process-binding', node, `${path} reaches native internals`, via);
      return;
    }
    if (LOADER_PATHS.some((p) => path === p || path.startsWith(`${p}.`))) {
      this.report('module.loader-tamper', node, `${path.replace(/^mod:/, '')}: tampering with the module loader`, via);
      return;
    }
    if (path.startsWith('mod:vm.')) return;
    if (SPAWN_GLOBALS.has(path)) {
      this.report('process.spawn', node, `${path} starts a process`, via);
      this.classifyCommand(path, values(), node);
      return;
    }
    if (
      path.startsWith('mod:child_process.') ||
      path.startsWith('mod:execa') ||
      path.startsWith('mod:cross-spawn') ||
      path.startsWith('mod:shelljs')
    ) {
      this.evidence('exec', node.start, `calls ${path.slice(4)}`);
      const all = values();
      this.scanShellPayload(all, node);
      this.classifyCommand(path.slice(4), all, node);
      return;
    }
    const fsm = this.fsMethod(path);
    if (fsm !== undefined) {
      if (FS_WRITES.has(fsm)) {
        this.evidence('write', node.start, `fs.${fsm}`);
        const p = this.pathOf(
          fsm === 'rename' ||
            fsm === 'renameSync' ||
            fsm.startsWith('copy') ||
            fsm.startsWith('cp') ||
            fsm.startsWith('symlink') ||
            fsm.startsWith('link') ||
            fsm === 'move'
            ? args.slice(1, 2)
            : args.slice(0, 1),
        );
        // A copy reads its source: copying a credential file is reading it.
        const source = fsm.startsWith('copy') || fsm.startsWith('cp') ? this.pathOf(args.slice(0, 1)) : '';
        if (isCredentialPath(source)) this.report('fs.credential-read', node, `fs.${fsm} copies ${source}`, via);
        if (isSensitiveWriteTarget(p)) {
          // Rewriting pi-warden's own policy is self-service escalation, not a setting: that stays forbidden.
          const data = args[1] === undefined ? '' : this.source.slice(args[1].start, args[1].end);
          const linked = /^(symlink|link)/.test(fsm) ? this.pathOf(args.slice(0, 1)) : undefined;
          if (isPiAgentWrite(p) && !/extensionPolicy|warden/i.test(data))
            this.report(
              'fs.refused-write',
              node,
              `fs.${fsm} writes to ${p}: refused at runtime: SPEC §5.6 (pi's settings, logins and state are never written)`,
              via,
            );
          // An empty folder runs nothing and holds nothing; what is written into it later is judged there.
          else if (/^mk(dir|dtemp)(Sync)?$/.test(fsm))
            this.report('fs.refused-write', node, `fs.${fsm} creates the folder ${p}: refused at runtime (a never-written place)`, via);
          else if (linked !== undefined && linksLikeToLike(p, linked))
            this.report(
              'fs.refused-write',
              node,
              `fs.${fsm} links ${p} to ${linked}, a folder of the same kind: refused at runtime (a never-written place)`,
              via,
            );
          else this.report('fs.sensitive-write', node, `fs.${fsm} writes to ${p}`, via);
        }
      } else if (FS_READS.has(fsm)) {
        this.evidence('read', node.start, `fs.${fsm}`);
        const p = this.pathOf(args.slice(0, 1));
        if (isCredentialPath(p) && /read|open|createReadStream/i.test(fsm))
          this.report('fs.credential-read', node, `fs.${fsm} reads ${p}`, via);
      }
      return;
    }
    if (POLLUTING_CALLS.has(path)) {
      const target = values()[0];
      if (target?.k === 'ref' && isSharedPrototype(target.path)) {
        this.report('proto.pollution', node, `${path} on ${target.path} changes a shared prototype`, via);
        return;
      }
    }
    this.checkNetworkSend(node, path, args);
  }

  /** `Function` spelled out: the global name, or `globalThis.Function` (and window/global/self) written as such. */
  private literalFunction(callee: AstNode): boolean {
    const written = this.source.slice(callee.start, callee.end);
    return /^(?:(?:globalThis|window|global|self)\s*\.\s*)?Function$/.test(written);
  }

  /**
   * Where the source a Function call compiles comes from, when it is loaded rather than built: a file read, a download
   * (fetch, an http or socket module, a response body), the environment, a child process or decoding. Follows names
   * to what they are bound to, and functions called there into their bodies, a few levels deep.
   */
  private loadedFrom(args: readonly AstNode[]): string | undefined {
    const seen = new Set<AstNode>();
    let budget = 2000;
    let found: string | undefined;
    const visit = (root: AstNode, depth: number): void => {
      walk(root, (n, parent) => {
        if (found !== undefined || --budget < 0) return false;
        if (n.type === 'Identifier' && depth < 4 && !isPropertyName(n, parent)) {
          const name = text(n, 'name')!;
          const inits = this.ev.bindings.get(name);
          // A name neither bound here nor a parameter (a global, an import) holds source from somewhere unseen.
          if (inits === undefined && !this.params.has(name) && !SOURCE_BUILDERS.has(name)) found = `${name}, a name bound elsewhere`;
          for (const init of inits ?? [])
            if (!seen.has(init)) {
              seen.add(init);
              visit(init, depth + 1);
            }
        } else if (n.type === 'MemberExpression' && this.isProcessEnv(n)) found = 'the environment';
        else if (n.type === 'CallExpression' || n.type === 'NewExpression') {
          const callee = this.ev.value(child(n, 'callee')!);
          const path = callee?.k === 'ref' ? callee.path : '';
          const name = calleeName(n);
          const fsm = this.fsMethod(path);
          if ((fsm !== undefined && FS_READS.has(fsm)) || /^read(File|FileSync)$/.test(name)) found = 'a file it reads';
          else if (/^(fetch|XMLHttpRequest|WebSocket|mod:(node-fetch|undici|axios|https?|http2|net|tls|dgram|ws|got)\b)/.test(path))
            found = 'a download';
          else if (/^(text|json|arrayBuffer|blob)$/.test(name)) found = 'a response body';
          else if (path.startsWith('mod:child_process')) found = 'a child process';
          else if (/^(atob|Buffer\.from|String\.fromCharCode|decodeURIComponent|decodeURI|unescape)$/.test(path)) found = 'decoded data';
        }
        return true;
      });
    };
    for (const a of args) visit(a, 0);
    return found;
  }

  private scanPayloads(
    values: readonly (Value | undefined)[],
    node: AstNode,
    step: readonly string[],
    asFunctionBody = false,
  ): { found: number; parsed: boolean } {
    let found = 0;
    let parsed = true;
    for (const { code, via } of this.payloadStrings(values)) {
      const r = this.payload(code, node, [...step, ...via], asFunctionBody);
      found += r.found;
      parsed &&= r.parsed;
      if (r.found > 0 && via.some((s) => DECODING_STEPS.has(s)))
        this.report('obfuscation.encoded-code', node, `decoded (${via.join(' → ')}) code runs through eval/Function`, via);
    }
    return { found, parsed };
  }

  /** `exec('node -e "…"')`, `exec("curl … | sh")`: a shell command line can carry a script too. */
  private scanShellPayload(values: readonly (Value | undefined)[], node: AstNode): void {
    const first = values[0];
    if (first?.k === 'str' && first.via.some((s) => DECODING_STEPS.has(s)))
      this.report('obfuscation.encoded-code', node, `command line built from ${first.via.join(' → ')} decoding`, first.via);
  }

  /**
   * The command an exec call runs, classified by exec mediation's own classifier (src/mediation/exec, SPEC §5.4):
   * `pi.exec(cmd, args)`, `child_process.exec(line)` and `spawn(cmd, args, { shell })`, `Bun.spawn([cmd, …])`,
   * `execa(cmd, args)`. Only what the scanner can compute is classified; a pipe into a shell or a destructive command
   * harms the user whatever the policy, so it is forbidden (ADR 0011).
   */
  private classifyCommand(callee: string, values: readonly (Value | undefined)[], node: AstNode): void {
    const call = commandOf(callee, values);
    if (call === undefined) return;
    const analysis = analyseExec(call, 'exec', undefined, COMMAND_SCOPE);
    for (const e of analysis.evidence)
      if (e.class === 'pipe_to_shell' || e.class === 'destructive_fs')
        this.report('exec.dangerous-command', node, `${callee} runs a ${e.class} command (${e.detail})`);
  }

  private checkNetworkSend(node: AstNode, path: string, args: readonly AstNode[]): void {
    // Most calls are on pi's API or local objects; only these roots can reach the network.
    if (
      !path.startsWith('mod:') &&
      !path.startsWith('fetch') &&
      !path.startsWith('navigator.') &&
      !path.startsWith('XMLHttpRequest') &&
      !path.startsWith('WebSocket')
    )
      return;
    const base = path.replace(/\(\)$/, '');
    const isFetch = base === 'fetch' || base === 'mod:node-fetch' || base === 'mod:undici.fetch' || base === 'mod:undici.request';
    const mod = base.startsWith('mod:') ? base.slice(4).split(/[.#(]/)[0]! : '';
    const isModuleSend = HTTP_MODULES.has(mod) || mod === 'dns' || mod === 'net' || mod === 'tls' || mod === 'dgram';
    const method = base.slice(base.lastIndexOf('.') + 1);
    const isStreamSend =
      (method === 'write' || method === 'end' || method === 'send') &&
      /^(mod:(https?|http2|net|tls|dgram|ws)|WebSocket|XMLHttpRequest)/.test(base);
    const isBeacon = base === 'navigator.sendBeacon';
    if (
      !isFetch &&
      !isModuleSend &&
      !isStreamSend &&
      !isBeacon &&
      !base.startsWith('XMLHttpRequest#instance') &&
      !base.startsWith('WebSocket#instance')
    )
      return;
    if (isFetch || HTTP_MODULES.has(mod) || isBeacon || base.startsWith('XMLHttpRequest') || base.startsWith('WebSocket'))
      this.evidence('http', node.start, `network call ${base.replace(/^mod:/, '')}`);
    if (!this.taintReady) {
      this.taintReady = true;
      this.computeTaint();
    }
    const kinds = new Set<Taint>();
    const collect = (n: AstNode | undefined, include: (k: TaintKind) => boolean) => {
      if (n === undefined) return;
      for (const k of this.taintOf(n)) {
        // One variable named like configuration (a model, a zone) is not a secret; the whole environment always is.
        if (kindOf(k) === 'env-one' && !isSecretEnvName(k.slice('env-one:'.length))) continue;
        if (include(kindOf(k))) kinds.add(k);
      }
    };
    const strong = (k: TaintKind) => k !== 'env-one';
    if (isFetch) {
      collect(args[0], strong);
      const opts = args[1] === undefined ? undefined : unwrap(args[1]);
      if (opts?.type === 'ObjectExpression') {
        for (const p of children(opts, 'properties')) {
          const key = text(child(p, 'key') ?? p, 'name');
          if (key === 'body') collect(child(p, 'value'), () => true);
          else collect(p, strong);
        }
      } else collect(opts, strong);
    } else if (mod === 'dns') {
      collect(args[0], () => true);
    } else if (mod === 'axios' && /^(post|put|patch)$/.test(method)) {
      collect(args[0], strong);
      collect(args[1], () => true);
      collect(args[2], strong);
    } else if (isStreamSend || isBeacon || method === 'send') {
      for (const a of args) collect(a, () => true);
    } else {
      for (const a of args) collect(a, strong);
    }
    if (kinds.size > 0) {
      const what = [...new Set([...kinds].map(describeTaint))].join(' and ');
      const host = this.destinationHost(args[0]);
      // A credential going back to the host that issued it is how a provider extension works (ADR 0011).
      const toIssuer = [...kinds].every((t) => {
        const kind = kindOf(t);
        const source = t.slice(kind.length + 1);
        if (kind === 'env-bulk' || source === '') return false;
        return sentToIssuer(kind === 'secret' ? { file: source } : { env: source }, host);
      });
      if (toIssuer) this.report('net.credential-to-issuer', node, `${base.replace(/^mod:/, '')} sends ${what} to its issuer ${host!}`);
      else
        this.report(
          'net.exfiltration',
          node,
          `${base.replace(/^mod:/, '')} sends ${what} to ${host ?? 'a host the scanner cannot compute'}`,
        );
    }
  }

  /** The host a send goes to, from its URL argument (a constant prefix is enough) or its `host`/`hostname` option. */
  private destinationHost(arg: AstNode | undefined): string | undefined {
    if (arg === undefined) return undefined;
    const a = unwrap(arg);
    if (a.type === 'ObjectExpression') {
      for (const p of children(a, 'properties')) {
        const key = text(child(p, 'key') ?? p, 'name');
        const value = child(p, 'value');
        if ((key === 'hostname' || key === 'host') && value !== undefined) {
          const h = this.ev.value(value);
          if (h?.k === 'str') return h.v.toLowerCase();
        }
        if (key === 'url' && value !== undefined) return this.destinationHost(value);
      }
      return undefined;
    }
    const url = foldPathExpression(this.ev, a);
    const m = url === undefined ? null : /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/:?#…$]+)(?=[/:?#]|$)/i.exec(url);
    return m === null ? undefined : m[1]!.toLowerCase();
  }

  private checkMember(node: AstNode): void {
    const prop = child(node, 'property')!;
    const name = node.computed === true ? this.ev.constant(prop) : text(prop, 'name');
    // Cheap prefilter: only member names the rules care about are evaluated.
    if (name !== undefined && !MEMBER_NAMES.has(name)) return;
    if (name === undefined) {
      const obj = this.ev.value(child(node, 'object')!);
      if (obj?.k === 'ref' && /^(globalThis|require|process|mod:child_process|mod:module)$/.test(obj.path)) {
        this.report(
          'module.dynamic-require',
          node,
          `computed access on ${obj.path.replace(/^mod:/, '')} with a key the scanner cannot compute`,
        );
      }
      return;
    }
    const v = this.ev.value(node);
    if (v?.k !== 'ref') return;
    const path = v.path;
    if (BINDING_PATHS.has(path)) {
      this.report('native.process-binding', node, `${path} reaches native internals`, v.via);
      return;
    }
    if (LOADER_PATHS.some((p) => path === p || path.startsWith(`${p}.`))) {
      this.report('module.loader-tamper', node, `${path.replace(/^mod:/, '')}: tampering with the module loader`, v.via);
      return;
    }
    if (path === 'process.env') {
      this.envUse(node);
      return;
    }
    if (SPAWN_GLOBALS.has(path)) this.evidence('exec', node.start, path);
  }

  private envUse(node: AstNode): void {
    const parent = this.parents.get(node);
    this.evidence('env', node.start, 'reads process.env');
    if (parent === undefined) return;
    if (parent.type === 'MemberExpression' && child(parent, 'object') === node) return;
    if (parent.type === 'VariableDeclarator' && child(parent, 'init') === node) {
      const id = child(parent, 'id');
      if (id?.type === 'ObjectPattern' && !children(id, 'properties').some((p) => p.type === 'RestElement')) return;
    }
    if (parent.type === 'BinaryExpression' && text(parent, 'operator') === 'in') return;
    if (parent.type === 'Property' && text(child(parent, 'key') ?? parent, 'name') === 'env') return;
    if (parent.type === 'SpreadElement') {
      const obj = this.parents.get(parent);
      const prop = obj === undefined ? undefined : this.parents.get(obj);
      if (prop?.type === 'Property' && text(child(prop, 'key') ?? prop, 'name') === 'env') return;
    }
    if (parent.type === 'CallExpression') {
      const callee = this.ev.value(child(parent, 'callee')!);
      if (callee?.k === 'ref' && /^(Object\.hasOwn|Object\.prototype\.hasOwnProperty\.call|Reflect\.has)$/.test(callee.path)) return;
    }
    if (parent.type === 'AssignmentExpression' && child(parent, 'left') === node) return;
    this.report('env.bulk-read', node, 'process.env used as a whole (every variable, including secrets)');
  }

  private checkAssignment(node: AstNode): void {
    const left = unwrap(child(node, 'left')!);
    if (left.type !== 'MemberExpression') return;
    // The member chain of the assignment target, outermost object first.
    const keys: string[] = [];
    let cur: AstNode = left;
    while (cur.type === 'MemberExpression') {
      const prop = child(cur, 'property')!;
      const key = cur.computed === true ? this.ev.constant(prop) : text(prop, 'name');
      keys.unshift(key ?? '?');
      cur = unwrap(child(cur, 'object')!);
    }
    const base = this.ev.value(cur);
    const basePath = base?.k === 'ref' ? base.path : undefined;
    const polluted =
      keys.slice(0, -1).includes('__proto__') ||
      keys.slice(0, -1).some((k, i) => k === 'constructor' && keys[i + 1] === 'prototype' && i + 1 < keys.length - 1) ||
      (basePath !== undefined && BUILTIN_PROTOTYPES.has(basePath) && keys[0] === 'prototype' && keys.length >= 2) ||
      (basePath !== undefined && /^(Object|Array|Function|String)\.prototype$/.test(basePath) && keys.length >= 1) ||
      (basePath === 'FunctionPrototype' && keys.length >= 1);
    // `x.__proto__ = y` on an object that is not a shared prototype is Object.setPrototypeOf(x, y): the setPrototypeOf
    // fallback of TypeScript's class helpers and DOM libraries wiring their classes. Only x changes.
    if (polluted)
      this.report('proto.pollution', node, `assignment to ${[basePath ?? '(object)', ...keys].join('.')} changes a shared prototype`);
    else if (keys[keys.length - 1] === '__proto__')
      this.report(
        'proto.replace',
        node,
        `assignment to ${[basePath ?? '(object)', ...keys].join('.')} replaces that object's own prototype; no shared prototype changes`,
      );
  }

  private checkLiteral(node: AstNode): void {
    const value = node.value;
    if (typeof value !== 'string' || value.length < 64) return;
    const hex = /^(?:[0-9a-fA-F]{2}){32,}$/.test(value);
    if (!hex && !looksBase64(value)) return;
    const decoded = Buffer.from(value, hex ? 'hex' : 'base64').toString('latin1');
    let printable = 0;
    for (let i = 0; i < decoded.length; i++) {
      const c = decoded.charCodeAt(i);
      if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13) printable++;
    }
    const step = hex ? 'hex' : 'base64';
    if (decoded.length > 0 && printable / decoded.length >= 0.95 && /[(=;]/.test(decoded)) {
      const { found } = this.payload(decoded, node, [step]);
      if (found > 0) {
        this.report('obfuscation.encoded-code', node, `${step} literal decodes to code with ${found} finding(s)`, [step]);
        return;
      }
    }
    if (value.length >= 1024) this.report('obfuscation.encoded-literal', node, `${value.length}-character ${step} literal`);
  }

  /** Capabilities implied by calls on pi's ExtensionAPI and context (`pi.registerTool`, `ctx.ui.notify`, …). */
  private piCapability(node: AstNode): void {
    const names = memberNames(unwrap(child(node, 'callee')!));
    if (names.length < 2) return;
    const last = names[names.length - 1]!;
    const owner = names[names.length - 2]!;
    let method: string | undefined;
    if (owner === 'ui' || owner === 'sessionManager' || owner === 'modelRegistry') method = `ctx.${owner}.${last}`;
    else if (owner === 'events' && names.length >= 3 && PI_RECEIVERS.has(names[names.length - 3]!)) method = `pi.events.${last}`;
    else if (PI_RECEIVERS.has(owner)) method = last === 'exec' ? 'exec' : `pi.${last}`;
    else if (CTX_RECEIVERS.has(owner)) method = last === 'exec' ? 'exec' : `ctx.${last}`;
    if (method === undefined) return;
    const spec = METHOD_TABLE.get(method);
    if (spec === undefined) return;
    if (method === 'exec')
      this.classifyCommand(
        names.join('.'),
        children(node, 'arguments').map((a) => this.ev.value(a)),
        node,
      );
    const cap = spec.capability === 'by_tool_name' ? 'tool' : spec.capability;
    this.evidence(cap, node.start, `calls ${names.join('.')}`);
  }
}

/** `x` in `o.x` or `{ x: 1 }`: a name, not a variable. */
function isPropertyName(node: AstNode, parent: AstNode | undefined): boolean {
  if (parent === undefined) return false;
  if (parent.type === 'MemberExpression') return parent.computed !== true && child(parent, 'property') === node;
  if (parent.type === 'Property') return parent.computed !== true && parent.shorthand !== true && child(parent, 'key') === node;
  return false;
}

function needsParent(node: AstNode): boolean {
  switch (node.type) {
    case 'Identifier': {
      const name = node.name;
      return name === 'eval' || name === 'Function';
    }
    case 'MemberExpression':
      return (
        node.computed === true ||
        (node.property as AstNode).name === 'env' ||
        ((node.object as AstNode).type === 'Identifier' && (node.object as AstNode).name === 'Function')
      );
    case 'SpreadElement':
    case 'ObjectExpression':
      return true;
    default:
      return false;
  }
}

/**
 * Where a command may write without harming the user: relative paths (its working folder), as exec mediation sees
 * them when the OS sandbox confines a child to the project. Absolute and home paths stay outside.
 */
const COMMAND_SCOPE = { osConfined: true } as const;

type CommandCall = { cmd: string; args?: readonly string[]; shell?: boolean };

/** The command line of an exec call, when every part of it folds to a string. */
function commandOf(callee: string, values: readonly (Value | undefined)[]): CommandCall | undefined {
  const strings = (v: Value | undefined): string[] | undefined =>
    v === undefined ? [] : v.k === 'arr' && v.items.every((x) => x?.k === 'str') ? v.items.map((x) => (x as { v: string }).v) : undefined;
  const method = callee.slice(callee.lastIndexOf('.') + 1);
  const [first, second] = values;
  if (callee.startsWith('Bun.') || callee.startsWith('Deno.')) {
    const argv = first?.k === 'arr' ? strings(first) : undefined;
    return argv === undefined || argv.length === 0 ? undefined : { cmd: argv[0]!, args: argv.slice(1) };
  }
  if (first?.k !== 'str') return undefined;
  // exec/execSync and shelljs.exec, execaCommand: one shell line.
  const module = /^(child_process|execa|shelljs)\b/.test(callee);
  if (module && (/^(exec|execSync|execaCommand|execaCommandSync|command|commandSync)$/.test(method) || callee.startsWith('shelljs')))
    return { cmd: first.v, shell: true };
  const args = second?.k === 'arr' ? strings(second) : second === undefined || second.k === 'obj' ? [] : undefined;
  if (args === undefined) return undefined;
  const opts = second?.k === 'obj' ? second : values[2];
  const shell = opts?.k === 'obj' && opts.props.has('shell');
  return { cmd: first.v, args, shell };
}

function describeTaint(t: Taint): string {
  const kind = kindOf(t);
  const source = t.slice(kind.length + 1);
  if (kind === 'secret') return `credential file content (${source})`;
  if (kind === 'env-bulk') return 'the whole environment';
  return source === '' ? 'an environment variable' : `the environment variable ${source}`;
}

/** The last name of a callee (`readFileSync` of `fs.readFileSync(...)`), or '' when computed. */
function calleeName(call: AstNode): string {
  const callee = unwrap(child(call, 'callee')!);
  if (callee.type === 'Identifier') return text(callee, 'name') ?? '';
  if (callee.type === 'MemberExpression' && callee.computed !== true) return text(child(callee, 'property')!, 'name') ?? '';
  return '';
}

function memberNames(node: AstNode): string[] {
  const out: string[] = [];
  let cur = node;
  while (cur.type === 'MemberExpression') {
    const prop = child(cur, 'property')!;
    const name = cur.computed === true ? (typeof prop.value === 'string' ? prop.value : undefined) : text(prop, 'name');
    if (name === undefined) return [];
    out.unshift(name);
    cur = unwrap(child(cur, 'object')!);
  }
  if (cur.type === 'Identifier') out.unshift(text(cur, 'name')!);
  else if (cur.type === 'ThisExpression') out.unshift('this');
  else return [];
  return out;
}
