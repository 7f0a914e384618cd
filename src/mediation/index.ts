/**
 * Mediation (SPEC §5): what an allowed call may touch. `createMediation` builds the one `mediation` stage (secret
 * broker name and value checks, HTTP egress, sockets, filesystem scope, exec, pi's tool calls) and the confined operations
 * (real fs and http, pi's file tools, secret scanning of results). This file is the folder's face: code outside
 * `src/mediation/` imports from here.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { newContext, type Operation, type OperationContext, type PromptBroker, type Stage } from '../dispatch/index.ts';
import type { AlertSink, ExecLog, SecretBrokerLog } from '../evidence/index.ts';
import { agentDir, egressRulesLookup, type ResolvedPolicy } from '../policy/index.ts';
import { createExecStage } from './exec/stage.ts';
import { createFsOperations } from './fs/operations.ts';
export { statData } from './fs/operations.ts';
import type { FsLayout } from './fs/paths.ts';
import { createFsScopeStage, FsScope } from './fs/scope.ts';
import { alertEgressRefusals, createEgressStage } from './http/egress.ts';
import { createHttpOperation } from './http/operation.ts';
import { createNetStage } from './net/stage.ts';
import { readAuthSecrets } from './secrets/authFile.ts';
import { scanResults } from './secrets/inbound.ts';
import { chainStages, createSecretNameStage, filterEnvOperations } from './secrets/nameFilter.ts';
import { classifySecretName } from './secrets/names.ts';
import { createOutboundStage, secretNameHasher } from './secrets/outbound.ts';
import { SecretValueIndex, type HeldSecret } from './secrets/values.ts';
import { createFileToolOperation, type PiFileToolKit } from './tools/fileTools.ts';
import { createToolCallStage } from './tools/toolCalls.ts';
import { createResultStage } from './results.ts';

export { classifySecretName } from './secrets/names.ts';
export { analyseExec, type ExecAnalysis } from './exec/classify.ts';
export { FsScope, type FsAccess } from './fs/scope.ts';
export type { FsLayout, Place } from './fs/paths.ts';
export type { HeldSecret } from './secrets/values.ts';
export type { PiFileToolKit } from './tools/fileTools.ts';
export { forTerminal, stripTerminalControls } from './terminal.ts';
export { checkListenerOwner, processTree } from './net/owner.ts';
export { netError } from './net/stage.ts';
export { parseNetTarget, WARDEN_SOCKET_DIR_PREFIX, type NetTarget } from './net/target.ts';

export interface MediationOptions {
  readonly policy: ResolvedPolicy;
  /** pi-warden's home (the filesystem scope keeps extensions out of it). */
  readonly wardenHome: string;
  /** Where alerts and the secret broker and exec logs go (the evidence writer). */
  readonly sinks: AlertSink & SecretBrokerLog & ExecLog;
  /** The store's salt: secret names and command lines are logged as salted hashes. */
  readonly nameHashSalt: string;
  /** The host's operations; the confined real ones replace `fs.*` and `http` when `realFs`/`realHttp` ask for them. */
  readonly operations?: ReadonlyMap<string, Operation> | undefined;
  /** Build the mediation stage (default). False when the caller brings its own: only the operations are built. */
  readonly withStage?: boolean | undefined;
  /** Where exec mediation puts a command to the user (the broker the policy stage asks through). */
  readonly prompts?: PromptBroker | undefined;
  /**
   * Secret values the broker holds and looks for in outbound payloads (SPEC §5.2). Default: every variable of
   * this process's environment whose name the broker classifies as secret, plus the credentials in pi's auth.json
   * (`authFile`). Ignored when the broker is disabled.
   */
  readonly heldSecrets?: readonly HeldSecret[] | undefined;
  /** The environment children inherit their base variables from (default: this process's). */
  readonly parentEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** Where child processes may run (their cwd must lie inside; default: this process's cwd); the project root. */
  readonly workspace?: string | undefined;
  /**
   * Every child process runs inside an OS sandbox confined to the project (the bridge, with bubblewrap or
   * sandbox-exec available and `exec.osSandbox` on): destructive commands inside the project are then left to that
   * confinement instead of refused. Default false: classification alone, as strict as without a sandbox.
   */
  readonly osConfined?: boolean | undefined;
  /** Filesystem scope (SPEC §5.5): these default to the user's home, pi's agent dir and `<wardenHome>/data`. */
  readonly fsLayout?: Partial<Omit<FsLayout, 'projectRoot' | 'wardenHome'>> | undefined;
  /** The environment whose variables move the filesystem lists' entries (XDG_CONFIG_HOME, GNUPGHOME, PATH, ...; default: this process's). */
  readonly fsEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** Per extension id: its package folder, readable by it. */
  readonly extensionRoots?: ReadonlyMap<string, string> | undefined;
  /** pi's auth storage, whose credentials the broker holds with the environment's (default `<agent dir>/auth.json`). */
  readonly authFile?: string | undefined;
  /** Run `http` calls with the real, egress-confined operation instead of the one in `operations`. */
  readonly realHttp?: boolean | { readonly ca?: string | Buffer } | undefined;
  /**
   * Run `fs.*` calls with the confined real operations instead of those in `operations`. pi's file tools called
   * through `tool` (read, write, edit, ls, find, grep) then run on them too, built from `piTools`; without
   * `piTools` those tool calls are refused rather than handed to a host that would act on the unchecked path.
   */
  readonly realFs?: boolean | undefined;
  /** pi's tool-definition factories (the bridge passes the pi module it runs in). */
  readonly piTools?: PiFileToolKit | undefined;
}

