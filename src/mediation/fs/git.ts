/**
 * git directories as the filesystem scope sees them (issue 16 items 3 and 4): which folders git itself would take
 * for a git directory, which reads reach its object store and index (zlib and packed copies of every committed or
 * staged file), which writes would make or arm a git directory anywhere, and which contents git would obey as a
 * `gitdir:` pointer or as configuration that runs a program. The names and keys are the sensitive-places table's
 * (src/policy/places.ts); how they are found on disk and in written bytes is here.
 */
import { lstatSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { pathKey } from '../../paths.ts';
import {
  GIT_DIR_MARKERS,
  GIT_DIR_NAMES,
  GIT_PROGRAM_KEYS,
  GITDIR_FILE_PREFIX,
  SENSITIVE_PLACES,
  type SensitivePlace,
} from '../../policy/index.ts';

const exists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

const HEAD = pathKey(GIT_DIR_MARKERS.head);
const OTHERS = GIT_DIR_MARKERS.others.map(pathKey);
const NAMES = new Set(GIT_DIR_NAMES.map(pathKey));
const DOT_GIT = pathKey('.git');

/** Folder `dir` holds a git directory's `HEAD` and one of its other markers: git's discovery takes it for one. */
function hasGitLayout(dir: string): boolean {
  return exists(join(dir, GIT_DIR_MARKERS.head)) && GIT_DIR_MARKERS.others.some((n) => exists(join(dir, n)));
}

/** `dir` is a git directory: named `.git`, or laid out as one (a bare repository, a submodule's or worktree's git dir). */
export function isGitDir(dir: string): boolean {
  return pathKey(basename(dir)) === DOT_GIT || hasGitLayout(dir);
}

const GIT_PLACES: readonly SensitivePlace[] = SENSITIVE_PLACES.filter((e) => e.base === 'git');

/** One component against an entry's name: equal, or (a trailing `*`) starting with the rest. */
const nameMatches = (have: string, want: string): boolean =>
  want.endsWith('*') ? have.startsWith(want.slice(0, -1)) && have.length >= want.length : have === want;

/**
 * The git directory and table entry when `path` (absolute, resolved) is or lies inside a git directory's object
 * store or index (`.git/objects/…`, `repo.git/objects/pack/…`, `.git/worktrees/w/index`), or undefined. Only a
 * component named like an entry costs a look at the disk.
 */
export function gitInternals(path: string): { readonly gitDir: string; readonly place: SensitivePlace } | undefined {
  const parts = path.split(sep);
  for (let i = 1; i < parts.length; i++) {
    const name = pathKey(parts[i]!);
    for (const place of GIT_PLACES) {
      if (place.holds === 'file' && i !== parts.length - 1) continue;
      if (!nameMatches(name, pathKey(place.path))) continue;
      const gitDir = parts.slice(0, i).join(sep) || sep;
      if (isGitDir(gitDir)) return { gitDir, place };
    }
  }
  return undefined;
}

/**
 * Why writing `path` (absolute, resolved; created or replaced, with any missing folders above it) would make or arm
 * a git directory, or undefined: a `.git` entry anywhere; anything inside a folder laid out as a git directory; a
 * `HEAD` into a folder holding `objects/`, `refs/` or `commondir`; a marker, `config`, `hooks`, ... into a folder
 * holding a `HEAD`. So no folder ever gets the keystone and a second marker from an extension's writes, and git's
 * discovery finds no repository the extension made (no `.git` component needed).
 */
export function gitLayoutWrite(path: string): string | undefined {
  if (pathKey(basename(path)) === DOT_GIT) return 'a `.git` entry (a git directory, or a `gitdir:` file pointing git elsewhere)';
  // The components this write creates, from the first missing one down (the last one always: it may be replaced).
  const created: string[] = [path];
  let up = dirname(path);
  while (up !== dirname(up) && !exists(up)) {
    created.push(up);
    up = dirname(up);
  }
  for (let dir = up; ; dir = dirname(dir)) {
    if (hasGitLayout(dir)) return `inside ${dir}, which is laid out as a git directory (HEAD with objects/, refs/ or commondir)`;
    if (dir === dirname(dir)) break;
  }
  for (const c of created) {
    const name = pathKey(basename(c));
    const parent = dirname(c);
    if (name === HEAD && OTHERS.some((o) => exists(join(parent, o))))
      return `a HEAD in ${parent}, which holds ${OTHERS.filter((o) => exists(join(parent, o))).join(', ')}: together a git directory`;
    if (NAMES.has(name) && exists(join(parent, GIT_DIR_MARKERS.head)))
      return `${basename(c)} in ${parent}, which holds a HEAD: together a git directory`;
  }
  return undefined;
}

/** A git config value as git reads it: quotes removed, `\\` escapes, a `#` or `;` outside quotes starts a comment. */
export function gitValue(raw: string): string {
  let out = '';
  let quoted = false;
  let pending = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += pending + (n === 'n' ? '\n' : n === 't' ? '\t' : n);
      pending = '';
    } else if (c === '"') {
      out += pending;
      pending = '';
      quoted = !quoted;
    } else if (!quoted && (c === '#' || c === ';')) {
      break;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (out !== '') pending += c; // inner spaces kept, trailing ones dropped
    } else {
      out += pending + c;
      pending = '';
    }
  }
  return out;
}

