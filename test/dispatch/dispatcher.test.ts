import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { MemoryRecorder } from '../../src/dispatch/record.ts';
import type { Stage } from '../../src/dispatch/stage.ts';
import type { Prompter } from '../../src/dispatch/prompts.ts';
import { EXTENSION_ERROR_CODES, WardenError } from '../../src/errors.ts';
import { forgetPromptAnswers, rememberPromptAnswer } from '../../src/policy/promptAnswers.ts';
import { hostcall, policyFor, resolveIn, settingsDirs, until } from '../helpers.ts';

const READ = hostcall('fs.read', { path: '/tmp/x' });
const EXEC = hostcall('exec', { cmd: 'ls' });

function ops(calls: string[]): Map<string, Operation> {
  const record =
    (name: string): Operation =>
    (params) => {
      calls.push(name);
      return { echoed: params };
    };
  return new Map([
    ['log', record('log')],
    ['fs.read', record('fs.read')],
    ['exec', record('exec')],
    ['ctx.ui.notify', record('ctx.ui.notify')],
  ]);
}

describe('dispatch pipeline', () => {
  it('runs the stages in the SPEC order, plugged stages in their slots, then execute and record', () => {
    const stage = (name: Stage['name']): Stage => ({ name, run: () => undefined });
    const d = createDispatcher({
      policy: policyFor().compiled,
      stages: [stage('mediation'), stage('trust'), stage('quota'), stage('risk')],
    });
    assert.deepEqual(d.pipeline, ['validate', 'derive_capability', 'policy', 'trust', 'risk', 'quota', 'mediation', 'execute', 'record']);
    assert.throws(() => createDispatcher({ policy: policyFor().compiled, stages: [stage('policy')] }), /built in/);
    assert.throws(() => createDispatcher({ policy: policyFor().compiled, stages: [stage('risk'), stage('risk')] }), /given twice/);
    assert.throws(
      () => createDispatcher({ policy: policyFor().compiled, stages: [{ name: 'bogus' as Stage['name'], run: () => undefined }] }),
      /unknown dispatch stage/,
    );
  });

  it('executes an allowed call and records it', async () => {
    const calls: string[] = [];
    const recorder = new MemoryRecorder();
    const d = createDispatcher({ policy: policyFor().compiled, operations: ops(calls), recorder });
    const r = await d.dispatch('ext', READ);
    assert.deepEqual(r, { ok: true, callId: 'call-fs.read', value: { echoed: { path: '/tmp/x' } } });
    assert.deepEqual(calls, ['fs.read']);
    const e = recorder.entries[0]!;
    assert.equal(e.decision, 'allow');
    assert.equal(e.capability, 'read');
    assert.equal(e.rule, 'default_caps');
    assert.equal(e.extension_id, 'ext');
    assert.equal(e.error_code, null);
  });

  it('a denied call never reaches the operation, returns denied and is recorded with its reason', async () => {
    const calls: string[] = [];
    const recorder = new MemoryRecorder();
    const d = createDispatcher({ policy: policyFor().compiled, operations: ops(calls), recorder });
    const r = await d.dispatch('ext', EXEC);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'denied');
    assert.match(r.error.message, /Capability 'exec' denied by policy \(deny_caps/);
    assert.deepEqual(calls, []);
    assert.equal(recorder.entries[0]!.decision, 'deny');
    assert.deepEqual(recorder.entries[0]!.reason_codes, ['deny_caps']);
  });

  it('records invalid requests too, with no capability', async () => {
    const recorder = new MemoryRecorder();
    const d = createDispatcher({ policy: policyFor().compiled, recorder });
    const r = await d.dispatch('ext', { call_id: 'c1', method: 'nope', params: {} });
    assert.ok(!r.ok && r.error.code === 'invalid_request');
    const { extension_id, call_id, method, capability, declared_capability, decision, rule, error_code, reason_codes, stage } =
      recorder.entries[0]!;
    assert.deepEqual(
      { extension_id, call_id, method, capability, declared_capability, decision, rule, error_code, reason_codes, stage },
      {
        extension_id: 'ext',
        call_id: 'c1',
        method: 'nope',
        capability: null,
        declared_capability: null,
        decision: 'error',
        rule: null,
        error_code: 'invalid_request',
        reason_codes: ['invalid_request'],
        stage: 'validate',
      },
    );
  });

  it('records a forged capability as capability_mismatch and decides on the derived one', async () => {
    const calls: string[] = [];
    const recorder = new MemoryRecorder();
    const d = createDispatcher({ policy: policyFor().compiled, operations: ops(calls), recorder });
    const r = await d.dispatch('ext', { ...EXEC, capability: 'read' });
    assert.ok(!r.ok && r.error.code === 'denied');
    assert.deepEqual(calls, []);
    assert.deepEqual(recorder.entries[0]!.reason_codes, ['capability_mismatch', 'deny_caps']);
    assert.equal(recorder.entries[0]!.declared_capability, 'read');
  });

  it('reads each envelope field once: a getter cannot switch the method after validation', async () => {
    const calls: string[] = [];
    let reads = 0;
    const sneaky = {
      call_id: 'c',
      params: { level: 'info', message: 'x' },
      get method() {
        reads++;
        return reads === 1 ? 'log' : 'exec';
      },
    };
    const d = createDispatcher({
      policy: policyFor({ user: { extensionPolicy: { profile: 'permissive' } } }).compiled,
      operations: ops(calls),
    });
    const r = await d.dispatch('ext', sneaky);
    assert.ok(r.ok);
    assert.deepEqual(calls, ['log']);
    assert.equal(reads, 1);
  });

  it('a throwing getter or proxy is invalid_request, not a crash', async () => {
    const d = createDispatcher({ policy: policyFor().compiled });
    const r1 = await d.dispatch('ext', {
      call_id: 'c',
      get method(): string {
        throw new Error('boom');
      },
      params: {},
    });
    assert.ok(!r1.ok && r1.error.code === 'invalid_request');
    const r2 = await d.dispatch(
      'ext',
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
          has() {
            throw new Error('trap');
          },
          getOwnPropertyDescriptor() {
            throw new Error('trap');
          },
        },
      ),
    );
    assert.ok(!r2.ok && r2.error.code === 'invalid_request');
  });

  it('an allowed method with no operation in this host is invalid_request, not a silent success', async () => {
    const d = createDispatcher({ policy: policyFor().compiled });
    const r = await d.dispatch('ext', READ);
    assert.ok(!r.ok && r.error.code === 'invalid_request' && /not available/.test(r.error.message));
  });
});

