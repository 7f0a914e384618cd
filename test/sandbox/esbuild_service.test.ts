/**
 * esbuild's service process can die under the bundler (a panic on a build cancelled at the time limit was seen in a
 * full run). Its JS side never starts another one by itself, so without recovery every later bundle of the process —
 * every extension pi loads after it — failed with "The service was stopped".
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bundleEntry, clearBundleCache } from '../../src/sandbox/bundle.ts';

/** The esbuild service processes this process started. */
function esbuildChildren(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === 'esbuild')
    .map(([pid]) => Number(pid));
}

describe("esbuild's service dying under the bundler", () => {
  const root = mkdtempSync(join(tmpdir(), 'pi-warden-esbuild-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the next bundle starts a new service and succeeds', async () => {
    const write = (name: string) => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'index.ts'), `export default function (pi: any) { pi.on('x', () => '${name}'); }`);
      return join(dir, 'index.ts');
    };
    await bundleEntry(write('first'));
    const services = esbuildChildren();
    assert.ok(services.length > 0, 'an esbuild service runs');
    for (const pid of services) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    clearBundleCache();
    const b = await bundleEntry(write('second'));
    assert.match(b.code, /second/);
  });
});