/**
 * The `section.subsection.key = value` pairs of `text` when all of it parses as git configuration (config.c's
 * grammar: section headers, keys with or without a value, comments, continuation lines), else undefined: git
 * refuses a file with a bad line, so prose that merely quotes a snippet is not configuration.
 */
export function parseGitConfig(text: string): Array<{ readonly key: string; readonly value: string }> | undefined {
  const out: Array<{ key: string; value: string }> = [];
  let section: string | undefined;
  // Line by line without splitting the whole text: most written files fail on their first line, and cheaply.
  let at = text.startsWith('\uFEFF') ? 1 : 0;
  const next = (): string | undefined => {
    if (at > text.length) return undefined;
    const end = text.indexOf('\n', at);
    let line = text.slice(at, end < 0 ? text.length : end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    at = end < 0 ? text.length + 1 : end + 1;
    return line;
  };
  for (let raw = next(); raw !== undefined; raw = next()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const h = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\\n]|\\.)*)")?\s*\]/.exec(line);
      if (h === null) return undefined;
      section = h[2] === undefined ? h[1]!.toLowerCase() : `${h[1]!.toLowerCase()}.${h[2].replace(/\\(.)/g, '$1')}`;
      line = line.slice(h[0].length).trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    }
    if (section === undefined) return undefined;
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$/.exec(line);
    if (kv === null) return undefined;
    let value = kv[2] ?? '';
    // A value continues on the next line after an odd number of trailing backslashes.
    for (let more: string | undefined; /(^|[^\\])(\\\\)*\\$/.test(value) && (more = next()) !== undefined;)
      value = value.slice(0, -1) + more;
    out.push({ key: `${section}.${kv[1]!.toLowerCase()}`, value: gitValue(value.trim()) });
  }
  return section === undefined ? undefined : out;
}

/** GIT_PROGRAM_KEYS by section (`core`, `diff`, ...): a pair is tried against its own section's entries only. */
const PROGRAM_KEYS = new Map<string, Array<{ readonly key: string; readonly value: string | undefined; readonly re: RegExp }>>();
for (const { key, value } of GIT_PROGRAM_KEYS) {
  const section = key.slice(0, key.indexOf('.')).toLowerCase();
  const re = new RegExp(
    `^${key
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.+')}$`,
    'i',
  );
  PROGRAM_KEYS.set(section, [...(PROGRAM_KEYS.get(section) ?? []), { key, value, re }]);
}

/**
 * Why git would obey `text` as written, or undefined: a `gitdir:` pointer (a `.git` file's content), or git
 * configuration setting a key whose value is a program git runs (GIT_PROGRAM_KEYS). Judged on content, whatever
 * the file is called: `git -c include.path=…`, `GIT_CONFIG_GLOBAL` and a later rename can each make any file one.
 */
export function gitContentProblem(text: string): string | undefined {
  if (
    text
      .replace(/^\uFEFF/, '')
      .trimStart()
      .toLowerCase()
      .startsWith(GITDIR_FILE_PREFIX)
  )
    return `content starting with \`${GITDIR_FILE_PREFIX}\` (a .git file pointing git at a git directory)`;
  const pairs = parseGitConfig(text);
  if (pairs === undefined) return undefined;
  for (const { key, value } of pairs) {
    const candidates = PROGRAM_KEYS.get(key.slice(0, key.indexOf('.'))) ?? [];
    const hit = candidates.find((k) => k.re.test(key) && (k.value === undefined || value.startsWith(k.value)));
    if (hit !== undefined)
      return `git configuration setting ${key} (${hit.key}${hit.value === undefined ? '' : ` = ${hit.value}…`}: git runs it)`;
  }
  return undefined;
}
