/**
 * One prompt broker answers for both askers (SPEC §4.2, INV-008): the policy stage (a capability in prompt mode)
 * and exec mediation (a command held back only by grantable classes). Each behaviour is checked through both, so
 * neither can keep a memory, a de-duplication or a refusal of its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createDispatcher, type Operation } from '../../src/dispatch/dispatcher.ts';
import { newContext } from '../../src/dispatch/hostcall.ts';
import {
  createPromptBroker,
  type PromptBroker,
  type PromptOutcome,
  type Prompter,
  type PromptRequest,
} from '../../src/dispatch/prompts.ts';
import { CAPABILITY_PROMPT_REASONS } from '../../src/dispatch/stages/policy.ts';
import { WardenError } from '../../src/errors.ts';
import type { DecisionRecord } from '../../src/evidence/sinks.ts';
import { createExecStage, EXEC_PROMPT_REASONS } from '../../src/mediation/exec/stage.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import type { PromptAnswer } from '../../src/policy/promptAnswers.ts';
import { rulesFor } from '../../src/policy/settings.ts';
import { hostcall } from '../helpers.ts';

const workspace = mkdtempSync(join(tmpdir(), 'pi-warden-prompts-'));

interface Outcome {
  readonly ok: boolean;
  readonly reasons: readonly string[];
}

/** An asker seen from outside: make one call through a broker; `ran` counts the operations that really ran. */
interface Consumer {
  readonly name: string;
  readonly reasons: Readonly<Record<Exclude<PromptOutcome, 'withdrawn'>, string>>;
  call(broker: PromptBroker, options?: { sync?: boolean; ext?: string }): Promise<Outcome>;
  readonly ran: string[];
}

/** The policy stage, inside a real dispatcher: `ctx.ui.notify` needs a prompt in the balanced profile. */
function policyConsumer(): Consumer {
  const ran: string[] = [];
  const operations = new Map<string, Operation>([['ctx.ui.notify', () => ran.push('notify')]]);
  const policy = compilePolicy(rulesFor('balanced', false));
  return {
    name: 'the policy stage',
    reasons: CAPABILITY_PROMPT_REASONS,
    ran,
    async call(broker, o = {}) {
      // A new dispatcher per call: whatever is remembered lives in the broker, not in the stage.
      let recorded: readonly string[] = [];
      const recorder = {
        record: (e: DecisionRecord) => {
          recorded = e.reason_codes;
        },
      };
      const d = createDispatcher({ policy, operations, prompts: broker, recorder });
      const r =
        o.sync === true
          ? d.dispatchSync(o.ext ?? 'ext', hostcall('ctx.ui.notify', {}))
          : await d.dispatch(o.ext ?? 'ext', hostcall('ctx.ui.notify', {}));
      return { ok: r.ok, reasons: recorded };
    },
  };
}

/** Exec mediation on its own, then a real child process when it lets the command through. */
function execConsumer(): Consumer {
  const ran: string[] = [];
  const params = { cmd: process.execPath, args: ['-e', 'process.stdout.write("inline ran")'] };
  const policy = compilePolicy(rulesFor('balanced', true));
  return {
    name: 'exec mediation',
    reasons: EXEC_PROMPT_REASONS,
    ran,
    async call(broker, o = {}) {
      const stage = createExecStage({ policy, workspace, commandHash: () => 'h', prompts: broker });
      const ctx = Object.assign(newContext(o.ext ?? 'ext', {}), { callId: 'c', method: 'exec', params, sync: o.sync === true });
      const refused = await stage.run(ctx);
      if (refused instanceof WardenError) return { ok: false, reasons: refused.reasonCodes };
      ran.push(spawnSync(params.cmd, params.args, { encoding: 'utf8' }).stdout);
      return { ok: true, reasons: ctx.reasonCodes ?? [] };
    },
  };
}

/** A prompter whose answers the test gives; `asked` lists the requests it saw. */
function prompter(answers: Array<PromptAnswer | 'hang'>) {
  const asked: PromptRequest[] = [];
  const p: Prompter = {
    ask(request) {
      asked.push(request);
      const a = answers.shift();
      if (a === undefined) return Promise.reject(new Error('the test prepared no more answers'));
      return a === 'hang' ? new Promise<PromptAnswer>(() => undefined) : Promise.resolve(a);
    },
  };
  return { p, asked };
}

