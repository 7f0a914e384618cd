/** The BootInfo of this process: what a sandbox may know about where it runs (no environment, no secrets). */
import { homedir, tmpdir, userInfo } from 'node:os';
import type { BootInfo } from './sandbox.ts';

export function hostBoot(cwd: string = process.cwd(), home: string = homedir()): BootInfo {
  let username = 'user';
  try {
    username = userInfo().username;
  } catch {
    // no passwd entry (containers): keep the placeholder
  }
  return { cwd, home, tmpdir: tmpdir(), platform: process.platform, arch: process.arch, nodeVersion: process.version, username };
}
