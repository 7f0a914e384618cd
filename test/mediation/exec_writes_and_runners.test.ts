/**
 * Exec classification, issue 17 item 4: stdin, xargs, `split --filter`, `at` and `crontab` feeding a shell;
 * wrappers with value options; `docker run -v` of home or `/`; task runners classifying the command they run;
 * options that name a file or folder written outside the project or to a never-written place; and deleting inside
 * the project, which is not refused only when the caller says the child is confined by the OS.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newContext } from '../../src/dispatch/hostcall.ts';
import { WardenError } from '../../src/errors.ts';
import { analyseExec, createExecStage, type ExecClass, type ExecScope } from '../../src/mediation/exec/stage.ts';
import { PlaceWords } from '../../src/policy/index.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';

const HOME = '/home/u';
const PROJECT = '/home/u/proj';
const places = new PlaceWords({ home: HOME });
const sh = (script: string, scope: ExecScope = { project: PROJECT }) =>
  analyseExec({ cmd: 'sh', args: ['-c', script] }, 'exec', places, scope).classes;
/** The classes that are never run whatever the grant (src/policy/profiles.ts). */
const NEVER_RUN: readonly ExecClass[] = [
  'destructive_fs',
  'pipe_to_shell',
  'privilege_escalation',
  'credential_access',
  'obfuscated',
  'unparseable',
];
const refused = (classes: readonly ExecClass[]) => classes.some((c) => NEVER_RUN.includes(c));

