/**
 * What a confined child sees of the file system (SPEC §5.4–5.6): the fs scope's places, as mounts. One view,
 * two renderings: bubblewrap arguments on Linux (bwrap.ts) and a sandbox-exec profile on macOS (seatbelt.ts).
 *
 * - the system read-only, a private `/tmp`, a fresh `/proc` and a minimal `/dev`;
 * - writable: the project, the extension's data folder and the paths granted in `fs.write`;
 * - read-only over them: every never-written place inside a writable one (startup files, PATH folders, pi's own
 *   folders, and in any folder `.git/hooks`, `.git/config`, `node_modules`, `.envrc`, ...). One that does not exist
 *   yet at the top of a writable folder gets an empty placeholder, mounted read-only and removed afterwards;
 * - hidden: every credential store not granted by name, and pi-warden's store (the data folder inside it aside);
 * - the rest of home: read-only, as the system.
 *
 * `.git` itself (tool state) stays writable inside the project, its hooks and config aside: `git commit` writes
 * objects and refs, and what of `.git` runs later is the hooks and the config.
 */
import { lstatSync, readdirSync, realpathSync, type Dirent } from 'node:fs';
import { join, sep } from 'node:path';
import type { FsScope } from '../../mediation/index.ts';
import { SENSITIVE_PLACES, type SensitivePlace } from '../../policy/index.ts';
import { isInside } from '../../paths.ts';

/** A path mounted in the view, and whether it is a folder (a hidden folder is an empty tmpfs, a hidden file /dev/null). */
export interface ViewPath {
  readonly path: string;
  readonly folder: boolean;
}

export interface OsView {
  /** Mounted writable, in this order. */
  readonly writable: readonly string[];
  /** Readable paths outside the system view that a hidden place would otherwise cover (read grants, the extension's package). */
  readonly readable: readonly string[];
  /** Mounted read-only over the writable ones; `placeholder`: made empty for the child and removed afterwards. */
  readonly readOnly: ReadonlyArray<ViewPath & { readonly placeholder?: true }>;
  /** Covered: an empty folder or an empty file. */
  readonly hidden: readonly ViewPath[];
  /** `none`: no network at all; `proxy`: only through the egress proxy (the child's HTTP_PROXY). */
  readonly network: 'none' | 'proxy';
}

export interface ViewInput {
  readonly scope: FsScope;
  readonly extensionId: string;
  readonly network: 'none' | 'proxy';
}

/**
 * The table's `system` places (/proc, /sys, /dev) are not hidden: the child gets a fresh /proc of its own PID
 * namespace and a minimal /dev, and /sys stays read-only; what the fs scope confines there is the host's processes.
 */
const SYSTEM_PLACES: ReadonlySet<string> = new Set(SENSITIVE_PLACES.filter((e) => e.kind === 'system').map((e) => e.path));

/** How deep and how many entries the walk for never-written names inside a writable folder looks at. */
const WALK_DEPTH = 6;
const WALK_ENTRIES = 20_000;

