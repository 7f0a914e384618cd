/**
 * Conformance suite: the sensitive-places table (src/policy/places.ts) is the one answer to "which places are
 * sensitive", and its four consumers agree on every entry. The suite walks the table and, per entry, asks each
 * consumer through its real code: the filesystem scope (FsScope on a real temporary home), the exec mediation stage
 * (with exec granted by name and the dangerous gate open, so only the classification can refuse), the scanner
 * (analyzeSource on generated extension code) and risk (the call signals). An entry a consumer does not read fails
 * here, named.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newContext } from '../../src/dispatch/hostcall.ts';
import { WardenError } from '../../src/errors.ts';
import { createExecStage } from '../../src/mediation/exec/stage.ts';
import { FsScope } from '../../src/mediation/fs/scope.ts';
import {
  GRANTED_WRITE_KINDS,
  NEVER_WRITTEN_KINDS,
  PlaceWords,
  SECRET_KINDS,
  SENSITIVE_PLACES,
  type SensitivePlace,
} from '../../src/policy/places.ts';
import { callSignals } from '../../src/risk/features.ts';
import { analyzeSource } from '../../src/scanner/index.ts';
import { policyFor } from '../helpers.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-places-')));
const home = join(root, 'home');
const project = join(home, 'project');
const agentDir = join(home, '.pi', 'agent');
const wardenHome = join(agentDir, 'warden');
for (const d of [project, wardenHome]) mkdirSync(d, { recursive: true });
const layout = { projectRoot: project, home, agentDir, wardenHome, dataRoot: join(wardenHome, 'data') };

// Everything granted for read and write: only the table (credential stores, never-written places) can refuse.
const scope = new FsScope({ layout, env: {}, grants: new Map([['ext', { read: ['/'], write: ['/'] }]]) });
const policy = policyFor({
  user: { extensionPolicy: { profile: 'permissive', allowDangerous: true, overrides: { ext: { allow: ['exec'] } } } },
});
const exec = createExecStage({ policy: policy.compiled, workspace: project, commandHash: () => 'h', places: layout });
const riskPlaces = new PlaceWords(layout);

/** Where an entry is in this layout: `*` made concrete; `any` entries outside the project (credentials) or in it. */
function placeOf(e: SensitivePlace): string {
  switch (e.base) {
    case 'home':
      return join(home, e.path);
    case 'agent':
      return join(agentDir, e.path);
    case 'warden':
      return join(wardenHome, e.path);
    case 'system':
      return e.path.replace(/\*/g, 'self');
    case 'any':
      return join(SECRET_KINDS.has(e.kind) ? join(home, 'downloads') : project, e.path.replace(/\*$/, 'local'));
    case 'git':
      return join(project, '.git', e.path.replace(/\*$/, 'local'));
  }
}

/** How extension source names the entry: through `homedir()` under home (the author's home is not the user's). */
function sourceFor(e: SensitivePlace): string {
  const at = placeOf(e);
  return at.startsWith(`${home}/`) ? `join(homedir(), ${JSON.stringify(at.slice(home.length + 1))})` : JSON.stringify(at);
}
const IMPORTS = "import { homedir } from 'node:os';\nimport { join } from 'node:path';\n";

/** How a command may name the entry: its absolute path, and `~/…` for places under home. */
function wordsFor(e: SensitivePlace): string[] {
  const at = placeOf(e);
  return at.startsWith(`${home}/`) ? [at, `~/${at.slice(home.length + 1)}`] : [at];
}

const q = (w: string) => (w.startsWith('~/') ? w : `'${w}'`);
const name = (e: SensitivePlace) => `${e.kind} ${e.base}:${e.path || '(the folder)'}`;

async function execReasons(params: Record<string, unknown>): Promise<readonly string[]> {
  const ctx = Object.assign(newContext('ext', {}), { callId: 'c1', method: 'exec', params });
  const r = await exec.run(ctx);
  return r instanceof WardenError ? r.reasonCodes : [];
}

const secrets = SENSITIVE_PLACES.filter((e) => SECRET_KINDS.has(e.kind));
const neverWritten = SENSITIVE_PLACES.filter((e) => NEVER_WRITTEN_KINDS.has(e.kind));