/** A prompter whose answers the test releases one question at a time. */
function manualPrompter() {
  const asked: PromptRequest[] = [];
  const waiting: Array<(a: PromptAnswer) => void> = [];
  const p: Prompter = {
    ask: (req) => {
      asked.push(req);
      return new Promise((r) => {
        waiting.push(r);
      });
    },
  };
  const answerNext = async (a: PromptAnswer) => {
    while (waiting.length === 0) await new Promise((r) => setTimeout(r, 1));
    (waiting.shift() as (a: PromptAnswer) => void)(a);
  };
  return { p, asked, answerNext };
}

for (const make of [policyConsumer, execConsumer]) {
  describe(`${make().name} asks through the prompt broker`, () => {
    it('refuses without a user interface, without asking and without running', async () => {
      const c = make();
      const r = await c.call(createPromptBroker());
      assert.ok(!r.ok && r.reasons.includes(c.reasons.no_ui), JSON.stringify(r));
      assert.deepEqual(c.ran, []);
    });

    it('refuses a synchronous call without showing the question', async () => {
      const c = make();
      const { p, asked } = prompter([{ decision: 'allow', scope: 'once' }]);
      const r = await c.call(createPromptBroker({ prompter: p }), { sync: true });
      assert.ok(!r.ok && r.reasons.includes(c.reasons.sync_refused), JSON.stringify(r));
      assert.equal(asked.length, 0);
      assert.deepEqual(c.ran, []);
    });

    it('refuses when the user does not answer before the deadline', async () => {
      const c = make();
      const { p, asked } = prompter(['hang']);
      const r = await c.call(createPromptBroker({ prompter: p, timeoutMs: 20 }));
      assert.ok(!r.ok && r.reasons.includes(c.reasons.failed), JSON.stringify(r));
      assert.equal(asked.length, 1);
      assert.deepEqual(c.ran, []);
    });

    it('refuses an answer that is not an answer', async () => {
      const c = make();
      const { p } = prompter([{ decision: 'allow', scope: 'forever' } as unknown as PromptAnswer]);
      const r = await c.call(createPromptBroker({ prompter: p }));
      assert.ok(!r.ok && r.reasons.includes(c.reasons.failed), JSON.stringify(r));
      assert.deepEqual(c.ran, []);
    });

    it('lets the call through on allow, and a "once" answer is asked again next time', async () => {
      const c = make();
      const { p, asked } = prompter([
        { decision: 'allow', scope: 'once' },
        { decision: 'deny', scope: 'once' },
      ]);
      const broker = createPromptBroker({ prompter: p });
      const yes = await c.call(broker);
      assert.ok(yes.ok && yes.reasons.includes(c.reasons.user_allow), JSON.stringify(yes));
      const no = await c.call(broker);
      assert.ok(!no.ok && no.reasons.includes(c.reasons.user_deny), JSON.stringify(no));
      assert.equal(asked.length, 2);
      assert.equal(c.ran.length, 1);
    });

    it('does not ask twice for what the user answered for the session, and only for that extension', async () => {
      const c = make();
      const { p, asked } = prompter([
        { decision: 'allow', scope: 'session' },
        { decision: 'deny', scope: 'once' },
      ]);
      const broker = createPromptBroker({ prompter: p });
      assert.ok((await c.call(broker)).ok);
      const again = await c.call(broker);
      assert.ok(again.ok && again.reasons.includes(c.reasons.session_allow), JSON.stringify(again));
      assert.equal(asked.length, 1);
      assert.ok(!(await c.call(broker, { ext: 'other' })).ok, 'another extension is asked for itself');
      assert.equal(asked.length, 2);
    });

    it('a remembered refusal refuses without asking', async () => {
      const c = make();
      const { p, asked } = prompter([{ decision: 'deny', scope: 'always' }]);
      const broker = createPromptBroker({ prompter: p });
      assert.ok(!(await c.call(broker)).ok);
      const again = await c.call(broker);
      assert.ok(!again.ok && again.reasons.includes(c.reasons.session_deny), JSON.stringify(again));
      assert.equal(asked.length, 1);
      assert.deepEqual(c.ran, []);
    });

    it('asks once for identical questions in flight together', async () => {
      const c = make();
      const m = manualPrompter();
      // Should a second question be shown, nobody answers it: the deadline only keeps such a failure short.
      const broker = createPromptBroker({ prompter: m.p, timeoutMs: 2_000 });
      const pending = [c.call(broker), c.call(broker), c.call(broker)];
      await m.answerNext({ decision: 'allow', scope: 'session' });
      const results = await Promise.all(pending);
      assert.ok(
        results.every((r) => r.ok),
        JSON.stringify(results),
      );
      assert.equal(m.asked.length, 1);
      assert.equal(c.ran.length, 3);
    });
  });
}

