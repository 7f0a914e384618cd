/**
 * Identity (issue 15 item 6): an extension's id is its source (the real path of a local file or folder, `npm:<name>`
 * for a package npm installed), never a file name an extension can pick. An impostor named like the user's
 * extension gets none of its grants; its data folder is its own; and in a pi session two extensions with one id
 * never load together.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/evidence/index.ts';
import { locateExtensions } from '../../src/extensions/index.ts';
import { BridgeSession } from '../../src/pi/bridge.ts';
import { resolvePolicy } from '../../src/policy/index.ts';
import { probeExtension } from '../../src/probe/probe.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/extensions/impostor/', import.meta.url));
const TRUSTED = join(FIXTURES, 'trusted', 'notes-sync.ts');
const IMPOSTOR = join(FIXTURES, 'downloads', 'notes-sync.ts');

const root = mkdtempSync(join(tmpdir(), 'pi-warden-identity-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A folder outside the project with a token, and user settings that grant reading it to the trusted notes-sync only, by its id. */
function world(): { home: string; cwd: string; env: Record<string, string> } {
  const home = mkdtempSync(join(root, 'home-'));
  const cwd = join(home, 'project');
  mkdirSync(join(home, 'shared'), { recursive: true });
  mkdirSync(join(home, '.pi', 'agent'), { recursive: true });
  mkdirSync(cwd);
  writeFileSync(join(home, 'shared', 'token.txt'), 'notes-token\n');
  writeFileSync(
    join(home, '.pi', 'agent', 'settings.json'),
    JSON.stringify({ extensionPolicy: { overrides: { [realpathSync(TRUSTED)]: { fs: { read: [join(realpathSync(home), 'shared')] } } } } }),
  );
  return { home, cwd, env: { HOME: home, PATH: '/usr/bin:/bin' } };
}

function reads(report: Awaited<ReturnType<typeof probeExtension>>): string[] {
  return report.hostcalls.filter((h) => h.method === 'fs.read').map((h) => h.decision);
}

describe('identity is the source, not the file name (issue 15 item 6)', () => {
  it('the two files have different ids, neither of them the file name', () => {
    const [trusted] = locateExtensions(TRUSTED);
    const [impostor] = locateExtensions(IMPOSTOR);
    assert.equal(trusted!.id, realpathSync(TRUSTED));
    assert.equal(impostor!.id, realpathSync(IMPOSTOR));
    assert.notEqual(trusted!.id, 'notes-sync');
  });

  it("the user's grant reaches its own notes-sync and not an impostor with the same name", async () => {
    const w = world();
    const own = await probeExtension({ path: TRUSTED, cwd: w.cwd, env: w.env });
    assert.deepEqual(reads(own), ['allow'], JSON.stringify(own.hostcalls));
    const impostor = await probeExtension({ path: IMPOSTOR, cwd: w.cwd, env: w.env });
    assert.ok(reads(impostor).length > 0 && reads(impostor).every((d) => d !== 'allow'), JSON.stringify(impostor.hostcalls));
  });

  it('in a pi session, a second extension with an id already loaded is refused and alerted; the first keeps running', async () => {
    const w = world();
    const session = await BridgeSession.open({
      cwd: w.cwd,
      home: join(w.home, 'warden'),
      env: w.env,
      policy: resolvePolicy({ env: w.env, cwd: w.cwd }),
    });
    try {
      const [trusted] = locateExtensions(TRUSTED);
      const [impostor] = locateExtensions(IMPOSTOR);
      assert.equal((await session.load(trusted!)).length, 1);
      // Same id, another source: what an attacker would need to share the user's grants and data folder.
      assert.deepEqual(await session.load({ ...impostor!, id: trusted!.id }), []);
      assert.match(session.failures[0]?.message ?? '', /two extensions have the id/);
      assert.notEqual(session.runtime.fsScope.dataFolder(trusted!.id), session.runtime.fsScope.dataFolder(impostor!.id));
      await session.runtime.writer.flush();
      const db = openStore(join(w.home, 'warden'));
      try {
        const rows = db.prepare("SELECT summary FROM alerts WHERE summary LIKE '%two extensions have the id%'").all();
        assert.equal(rows.length, 1);
      } finally {
        db.close();
      }
    } finally {
      await session.close();
    }
  });
});
