/**
 * Shell strings (`sh -c …`, `shell: true`) parsed with a real shell parser: mvdan/sh (the Go parser behind
 * shfmt, compiled to JavaScript; ADR 0022). Synchronous, so it works while the guest waits on `execSync`.
 * The result is the simple commands the string would run, each with its argv as far as it is static, the
 * pipelines they sit in, and what runs in the background; anything the parser rejects is an error (the caller
 * denies: a string we cannot read is never run).
 */
import sh from 'mvdan-sh';

/** One simple command: argv words (dynamic parts shown as `$NAME`/`$(…)`), and what surrounds it. */
export interface SimpleCommand {
  readonly argv: readonly string[];
  /** argv[0] or a word in it is not a literal (a variable, a substitution): the program cannot be known. */
  readonly dynamicName: boolean;
  readonly background: boolean;
  /** Redirect targets (`> file`, `< /dev/tcp/…`). */
  readonly redirects: readonly string[];
  /** Commands inside `$(…)` / `<(…)` in this command's words. */
  readonly substitutions: readonly SimpleCommand[];
}

export interface ParsedShell {
  readonly commands: readonly SimpleCommand[];
  /** Each pipeline `a | b | c` as its commands in order (only pipelines of two or more). */
  readonly pipelines: ReadonlyArray<readonly SimpleCommand[]>;
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- mvdan-sh is GopherJS output without types */
const syntax: any = sh.syntax;

function opOf(src: string): number {
  return syntax.NewParser().Parse(src, 'probe').Stmts[0].Cmd.Op as number;
}
const PIPE_OPS = new Set<number>([opOf('a | b'), opOf('a |& b')]);

interface WordText { text: string; dynamic: boolean; subs: SimpleCommand[] }

function wordText(word: any, depth: number): WordText {
  const out: WordText = { text: '', dynamic: false, subs: [] };
  // Lit values keep their backslashes: drop them as the shell would (any char outside quotes; only $ ` " \ and
  // newline inside double quotes), so a nested `bash -c "…\"…\"…"` string reads as the inner shell sees it.
  const parts = (list: any, quoted: boolean) => {
    for (let i = 0; i < (list?.length ?? 0); i++) {
      const p = list[i];
      switch (syntax.NodeType(p)) {
        case 'Lit': out.text += quoted ? String(p.Value).replace(/\\([$`"\\\n])/g, '$1') : String(p.Value).replace(/\\([\s\S])/g, '$1'); break;
        case 'SglQuoted':
          // `$'\x72m'` (ANSI-C quoting) decodes escapes we do not evaluate: the word is not what it reads as.
          if (p.Dollar === true && String(p.Value).includes('\\')) out.dynamic = true;
          out.text += String(p.Value);
          break;
        case 'DblQuoted': parts(p.Parts, true); break;
        case 'ParamExp': out.dynamic = true; out.text += `$${String(p.Param?.Value ?? '?')}`; break;
        case 'CmdSubst': case 'ProcSubst': {
          out.dynamic = true;
          out.text += '$(…)';
          out.subs.push(...substitution(p, depth).commands);
          break;
        }
        default: out.dynamic = true; out.text += '…'; break;
      }
    }
  };
  parts(word?.Parts, false);
  return out;
}

interface Collected { commands: SimpleCommand[]; pipelines: SimpleCommand[][] }

function collect(stmts: any, depth: number): Collected {
  const acc: Collected = { commands: [], pipelines: [] };
  if (depth > 8) throw new Error('shell nesting is too deep');
  const stmt = (s: any, background: boolean): SimpleCommand[] => {
    const redirects: string[] = [];
    const redirectSubs: SimpleCommand[] = [];
    for (let i = 0; i < (s.Redirs?.length ?? 0); i++) {
      const w = wordText(s.Redirs[i].Word, depth);
      redirects.push(w.text);
      redirectSubs.push(...w.subs);
    }
    return cmd(s.Cmd, background || s.Background === true, redirects, redirectSubs);
  };
  const stmtList = (list: any, background: boolean): SimpleCommand[] => {
    const out: SimpleCommand[] = [];
    for (let i = 0; i < (list?.length ?? 0); i++) out.push(...stmt(list[i], background));
    return out;
  };
  const cmd = (c: any, background: boolean, redirects: string[], redirectSubs: SimpleCommand[]): SimpleCommand[] => {
    if (c === null || c === undefined) return [];
    switch (syntax.NodeType(c)) {
      case 'CallExpr': {
        const argv: string[] = [];
        let dynamicName = false;
        const subs: SimpleCommand[] = [...redirectSubs];
        for (let i = 0; i < (c.Assigns?.length ?? 0); i++) {
          if (c.Assigns[i].Value) subs.push(...wordText(c.Assigns[i].Value, depth).subs);
        }
        for (let i = 0; i < (c.Args?.length ?? 0); i++) {
          const w = wordText(c.Args[i], depth);
          if (i === 0 && w.dynamic) dynamicName = true;
          argv.push(w.text);
          subs.push(...w.subs);
        }
        const simple: SimpleCommand = { argv, dynamicName, background, redirects, substitutions: subs };
        acc.commands.push(simple);
        return [simple];
      }
      case 'BinaryCmd': {
        const left = stmt(c.X, background);
        const right = stmt(c.Y, background);
        if (PIPE_OPS.has(c.Op as number)) {
          const last = acc.pipelines.at(-1);
          // `a | b | c` nests as (a | b) | c: extend the pipeline that ends with the left side.
          if (last !== undefined && left.length > 0 && last.at(-1) === left.at(-1)) last.push(...right);
          else acc.pipelines.push([...left, ...right]);
        }
        return [...left, ...right];
      }
      case 'Subshell': case 'Block': return stmtList(c.Stmts, background);
      case 'IfClause': {
        const out = [...stmtList(c.Cond, background), ...stmtList(c.Then, background)];
        if (c.Else) out.push(...cmd(c.Else, background, [], []));
        return out;
      }
      case 'WhileClause': return [...stmtList(c.Cond, background), ...stmtList(c.Do, background)];
      case 'ForClause': return stmtList(c.Do, background);
      case 'CaseClause': {
        const out: SimpleCommand[] = [];
        for (let i = 0; i < (c.Items?.length ?? 0); i++) out.push(...stmtList(c.Items[i].Stmts, background));
        return out;
      }
      case 'FuncDecl': return cmd(c.Body?.Cmd, background, [], []);
      case 'TimeClause': case 'CoprocClause': return c.Stmt ? stmt(c.Stmt, background || syntax.NodeType(c) === 'CoprocClause') : [];
      case 'DeclClause': {
        // export/declare/local/readonly: the words are assignments; `export -p` / bare `export` dumps the environment.
        const argv = [String(c.Variant?.Value ?? 'declare')];
        const subs: SimpleCommand[] = [];
        for (let i = 0; i < (c.Args?.length ?? 0); i++) {
          const a = c.Args[i];
          const name = a.Name ? String(a.Name.Value) : '';
          const value = a.Value ? wordText(a.Value, depth) : undefined;
          if (value !== undefined) subs.push(...value.subs);
          argv.push(a.Naked && !a.Name && a.Value ? (value?.text ?? '') : value === undefined ? name : `${name}=${value.text}`);
        }
        const simple: SimpleCommand = { argv, dynamicName: false, background, redirects, substitutions: subs };
        acc.commands.push(simple);
        return [simple];
      }
      default:
        // let, [[ ]], arithmetic: no program runs itself; substitutions inside are found by the walk below.
        return [];
    }
  };
  stmtList(stmts, false);
  // Every `$(…)`/`<(…)` under these statements, wherever it sits (words, parameter defaults, for/case words,
  // arithmetic, array indexes, here-doc bodies): what it runs, with its pipelines. Nested ones recurse.
  for (let i = 0; i < (stmts?.length ?? 0); i++) {
    syntax.Walk(stmts[i], (n: any) => {
      if (n === null || (syntax.NodeType(n) !== 'CmdSubst' && syntax.NodeType(n) !== 'ProcSubst')) return true;
      const inner = substitution(n, depth);
      acc.commands.push(...inner.commands);
      acc.pipelines.push(...inner.pipelines);
      return false;
    });
  }
  return acc;
}

/**
 * Substitutions seen while parsing one string, so a word and the walk share one collection (and one set of
 * command objects). Keyed by source offset: GopherJS hands the walk a different wrapper object for the same node.
 */
let seen = new Map<number, Collected>();

function substitution(node: any, depth: number): Collected {
  const key = Number(node.Pos().Offset());
  let got = seen.get(key);
  if (got === undefined) {
    got = collect(node.Stmts, depth + 1);
    seen.set(key, got);
  }
  return got;
}

function parseError(err: unknown): string {
  if (err instanceof Error && typeof err.message === 'string') return err.message;
  const e = err as { Error?: () => string } | null;
  if (e !== null && typeof e === 'object' && typeof e.Error === 'function') return e.Error();
  return String(err);
}

/** One parser, reused: building one costs more than a parse. Parse resets its state; JS is single-threaded. */
let parser: any;

/**
 * Parsed strings by source text (parsing is a pure function; the GopherJS parser costs ~0.1–0.5 ms per string,
 * and extensions repeat their commands). Bounded; oldest first out.
 */
const CACHE_LIMIT = 512;
const cache = new Map<string, ParsedShell | Error>();

/** Parses a shell string. Throws an Error naming the position on anything the parser rejects. */
export function parseShell(source: string): ParsedShell {
  const hit = cache.get(source);
  if (hit !== undefined) {
    if (hit instanceof Error) throw hit;
    return hit;
  }
  let result: ParsedShell | Error;
  try {
    result = parseUncached(source);
  } catch (err) {
    result = err instanceof Error ? err : new Error(String(err));
  }
  if (source.length <= 4096) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(source, result);
  }
  if (result instanceof Error) throw result;
  return result;
}

function parseUncached(source: string): ParsedShell {
  let file: any;
  try {
    parser ??= syntax.NewParser(syntax.Variant(syntax.LangBash));
    file = parser.Parse(source, 'command');
  } catch (err) {
    throw new Error(`shell string does not parse: ${parseError(err)}`);
  }
  seen = new Map();
  let got: Collected;
  try {
    got = collect(file.Stmts, 0);
  } finally {
    seen = new Map();
  }
  return deepFreeze({ commands: got.commands, pipelines: got.pipelines });
}
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
