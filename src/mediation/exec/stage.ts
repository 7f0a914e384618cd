/**
 * Exec mediation (SPEC §5.4): every `exec`/`exec.spawn` is parsed (argv as given; `sh -c`/`bash -c` strings and
 * `shell: true` commands with a real shell parser, nested shells included) and classified (src/mediation/exec/classify.ts).
 * What each class, `shell: true` and a working directory outside the workspace get is the profile's data
 * (src/policy/profiles.ts, printed by `policy explain`): some classes are never run, the others need the permissive
 * profile or `exec` granted to that extension by name, or are put to the user in prompt mode. Every exec decision is logged by salted command hash; a denial raises
 * an `exec_mediation` alert. The environment is stripped separately (src/mediation/secrets/nameFilter.ts).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  addReason,
  type DispatchContext,
  type PromptBroker,
  type PromptOutcome,
  type PromptRequest,
  type PromptResult,
  type Stage,
  type StageOutcome,
} from '../../dispatch/index.ts';
import { decisionError, type ReasonCode } from '../../errors.ts';
import type { AlertSink, ExecLog } from '../../evidence/index.ts';
import { isInside } from '../../paths.ts';
import { type CompiledPolicy, type ExecRule, grantedByName, type PlaceRoots, PlaceWords, PROFILE_PRESETS } from '../../policy/index.ts';
import { analyseExec, EXEC_CLASSES, type ExecClass } from './classify.ts';

export { analyseExec, EXEC_CLASSES, type ExecAnalysis, type ExecClass, type ExecScope } from './classify.ts';

/**
 * What exec mediation records: `exec_class_<class>` for each class found, `exec_<class>` for each class that
 * refused the command, `exec_mediation` on every refusal, the refusals that are not classes, and the user's
 * answer to an exec prompt (a prompt that could not be asked records the prompt vocabulary's code).
 */
export const EXEC_REASONS = [
  'exec_mediation',
  'shell_not_allowed',
  'cwd_outside_workspace',
  'exec_prompt_user_allow',
  'exec_prompt_user_deny',
  'exec_prompt_session_allow',
  'exec_prompt_session_deny',
] as const;
export type ExecReason = (typeof EXEC_REASONS)[number];
export type ExecRefusalReason = `exec_${ExecClass}`;
export type ExecClassReason = `exec_class_${ExecClass}`;
declare module '../../errors.ts' {
  interface ReasonVocabularies {
    exec: ExecReason | ExecRefusalReason | ExecClassReason;
  }
}

export const execRefusalReason = (c: ExecClass): ExecRefusalReason => `exec_${c}`;
export const execClassReason = (c: ExecClass): ExecClassReason => `exec_class_${c}`;

export function isExecClassReason(code: string): code is ExecRefusalReason | ExecClassReason {
  const c = code.startsWith('exec_class_')
    ? code.slice('exec_class_'.length)
    : code.startsWith('exec_')
      ? code.slice('exec_'.length)
      : undefined;
  return c !== undefined && (EXEC_CLASSES as readonly string[]).includes(c);
}

export interface ExecStageOptions {
  readonly policy: CompiledPolicy;
  /** The workspace a child's cwd must lie in (realpath'd). */
  readonly workspace: string;
  readonly commandHash: (commandLine: string) => string;
  readonly alerts?: AlertSink | undefined;
  readonly log?: ExecLog | undefined;
  /** In prompt mode, a command whose classes need a grant is put to the user through this broker instead of refused. */
  readonly prompts?: PromptBroker | undefined;
  /** This user's home, agent and pi-warden folders, so absolute words name the sensitive places too (`/home/u/bin/x`). */
  readonly places?: PlaceRoots | undefined;
  /**
   * Children run in an OS sandbox confined to the workspace: deleting inside it (`rm -rf dist`, `git clean -fd`) is
   * not refused. Default false: only the OS sandbox may set it, or deletion inside the project would run unconfined.
   */
  readonly osConfined?: boolean | undefined;
}

/** The reason code exec mediation records for each way a command prompt was settled (it never withdraws a question). */
export const EXEC_PROMPT_REASONS = {
  user_allow: 'exec_prompt_user_allow',
  user_deny: 'exec_prompt_user_deny',
  session_allow: 'exec_prompt_session_allow',
  session_deny: 'exec_prompt_session_deny',
  sync_refused: 'sync_needs_prompt',
  no_ui: 'prompt_no_ui',
  failed: 'prompt_failed',
  withdrawn: 'prompt_withdrawn',
} as const satisfies Record<PromptOutcome, ReasonCode>;

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The exec mediation stage. Synchronous unless it asks the user: in prompt mode, a command refused only for
 * classes that a grant would allow (never the always-denied ones, `shell: true` or a cwd outside) is put to the
 * prompt broker with the command line; an answer with scope `session` or `always` is remembered for that extension
 * and that exact command for the session (exec answers are not written to the store), and identical commands in
 * flight wait for one question. A synchronous call cannot wait: refused.
 */