describe('dispatch: stages fail closed', () => {
  it('a plugged stage can stop a call with any extension-visible code, and the code arrives unchanged', async () => {
    for (const code of EXTENSION_ERROR_CODES) {
      const calls: string[] = [];
      const stop: Stage = { name: 'quota', run: () => new WardenError(code, `stopped with ${code}`) };
      const d = createDispatcher({ policy: policyFor().compiled, operations: ops(calls), stages: [stop] });
      const r = await d.dispatch('ext', READ);
      assert.ok(!r.ok);
      assert.equal(r.error.code, code);
      assert.deepEqual(calls, []);
    }
  });

  it('a stage that throws, rejects or returns garbage denies the call as internal', async () => {
    const variants: Stage[] = [
      {
        name: 'risk',
        run: () => {
          throw new Error('bug');
        },
      },
      { name: 'risk', run: () => Promise.reject(new Error('bug')) },
      { name: 'risk', run: () => 'allow' as never },
      { name: 'risk', run: () => Promise.resolve({ ok: true } as never) },
    ];
    for (const stage of variants) {
      const calls: string[] = [];
      const d = createDispatcher({ policy: policyFor().compiled, operations: ops(calls), stages: [stage] });
      const r = await d.dispatch('ext', READ);
      assert.ok(!r.ok && r.error.code === 'internal', String(stage.run));
      assert.deepEqual(calls, []);
    }
  });

  it('async stages run in order and an async deny stops later stages', async () => {
    const seen: string[] = [];
    const d = createDispatcher({
      policy: policyFor().compiled,
      operations: ops(seen),
      stages: [
        {
          name: 'trust',
          run: async () => {
            seen.push('trust');
            await new Promise((r) => setTimeout(r, 1));
            return undefined;
          },
        },
        {
          name: 'risk',
          run: async () => {
            seen.push('risk');
            return new WardenError('denied', 'risk says no');
          },
        },
        {
          name: 'quota',
          run: () => {
            seen.push('quota');
            return undefined;
          },
        },
      ],
    });
    const r = await d.dispatch('ext', READ);
    assert.ok(!r.ok && r.error.code === 'denied');
    assert.deepEqual(seen, ['trust', 'risk']);
  });

  it('a recorder that fails withholds an allowed result', async () => {
    const calls: string[] = [];
    const d = createDispatcher({
      policy: policyFor().compiled,
      operations: ops(calls),
      recorder: {
        record: () => {
          throw new Error('disk full');
        },
      },
    });
    const r = await d.dispatch('ext', READ);
    assert.ok(!r.ok && r.error.code === 'internal' && r.error.reasonCodes.includes('record_failed'));
  });
});

