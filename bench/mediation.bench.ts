/**
 * Mediation benchmarks (bench/results/mediation.json, issue: mediation item 7 — partial): secret value scanning
 * throughput with 50 held secrets versus `Buffer.indexOf` of one value over the same bytes, name classification
 * p99, the dispatch pipeline p99 with the mediation stage on versus off, and exec mediation (classification of
 * argv and shell strings; exec dispatch with the exec stage on versus off), and HTTP egress (http dispatch with the
 * egress stage on versus off).
 */
import { spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createDispatcher, type Operation } from '../src/dispatch/dispatcher.ts';
import { analyseExec, createExecStage } from '../src/mediation/exec/stage.ts';
import { createEgressStage } from '../src/mediation/http/egress.ts';
import { createHttpOperation } from '../src/mediation/http/operation.ts';
import { createOutboundStage } from '../src/mediation/secrets/outbound.ts';
import { classifySecretName } from '../src/mediation/secrets/names.ts';
import { SecretValueIndex } from '../src/mediation/secrets/values.ts';
import { compilePolicy } from '../src/policy/precedence.ts';
import { egressRulesLookup } from '../src/policy/egressSettings.ts';
import { rulesFor } from '../src/policy/settings.ts';
import { benchAsync, benchSync, printResults, relativeTo, writeResults } from './harness.ts';

