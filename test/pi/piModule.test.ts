/** Which pi pi-warden talks to: PI_WARDEN_PI_PACKAGE, then the pi on PATH, then the published names. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWardenError } from '../../src/errors.ts';
import { loadPiModule } from '../../src/pi/piModule.ts';
import { PI_VERSIONS } from './piWorld.ts';

describe('loadPiModule', () => {
  it('takes PI_WARDEN_PI_PACKAGE first', async () => {
    const pi = await loadPiModule({ env: { PI_WARDEN_PI_PACKAGE: PI_VERSIONS['1.5.2'], PATH: '' } });
    assert.equal(pi.VERSION, '1.5.2');
  });

  it('a PI_WARDEN_PI_PACKAGE that is not pi is an error naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pi-warden-notpi-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pi-coding-agent-lookalike', main: 'index.js' }));
    await assert.rejects(loadPiModule({ env: { PI_WARDEN_PI_PACKAGE: dir } }), (err) => {
      assert.ok(isWardenError(err));
      assert.match(err.message, new RegExp(`PI_WARDEN_PI_PACKAGE=${dir}`));
      return true;
    });
  });

  it('else the package behind the pi on PATH (through its symlink)', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'pi-warden-bin-'));
    symlinkSync(join(PI_VERSIONS['0.73.1'], 'dist', 'cli.js'), join(bin, 'pi'));
    const pi = await loadPiModule({ env: { PATH: bin } });
    assert.equal(pi.VERSION, '0.73.1');
  });

  it('else the newest published name this package resolves', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'pi-warden-nobin-'));
    mkdirSync(join(empty, 'pi'));
    const pi = await loadPiModule({ env: { PATH: empty } });
    assert.equal(pi.VERSION, '1.6.0');
  });
});
