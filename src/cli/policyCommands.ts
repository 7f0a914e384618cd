/** `policy explain`, `policy diff`, `policy forget`: read-only views of the policy, plus revoking remembered answers. */
import {
  CAPABILITIES,
  CAPABILITY_MEANING,
  diffPolicies,
  explainPolicy,
  forgetPromptAnswers,
  isCapability,
  listMethods,
  OS_SANDBOX_REMEDY,
  type PolicyExplanation,
  resolvePolicy,
} from '../policy/index.ts';
import { osSandboxAvailability, type Availability } from '../pi/index.ts';
import { WardenError } from '../errors.ts';
import { colourDecision, colours as pc, printJson, table, type Io } from './output.ts';
import { reportSettingsErrors } from './settingsErrors.ts';

export interface ExplainOptions {
  readonly extension?: string;
  readonly json?: boolean;
  readonly extensionPolicy?: string;
  readonly cwd?: string;
}

function renderExplanation(e: PolicyExplanation): string {
  const lines: string[] = [];
  const scope = e.extension_id === null ? 'global' : `extension ${e.extension_id}`;
  if (e.load_blocked) lines.push(pc.red('LOADING BLOCKED: the user settings are invalid, so no extension loads until they are fixed'));
  lines.push(pc.bold(`Effective extension policy (${scope})`));
  lines.push(
    `  profile:          ${e.profile} (from ${e.profile_source}${e.requested_profile !== null && e.requested_profile !== e.profile ? `, requested "${e.requested_profile}"` : ''})`,
  );
  lines.push(`  mode:             ${e.mode}`);
  lines.push(`  default caps:     ${e.default_caps.join(', ') || '(none)'}`);
  lines.push(`  deny caps:        ${e.deny_caps.join(', ') || '(none)'}`);
  lines.push(`  allowDangerous:   ${String(e.allow_dangerous)} (from ${e.allow_dangerous_source})`);
  lines.push(
    `  secret broker:    ${e.secret_broker_enabled ? 'enabled' : pc.red('DISABLED')}${e.secret_broker.disclosure_allowlist.length > 0 ? `, discloses ${e.secret_broker.disclosure_allowlist.join(', ')}` : ''}`,
  );
  const r = e.risk;
  lines.push(
    `  risk controller:  ${r.enabled === true ? 'enabled' : 'disabled'}, enforce=${String(r.enforce)}, failClosed=${String(r.fail_closed)}, alpha=${String(r.alpha)}, windowSize=${String(r.window_size)}`,
  );
  for (const s of e.sources) lines.push(`  ${s.scope} settings: ${s.path} (${s.status})`);
  lines.push('');
  lines.push(
    table(
      ['capability', 'decision', 'rule', 'reason', 'meaning'],
      CAPABILITIES.map((c) => {
        const x = e.capabilities[c];
        return [x.dangerous ? `${c} ${pc.red('(dangerous)')}` : c, colourDecision(x.decision), x.rule, x.reason, CAPABILITY_MEANING[c]];
      }),
    ),
  );
  const overrideIds = Object.keys(e.overrides);
  if (overrideIds.length > 0) {
    lines.push('', pc.bold('Per-extension overrides'));
    lines.push(
      table(
        ['extension', 'allow', 'deny', 'forbidden scan', 'quota', 'file grants', 'sockets'],
        overrideIds.map((id) => {
          const o = e.overrides[id]!;
          const fs =
            o.fs === undefined ? '-' : [...o.fs.read.map((p) => `read ${p}`), ...o.fs.write.map((p) => `write ${p}`)].join(', ') || '-';
          // The net grant (ADR 0038): listed paths and ports; the owner check only when it is off.
          const net =
            o.net === undefined
              ? '-'
              : [
                  ...o.net.unix.map((p) => `unix ${p}`),
                  ...o.net.tcp_ports.map((p) => `tcp ${p}`),
                  ...(o.net.owner_check ? [] : [pc.red('owner check off')]),
                ].join(', ') || '-';
          return [
            id,
            o.allow.join(', ') || '-',
            o.deny.join(', ') || '-',
            o.allow_forbidden_scan === true ? pc.red('allowed to load') : '-',
            o.quota === null ? '-' : JSON.stringify(o.quota),
            fs,
            net,
          ];
        }),
      ),
    );
  }
  lines.push('', ...renderEgress(e));
  lines.push('', ...renderExec(e));
  const remembered = Object.entries(e.remembered_prompts);
  if (remembered.length > 0) {
    lines.push('', pc.bold('Remembered prompt answers (remove with `pi-warden policy forget --extension ID`)'));
    lines.push(
      table(
        ['extension', 'answers'],
        remembered.map(([id, a]) => [
          id,
          Object.entries(a)
            .map(([c, d]) => `${c}=${d}`)
            .join(', '),
        ]),
      ),
    );
  }
  lines.push('', pc.bold('Precedence (first match wins)'));
  e.precedence.forEach((p, i) => lines.push(`  ${i + 1}. ${p.rule}: ${p.description}`));
  lines.push('', pc.bold('Hostcall methods by required capability'));
  const byCap = new Map<string, string[]>();
  for (const m of listMethods()) byCap.set(m.capability, [...(byCap.get(m.capability) ?? []), m.method]);
  lines.push(
    table(
      ['capability', 'methods'],
      [...byCap].map(([c, ms]) => [c === 'by_tool_name' ? 'by tool name' : c, ms.join(', ')]),
    ),
  );
  lines.push('  (full table with a summary per method: `pi-warden policy explain --json`, key "methods")');
  for (const w of e.warnings) lines.push(pc.yellow(`warning: ${w}`));
  return lines.join('\n');
}

