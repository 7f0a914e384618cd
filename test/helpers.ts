/** Shared fixtures: throw-away settings directories and hostcall builders. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import Value from 'typebox/value';
import { listMethods, METHOD_TABLE } from '../src/policy/methods.ts';
import { resolvePolicy, type ResolvedPolicy, type ResolveOptions } from '../src/policy/settings.ts';

export interface SettingsDirs {
  readonly root: string;
  readonly agentDir: string;
  readonly cwd: string;
  readonly userPath: string;
  readonly projectPath: string;
  readonly env: Record<string, string | undefined>;
}

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Writes user and/or project settings (objects are JSON-encoded, strings written verbatim). */
export function settingsDirs(files: { user?: unknown; project?: unknown } = {}, env: Record<string, string> = {}): SettingsDirs {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-test-'));
  roots.push(root);
  const agentDir = join(root, 'agent');
  const cwd = join(root, 'project');
  mkdirSync(agentDir, { recursive: true });
  mkdirSync(join(cwd, '.pi'), { recursive: true });
  const userPath = join(agentDir, 'settings.json');
  const projectPath = join(cwd, '.pi', 'settings.json');
  if (files.user !== undefined) writeFileSync(userPath, typeof files.user === 'string' ? files.user : JSON.stringify(files.user));
  if (files.project !== undefined)
    writeFileSync(projectPath, typeof files.project === 'string' ? files.project : JSON.stringify(files.project));
  return { root, agentDir, cwd, userPath, projectPath, env: { HOME: root, PI_CODING_AGENT_DIR: agentDir, ...env } };
}

export function resolveIn(dirs: SettingsDirs, options: Omit<ResolveOptions, 'env' | 'cwd'> = {}): ResolvedPolicy {
  return resolvePolicy({ ...options, env: dirs.env, cwd: dirs.cwd });
}

export function policyFor(
  files: { user?: unknown; project?: unknown } = {},
  env: Record<string, string> = {},
  cliProfile?: string,
): ResolvedPolicy {
  const dirs = settingsDirs(files, env);
  return resolveIn(dirs, cliProfile === undefined ? {} : { cliProfile });
}

/** Valid params for a method, generated from its schema. */
export function sampleParams(method: string): Record<string, unknown> {
  const spec = METHOD_TABLE.get(method);
  if (spec === undefined) throw new Error(`no method ${method}`);
  const value = Value.Create(spec.params) as Record<string, unknown>;
  if (method === 'tool') return { name: 'summarise', input: {} };
  return value;
}

export function hostcall(
  method: string,
  params: Record<string, unknown> = sampleParams(method),
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { call_id: `call-${method}`, method, params, ...extra };
}

export const ALL_METHODS = listMethods().map((m) => m.method);

/** Writes a file, making its folder first. */
export function put(path: string, content = 'x'): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/**
 * Waits until `ready()` holds, checking once per timer turn: a test synchronises on the state it needs (an
 * operation started, a prompt asked, a socket closed) instead of sleeping for a guessed number of milliseconds,
 * which a loaded machine outlasts. The watchdog only ends a test whose state never comes; it bounds nothing the
 * code under test does.
 */
export async function until(ready: () => boolean, what: string, watchdogMs = 30_000): Promise<void> {
  const giveUp = Date.now() + watchdogMs;
  while (!ready()) {
    if (Date.now() > giveUp) throw new Error(`waited ${watchdogMs} ms for ${what}; it never happened`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