function kindOf(path: string): 'folder' | 'file' | undefined {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return undefined;
    return st.isDirectory() ? 'folder' : 'file';
  } catch {
    return undefined;
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Whether `parts` (a path's components from a writable root) end with an `any` entry's components. */
function endsWith(parts: readonly string[], place: SensitivePlace): boolean {
  const want = place.path.split('/');
  if (want.length > parts.length) return false;
  const tail = parts.slice(parts.length - want.length);
  return want.every((w, i) => (w.endsWith('*') ? tail[i]!.startsWith(w.slice(0, -1)) : tail[i] === w));
}

/** The walk below the top of a writable folder, per folder, reused for WALK_REUSE_MS (it costs milliseconds in a real project). */
const walks = new Map<string, { readonly at: number; readonly found: ReadonlyArray<ViewPath> }>();
const WALK_REUSE_MS = 5000;

/** The never-written names below the top of `root` (within WALK_DEPTH and WALK_ENTRIES). */
function walkBelowTop(root: string, places: readonly SensitivePlace[], top: ReadonlySet<string>): ReadonlyArray<ViewPath> {
  const now = Date.now();
  const cached = walks.get(root);
  if (cached !== undefined && now - cached.at < WALK_REUSE_MS) return cached.found;
  const out: ViewPath[] = [];
  let budget = WALK_ENTRIES;
  const walk = (dir: string, rel: readonly string[]): void => {
    if (rel.length > WALK_DEPTH || budget <= 0) return;
    let ents: Dirent[];
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of ents) {
      if (--budget < 0) return;
      const parts = [...rel, d.name];
      const path = join(dir, d.name);
      const hit = places.find((p) => endsWith(parts, p) && (p.holds === 'file' ? !d.isDirectory() : d.isDirectory()));
      if (hit !== undefined) {
        if (!d.isSymbolicLink() && !top.has(path)) out.push({ path, folder: d.isDirectory() });
        continue;
      }
      if (d.isDirectory()) walk(path, parts);
    }
  };
  walk(root, []);
  if (walks.size > 64) walks.clear();
  walks.set(root, { at: now, found: out });
  return out;
}

/**
 * The never-written names inside one writable folder: at its top (and in a `.git` or `.pi` folder there) looked at
 * on every spawn, an empty placeholder holding each that does not exist yet, so a child cannot create `.envrc` or
 * `.git/hooks` either; below the top, those found by a walk (reused for a few seconds: a name that appears deeper
 * in the meantime is not covered until the next walk).
 */
function neverWrittenInside(root: string, places: readonly SensitivePlace[]): Array<ViewPath & { placeholder?: true }> {
  const out: Array<ViewPath & { placeholder?: true }> = [];
  const top = new Set<string>();
  for (const p of places) {
    if (p.path.includes('*')) continue;
    const path = join(root, p.path);
    top.add(path);
    if (isLink(path)) {
      // Written through, a link writes where it leads: that place is covered when it lies in a writable folder.
      const real = realOrUndefined(path);
      const kind = real === undefined ? undefined : kindOf(real);
      if (real !== undefined && kind !== undefined) out.push({ path: real, folder: kind === 'folder' });
      continue;
    }
    const kind = kindOf(path);
    if (kind !== undefined) {
      if ((kind === 'folder') === (p.holds === 'folder')) out.push({ path, folder: kind === 'folder' });
      continue;
    }
    const parent = p.path.includes('/') ? join(root, p.path.slice(0, p.path.lastIndexOf('/'))) : root;
    if (kindOf(parent) === 'folder') out.push({ path, folder: p.holds === 'folder', placeholder: true });
  }
  return [...out, ...walkBelowTop(root, places, top)];
}

/** The view of one extension's child processes. Reads the file system (what exists, what is a folder); no writes. */
export function osView(input: ViewInput): OsView {
  const { scope, extensionId } = input;
  const { layout } = scope;
  const lists = scope.classifier.lists();
  const data = scope.dataFolder(extensionId);
  const grants = scope.grantsOf(extensionId);
  const writable = [...new Set([layout.projectRoot, data, ...grants.write])].filter((p) => kindOf(p) !== undefined);
  const root = scope.extensionRoot(extensionId);
  const readable = [...new Set([...grants.read, ...(root === undefined ? [] : [root])])].filter((p) => kindOf(p) !== undefined);
  const inWritable = (p: string) => writable.some((w) => isInside(w, p));
  // A place holding the home or the project (`/root`, a system credential place, when the home is /root) is not
  // hidden whole; writable and readable paths inside a hidden one are mounted after it.
  const holdsNeeded = (p: string) => [layout.projectRoot, layout.home].some((n) => isInside(p, n));
  // As the fs scope has it: a grant of `~` does not open `~/.ssh`. A grant of the store itself shows it; one inside
  // it shows only what it names (mounted after the hidden stores).
  const named = (p: string) => [...grants.read, ...grants.write].some((g) => isInside(g, p) && isInside(p, g));

  const hidden: ViewPath[] = [];
  for (const place of lists.credential) {
    const kind = kindOf(place.path);
    if (kind === undefined || SYSTEM_PLACES.has(place.path) || named(place.path) || holdsNeeded(place.path)) continue;
    hidden.push({ path: place.path, folder: kind === 'folder' });
  }
  for (const p of lists.wardenPrivate) {
    const kind = kindOf(p);
    if (kind !== undefined && !isInside(p, layout.projectRoot)) hidden.push({ path: p, folder: kind === 'folder' });
  }

  const readOnly: Array<ViewPath & { placeholder?: true }> = [];
  for (const p of [...lists.piOwn, ...lists.neverWritten.map((x) => x.path)]) {
    const kind = kindOf(p);
    if (kind !== undefined && inWritable(p) && !isInside(data, p)) readOnly.push({ path: p, folder: kind === 'folder' });
  }
  // `.git` and `.pi` are tool state: the child's tools keep them (git commit); what in them runs later stays read-only.
  // What other tools run by themselves (`.envrc`, `.vscode/tasks.json`, `.husky/`) is read-only too unless a write
  // grant names it exactly (the fs scope's rule; a grant inside such a folder stays shadowed here: stricter).
  const anyPlaces = [...lists.anyNeverWritten.filter((p) => p.kind !== 'tool_state'), ...lists.anyGrantedWrite];
  const grantedExactly = (p: string) => grants.write.includes(p);
  for (const w of writable)
    if (w !== data && kindOf(w) === 'folder')
      readOnly.push(...neverWrittenInside(w, anyPlaces).filter((r) => inWritable(r.path) && !grantedExactly(r.path)));

  // Inside a hidden folder (an empty tmpfs of the child's) nothing more is mounted: it is hidden already.
  const covered = (p: string) => hidden.some((h) => h.folder && h.path !== p && isInside(h.path, p)) && !inWritable(p);
  const seen = new Set<string>(hidden.filter((h) => covered(h.path)).map((h) => h.path));
  for (const r of readOnly) if (covered(r.path)) seen.add(r.path);

  const unique = <T extends ViewPath>(xs: T[]): T[] => xs.filter((x) => !seen.has(x.path) && seen.add(x.path));
  return {
    writable,
    readable,
    readOnly: unique(readOnly).sort((a, b) => a.path.split(sep).length - b.path.split(sep).length),
    hidden: unique(hidden).sort((a, b) => a.path.split(sep).length - b.path.split(sep).length),
    network: input.network,
  };
}
