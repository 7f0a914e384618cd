/**
 * Streamed command output (`exec.read`) is scanned for held secrets like buffered output, across reads: a value
 * cut in two by the child's writes is never handed on in part, a value spanning two lines is found with the end
 * of the previous read, and a hit withholds the read, alerts and kills the child. The child here is a script of
 * reads (the order of chunks is what matters; the real child is in test/pi/streamed_exec.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/dispatcher.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

const SECRET = 'pk_live_51HxQe2StreamScanValue0987654321';
const TWO_LINES = 'first-half-of-a-key\nsecond-half-of-a-key';

type Chunk = { stdout?: string; stderr?: string; done?: boolean; code?: number };

/** A runtime whose `exec.read` answers `chunks` in turn; `killed` lists the handles `exec.kill` was called for. */
async function scripted(chunks: Chunk[]) {
  const home = tempHome();
  const killed: unknown[] = [];
  const read: Operation = () => {
    const c = chunks.shift() ?? { done: true, code: 0 };
    return Promise.resolve({ stdout: '', stderr: '', done: false, ...c });
  };
  const rt = await createRuntime({
    home,
    policy: policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } }),
    realFs: true,
    operations: new Map<string, Operation>([
      ['exec.read', read],
      ['exec.kill', (p) => (killed.push(p.handle), true)],
    ]),
    heldSecrets: [
      { name: 'PAYMENTS_API_KEY', value: SECRET },
      { name: 'PEM_KEY', value: TWO_LINES },
    ],
    parentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let n = 0;
  const next = () => rt.dispatcher.dispatch('reader', { call_id: `r${++n}`, method: 'exec.read', params: { handle: 'h1' } });
  return { home, rt, killed, next };
}

describe('streamed output is scanned across reads', () => {
  it('a value cut in two by the child’s writes: the first part is held back, the whole line withheld, the child killed', async () => {
    const half = SECRET.length / 2;
    const { home, rt, killed, next } = await scripted([
      { stdout: 'starting\n' },
      { stdout: `key=${SECRET.slice(0, half)}` },
      { stdout: `${SECRET.slice(half)}\nmore\n` },
    ]);
    const first = await next();
    assert.ok(first.ok && (first.value as Chunk).stdout === 'starting\n', JSON.stringify(first));
    const second = await next();
    assert.ok(second.ok && (second.value as Chunk).stdout === '', `the unfinished line waits: ${JSON.stringify(second)}`);
    const third = await next();
    assert.ok(!third.ok && third.error.code === 'denied' && third.error.reasonCodes.includes('secret_in_result'), JSON.stringify(third));
    assert.equal(JSON.stringify([first, second, third]).includes(SECRET.slice(0, half)), false);
    assert.deepEqual(killed, ['h1']);
    await rt.close();
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'secret_exposure' });
    assert.deepEqual(
      alerts.map((a) => a.method),
      ['exec.read'],
    );
    db.close();
  });

  it('a value spanning two lines is found with the end of the read before', async () => {
    const [one, two] = TWO_LINES.split('\n');
    const { rt, killed, next } = await scripted([{ stdout: `${one}\n` }, { stdout: `${two}\n` }]);
    assert.ok((await next()).ok, 'one line alone is not the value');
    const r = await next();
    assert.ok(!r.ok && r.error.reasonCodes.includes('secret_in_result'), JSON.stringify(r));
    assert.deepEqual(killed, ['h1']);
    await rt.close();
  });

  it('clean output passes intact: whole lines as they come, the rest at exit, stderr apart', async () => {
    const { rt, killed, next } = await scripted([
      { stdout: 'a', stderr: 'warn\n' },
      { stdout: 'b\nc' },
      { stdout: 'd', done: true, code: 3 },
    ]);
    const got: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await next();
      assert.ok(r.ok, JSON.stringify(r));
      got.push(r.value);
    }
    assert.deepEqual(got, [
      { stdout: '', stderr: 'warn\n', done: false },
      { stdout: 'ab\n', stderr: '', done: false },
      { stdout: 'cd', stderr: '', done: true, code: 3 },
    ]);
    assert.deepEqual(killed, []);
    await rt.close();
  });
});
