/**
 * The package route's commands (issue 14 item 1): `adopt`, `unadopt`, `disable`, `enable`, `status`, `install`.
 * pi's settings are read and written through pi's own module (`loadPiModule`); the agent dir is pi's
 * (`$PI_CODING_AGENT_DIR` or `~/.pi/agent`), the project is `--cwd` or the current directory.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { wardenHome } from '../evidence/index.ts';
import { WardenError } from '../errors.ts';
import {
  adopt,
  install,
  loadPiModule,
  setAdoptionDisabled,
  status,
  unadopt,
  type AdoptOutcome,
  type ExtensionStatus,
  type PiModule,
} from '../pi/index.ts';
import { colours as pc, printJson, snakeCaseKeys, table, type Io } from './output.ts';

interface CommonOptions {
  json?: boolean;
  home?: string;
  cwd?: string;
}

interface Places {
  readonly cwd: string;
  readonly agentDir: string;
  readonly home: string;
  readonly pi: PiModule;
}

async function places(o: CommonOptions): Promise<Places> {
  const pi = await loadPiModule();
  return { cwd: resolve(o.cwd ?? process.cwd()), agentDir: resolve(pi.getAgentDir()), home: o.home ?? wardenHome(), pi };
}

function parseScope(scope: string | undefined): 'user' | 'project' | undefined {
  if (scope === undefined || scope === 'user' || scope === 'project') return scope;
  throw new WardenError('usage', `--scope: expected user or project, found ${JSON.stringify(scope)}`);
}

const STATE_COLOUR: Record<ExtensionStatus['state'], (s: string) => string> = {
  sandboxed: pc.green,
  unsandboxed: pc.red,
  refused: pc.red,
  disabled: pc.yellow,
  off: pc.dim,
  missing: pc.yellow,
};

function outcomeLine(o: AdoptOutcome): string {
  if (o.result === 'refused') return pc.red(`refused ${o.id}: ${o.reason ?? ''}${o.message === undefined ? '' : `: ${o.message}`}`);
  const caps = o.extension?.capabilities.join(', ') || 'none';
  return `${pc.green(o.result)} ${o.id} (${o.extension?.scope ?? ''} ${o.extension?.origin ?? ''}; capabilities: ${caps}; settings: ${o.extension?.settingsChange.file ?? ''})`;
}

export async function runAdopt(io: Io, sources: string[], o: CommonOptions & { all?: boolean; scope?: string }): Promise<number> {
  if (o.all === true && sources.length > 0) throw new WardenError('usage', 'adopt: give SOURCE… or --all, not both');
  if (o.all !== true && sources.length === 0) throw new WardenError('usage', 'adopt: expected SOURCE… or --all');
  const p = await places(o);
  const scope = parseScope(o.scope);
  const outcomes = await adopt(o.all === true ? 'all' : sources, {
    ...p,
    ...(scope === undefined ? {} : { scope }),
    onProgress: (l) => io.err(l),
  });
  if (o.json === true)
    printJson(io, 'pi-warden.adopt.v1', snakeCaseKeys({ home: p.home, agentDir: p.agentDir, cwd: p.cwd, results: outcomes }) as object);
  else {
    io.out(outcomes.length === 0 ? 'nothing to adopt: pi lists no extension' : outcomes.map(outcomeLine).join('\n'));
    if (outcomes.some((x) => x.result !== 'refused'))
      io.out('pi no longer loads these itself; pi-warden loads them in sandboxes (check with `pi-warden status`)');
  }
  return outcomes.some((x) => x.result === 'refused' && x.reason !== 'self') ? 1 : 0;
}

export async function runUnadopt(io: Io, ids: string[], o: CommonOptions & { all?: boolean }): Promise<number> {
  if (o.all === true && ids.length > 0) throw new WardenError('usage', 'unadopt: give ID… or --all, not both');
  if (o.all !== true && ids.length === 0) throw new WardenError('usage', 'unadopt: expected ID… or --all');
  const p = await places(o);
  const outcomes = await unadopt(o.all === true ? 'all' : ids, p);
  if (o.json === true) printJson(io, 'pi-warden.unadopt.v1', snakeCaseKeys({ home: p.home, results: outcomes }) as object);
  else
    io.out(
      outcomes.length === 0
        ? 'nothing is adopted'
        : outcomes
            .map((x) =>
              x.settings === 'left_as_is'
                ? pc.yellow(`unadopted ${x.id}: pi's settings were changed by hand since; left as they are (check \`pi config\`)`)
                : `unadopted ${x.id}: pi's settings ${x.settings === 'restored_exactly' ? 'restored exactly' : 'filter removed'}; pi loads it itself again`,
            )
            .join('\n'),
    );
  return 0;
}

export function runSwitch(io: Io, disabled: boolean, o: CommonOptions): number {
  const home = o.home ?? wardenHome();
  const list = setAdoptionDisabled(home, disabled);
  if (o.json === true) printJson(io, 'pi-warden.adoption_switch.v1', { home, disabled: list.disabled, adopted: list.extensions.length });
  else
    io.out(
      disabled
        ? `disabled: none of the ${list.extensions.length} adopted extension(s) loads (pi's filters stay, so pi does not load them either; the list and the ledger are kept). \`pi-warden enable\` undoes this`
        : `enabled: the ${list.extensions.length} adopted extension(s) load in sandboxes again`,
    );
  return 0;
}

export async function runBridgeStatus(io: Io, o: CommonOptions): Promise<number> {
  const p = await places(o);
  const report = await status({ ...p, onProgress: (l) => io.err(l) });
  if (o.json === true)
    printJson(io, 'pi-warden.bridge_status.v1', snakeCaseKeys({ home: p.home, agentDir: p.agentDir, cwd: p.cwd, ...report }) as object);
  else {
    if (report.disabled) io.out(pc.yellow('pi-warden disable is in force: no adopted extension loads'));
    io.out(
      report.extensions.length === 0
        ? 'pi lists no extension'
        : table(
            ['state', 'extension', 'scope', 'why'],
            report.extensions.map((e) => [STATE_COLOUR[e.state](e.state), e.id, e.scope, e.detail]),
          ),
    );
  }
  return report.extensions.some((e) => e.state === 'unsandboxed') ? 1 : 0;
}

export async function runInstall(io: Io, source: string, o: CommonOptions & { local?: boolean }): Promise<number> {
  const p = await places(o);
  const outcome = await install(source, { ...p, local: o.local === true, onProgress: (l) => io.err(l) });
  if (o.json === true) printJson(io, 'pi-warden.install.v1', snakeCaseKeys({ home: p.home, ...outcome }) as object);
  else if (outcome.result === 'refused') io.out(pc.red(`refused ${source}: ${outcome.message ?? ''}; it was removed again`));
  else
    io.out(
      `installed and adopted ${outcome.id ?? source} (capabilities: ${outcome.extension?.capabilities.join(', ') || 'none'}): pi never loads it itself`,
    );
  return outcome.result === 'refused' ? 1 : 0;
}

export function registerBridge(program: Command, io: Io, setExit: (code: number) => void): void {
  const home = () =>
    new Option('--home <dir>', "pi-warden's home, where adopted.json lives (default: $PI_WARDEN_HOME or ~/.pi/agent/warden)");
  const cwd = () => new Option('--cwd <dir>', 'the project whose .pi/settings.json pi reads (default: the current directory)');
  const exits = (zero: string, one: string) =>
    `\n\nExit code 0 ${zero}, 1 ${one}, 2 on error (a malformed settings file, an unknown source, a usage error).`;
  program
    .command('adopt')
    .description(
      "run extensions in pi-warden instead of pi: writes pi's own disable filter for each (what `pi config` writes:\n" +
        '{"source": S, "extensions": []} for a package, "-path" for a top-level file; in the scope where it is configured),\n' +
        "checks with pi's resolver that pi no longer loads it, and records it in adopted.json pinned to its bundle's hash\n" +
        'and the capabilities its scan found. A forbidden scan verdict refuses it (unless extensionPolicy.overrides.<id>.allowForbiddenScan).\n' +
        'pi-warden itself is never adopted. Adopting an adopted extension again re-pins it.' +
        exits(
          'when everything named was adopted',
          'when one was refused (scan forbidden, does not bundle, a second extension with one id)',
        ),
    )
    .argument('[sources...]', "ids (npm:name, git:host/path, a path) or sources as pi's settings spell them")
    .option('--all', 'every extension pi lists')
    .option('--scope <scope>', 'only extensions configured in this scope: user or project')
    .addOption(cwd())
    .addOption(home())
    .option('--json', 'machine-readable output')
    .action(async (sources: string[], _o: unknown, cmd: Command) => setExit(await runAdopt(io, sources, cmd.optsWithGlobals())));
  program
    .command('unadopt')
    .description(
      'give extensions back to pi: undo the settings change adopt made (byte for byte when nothing else changed the\n' +
        'file since, else only the filter adopt added) and remove them from adopted.json' +
        exits('when done', '(not used)'),
    )
    .argument('[ids...]', 'adopted ids (see `pi-warden status`)')
    .option('--all', 'every adopted extension')
    .addOption(cwd())
    .addOption(home())
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], _o: unknown, cmd: Command) => setExit(await runUnadopt(io, ids, cmd.optsWithGlobals())));
  program
    .command('disable')
    .description(
      "no adopted extension loads (the runtime reads the flag in adopted.json); pi's filters stay, the list and the ledger\n" +
        'are kept. Undo with `pi-warden enable`. Exit code 0 when done, 2 on error',
    )
    .addOption(home())
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runSwitch(io, true, cmd.optsWithGlobals())));
  program
    .command('enable')
    .description('adopted extensions load in sandboxes again (undoes `pi-warden disable`). Exit code 0 when done, 2 on error')
    .addOption(home())
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runSwitch(io, false, cmd.optsWithGlobals())));
  program
    .command('status')
    .description(
      'for every extension pi lists: sandboxed (adopted, pin holds), unsandboxed (pi loads it itself: not adopted, or its\n' +
        'filter was removed by hand), refused (its update needs new capabilities, or its scan is forbidden: it does not\n' +
        'load until adopted again), disabled (`pi-warden disable`), off (pi does not load it, not adopted), missing (adopted,\n' +
        'files gone). Read-only.' +
        exits('when nothing runs unsandboxed', 'when something does'),
    )
    .addOption(cwd())
    .addOption(home())
    .option('--json', 'machine-readable output')
    .action(async (_o: unknown, cmd: Command) => setExit(await runBridgeStatus(io, cmd.optsWithGlobals())));
  program
    .command('install')
    .description(
      "`pi install SOURCE` through pi's package manager, except that pi never loads it: the settings entry is written\n" +
        'already disabled, the package is scanned (the install gate) and adopted. A forbidden verdict removes it again.' +
        exits('when installed and adopted', 'when the scan refused it (removed again)'),
    )
    .argument('<source>', 'npm:name[@version], a git URL, or a local path, as `pi install` takes them')
    .option('-l, --local', 'project scope (.pi/settings.json), as `pi install -l`')
    .addOption(cwd())
    .addOption(home())
    .option('--json', 'machine-readable output')
    .action(async (source: string, _o: unknown, cmd: Command) => setExit(await runInstall(io, source, cmd.optsWithGlobals())));
}
