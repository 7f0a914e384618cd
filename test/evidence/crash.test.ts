/**
 * Crash safety (SPEC §6.1): a writer in a child process is killed with SIGKILL at random points, many times, on
 * the same store. After every kill the ledger verifies, and every entry a completed flush() reported is present.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempHome, verify } from './fixtures.ts';

const CHILD = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROUNDS = Number(process.env.PI_WARDEN_CRASH_ROUNDS ?? 12);

/** Kills the writer `afterMs` after it is ready, or after its first flush when `afterFlush` (so it has one to lose). */
function runAndKill(home: string, afterMs: number, afterFlush = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, home], { stdio: ['ignore', 'pipe', 'pipe'] });
    let flushed = 0;
    let buffer = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^flushed (\d+)$/.exec(line);
        if (m !== null) flushed = Number(m[1]);
        if ((afterFlush ? m !== null : line === 'ready') && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
      else resolve(flushed);
    });
  });
}

describe('crash safety', () => {
  it(`survives ${ROUNDS} SIGKILLs at random points: intact, nothing flushed is lost`, async () => {
    const home = tempHome();
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let highestFlushed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Odd rounds wait for a flush before the random delay starts: however slow the machine, something flushed is
      // then at stake (even rounds may die before any flush).
      const flushed = await runAndKill(home, 20 + Math.floor(random() * 250), round % 2 === 1);
      highestFlushed = Math.max(highestFlushed, flushed);
      const r = verify(home);
      assert.equal(r.classification, 'intact', `round ${round}: ${JSON.stringify(r.verification_errors.slice(0, 3))}`);
      assert.ok(r.tree_size >= highestFlushed, `round ${round}: tree size ${r.tree_size} < flushed ${highestFlushed}`);
    }
    assert.ok(highestFlushed > 0, 'the writer flushed something before being killed');
  });
});
