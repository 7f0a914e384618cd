/**
 * Exec mediation (SPEC §5.4): every `exec`/`exec.spawn` is parsed (argv as given; `sh -c`/`bash -c` strings and
 * `shell: true` commands with a real shell parser, nested shells included) and classified (execClassify.ts). The
 * classes that are never run by an extension are denied whatever the profile; the others need the permissive
 * profile or `exec` granted to that extension by name. `shell: true` needs that named grant too, and the working
 * directory must lie inside the workspace. Every exec decision is logged by salted command hash; a denial raises
 * an `exec_mediation` alert. The environment is stripped separately (secretNameFilter.ts).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { DispatchContext } from '../dispatch/hostcall.ts';
import { addReason } from '../dispatch/hostcall.ts';
import type { StageOutcome, SyncStage } from '../dispatch/stage.ts';
import { decisionError } from '../errors.ts';
import type { AlertSink } from '../evidence/alerts.ts';
import { grantedByName, type CompiledPolicy } from '../policy/precedence.ts';
import { ALWAYS_DENIED, analyseExec } from './execClassify.ts';

export { ALWAYS_DENIED, analyseExec, EXEC_CLASSES, type ExecAnalysis, type ExecClass } from './execClassify.ts';

export interface ExecLogEntry {
  readonly ts_ms: number;
  readonly extension_id: string;
  readonly call_id: string;
  /** SHA-256(store salt ‖ NUL ‖ command line): the same command hashes alike in one store; it cannot be read back. */
  readonly command_hash: string;
  /** The classes found, comma-separated, or `none`. */
  readonly class: string;
  readonly decision: 'allow' | 'deny';
  readonly reason_codes: readonly string[];
}

export interface ExecLog {
  recordExecEvent(e: ExecLogEntry): void;
}

export interface ExecStageOptions {
  readonly policy: CompiledPolicy;
  /** The workspace a child's cwd must lie in (realpath'd). */
  readonly workspace: string;
  readonly commandHash: (commandLine: string) => string;
  readonly alerts?: AlertSink | undefined;
  readonly log?: ExecLog | undefined;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export function createExecStage(o: ExecStageOptions): SyncStage {
  const workspace = real(o.workspace);
  return {
    name: 'mediation',
    run(ctx: DispatchContext): StageOutcome {
      if (ctx.method !== 'exec' && ctx.method !== 'exec.spawn') return undefined;
      const p = ctx.params as { cmd: string; args?: string[]; shell?: boolean; detached?: boolean; cwd?: string; stdin?: string; env?: Record<string, string> };
      const analysis = analyseExec(p, ctx.method);
      const reasons: string[] = [];
      const granted = grantedByName(o.policy, 'exec', ctx.extensionId);
      const permissive = o.policy.rules.profile === 'permissive';
      for (const c of analysis.classes) {
        if (ALWAYS_DENIED.has(c)) reasons.push(`exec_${c}`);
        else if (!permissive && !granted) reasons.push(`exec_${c}`);
      }
      if (p.shell === true && !granted) reasons.push('shell_not_allowed');
      if (p.cwd !== undefined) {
        const cwd = real(isAbsolute(p.cwd) ? p.cwd : resolve(workspace, p.cwd));
        const rel = relative(workspace, cwd);
        if (rel.startsWith('..') || isAbsolute(rel)) reasons.push('cwd_outside_workspace');
      }
      const decision = reasons.length === 0 ? 'allow' : 'deny';
      const line = [p.cmd, ...(p.args ?? [])].join('\u0000');
      try {
        o.log?.recordExecEvent({
          ts_ms: ctx.startedMs, extension_id: ctx.extensionId, call_id: ctx.callId, command_hash: o.commandHash(line),
          class: analysis.classes.length === 0 ? 'none' : analysis.classes.join(','), decision, reason_codes: reasons,
        });
      } catch {
        // the decision stands; the ledger entry carries it
      }
      for (const c of analysis.classes) addReason(ctx, `exec_class_${c}`);
      if (decision === 'allow') return undefined;
      const why = [
        ...analysis.evidence.filter((e) => reasons.includes(`exec_${e.class}`)).map((e) => `${e.class.replace(/_/g, ' ')} (${e.detail})`),
        ...(reasons.includes('shell_not_allowed') ? ['shell: true needs exec granted to this extension by name'] : []),
        ...(reasons.includes('cwd_outside_workspace') ? [`cwd ${p.cwd} is outside the workspace ${workspace}`] : []),
      ];
      const severe = analysis.classes.some((c) => c === 'pipe_to_shell' || c === 'privilege_escalation' || c === 'credential_access');
      try {
        o.alerts?.raise({
          ts_ms: ctx.startedMs, extension_id: ctx.extensionId, category: 'exec_mediation', severity: severe ? 'critical' : 'high',
          capability: 'exec', method: ctx.method, call_id: ctx.callId,
          // Classes and program names only: a command line can carry a secret, and alerts are stored.
          summary: `${ctx.extensionId} tried to run ${analysis.programs.join(', ')}: refused (${reasons.map((r) => r.replace(/^exec_/, '').replace(/_/g, ' ')).join(', ')})`.slice(0, 500),
          reason_codes: ['exec_mediation', ...reasons],
          remediation: 'Review the extension (`pi-warden scan`), kill it if the command was hostile (`pi-warden trust kill`); runbook INC-1',
        });
      } catch {
        // the ledger entry carries the decision
      }
      for (const r of reasons) addReason(ctx, r);
      return decisionError('denied', `${ctx.method}: refused by exec mediation: ${why.join('; ')}`, { reasonCodes: ['exec_mediation', ...reasons] });
    },
  };
}