describe('dispatch: operation outcomes keep their codes', () => {
  async function run(op: Operation, timeoutMs?: number) {
    const d = createDispatcher({ policy: policyFor().compiled, operations: new Map([['fs.read', op]]), operationTimeoutMs: timeoutMs });
    return d.dispatch('ext', READ);
  }
  it('file system errors are io', async () => {
    const r = await run(() => readFileSync('/definitely/not/here'));
    assert.ok(!r.ok && r.error.code === 'io' && r.error.reasonCodes.includes('ENOENT'));
  });
  it('quota_exceeded stays quota_exceeded (the reference turned it into internal)', async () => {
    const r = await run(async () => {
      throw new WardenError('quota_exceeded', 'too many');
    });
    assert.ok(!r.ok && r.error.code === 'quota_exceeded');
  });
  it('other failures are internal', async () => {
    const r = await run(() => {
      throw new TypeError('bad');
    });
    assert.ok(!r.ok && r.error.code === 'internal');
  });
  it('an operation past its deadline is timeout and its signal is aborted', async () => {
    let aborted = false;
    const r = await run(
      (_p, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve('late');
          });
        }),
      20,
    );
    assert.ok(!r.ok && r.error.code === 'timeout');
    assert.equal(aborted, true);
  });
  it('the error handed to the sandbox carries only code and message', async () => {
    const r = await run(() => {
      throw new TypeError('bad');
    });
    assert.ok(!r.ok);
    assert.deepEqual(Object.keys(r.error.toWire()).sort(), ['code', 'message']);
  });
});

