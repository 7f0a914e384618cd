/**
 * Filesystem scope (SPEC §5.5, §5.6). Every `fs.*` hostcall names one or two paths; each is resolved through
 * `..` and symlinks (a missing tail is resolved as far as it exists, dangling links followed by hand) and then
 * checked, both as written and as resolved:
 *
 * 1. pi-warden's own store and keys: never (an extension's data folder, kept below them, aside);
 * 2. writes to never-written places (src/policy/places.ts, placed by src/mediation/fs/paths.ts): never, whatever the grants;
 *    nor writes that make or arm a git directory anywhere, or whose content git would obey (a `gitdir:` pointer,
 *    configuration that runs a program; src/mediation/fs/git.ts);
 * 3. credential stores (`~/.ssh`, `~/.aws`, `auth.json`, `.env` outside the project, git's object store and index,
 *    a hard link to any of their files, ...): only with a grant that names the store or something inside it (a
 *    grant of `~` does not open `~/.ssh`); writes to what other tools run by themselves (`.vscode/tasks.json`,
 *    `.husky/`): only with a write grant naming it;
 * 4. otherwise the path must lie in the project root, the extension's data folder, its own package folder
 *    (reads only) or a path granted in `extensionPolicy.overrides.<id>.fs.read|write` (write implies read).
 *
 * The check here is the first of two: the operations (src/mediation/fs/operations.ts) resolve again and verify the object they
 * actually opened, so a symlink swapped in between cannot redirect the access.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { addReason, type DispatchContext, type StageOutcome, type SyncStage } from '../../dispatch/index.ts';
import { decisionError, WardenError } from '../../errors.ts';
import type { AlertSink, Severity } from '../../evidence/index.ts';
import { isInside } from '../../paths.ts';
import { gitContentProblem, isGitDir, parseGitConfig } from './git.ts';
import { dataFolder, PathClassifier, type FsLayout } from './paths.ts';

export type FsAccess = 'read' | 'write';

export interface FsGrant {
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/** Why a path is refused; every refusal also records `fs_scope`, so one code finds them all. */
export const FS_SCOPE_REASONS = [
  'fs_scope',
  'fs_out_of_scope',
  'fs_sensitive_path',
  'fs_protected_path',
  'fs_warden_private',
  'fs_protected_descendant',
  'fs_auto_run',
  'fs_git_layout',
  'fs_git_content',
  'fs_setuid_mode',
  'fs_unresolvable',
] as const;
export type FsScopeReason = (typeof FS_SCOPE_REASONS)[number];
/** What a single problem is: any code but the `fs_scope` mark. */
export type FsReason = Exclude<FsScopeReason, 'fs_scope'>;
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    fsScope: FsScopeReason;
  }
}

export interface FsProblem {
  readonly reason: FsReason;
  readonly path: string;
  readonly detail: string;
  /**
   * The list entry that matched (credential stores, never-written places), as the list names it, with the symlink
   * it was reached through: `~/.ssh (symlink /home/u/.ssh → /home/u/dotfiles/ssh)`, `$GNUPGHOME`.
   */
  readonly entry?: string;
}