export async function run(): Promise<string> {
  const secrets = Array.from({ length: 50 }, (_, i) => ({
    name: `SERVICE_${i}_API_KEY`,
    value: `sk-${randomBytes(18).toString('base64url')}`,
  }));
  const index = new SecretValueIndex(secrets);
  // 8 MiB of JSON-ish text with no secret in it: the common case is a clean payload.
  const chunk = JSON.stringify({
    model: 'claude',
    messages: [{ role: 'user', content: 'Refactor src/index.ts to use async iterators and add tests. '.repeat(40) }],
    tools: ['read', 'bash'],
  });
  const text = chunk.repeat(Math.ceil((8 * 1024 * 1024) / chunk.length)).slice(0, 8 * 1024 * 1024);
  const bytes = Buffer.from(text);
  const mb = bytes.length / 1e6;
  const time = (fn: () => unknown, runs = 5) => {
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      fn();
      ts.push(performance.now() - t);
    }
    return ts.sort((a, b) => a - b)[Math.floor(runs / 2)] as number;
  };
  if (index.scan(text).length !== 0) throw new Error('the benchmark text must be clean');
  const scanMs = time(() => index.scan(text));
  const needle = Buffer.from(secrets[0]!.value);
  const indexOfMs = time(() => bytes.indexOf(needle));
  const names = [
    'OPENAI_API_KEY',
    'PATH',
    'KEYBOARD_LAYOUT',
    'ORDERS_DB_URL',
    'MY_SERVICE_TOKEN',
    'HOME',
    'AWS_SECRET_ACCESS_KEY',
    'XDG_SESSION_TYPE',
  ];
  const classify = benchSync('secret name classification', 200_000, (i) => classifySecretName(names[i & 7]!));

  const ops = new Map<string, Operation>([['http', () => 'ok']]);
  const policy = compilePolicy(rulesFor('permissive', true));
  const off = createDispatcher({ policy, operations: ops });
  const on = createDispatcher({ policy, operations: ops, stages: [createOutboundStage({ index: () => index, salt: 's' })] });
  const call = {
    call_id: 'c',
    method: 'http',
    params: { url: 'https://api.example.com/v1/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body: chunk },
  };
  const offR = await benchAsync('dispatch http, mediation off', 20_000, () => off.dispatch('ext', call), 50);
  const onR = relativeTo(await benchAsync('dispatch http (2 KB body), mediation on', 20_000, () => on.dispatch('ext', call), 50), offR);
  // HTTP egress pre-flight (URL parse, 5 deny + 10 allow patterns, size) on the same call; the operation is a no-op,
  // so DNS and the socket (the http operation's own checks) are not in this number.
  const egressRules = egressRulesLookup({
    user: {
      defaults: {
        denyHosts: ['*.evil.test', 'tracker.example', '203.0.113.9', '*.internal.example', 'old.example.com:8080'],
        allowHosts: [
          'api.anthropic.com',
          'api.openai.com',
          '*.github.com',
          'registry.npmjs.org',
          '*.googleapis.com',
          'api.example.com',
          'cdn.example.net',
          'pypi.org',
          'files.pythonhosted.org',
          'crates.io',
        ],
      },
      overrides: {},
    },
    project: undefined,
  });
  const egressOn = createDispatcher({ policy, operations: ops, stages: [createEgressStage({ rules: egressRules })] });
  if (!(await egressOn.dispatch('ext', call)).ok) throw new Error('the benchmark URL must pass the egress rules');
  const egressR = relativeTo(
    await benchAsync('dispatch http, egress stage on (5 deny, 10 allow patterns)', 20_000, () => egressOn.dispatch('ext', call), 50),
    offR,
  );
  // The real operation against a loopback server (a new connection per request, as the operation makes) versus a
  // bare node:http request with the same agent setting: what the checks, pinning and body handling add to I/O.
  const server = createServer((_req, res) => res.end('{"ok":true}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/status`;
  const bare = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  const realOp = createHttpOperation({
    rules: egressRulesLookup({ user: { defaults: { allowPrivate: ['127.0.0.1'] }, overrides: {} }, project: undefined }),
  });
  const opCtx = { extensionId: 'ext', callId: 'c', capability: 'http' as const, signal: new AbortController().signal };
  const bareR = await benchAsync('node:http GET on loopback, new connection (no checks)', 2_000, bare);
  const opR = relativeTo(
    await benchAsync('http operation GET on loopback (checks, pinned connect, body cap)', 2_000, () =>
      Promise.resolve(realOp({ url }, opCtx)),
    ),
    bareR,
  );
  await new Promise<void>((r) => server.close(() => r()));
  // Exec mediation: classification of a direct argv and of a shell string (parsed by mvdan-sh), and an exec
  // dispatch with the exec stage on vs off (the operation is a no-op: only the pipeline is measured).
  const script = 'set -e; cd packages/app && npm run build 2>&1 | tee build.log && git status --short | wc -l';
  const argvR = benchSync('exec classification, argv', 100_000, () => analyseExec({ cmd: 'git', args: ['status', '--short'] }));
  let fresh = 0;
  // Cold: every string is new (a counter in a comment defeats the parse cache). Warm: the same string again.
  const shellR = relativeTo(
    benchSync('exec classification, sh -c string, cold (5 commands, 2 pipelines)', 5_000, () =>
      analyseExec({ cmd: 'sh', args: ['-c', `${script} # ${fresh++}`] }),
    ),
    argvR,
  );
  const shellWarmR = relativeTo(
    benchSync('exec classification, sh -c string, repeated (parse cache)', 100_000, () => analyseExec({ cmd: 'sh', args: ['-c', script] })),
    argvR,
  );
  const execOps = new Map<string, Operation>([['exec', () => ({ stdout: '', code: 0 })]]);
  const execOff = createDispatcher({ policy, operations: execOps });
  const execOn = createDispatcher({
    policy,
    operations: execOps,
    stages: [createExecStage({ policy, workspace: process.cwd(), commandHash: () => 'h' })],
  });
  const execCall = (i: number) => ({ call_id: 'e', method: 'exec', params: { cmd: 'sh', args: ['-c', `${script} # ${i}-${fresh++}`] } });
  if (!(await execOn.dispatch('ext', execCall(0))).ok) throw new Error('the benchmark command must be allowed');
  const execOffR = await benchAsync('dispatch exec sh -c, exec mediation off', 5_000, (i) => execOff.dispatch('ext', execCall(i)), 50);
  const execOnR = relativeTo(
    await benchAsync(
      'dispatch exec sh -c (new string each call), exec mediation on',
      5_000,
      (i) => execOn.dispatch('ext', execCall(i)),
      50,
    ),
    execOffR,
  );
  // Plain strings (words joined by | && || ;) take the fast path, no GopherJS parser: most commands extensions run.
  const plain = 'cd packages/app && npm run build | tee build.log && git status --short | wc -l && echo';
  const plainR = relativeTo(
    benchSync('exec classification, plain sh -c string, new each call (fast path)', 20_000, () =>
      analyseExec({ cmd: 'sh', args: ['-c', `${plain} ${fresh++}`] }),
    ),
    argvR,
  );
  const plainCall = (i: number) => ({ call_id: 'e', method: 'exec', params: { cmd: 'sh', args: ['-c', `${plain} ${i}-${fresh++}`] } });
  if (!(await execOn.dispatch('ext', plainCall(0))).ok) throw new Error('the plain benchmark command must be allowed');
  const plainOnR = relativeTo(
    await benchAsync(
      'dispatch exec plain sh -c (new string each call), exec mediation on',
      20_000,
      (i) => execOn.dispatch('ext', plainCall(i)),
      50,
    ),
    execOffR,
  );
  // For scale: what running the command costs anyway (a real sh process that does nothing).
  const spawnR = benchSync('spawnSync sh -c true (the process itself)', 200, () => spawnSync('sh', ['-c', 'true']));
  const results = [classify, offR, onR, egressR, bareR, opR, argvR, shellR, shellWarmR, execOffR, execOnR, plainR, plainOnR, spawnR];
  printResults('mediation', results);
  const scan = {
    held_secrets: 50,
    patterns: index.patternCount,
    bytes: bytes.length,
    scan_mb_per_s: Number((mb / (scanMs / 1000)).toFixed(1)),
    index_of_one_value_mb_per_s: Number((mb / (indexOfMs / 1000)).toFixed(1)),
    ratio_scan_to_index_of_one: Number((indexOfMs / scanMs).toFixed(3)),
    note: 'one pass over UTF-16 code units for all 50 values in every encoding; indexOf is the native search for a single raw value',
  };
  process.stdout.write(
    `  value scan: ${scan.scan_mb_per_s} MB/s for ${scan.patterns} patterns vs indexOf of one value ${scan.index_of_one_value_mb_per_s} MB/s (ratio ${scan.ratio_scan_to_index_of_one})\n`,
  );
  return writeResults('mediation', results, { value_scan: scan });
}
