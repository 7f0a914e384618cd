/**
 * Shell strings (`sh -c …`, `shell: true`) parsed with a real shell parser: mvdan/sh (the Go parser behind
 * shfmt, compiled to JavaScript; ADR 0022). Synchronous, so it works while the guest waits on `execSync`.
 * The result is the simple commands the string would run, each with its argv as far as it is static (brace
 * expansion done; what the shell would compute at run time flagged per word), its redirects, where its stdin
 * comes from (a here-doc, a file, the previous stage of a pipe), and what runs in the background; anything the
 * parser rejects is an error (the caller denies: a string we cannot read is never run).
 */
import sh from 'mvdan-sh';
import { expand, type Tok, W_DYNAMIC, W_EXTGLOB, W_GLOB } from './shellWords.ts';

export { W_BRACE, W_DYNAMIC, W_EXTGLOB, W_GLOB, W_OVERFLOW } from './shellWords.ts';

export type RedirOp = '<' | '>' | '>>' | '<>' | '<&' | '>&' | '>|' | '<<' | '<<-' | '<<<' | '&>' | '&>>';

export interface Redirect {
  readonly op: RedirOp;
  /** The file descriptor redirected (0 for input forms unless a number is given). */
  readonly fd: number;
  readonly target: string;
  readonly dynamic: boolean;
}

/** Where a command's standard input comes from. */
export type Stdin =
  /** Whatever the enclosing script or process reads. */
  | { readonly kind: 'inherit' }
  | { readonly kind: 'text'; readonly via: 'heredoc' | 'herestring'; readonly text: string; readonly dynamic: boolean }
  | { readonly kind: 'file'; readonly target: string; readonly dynamic: boolean }
  /** `<&3`: another descriptor. */
  | { readonly kind: 'fd'; readonly target: string }
  /** The previous stage of a pipe: the commands whose output feeds this one. */
  | { readonly kind: 'pipe'; readonly from: readonly SimpleCommand[] };

export interface Assignment {
  readonly name: string;
  readonly value: string;
  readonly dynamic: boolean;
}

/** One simple command: argv words (dynamic parts shown as `$NAME`/`$(…)`), and what surrounds it. */
export interface SimpleCommand {
  readonly argv: readonly string[];
  /** W_* flags per argv word (W_DYNAMIC on the first: the program cannot be known). */
  readonly flags: readonly number[];
  readonly background: boolean;
  /** Its own redirects and those of every compound command around it. */
  readonly redirects: readonly Redirect[];
  readonly stdin: Stdin;
  /** `NAME=value` prefixes (`GIT_PAGER=… git log`), or the statement itself when it has no words. */
  readonly assignments: readonly Assignment[];
  /** Commands inside `$(…)` / `<(…)` in this command's words. */
  readonly substitutions: readonly SimpleCommand[];
}

