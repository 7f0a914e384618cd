/**
 * pi's built-in file tools run by pi-warden on the confined operations (src/mediation/tools/fileTools.ts; issue 6 review
 * findings 1 and 3), with pi's real tool definitions from the npm package, real files and the real dispatcher:
 * - each tool works on project files as pi's does (read, write, edit, ls, find, grep with context and globs);
 * - a symlink swapped in after the call was decided does not redirect the tool (the path is checked again where
 *   the kernel says it is);
 * - grep and find rooted at a granted home never list or read a credential store below it, and say how many
 *   paths they withheld;
 * - an edit whose result would hold a held secret is refused; a grep hitting a file with one withholds it;
 * - a catastrophic grep pattern ends in `timeout` instead of stalling the host; a bad pattern is a clear error;
 * - without pi's tool definitions the runtime refuses file tools rather than handing them to a host unchecked.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as pi from '@earendil-works/pi-coding-agent';
import { queryAlerts } from '../../src/evidence/alerts.ts';
import { openStore } from '../../src/evidence/store.ts';
import { createFsOperations } from '../../src/mediation/fs/operations.ts';
import { FsScope } from '../../src/mediation/fs/scope.ts';
import { createFileToolOperation, type PiFileToolKit } from '../../src/mediation/tools/fileTools.ts';
import { createRuntime, type WardenRuntime } from '../../src/runtime/createRuntime.ts';
import { policyFor, put } from '../helpers.ts';

const kit = pi as unknown as PiFileToolKit;
const ROOT = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-tools-')));
after(() => rmSync(ROOT, { recursive: true, force: true }));
const HOME = join(ROOT, 'home');
const AGENT = join(HOME, '.pi', 'agent');
const PROJECT = join(ROOT, 'project');
const OUTSIDE = join(ROOT, 'outside');
const SECRET = 'sk-test-0123456789abcdefSECRETVALUE';

put(join(HOME, '.ssh', 'id_rsa'), 'PRIVATE KEY needle');
put(join(HOME, '.aws', 'credentials'), 'aws needle');
put(join(HOME, 'notes', 'todo.txt'), 'note needle\n');
put(join(PROJECT, 'src', 'a.ts'), 'const a = 1;\n// needle here\nconst b = 2;\n');
put(join(PROJECT, 'src', 'b.js'), 'needle in js\n');
put(join(PROJECT, 'src', '.hidden.ts'), 'hidden needle\n');
put(join(PROJECT, 'build', 'out.ts'), 'ignored needle\n');
put(join(PROJECT, '.gitignore'), 'build/\n');
put(join(PROJECT, 'node_modules', 'dep', 'index.ts'), 'needle in a dependency\n');
put(join(PROJECT, 'config.txt'), `key = ${SECRET.slice(0, 20)}\n`);
put(join(PROJECT, 'leak.txt'), `token ${SECRET} needle\n`);
put(join(OUTSIDE, 'target.txt'), 'outside file needle\n');
mkdirSync(AGENT, { recursive: true });

const runtimes: WardenRuntime[] = [];
after(async () => {
  for (const rt of runtimes) await rt.close();
});

async function runtime(overrides: Record<string, unknown> = {}, withKit = true): Promise<WardenRuntime> {
  const rt = await createRuntime({
    home: join(ROOT, `warden-${runtimes.length}`),
    policy: policyFor({ user: { extensionPolicy: { profile: 'permissive', overrides } } }),
    heldSecrets: [{ name: 'TEST_API_KEY', value: SECRET }],
    operations: new Map([['tool', () => ({ content: [{ type: 'text', text: 'host tool ran' }] })]]),
    workspace: PROJECT,
    fsLayout: { home: HOME, agentDir: AGENT },
    realFs: true,
    ...(withKit ? { piTools: kit } : {}),
  });
  runtimes.push(rt);
  return rt;
}

let n = 0;
async function tool(rt: WardenRuntime, name: string, input: Record<string, unknown>, ext = 'ext') {
  return rt.dispatcher.dispatch(ext, { call_id: `t-${++n}`, method: 'tool', params: { name, input } });
}
/** pi's file tools on the confined operations of `scope`, with every path `fs.read` was asked for. */
function toolsCountingReads(scope: FsScope): { op: ReturnType<typeof createFileToolOperation>; reads: string[] } {
  const fs = createFsOperations({ scope });
  const reads: string[] = [];
  const counting = new Map(fs);
  counting.set('fs.read', (p, c) => {
    reads.push(String(p.path));
    return (fs.get('fs.read') as NonNullable<ReturnType<typeof fs.get>>)(p, c);
  });
  return { op: createFileToolOperation({ kit, fs: counting, projectRoot: PROJECT, home: HOME }), reads };
}