describe('sensitive places: every secret entry is refused by fs and exec, and seen by the scanner and risk', () => {
  it('the table has entries of every consuming kind', () => {
    assert.ok(secrets.length > 50 && neverWritten.length > 50, `${secrets.length} secret, ${neverWritten.length} never-written`);
  });

  it("fs.read of each is refused as a credential store or pi-warden's own, although / is granted", () => {
    const missed = secrets.filter((e) => {
      const reasons = scope.checkCall('ext', 'fs.read', { path: placeOf(e) }).map((p) => p.reason);
      return !reasons.includes('fs_sensitive_path') && !reasons.includes('fs_warden_private');
    });
    assert.deepEqual(missed.map(name), []);
  });

  it('exec `cat <entry>` (argv and shell string, absolute and ~/ forms) is refused as credential_access', async () => {
    const missed: string[] = [];
    for (const e of secrets) {
      for (const w of wordsFor(e)) {
        if (!(await execReasons({ cmd: 'cat', args: [w] })).includes('exec_credential_access')) missed.push(`${name(e)}: cat ${w}`);
        if (!(await execReasons({ cmd: 'sh', args: ['-c', `cat ${q(w)}`] })).includes('exec_credential_access'))
          missed.push(`${name(e)}: sh -c cat ${w}`);
      }
    }
    assert.deepEqual(missed, []);
  });

  it('the scanner reports reading each as fs.credential-read', () => {
    const lines = secrets.map((e) => `readFileSync(${sourceFor(e)});`);
    const found = analyzeSource(`${IMPORTS}import { readFileSync } from 'node:fs';\n${lines.join('\n')}\n`, {
      file: 'x.ts',
      lang: 'ts',
    }).findings;
    const missed = secrets.filter((_, i) => !found.some((f) => f.ruleId === 'fs.credential-read' && f.line === i + 4));
    assert.deepEqual(missed.map(name), []);
  });

  it('risk scores reading each as sensitive_path_read', () => {
    const missed = secrets.filter(
      (e) => !callSignals('read', 'fs.read', { path: placeOf(e) }, () => true, riskPlaces).some((s) => s.code === 'sensitive_path_read'),
    );
    assert.deepEqual(missed.map(name), []);
  });
});

describe('sensitive places: every never-written entry is refused for writing by fs and exec, and seen by the scanner and risk', () => {
  it("fs.write of each is refused as protected or pi-warden's own, although / is granted for writing", () => {
    const missed = neverWritten.filter((e) => {
      const reasons = scope.checkCall('ext', 'fs.write', { path: placeOf(e), data: 'x' }).map((p) => p.reason);
      return !reasons.includes('fs_protected_path') && !reasons.includes('fs_warden_private');
    });
    assert.deepEqual(missed.map(name), []);
  });

  it('exec `cp x <entry>`, `echo x > <entry>`, `tee <entry>` are refused as destructive_fs (a write to it)', async () => {
    const missed: string[] = [];
    for (const e of neverWritten) {
      for (const w of wordsFor(e)) {
        const calls: Array<[string, Record<string, unknown>]> = [
          [`cp x ${w}`, { cmd: 'cp', args: ['x', w] }],
          [`sh -c echo x > ${w}`, { cmd: 'sh', args: ['-c', `echo x > ${q(w)}`] }],
          [`sh -c echo x | tee -a ${w}`, { cmd: 'sh', args: ['-c', `echo x | tee -a ${q(w)}`] }],
        ];
        for (const [shown, params] of calls)
          if (!(await execReasons(params)).includes('exec_destructive_fs')) missed.push(`${name(e)}: ${shown}`);
      }
    }
    assert.deepEqual(missed, []);
  });

  it("the scanner reports writing each (fs.sensitive-write; fs.refused-write for pi's own folders)", () => {
    const lines = neverWritten.map((e) => `writeFileSync(${sourceFor(e)}, 'x');`);
    const found = analyzeSource(`${IMPORTS}import { writeFileSync } from 'node:fs';\n${lines.join('\n')}\n`, {
      file: 'x.ts',
      lang: 'ts',
    }).findings;
    // pi's own folders are refused at runtime and flagged as such (fs.refused-write, ADR 0011); the rest is forbidden.
    const reported = new Set(['fs.sensitive-write', 'fs.refused-write']);
    const missed = neverWritten.filter((_, i) => !found.some((f) => reported.has(f.ruleId) && f.line === i + 4));
    assert.deepEqual(missed.map(name), []);
  });

  it('risk scores writing each as sensitive_path_write', () => {
    const missed = neverWritten.filter(
      (e) => !callSignals('write', 'fs.write', { path: placeOf(e) }, () => true, riskPlaces).some((s) => s.code === 'sensitive_path_write'),
    );
    assert.deepEqual(missed.map(name), []);
  });
});

