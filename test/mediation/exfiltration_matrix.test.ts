/**
 * Issue 6 "done when": an extension in the real sandbox, with every capability granted that a user could grant
 * (permissive, dangerous allowed, exec/env/http/read/write for everyone), cannot obtain a held secret by any path
 * of items 1–5 (pi's own file tools included) nor send one out; each attempt is refused and leaves evidence. Real
 * files, real child processes, pi's real tool definitions, the real http operation against a recording server on
 * 127.0.0.1 (granted as a private address).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/dispatch/dispatcher.ts';
import { MemoryRecorder } from '../../src/dispatch/index.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import type { PiFileToolKit } from '../../src/mediation/tools/fileTools.ts';
import * as pi from '@earendil-works/pi-coding-agent';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture } from '../sandbox/harness.ts';
import { policyFor } from '../helpers.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-exfil-')));
const HOME = join(root, 'home');
const PROJECT = join(root, 'project');
const AGENT = join(HOME, '.pi', 'agent');
mkdirSync(join(HOME, '.aws'), { recursive: true });
mkdirSync(join(HOME, '.ssh'), { recursive: true });
mkdirSync(AGENT, { recursive: true });
mkdirSync(PROJECT, { recursive: true });

describe('exfiltration matrix (issue 6 done-when)', () => {
  it('every obtain and send path is refused with everything granted; nothing reaches the network, evidence is written', async () => {
    const host = new HeadlessHost({ cwd: PROJECT, home: HOME });
    const anthropic = host.honeytokens.get('ANTHROPIC_API_KEY')!;
    const aws = host.honeytokens.get('AWS_SECRET_ACCESS_KEY')!;
    writeFileSync(join(HOME, '.aws', 'credentials'), `[default]\naws_secret_access_key=${aws}\n`);
    writeFileSync(join(HOME, '.ssh', 'id_ed25519'), 'KEY');
    writeFileSync(join(AGENT, 'auth.json'), JSON.stringify({ anthropic: { type: 'api_key', key: anthropic } }));
    writeFileSync(join(PROJECT, '.env'), `ANTHROPIC_API_KEY=${anthropic}\n`);
    symlinkSync(join(HOME, '.ssh', 'id_ed25519'), join(PROJECT, 'key-link'));
    const sent: unknown[] = [];
    const ran: string[] = [];
    const realExec: Operation = (p) => {
      ran.push([p.cmd, ...((p.args ?? []) as string[])].join(' '));
      const r = spawnSync(String(p.cmd), (p.args ?? []) as string[], {
        cwd: PROJECT,
        encoding: 'utf8',
        env: p.env as Record<string, string>,
        shell: p.shell === true,
      });
      return { stdout: r.stdout, stderr: r.stderr, code: r.status };
    };
    const operations = new Map(hostOperations(host));
    operations.set('exec', realExec);
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('latin1');
      });
      req.on('end', () => {
        sent.push({ url: req.url, headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const home = tempHome();
    const recorder = new MemoryRecorder();
    const everything = ['read', 'write', 'http', 'exec', 'env', 'tool', 'session', 'events', 'ui', 'log'];
    const rt = await createRuntime({
      home,
      policy: policyFor({
        user: {
          extensionPolicy: {
            profile: 'permissive',
            allowDangerous: true,
            defaultCaps: everything,
            http: { allowPrivate: ['127.0.0.1'] },
            overrides: { thief: { fs: { read: [HOME] } } },
          },
        },
      }),
      operations,
      realFs: true,
      realHttp: true,
      piTools: pi as unknown as PiFileToolKit,
      workspace: PROJECT,
      fsLayout: { home: HOME, agentDir: AGENT },
      recorders: [recorder],
      heldSecrets: [...host.honeytokens].map(([name, value]) => ({ name, value, honeytoken: true })),
      parentEnv: host.env,
    });
    const sandbox = await Sandbox.create({
      extensionId: 'thief',
      dispatcher: rt.dispatcher,
      boot: hostBoot(PROJECT, HOME),
      limits: { wallTimeMs: 20_000 },
    });
    let got: Record<string, string>;
    try {
      await sandbox.load(await bundleEntry(fixture('hostile/exfil_matrix.ts')));
      const [outcome] = await sandbox.emit('exfil', {
        value: anthropic,
        url: `http://127.0.0.1:${port}/in`,
        paths: {
          aws: join(HOME, '.aws', 'credentials'),
          auth: join(AGENT, 'auth.json'),
          dotenv: join(PROJECT, '.env'),
          sshLink: join(PROJECT, 'key-link'),
          drop: join(PROJECT, 'drop.txt'),
          home: HOME,
          half: join(PROJECT, 'half.txt'),
        },
      });
      got = (outcome?.results[0] as { value: Record<string, string> }).value;
    } finally {
      sandbox.stop();
      await rt.close();
      server.close();
    }
    const values = [...host.honeytokens.values()];
    if (process.env.PIW_DEBUG === '1') console.log(got);
    for (const [path, result] of Object.entries(got)) {
      for (const v of values) assert.equal(result.includes(v), false, `${path} obtained a held value: ${result.slice(0, 120)}`);
    }
    // Reads of env values and names yield nothing; every other attempt is an error (denied), not a quiet success.
    assert.equal(got['env.direct'], 'GOT undefined', 'a refused env read looks unset');
    assert.equal(got['env.keys'], 'GOT none');
    assert.equal(got['exec.env_option'], 'GOT \n', 'a child given the whole process.env still sees no key');
    assert.equal(got['http.clean'], 'GOT 200', 'a clean request reaches the server');
    // A grep of the granted home succeeds, with the credential stores below it withheld (checked above: no value).
    assert.match(got['tool.grep_home'] ?? '', /^GOT .*withheld by pi-warden's file scope/);
    const quiet = new Set(['env.direct', 'env.keys', 'exec.env_option', 'message', 'http.clean', 'tool.grep_home']);
    for (const path of Object.keys(got).filter((p) => !quiet.has(p))) assert.match(got[path]!, /^ERR /, `${path}: ${got[path]}`);
    // pi.sendMessage is fire-and-forget for the extension; the ledger shows the refusal.
    const message = recorder.entries.find((r) => r.method === 'pi.sendMessage');
    assert.equal(message?.decision, 'deny');
    assert.ok(message?.reason_codes.includes('secret_exposure'));
    assert.deepEqual(
      sent.map((r) => (r as { url: string }).url),
      ['/in?clean=1'],
      'only the clean request reached the server',
    );
    for (const v of values) assert.equal(JSON.stringify(sent).includes(v), false);
    assert.equal(existsSync(join(PROJECT, 'drop.txt')), false);
    assert.equal(readFileSync(join(PROJECT, 'half.txt'), 'utf8'), `${anthropic.slice(0, 12)}\n`, 'the assembling edit was not written');
    assert.ok(!ran.some((c) => c.includes(anthropic)), 'no process got a held value in its argv');
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, {});
    const log = db.prepare('SELECT COUNT(*) AS n FROM secret_broker_log').get() as { n: number };
    db.close();
    const honey = alerts.filter((a) => a.category === 'secret_exposure' && a.severity === 'critical');
    assert.ok(honey.length >= 6, `critical secret_exposure alerts: ${honey.length}`);
    assert.ok(alerts.some((a) => a.category === 'policy_violation' && a.reason_codes.includes('fs_sensitive_path')));
    assert.ok(alerts.some((a) => a.category === 'exec_mediation'));
    assert.ok(log.n >= 8, `secret broker log entries: ${log.n}`);
    for (const f of ['warden.db', 'warden.db-wal']) {
      const p = join(home, f);
      if (existsSync(p)) for (const v of values) assert.equal(readFileSync(p).includes(v), false, `${f} holds a secret value`);
    }
  });
});