export interface Mediation {
  /** The `mediation` stage, or undefined with `withStage: false`. */
  readonly stage: Stage | undefined;
  /** The operations to execute allowed calls with (undefined when none were given and none are real). */
  readonly operations: ReadonlyMap<string, Operation> | undefined;
  readonly fsScope: FsScope;
  /** Non-fatal set-up problems (e.g. an unreadable auth.json whose credentials are therefore not held). */
  readonly warnings: readonly string[];
}

/** The environment's secrets and pi's stored credentials, unless the caller names the held secrets itself. */
function heldSecrets(o: MediationOptions, warnings: string[]): readonly HeldSecret[] {
  if (o.heldSecrets !== undefined) return o.heldSecrets;
  const fromEnv = Object.entries(process.env)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && classifySecretName(e[0], o.policy.secretBroker).secret)
    .map(([name, value]) => ({ name, value }));
  const auth = readAuthSecrets(o.authFile ?? join(o.fsLayout?.agentDir ?? agentDir(process.env), 'auth.json'));
  if (auth.problem !== undefined) warnings.push(auth.problem);
  for (const u of auth.unheld)
    warnings.push(`secret broker: auth.json credential ${u} is not held; its value is not looked for in outbound payloads`);
  return [...fromEnv, ...auth.held];
}

