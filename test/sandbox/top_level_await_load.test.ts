/**
 * Top-level await (issue 23 item 5): an extension whose own code or npm dependency awaits at top level is bundled as
 * an ES module and imported by the guest inside its load invocation, so the awaits settle before the factory runs
 * (pi's jiti semantics) and run under the same limits as the rest of the load: policy on every hostcall, the CPU
 * deadline, the memory cap, the wall limit of an invocation. Everything here runs in the real sandbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WardenError } from '../../src/errors.ts';
import { policyFor } from '../helpers.ts';
import { bundleEntry } from '../../src/sandbox/index.ts';
import { ask, createSandbox, loadFixture, loadSource, type Harness, type HarnessOptions } from './harness.ts';

const DATA_DIR = mkdtempSync(join(tmpdir(), 'pi-warden-tla-'));
const DATA = join(DATA_DIR, 'settings.txt');
writeFileSync(DATA, 'read at top level');
const NO_READ = policyFor({ user: { extensionPolicy: { denyCaps: ['read'] } } });

/** Loading `source` must fail; returns the error and the (stopped) sandbox's harness. */
async function loadFails(source: string, options: HarnessOptions = {}): Promise<{ err: WardenError; h: Harness }> {
  const file = join(mkdtempSync(join(tmpdir(), 'pi-warden-tla-src-')), 'ext.ts');
  writeFileSync(file, source);
  const h = await createSandbox(options);
  try {
    await h.sandbox.load(await bundleEntry(file));
  } catch (err) {
    assert.ok(err instanceof WardenError, `expected a WardenError, found ${String(err)}`);
    return { err, h };
  } finally {
    h.sandbox.dispose();
  }
  assert.fail('expected the load to fail, it succeeded');
}

