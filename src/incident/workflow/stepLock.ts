/**
 * One process at a time runs a given step of an incident. Two operators (or a retry while the first run still
 * works) would otherwise both export a bundle, both contain, and both write the step's ledger entry.
 *
 * The lock is a file `<home>/incidents/<id>/.<step>.lock` created exclusively, holding the owner's pid, host and
 * start time. A lock left by a process that is gone (a crash, a kill -9) is taken over when its owner ran on this
 * host and its pid no longer exists; a lock from another host is never taken over, since its pid means nothing here.
 */
import { mkdirSync, openSync, readFileSync, rmSync, closeSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WardenError } from '../../errors.ts';
import type { Step } from './phases.ts';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly started_ms: number;
}

export interface StepLock {
  release(): void;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.started_ms === 'number'
      ? { pid: v.pid, host: v.host, started_ms: v.started_ms }
      : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the step's lock or throws `incident_step_busy` naming who holds it. */
export function lockStep(dir: string, id: string, step: Step, now: number): StepLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `.${step}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(path);
      // A lock whose owner is gone from this host is a crash's leftover; an unreadable one is a write cut short.
      if (owner === undefined || (owner.host === hostname() && !alive(owner.pid))) {
        rmSync(path, { force: true });
        continue;
      }
      throw new WardenError(
        'incident_step_busy',
        `cannot ${step} ${id}: expected no other run of this step, found one running (pid ${owner.pid} on ${owner.host} since ${new Date(owner.started_ms).toISOString()}); wait for it to finish, or remove ${path} if that process is gone`,
      );
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), started_ms: now } satisfies LockOwner));
    } finally {
      closeSync(fd);
    }
    return { release: () => rmSync(path, { force: true }) };
  }
  throw new WardenError('incident_step_busy', `cannot ${step} ${id}: the lock ${path} keeps reappearing; another run is starting`);
}
