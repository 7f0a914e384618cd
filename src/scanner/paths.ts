/**
 * Sensitive filesystem locations (SPEC §8, INC-4), as the sensitive-places table names them (src/policy/places.ts):
 * writing to a credential store or a never-written place persists code or steals access; reading a credential and
 * sending it out is exfiltration. Matched against the path a call builds, folded to the path a reader would write
 * (`join(homedir(), '.ssh', 'authorized_keys')` → `~/.ssh/authorized_keys`; `process.env.CODEX_HOME` → `$CODEX_HOME`).
 */
import { posix } from 'node:path';
import { BASE_IN_HOME, NEVER_WRITTEN_KINDS, PlaceWords, SECRET_KINDS, type PlaceKind } from '../policy/index.ts';
import { child, children, text, unwrap, type AstNode } from './ast.ts';
import type { Evaluator } from './fold.ts';

const PLACES = new PlaceWords();
const WRITE_TARGETS: ReadonlySet<PlaceKind> = new Set([...SECRET_KINDS, ...NEVER_WRITTEN_KINDS]);
/** A part the scanner cannot compute: kept as one segment so the parts around it stay where they were. */
export const UNKNOWN_PART = '…';
/**
 * The random end of a folder `mkdtemp(prefix)` creates: nothing of the user's is below it (no credential store, nothing
 * a tool runs), so only the folder itself is matched against the places table (`~/.pi/agent/extensions/x-…` still is).
 */
export const NEW_FOLDER_PART = '…(new folder)';
const MKDTEMP_CALLS = /^mod:fs(\.promises|\/promises)?\.mkdtemp(Sync)?(\(\))?$/;
const HOME_REFS = /^(mod:os\.homedir\(\)|mod:os\.userInfo\(\)\.homedir|process\.env\.(HOME|USERPROFILE))$/;
const PATH_CALLS = /^mod:path(\.posix|\.win32)?\.(join|resolve|normalize)(\(\))?$/;
const DIRNAME_REFS = /^(__dirname|import\.meta\.dirname|__filename|import\.meta\.filename)$/;
/** The working folder: the project pi runs in. */
const CWD_REFS = /^(process\.cwd\(\)|Deno\.cwd\(\))$/;
const MAX_FOLD_DEPTH = 6;

/**
 * Folds the expression a filesystem call is given to a path: `join`/`resolve`/`normalize`, `homedir()`,
 * `os.homedir()`, `process.env.HOME` (→ `~`), other variables (→ `$NAME`), `__dirname` (→ `.`, the extension's
 * folder), template strings, `+`, `??`/`||` (the first side that folds) and constants bound once. Undefined when
 * nothing of it can be computed; unknown parts inside a known path stay as one `…` segment.
 */
export function foldPathExpression(ev: Evaluator, node: AstNode, depth = 0): string | undefined {
  if (depth > MAX_FOLD_DEPTH) return undefined;
  const n = unwrap(node);
  const v = ev.value(n);
  if (v?.k === 'str') return v.v;
  if (v?.k === 'ref') {
    if (HOME_REFS.test(v.path)) return '~';
    if (DIRNAME_REFS.test(v.path) || CWD_REFS.test(v.path)) return '.';
    const variable = /^process\.env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(v.path);
    if (variable !== null) return `$${variable[1]!}`;
  }
  switch (n.type) {
    case 'Identifier': {
      const name = text(n, 'name')!;
      if (DIRNAME_REFS.test(name)) return '.';
      // Only a name bound once folds: a reassigned one could be any of its values.
      const inits = ev.bindings.get(name) ?? [];
      return inits.length === 1 && inits[0] !== n ? foldPathExpression(ev, inits[0]!, depth + 1) : undefined;
    }
    case 'MemberExpression': {
      const obj = unwrap(child(n, 'object')!);
      if (obj.type === 'MetaProperty' && /^(dirname|filename)$/.test(text(child(n, 'property')!, 'name') ?? '')) return '.';
      return undefined;
    }
    case 'TemplateLiteral': {
      const quasis = children(n, 'quasis');
      const exprs = children(n, 'expressions');
      let out = '';
      let known = false;
      quasis.forEach((quasi, i) => {
        const cooked = (quasi.value as { cooked?: string | null }).cooked ?? '';
        out += cooked;
        if (cooked !== '') known = true;
        if (exprs[i] !== undefined) {
          const part = foldPathExpression(ev, exprs[i], depth + 1);
          if (part !== undefined) known = true;
          out += part ?? UNKNOWN_PART;
        }
      });
      return known ? out : undefined;
    }
    case 'BinaryExpression': {
      if (text(n, 'operator') !== '+') return undefined;
      const l = foldPathExpression(ev, child(n, 'left')!, depth + 1);
      const r = foldPathExpression(ev, child(n, 'right')!, depth + 1);
      return l === undefined && r === undefined ? undefined : `${l ?? UNKNOWN_PART}${r ?? UNKNOWN_PART}`;
    }
    case 'LogicalExpression':
    case 'ConditionalExpression': {
      const sides =
        n.type === 'LogicalExpression' ? [child(n, 'left'), child(n, 'right')] : [child(n, 'consequent'), child(n, 'alternate')];
      for (const s of sides) {
        const p = s === undefined ? undefined : foldPathExpression(ev, s, depth + 1);
        if (p !== undefined) return p;
      }
      return undefined;
    }
    case 'AwaitExpression':
      return foldPathExpression(ev, child(n, 'argument')!, depth + 1);
    case 'CallExpression': {
      const callee = ev.value(child(n, 'callee')!);
      if (callee?.k === 'ref' && MKDTEMP_CALLS.test(callee.path)) {
        const arg = children(n, 'arguments')[0];
        const prefix = arg === undefined ? undefined : foldPathExpression(ev, arg, depth + 1);
        return `${prefix ?? UNKNOWN_PART}${NEW_FOLDER_PART}`;
      }
      if (callee?.k !== 'ref' || !PATH_CALLS.test(callee.path)) return undefined;
      const parts = children(n, 'arguments').map((a) => (a.type === 'SpreadElement' ? undefined : foldPathExpression(ev, a, depth + 1)));
      if (parts.every((p) => p === undefined)) return undefined;
      const resolve = callee.path.includes('.resolve');
      let out: string[] = [];
      for (const p of parts) {
        const part = (p ?? UNKNOWN_PART).replace(/\\/g, '/');
        // resolve() restarts at an absolute part (a home or variable root is absolute too).
        if (resolve && (part.startsWith('/') || part === '~' || part.startsWith('~/') || part.startsWith('$'))) out = [part];
        else out.push(part);
      }
      return normalise(out.join('/'));
    }
    default:
      return undefined;
  }
}

