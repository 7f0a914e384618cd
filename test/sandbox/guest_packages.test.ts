/**
 * The guest bundle's import guard with the guest packages of ADR 0037: guest code may import @noble/hashes,
 * @noble/ciphers and @noble/curves and nothing else from outside `guest/` (a Node module, another package, a
 * look-alike name), so host code still cannot leak into the sandbox by an import. Real esbuild, real packages.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { onlyGuestCode } from '../../src/sandbox/runtime.ts';

/** The entry sits in a temp folder; packages resolve from this checkout's node_modules, as the runtime's do. */
const nodeModules = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules');

async function bundleErrors(source: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-guard-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, source);
  try {
    await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      nodePaths: [nodeModules],
      format: 'iife',
      platform: 'neutral',
      logLevel: 'silent',
      plugins: [onlyGuestCode],
    });
    return [];
  } catch (err) {
    return ((err as { errors?: Array<{ text: string }> }).errors ?? []).map((e) => e.text);
  }
}

describe('the guest bundle may import the guest packages and nothing else', () => {
  it('bundles @noble/hashes, @noble/ciphers and @noble/curves with their own internal imports', async () => {
    const errors = await bundleErrors(`import { sha512 } from '@noble/hashes/sha2.js';
      import { gcm } from '@noble/ciphers/aes.js';
      import { ed25519 } from '@noble/curves/ed25519.js';
      export const used = [sha512, gcm, ed25519];`);
    assert.deepEqual(errors, []);
  });

  for (const spec of ['node:fs', 'esbuild', '@noble/hashes-evil', '@noblex/hashes', '@noble/secp', '../../src/errors.ts']) {
    it(`refuses ${spec}`, async () => {
      const errors = await bundleErrors(`import * as m from '${spec}';\nexport const used = m;`);
      assert.equal(errors.length, 1, `expected one error, found ${JSON.stringify(errors)}`);
      assert.match(errors[0] ?? '', /guest runtime may not import/);
    });
  }
});