export interface ParsedShell {
  readonly commands: readonly SimpleCommand[];
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- mvdan-sh is GopherJS output without types */
const syntax: any = sh.syntax;

function probe(src: string): any {
  return syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(src, 'probe').Stmts[0];
}
const PIPE_OPS = new Set<number>([probe('a | b').Cmd.Op as number, probe('a |& b').Cmd.Op as number]);
const REDIR_OPS = new Map<number, RedirOp>(
  (['<', '>', '>>', '<>', '<&', '>&', '>|', '<<', '<<-', '<<<', '&>', '&>>'] as const).map((op) => {
    const src = op.startsWith('<<') && op !== '<<<' ? `a ${op}E\nE\n` : `a ${op}x`;
    return [probe(src).Redirs[0].Op as number, op];
  }),
);
const PROC_OUT = probe('a >(b)').Cmd.Args[1].Parts[0].Op as number;
const INPUT_OPS = new Set<RedirOp>(['<', '<>', '<&', '<<', '<<-', '<<<']);

interface WordText {
  text: string;
  flags: number;
  subs: SimpleCommand[];
  braces: Tok[] | undefined;
}

function wordText(word: any, depth: number, mode: 'word' | 'heredoc' = 'word'): WordText {
  const out: WordText = { text: '', flags: 0, subs: [], braces: undefined };
  /** raw: single quotes; dq: inside double quotes; heredoc: an unquoted here-doc body; plain: unquoted. */
  const lit = (s: string, how: 'raw' | 'dq' | 'heredoc' | 'plain') => {
    if (how !== 'plain') {
      const v = how === 'raw' ? s : how === 'dq' ? s.replace(/\\([$`"\\\n])/g, '$1') : s.replace(/\\\n/g, '').replace(/\\([$`\\])/g, '$1');
      out.text += v;
      out.braces?.push(...[...v].map((c) => ({ c, u: false })));
      return;
    }
    // Unquoted: a backslash quotes the next character; `* ? [` glob; `{…,…}` / `{a..b}` may be a brace expansion.
    if (/[*?]|\[[^\]]*\]/.test(s.replace(/\\[\s\S]/g, ''))) out.flags |= W_GLOB;
    if (out.braces === undefined && s.includes('{')) out.braces = [...out.text].map((c) => ({ c, u: false }));
    if (out.braces !== undefined) {
      for (let i = 0; i < s.length; i++) {
        if (s[i] === '\\' && i + 1 < s.length) out.braces.push({ c: s[++i] as string, u: false });
        else out.braces.push({ c: s[i] as string, u: true });
      }
    }
    out.text += s.replace(/\\([\s\S])/g, '$1');
  };
  const dyn = (text: string) => {
    out.flags |= W_DYNAMIC;
    out.text += text;
    out.braces?.push(...[...text].map((c) => ({ c, u: false })));
  };
  // Lit values keep their backslashes: drop them as the shell would (any char outside quotes; only $ ` " \ and
  // newline inside double quotes), so a nested `bash -c "…\"…\"…"` string reads as the inner shell sees it.
  const parts = (list: any, quoted: boolean) => {
    for (let i = 0; i < (list?.length ?? 0); i++) {
      const p = list[i];
      switch (syntax.NodeType(p)) {
        case 'Lit':
          lit(String(p.Value), quoted ? 'dq' : mode === 'heredoc' ? 'heredoc' : 'plain');
          break;
        case 'SglQuoted':
          // `$'\x72m'` (ANSI-C quoting) decodes escapes we do not evaluate: the word is not what it reads as.
          if (p.Dollar === true && String(p.Value).includes('\\')) out.flags |= W_DYNAMIC;
          lit(String(p.Value), 'raw');
          break;
        case 'DblQuoted':
          parts(p.Parts, true);
          break;
        case 'ParamExp':
          dyn(`$${String(p.Param?.Value ?? '?')}`);
          break;
        case 'CmdSubst':
        case 'ProcSubst': {
          const inner = substitution(p, depth).commands;
          // `$(pwd)` is the working folder, as `$PWD` is (what `-v $(pwd):/app` mounts): read alike.
          const only = inner.length === 1 ? inner[0] : undefined;
          const pwd = syntax.NodeType(p) === 'CmdSubst' && only?.argv.length === 1 && only.argv[0] === 'pwd' && only.redirects.length === 0;
          dyn(pwd ? '$PWD' : '$(…)');
          out.subs.push(...inner);
          break;
        }
        case 'ExtGlob':
          out.flags |= W_GLOB | W_EXTGLOB;
          lit(`?(${String(p.Pattern?.Value ?? '')})`, 'raw');
          break;
        default:
          dyn('…');
          break;
      }
    }
  };
  parts(word?.Parts, false);
  return out;
}

interface Collected {
  commands: SimpleCommand[];
}
interface Ctx {
  background: boolean;
  stdin: Stdin;
  redirects: Redirect[];
}
/** What a statement runs, and the commands whose output is its output (what a pipe after it reads). */
interface Node {
  all: SimpleCommand[];
  out: SimpleCommand[];
}
const EMPTY: Node = { all: [], out: [] };

