/**
 * `probe` on every example extension shipped in both pi packages: each loads in the sandbox, or its failure is
 * one of the explained ones below. Policy denials inside handlers are expected (safe profile) and not failures.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { probeExtension } from '../../src/probe/probe.ts';
import { EXAMPLES, NO_HOME } from './harness.ts';

/**
 * Example (or `package:example` where the two packages differ) → why it cannot load from the published package
 * (pi's own loader fails the same way, or pi-warden's scan gate refuses it).
 */
const EXPLAINED_LOAD_FAILURES: Record<string, RegExp> = {
  gondolin: /Could not resolve "@earendil-works\/gondolin"/, // its npm dependency is not installed in the package
  sandbox: /Could not resolve "@anthropic-ai\/sandbox-runtime"/, // same
  // Their npm dependency is not installed in the example's own node_modules either; here it resolves to this
  // repository's hoisted copy, outside the example's package, which the loader refuses (ADR 0021). with-deps loads
  // with the dependency in its own node_modules in test/sandbox/sandbox.test.ts.
  'with-deps': /refused to bundle import "ms" .*outside the extension's package root/,
  'custom-provider-anthropic': /refused to bundle import "@anthropic-ai\/sdk" .*outside the extension's package root/,
  // pi.registerProvider re-points model traffic and receives the API key, so it needs env (ADR 0005); under the
  // safe profile the factory's registration is refused and the extension does not load. A deliberate denial.
  'custom-provider-gitlab-duo': /Capability 'env' denied by policy/,
  // The scan gate (issue 15 item 2): a forbidden verdict is not loaded without the user's allowForbiddenScan.
  'doom-overlay': /scan verdict is forbidden \(code\.function-constructor\)/, // the WASM glue builds code with Function
};

/** Example/step → why the step fails for a reason other than a policy denial. */
const EXPLAINED_STEP_FAILURES: Record<string, RegExp> = {};

for (const [pkg, dir] of Object.entries(EXAMPLES)) {
  describe(`probe on every example of ${pkg === 'earendil' ? '@earendil-works' : '@mariozechner'}/pi-coding-agent`, () => {
    for (const name of readdirSync(dir)
      .filter((n) => n !== 'README.md')
      .sort()) {
      it(name, async () => {
        const report = await probeExtension({ path: join(dir, name), cwd: NO_HOME, env: { HOME: NO_HOME } });
        assert.ok(report.extensions.length > 0);
        for (const ext of report.extensions) {
          const stem = name.replace(/\.ts$/, '');
          const key = `${pkg}:${stem}` in EXPLAINED_LOAD_FAILURES ? `${pkg}:${stem}` : stem;
          if (!ext.loaded) {
            assert.match(ext.loadError ?? '', EXPLAINED_LOAD_FAILURES[key] ?? /^(?!)/, `unexplained load failure: ${ext.loadError}`);
            continue;
          }
          assert.equal(EXPLAINED_LOAD_FAILURES[key], undefined, `${name} now loads: drop it from the explained failures`);
          for (const step of ext.steps.filter((s) => !s.ok && !/denied by policy/.test(s.detail ?? ''))) {
            assert.match(step.detail ?? '', EXPLAINED_STEP_FAILURES[`${key}/${step.step}`] ?? /^(?!)/, `${step.step}: ${step.detail}`);
          }
        }
        assert.deepEqual(report.sandboxEvents, [], 'no example is stopped as a runaway');
      });
    }
  });
}
