/**
 * Issue 16 item 3, the result scan: a held value in a UTF-16 file (LE with a byte order mark, BE without), in a git
 * loose object made by real `git`, and in a `.tgz` made by real `tar czf`, read by an extension in the real
 * sandbox through fs.read, is withheld and alerted; a compressed file too large to inflate, or broken, is withheld
 * as unscannable; clean copies of the same kinds pass.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { MemoryRecorder } from '../../src/dispatch/index.ts';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { compression, INFLATE_CAP, resultCopies } from '../../src/mediation/secrets/resultCopies.ts';
import { hostOperations } from '../../src/pi/index.ts';
import { HeadlessHost } from '../../src/probe/index.ts';
import { createRuntime } from '../../src/runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../src/sandbox/index.ts';
import { tempHome } from '../evidence/fixtures.ts';
import { fixture } from '../sandbox/harness.ts';
import { policyFor } from '../helpers.ts';

const SECRET = 'pk_live_51HxQe2DecodedCopyValue0987654321';
const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-copies-')));
const PROJECT = join(root, 'project');
const HOME = join(root, 'home');
mkdirSync(PROJECT, { recursive: true });
mkdirSync(HOME, { recursive: true });

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();

/** A loose object written by real git, copied out of `.git` (where the file scope keeps extensions out). */
function looseObject(content: string, name: string): string {
  const repo = join(root, `repo-${name}`);
  mkdirSync(repo);
  git(repo, 'init', '-q');
  writeFileSync(join(repo, 'config.env'), content);
  const id = git(repo, 'hash-object', '-w', 'config.env');
  const to = join(PROJECT, `${name}.object`);
  copyFileSync(join(repo, '.git', 'objects', id.slice(0, 2), id.slice(2)), to);
  return to;
}