describe('dispatch: prompts (INV-008, remembered answers)', () => {
  const balanced = () => policyFor({ user: { extensionPolicy: { profile: 'balanced' } } }).compiled;
  const UI = hostcall('ctx.ui.notify', {});

  it('prompt mode without a user interface denies (prompt_no_ui)', async () => {
    const calls: string[] = [];
    const d = createDispatcher({ policy: balanced(), operations: ops(calls) });
    const r = await d.dispatch('ext', UI);
    assert.ok(!r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('prompt_no_ui'));
    assert.deepEqual(calls, []);
  });

  function prompter(answers: Array<unknown>, asked: string[]): Prompter {
    return {
      ask: async (req) => {
        asked.push(`${req.extensionId}:${req.capability}`);
        const a = answers.shift();
        if (a instanceof Error) throw a;
        return a as never;
      },
    };
  }

  it('"once" allows this call only and is never persisted', async () => {
    const asked: string[] = [];
    const remembered: string[] = [];
    const d = createDispatcher({
      policy: balanced(),
      operations: ops([]),
      prompter: prompter(
        [
          { decision: 'allow', scope: 'once' },
          { decision: 'deny', scope: 'once' },
        ],
        asked,
      ),
      remember: (e, c, x) => remembered.push(`${e}:${c}:${x}`),
    });
    assert.ok((await d.dispatch('ext', UI)).ok);
    const second = await d.dispatch('ext', UI);
    assert.ok(!second.ok && second.error.reasonCodes.includes('prompt_user_deny'));
    assert.deepEqual(asked, ['ext:ui', 'ext:ui']);
    assert.deepEqual(remembered, []);
  });

  it('"session" is remembered in memory for that extension and capability only', async () => {
    const asked: string[] = [];
    const d = createDispatcher({
      policy: balanced(),
      operations: ops([]),
      prompter: prompter(
        [
          { decision: 'allow', scope: 'session' },
          { decision: 'deny', scope: 'once' },
        ],
        asked,
      ),
    });
    assert.ok((await d.dispatch('ext', UI)).ok);
    assert.ok((await d.dispatch('ext', UI)).ok);
    assert.ok(!(await d.dispatch('other', UI)).ok);
    assert.deepEqual(asked, ['ext:ui', 'other:ui']);
  });

  it('"always" is handed to remember and persisted into the user settings, visible to the next resolve', async () => {
    const dirs = settingsDirs({ user: { theme: 'dark', extensionPolicy: { profile: 'balanced' } } });
    const asked: string[] = [];
    const d = createDispatcher({
      policy: resolveIn(dirs).compiled,
      operations: ops([]),
      prompter: prompter([{ decision: 'allow', scope: 'always' }], asked),
      remember: (e, c, x) => rememberPromptAnswer(dirs.userPath, e, c, x),
    });
    assert.ok((await d.dispatch('ext', UI)).ok);
    assert.ok((await d.dispatch('ext', UI)).ok);
    assert.equal(asked.length, 1);
    const saved = JSON.parse(readFileSync(dirs.userPath, 'utf8'));
    assert.equal(saved.theme, 'dark');
    assert.deepEqual(saved.extensionPolicy.promptAnswers, { ext: { ui: 'allow' } });
    const again = resolveIn(dirs);
    assert.equal(again.rules.promptAnswers.get('ext')?.get('ui'), 'allow');
    assert.equal(forgetPromptAnswers(dirs.userPath, 'ext'), 1);
    assert.equal(resolveIn(dirs).rules.promptAnswers.size, 0);
  });

  it('remembering never rewrites a settings file it cannot parse', () => {
    const dirs = settingsDirs({ user: '{ broken' });
    assert.throws(() => rememberPromptAnswer(dirs.userPath, 'ext', 'ui', 'allow'), /not rewriting/);
    assert.equal(readFileSync(dirs.userPath, 'utf8'), '{ broken');
  });

  it('a new settings file written by remember is private (0600)', () => {
    const dirs = settingsDirs();
    rememberPromptAnswer(dirs.userPath, 'ext', 'log', 'deny');
    assert.equal(statSync(dirs.userPath).mode & 0o777, 0o600);
  });

  it('a prompter that throws, hangs, or answers garbage leads to deny', async () => {
    for (const answer of [new Error('ui gone'), { decision: 'yes', scope: 'once' }, null, 'allow']) {
      const d = createDispatcher({ policy: balanced(), operations: ops([]), prompter: prompter([answer], []) });
      const r = await d.dispatch('ext', UI);
      assert.ok(!r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('prompt_failed'), String(answer));
    }
    const hanging: Prompter = { ask: () => new Promise(() => undefined) };
    const d = createDispatcher({ policy: balanced(), operations: ops([]), prompter: hanging, promptTimeoutMs: 10 });
    const r = await d.dispatch('ext', UI);
    assert.ok(!r.ok && r.error.code === 'denied');
  });

  /** A prompter whose answers the test releases one question at a time. */
  function manualPrompter() {
    const asked: string[] = [];
    const waiting: Array<(v: unknown) => void> = [];
    const p: Prompter = {
      ask: (req) => {
        asked.push(req.method);
        return new Promise((r) => {
          waiting.push(r);
        }) as never;
      },
    };
    const answerNext = async (a: unknown) => {
      while (waiting.length === 0) await new Promise((r) => setTimeout(r, 1));
      (waiting.shift() as (v: unknown) => void)(a);
    };
    return { p, asked, answerNext };
  }

  it('concurrent calls with the same method share a session answer and ask once', async () => {
    const m = manualPrompter();
    const d = createDispatcher({ policy: balanced(), operations: ops([]), prompter: m.p });
    const pending = [d.dispatch('ext', UI), d.dispatch('ext', UI), d.dispatch('ext', UI)];
    await m.answerNext({ decision: 'allow', scope: 'session' });
    assert.ok((await Promise.all(pending)).every((r) => r.ok));
    assert.deepEqual(m.asked, ['ctx.ui.notify']);
  });

  it('a "once" answer covers only the call that asked: each waiting call asks for itself', async () => {
    const m = manualPrompter();
    const calls: string[] = [];
    const d = createDispatcher({ policy: balanced(), operations: ops(calls), prompter: m.p });
    const pending = [d.dispatch('ext', UI), d.dispatch('ext', UI)];
    await m.answerNext({ decision: 'allow', scope: 'once' });
    await m.answerNext({ decision: 'deny', scope: 'once' });
    const [first, second] = await Promise.all(pending);
    assert.ok(first!.ok);
    assert.ok(!second!.ok && second!.error.code === 'denied');
    assert.deepEqual(m.asked, ['ctx.ui.notify', 'ctx.ui.notify']);
    assert.deepEqual(calls, ['ctx.ui.notify']);
  });

  it('an answer about one method never lets a different method of the same capability through', async () => {
    const m = manualPrompter();
    const calls: string[] = [];
    const operations = new Map<string, Operation>([
      ['ctx.ui.notify', () => calls.push('notify')],
      ['ctx.ui.onTerminalInput', () => calls.push('keylogger')],
    ]);
    const d = createDispatcher({ policy: balanced(), operations, prompter: m.p });
    const notify = d.dispatch('ext', UI);
    const tap = d.dispatch('ext', hostcall('ctx.ui.onTerminalInput', {}));
    await m.answerNext({ decision: 'allow', scope: 'once' });
    await m.answerNext({ decision: 'deny', scope: 'once' });
    assert.ok((await notify).ok);
    assert.ok(!(await tap).ok);
    assert.deepEqual(calls, ['notify']);
    assert.deepEqual(m.asked, ['ctx.ui.notify', 'ctx.ui.onTerminalInput']);
  });

  it('a policy change while the user is being asked wins over the answer', async () => {
    const m = manualPrompter();
    let policy = balanced();
    const d = createDispatcher({ policy: () => policy, operations: ops([]), prompter: m.p });
    const pending = d.dispatch('ext', UI);
    await until(() => m.asked.length === 1, 'the prompt to be asked');
    policy = policyFor({ user: { extensionPolicy: { profile: 'balanced', denyCaps: ['ui'] } } }).compiled;
    await m.answerNext({ decision: 'allow', scope: 'once' });
    const r = await pending;
    assert.ok(!r.ok && r.error.code === 'denied' && /policy changed while asking/.test(r.error.message));
  });

  it('a prompt answer never overrides a deny: exec is denied without asking', async () => {
    const asked: string[] = [];
    const d = createDispatcher({
      policy: balanced(),
      operations: ops([]),
      prompter: prompter([{ decision: 'allow', scope: 'always' }], asked),
    });
    const r = await d.dispatch('ext', EXEC);
    assert.ok(!r.ok && r.error.code === 'denied');
    assert.deepEqual(asked, []);
  });
});