export interface FsScopeOptions {
  readonly layout: FsLayout;
  /** Per extension id: granted paths (absolute, `~` already expanded). */
  readonly grants?: ReadonlyMap<string, FsGrant>;
  /** Per extension id: its own package folder, readable. */
  readonly extensionRoots?: ReadonlyMap<string, string>;
  /**
   * The environment whose variables move the lists' entries (XDG_CONFIG_HOME, GNUPGHOME, KUBECONFIG, PATH, ...;
   * src/mediation/fs/paths.ts). Default: this process's.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const MAX_LINKS = 40;

function errno(err: unknown): string | undefined {
  return err !== null && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/**
 * Where the file system will be looked at for a path: the identity, or (checking a move before it happens) a map
 * from a path as it will be after the move to the path that holds it now, `undefined` for a path that will be gone.
 */
export type PathView = (path: string) => string | undefined;

function viewed(view: PathView | undefined, path: string): string {
  if (view === undefined) return path;
  const now = view(path);
  if (now === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return now;
}

/**
 * `realpath` that also resolves paths whose tail does not exist yet (the part that exists is resolved, dangling
 * symlinks are followed by reading them). With `followFinal` false the last component is kept as is (lstat,
 * unlink, rename, symlink creation act on the link itself). With `view`, the walk sees the file system as it will
 * be after a move (see PathView). Throws WardenError `fs_unresolvable` on loops or unreadable components.
 */
export function resolveReal(abs: string, followFinal: boolean, view?: PathView): string {
  const last = abs.slice(abs.lastIndexOf(sep) + 1);
  if (!followFinal && last !== '..' && last !== '.' && last !== '') {
    // The parent as written (`..` inside it is resolved after the links before it, as the kernel does).
    const parent = abs.slice(0, abs.lastIndexOf(sep)) || sep;
    if (parent === abs) return abs;
    return join(resolveReal(parent, true, view), last);
  }
  if (view === undefined) {
    try {
      return realpathSync.native(abs);
    } catch (err) {
      const code = errno(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw unresolvable(abs, code);
    }
  }
  let parts = abs.split(sep).filter((p) => p !== '');
  let cur: string = sep;
  let links = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    // `.` and `..` are taken where the walk is, after the links before them: never collapsed as text.
    if (part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(viewed(view, next)).isSymbolicLink();
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const rest = parts.slice(i + 1);
        // `..` below a folder that does not exist yet cannot be taken as text: once the folder is made (as a link,
        // say), the kernel takes `..` where it leads. A link target `new/up/../../x` would change meaning later.
        if (rest.includes('..'))
          throw new WardenError('denied', `cannot resolve ${abs}: \`..\` below ${next}, which does not exist; refused`, {
            reasonCodes: ['fs_unresolvable'],
          });
        return join(next, ...rest);
      }
      throw unresolvable(abs, code);
    }
    if (!isLink) {
      cur = next;
      continue;
    }
    if (++links > MAX_LINKS) throw unresolvable(abs, 'ELOOP');
    let target: string;
    try {
      target = readlinkSync(viewed(view, next));
    } catch (err) {
      throw unresolvable(abs, errno(err));
    }
    // The link's target components replace it, relative to the folder holding the link (absolute: from /).
    if (isAbsolute(target)) cur = sep;
    parts = [...target.split(sep).filter((p) => p !== ''), ...parts.slice(i + 1)];
    i = -1;
  }
  return cur;
}

function unresolvable(path: string, code: string | undefined): WardenError {
  return new WardenError('denied', `cannot resolve ${path} (${code ?? 'error'}); refused`, { reasonCodes: ['fs_unresolvable'] });
}

function realOrSelf(path: string): string {
  try {
    return resolveReal(path, true);
  } catch {
    return path;
  }
}

/** How much of a file is judged as git would read it (a config larger than this is refused only if its start is one). */
const MAX_CONTENT = 16 * 1024 * 1024;

/** The first MAX_CONTENT + 1 bytes of a regular file, or undefined (missing, not a regular file, unreadable). */
function head(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, MAX_CONTENT) + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, got);
    return buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

interface ResolvedGrant {
  readonly forms: readonly string[];
}

export class FsScope {
  readonly classifier: PathClassifier;
  readonly layout: FsLayout;
  readonly #grants = new Map<string, { read: ResolvedGrant[]; write: ResolvedGrant[] }>();
  readonly #roots: ReadonlyMap<string, string>;

  constructor(o: FsScopeOptions) {
    const l = o.layout;
    this.layout = {
      projectRoot: realOrSelf(l.projectRoot),
      home: realOrSelf(l.home),
      agentDir: realOrSelf(l.agentDir),
      wardenHome: realOrSelf(l.wardenHome),
      dataRoot: realOrSelf(l.dataRoot),
    };
    // The lists are resolved like the checked paths, so a stow-managed ~/.bashrc is protected where it really is.
    this.classifier = new PathClassifier(this.layout, { resolve: (p) => resolveReal(p, true), env: o.env ?? process.env });
    const forms = (p: string): ResolvedGrant => ({ forms: [...new Set([resolve(p), realOrSelf(resolve(p))])] });
    for (const [id, g] of o.grants ?? []) {
      const write = g.write.map(forms);
      this.#grants.set(id, { read: [...g.read.map(forms), ...write], write });
    }
    this.#roots = new Map([...(o.extensionRoots ?? [])].map(([id, p]) => [id, realOrSelf(p)]));
  }

  dataFolder(extensionId: string): string {
    return dataFolder(this.layout.dataRoot, extensionId);
  }

  /** The paths granted to an extension (as written, and where they really are), for the OS sandbox's mounts. */
  grantsOf(extensionId: string): FsGrant {
    const g = this.#grants.get(extensionId);
    return { read: g?.read.flatMap((r) => r.forms) ?? [], write: g?.write.flatMap((r) => r.forms) ?? [] };
  }

