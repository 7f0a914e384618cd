/** GUEST CODE. What the host told the sandbox about its world at start (cwd, home, platform), as plain data. */
export interface Boot {
  cwd: string;
  home: string;
  tmpdir: string;
  platform: string;
  arch: string;
  nodeVersion: string;
  extensionPath: string;
  username: string;
  /** pi's built-in tool descriptions when the host knows them (the bridge into real pi does). */
  builtinTools?: Record<string, { label: string; description: string; parameters: unknown }>;
}

export const boot: Boot = {
  cwd: '/',
  home: '/',
  tmpdir: '/tmp',
  platform: 'linux',
  arch: 'x64',
  nodeVersion: 'v24.0.0',
  extensionPath: '/extension.js',
  username: 'user',
};

let cwd = '/';

export function setBoot(b: Partial<Boot>): void {
  Object.assign(boot, b);
  cwd = boot.cwd;
}

export function currentCwd(): string {
  return cwd;
}

export function changeCwd(dir: string): void {
  cwd = dir;
}
