/**
 * The incident workflow's state machine against a real store, ledger and sandbox: steps run in the runbook's order
 * only, a step done is not done again, a step cut short by a killed process runs again and the workflow goes on,
 * every step is a ledger entry under a signed checkpoint that replay skips, and collect fails closed without a
 * bundle.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { loadOrCreateKey, openStore, parseEntry, storedEntries, verifyStore } from '../../src/evidence/index.ts';
import { evidenceTools } from '../../src/incident/evidenceTools.ts';
import { IncidentWorkflow, isolationCheck, sha256File, STEPS, type Step } from '../../src/incident/workflow/index.ts';
import { replayStore } from '../../src/replay/index.ts';
import { TrustRegistry } from '../../src/trust/index.ts';
import { until } from '../helpers.ts';
import { scratch } from './tools.ts';

function workflow(home: string, clock?: () => number): IncidentWorkflow {
  return new IncidentWorkflow({ home, tools: evidenceTools, actor: 'tester', cwd: home, ...(clock === undefined ? {} : { clock }) });
}

async function run(wf: IncidentWorkflow, id: string, step: Step) {
  switch (step) {
    case 'open':
      throw new Error('open makes a new incident');
    case 'remediate':
      return wf.remediate(id, 'policy update: exec removed from defaultCaps');
    default:
      return wf[step](id);
  }
}

function operatorEntries(home: string) {
  const db = openStore(home, { readOnly: true });
  try {
    return [...storedEntries(db)].map((r) => parseEntry(r.entry, r.ledger_hash)).filter((e) => e.stage === 'operator');
  } finally {
    db.close();
  }
}

describe('incident workflow', () => {
  it('refuses every step before its predecessor, naming the phase that must come first', async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-1', extension: 'evil-ext' });
    for (const step of STEPS.slice(2)) {
      await assert.rejects(
        run(wf, incident.id, step),
        (e: unknown) =>
          isWardenError(e) &&
          e.code === 'incident_out_of_order' &&
          e.message.includes('expected phase Contain to be done first') &&
          e.message.includes(`pi-warden incident contain ${incident.id}`),
        `${step} before contain`,
      );
    }
    assert.equal(wf.status(incident.id).next_step, 'contain', 'nothing was recorded by the refused steps');
    assert.equal(operatorEntries(home).length, 1, 'only open is in the ledger');
  });

  it('runs open to close once; each step again changes nothing, and each is a ledger entry under a signed checkpoint that replay skips', async () => {
    const home = scratch();
    const wf = workflow(home);
    const opened = await wf.open({ type: 'INC-1', extension: 'evil-ext' });
    const id = opened.incident.id;
    assert.match(id, /^INC-1-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
    for (const step of STEPS.slice(1)) {
      const first = await run(wf, id, step);
      assert.equal(first.already, false, `${step} ran`);
      const entries = operatorEntries(home).length;
      const again = await run(wf, id, step);
      assert.equal(again.already, true, `${step} again is a no-op`);
      assert.deepEqual(again.detail, first.detail);
      assert.equal(operatorEntries(home).length, entries, `${step} again writes no ledger entry`);
    }
    const status = wf.status(id);
    assert.equal(status.closed, true);
    assert.deepEqual(
      status.phases.map((p) => [p.phase, p.state]),
      STEPS.map((_, i) => [['detect', 'contain', 'collect', 'verify', 'analyze', 'remediate', 'postmortem'][i], 'done']),
    );
    for (const p of status.phases) assert.ok(p.done_at !== null && p.done_at.endsWith('Z'), `${p.phase}: a UTC timestamp`);

    const entries = operatorEntries(home);
    assert.deepEqual(
      entries.map((e) => e.method),
      STEPS.map((s) => `incident.${s}`),
    );
    assert.ok(
      entries.every((e) => e.call_id.startsWith(`${id}/`) && e.extension_id === 'evil-ext' && e.reason_codes.includes('incident_step')),
    );
    assert.deepEqual(
      status.phases.map((p) => p.ledger_seq),
      [...storedEntries(openStore(home, { readOnly: true }))]
        .filter((r) => parseEntry(r.entry, r.ledger_hash).stage === 'operator')
        .map((r) => r.seq),
      'each phase names its ledger entry',
    );
    const publicKey = loadOrCreateKey(home).publicKey;
    const v = verifyStore(home, { publicKey });
    assert.equal(v.classification, 'intact');
    assert.equal(v.unsigned_tail, 0, 'every step is under a signed checkpoint');
    const replay = replayStore(home, { publicKey });
    assert.equal(replay.operator_actions, STEPS.length);
    assert.deepEqual(replay.differences, [], 'operator entries are not decisions to recompute');

    // The kill switch was thrown once, by contain, and its audit record names the incident.
    const db = openStore(home, { readOnly: true });
    const history = new TrustRegistry(db).history('evil-ext');
    db.close();
    assert.deepEqual(
      history.map((h) => [h.kind, h.to_state, h.actor, h.reason]),
      [['kill', 'quarantined', 'tester', `incident ${id}`]],
    );
  });

  it('contain: the canary under the killed id is refused as quarantined at its first hostcall; an id not killed is served past the trust gate', async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-5', extension: 'escapee' });
    const c = await wf.contain(incident.id);
    assert.deepEqual(c.detail.isolation, { method: 'pi.on', served: false, error_code: 'quarantined', reason_codes: ['quarantined'] });
    const free = await isolationCheck(home, 'bystander');
    assert.notEqual(free.error_code, 'quarantined', 'the check tells a contained extension from one that is not');
    assert.equal(free.served, true, 'the canary registering its handler is served when not quarantined');
  });

  it('contain refuses an incident that names no extension and points to the emergency step', async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-3' });
    await assert.rejects(wf.contain(incident.id), /names no extension.*pi-warden disable/);
    assert.equal(wf.status(incident.id).phases[1]?.state, 'begun');
  });

  it('collect fails closed when the bundle export fails: no bundle recorded, the phase stays unfinished, verify is refused', async () => {
    const home = scratch();
    const failing = { ...evidenceTools, exportBundle: () => Promise.reject(new Error('disk full while writing the bundle')) };
    const wf = new IncidentWorkflow({ home, tools: failing, actor: 'tester', cwd: home });
    const { incident } = await wf.open({ type: 'INC-2', extension: 'leaky' });
    await wf.contain(incident.id);
    await assert.rejects(wf.collect(incident.id), /disk full while writing the bundle/);
    const collect = wf.status(incident.id).phases[2];
    assert.equal(collect?.state, 'begun');
    assert.equal(collect?.ledger_seq, null);
    await assert.rejects(wf.verify(incident.id), /expected phase Collect to be done first .* found it begun but not finished/);
  });

  it('collect and verify with the real evidence bundle: the signed bundle verifies, and a bundle altered after collect does not', async () => {
    const home = scratch();
    const wf = new IncidentWorkflow({ home, tools: evidenceTools, actor: 'tester', cwd: home });
    const { incident } = await wf.open({ type: 'INC-2', extension: 'leaky' });
    await wf.contain(incident.id);
    const c = await wf.collect(incident.id);
    const bundle = c.detail.bundle as { path: string; file_sha256: string; bundle_hash: string };
    assert.equal(sha256File(bundle.path), bundle.file_sha256);
    const v = await wf.verify(incident.id);
    assert.deepEqual(v.detail.bundle, { ok: true, file_unchanged: true, failures: [] });
    // A second incident whose bundle is edited between collect and verify: verify reports it, naming the section.
    const other = (await wf.open({ type: 'INC-2', extension: 'leaky' })).incident.id;
    await wf.contain(other);
    const b2 = (await wf.collect(other)).detail.bundle as { path: string };
    const doc = JSON.parse(readFileSync(b2.path, 'utf8')) as { sections: { alerts: unknown[] } };
    doc.sections.alerts = [];
    writeFileSync(b2.path, JSON.stringify(doc));
    const v2 = (await wf.verify(other)).detail.bundle as { ok: boolean; file_unchanged: boolean; failures: Array<{ section: string }> };
    assert.equal(v2.ok, false);
    assert.equal(v2.file_unchanged, false);
    assert.ok(v2.failures.length > 0, 'the recomputation names what differs');
  });

  it('a step killed mid-way shows as begun, runs again from the start, and the workflow goes on to close', async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-4', extension: 'sneaky' });
    await wf.contain(incident.id);
    const marker = join(home, 'export-started');
    // A child process runs collect with a bundle export that never finishes, and is killed while it waits.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { IncidentWorkflow } from ${JSON.stringify(new URL('../../src/incident/workflow/index.ts', import.meta.url).href)};
         import { evidenceTools } from ${JSON.stringify(new URL('../../src/incident/evidenceTools.ts', import.meta.url).href)};
         import { writeFileSync } from 'node:fs';
         const tools = { ...evidenceTools, exportBundle: () => { writeFileSync(${JSON.stringify(marker)}, 'x'); return new Promise(() => setInterval(() => {}, 1000)); } };
         await new IncidentWorkflow({ home: ${JSON.stringify(home)}, tools, actor: 'crashing', cwd: ${JSON.stringify(home)} }).collect(${JSON.stringify(incident.id)});`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await until(() => existsSync(marker) || child.exitCode !== null, 'the child reaches the bundle export');
    assert.ok(existsSync(marker), `the child reached the export: ${stderr}`);
    // While it runs, a second run of the same step is refused, naming the running one.
    await assert.rejects(
      workflow(home).collect(incident.id),
      (e: unknown) => isWardenError(e) && e.code === 'incident_step_busy' && e.message.includes(`pid ${child.pid}`),
    );
    child.kill('SIGKILL');
    await exited;

    // The dead run's lock is taken over.
    const reopened = workflow(home);
    const begun = reopened.status(incident.id).phases[2];
    assert.equal(begun?.state, 'begun');
    await assert.rejects(reopened.verify(incident.id), (e: unknown) => isWardenError(e) && e.code === 'incident_out_of_order');
    const again = await reopened.collect(incident.id);
    assert.equal(again.already, false);
    const collect = again.incident.phases[2];
    assert.equal(collect?.state, 'done');
    assert.equal(collect?.started_at, begun?.started_at, 'the step keeps its first start');
    assert.deepEqual(
      operatorEntries(home)
        .filter((e) => e.method === 'incident.collect')
        .map((e) => e.call_id),
      [`${incident.id}/collect#attempt-2`],
      'the retry is recorded as the second attempt',
    );
    for (const step of STEPS.slice(3)) await run(reopened, incident.id, step);
    assert.equal(reopened.status(incident.id).closed, true);
    assert.equal(verifyStore(home, { publicKey: loadOrCreateKey(home).publicKey }).classification, 'intact');
  });

  it('two runs of the same step at once: one runs, the other is refused, and the step is recorded once', { timeout: 120_000 }, async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-4', extension: 'sneaky' });
    const results = await Promise.allSettled([wf.contain(incident.id), workflow(home).contain(incident.id)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
    const refused = results.find((r) => r.status === 'rejected');
    assert.ok(refused !== undefined && isWardenError(refused.reason) && refused.reason.code === 'incident_step_busy');
    assert.equal(operatorEntries(home).filter((e) => e.method === 'incident.contain').length, 1);
    // Once the first has finished, running it again is the idempotent no-op.
    assert.equal((await wf.contain(incident.id)).already, true);
  });

  it('a lock left by another host is never taken over; an unreadable one is', async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-4', extension: 'sneaky' });
    mkdirSync(wf.evidenceDir(incident.id), { recursive: true });
    const lock = join(wf.evidenceDir(incident.id), '.contain.lock');
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere.example', started_ms: 0 }));
    await assert.rejects(
      wf.contain(incident.id),
      (e: unknown) => isWardenError(e) && e.code === 'incident_step_busy' && e.message.includes('on elsewhere.example'),
    );
    writeFileSync(lock, '{"pid":');
    assert.equal((await wf.contain(incident.id)).already, false);
    assert.equal(existsSync(lock), false, 'the lock is released');
  });

  it('status measures each phase from detection against its SLA: elapsed, remaining, breached', async () => {
    const home = scratch();
    let now = Date.UTC(2026, 11, 6, 12, 0, 0);
    const wf = workflow(home, () => now);
    const { incident } = await wf.open({ type: 'INC-6', extension: 'hog' });
    now += 6 * 60_000;
    await wf.contain(incident.id);
    now += 60_000;
    const s = wf.status(incident.id);
    const [detect, contain, collect, , , remediate] = s.phases;
    assert.deepEqual([detect?.sla, detect?.remaining_ms, detect?.breached], ['Automatic', null, false]);
    assert.deepEqual([contain?.sla, contain?.elapsed_ms, contain?.remaining_ms, contain?.breached], ['< 5 min', 360_000, -60_000, true]);
    assert.deepEqual([collect?.state, collect?.elapsed_ms, collect?.remaining_ms, collect?.breached], ['pending', 420_000, 480_000, false]);
    assert.deepEqual([remediate?.sla, remediate?.remaining_ms], ['Varies', null]);
    assert.deepEqual(
      s.phases.map((p) => [p.runbook, p.nist.split(' ')[0], p.sans.split(' ')[0]]),
      [
        ['Detect', 'Detect', 'Identification'],
        ['Contain', 'Respond', 'Containment'],
        ['Collect', 'Respond', 'Containment'],
        ['Verify', 'Respond', 'Identification'],
        ['Analyze', 'Respond', 'Identification'],
        ['Remediate', 'Respond', 'Eradication,'],
        ['Postmortem', 'Identify', 'Lessons'],
      ],
    );
  });

  it('remediate records each distinct action once, and none after close', async () => {
    const home = scratch();
    const wf = workflow(home);
    const { incident } = await wf.open({ type: 'INC-1', extension: 'evil-ext' });
    for (const step of ['contain', 'collect', 'verify', 'analyze'] as const) await wf[step](incident.id);
    await wf.remediate(incident.id, 'policy update');
    const second = await wf.remediate(incident.id, 'scanner rule');
    assert.deepEqual(second.detail.actions, ['policy update', 'scanner rule']);
    assert.equal((await wf.remediate(incident.id, 'scanner rule')).already, true);
    assert.equal(operatorEntries(home).filter((e) => e.method === 'incident.remediate').length, 2);
    await wf.close(incident.id);
    const after = await wf.remediate(incident.id, 'too late');
    assert.equal(after.already, true);
    assert.deepEqual(after.detail.actions, ['policy update', 'scanner rule']);
  });
});