describe('MemoryRecorder', () => {
  it('keeps the newest records in order once full', () => {
    const r = new MemoryRecorder(3);
    for (let i = 0; i < 5; i++) r.record({ call_id: String(i) } as never);
    assert.deepEqual(
      r.entries.map((e) => e.call_id),
      ['2', '3', '4'],
    );
    r.clear();
    assert.deepEqual(r.entries, []);
  });
});

describe('dispatchSync', () => {
  it('refuses a prompt without asking the user, and records the refusal', () => {
    let asked = 0;
    const recorder = new MemoryRecorder();
    const d = createDispatcher({
      policy: policyFor({ user: { extensionPolicy: { profile: 'balanced' } } }).compiled,
      recorder,
      prompter: {
        ask: async () => {
          asked++;
          return { decision: 'allow', scope: 'once' };
        },
      },
      operations: new Map([['ctx.ui.notify', () => null]]),
    });
    const r = d.dispatchSync('ext', hostcall('ctx.ui.notify', {}));
    assert.ok(!r.ok && r.error.code === 'denied' && r.error.reasonCodes.includes('sync_needs_prompt'));
    assert.equal(asked, 0);
    assert.equal(recorder.entries[0]!.stage, 'policy');
  });

  it('runs plugged synchronous stages and refuses when one would wait', () => {
    const seen: string[] = [];
    const d = createDispatcher({
      policy: policyFor().compiled,
      operations: new Map([['fs.read', () => 'x']]),
      stages: [
        {
          name: 'trust',
          run: () => {
            seen.push('trust');
            return undefined;
          },
        },
        { name: 'risk', run: async () => undefined },
      ],
    });
    const r = d.dispatchSync('ext', READ);
    assert.deepEqual(seen, ['trust']);
    assert.ok(!r.ok && r.error.code === 'denied');
  });
});
