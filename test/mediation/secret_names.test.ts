/** Secret broker name coverage (SPEC §5.1): ≥ 99% of 150+ real secret names, no ordinary name flagged. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BLOCKLIST_COUNTS, classifySecretName } from '../../src/mediation/secrets/names.ts';

const list = (file: string) =>
  readFileSync(new URL(`../fixtures/secrets/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

describe('secret broker: names', () => {
  it('covers ≥ 99% of at least 150 real secret variable names', () => {
    const names = list('secret-names.txt');
    assert.ok(names.length >= 150, `${names.length} names`);
    assert.equal(new Set(names).size, names.length, 'no duplicates in the list');
    const missed = names.filter((n) => !classifySecretName(n).secret);
    assert.ok(missed.length / names.length <= 0.01, `missed: ${missed.join(', ')}`);
  });

  it('flags none of at least 100 ordinary variable names', () => {
    const names = list('ordinary-names.txt');
    assert.ok(names.length >= 100, `${names.length} names`);
    assert.deepEqual(
      names.filter((n) => classifySecretName(n).secret).map((n) => `${n} (${classifySecretName(n).rule})`),
      [],
    );
  });

  it('contains the reference blocklist (26 exact, 11 suffixes, 2 prefixes) and more', () => {
    assert.deepEqual(BLOCKLIST_COUNTS.reference, { exact: 26, suffixes: 11, prefixes: 2 });
    assert.ok(BLOCKLIST_COUNTS.total.exact > 26 && BLOCKLIST_COUNTS.total.suffixes > 11 && BLOCKLIST_COUNTS.total.prefixes > 2);
    // The reference's refactor regressed these; ours keeps them secret.
    for (const n of ['AWS_ACCESS_KEY_ID', 'MONGODB_URI', 'STRIPE_KEY_ID']) assert.equal(classifySecretName(n).secret, true, n);
  });

  it('is case-insensitive and says which rule decided', () => {
    assert.deepEqual(classifySecretName('openai_api_key'), {
      name: 'openai_api_key',
      secret: true,
      rule: 'exact',
      matched: 'OPENAI_API_KEY',
    });
    assert.equal(classifySecretName('MY_SERVICE_TOKEN').rule, 'suffix');
    assert.equal(classifySecretName('SECRET_SAUCE').rule, 'prefix');
    assert.equal(classifySecretName('APP_SECRET_VALUE').rule, 'secret_word');
    assert.equal(classifySecretName('ORDERS_DB_URL').rule, 'connection_url');
    assert.equal(classifySecretName('HOME').rule, 'not_secret');
  });

  it('the disclosure allowlist and a disabled broker are explicit, visible exceptions', () => {
    assert.deepEqual(classifySecretName('OPENAI_API_KEY', { enabled: true, disclosureAllowlist: ['openai_api_key'] }), {
      name: 'OPENAI_API_KEY',
      secret: false,
      rule: 'disclosure_allowlist',
    });
    assert.equal(classifySecretName('GITHUB_TOKEN', { enabled: true, disclosureAllowlist: ['OPENAI_API_KEY'] }).secret, true);
    assert.deepEqual(classifySecretName('GITHUB_TOKEN', { enabled: false, disclosureAllowlist: [] }), {
      name: 'GITHUB_TOKEN',
      secret: false,
      rule: 'broker_disabled',
    });
  });

  it('an empty or absurd name fails closed (treated as secret)', () => {
    assert.equal(classifySecretName('').secret, true);
    assert.equal(classifySecretName('A'.repeat(5000)).secret, true);
  });
});

describe('pi-warden secrets classify', () => {
  it('prints {name, secret, rule} per name and honours the disclosure allowlist from settings', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { settingsDirs } = await import('../helpers.ts');
    const dirs = settingsDirs({ user: { extensionPolicy: { secretBroker: { disclosureAllowlist: ['GITHUB_TOKEN'] } } } });
    const bin = fileURLToPath(new URL('../../bin/pi-warden.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'secrets', 'classify', 'OPENAI_API_KEY', 'GITHUB_TOKEN', 'KEYBOARD_LAYOUT', '--json'], {
      cwd: dirs.cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...dirs.env },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).results, [
      { name: 'OPENAI_API_KEY', secret: true, rule: 'exact' },
      { name: 'GITHUB_TOKEN', secret: false, rule: 'disclosure_allowlist' },
      { name: 'KEYBOARD_LAYOUT', secret: false, rule: 'not_secret' },
    ]);
  });
});