  /** An extension's own package folder (readable), if known. */
  extensionRoot(extensionId: string): string | undefined {
    return this.#roots.get(extensionId);
  }

  /** Absolute form of a hostcall path (relative ones are taken from the project root). */
  absolute(path: string): string {
    // Not `path.resolve`: collapsing `x/link/..` as text would name a different place than the kernel reaches.
    return isAbsolute(path) ? path : `${this.layout.projectRoot}${sep}${path}`;
  }

  /**
   * Checks one path. Returns the resolved path to act on, or the problem. `followFinal` says whether the access
   * follows a symlink in the last component; `view`: judge it as the file system will be after a move (PathView).
   */
  check(extensionId: string, path: string, access: FsAccess, followFinal: boolean, view?: PathView): { real: string } | FsProblem {
    const abs = this.absolute(path);
    let real: string;
    try {
      real = resolveReal(abs, followFinal, view);
    } catch (err) {
      return { reason: 'fs_unresolvable', path: abs, detail: err instanceof Error ? err.message : String(err) };
    }
    // The written form is checked too (with `..` taken textually) for the never-writable and credential lists.
    const problem = this.checkResolved(extensionId, resolve(abs), real, access);
    if (problem !== undefined) return problem;
    if (access !== 'read') return { real };
    let st;
    try {
      st = statSync(real, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    return (st === undefined ? undefined : this.checkIdentity(extensionId, abs, st, access)) ?? { real };
  }

  /**
   * The hard-link rule for reads (issue 17 item 5): a file with other names whose (device, inode) is a credential
   * store's file is read only as that store would be, with a grant naming the store. Writes need no lookup: the
   * operations refuse to change any file with other names (its other names may be anywhere). `st`: a stat of the
   * very file about to be read (the operations pass the fstat of the descriptor they opened).
   */
  checkIdentity(
    extensionId: string,
    shown: string,
    st: Parameters<PathClassifier['hardLinkOf']>[0],
    access: FsAccess,
  ): FsProblem | undefined {
    if (access !== 'read') return undefined;
    const hit = this.classifier.hardLinkOf(st);
    if (hit === undefined || !hit.place.secret) return undefined;
    const grants = this.#grants.get(extensionId)?.read ?? [];
    if (grants.some((g) => g.forms.some((f) => isInside(f, hit.file) && isInside(hit.place.path, f)))) return undefined;
    return {
      reason: 'fs_sensitive_path',
      path: hit.file,
      entry: `${hit.place.entry} (hard link: ${shown} is the same file as ${hit.file})`,
      detail: `${shown} is another name (a hard link) of a file in a credential store; it needs extensionPolicy.overrides.${extensionId}.fs.read to name the store`,
    };
  }

  /** The checks of `check` on an already resolved path (the operations call this again on what they opened). */
  checkResolved(extensionId: string, abs: string, real: string, access: FsAccess): FsProblem | undefined {
    const data = this.dataFolder(extensionId);
    const grants = this.#grants.get(extensionId)?.[access] ?? [];
    // The extension's message names the path as it wrote it: where a symlink leads is the operator's to see (the
    // problem's `path`, in the alert), not a way for the extension to map places outside its scope.
    const shown = abs === real ? abs : `${abs} (through a symlink)`;
    for (const p of abs === real ? [real] : [abs, real]) {
      const v = this.classifier.classify(p, data);
      if (v.cls === 'warden_private') {
        return { reason: 'fs_warden_private', path: p, detail: `${shown} is pi-warden's store and keys; no extension may touch it` };
      }
      if (access === 'write') {
        const hit = this.classifier.protectedMatch(p, data);
        if (hit !== undefined)
          return {
            reason: 'fs_protected_path',
            path: p,
            entry: hit.entry,
            detail: `${shown} can never be written by an extension: ${hit.why}`,
          };
        const git = this.classifier.gitLayoutMatch(p);
        if (git !== undefined)
          return {
            reason: 'fs_git_layout',
            path: p,
            entry: git.entry,
            detail: `${shown} can never be written by an extension: ${git.why}; git would run what such a folder configures`,
          };
        const auto = this.classifier.autoRunMatch(p);
        if (auto !== undefined && !grants.some((g) => g.forms.some((f) => isInside(f, p) && isInside(auto.root, f))))
          return {
            reason: 'fs_auto_run',
            path: p,
            entry: auto.entry,
            detail: `${shown} is run by other tools by themselves (${auto.entry}); writing it needs extensionPolicy.overrides.${extensionId}.fs.write to name ${auto.root}`,
          };
      }
      if (v.cls === 'sensitive') {
        const root = v.root!;
        const named = grants.some((g) => g.forms.some((f) => isInside(f, p) && isInside(root, f)));
        if (!named) {
          return {
            reason: 'fs_sensitive_path',
            path: p,
            entry: v.described ?? root,
            detail: `${shown} is ${v.what ?? 'a credential store'}${abs === real ? ` (${v.entry ?? root})` : ''}; it needs extensionPolicy.overrides.${extensionId}.fs.${access} to name it`,
          };
        }
      }
    }
    const { projectRoot } = this.layout;
    const root = this.#roots.get(extensionId);
    if (isInside(projectRoot, real) || isInside(data, real)) return undefined;
    if (access === 'read' && root !== undefined && isInside(root, real)) return undefined;
    if (grants.some((g) => g.forms.some((f) => isInside(f, real)))) return undefined;
    return {
      reason: 'fs_out_of_scope',
      path: real,
      detail: `${shown} is outside the project (${projectRoot}) and the extension's data folder; grant it in extensionPolicy.overrides.${extensionId}.fs.${access}`,
    };
  }

  /**
   * The symlink rule (SPEC §5.6): a link at `place` pointing at `target` must lead where the extension could write,
   * because pi's own tools, outside the sandbox, write through links later. Relative targets are taken from the
   * folder `place` is in, with `..` after links (as the kernel will). `view`: judge a link about to be moved there.
   */
  checkLinkAt(extensionId: string, place: string, target: string, view?: PathView): FsProblem | undefined {
    const r = this.check(extensionId, isAbsolute(target) ? target : `${dirname(place)}${sep}${target}`, 'write', true, view);
    return 'reason' in r ? { ...r, detail: `symlink target: ${r.detail}` } : undefined;
  }

  /** Every problem of one `fs.*` call (empty: allowed). */
  checkCall(extensionId: string, method: string, params: Readonly<Record<string, unknown>>): FsProblem[] {
    const problems: FsProblem[] = [];
    const one = (key: string, access: FsAccess, followFinal: boolean): string | undefined => {
      const value = params[key];
      if (typeof value !== 'string') return undefined;
      const r = this.check(extensionId, value, access, followFinal);
      if ('reason' in r) {
        problems.push(r);
        return undefined;
      }
      return r.real;
    };
    const setuid = (mode: unknown) => {
      if (typeof mode === 'number' && (mode & 0o6000) !== 0) {
        problems.push({ reason: 'fs_setuid_mode', path: String(params.path), detail: `mode ${mode.toString(8)} sets setuid/setgid bits` });
      }
    };
    const content = (real: string, bytes: Buffer) => {
      // Past MAX_CONTENT, a start that parses as git configuration is refused unjudged (fails closed).
      const why =
        bytes.length > MAX_CONTENT
          ? parseGitConfig(bytes.subarray(0, MAX_CONTENT).toString('utf8')) === undefined
            ? gitContentProblem(bytes.subarray(0, 64).toString('utf8'))
            : `git configuration over ${MAX_CONTENT} bytes, too large to judge`
          : gitContentProblem(bytes.toString('utf8'));
      if (why !== undefined)
        problems.push({
          reason: 'fs_git_content',
          path: real,
          entry: 'content git obeys (a gitdir: pointer, git configuration running a program)',
          detail: `${real} would hold ${why}; refused in any file`,
        });
    };
    const noProtectedInside = (real: string | undefined) => {
      if (real === undefined) return;
      const inside = this.classifier.protectedInside(real, this.dataFolder(extensionId));
      if (inside !== undefined)
        problems.push({
          reason: 'fs_protected_descendant',
          path: real,
          detail: `${real} contains ${inside}, which can never be changed by an extension`,
        });
      // Moving or deleting a folder that holds a credential store moves or deletes the store: not through a broad grant.
      const store = this.classifier.sensitiveInside(real);
      if (store !== undefined)
        problems.push({
          reason: 'fs_sensitive_path',
          path: real,
          detail: `${real} contains the credential store ${store}; moving or deleting it is refused`,
        });
    };
    switch (method) {
      case 'fs.read':
      case 'fs.list':
      case 'fs.exists':
      case 'fs.realpath':
        one('path', 'read', true);
        break;
      case 'fs.stat':
        one('path', 'read', params.followSymlinks !== false);
        break;
      case 'fs.write': {
        const real = one('path', 'write', true);
        setuid(params.mode);
        if (real !== undefined && typeof params.data === 'string') {
          const data = Buffer.from(params.data, params.encoding === 'base64' ? 'base64' : 'utf8');
          // An append is judged as the file it leaves: `[core]` first and `fsmonitor = …` later make one config.
          content(real, params.append === true ? Buffer.concat([head(real) ?? Buffer.alloc(0), data]) : data);
        }
        break;
      }
      case 'fs.mkdir':
        one('path', 'write', false);
        setuid(params.mode);
        break;
      case 'fs.mkdtemp':
        one('prefix', 'write', false);
        break;
      case 'fs.chmod':
        one('path', 'write', true);
        setuid(params.mode);
        break;
      case 'fs.delete':
        noProtectedInside(one('path', 'write', false));
        break;
      case 'fs.rename': {
        const from = one('from', 'write', false);
        // A git directory made elsewhere is one wherever it lands (one deeper is refused by the operation's walk: every
        // entry inside a git directory is never written, so never moved).
        if (from !== undefined && isGitDir(from) && isDir(from))
          problems.push({
            reason: 'fs_git_layout',
            path: from,
            entry: 'a git directory layout (HEAD, objects/, refs/, .git)',
            detail: `${from} is laid out as a git directory; moving it is refused`,
          });
        noProtectedInside(from);
        // The destination too: renaming onto an empty or missing ~/.config or ~/.ssh would plant what lies below.
        noProtectedInside(one('to', 'write', false));
        break;
      }
      case 'fs.copy': {
        const from = one('from', 'read', true);
        const to = one('to', 'write', true);
        const text = from === undefined || to === undefined ? undefined : head(from);
        if (text !== undefined && to !== undefined) content(to, text);
        break;
      }
      case 'fs.symlink': {
        const link = one('path', 'write', false);
        if (typeof params.target === 'string' && link !== undefined) {
          const problem = this.checkLinkAt(extensionId, link, params.target);
          if (problem !== undefined) problems.push(problem);
        }
        break;
      }
      default:
        if (method.startsWith('fs.'))
          problems.push({ reason: 'fs_unresolvable', path: '', detail: `${method} has no filesystem scope rule; refused` });
    }
    return problems;
  }
}

const SEVERITY: Record<FsReason, Severity> = {
  fs_warden_private: 'critical',
  fs_protected_path: 'high',
  fs_protected_descendant: 'high',
  fs_auto_run: 'high',
  fs_git_layout: 'high',
  fs_git_content: 'high',
  fs_sensitive_path: 'high',
  fs_setuid_mode: 'high',
  fs_out_of_scope: 'medium',
  fs_unresolvable: 'medium',
};
const RANK: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export interface FsScopeStageOptions {
  readonly scope: FsScope;
  readonly alerts?: AlertSink | undefined;
}

/** The mediation stage for `fs.*` hostcalls: refuses with every problem named, raises a policy_violation alert. */
export function createFsScopeStage(o: FsScopeStageOptions): SyncStage {
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      if (!ctx.method.startsWith('fs.')) return undefined;
      const problems = o.scope.checkCall(ctx.extensionId, ctx.method, ctx.params);
      if (problems.length === 0) return undefined;
      const reasons = [...new Set(problems.map((p) => p.reason))];
      const severity = reasons.map((r) => SEVERITY[r]).reduce((a, b) => (RANK.indexOf(b) > RANK.indexOf(a) ? b : a), 'info' as Severity);
      try {
        o.alerts?.raise({
          ts_ms: ctx.startedMs,
          extension_id: ctx.extensionId,
          category: 'policy_violation',
          severity,
          capability: ctx.capability ?? null,
          method: ctx.method,
          call_id: ctx.callId,
          summary:
            `${ctx.extensionId} ${ctx.method} refused by filesystem scope: ${problems.map((p) => `${p.reason.replace(/^fs_/, '').replace(/_/g, ' ')} ${p.path}`).join('; ')}`.slice(
              0,
              500,
            ),
          reason_codes: ['fs_scope', ...reasons],
          remediation:
            reasons.includes('fs_out_of_scope') && reasons.length === 1
              ? `If the extension needs this path, grant it in extensionPolicy.overrides.${ctx.extensionId}.fs; otherwise review the extension (runbook INC-2)`
              : 'Review the extension (`pi-warden scan`); kill it if the access was hostile (`pi-warden trust kill`); runbook INC-2',
        });
      } catch {
        // the ledger entry carries the decision
      }
      for (const r of reasons) addReason(ctx, r);
      return decisionError('denied', `${ctx.method}: refused by filesystem scope: ${problems.map((p) => p.detail).join('; ')}`, {
        reasonCodes: ['fs_scope', ...reasons],
      });
    },
  };
}