describe('sensitive places: every place written only with a grant naming it is refused by fs without one, and seen by risk', () => {
  const grantedWrite = SENSITIVE_PLACES.filter((e) => GRANTED_WRITE_KINDS.has(e.kind));
  // `/` granted for writing does not name `.vscode/tasks.json`; a grant of the place itself does.
  const named = new FsScope({
    layout,
    env: {},
    grants: new Map([['ext', { read: [], write: grantedWrite.map(placeOf) }]]),
  });

  it('fs.write of each is refused as auto_run although / is granted, and allowed with a grant naming it', () => {
    assert.ok(grantedWrite.length >= 9, `${grantedWrite.length} entries`);
    const missed = grantedWrite.filter((e) => {
      const at = e.holds === 'folder' ? join(placeOf(e), 'x') : placeOf(e);
      const without = scope.checkCall('ext', 'fs.write', { path: at, data: 'x' }).map((p) => p.reason);
      const withGrant = named.checkCall('ext', 'fs.write', { path: at, data: 'x' });
      return !without.includes('fs_auto_run') || withGrant.length > 0;
    });
    assert.deepEqual(missed.map(name), []);
  });

  it('risk scores writing each as sensitive_path_write', () => {
    const missed = grantedWrite.filter(
      (e) => !callSignals('write', 'fs.write', { path: placeOf(e) }, () => true, riskPlaces).some((s) => s.code === 'sensitive_path_write'),
    );
    assert.deepEqual(missed.map(name), []);
  });
});

describe('sensitive places: a variable that moves an entry moves it for every consumer', () => {
  const moves = SENSITIVE_PLACES.filter((e) => SECRET_KINDS.has(e.kind)).flatMap((e) =>
    (e.movedBy ?? []).filter((m) => m.list !== true).map((m) => ({ e, m })),
  );

  it('fs refuses the moved place, exec and the scanner refuse `$VARIABLE/…`', async () => {
    const missed: string[] = [];
    for (const { e, m } of moves) {
      const moved = join(root, 'moved', m.variable);
      const at = m.file === undefined ? moved : join(moved, m.file);
      const s = new FsScope({ layout, env: { [m.variable]: moved }, grants: new Map([['ext', { read: ['/'], write: ['/'] }]]) });
      if (!s.checkCall('ext', 'fs.read', { path: at }).some((p) => p.reason === 'fs_sensitive_path'))
        missed.push(`fs ${m.variable} (${name(e)})`);
      const word = m.file === undefined ? `$${m.variable}` : `$${m.variable}/${m.file}`;
      if (!(await execReasons({ cmd: 'sh', args: ['-c', `cat ${word}`] })).includes('exec_credential_access'))
        missed.push(`exec cat ${word}`);
      const src = m.file === undefined ? `process.env.${m.variable}` : `join(process.env.${m.variable}, ${JSON.stringify(m.file)})`;
      const found = analyzeSource(`${IMPORTS}import { readFileSync } from 'node:fs';\nreadFileSync(${src});\n`, {
        file: 'x.ts',
        lang: 'ts',
      }).findings;
      if (!found.some((f) => f.ruleId === 'fs.credential-read')) missed.push(`scanner readFileSync(${src})`);
    }
    assert.ok(moves.length >= 20, `${moves.length} moves`);
    assert.deepEqual(missed, []);
  });
});

describe('sensitive places: the project stays ordinary', () => {
  it('reading and writing ordinary project files is refused by no consumer', async () => {
    for (const rel of ['src/index.ts', 'notes/bashrc-tips.md', 'bin/cli.js', 'docs/ssh.md']) {
      const path = join(project, rel);
      assert.deepEqual(scope.checkCall('ext', 'fs.write', { path, data: 'x' }), [], rel);
      assert.deepEqual(await execReasons({ cmd: 'cp', args: ['x', path] }), [], rel);
      assert.deepEqual(
        callSignals('write', 'fs.write', { path }, () => true, riskPlaces).filter((s) => s.code.startsWith('sensitive_path')),
        [],
        rel,
      );
    }
  });
});