export function createMediation(o: MediationOptions): Mediation {
  const sinks = o.sinks;
  const warnings: string[] = [];
  let operations = o.operations;
  const fsScope = new FsScope({
    layout: {
      projectRoot: o.workspace ?? process.cwd(),
      wardenHome: o.wardenHome,
      home: o.fsLayout?.home ?? homedir(),
      agentDir: o.fsLayout?.agentDir ?? agentDir(process.env),
      dataRoot: o.fsLayout?.dataRoot ?? join(o.wardenHome, 'data'),
    },
    grants: o.policy.fsGrants,
    extensionRoots: o.extensionRoots,
    env: o.fsEnv ?? process.env,
  });
  if (o.realFs === true) operations = new Map([...(operations ?? []), ...createFsOperations({ scope: fsScope })]);
  if (o.realHttp !== undefined && o.realHttp !== false) {
    const ca = typeof o.realHttp === 'object' ? o.realHttp.ca : undefined;
    operations = new Map(operations ?? []).set(
      'http',
      createHttpOperation({ rules: egressRulesLookup(o.policy.httpEgress), ...(ca === undefined ? {} : { ca }) }),
    );
  }
  const hostTool = operations?.get('tool');
  /** Filled by the secret broker when it is on: what pi's file tools run through. */
  let scanToolResults: ((ops: ReadonlyMap<string, Operation>) => ReadonlyMap<string, Operation>) | undefined;
  let checkWrite: ((content: string, path: string, ctx: OperationContext) => void) | undefined;
  let stage: Stage | undefined;
  if (o.withStage !== false) {
    const salt = o.nameHashSalt;
    const hash = secretNameHasher(salt);
    const parts: Stage[] = [createResultStage()];
    if (o.policy.secretBroker.enabled) {
      const held = heldSecrets(o, warnings);
      const index = new SecretValueIndex(held);
      parts.push(
        createSecretNameStage({
          config: o.policy.secretBroker,
          policy: o.policy.compiled,
          nameHash: hash,
          alerts: sinks,
          log: sinks,
          honeytokens: new Set(held.filter((h) => h.honeytoken === true).map((h) => h.name)),
        }),
      );
      parts.push(createOutboundStage({ index: () => index, salt, alerts: sinks, log: sinks }));
      const inbound = { index: () => index, nameHash: hash, alerts: sinks, log: sinks };
      if (operations !== undefined) {
        operations = filterEnvOperations(operations, o.policy.secretBroker, o.parentEnv ?? process.env);
        operations = scanResults(operations, inbound);
      }
      scanToolResults = (ops) => scanResults(ops, inbound);
      // What an edit writes is the file with the edit applied: held values only (a token-shaped fixture already
      // in the file is not the extension's to answer for).
      const writes = createOutboundStage({ index: () => index, salt, alerts: sinks, log: sinks, tokenFormats: false });
      checkWrite = (content, path, ctx) => {
        const c = newContext(ctx.extensionId, null);
        c.callId = ctx.callId;
        c.method = 'fs.write';
        c.params = { path, data: content };
        c.capability = 'write';
        const refused = writes.run(c);
        if (refused !== undefined) throw refused;
      };
    }
    // HTTP egress after the payload scan (a URL carrying a secret is a secret_exposure first), whether or not
    // the broker is on. The http operation re-checks every resolved address and redirect; its refusals alert too.
    parts.push(createEgressStage({ rules: egressRulesLookup(o.policy.httpEgress), alerts: sinks }));
    const httpOp = operations?.get('http');
    if (operations !== undefined && httpOp !== undefined) operations = new Map(operations).set('http', alertEgressRefusals(httpOp, sinks));
    // Sockets after the payload scan too; the target is judged before any connect (src/mediation/net).
    parts.push(createNetStage({ policy: o.policy.compiled, grants: o.policy.netGrants, scope: fsScope, alerts: sinks }));
    const fsStage = createFsScopeStage({ scope: fsScope, alerts: sinks });
    // Exec mediation runs whether or not the broker is on, after the payload scan: a command carrying a secret is
    // a secret_exposure first.
    const execStage = createExecStage({
      policy: o.policy.compiled,
      workspace: o.workspace ?? process.cwd(),
      commandHash: hash,
      alerts: sinks,
      log: sinks,
      prompts: o.prompts,
      places: fsScope.layout,
      osConfined: o.osConfined === true,
    });
    parts.push(fsStage, execStage, createToolCallStage([fsStage, execStage], fsScope.layout.home));
    stage = chainStages('mediation', parts);
  }
  if (o.realFs === true && operations !== undefined) {
    // The host's own tool operation, before the broker wrapped it: the combined operation is scanned once.
    const toolOp = createFileToolOperation({
      kit: o.piTools,
      fs: operations,
      projectRoot: fsScope.layout.projectRoot,
      home: fsScope.layout.home,
      checkWrite,
      fallback: hostTool,
    });
    const one = new Map([['tool', toolOp]]);
    operations = new Map(operations).set('tool', (scanToolResults?.(one) ?? one).get('tool') as Operation);
  }
  return { stage, operations, fsScope, warnings };
}

// The reason codes each part records (closed vocabularies; replay checks a ledger against them).
export { EXEC_REASONS, isExecClassReason } from './exec/stage.ts';
export { FS_OPERATION_REASONS } from './fs/operations.ts';
export { FS_SCOPE_REASONS } from './fs/scope.ts';
export {
  EGRESS_MARKS,
  EGRESS_REASONS,
  checkAddress,
  checkTarget,
  egressAlerter,
  egressError,
  isEgressClassReason,
  parseTarget,
} from './http/egress.ts';
export { HTTP_REASONS } from './http/operation.ts';
export { NET_REASONS } from './net/target.ts';
export { SECRET_RESULT_REASONS } from './secrets/inbound.ts';
export { SECRET_NAME_REASONS } from './secrets/nameFilter.ts';
export { SECRET_VALUE_REASONS } from './secrets/outbound.ts';
export { SEARCH_REASONS } from './tools/confinedSearch.ts';
export { FILE_TOOL_REASONS } from './tools/fileTools.ts';
export { GLOB_REASONS } from './tools/glob.ts';
export { TOOL_CALL_REASONS } from './tools/toolCalls.ts';
export { RESULT_REASONS } from './results.ts';
