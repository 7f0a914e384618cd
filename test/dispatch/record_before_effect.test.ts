/**
 * No effect runs unrecorded (SPEC §4.5, §6.1; issue 13 item 6): a recorder that reports a failure stops every call
 * before its first stage, and an allowed call's decision is admitted by the recorder before its operation is
 * called. With a real evidence writer whose store starts rejecting writes (as a full disk would) or that was
 * closed, a write through the confined fs operation or a sandboxed extension is refused, the file never appears,
 * and the ledger written before still verifies.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { createDispatcher, type Operation, type Prompter } from '../../src/dispatch/index.ts';
import { OUTCOME_REASON } from '../../src/evidence/entry.ts';
import { loadOrCreateKey } from '../../src/evidence/keys.ts';
import type { DecisionRecord, DecisionRecorder } from '../../src/evidence/sinks.ts';
import { verifyStore } from '../../src/evidence/verify.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { replayStore } from '../../src/replay/replay.ts';
import { createRuntime, type WardenRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { hostcall, policyFor } from '../helpers.ts';

const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-unrecorded-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));

const READ = hostcall('fs.read', { path: '/project/a.txt' });
const WRITE = hostcall('fs.write', { path: '/project/out.txt', data: 'x' });

/** A recorder that logs what it is asked, and fails where the test says. */
function spyRecorder(
  events: string[],
  o: { admitFails?: boolean; down?: boolean } = {},
): DecisionRecorder & { records: DecisionRecord[]; admitted: DecisionRecord[] } {
  const records: DecisionRecord[] = [];
  const admitted: DecisionRecord[] = [];
  return {
    records,
    admitted,
    failure: () => (o.down === true ? new Error('the store is read-only') : undefined),
    admit(entry: DecisionRecord): void {
      events.push(`admit ${entry.method} ${entry.decision}`);
      if (o.admitFails === true) throw new Error('disk full');
      admitted.push(entry);
    },
    record(entry: DecisionRecord): void {
      events.push(`record ${entry.method} ${entry.decision}`);
      records.push(entry);
    },
  };
}

function spyOperations(events: string[]): Map<string, Operation> {
  return new Map<string, Operation>([
    [
      'fs.read',
      () => {
        events.push('operation fs.read');
        return 'content';
      },
    ],
    [
      'fs.write',
      () => {
        events.push('operation fs.write');
        return null;
      },
    ],
  ]);
}

