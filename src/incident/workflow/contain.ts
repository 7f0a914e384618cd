/**
 * Contain (runbook: "Kill extension, verify isolation"): the kill switch, then proof that it holds. The proof is
 * a real hostcall: a canary extension, pi-warden's own code and never the suspect's, runs in a QuickJS sandbox
 * under the suspect's extension id and asks for `exec` through the full runtime pipeline over the same store.
 * Contained means the trust gate refused it as `quarantined`; anything else (served, or refused for another
 * reason such as the policy) means the kill switch does not hold, and contain fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import type { DecisionRecord } from '../../evidence/index.ts';
import { hostOperations } from '../../pi/index.ts';
import { resolvePolicy } from '../../policy/index.ts';
import { HeadlessHost } from '../../probe/index.ts';
import { createRuntime } from '../../runtime/createRuntime.ts';
import { bundleEntry, hostBoot, Sandbox } from '../../sandbox/index.ts';
import { TrustRegistry } from '../../trust/index.ts';

const CANARY_EVENT = 'pi_warden_isolation_check';

/** The canary: one hostcall, and what became of it. */
const CANARY_SOURCE = `export default function (pi) {
  pi.on('${CANARY_EVENT}', async () => {
    await pi.exec('true', []);
  });
}
`;

export interface IsolationCheck {
  /** The hostcall the canary made first. */
  readonly method: string;
  readonly served: boolean;
  readonly error_code: string | null;
  readonly reason_codes: readonly string[];
}

export interface Containment {
  readonly kill: 'killed' | 'already_quarantined';
  readonly transition_id: number | null;
  readonly isolation: IsolationCheck;
}

/** Kill switch on `extensionId` (a no-op when it is quarantined already), then the isolation check. */
export async function contain(db: DatabaseSync, home: string, extensionId: string, actor: string, reason: string): Promise<Containment> {
  const registry = new TrustRegistry(db);
  let transitionId: number | null = null;
  if (registry.stateOf(extensionId) !== 'quarantined') transitionId = registry.transition(extensionId, 'kill', actor, reason).id;
  const isolation = await isolationCheck(home, extensionId);
  if (isolation.served || isolation.error_code !== 'quarantined')
    throw new WardenError(
      'containment_failed',
      `${extensionId}: expected its next hostcall to be refused as quarantined after the kill switch, found it ${isolation.served ? 'served' : `refused as ${String(isolation.error_code)} (${isolation.reason_codes.join(', ')})`}; it is not contained: run \`pi-warden disable\` (the runbook's emergency step) and investigate`,
    );
  return { kill: transitionId === null ? 'already_quarantined' : 'killed', transition_id: transitionId, isolation };
}

/**
 * Runs the canary under `extensionId` through a runtime over the store at `home` and reports its first hostcall
 * as the dispatcher recorded it. For a quarantined id that is the load itself (registering a handler is a
 * hostcall), so the canary never gets to run; otherwise it asks for `exec`.
 */
export async function isolationCheck(home: string, extensionId: string): Promise<IsolationCheck> {
  const scratch = mkdtempSync(join(tmpdir(), 'pi-warden-canary-'));
  // A fixed policy from no settings at all: the trust gate, which runs before the policy, is what is checked.
  const policy = resolvePolicy({ cliProfile: 'safe', env: { HOME: scratch }, cwd: scratch });
  const seen: DecisionRecord[] = [];
  const runtime = await createRuntime({
    home,
    policy,
    workspace: scratch,
    // A simulated pi session, so that what is not refused is served as in pi.
    operations: hostOperations(new HeadlessHost({ cwd: scratch, home: scratch })),
    recorders: [{ record: (r) => void (r.extension_id === extensionId && seen.push(r)) }],
  });
  let sandbox: Sandbox | undefined;
  try {
    const file = join(scratch, 'canary.js');
    writeFileSync(file, CANARY_SOURCE);
    sandbox = await Sandbox.create({
      extensionId,
      dispatcher: runtime.dispatcher,
      boot: hostBoot(scratch, scratch),
      limits: { wallTimeMs: 10_000 },
    });
    try {
      await sandbox.load(await bundleEntry(file));
      await sandbox.emit(CANARY_EVENT, {});
    } catch {
      // refused at load: the record below says why
    }
    const first = seen[0];
    if (first === undefined)
      throw new WardenError(
        'containment_failed',
        `${extensionId}: expected the canary's hostcall to reach the dispatcher, found none recorded`,
      );
    return {
      method: first.method,
      served: first.decision === 'allow',
      error_code: first.error_code,
      reason_codes: [...first.reason_codes],
    };
  } finally {
    sandbox?.dispose();
    await runtime.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