function collect(stmts: any, depth: number, stdin: Stdin = { kind: 'inherit' }): Collected {
  const acc: Collected = { commands: [] };
  if (depth > 8) throw new Error('shell nesting is too deep');
  const stmt = (s: any, outer: Ctx): Node => {
    const ctx: Ctx = { background: outer.background || s.Background === true, stdin: outer.stdin, redirects: outer.redirects };
    const subs: SimpleCommand[] = [];
    // Read each slice field once: GopherJS converts the whole Go slice on every property access.
    const redirs = s.Redirs;
    if ((redirs?.length ?? 0) > 0) {
      ctx.redirects = [...outer.redirects];
      for (let i = 0; i < redirs.length; i++) {
        const r = redirs[i];
        const op = REDIR_OPS.get(r.Op as number) ?? '>';
        const w = wordText(r.Word, depth);
        subs.push(...w.subs);
        const fd = r.N ? Number(r.N.Value) : INPUT_OPS.has(op) ? 0 : 1;
        ctx.redirects.push({ op, fd, target: w.text, dynamic: (w.flags & W_DYNAMIC) !== 0 });
        if (fd !== 0 || !INPUT_OPS.has(op)) continue;
        if (op === '<<' || op === '<<-') {
          // A quoted delimiter (`<<'EOF'`) keeps the body literal; otherwise it expands like a double-quoted word.
          const delim = r.Word?.Parts;
          const quoted = (delim?.length ?? 0) !== 1 || syntax.NodeType(delim[0]) !== 'Lit' || String(delim[0].Value).includes('\\');
          const body = wordText(r.Hdoc, depth, quoted ? 'word' : 'heredoc');
          ctx.stdin = {
            kind: 'text',
            via: 'heredoc',
            text: quoted ? rawHeredoc(r.Hdoc) : body.text,
            dynamic: !quoted && (body.flags & W_DYNAMIC) !== 0,
          };
        } else if (op === '<<<') {
          ctx.stdin = { kind: 'text', via: 'herestring', text: `${w.text}\n`, dynamic: (w.flags & W_DYNAMIC) !== 0 };
        } else if (op === '<&') {
          ctx.stdin = { kind: 'fd', target: w.text };
        } else {
          ctx.stdin = { kind: 'file', target: w.text, dynamic: (w.flags & W_DYNAMIC) !== 0 };
        }
      }
    }
    const node = cmd(s.Cmd, ctx, subs);
    if (node.all.length === 0 && (redirs?.length ?? 0) > 0) {
      // A statement that is only redirects (`3<>/dev/tcp/h/80`, `< ~/.ssh/id_rsa`) still opens what it names.
      const simple = make([], [], ctx, [], subs);
      return { all: [simple], out: [simple] };
    }
    return node;
  };
  const make = (argv: string[], flags: number[], ctx: Ctx, assignments: Assignment[], subs: SimpleCommand[]): SimpleCommand => {
    const simple: SimpleCommand = {
      argv,
      flags,
      background: ctx.background,
      redirects: ctx.redirects,
      stdin: ctx.stdin,
      assignments,
      substitutions: subs,
    };
    acc.commands.push(simple);
    return simple;
  };
  const list = (l: any, ctx: Ctx): Node => {
    const out: Node = { all: [], out: [] };
    for (let i = 0; i < (l?.length ?? 0); i++) {
      const n = stmt(l[i], ctx);
      out.all.push(...n.all);
      out.out.push(...n.out);
    }
    return out;
  };
  const join = (...nodes: Node[]): Node => ({ all: nodes.flatMap((n) => n.all), out: nodes.flatMap((n) => n.out) });
  const cmd = (c: any, ctx: Ctx, redirectSubs: SimpleCommand[]): Node => {
    if (c === null || c === undefined) return EMPTY;
    switch (syntax.NodeType(c)) {
      case 'CallExpr': {
        const argv: string[] = [];
        const flags: number[] = [];
        const subs: SimpleCommand[] = [...redirectSubs];
        const assignments: Assignment[] = [];
        const assigns = c.Assigns;
        for (let i = 0; i < (assigns?.length ?? 0); i++) {
          const a = assigns[i];
          const v = a.Value ? wordText(a.Value, depth) : undefined;
          if (v !== undefined) subs.push(...v.subs);
          assignments.push({
            name: String(a.Name?.Value ?? ''),
            value: v?.text ?? '',
            dynamic: v !== undefined && (v.flags & W_DYNAMIC) !== 0,
          });
        }
        const budget = { n: 1024 };
        const words = c.Args;
        for (let i = 0; i < (words?.length ?? 0); i++) {
          const w = wordText(words[i], depth);
          for (const e of expand(w, budget)) {
            argv.push(e.text);
            flags.push(e.flags);
          }
          subs.push(...w.subs);
        }
        const simple = make(argv, flags, ctx, assignments, subs);
        return { all: [simple], out: [simple] };
      }
      case 'BinaryCmd': {
        const left = stmt(c.X, ctx);
        if (!PIPE_OPS.has(c.Op as number)) return join(left, stmt(c.Y, ctx));
        const right = stmt(c.Y, { ...ctx, stdin: { kind: 'pipe', from: left.out } });
        return { all: [...left.all, ...right.all], out: right.out };
      }
      case 'Subshell':
      case 'Block':
        return list(c.Stmts, ctx);
      case 'IfClause': {
        const out = join(list(c.Cond, ctx), list(c.Then, ctx));
        return c.Else ? join(out, cmd(c.Else, ctx, [])) : out;
      }
      case 'WhileClause':
        return join(list(c.Cond, ctx), list(c.Do, ctx));
      case 'ForClause':
        return list(c.Do, ctx);
      case 'CaseClause': {
        const out: Node = { all: [], out: [] };
        const items = c.Items;
        for (let i = 0; i < (items?.length ?? 0); i++) {
          const n = list(items[i].Stmts, ctx);
          out.all.push(...n.all);
          out.out.push(...n.out);
        }
        return out;
      }
      // A function body reads whatever its caller's stdin is (`echo … | f`): not known here.
      case 'FuncDecl':
        return cmd(c.Body?.Cmd, { ...ctx, stdin: { kind: 'fd', target: 'the function caller' } }, []);
      case 'TimeClause':
        return c.Stmt ? stmt(c.Stmt, ctx) : EMPTY;
      // A coprocess reads what the script writes to it later.
      case 'CoprocClause':
        return c.Stmt ? stmt(c.Stmt, { ...ctx, background: true, stdin: { kind: 'fd', target: 'the coprocess pipe' } }) : EMPTY;
      case 'DeclClause': {
        // export/declare/local/readonly: the words are assignments; `export -p` / bare `export` dumps the environment.
        const argv = [String(c.Variant?.Value ?? 'declare')];
        const subs: SimpleCommand[] = [...redirectSubs];
        const assignments: Assignment[] = [];
        const decl = c.Args;
        for (let i = 0; i < (decl?.length ?? 0); i++) {
          const a = decl[i];
          const name = a.Name ? String(a.Name.Value) : '';
          const value = a.Value ? wordText(a.Value, depth) : undefined;
          if (value !== undefined) subs.push(...value.subs);
          if (name !== '' && value !== undefined) assignments.push({ name, value: value.text, dynamic: (value.flags & W_DYNAMIC) !== 0 });
          argv.push(a.Naked && !a.Name && a.Value ? (value?.text ?? '') : value === undefined ? name : `${name}=${value.text}`);
        }
        const simple = make(
          argv,
          argv.map(() => 0),
          ctx,
          assignments,
          subs,
        );
        return { all: [simple], out: [simple] };
      }
      default:
        // let, [[ ]], arithmetic: no program runs itself; substitutions inside are found by the walk below.
        return EMPTY;
    }
  };
  list(stmts, { background: false, stdin, redirects: [] });
  // Every `$(…)`/`<(…)` under these statements, wherever it sits (words, parameter defaults, for/case words,
  // arithmetic, array indexes, here-doc bodies): what it runs. Nested ones recurse.
  for (let i = 0; i < (stmts?.length ?? 0); i++) {
    syntax.Walk(stmts[i], (n: any) => {
      if (n === null || (syntax.NodeType(n) !== 'CmdSubst' && syntax.NodeType(n) !== 'ProcSubst')) return true;
      acc.commands.push(...substitution(n, depth).commands);
      return false;
    });
  }
  return acc;
}

