/**
 * A scratch pi world for the adoption tests: an agent dir and a project with real pi settings files and real
 * extensions (a local package with `pi.extensions`, auto-discovered top-level files in both scopes), and the three
 * pi versions' modules, imported from their own dist/ folders.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after } from 'node:test';
import { asPiModule, type PiModule } from '../../src/pi/piModule.ts';

const MODULES = resolve(import.meta.dirname, '..', '..', 'node_modules');

/** The pi versions the settings semantics are checked against, by their dist/index.js. */
export const PI_VERSIONS = {
  '1.6.0': join(MODULES, '@earendil-works', 'pi-coding-agent'),
  '1.5.2': join(MODULES, 'pi-coding-agent-1.5.2'),
  '0.73.1': join(MODULES, '@mariozechner', 'pi-coding-agent'),
} as const;
export type PiVersion = keyof typeof PI_VERSIONS;

export async function importPi(version: PiVersion): Promise<PiModule> {
  const url = pathToFileURL(join(PI_VERSIONS[version], 'dist', 'index.js')).href;
  return asPiModule(await import(url), url);
}

export interface PiWorld {
  readonly root: string;
  readonly agentDir: string;
  readonly cwd: string;
  readonly home: string;
  readonly userSettings: string;
  readonly projectSettings: string;
  /** The local package folder (configured in user `packages` as a relative path). */
  readonly packageDir: string;
  /** The auto-discovered user extension file and project extension file. */
  readonly userFile: string;
  readonly projectFile: string;
}

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A command-registering extension (needs `events`-free, capability-light pi API only). */
export const BENIGN = `export default function (pi) {\n  pi.registerCommand('hello', { description: 'says hello', handler: async () => {} });\n}\n`;
/** An extension the scan forbids (eval). */
export const FORBIDDEN = `export default function (pi) {\n  pi.registerCommand('run', { handler: async (args) => { eval(args); } });\n}\n`;

export function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** User settings text as a person would write it (4-space indent, trailing newline: not pi's own formatting). */
export const USER_SETTINGS_TEXT = `{\n    "defaultModel": "faux-1",\n    "packages": [\n        "../pkgs/greeter"\n    ]\n}\n`;

export function piWorld(options: { userSettings?: string; projectSettings?: string } = {}): PiWorld {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-adopt-'));
  roots.push(root);
  const agentDir = join(root, 'agent');
  const cwd = join(root, 'project');
  const home = join(root, 'warden');
  const packageDir = join(root, 'pkgs', 'greeter');
  write(
    join(packageDir, 'package.json'),
    JSON.stringify({ name: 'greeter', version: '1.0.0', pi: { extensions: ['./index.ts'] } }, null, 2),
  );
  write(join(packageDir, 'index.ts'), BENIGN);
  const userFile = join(agentDir, 'extensions', 'hello.ts');
  write(userFile, BENIGN);
  const projectFile = join(cwd, '.pi', 'extensions', 'proj.ts');
  write(projectFile, BENIGN);
  const userSettings = join(agentDir, 'settings.json');
  const projectSettings = join(cwd, '.pi', 'settings.json');
  write(userSettings, options.userSettings ?? USER_SETTINGS_TEXT);
  if (options.projectSettings !== undefined) write(projectSettings, options.projectSettings);
  mkdirSync(home, { recursive: true });
  return { root, agentDir, cwd, home, userSettings, projectSettings, packageDir, userFile, projectFile };
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
