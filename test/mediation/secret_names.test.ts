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

  it('numbered and qualified copies of a secret name and the short forms _SK, _PAT are secrets; _PK is not (issue 16 item 6)', () => {
    for (const n of [
      'OPENAI_API_KEY_2',
      'ANTHROPIC_API_KEY2',
      'GITHUB_TOKEN_3',
      'SLACK_TOKEN_PROD',
      'NPM_TOKEN_V2',
      'MISTRAL_API_KEY_BACKUP',
    ])
      assert.equal(classifySecretName(n).rule, 'qualified', n);
    assert.deepEqual(classifySecretName('OPENAI_API_KEY_2'), {
      name: 'OPENAI_API_KEY_2',
      secret: true,
      rule: 'qualified',
      matched: 'OPENAI_API_KEY: exact OPENAI_API_KEY',
    });
    for (const n of ['STRIPE_SK', 'STRIPE_LIVE_SK', 'GH_PAT', 'SSH_PRIVKEY', 'DEPLOY_PRIV_KEY'])
      assert.equal(classifySecretName(n).rule, 'suffix', n);
    assert.equal(classifySecretName('STRIPE_SK_LIVE').secret, true);
    // Publishable (Stripe's pk_live_ goes into web pages) or a primary key: not hidden, so not held.
    for (const n of ['STRIPE_PK', 'STRIPE_PK_LIVE', 'PK', 'SK', 'TASK_2', 'PATH_2', 'DISK_2', 'ASK_TIMEOUT', 'PKG_NAME', 'SKIP_TESTS'])
      assert.equal(classifySecretName(n).secret, false, n);
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