describe('exec classification: what feeds a shell, writes outside the project, or runs another command', () => {
  const cases: Array<[string, ExecClass]> = [
    // stdin, xargs, split --filter, at, crontab feeding a shell
    ["echo 'rm -rf ~' | xargs -I{} sh -c '{}'", 'pipe_to_shell'],
    ['xargs -a cmds.txt -I % bash -c %', 'pipe_to_shell'],
    ["at now <<< 'rm -rf ~'", 'destructive_fs'],
    ["echo 'curl x | sh' | at now + 1 minute", 'pipe_to_shell'],
    ['at -f job.sh now', 'destructive_fs'],
    ['batch < job.sh', 'destructive_fs'],
    ['crontab file', 'destructive_fs'],
    ["echo '* * * * * sh /tmp/x' | crontab -", 'destructive_fs'],
    ['split --filter=sh payload.txt', 'pipe_to_shell'],
    ["split -l 1 --filter='rm -rf ~' x", 'destructive_fs'],
    // wrappers with value options: the command after the values is what is classified
    ["setarch x86_64 sh -c 'echo x > ~/.bashrc'", 'destructive_fs'],
    ['setarch x86_64 -R rm -rf ~', 'destructive_fs'],
    ['setarch -R rm -rf ~', 'destructive_fs'],
    ["linux32 sh -c 'rm -rf /'", 'destructive_fs'],
    ['env -u X rm -rf ~', 'destructive_fs'],
    ['env -C /tmp -u X -u Y rm -rf ~', 'destructive_fs'],
    ["timeout -s KILL 5 sh -c 'rm -rf ~'", 'destructive_fs'],
    ['timeout -k 1 --signal=TERM 5 rm -rf ~', 'destructive_fs'],
    ['nice -n 5 rm -rf /', 'destructive_fs'],
    ['nice --adjustment=5 rm -rf /', 'destructive_fs'],
    ['stdbuf -o0 -e L rm -rf ~', 'destructive_fs'],
    ['ionice -c 2 -n 7 rm -rf ~', 'destructive_fs'],
    // containers given home or the root
    ['docker run -v $HOME:/h alpine rm -rf /h', 'destructive_fs'],
    ['docker run -v ~/:/h:rw alpine', 'destructive_fs'],
    ['podman run --volume=/home/u:/h alpine', 'destructive_fs'],
    ['docker run -v /:/host alpine', 'privilege_escalation'],
    ['docker run --mount type=bind,source=$HOME,target=/h alpine', 'destructive_fs'],
    ['docker run --mount=type=bind,src=/etc,dst=/e alpine', 'destructive_fs'],
    // task runners classify the command they run
    ["uv run sh -c 'rm -rf ~'", 'destructive_fs'],
    ["uv run --with requests python -c 'print(1)' && uv run -m http.server", 'network_tool'],
    ["poetry run bash -c 'curl x | sh'", 'pipe_to_shell'],
    ['poetry -C sub run rm -rf ~', 'destructive_fs'],
    ['bundle exec rm -rf ~', 'destructive_fs'],
    ['npm exec -- rm -rf ~', 'destructive_fs'],
    ["npm exec -c 'cat ~/.ssh/id_rsa'", 'credential_access'],
    ['npx -p cowsay rm -rf ~', 'destructive_fs'],
    ['pnpm dlx rimraf ~ && pnpm exec rm -rf ~', 'destructive_fs'],
    ["pnpm dlx -c 'rm -rf ~'", 'destructive_fs'],
    ['yarn dlx --quiet rm -rf ~', 'destructive_fs'],
    ['uvx --from x rm -rf ~', 'destructive_fs'],
    ['uv tool run rm -rf ~', 'destructive_fs'],
    ['pipenv run rm -rf ~', 'destructive_fs'],
    ['npx --unknown-option value rm -rf ~', 'destructive_fs'],
    // options that name a file or folder written outside the project or to a never-written place
    ['find . -fprintf ~/.bashrc x', 'destructive_fs'],
    ['find . -fprint .git/hooks/pre-commit', 'destructive_fs'],
    ['find . -fls /home/u/.profile', 'destructive_fs'],
    ['git log --output=/home/u/.bashrc', 'destructive_fs'],
    ['git log -p --output ~/.zshrc', 'destructive_fs'],
    ["git -c diff.external='rm -rf ~' diff", 'destructive_fs'],
    ['git -c core.pager=\'sh -c "cat ~/.ssh/id_rsa"\' log', 'credential_access'],
    ["git -c alias.x='!rm -rf ~' x", 'destructive_fs'],
    ['git archive -o .git/hooks/post-checkout HEAD', 'destructive_fs'],
    ['git archive --output=~/.bashrc HEAD', 'destructive_fs'],
    ['git format-patch -o ~ HEAD~1', 'destructive_fs'],
    ['git bundle create ~/.bashrc HEAD', 'destructive_fs'],
    ['sort -o .git/hooks/pre-commit x', 'destructive_fs'],
    ['sort --output=/home/u/.profile x', 'destructive_fs'],
    ['sed -i s/a/b/ ~/.profile', 'destructive_fs'],
    ["sed -i.bak -e 's/a/b/' src/x.ts ~/.bashrc", 'destructive_fs'],
    ['tar xf a.tar -C ~', 'destructive_fs'],
    ['tar -xzf a.tgz --directory=/home/u/.config', 'destructive_fs'],
    ['tar xf a.tar -C .git/hooks', 'destructive_fs'],
    ['tar cf ~/.bashrc src', 'destructive_fs'],
    ['unzip -o a.zip -d ~', 'destructive_fs'],
    ['unzip a.zip -d/home/u', 'destructive_fs'],
    ['ln -sf /tmp/x ~/.local/bin/ls', 'destructive_fs'],
    ['systemctl --user enable evil.service', 'destructive_fs'],
    ['systemctl --user link /tmp/evil.service', 'destructive_fs'],
    ['launchctl load ~/Library/LaunchAgents/x.plist', 'destructive_fs'],
    ['npm config set script-shell /tmp/x', 'destructive_fs'],
    ['npm set script-shell=/tmp/x', 'destructive_fs'],
    ['pnpm config set node-options=--require=/tmp/x.js', 'destructive_fs'],
    ['echo 127.0.0.1 x > /etc/hosts', 'destructive_fs'],
    ["gdb -ex 'shell rm -rf ~' -batch", 'destructive_fs'],
    ["gdb -batch -ex 'dump binary memory ~/.bashrc 0 1'", 'destructive_fs'],
    ['ed ~/.bashrc < edits', 'destructive_fs'],
    ['openssl enc -d -in x -out ~/.bashrc', 'destructive_fs'],
    ['openssl req -new -keyout /home/u/.ssh/authorized_keys', 'destructive_fs'],
    ['csplit -f .git/hooks/pre x 1', 'destructive_fs'],
    ['split -b 100 x .git/hooks/pre-commit', 'destructive_fs'],
    ["sqlite3 db '.output .git/hooks/pre-commit' 'select 1;'", 'destructive_fs'],
    ['sqlite3 db ".once \'/home/u/.bashrc\'"', 'destructive_fs'],
    ['sqlite3 db "VACUUM INTO \'/home/u/.profile\'"', 'destructive_fs'],
    ['sqlite3 ~/.bashrc "create table t(x)"', 'destructive_fs'],
  ];
  for (const [script, want] of cases) {
    it(`${script} → ${want}`, () => assert.ok(sh(script).includes(want), `found ${JSON.stringify(sh(script))}`));
  }

  const ordinary = [
    'tar xzf node-v24.tar.gz -C /tmp',
    'tar xf vendor.tar -C vendor',
    'tar czf dist/app.tgz -C build .',
    'unzip -q fixtures.zip -d test/fixtures',
    'docker run --rm -v $(pwd):/app -w /app node:24 npm test',
    'docker run --rm -v "$PWD/src":/src alpine ls /src',
    'docker run -v cache:/data app',
    'npx tsc --noEmit',
    'npx -y prettier --check .',
    'uv run pytest -q',
    'uv run --with rich python script.py',
    'poetry run pytest',
    'bundle exec rake test',
    'npm exec -- eslint src',
    'pnpm exec vitest run',
    'sed -i s/foo/bar/ src/index.ts',
    "sed -i.bak '/debug/d' config/app.yml",
    'sort -o sorted.txt words.txt',
    'sort -u -o /tmp/out.txt in.txt',
    'git log --output=changes.txt',
    'git archive -o dist/source.zip HEAD',
    'git format-patch -o patches HEAD~3',
    'find . -name "*.ts" -fprint files.txt',
    'crontab -l',
    'systemctl --user status app',
    'npm config get registry',
    'npm config set fund false',
    'setarch x86_64 -R ./a.out',
    'env -u NODE_OPTIONS make test',
    'timeout -s KILL 30 npm test',
    'nice -n 10 make -j2',
    'stdbuf -oL make',
    'openssl rand -hex 16 -out key.txt',
    'openssl x509 -in /etc/ssl/certs/ca-certificates.crt -noout -subject',
    'split -l 1000 big.csv parts/part-',
    'csplit -f chunks/c input.txt 10',
    "sqlite3 app.db '.output report.txt' 'select * from t;'",
    "gdb -batch -ex 'bt' ./a.out core",
  ];
  for (const script of ordinary) {
    it(`${script} → not refused`, () => assert.ok(!refused(sh(script)), `found ${JSON.stringify(sh(script))}`));
  }
});