/** Which applies to child processes: the OS sandbox, the refusal when it cannot run here, or the user's `off`. */
function osSandboxApplies(e: PolicyExplanation, a: Availability): string {
  if (e.exec_mediation.os_sandbox.setting === 'off')
    return 'off (user settings extensionPolicy.exec.osSandbox): children run unconfined, with your rights';
  if (a.available) return `on: children run in ${a.kind} (no network unless http is granted, then only through the egress proxy)`;
  return `on, but unavailable here (${a.why}): exec is refused; to enable it, ${OS_SANDBOX_REMEDY}`;
}

function renderExec(e: PolicyExplanation): string[] {
  const x = e.exec_mediation;
  const granted =
    x.granted_by_name === null ? '' : `; exec granted to ${e.extension_id ?? '?'} by name: ${x.granted_by_name ? 'yes' : 'no'}`;
  return [
    `${pc.bold('OS sandbox of child processes:')} ${e.exec_mediation.os_sandbox.applies ?? e.exec_mediation.os_sandbox.setting}`,
    pc.bold(`Exec mediation (profile ${x.profile}${granted}; the strictest verdict among what a command shows decides)`),
    table(
      ['what the command shows', 'exec granted by name', 'otherwise', 'meaning'],
      x.rules.map((r) => [r.subject, colourDecision(r.granted), colourDecision(r.ungranted), r.meaning]),
    ),
  ];
}

function bytes(n: number): string {
  return n >= 1024 * 1024 && n % (1024 * 1024) === 0
    ? `${n / (1024 * 1024)} MiB`
    : n >= 1024 && n % 1024 === 0
      ? `${n / 1024} KiB`
      : `${n} B`;
}

function allowText(allow: ReadonlyArray<readonly string[]> | null): string {
  if (allow === null) return 'any public host';
  return allow.map((l) => (l.length === 0 ? '(nothing)' : l.join(', '))).join(pc.dim(' AND '));
}

function renderEgress(e: PolicyExplanation): string[] {
  const h = e.http_egress;
  const lines = [pc.bold(`HTTP egress (${e.extension_id === null ? 'defaults' : `extension ${e.extension_id}`})`)];
  lines.push(`  schemes:          ${h.schemes.join(', ')} (anything else refused)`);
  lines.push(`  deny hosts:       ${h.deny_hosts.join(', ') || '(none)'} (wins over every allow)`);
  lines.push(`  allow hosts:      ${allowText(h.allow_hosts)}`);
  lines.push(`  allow private:    ${h.allow_private.join(', ') || '(none: loopback, link-local, metadata and private addresses refused)'}`);
  lines.push(
    `  limits:           request body ${bytes(h.max_request_bytes)}, response body ${bytes(h.max_response_bytes)}, ${h.max_redirects} redirect(s)`,
  );
  if (h.project_tightening)
    lines.push('  project file:     tightens these rules (its allow lists narrow, its deny lists add, its limits lower)');
  const ids = Object.keys(h.overrides);
  if (ids.length > 0) {
    lines.push(
      table(
        ['extension', 'allow hosts', 'deny hosts', 'allow private', 'limits (req/resp/redirects)'],
        ids.map((id) => {
          const o = h.overrides[id]!;
          return [
            id,
            allowText(o.allow_hosts),
            o.deny_hosts.join(', ') || '-',
            o.allow_private.join(', ') || '-',
            `${bytes(o.max_request_bytes)} / ${bytes(o.max_response_bytes)} / ${o.max_redirects}`,
          ];
        }),
      ),
    );
  }
  const never = h.private_blocks.filter((b) => b.never_allowed).map((b) => b.cidr);
  lines.push(
    `  private blocks:   ${h.private_blocks.length - never.length} refused unless allowPrivate names them, ${never.join(', ')} always refused`,
  );
  lines.push('  (every block with its class: `pi-warden policy explain --json`, key "http_egress.private_blocks")');
  return lines;
}