describe('dispatch admits the decision before the operation runs', () => {
  it('the decision is admitted before the operation and the outcome recorded after it, naming what was admitted', async () => {
    const events: string[] = [];
    const recorder = spyRecorder(events);
    const d = createDispatcher({ policy: policyFor().compiled, operations: spyOperations(events), recorder });
    const r = await d.dispatch('ext', READ);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(events, ['admit fs.read allow', 'operation fs.read', 'record fs.read allow']);
    assert.equal(recorder.records[0]?.admitted, recorder.admitted[0]);
    assert.equal(recorder.admitted[0]?.stage, null);
  });

  it('a recorder that does not take the decision stops the call before its operation (dispatch and dispatchSync)', async () => {
    const events: string[] = [];
    const d = createDispatcher({
      policy: policyFor().compiled,
      operations: spyOperations(events),
      recorder: spyRecorder(events, { admitFails: true }),
    });
    for (const r of [await d.dispatch('ext', WRITE), d.dispatchSync('ext', WRITE)]) {
      assert.ok(!r.ok, 'a call whose decision was not admitted must not succeed');
      assert.equal(r.error.code, 'internal');
      assert.ok(r.error.reasonCodes.includes('record_failed'), JSON.stringify(r.error.reasonCodes));
      assert.match(r.error.message, /evidence recorder cannot accept records \(disk full\); fs\.write was not run/);
    }
    assert.deepEqual(events, ['admit fs.write allow', 'admit fs.write allow'], 'the operation was never called');
  });

  it('a recorder that reports a failure stops the call before any stage: no prompt, no stage, no operation', async () => {
    const events: string[] = [];
    const d = createDispatcher({
      policy: policyFor({ user: { extensionPolicy: { profile: 'balanced' } } }).compiled,
      operations: new Map([
        ...spyOperations(events),
        [
          'ctx.ui.notify',
          () => {
            events.push('operation notify');
            return null;
          },
        ],
      ]),
      recorder: spyRecorder(events, { down: true }),
      prompter: {
        ask: async () => {
          events.push('prompted');
          return { decision: 'allow', scope: 'once' };
        },
      },
      stages: [
        {
          name: 'trust',
          run: () => {
            events.push('trust stage');
            return undefined;
          },
        },
      ],
    });
    const results = [
      await d.dispatch('ext', hostcall('ctx.ui.notify', { args: ['hi'] })),
      await d.dispatch('ext', WRITE),
      d.dispatchSync('ext', READ),
    ];
    for (const r of results) {
      assert.ok(!r.ok && r.error.code === 'internal' && r.error.reasonCodes.includes('record_failed'), JSON.stringify(r));
      assert.match(r.error.message, /the store is read-only/);
    }
    assert.deepEqual(events, []);
  });

  it('without a recorder that admits, calls run as before (observers see the final record only)', async () => {
    const events: string[] = [];
    const observer: DecisionRecorder = {
      record: (e) => {
        events.push(`record ${e.method} ${e.decision}`);
      },
    };
    const d = createDispatcher({ policy: policyFor().compiled, operations: spyOperations(events), recorder: observer });
    assert.ok((await d.dispatch('ext', READ)).ok);
    assert.deepEqual(events, ['operation fs.read', 'record fs.read allow']);
  });
});

// ---- the real evidence writer, the real confined fs operation, the real sandbox

const HOME = join(ROOT, 'home');
const PROJECT = join(ROOT, 'project');
mkdirSync(join(PROJECT, 'src'), { recursive: true });
writeFileSync(join(PROJECT, 'src', 'a.txt'), 'project file');

let homes = 0;
async function runtime(
  spy: string[],
  o: { profile?: string; operations?: Record<string, Operation>; prompter?: Prompter } = {},
): Promise<WardenRuntime> {
  const warden = join(ROOT, `warden-${++homes}`);
  mkdirSync(warden, { recursive: true });
  return createRuntime({
    home: warden,
    policy: policyFor({ user: { extensionPolicy: { profile: o.profile ?? 'permissive' } } }),
    heldSecrets: [],
    operations: new Map<string, Operation>([
      ...hostOperations(new HeadlessHost({ cwd: PROJECT, home: HOME })),
      [
        'log',
        () => {
          spy.push('log');
          return null;
        },
      ],
      ...Object.entries(o.operations ?? {}),
    ]),
    workspace: PROJECT,
    fsLayout: { home: HOME, agentDir: join(HOME, '.pi', 'agent') },
    realFs: true,
    prompter: o.prompter,
  });
}