describe('an extension that awaits at top level loads and runs in the sandbox', () => {
  it('a dependency awaiting a file read and a timer: the factory runs after both settled, its tool sees the values', async () => {
    const h = await loadFixture('tla-dependency/index.ts');
    try {
      assert.equal(h.sandbox.bundle?.format, 'esm');
      const out = await h.sandbox.runTool('slow_config', 'c1', { key: 'greeting' });
      assert.ok(out.ok, `the tool failed: ${JSON.stringify(out)}`);
      const result = (out.value as { result: { content: { text: string }[]; details: Record<string, unknown> } }).result;
      assert.equal(result.content[0]?.text, 'greeting=hello from a top-level await');
      // __filename is the entry's in a module bundle too; node:path and node:os arrive through both import forms.
      assert.deepEqual(result.details, { value: 'hello from a top-level await', file: 'index.ts', sep: '/', eol: '\n' });
      const read = h.recorder.entries.find((e) => e.method === 'fs.read');
      assert.equal(read?.decision, 'allow', 'the dependency read its file through the fs.read hostcall');
    } finally {
      h.sandbox.dispose();
    }
  });

  it("the extension's own top-level await, on a synchronous and an asynchronous hostcall, settles before its factory; host packages are served", async () => {
    const h = await loadSource(
      `import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Text } from '@mariozechner/pi-tui';
import { StringEnum } from '@earendil-works/pi-ai';
let ready = false;
const viaPromise = await readFile(${JSON.stringify(DATA)}, 'utf8');
const viaSync = readFileSync(${JSON.stringify(DATA)}, 'utf8');
await new Promise((r) => setTimeout(r, 1));
ready = true;
export default function (pi) {
  const seen = ready;
  pi.on('what', () => ({ seen, viaPromise, viaSync, hostPackages: [typeof Text, typeof StringEnum] }));
}`,
    );
    try {
      assert.equal(h.sandbox.bundle?.format, 'esm');
      assert.deepEqual(await ask(h, 'what'), {
        seen: true,
        viaPromise: 'read at top level',
        viaSync: 'read at top level',
        hostPackages: ['function', 'function'],
      });
    } finally {
      h.sandbox.dispose();
    }
  });

  it('a hostcall the policy refuses at top level fails the load with the policy reason, and dispatch records the denial', async () => {
    const { err, h } = await loadFails(
      `import { readFile } from 'node:fs/promises';
const text = await readFile(${JSON.stringify(DATA)}, 'utf8');
export default function (pi) { pi.on('x', () => text); }`,
      { policy: NO_READ },
    );
    assert.equal(err.code, 'invalid_request');
    assert.deepEqual(err.reasonCodes, ['load_failed']);
    assert.match(err.message, /ext\.ts: the extension failed to load: .*EACCES: Capability 'read' denied by policy \(deny_caps/);
    const read = h.recorder.entries.find((e) => e.method === 'fs.read');
    assert.deepEqual([read?.capability, read?.decision, read?.rule], ['read', 'deny', 'deny_caps']);
  });

  it('a top-level await that rejects fails the load with its reason, naming the extension file', async () => {
    const { err } = await loadFails(`await Promise.reject(new Error('config server unreachable'));\nexport default function () {}`);
    assert.deepEqual([err.code, err.reasonCodes], ['invalid_request', ['load_failed']]);
    assert.match(err.message, /\/ext\.ts: the extension failed to load: Error: config server unreachable/);
  });

  it('a top-level await that never settles fails the load at the invocation wall limit, not a hang', async () => {
    const { err } = await loadFails(`await new Promise(() => {});\nexport default function () {}`, {
      extensionId: 'never-settles',
      limits: { wallTimeMs: 300 },
    });
    assert.deepEqual([err.code, err.reasonCodes], ['timeout', ['wall_time']]);
    assert.equal(err.message, 'never-settles: load did not settle within 300 ms');
  });

  it('a top-level await that spins after a timer is stopped by the CPU deadline, the sandbox with it', async () => {
    const { err, h } = await loadFails(`await new Promise((r) => setTimeout(r, 1));\nfor (;;) {}\nexport default function () {}`, {
      extensionId: 'spins',
      limits: { loadCpuMs: 100, cpuMsPerEntry: 100 },
    });
    assert.deepEqual([err.code, err.reasonCodes], ['timeout', ['cpu_deadline']]);
    assert.match(err.message, /^spins: the extension used more than its 100 ms of CPU time/);
    assert.equal(h.sandbox.stopped?.message, err.message, 'the sandbox was stopped by the deadline');
  });

  it('a module spinning before its first await is stopped by the load CPU deadline', async () => {
    // QuickJS makes an interrupt inside a module body a rejection of the module: the entry must still end the sandbox.
    const { err, h } = await loadFails(`for (;;) {}\nawait 0;\nexport default function () {}`, { limits: { loadCpuMs: 100 } });
    assert.deepEqual([err.code, err.reasonCodes], ['timeout', ['cpu_deadline']]);
    assert.match(err.message, /used more than its 100 ms of CPU time \(load\)/);
    assert.equal(h.sandbox.stopped?.message, err.message, 'the sandbox was stopped by the deadline');
  });

  it('a module allocating without end at top level is stopped by the memory cap', async () => {
    const { err } = await loadFails(
      `const kept = [];\nawait 0;\nfor (;;) kept.push(new Array(100000).fill(1));\nexport default function () {}`,
      {
        limits: { memoryMb: 4 },
      },
    );
    assert.deepEqual([err.code, err.reasonCodes], ['quota_exceeded', ['memory_cap']]);
  });

  it('the engine serves the extension module once: an import() of anything else is still refused', async () => {
    const { err } = await loadFails(`const m = await (0, eval)('import("/etc/passwd")');\nexport default function () { void m; }`);
    assert.match(err.message, /the extension failed to load: Error: denied: import\("\/etc\/passwd"\) is not available in the sandbox/);
    const h = await loadSource(
      `await 0;\nexport default function (pi) { pi.on('same', async () => typeof (await import(__filename)).default); }`,
    );
    try {
      assert.equal(await ask(h, 'same'), 'function', 'importing itself later gives its own, already loaded, module');
    } finally {
      h.sandbox.dispose();
    }
  });

  it('a CommonJS extension is still a script bundle, defined and run as before', async () => {
    const h = await loadFixture('benign.ts');
    try {
      assert.equal(h.sandbox.bundle?.format, 'cjs');
      assert.doesNotMatch(h.sandbox.bundle?.code ?? '', /^export \{/m);
    } finally {
      h.sandbox.dispose();
    }
  });
});