describe('the prompt broker itself', () => {
  const question = (topic: 'capability' | 'exec_command', key: string, extra: object = {}) => ({
    topic,
    key,
    sync: false,
    request: { extensionId: 'ext', capability: 'exec' as const, method: 'exec', callId: 'c' },
    ...extra,
  });

  it('keeps capability answers and exec-command answers apart, even under the same key', async () => {
    const { p, asked } = prompter([
      { decision: 'allow', scope: 'session' },
      { decision: 'deny', scope: 'once' },
    ]);
    const broker = createPromptBroker({ prompter: p });
    assert.equal((await broker.resolve(question('capability', 'k'))).decision, 'allow');
    const exec = await broker.resolve(question('exec_command', 'k'));
    assert.deepEqual(exec, { decision: 'deny', outcome: 'user_deny' });
    assert.equal(asked.length, 2);
  });

  it('hands an "always" answer to persist once and keeps it for the session; a failing persist is reported, not fatal', async () => {
    const persisted: string[] = [];
    const { p } = prompter([
      { decision: 'allow', scope: 'always' },
      { decision: 'allow', scope: 'always' },
    ]);
    const broker = createPromptBroker({ prompter: p });
    assert.deepEqual(await broker.resolve(question('capability', 'a', { persist: (d: string) => persisted.push(d) })), {
      decision: 'allow',
      outcome: 'user_allow',
    });
    assert.deepEqual(await broker.resolve(question('capability', 'a', { persist: (d: string) => persisted.push(d) })), {
      decision: 'allow',
      outcome: 'session_allow',
    });
    assert.deepEqual(persisted, ['allow']);
    const failing = await broker.resolve(
      question('capability', 'b', {
        persist: () => {
          throw new Error('disk full');
        },
      }),
    );
    assert.deepEqual(failing, { decision: 'allow', outcome: 'user_allow', persistFailed: true });
  });

  it('drops an answer, unremembered, when the question no longer stands as it arrives', async () => {
    const { p, asked } = prompter([
      { decision: 'allow', scope: 'session' },
      { decision: 'allow', scope: 'once' },
    ]);
    const broker = createPromptBroker({ prompter: p });
    assert.deepEqual(await broker.resolve(question('capability', 'k', { stillAsked: () => false })), {
      decision: 'deny',
      outcome: 'withdrawn',
    });
    assert.deepEqual(await broker.resolve(question('capability', 'k')), { decision: 'allow', outcome: 'user_allow' });
    assert.equal(asked.length, 2, 'the withdrawn answer was not remembered');
  });

  it('a waiter on a "once" answer asks for itself', async () => {
    const m = manualPrompter();
    const broker = createPromptBroker({ prompter: m.p });
    const first = broker.resolve(question('exec_command', 'k'));
    const second = broker.resolve(question('exec_command', 'k'));
    await m.answerNext({ decision: 'allow', scope: 'once' });
    await m.answerNext({ decision: 'deny', scope: 'once' });
    assert.deepEqual(
      [await first, await second].map((r) => r.decision),
      ['allow', 'deny'],
    );
    assert.equal(m.asked.length, 2);
  });
});