/**
 * Returns the exit code: 0, or 2 when a settings file is invalid (an invalid project file is left out of the
 * printed policy; an invalid user file blocks loading and the safe fallback is printed).
 */
export function runExplain(io: Io, options: ExplainOptions): number {
  const resolved = resolvePolicy({ cliProfile: options.extensionPolicy, cwd: options.cwd });
  const explained = explainPolicy(resolved, options.extension);
  const a = osSandboxAvailability();
  const osSandbox = {
    ...explained.exec_mediation.os_sandbox,
    available: a.available,
    ...(a.available ? { kind: a.kind } : { why: a.why }),
    applies: osSandboxApplies(explained, a),
  };
  const explanation = { ...explained, exec_mediation: { ...explained.exec_mediation, os_sandbox: osSandbox } };
  if (options.json === true) printJson(io, 'pi-warden.policy_explanation.v1', explanation);
  else io.out(renderExplanation(explanation));
  const invalid = reportSettingsErrors(io, resolved.errors);
  if (!options.json) for (const w of explanation.warnings) io.err(`warning: ${w}`);
  return invalid ? 2 : 0;
}

/** Exit code like diff(1): 0 same, 1 different, 2 trouble. */
export function runDiff(io: Io, fileA: string, fileB: string, options: { json?: boolean }): number {
  const env = { HOME: process.env.HOME };
  const a = resolvePolicy({ env, files: [{ scope: 'user', path: fileA }] });
  const b = resolvePolicy({ env, files: [{ scope: 'user', path: fileB }] });
  for (const [label, r, f] of [
    ['A', a, fileA],
    ['B', b, fileB],
  ] as const) {
    const absent = r.sources.find((s) => s.status === 'absent');
    if (absent !== undefined) throw new WardenError('usage', `${label}: ${f} does not exist`);
  }
  const errors = [...a.errors, ...b.errors].map((e) => e.message);
  const changes = diffPolicies(a, b);
  if (options.json === true) {
    printJson(io, 'pi-warden.policy_diff.v1', {
      a: fileA,
      b: fileB,
      identical: changes.length === 0,
      looser: changes.some((c) => c.direction === 'looser'),
      changes,
      errors,
    });
  } else if (changes.length === 0) {
    io.out(`No policy difference between ${fileA} and ${fileB}.`);
  } else {
    io.out(`Policy changes from ${pc.bold(fileA)} (A) to ${pc.bold(fileB)} (B):`);
    io.out(
      table(
        ['setting', 'A', 'B', 'change'],
        changes.map((c) => [
          c.field,
          c.a,
          c.b,
          c.direction === 'looser' ? pc.red('looser') : c.direction === 'tighter' ? pc.green('tighter') : c.direction,
        ]),
      ),
    );
  }
  for (const e of errors) io.err(`error: ${e} (that side is shown as the safe fallback)`);
  if (errors.length > 0) return 2;
  return changes.length === 0 ? 0 : 1;
}

export function runForget(io: Io, options: { extension: string; capability?: string; json?: boolean }): number {
  if (options.capability !== undefined && !isCapability(options.capability)) {
    throw new WardenError('usage', `--capability must be one of ${CAPABILITIES.join(', ')}, found "${options.capability}"`);
  }
  const path = resolvePolicy().userSettingsPath;
  const removed = forgetPromptAnswers(path, options.extension, options.capability);
  if (options.json === true)
    printJson(io, 'pi-warden.policy_forget.v1', {
      settings: path,
      extension_id: options.extension,
      capability: options.capability ?? null,
      removed,
    });
  else io.out(`Removed ${removed} remembered prompt answer(s) for ${options.extension} from ${path}.`);
  return 0;
}