describe('exec classification: deleting inside the project is not refused only when the OS confines the child', () => {
  const inside = [
    'rm -rf dist',
    'rm -rf ./dist build/*.o',
    'rm -rf node_modules',
    `rm -rf ${PROJECT}/coverage`,
    'git clean -n',
    'git clean -fdx',
    'git -C packages/a clean -fd',
    'git reset --hard',
  ];
  const outside = [
    'rm -rf ~',
    'rm -rf /',
    'rm -rf ..',
    'rm -rf ../other',
    'rm -rf .',
    'rm -rf .*',
    'rm -rf "$DIR"',
    'rm -rf /home/u/other',
    'rm -rf .git',
    'rm -rf --no-preserve-root dist',
    'rm -rf dist ~/.ssh',
    'git -C ~ clean -fdx',
    'git --work-tree=/ clean -fdx',
    'find . | xargs rm -rf',
    'cd ~ && rm -rf .cache',
    'rm -rf dist; cd /; rm -rf home',
    'pushd /etc; rm -rf ssl',
    'env -C / rm -rf home',
    'env --chdir=/ rm -rf home',
    'cd ~ && git clean -fdx',
  ];
  for (const script of inside) {
    it(`${script}: refused by default, not refused when confined`, () => {
      assert.ok(sh(script).includes('destructive_fs'));
      assert.ok(
        !sh(script, { project: PROJECT, osConfined: true }).includes('destructive_fs'),
        JSON.stringify(sh(script, { project: PROJECT, osConfined: true })),
      );
    });
  }
  for (const script of outside) {
    it(`${script}: refused, confined or not`, () => {
      assert.ok(sh(script).includes('destructive_fs'));
      assert.ok(sh(script, { project: PROJECT, osConfined: true }).includes('destructive_fs'));
    });
  }
  it('an unknown project: every absolute path is outside it', () => {
    assert.ok(
      analyseExec({ cmd: 'rm', args: ['-rf', `${PROJECT}/dist`] }, 'exec', places, { osConfined: true }).classes.includes('destructive_fs'),
    );
  });

  it('the exec stage refuses `rm -rf dist` unless built with osConfined, and refuses outside the workspace either way', async () => {
    const workspace = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-confined-')));
    mkdirSync(join(workspace, 'dist'));
    const policy = compilePolicy(rulesFor('balanced', true, { overrides: { ext: { allow: ['exec'] } } }));
    const decide = async (osConfined: boolean | undefined, args: string[]) => {
      const stage = createExecStage({ policy, workspace, commandHash: () => 'h', osConfined });
      const ctx = Object.assign(newContext('ext', {}), { callId: 'c', method: 'exec', params: { cmd: 'rm', args }, sync: false });
      const r = await stage.run(ctx);
      return r instanceof WardenError ? (r.reasonCodes ?? []) : 'allowed';
    };
    assert.deepEqual(await decide(undefined, ['-rf', 'dist']), ['exec_mediation', 'exec_destructive_fs']);
    assert.equal(await decide(true, ['-rf', 'dist']), 'allowed');
    assert.equal(await decide(true, ['-rf', join(workspace, 'dist')]), 'allowed');
    assert.deepEqual(await decide(true, ['-rf', tmpdir()]), ['exec_mediation', 'exec_destructive_fs']);
  });
});
