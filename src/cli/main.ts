/**
 * The `pi-warden` command. Every command takes `--json`; errors are one line naming what is wrong, exit code 2.
 * The CLI only reads and calls into the library.
 */
import { Command, CommanderError, Option } from 'commander';
import { isWardenError, WardenError } from '../errors.ts';
import { PROFILES } from '../policy/index.ts';
import { printJsonError, processIo, type Io } from './output.ts';
import { runDiff, runExplain, runForget } from './policyCommands.ts';
import { runAlerts, runKeysExport, runReplay, runVerify } from './evidenceCommands.ts';
import { runBreaches, runRollout, runStatus, runTransition } from './trustCommands.ts';
import { registerScan } from './scanCommand.ts';
import { runClassify } from './secretsCommand.ts';
import { runFsCheck } from './fsCommand.ts';
import { runProbe } from './probeCommand.ts';
import { registerBridge } from './bridgeCommands.ts';
import { registerIncident } from './incidentCommands.ts';
import { registerRollback } from './rollbackCommands.ts';
import { reportCommand } from './reportCommands.ts';
import { registerExport } from './exportCommands.ts';
import { registerBundle } from './bundleCommands.ts';
import { runLauncher } from '../pi/index.ts';

const VERSION = '0.1.0';

interface RootOptions {
  extension?: string;
  extensionPolicy?: string;
  explainExtensionPolicy?: boolean;
  json?: boolean;
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('pi-warden')
    .description(
      'Security runtime and incident toolkit for pi extensions.\n\nEach runbook step is one command; add --json for machine-readable output.',
    )
    .version(VERSION)
    .addOption(new Option('--extension-policy <profile>', `policy profile for this run (${PROFILES.join(', ')}); beats env and settings`))
    .option('--explain-extension-policy', 'print the effective policy and exit (alias of `policy explain`)')
    .option('--extension <id>', 'with --explain-extension-policy: explain for one extension')
    .option('--json', 'machine-readable output (with --explain-extension-policy); with any command, errors are JSON too')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showSuggestionAfterError(true)
    .allowExcessArguments(true)
    .enablePositionalOptions()
    .action((opts: RootOptions, cmd: Command) => {
      if (cmd.args.length > 0) {
        throw new WardenError('usage', `unknown command '${cmd.args.join(' ')}' (see pi-warden --help)`);
      }
      if (opts.explainExtensionPolicy === true) {
        setExit(runExplain(io, { json: opts.json, extensionPolicy: opts.extensionPolicy, extension: opts.extension }));
      } else {
        program.outputHelp();
      }
    });

