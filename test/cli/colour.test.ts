import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colourEnabled, colours } from '../../src/cli/output.ts';

describe('CLI colour', () => {
  it('is decided by NO_COLOR, FORCE_COLOR and a terminal, never by CI', () => {
    assert.equal(colourEnabled({ CI: 'true' }, false), false);
    assert.equal(colourEnabled({}, true), true);
    assert.equal(colourEnabled({ TERM: 'dumb' }, true), false);
    assert.equal(colourEnabled({ NO_COLOR: '1', FORCE_COLOR: '1' }, true), false);
    assert.equal(colourEnabled({ NO_COLOR: '' }, true), true);
    assert.equal(colourEnabled({ FORCE_COLOR: '1' }, false), true);
    assert.equal(colourEnabled({ FORCE_COLOR: '0' }, true), false);
  });

  it('is asked on every call, so NO_COLOR set after import holds', () => {
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
    try {
      delete process.env.NO_COLOR;
      process.env.FORCE_COLOR = '1';
      assert.equal(colours.green('done'), '\x1b[32mdone\x1b[39m');
      process.env.NO_COLOR = '1';
      assert.equal(colours.green('done'), 'done');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
