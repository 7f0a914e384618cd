/**
 * `createMediation` (src/mediation/index.ts) builds the whole mediation stage chain and the confined operations
 * from one call: with a plain dispatcher and the real evidence writer (no createRuntime), the secret broker,
 * egress, filesystem scope and exec mediation all stand in front of the host's operations.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { createMediation } from '../../src/mediation/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { policyFor } from '../helpers.ts';

const ROOT = mkdtempSync(join(tmpdir(), 'pi-warden-mediation-'));
const HOME = join(ROOT, 'home');
const PROJECT = join(ROOT, 'project');
mkdirSync(join(HOME, '.ssh'), { recursive: true });
mkdirSync(PROJECT, { recursive: true });
writeFileSync(join(HOME, '.ssh', 'id_ed25519'), 'PRIVATE KEY');
writeFileSync(join(PROJECT, 'notes.txt'), 'project notes');
const SECRET = 'held-secret-value-0123456789';

const writers: EvidenceWriter[] = [];
after(async () => {
  for (const w of writers) await w.close();
});

async function build(withStage = true) {
  const ran: string[] = [];
  const host = new Map<string, Operation>([
    ['http', (p) => ran.push(`http ${String(p.url)}`)],
    ['exec', (p) => ran.push(`exec ${String(p.cmd)}`)],
  ]);
  const writer = await EvidenceWriter.open(tempHome());
  writers.push(writer);
  const policy = policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } });
  const m = createMediation({
    policy,
    wardenHome: join(ROOT, 'warden'),
    sinks: writer,
    nameHashSalt: 'salt',
    operations: host,
    withStage,
    heldSecrets: [{ name: 'PAYMENTS_API_KEY', value: SECRET }],
    workspace: PROJECT,
    fsLayout: { home: HOME, agentDir: join(HOME, '.pi', 'agent') },
    realFs: true,
    parentEnv: { PATH: '/usr/bin:/bin' },
  });
  const d = createDispatcher({ policy: policy.compiled, operations: m.operations, stages: m.stage === undefined ? [] : [m.stage] });
  let n = 0;
  const call = (method: string, params: Record<string, unknown>) => d.dispatch('ext', { call_id: `m${++n}`, method, params });
  return { m, ran, call };
}

describe('createMediation', () => {
  it('builds one mediation stage: a held secret, a private address, a credential file and a never-run command are refused before the host runs them', async () => {
    const { m, ran, call } = await build();
    assert.equal(m.stage?.name, 'mediation');
    const leak = await call('http', { url: 'https://example.com/', method: 'POST', body: `k=${SECRET}` });
    assert.ok(!leak.ok && leak.error.reasonCodes.includes('secret_exposure'), JSON.stringify(leak));
    const metadata = await call('http', { url: 'http://169.254.169.254/latest/meta-data/' });
    assert.ok(!metadata.ok && metadata.error.reasonCodes.some((r) => r.startsWith('egress_')), JSON.stringify(metadata));
    const key = await call('fs.read', { path: join(HOME, '.ssh', 'id_ed25519') });
    assert.ok(!key.ok && key.error.code === 'denied', JSON.stringify(key));
    const sudo = await call('exec', { cmd: 'sudo', args: ['id'] });
    assert.ok(!sudo.ok && sudo.error.reasonCodes.includes('exec_privilege_escalation'), JSON.stringify(sudo));
    assert.deepEqual(ran, [], 'the host ran nothing that was refused');
    const notes = await call('fs.read', { path: join(PROJECT, 'notes.txt') });
    assert.ok(notes.ok, JSON.stringify(notes));
    assert.ok((await call('exec', { cmd: 'git', args: ['status'] })).ok);
    assert.deepEqual(ran, ['exec git']);
  });

  it('without its stage (the caller brings one) still confines the real file operations', async () => {
    const { m, call } = await build(false);
    assert.equal(m.stage, undefined);
    assert.equal(m.fsScope.layout.projectRoot, PROJECT);
    assert.ok((await call('fs.read', { path: join(PROJECT, 'notes.txt') })).ok);
    const key = await call('fs.read', { path: join(HOME, '.ssh', 'id_ed25519') });
    assert.ok(!key.ok, 'the real fs operation re-checks the scope itself');
  });
});