/** A .tgz written by real tar around one file. */
function tarball(content: string, name: string): string {
  const dir = join(root, `tar-${name}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'settings.env'), content);
  const to = join(PROJECT, `${name}.tgz`);
  execFileSync('tar', ['czf', to, '-C', dir, 'settings.env']);
  return to;
}

const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

describe('decoded copies of a result', () => {
  it('recognises zlib and gzip headers and nothing else', () => {
    assert.equal(compression(deflateSync('x')), 'zlib');
    assert.equal(compression(gzipSync('x')), 'gzip');
    for (const t of ['xylophone', 'x 1', '{"a":1}', '\u001f\u008b']) assert.equal(compression(Buffer.from(t, 'latin1')), undefined, t);
  });

  it('a gzip bomb cannot be checked; a truncated or broken stream gives what inflates before the break', () => {
    const bomb = resultCopies(gzipSync(Buffer.alloc(2 * INFLATE_CAP)), { text: false });
    assert.ok('uncheckable' in bomb && /inflates past/.test(bomb.uncheckable));
    const has = (r: ReturnType<typeof resultCopies>, how: string) =>
      'copies' in r && r.copies.some(([h, t]) => h === how && t.includes(SECRET));
    assert.ok(has(resultCopies(Buffer.concat([gzipSync(`k=${SECRET}`), Buffer.from('trailing garbage')]), { text: false }), 'gzip'));
    const whole = deflateSync(`k=${SECRET}\n${'filler '.repeat(4000)}`);
    assert.ok(has(resultCopies(whole.subarray(0, whole.length - 40), { text: false }), 'zlib'), 'truncated');
    const damaged = Buffer.from(whole);
    damaged.fill(0xff, whole.length - 30, whole.length - 10);
    assert.ok(has(resultCopies(damaged, { text: false }), 'zlib'), 'damaged near the end');
    const asText = resultCopies(gzipSync(Buffer.alloc(2 * INFLATE_CAP)), { text: true });
    assert.ok('copies' in asText && asText.copies.every(([how]) => how === 'utf16'), 'bytes that came back as text are not inflated');
  });
});

describe('encoded copies read through the real sandbox', () => {
  it('UTF-16, a git loose object and a .tgz holding the secret are withheld and alerted; clean ones and text pass', async () => {
    const paths = {
      utf16le: join(PROJECT, 'creds-le.txt'),
      utf16be: join(PROJECT, 'creds-be.txt'),
      object: looseObject(`API_KEY=${SECRET}\n`, 'secret'),
      tgz: tarball(`API_KEY=${SECRET}\n`, 'secret'),
      bomb: join(PROJECT, 'bomb.gz'),
      cleanUtf16: join(PROJECT, 'clean-utf16.txt'),
      cleanObject: looseObject('nothing to see here\n', 'clean'),
      cleanTgz: tarball('nothing to see here\n', 'clean'),
      plain: join(PROJECT, 'notes.txt'),
    };
    writeFileSync(paths.utf16le, utf16le(`API_KEY=${SECRET}\r\n`));
    writeFileSync(paths.utf16be, utf16be(`API_KEY=${SECRET}\n`));
    writeFileSync(paths.bomb, gzipSync(Buffer.alloc(2 * INFLATE_CAP)));
    writeFileSync(paths.cleanUtf16, utf16le('plain settings\r\n'));
    writeFileSync(paths.plain, 'x^2 + y^2 and nothing secret\n');
    assert.ok(
      readFileSync(paths.tgz)
        .subarray(0, 2)
        .equals(Buffer.from([0x1f, 0x8b])),
      'tar czf wrote gzip',
    );

    const home = tempHome();
    const recorder = new MemoryRecorder();
    const rt = await createRuntime({
      home,
      policy: policyFor({ user: { extensionPolicy: { profile: 'permissive', allowDangerous: true } } }),
      operations: new Map(hostOperations(new HeadlessHost({ cwd: PROJECT, home: HOME }))),
      realFs: true,
      workspace: PROJECT,
      fsLayout: { home: HOME, agentDir: join(HOME, '.pi', 'agent') },
      recorders: [recorder],
      heldSecrets: [{ name: 'PAYMENTS_API_KEY', value: SECRET }],
    });
    const sandbox = await Sandbox.create({ extensionId: 'reader', dispatcher: rt.dispatcher, boot: hostBoot(PROJECT, HOME) });
    let got: Record<string, string>;
    try {
      await sandbox.load(await bundleEntry(fixture('hostile/read_copies.ts')));
      const [outcome] = await sandbox.emit('read', { paths });
      got = (outcome?.results[0] as { value: Record<string, string> }).value;
    } finally {
      sandbox.stop();
      await rt.close();
    }
    // Withheld: the UTF-16 files whichever way they are read; the compressed ones when read as bytes (a utf8 read
    // of compressed bytes mangles them for the extension too).
    for (const k of ['utf16le.bytes', 'utf16le.utf8', 'utf16be.bytes', 'utf16be.utf8', 'object.bytes', 'tgz.bytes', 'bomb.bytes'])
      assert.equal(got[k], 'ERR denied', `${k}: ${got[k]}`);
    for (const k of ['cleanUtf16', 'cleanObject', 'cleanTgz', 'plain'])
      for (const how of ['bytes', 'utf8']) assert.match(got[`${k}.${how}`] ?? '', /^GOT \d+$/, `${k}.${how}`);

    const reasons = recorder.entries.filter((e) => e.method === 'fs.read' && e.decision !== 'allow').map((e) => e.reason_codes);
    assert.equal(reasons.filter((r) => r.includes('secret_scan_limit')).length, 1, 'the bomb, as unscannable');
    assert.equal(reasons.filter((r) => r.includes('secret_in_result')).length, 6);
    const db = openStore(home, { readOnly: true });
    const alerts = queryAlerts(db, { category: 'secret_exposure' });
    db.close();
    assert.equal(alerts.length, 6);
    const said = alerts.map((a) => a.summary).join('\n');
    for (const how of ['utf16', 'zlib', 'gzip']) assert.match(said, new RegExp(`raw\\+${how}`), how);
  });
});