  const policy = program.command('policy').description('inspect the capability policy (runbook INC-1, Rollback)');
  policy
    .command('explain')
    .description(
      'show the effective policy: profile and its source, mode, caps, overrides, risk settings,\n' +
        'and for every capability the decision and the precedence rule that produced it',
    )
    .option('--extension <id>', 'explain for one extension (applies its overrides and remembered answers)')
    .option('--extension-policy <profile>', 'policy profile for this run')
    .option('--cwd <dir>', 'project directory whose .pi/settings.json to read (default: current directory)')
    .option('--json', 'machine-readable output')
    .action((_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<RootOptions & { extension?: string; cwd?: string }>();
      setExit(runExplain(io, opts));
    });
  policy
    .command('diff')
    .description(
      'compare the policies two settings files produce; marks each change looser or tighter.\n' +
        'Exit code 0 when identical, 1 when they differ, 2 on error',
    )
    .argument('<fileA>', 'settings.json before')
    .argument('<fileB>', 'settings.json after')
    .option('--json', 'machine-readable output')
    .action((fileA: string, fileB: string, _opts: unknown, cmd: Command) =>
      setExit(runDiff(io, fileA, fileB, cmd.optsWithGlobals<RootOptions>())),
    );
  policy
    .command('forget')
    .description('remove remembered prompt answers of an extension from the user settings')
    .requiredOption('--extension <id>', 'extension whose answers to remove')
    .option('--capability <cap>', 'only this capability')
    .option('--json', 'machine-readable output')
    .action((_opts: unknown, cmd: Command) =>
      setExit(runForget(io, cmd.optsWithGlobals<{ extension: string; capability?: string; json?: boolean }>())),
    );
  const homeOption = () => new Option('--home <dir>', 'the evidence store directory (default: $PI_WARDEN_HOME or ~/.pi/agent/warden)');
  const ledger = program.command('ledger').description('verify and replay the tamper-evident decision ledger (runbook INC-3)');
  ledger
    .command('verify')
    .description(
      'recompute every hash, the chain, seq continuity, signed checkpoints and prune records; classify the\n' +
        'first break as corruption, tampering or truncation. Exit code 0 only when intact, 1 on a break, 2 on\n' +
        'an error (a --public-key that signed none of the checkpoints is one: no alert). A break is also recorded\n' +
        'as a ledger_integrity alert, except in a read-only store (a forensic copy), which is never written',
    )
    .addOption(homeOption())
    .option('--public-key <file>', 'trusted public key (PEM) for checkpoint signatures (default: the local signing key)')
    .option('--remote-checkpoints <file>', "also check against checkpoints that left the machine (the collector's OTLP/JSON records)")
    .option('--json', 'machine-readable report')
    .action((_o: unknown, cmd: Command) => setExit(runVerify(io, cmd.optsWithGlobals())));
  ledger
    .command('replay')
    .description(
      'recompute each recorded decision under the policy snapshot it was made with and list the entries\n' +
        'whose recorded decision differs; stops at the first break and lists later entries as untrusted.\n' +
        'Exit code 0 when everything matches and nothing is untrusted',
    )
    .addOption(homeOption())
    .option('--extension <id>', 'only this extension')
    .option('--until <seq>', 'stop after this sequence number')
    .option('--public-key <file>', 'trusted public key (PEM) for checkpoint signatures')
    .option('--json', 'machine-readable report')
    .action((_o: unknown, cmd: Command) => setExit(runReplay(io, cmd.optsWithGlobals())));
  program
    .command('alerts')
    .description('list security alerts (read-only: listing never removes anything)')
    .addOption(homeOption())
    .option('--since <time>', 'from this time (epoch ms or ISO date, inclusive)')
    .option('--until <time>', 'up to this time (inclusive)')
    .option('--extension <id>', 'only this extension')
    .option('--category <name>', 'only this category')
    .option('--min-severity <level>', 'info, low, medium, high or critical')
    .option('--limit <n>', 'at most this many')
    .option('--format <format>', 'with --json: pi-warden (default) or ocsf (Detection Finding 2004, Incident Finding 2005)')
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runAlerts(io, { ...cmd.optsWithGlobals(), version: VERSION })));
  const keys = program.command('keys').description('the checkpoint signing key');
  keys
    .command('export')
    .description('print the public key that verifies checkpoints (creates the key pair on first use, private key 0600)')
    .addOption(homeOption())
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runKeysExport(io, cmd.optsWithGlobals())));
  const trust = program
    .command('trust')
    .description('trust lifecycle and kill switch (runbook INC-5): unknown → probation → trusted; quarantined from any state');
  const transition = (name: 'kill' | 'lift' | 'promote', description: string) =>
    trust
      .command(name)
      .description(description)
      .argument('<extension>', 'extension id')
      .requiredOption('--reason <text>', 'why (kept in the audit trail and the alert)')
      .option('--actor <name>', 'who (default: user@host)')
      .addOption(homeOption())
      .option('--json', 'machine-readable output')
      .action((id: string, _o: unknown, cmd: Command) => setExit(runTransition(io, name, id, cmd.optsWithGlobals())));
  transition(
    'kill',
    'quarantine an extension now: every process using this store refuses its next hostcall and stops its\n' +
      'sandbox, whatever the risk controller settings; survives restarts. Killing a quarantined extension\n' +
      'again succeeds and changes nothing',
  );
  transition('lift', 'the only way out of quarantine: back to probation, with actor and reason recorded');
  transition('promote', 'one step up: unknown → probation → trusted');
  trust
    .command('status')
    .description('trust state of one extension with its history, or of all (read-only; exit 2 when there is no store)')
    .argument('[extension]', 'extension id')
    .addOption(homeOption())
    .option('--json', 'machine-readable output')
    .action((id: string | undefined, _o: unknown, cmd: Command) => setExit(runStatus(io, id, cmd.optsWithGlobals())));
  const rollout = program
    .command('rollout')
    .description('graduated rollout of risk enforcement: shadow → log_only → enforce_new → enforce_all');
  rollout
    .command('status')
    .description('the phase in force and who set it (read-only; exit 2 when there is no store)')
    .addOption(homeOption())
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runRollout(io, 'status', cmd.optsWithGlobals())));
  for (const [name, text] of [
    ['advance', 'one phase forward (or --to PHASE)'],
    ['rollback', 'one phase back (or --to PHASE)'],
  ] as const) {
    rollout
      .command(name)
      .description(text)
      .requiredOption('--reason <text>', 'why (kept with the phase and in the alert)')
      .option('--to <phase>', 'jump to this phase')
      .option('--actor <name>', 'who (default: user@host)')
      .addOption(homeOption())
      .option('--json', 'machine-readable output')
      .action((_o: unknown, cmd: Command) => setExit(runRollout(io, name, cmd.optsWithGlobals())));
  }
  program
    .command('quota')
    .description('resource quotas (runbook INC-6)')
    .command('breaches')
    .description('list quota breaches {extension_id, resource, limit, actual, ts_ms}; reading never removes them')
    .addOption(homeOption())
    .option('--extension <id>', 'only this extension')
    .option('--json', 'machine-readable output')
    .action((_o: unknown, cmd: Command) => setExit(runBreaches(io, cmd.optsWithGlobals())));
  program
    .command('secrets')
    .description('the secret broker (runbook INC-2)')
    .command('classify')
    .description(
      'say for each variable name whether the secret broker hides it, and which rule decided\n' +
        "(the settings' secretBroker.enabled and disclosureAllowlist apply)",
    )
    .argument('<names...>', 'environment variable names')
    .option('--json', 'machine-readable output: {schema, results: [{name, secret, rule}]}')
    .action((names: string[], _o: unknown, cmd: Command) => setExit(runClassify(io, names, cmd.optsWithGlobals())));
  program
    .command('fs')
    .description('filesystem scope (SPEC §5.5; runbook INC-2)')
    .command('check')
    .description(
      'say for each path whether an extension may read it (or write it, with --write), the path it resolves\n' +
        'to through symlinks and .., and the rule that decided (project root = the current directory; grants from\n' +
        'extensionPolicy.overrides.<id>.fs). Exit code 0 all allowed, 1 any denied, 2 settings errors.',
    )
    .argument('<paths...>', 'paths (relative ones are taken from the current directory)')
    .requiredOption('--extension <id>', 'the extension id whose grants and data folder apply')
    .option('--write', 'check write access (default: read)')
    .addOption(homeOption())
    .option(
      '--json',
      'machine-readable output: {schema, extension_id, project_root, data_folder, results: [{path, resolved, access, decision, reason, detail}]}',
    )
    .action((paths: string[], _o: unknown, cmd: Command) => setExit(runFsCheck(io, paths, cmd.optsWithGlobals())));
  registerScan(program, io, setExit, VERSION);
  program
    .command('probe')
    .description(
      'run an extension in the sandbox against a simulated pi session with honeytoken secrets: ' +
        'fire the session lifecycle, invoke its commands, tools and shortcuts with sample input, and print what it ' +
        'registered, every hostcall with its derived capability and decision, and what was denied. ' +
        'Nothing it asks for is run: no program, no network, writes stay in memory.\n\n' +
        'Each extension is scanned first; a forbidden verdict is not loaded unless the user settings set ' +
        'extensionPolicy.overrides.<id>.allowForbiddenScan. Every mediation stage runs also with --no-record.\n\n' +
        'Exit code 0 when every entry loaded and nothing reached --fail-on, 1 when something did or an entry was refused ' +
        'by its scan, failed to load or was stopped, 2 on error (an invalid settings file included; an invalid user settings file loads nothing).',
    )
    .argument(
      '<extension>',
      'an extension file, a package or extension folder, or a folder of extensions, found as pi finds them (ADR 0026)',
    )
    .option('--extension-policy <profile>', 'policy profile for this run (default: from env and settings, else safe)')
    .option('--cwd <dir>', 'the simulated session cwd and the project whose .pi/settings.json to read')
    .option('--no-invoke', 'only load and fire lifecycle events; do not run commands, tools or shortcuts')
    .addOption(homeOption())
    .option('--no-record', 'record decisions into a temporary store removed afterwards; every check still runs')
    .option(
      '--fail-on <kinds>',
      'exit 1 when any of these is found (comma-separated): honeytoken (seen leaving or blocked), denied (a refused ' +
        'hostcall), contacted (a network destination), read_outside (a read outside the project and its package)',
      'honeytoken',
    )
    .option('--json', 'machine-readable output')
    .action(async (extension: string, _opts: unknown, cmd: Command) => {
      setExit(
        await runProbe(
          io,
          extension,
          cmd.optsWithGlobals<{
            json?: boolean;
            extensionPolicy?: string;
            cwd?: string;
            invoke?: boolean;
            home?: string;
            record?: boolean;
            failOn?: string;
          }>(),
        ),
      );
    });
  registerBridge(program, io, setExit);
  registerIncident(program, io, setExit);
  registerRollback(program, io, setExit);
  reportCommand(program, io, setExit);
  registerExport(program, io, setExit);
  registerBundle(program, io, setExit);
  program
    .command('pi')
    .description(
      'the launcher route (strict): start pi with every extension it would load running in pi-warden sandboxes\n' +
        '(pi runs with --no-extensions plus one sandboxed proxy per extension; nothing pi discovers is imported)\n' +
        'everything after `pi` goes to pi unchanged, e.g. `pi-warden pi -p "hello"`; pi is found like `adopt` finds it\n' +
        "exit code: pi's own; 2 when pi-warden cannot start (invalid settings, pi not found)",
    )
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .passThroughOptions(true)
    .argument('[pi-args...]', "pi's arguments")
    .action(async (args: string[]) => {
      await runLauncher({ args });
      setExit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  return program;
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let exit = 0;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  // With --json (or scan's --format json) an error is a JSON document on stdout too, so a script parsing the
  // output gets {schema, error} instead of nothing; the one-line message stays on stderr for people.
  const json = argv.some((a, i) => a === '--json' || a === '--format=json' || (a === '--format' && argv[i + 1] === 'json'));
  const fail = (code: string, message: string): number => {
    if (json) printJsonError(io, code, message);
    return 2;
  };
  try {
    await program.parseAsync([...argv]);
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return fail('usage', err.message.replace(/^error: /, ''));
    }
    if (isWardenError(err)) {
      io.err(`pi-warden: ${err.code}: ${err.message}`);
      return fail(err.code, err.message);
    }
    const message = err instanceof Error ? err.message : String(err);
    io.err(`pi-warden: internal error: ${message}`);
    return fail('internal', message);
  }
}