function text(r: Awaited<ReturnType<typeof tool>>): string {
  assert.ok(r.ok, JSON.stringify(r));
  return ((r.value as { content: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');
}

describe("pi's file tools on the confined operations", () => {
  it('read, write, edit and ls act on project files as pi does', async () => {
    const rt = await runtime();
    assert.match(text(await tool(rt, 'read', { path: 'src/a.ts' })), /needle here/);
    assert.match(text(await tool(rt, 'read', { path: 'src/a.ts', offset: 2, limit: 1 })), /needle here/);
    assert.ok((await tool(rt, 'write', { path: 'gen/new.txt', content: 'made by the write tool\n' })).ok);
    assert.equal(readFileSync(join(PROJECT, 'gen', 'new.txt'), 'utf8'), 'made by the write tool\n');
    const e = await tool(rt, 'edit', { path: 'gen/new.txt', edits: [{ oldText: 'made by', newText: 'edited by' }] });
    assert.ok(e.ok, JSON.stringify(e));
    assert.equal(readFileSync(join(PROJECT, 'gen', 'new.txt'), 'utf8'), 'edited by the write tool\n');
    const ls = text(await tool(rt, 'ls', { path: 'src' }));
    assert.match(ls, /a\.ts/);
    assert.match(ls, /\.hidden\.ts/);
    const other = await tool(rt, 'summarise', { path: 'x' });
    assert.ok(other.ok && JSON.stringify(other.value).includes('host tool ran'), 'a tool the extension registered goes to the host');
  });

  it('find matches names and paths as fd does, skipping node_modules and ignored folders', async () => {
    const rt = await runtime();
    const found = text(await tool(rt, 'find', { pattern: '*.ts' })).split('\n');
    assert.ok(found.includes('src/a.ts') && found.includes('src/.hidden.ts'), found.join(','));
    assert.ok(!found.some((f) => f.includes('node_modules') || f.startsWith('build/')), found.join(','));
    assert.deepEqual(text(await tool(rt, 'find', { pattern: 'src/*.js' })).split('\n'), ['src/b.js']);
    assert.match(text(await tool(rt, 'find', { pattern: '*.nothing' })), /No files found/);
  });

  it('grep finds lines with context and a glob filter, in the output format of pi', async () => {
    const rt = await runtime();
    const out = text(await tool(rt, 'grep', { pattern: 'needle', path: 'src', context: 1 }));
    assert.match(out, /^a\.ts-1- const a = 1;$/m);
    assert.match(out, /^a\.ts:2: \/\/ needle here$/m);
    assert.match(out, /^a\.ts-3- const b = 2;$/m);
    assert.match(out, /^b\.js:1: needle in js$/m);
    const ts = text(await tool(rt, 'grep', { pattern: 'NEEDLE', ignoreCase: true, glob: '*.ts' }));
    assert.ok(ts.includes('src/a.ts:2:') && !ts.includes('b.js') && !ts.includes('build/') && !ts.includes('node_modules'), ts);
    assert.match(text(await tool(rt, 'grep', { pattern: 'a.+1', literal: true })), /No matches/);
    const limited = text(await tool(rt, 'grep', { pattern: 'needle', limit: 1 }));
    assert.match(limited, /1 matches limit reached/);
  });
});

describe('the tools cannot be turned against what the scope protects', () => {
  it('grep and find under a granted home never read or list a credential store, and say what they withheld', async () => {
    const rt = await runtime({ ext: { fs: { read: [HOME] } } });
    const g = text(await tool(rt, 'grep', { pattern: 'needle', path: HOME }));
    assert.match(g, /notes\/todo\.txt:1: note needle/);
    assert.ok(!g.includes('PRIVATE KEY') && !g.includes('aws needle'), g);
    assert.match(g, /withheld by pi-warden's file scope/);
    const f = text(await tool(rt, 'find', { pattern: '*', path: HOME }));
    assert.ok(f.includes('notes/todo.txt') && !f.includes('id_rsa') && !f.includes('credentials'), f);
    assert.match(f, /withheld/);
    // The same walk with the withholding check removed would have read them: the tree really holds them.
    assert.match(readFileSync(join(HOME, '.ssh', 'id_rsa'), 'utf8'), /needle/);
  });

  it('a folder swapped for a link to the outside after the call was decided does not redirect the tool', async () => {
    const scope = new FsScope({
      layout: {
        projectRoot: PROJECT,
        home: HOME,
        agentDir: AGENT,
        wardenHome: join(ROOT, 'w-swap'),
        dataRoot: join(ROOT, 'w-swap', 'data'),
      },
    });
    const fs = createFsOperations({ scope });
    const op = createFileToolOperation({ kit, fs, projectRoot: PROJECT, home: HOME });
    const ctx = { extensionId: 'ext', callId: 'c1', capability: 'write' as const, signal: new AbortController().signal };
    put(join(PROJECT, 'swap', 'target.txt'), 'inside\n');
    // The call was decided on <project>/swap/target.txt (inside); now `swap` becomes a link to the outside.
    renameSync(join(PROJECT, 'swap'), join(PROJECT, 'swap.real'));
    symlinkSync(OUTSIDE, join(PROJECT, 'swap'));
    await assert.rejects(
      Promise.resolve(op({ name: 'write', input: { path: 'swap/target.txt', content: 'overwritten' } }, ctx)),
      /refused|out of scope|outside/i,
    );
    assert.equal(readFileSync(join(OUTSIDE, 'target.txt'), 'utf8'), 'outside file needle\n', 'the outside file is untouched');
    await assert.rejects(Promise.resolve(op({ name: 'read', input: { path: 'swap/target.txt' } }, ctx)), /refused|out of scope|outside/i);
    const g = (await op({ name: 'grep', input: { pattern: 'needle', path: PROJECT } }, ctx)) as { content: Array<{ text: string }> };
    assert.ok(!g.content[0]?.text.includes('outside file'), 'grep does not follow the link');
  });

  it('an edit that would assemble a held secret is refused and alerted; grep withholds a file holding one', async () => {
    const rt = await runtime();
    // The edit sends only the secret's second half; the file already holds the first.
    const r = await tool(rt, 'edit', { path: 'config.txt', edits: [{ oldText: '\n', newText: `${SECRET.slice(20)}\n` }] });
    assert.ok(!r.ok && r.error.reasonCodes.includes('secret_exposure'), JSON.stringify(r));
    assert.equal(readFileSync(join(PROJECT, 'config.txt'), 'utf8'), `key = ${SECRET.slice(0, 20)}\n`, 'the file is unchanged');
    const g = text(await tool(rt, 'grep', { pattern: 'needle', path: '.' }));
    assert.ok(!g.includes(SECRET) && !g.includes('leak.txt'), g);
    const rd = await tool(rt, 'read', { path: 'leak.txt' });
    assert.ok(!rd.ok && rd.error.reasonCodes.includes('secret_in_result'), JSON.stringify(rd));
    await rt.writer.flush();
    const db = openStore(join(ROOT, `warden-${runtimes.indexOf(rt)}`));
    try {
      assert.ok(queryAlerts(db, { category: 'secret_exposure' }).length >= 2);
    } finally {
      db.close();
    }
  });

  it('a catastrophic pattern times out; an invalid one is a clear error; bad input is invalid_request', async () => {
    put(join(PROJECT, 'redos', 'x.txt'), `${'a'.repeat(40)}!\n`);
    const scope = new FsScope({
      layout: {
        projectRoot: PROJECT,
        home: HOME,
        agentDir: AGENT,
        wardenHome: join(ROOT, 'w-redos'),
        dataRoot: join(ROOT, 'w-redos', 'data'),
      },
    });
    const op = createFileToolOperation({ kit, fs: createFsOperations({ scope }), projectRoot: PROJECT, home: HOME, grepDeadlineMs: 300 });
    const ctx = { extensionId: 'ext', callId: 'c2', capability: 'read' as const, signal: new AbortController().signal };
    // The matcher runs in a worker thread: the deadline, a timer on the host's event loop, can only fire because
    // the host kept running while the pattern backtracked (a host-thread regex would never return here).
    await assert.rejects(
      Promise.resolve(op({ name: 'grep', input: { pattern: '^(a+)+$', path: 'redos' } }, ctx)),
      (e: { code?: string; reasonCodes?: string[]; message?: string }) =>
        e.code === 'timeout' && e.reasonCodes?.includes('grep_deadline') === true && /over 300 ms/.test(e.message ?? ''),
    );
    await assert.rejects(Promise.resolve(op({ name: 'grep', input: { pattern: '(unclosed' } }, ctx)), /invalid pattern/);
    await assert.rejects(
      Promise.resolve(op({ name: 'read', input: { path: 42 } }, ctx)),
      (e: { code?: string }) => e.code === 'invalid_request',
    );
  });

  it('without pi tool definitions, file tools are refused rather than run unchecked by the host', async () => {
    const rt = await runtime({}, false);
    const r = await tool(rt, 'read', { path: 'src/a.ts' });
    assert.ok(!r.ok && r.error.reasonCodes.includes('tool_unconfined'), JSON.stringify(r));
    assert.ok((await tool(rt, 'summarise', {})).ok, 'other tools still reach the host');
  });
});

describe('review findings: one tool call cannot exhaust or stall the host', () => {
  const ctx = (id: string) => ({ extensionId: 'ext', callId: id, capability: 'read' as const, signal: new AbortController().signal });
  const scopeAt = (w: string) =>
    new FsScope({
      layout: { projectRoot: PROJECT, home: HOME, agentDir: AGENT, wardenHome: join(ROOT, w), dataRoot: join(ROOT, w, 'data') },
    });

  it('grep output is bounded however many context lines a tiny-line file holds under a long path', async () => {
    let deep = join(PROJECT, 'amp');
    for (let i = 0; i < 12; i++) deep = join(deep, 'd'.repeat(200));
    for (let f = 0; f < 4; f++) put(join(deep, `f${f}.txt`), 'b\n'.repeat(60_000));
    const { op, reads } = toolsCountingReads(scopeAt('w-amp'));
    const before = process.memoryUsage().rss;
    const r = (await op({ name: 'grep', input: { pattern: '^b$', path: 'amp', context: 1000, limit: 1_000_000 } }, ctx('amp'))) as {
      content: Array<{ text: string }>;
    };
    const out = r.content[0]?.text ?? '';
    assert.ok(Buffer.byteLength(out) < 60 * 1024, `output ${Buffer.byteLength(out)} bytes`);
    assert.match(out, /50KB limit reached/);
    // The work is bounded by the output budget, not by the input: the first file fills it and the search stops there
    // (how long that takes is bench/results/bounds.json, not a test).
    assert.deepEqual(
      reads.map((p) => p.slice(p.lastIndexOf('/') + 1)),
      ['f0.txt'],
      'files read before the output budget ran out',
    );
    assert.ok(process.memoryUsage().rss - before < 400 * 1024 * 1024, 'memory stayed bounded');
  });

  it('a pathological glob or .gitignore fails or is cut short instead of stalling; the walk yields', async () => {
    for (let i = 0; i < 400; i++) put(join(PROJECT, 'globs', `${'n'.repeat(200)}${i}.ts`), '');
    const fs = createFsOperations({ scope: scopeAt('w-glob') });
    // Once the walk has listed the folder (it matches the names next, in this same turn), an abort is queued as the
    // next macrotask: it can only land if the walk gives the event loop a turn while it matches. The loop gets one
    // every few ms of matching and the work budget is hundreds of times that, so a walk that yields is cancelled and
    // one that never yields runs into its budget instead.
    let cancel: AbortController | undefined;
    const listing = new Map(fs);
    listing.set('fs.list', (p, c) => {
      const abort = cancel;
      if (abort !== undefined && String(p.path).endsWith('/globs')) setImmediate(() => abort.abort());
      return (fs.get('fs.list') as NonNullable<ReturnType<typeof fs.get>>)(p, c);
    });
    const op = createFileToolOperation({ kit, fs: listing, projectRoot: PROJECT, home: HOME });
    const cancelled = async (input: Record<string, unknown>) => {
      cancel = new AbortController();
      try {
        await assert.rejects(
          Promise.resolve(op({ name: 'find', input }, { ...ctx('cancel'), signal: cancel.signal })),
          (e: { reasonCodes?: string[]; message?: string }) =>
            e.reasonCodes?.includes('aborted') === true || /\baborted\b/.test(e.message ?? ''),
        );
      } finally {
        cancel = undefined;
      }
    };
    // 32 alternatives that all stay alive over a 200-character name: ~1.6M steps a name, the work budget runs out.
    const pathological = `${'{*n,n*}'.repeat(5)}${'*n'.repeat(120)}x`;
    await assert.rejects(
      Promise.resolve(op({ name: 'find', input: { pattern: pathological, path: 'globs' } }, ctx('g1'))),
      (e: { reasonCodes?: string[] }) => e.reasonCodes?.includes('glob_too_complex') === true,
    );
    await cancelled({ pattern: pathological, path: 'globs' });
    // A huge .gitignore (another extension may have written it) is read up to its rule cap, and its rules spend the
    // same work budget: the walk ends, with the files or glob_too_complex, and yields meanwhile.
    put(join(PROJECT, 'globs', '.gitignore'), Array.from({ length: 2000 }, (_, i) => `${'*n'.repeat(60)}${i}`).join('\n'));
    const r = await Promise.resolve(op({ name: 'find', input: { pattern: '*.ts', path: 'globs' } }, ctx('g2'))).then(
      (v) => ({ ok: true, v }),
      (e: unknown) => ({ ok: false, v: e }),
    );
    assert.ok(r.ok || (r.v as { reasonCodes?: string[] }).reasonCodes?.includes('glob_too_complex'), JSON.stringify(r.v).slice(0, 300));
    await cancelled({ pattern: '*.ts', path: 'globs' });
  });

  it('at most two grep matcher threads run at once; a file over the size cap is never read', async () => {
    put(join(PROJECT, 'conc', 'x.txt'), 'needle\n'.repeat(2000));
    const { op, reads } = toolsCountingReads(scopeAt('w-conc'));
    const runs = Array.from({ length: 6 }, (_, i) =>
      op({ name: 'grep', input: { pattern: 'needle', path: 'conc', limit: 5 } }, ctx(`c${i}`)),
    );
    for (const r of await Promise.all(runs))
      assert.match((r as { content: Array<{ text: string }> }).content[0]?.text ?? '', /x\.txt:1: needle/);
    const { matcherStats } = await import('../../src/mediation/tools/confinedSearch.ts');
    assert.ok(matcherStats().peak <= 2 && matcherStats().running === 0, JSON.stringify(matcherStats()));
    const big = join(PROJECT, 'conc-big', 'big.log');
    put(big, `needle\n${'x'.repeat(17 * 1024 * 1024)}`);
    const r = (await op({ name: 'grep', input: { pattern: 'needle', path: 'conc-big' } }, ctx('big'))) as {
      content: Array<{ text: string }>;
    };
    assert.match(r.content[0]?.text ?? '', /No matches/);
    assert.ok(!reads.includes(big), 'the oversized file was not read');
  });

  it('a bash or file tool call whose command or path is not a string is refused, not checked as empty', async () => {
    const rt = await createRuntime({
      home: join(ROOT, 'w-bash'),
      policy: policyFor({
        user: { extensionPolicy: { profile: 'permissive', allowDangerous: true, overrides: { ext: { allow: ['exec'] } } } },
      }),
      heldSecrets: [],
      operations: new Map([['tool', () => ({ content: [{ type: 'text', text: 'host tool ran' }] })]]),
      workspace: PROJECT,
      fsLayout: { home: HOME, agentDir: AGENT },
      realFs: true,
      piTools: kit,
    });
    runtimes.push(rt);
    const r = await tool(rt, 'bash', { command: ['rm -rf ~/x'] });
    assert.ok(!r.ok && r.error.code === 'invalid_request', JSON.stringify(r));
    const plain = await tool(rt, 'bash', { command: 'ls' });
    assert.ok(
      plain.ok && JSON.stringify(plain.value).includes('host tool ran'),
      `the same call with a string command reaches the host: ${JSON.stringify(plain)}`,
    );
    const w = await tool(rt, 'write', { path: ['~/.bashrc'], content: 'x' });
    assert.ok(!w.ok && w.error.code === 'invalid_request', JSON.stringify(w));
    const ok = await tool(rt, 'summarise', { command: ['not mediated: an extension tool'] });
    assert.ok(ok.ok);
  });

  it('`~` in a tool path means the home the scope checked, for pi too', async () => {
    const rt = await runtime({ ext: { fs: { read: [HOME] } } });
    const f = text(await tool(rt, 'find', { pattern: '*.txt', path: '~' }));
    assert.match(f, /notes\/todo\.txt/);
  });
});