/** The store starts rejecting ledger writes, as a full disk or a damaged page would; the entries stored stay as they are. */
function rejectLedgerWrites(home: string): void {
  const db = new DatabaseSync(join(home, 'warden.db'));
  db.exec(`CREATE TRIGGER full_insert BEFORE INSERT ON ledger_chunks BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
    CREATE TRIGGER full_update BEFORE UPDATE ON ledger_chunks BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
  db.close();
}

/** Records some decisions, then makes the writer fail for real: the next batch is rejected by the store. */
async function failedWriter(rt: WardenRuntime, home: string): Promise<number> {
  let n = 0;
  for (const path of ['src/a.txt', 'src/missing.txt'])
    await rt.dispatcher.dispatch('ext', { call_id: `before-${++n}`, method: 'fs.read', params: { path } });
  await rt.dispatcher.dispatch('ext', { call_id: 'denied', method: 'fs.read', params: { path: '/etc/passwd' } });
  const stored = (await rt.writer.flush()).treeSize;
  rejectLedgerWrites(home);
  await rt.dispatcher.dispatch('ext', {
    call_id: 'lost',
    method: 'log',
    params: { level: 'info', message: 'in the batch the store rejects' },
  });
  await assert.rejects(rt.writer.flush(), /database or disk is full/);
  assert.ok(rt.writer.failure() !== undefined, 'the writer knows it failed');
  return stored;
}

function verified(home: string, entries: number): void {
  const v = verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey });
  assert.equal(v.classification, 'intact', JSON.stringify(v.verification_errors));
  assert.equal(v.entries_checked, entries);
}

describe('a failed evidence writer runs no new effect', () => {
  it('a write through the confined fs operation is refused and the file never appears; the ledger before still verifies', async () => {
    const spy: string[] = [];
    const rt = await runtime(spy);
    const home = join(ROOT, `warden-${homes}`);
    const stored = await failedWriter(rt, home);
    spy.length = 0;
    const target = join(PROJECT, 'src', 'after-failure.txt');
    const w = await rt.dispatcher.dispatch('ext', { call_id: 'w', method: 'fs.write', params: { path: target, data: 'planted' } });
    assert.ok(!w.ok, 'a write after the writer failed must be refused');
    assert.equal(existsSync(target), false, 'the operation ran although its decision could not be recorded');
    assert.equal(w.error.code, 'internal');
    assert.ok(
      w.error.reasonCodes.includes('record_failed') && w.error.reasonCodes.includes('evidence_writer_failed'),
      JSON.stringify(w.error.reasonCodes),
    );
    assert.match(w.error.message, /database or disk is full/);
    const sync = rt.dispatcher.dispatchSync('ext', { call_id: 'ws', method: 'fs.write', params: { path: target, data: 'planted' } });
    assert.ok(!sync.ok && sync.error.code === 'internal');
    assert.equal(existsSync(target), false);
    const log = await rt.dispatcher.dispatch('ext', { call_id: 'l', method: 'log', params: { level: 'info', message: 'x' } });
    assert.ok(!log.ok && log.error.code === 'internal');
    assert.deepEqual(spy, [], 'no operation was called');
    await assert.rejects(rt.close(), /database or disk is full/);
    verified(home, stored);
  });

  it('a call after the writer was closed is refused before its operation (a spy operation)', async () => {
    const home = join(ROOT, `warden-${++homes}`);
    const writer = await EvidenceWriter.open(home);
    const events: string[] = [];
    const d = createDispatcher({ policy: policyFor().compiled, operations: spyOperations(events), recorder: writer, alerts: writer });
    assert.ok((await d.dispatch('ext', READ)).ok);
    await writer.close();
    const r = await d.dispatch('ext', WRITE);
    assert.deepEqual(events, ['operation fs.read'], 'the operation ran after the writer was closed');
    assert.ok(!r.ok && r.error.code === 'internal' && r.error.reasonCodes.includes('evidence_writer_closed'), JSON.stringify(r));
    verified(home, 1);
  });

  it('a sandboxed extension calling fs.writeFile after the writer failed gets an error and no file is written', async () => {
    const rt = await runtime([]);
    const home = join(ROOT, `warden-${homes}`);
    const dir = mkdtempSync(join(ROOT, 'ext-'));
    const file = join(dir, 'ext.ts');
    writeFileSync(
      file,
      `
      import { writeFileSync, promises } from 'node:fs';
      export default function (pi: any) {
        pi.on('write-now', async (p: any) => {
          const out: Record<string, string> = {};
          try { writeFileSync(p.sync, 'planted'); out.sync = 'written'; } catch (e: any) { out.sync = e.code + ' ' + e.wardenCode; }
          try { await promises.writeFile(p.async, 'planted'); out.async = 'written'; } catch (e: any) { out.async = e.code + ' ' + e.wardenCode; }
          return out;
        });
      }`,
    );
    const sandbox = await Sandbox.create({
      extensionId: 'guest',
      dispatcher: rt.dispatcher,
      boot: hostBoot(PROJECT, HOME),
      limits: { wallTimeMs: 10_000 },
    });
    try {
      await sandbox.load(await bundleEntry(file));
      const before = join(PROJECT, 'src', 'guest-before.txt');
      const [ok] = await sandbox.emit('write-now', { sync: before, async: `${before}.2` });
      assert.deepEqual(
        (ok?.results[0] as { value?: unknown } | undefined)?.value,
        { sync: 'written', async: 'written' },
        'writes work while the writer is healthy',
      );
      const stored = await failedWriter(rt, home);
      const sync = join(PROJECT, 'src', 'guest-sync.txt');
      const later = join(PROJECT, 'src', 'guest-async.txt');
      const [outcome] = await sandbox.emit('write-now', { sync, async: later });
      assert.deepEqual((outcome?.results[0] as { value?: unknown } | undefined)?.value, { sync: 'EIO internal', async: 'EIO internal' });
      assert.equal(existsSync(sync) || existsSync(later), false, 'no file may be written once the writer failed');
      await assert.rejects(rt.close());
      verified(home, stored);
    } finally {
      sandbox.stop();
    }
  });
});

describe('the ledger of an allowed call that then fails', () => {
  it('is the allow entry written before the operation and an outcome entry after it; replay skips the outcome', async () => {
    const rt = await runtime([]);
    const home = join(ROOT, `warden-${homes}`);
    const r = await rt.dispatcher.dispatch('ext', { call_id: 'gone', method: 'fs.read', params: { path: 'src/not-there.txt' } });
    assert.ok(!r.ok && r.error.code === 'io', JSON.stringify(r));
    assert.ok((await rt.dispatcher.dispatch('ext', { call_id: 'ok', method: 'fs.read', params: { path: 'src/a.txt' } })).ok);
    await rt.close();
    const db = new DatabaseSync(join(home, 'warden.db'), { readOnly: true });
    const entries = (db.prepare('SELECT entry FROM ledger ORDER BY seq').all() as Array<{ entry: string }>).map(
      (row) => JSON.parse(row.entry) as Record<string, unknown>,
    );
    db.close();
    assert.deepEqual(
      entries.map((e) => [e.call_id, e.decision, e.stage, e.error_code, e.reason_codes]),
      [
        ['gone', 'allow', null, null, []],
        ['gone', 'error', 'execute', 'io', ['ENOENT', OUTCOME_REASON]],
        ['ok', 'allow', null, null, []],
      ],
    );
    verified(home, 3);
    const replay = replayStore(home, { publicKey: loadOrCreateKey(home).publicKey });
    assert.equal(replay.entries_replayed, 2);
    assert.equal(replay.outcomes, 1);
    assert.equal(replay.matching, 2);
    assert.deepEqual(replay.differences, []);
  });

  it('a prompted call that then fails replays as the answered prompt, not as a prompt with no answer', async () => {
    const rt = await runtime([], {
      profile: 'balanced',
      prompter: { ask: async () => ({ decision: 'allow', scope: 'once' }) },
      operations: {
        'ctx.ui.notify': () => {
          throw Object.assign(new Error('EPIPE: the UI went away'), { code: 'EPIPE' });
        },
      },
    });
    const home = join(ROOT, `warden-${homes}`);
    const r = await rt.dispatcher.dispatch('ext', { call_id: 'n', method: 'ctx.ui.notify', params: { args: ['hi'] } });
    assert.ok(!r.ok && r.error.code === 'io', JSON.stringify(r));
    await rt.close();
    verified(home, 2);
    const replay = replayStore(home, { publicKey: loadOrCreateKey(home).publicKey });
    assert.deepEqual([replay.entries_replayed, replay.matching, replay.not_recomputable, replay.outcomes], [1, 1, 0, 1]);
  });
});