/** The path the arguments of a filesystem call name (its first argument, or `dir` then `name` for a two-part call). */
export function foldCallPath(ev: Evaluator, args: readonly AstNode[]): string {
  const p = args[0] === undefined ? undefined : foldPathExpression(ev, args[0]);
  return p === undefined ? '' : normalise(p);
}

function normalise(p: string): string {
  const slashed = p.replace(/\\/g, '/').replace(/\/{2,}/g, '/');
  const n = posix.normalize(slashed);
  return n === '.' ? n : n.replace(/\/$/, '');
}

export function isSensitiveWriteTarget(path: string): boolean {
  const fresh = path.lastIndexOf(NEW_FOLDER_PART);
  return PLACES.names(fresh < 0 ? path : path.slice(0, fresh + NEW_FOLDER_PART.length), WRITE_TARGETS);
}

/**
 * A link that makes one never-written folder stand for another of the same name (`wt/node_modules` → `repo/node_modules`,
 * how worktree tools share dependencies): what runs from it is what that folder holds, and every write into such a
 * folder is judged where it happens. A link to anything else plants its target there.
 */
export function linksLikeToLike(link: string, target: string): boolean {
  const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  return name(link) !== UNKNOWN_PART && name(link) === name(target) && isSensitiveWriteTarget(target);
}

export function isCredentialPath(path: string): boolean {
  return PLACES.secret(path);
}

const AGENT_DIR = `~/${BASE_IN_HOME.agent.path}`;
/** The project's pi folder (`.pi/settings.json`, SPEC §5.6). */
const PROJECT_PI = '.pi';
const PI_ALWAYS_FORBIDDEN = [`${AGENT_DIR}/extensions`, `~/${BASE_IN_HOME.warden.path}`, `${PROJECT_PI}/extensions`];

/**
 * A write pi-warden refuses at run time (SPEC §5.6: pi's settings, logins and state under the agent folder or the
 * project's `.pi`) but that is how extensions keep settings, logs or a provider login: a compatibility fact, not evidence of malice. Writing another
 * extension's code (`~/.pi/agent/extensions`) or pi-warden's store stays persistence.
 */
export function isPiAgentWrite(written: string): boolean {
  let path = written.replace(new RegExp(`^\\$${BASE_IN_HOME.agent.variable}(?=/|$)`), AGENT_DIR);
  // A root the scanner cannot compute (pi's getAgentDir(), a variable) followed by `.pi/…` is pi's folder all the same.
  const below = /^(?:…|\$[A-Za-z_]\w*)(?:\/…)*\/(\.pi(?:\/.*)?)$/.exec(path);
  if (below !== null) {
    const agent = BASE_IN_HOME.agent.path;
    // `.pi/agents` (a project folder) is not below `.pi/agent`: the prefix must end at a segment.
    path = below[1] === agent || below[1]!.startsWith(`${agent}/`) ? `~/${below[1]!}` : below[1]!;
  }
  if (![AGENT_DIR, PROJECT_PI].some((dir) => path === dir || path.startsWith(`${dir}/`))) return false;
  if (PI_ALWAYS_FORBIDDEN.some((p) => path === p || path.startsWith(`${p}/`))) return false;
  return !path.split('/').includes('..');
}