/** A quoted here-doc's body is one literal, backslashes and all. */
function rawHeredoc(word: any): string {
  let text = '';
  const parts = word?.Parts;
  for (let i = 0; i < (parts?.length ?? 0); i++) text += String(parts[i].Value ?? '');
  return text;
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
    // `>(cmd)` reads what the outer command writes into it.
    got = collect(
      node.Stmts,
      depth + 1,
      syntax.NodeType(node) === 'ProcSubst' && node.Op === PROC_OUT ? { kind: 'fd', target: '>(…)' } : { kind: 'inherit' },
    );
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

/** Characters of a string the fast path reads: plain words and the list/pipe operators, nothing that expands. */
const SIMPLE_SOURCE = /^[A-Za-z0-9_./:,@%+=\- \t|&;]*$/;
const WORD_CHAR = /[A-Za-z0-9_./:,@%+=-]/;
/** First words the shell reads as syntax, or as a declaration, rather than as a program to run. */
const NOT_A_COMMAND = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'for',
  'while',
  'until',
  'do',
  'done',
  'case',
  'esac',
  'in',
  'function',
  'select',
  'time',
  'coproc',
  'declare',
  'export',
  'local',
  'readonly',
  'typeset',
  'let',
  'nameref',
]);

/**
 * The parse of a string made only of plain words joined by `|`, `&&`, `||` and `;` — most commands extensions run
 * (`git status && npm test`, `ls -la | head -5`) — without the GopherJS parser, whose first parse of a new string
 * costs ~1 ms (p99 far more). Anything else (quotes, `$`, redirects, globs, `&`, keywords, `NAME=value`, an empty
 * command) returns undefined and goes to the real parser. The result is exactly what the real parser gives; a
 * differential test holds the two together.
 */
