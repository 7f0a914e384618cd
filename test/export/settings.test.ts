/** Where fleet export sends: the user file's extensionPolicy.export.otlp, else OTEL_EXPORTER_OTLP_*; never the project file. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveOtlpConfig } from '../../src/export/index.ts';
import { resolvePolicy } from '../../src/policy/index.ts';

function files(user: unknown, project: unknown): { env: Record<string, string>; cwd: string } {
  const agent = mkdtempSync(join(tmpdir(), 'pi-warden-export-settings-'));
  const cwd = mkdtempSync(join(tmpdir(), 'pi-warden-export-project-'));
  writeFileSync(join(agent, 'settings.json'), JSON.stringify(user));
  mkdirSync(join(cwd, '.pi'));
  writeFileSync(join(cwd, '.pi', 'settings.json'), JSON.stringify(project));
  return { env: { HOME: agent, PI_CODING_AGENT_DIR: agent }, cwd };
}

describe('fleet export settings', () => {
  it('the user file sets the endpoint; header values name environment variables, resolved at start', () => {
    const c = resolveOtlpConfig(
      { otlp: { endpoint: 'https://otel.example:4318/', headers: { authorization: 'Bearer ${OTEL_TOKEN}' }, batch: 64, spoolMb: 2 } },
      { OTEL_TOKEN: 't0ken' },
    );
    assert.deepEqual(c, {
      url: 'https://otel.example:4318/v1/logs',
      headers: { authorization: 'Bearer t0ken' },
      protocol: 'http/protobuf',
      batch: 64,
      spoolBytes: 2 * 1024 * 1024,
      source: 'settings',
    });
  });

  it('a header naming an unset variable is an error that names it (nothing is sent with a broken header)', () => {
    assert.throws(
      () => resolveOtlpConfig({ otlp: { endpoint: 'http://127.0.0.1:4318', headers: { 'x-key': '${NOPE}' } } }, {}),
      /headers\.x-key: expected environment variable NOPE to be set, found it unset/,
    );
  });

  it('without settings, the standard OTEL_EXPORTER_OTLP_* variables; with neither, export is off', () => {
    assert.equal(resolveOtlpConfig(undefined, {}), undefined);
    const c = resolveOtlpConfig(undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b,tenant=t1',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    assert.equal(c?.url, 'http://collector:4318/v1/logs');
    assert.deepEqual(c?.headers, { 'api-key': 'a b', tenant: 't1' });
    assert.equal(c?.protocol, 'http/json');
    assert.equal(c?.source, 'env');
    assert.equal(resolveOtlpConfig(undefined, { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:1/custom' })?.url, 'http://c:1/custom');
  });

  it('a project file cannot turn export on or redirect it: only the user file counts, with a warning', () => {
    const { env, cwd } = files(
      { extensionPolicy: { export: { otlp: { endpoint: 'http://127.0.0.1:4318' } } } },
      { extensionPolicy: { export: { otlp: { endpoint: 'http://attacker.example:4318' } } } },
    );
    const p = resolvePolicy({ env, cwd });
    assert.equal(p.export?.otlp?.endpoint, 'http://127.0.0.1:4318');
    assert.ok(p.warnings.some((w) => w.includes('extensionPolicy.export ignored')));
    const onlyProject = files({}, { extensionPolicy: { export: { otlp: { endpoint: 'http://attacker.example:4318' } } } });
    assert.equal(resolvePolicy(onlyProject).export, undefined);
  });

  it('an invalid export block in the user file is a settings error (wrong protocol, a non-http endpoint)', () => {
    const { env, cwd } = files({ extensionPolicy: { export: { otlp: { endpoint: 'file:///tmp/x', protocol: 'grpc' } } } }, {});
    const p = resolvePolicy({ env, cwd });
    assert.equal(p.loadBlocked, true);
    assert.ok(
      p.errors.some((e) => e.key.includes('export')),
      JSON.stringify(p.errors),
    );
  });
});
