/**
 * The launcher starts pi with `--no-extensions`, which also drops pi's own built-in extensions (pi 1.5.2+: codemode,
 * tool-search, mcp, llama.cpp); it asks pi for the ones the user's settings enable and passes them back by name, so a
 * user who turned one off keeps it off and the others stay on. 0.73.1 has none.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPiModule } from '../../src/pi/piModule.ts';
import { enabledBuiltins } from '../../src/pi/routes.ts';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pi-warden-builtins-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe("launcher: pi's built-in extensions as the user's settings enable them", () => {
  for (const [version, dir] of [
    ['1.6.0', '@earendil-works/pi-coding-agent'],
    ['1.5.2', 'pi-coding-agent-1.5.2'],
    ['0.73.1', '@mariozechner/pi-coding-agent'],
  ] as const) {
    it(`pi ${version}`, async () => {
      const pi = await loadPiModule({ env: { PI_WARDEN_PI_PACKAGE: join(NODE_MODULES, dir), PATH: '' } });
      const agentDir = join(root, version, 'agent');
      const cwd = join(root, version, 'project');
      mkdirSync(agentDir, { recursive: true });
      mkdirSync(cwd, { recursive: true });
      const all = await enabledBuiltins(pi, { cwd, agentDir });
      if (version === '0.73.1') {
        assert.deepEqual(all, []);
        return;
      }
      assert.ok(all.includes('builtin:mcp') && all.includes('builtin:codemode'), JSON.stringify(all));
      writeFileSync(join(agentDir, 'settings.json'), JSON.stringify({ extensions: ['-builtin:mcp'] }));
      const some = await enabledBuiltins(pi, { cwd, agentDir });
      assert.ok(!some.includes('builtin:mcp'), JSON.stringify(some));
      assert.ok(some.includes('builtin:codemode'), JSON.stringify(some));
    });
  }
});