export function parseSimple(source: string): ParsedShell | undefined {
  if (source.length > 4096 || !SIMPLE_SOURCE.test(source)) return undefined;
  const inherit: Stdin = { kind: 'inherit' };
  const redirects: Redirect[] = [];
  const commands: SimpleCommand[] = [];
  let argv: string[] = [];
  let previous: SimpleCommand | undefined;
  let i = 0;
  /** Ends the command being read; false when there is none (an operator with nothing before it). */
  const finish = (pipedInto: boolean): boolean => {
    if (argv.length === 0 || argv[0]!.includes('=') || NOT_A_COMMAND.has(argv[0]!)) return false;
    const simple: SimpleCommand = {
      argv,
      flags: argv.map(() => 0),
      background: false,
      redirects,
      stdin: previous === undefined ? inherit : { kind: 'pipe', from: [previous] },
      assignments: [],
      substitutions: [],
    };
    commands.push(simple);
    previous = pipedInto ? simple : undefined;
    argv = [];
    return true;
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (WORD_CHAR.test(c)) {
      let j = i + 1;
      while (j < source.length && WORD_CHAR.test(source[j]!)) j++;
      argv.push(source.slice(i, j));
      i = j;
    } else {
      const two = source.slice(i, i + 2);
      if (two === '&&' || two === '||') {
        if (!finish(false)) return undefined;
        i += 2;
      } else if (c === '|' && two !== '|&') {
        if (!finish(true)) return undefined;
        i += 1;
      } else if (c === ';' && two !== ';;') {
        if (!finish(false)) return undefined;
        i += 1;
        // `a;` is complete, `a; ;` is not: only spaces may follow a last `;`.
        if (source.slice(i).trim() === '') return commands.length > 0 ? deepFreeze({ commands }) : undefined;
      } else {
        return undefined; // `&` (background), `|&`, `;;`
      }
    }
  }
  if (!finish(false)) return undefined;
  return deepFreeze({ commands });
}

/** Parses a shell string. Throws an Error naming the position on anything the parser rejects. */
export function parseShell(source: string): ParsedShell {
  const simple = parseSimple(source);
  if (simple !== undefined) return simple;
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

/** The real parser, uncached (exported for the fast path's differential test). */
export function parseUncached(source: string): ParsedShell {
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
  return deepFreeze({ commands: got.commands });
}
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