export function createExecStage(o: ExecStageOptions): Stage {
  const workspace = real(o.workspace);
  const places = new PlaceWords(o.places ?? {});
  const scope = { project: workspace, osConfined: o.osConfined === true };
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome | Promise<StageOutcome> {
      if (ctx.method !== 'exec' && ctx.method !== 'exec.spawn') return undefined;
      const p = ctx.params as {
        cmd: string;
        args?: string[];
        shell?: boolean;
        detached?: boolean;
        cwd?: string;
        stdin?: string;
        env?: Record<string, string>;
      };
      const analysis = analyseExec(p, ctx.method, places, scope);
      const hard: Array<ExecRefusalReason | ExecReason> = [];
      const askable: Array<ExecRefusalReason | ExecReason> = [];
      // Looked up per call, so the stage cannot keep a copy of the rules that `policy explain` prints.
      const rules = PROFILE_PRESETS[o.policy.rules.profile].exec;
      const granted = grantedByName(o.policy, 'exec', ctx.extensionId);
      const apply = (rule: ExecRule, reason: ExecRefusalReason | ExecReason): void => {
        const verdict = granted ? rule.granted : rule.ungranted;
        if (verdict === 'deny') hard.push(reason);
        else if (verdict === 'prompt') askable.push(reason);
      };
      for (const c of analysis.classes) apply(rules.classes[c], execRefusalReason(c));
      if (p.shell === true) apply(rules.shell, 'shell_not_allowed');
      if (p.cwd !== undefined) {
        const cwd = real(isAbsolute(p.cwd) ? p.cwd : resolve(workspace, p.cwd));
        if (!isInside(workspace, cwd)) apply(rules.cwdOutsideWorkspace, 'cwd_outside_workspace');
      }
      for (const c of analysis.classes) addReason(ctx, execClassReason(c));
      const line = [p.cmd, ...(p.args ?? [])].join('\u0000');
      const settle = (reasons: readonly ReasonCode[], extra: readonly ReasonCode[] = []): StageOutcome => {
        const decision = reasons.length === 0 ? 'allow' : 'deny';
        try {
          o.log?.recordExecEvent({
            ts_ms: ctx.startedMs,
            extension_id: ctx.extensionId,
            call_id: ctx.callId,
            command_hash: o.commandHash(line),
            class: analysis.classes.length === 0 ? 'none' : analysis.classes.join(','),
            decision,
            reason_codes: [...reasons, ...extra],
          });
        } catch {
          // the decision stands; the ledger entry carries it
        }
        for (const r of extra) addReason(ctx, r);
        if (decision === 'allow') return undefined;
        return refuse(ctx, o, analysis, p, workspace, reasons, extra);
      };
      const reasons = [...hard, ...askable];
      if (hard.length > 0 || askable.length === 0) return settle(reasons);
      // Only what the profile puts to the user stands in the way: the user decides.
      // Remembered for this exact command: a `bash -c` string names its programs only inside it, and an answer for
      // `node -e x` must not let `python3 -c y` through.
      const key = `${ctx.extensionId}\u0000${[...askable].sort().join(',')}\u0000${line}`;
      if (o.prompts === undefined) return settle(reasons, [EXEC_PROMPT_REASONS.no_ui]);
      const shown = [p.cmd, ...(p.args ?? [])].join(' ');
      const detail = `run ${shown.length > 300 ? `${shown.slice(0, 300)}…` : shown} (${askable.map((r) => r.replace(/^exec_/, '').replace(/_/g, ' ')).join(', ')})`;
      const request: PromptRequest = {
        extensionId: ctx.extensionId,
        capability: 'exec',
        method: ctx.method,
        callId: ctx.callId,
        detail,
        reasonCodes: askable,
      };
      // Exec answers live in the session only: `persist` is not given, an "always" is kept as long as "session".
      const result = o.prompts.resolve({ topic: 'exec_command', key, sync: ctx.sync, request });
      const decide = (r: PromptResult) => settle(r.decision === 'allow' ? [] : reasons, [EXEC_PROMPT_REASONS[r.outcome]]);
      return result instanceof Promise ? result.then(decide) : decide(result);
    },
  };
}

function refuse(
  ctx: DispatchContext,
  o: ExecStageOptions,
  analysis: ReturnType<typeof analyseExec>,
  p: { cmd: string; cwd?: string },
  workspace: string,
  reasons: readonly ReasonCode[],
  extra: readonly ReasonCode[],
): StageOutcome {
  const why = [
    ...analysis.evidence
      .filter((e) => reasons.includes(execRefusalReason(e.class)))
      .map((e) => `${e.class.replace(/_/g, ' ')} (${e.detail})`),
    ...(reasons.includes('shell_not_allowed') ? ['shell: true needs exec granted to this extension by name'] : []),
    ...(reasons.includes('cwd_outside_workspace') ? [`cwd ${p.cwd} is outside the workspace ${workspace}`] : []),
  ];
  const userSaidNo = extra.includes('exec_prompt_user_deny') || extra.includes('exec_prompt_session_deny');
  const severe = analysis.classes.some((c) => c === 'pipe_to_shell' || c === 'privilege_escalation' || c === 'credential_access');
  try {
    o.alerts?.raise({
      ts_ms: ctx.startedMs,
      extension_id: ctx.extensionId,
      category: 'exec_mediation',
      severity: severe ? 'critical' : userSaidNo ? 'medium' : 'high',
      capability: 'exec',
      method: ctx.method,
      call_id: ctx.callId,
      // Classes and program names only: a command line can carry a secret, and alerts are stored.
      summary:
        `${ctx.extensionId} tried to run ${analysis.programs.join(', ')}: refused${userSaidNo ? ' by the user' : ''} (${reasons.map((r) => r.replace(/^exec_/, '').replace(/_/g, ' ')).join(', ')})`.slice(
          0,
          500,
        ),
      reason_codes: ['exec_mediation', ...reasons, ...extra],
      remediation: 'Review the extension (`pi-warden scan`), kill it if the command was hostile (`pi-warden trust kill`); runbook INC-1',
    });
  } catch {
    // the ledger entry carries the decision
  }
  for (const r of reasons) addReason(ctx, r);
  const asked = extra.length > 0 ? ` [${extra.join(', ')}]` : '';
  return decisionError('denied', `${ctx.method}: refused by exec mediation: ${why.join('; ')}${asked}`, {
    reasonCodes: ['exec_mediation', ...reasons, ...extra],
  });
}
