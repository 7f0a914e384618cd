/**
 * The `pi-warden` command. Every command takes `--json`; errors are one line naming what is wrong, exit code 2.
 * The CLI only reads and calls into the library.
 */
import { Command, CommanderError, Option } from 'commander';
import { isWardenError, WardenError } from '../errors.ts';
import { PROFILES } from '../policy/profiles.ts';
import { processIo, type Io } from './output.ts';
import { runDiff, runExplain, runForget } from './policyCommands.ts';
import { runProbe } from './probeCommand.ts';

const VERSION = '0.1.0';

interface RootOptions {
  extensionPolicy?: string;
  explainExtensionPolicy?: boolean;
  json?: boolean;
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('pi-warden')
    .description('Security runtime and incident toolkit for pi extensions.\n\nEach runbook step is one command; add --json for machine-readable output.')
    .version(VERSION)
    .addOption(new Option('--extension-policy <profile>', `policy profile for this run (${PROFILES.join(', ')}); beats env and settings`))
    .option('--explain-extension-policy', 'print the effective policy and exit (alias of `policy explain`)')
    .option('--json', 'machine-readable output (with --explain-extension-policy)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showSuggestionAfterError(true)
    .allowExcessArguments(true)
    .action((opts: RootOptions, cmd: Command) => {
      if (cmd.args.length > 0) {
        throw new WardenError('usage', `unknown command '${cmd.args.join(' ')}' (see pi-warden --help)`);
      }
      if (opts.explainExtensionPolicy === true) {
        setExit(runExplain(io, { json: opts.json, extensionPolicy: opts.extensionPolicy }));
      } else {
        program.outputHelp();
      }
    });

  const policy = program.command('policy').description('inspect the capability policy (runbook INC-1, Rollback)');
  policy.command('explain')
    .description('show the effective policy: profile and its source, mode, caps, overrides, risk settings,\n'
      + 'and for every capability the decision and the precedence rule that produced it')
    .option('--extension <id>', 'explain for one extension (applies its overrides and remembered answers)')
    .option('--extension-policy <profile>', 'policy profile for this run')
    .option('--cwd <dir>', 'project directory whose .pi/settings.json to read (default: current directory)')
    .option('--json', 'machine-readable output')
    .action((_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<RootOptions & { extension?: string; cwd?: string }>();
      setExit(runExplain(io, opts));
    });
  policy.command('diff')
    .description('compare the policies two settings files produce; marks each change looser or tighter.\n'
      + 'Exit code 0 when identical, 1 when they differ, 2 on error')
    .argument('<fileA>', 'settings.json before')
    .argument('<fileB>', 'settings.json after')
    .option('--json', 'machine-readable output')
    .action((fileA: string, fileB: string, _opts: unknown, cmd: Command) => setExit(runDiff(io, fileA, fileB, cmd.optsWithGlobals<RootOptions>())));
  policy.command('forget')
    .description('remove remembered prompt answers of an extension from the user settings')
    .requiredOption('--extension <id>', 'extension whose answers to remove')
    .option('--capability <cap>', 'only this capability')
    .option('--json', 'machine-readable output')
    .action((_opts: unknown, cmd: Command) => setExit(runForget(io, cmd.optsWithGlobals<{ extension: string; capability?: string; json?: boolean }>())));
  program.command('probe')
    .description('run an extension in the sandbox against a simulated pi session with honeytoken secrets: '
      + 'fire the session lifecycle, invoke its commands, tools and shortcuts with sample input, and print what it '
      + 'registered, every hostcall with its derived capability and decision, and what was denied. '
      + 'Nothing it asks for is run: no program, no network, writes stay in memory.\n\n'
      + 'Exit code 0 when it loaded cleanly, 1 on a finding (load failure, stopped sandbox, leaked honeytoken), 2 on error.')
    .argument('<extension>', 'an extension file, or a folder (package.json "pi.extensions", or index.ts)')
    .option('--extension-policy <profile>', 'policy profile for this run (default: from env and settings, else safe)')
    .option('--cwd <dir>', 'the simulated session cwd and the project whose .pi/settings.json to read')
    .option('--no-invoke', 'only load and fire lifecycle events; do not run commands, tools or shortcuts')
    .option('--json', 'machine-readable output')
    .action(async (extension: string, _opts: unknown, cmd: Command) => {
      setExit(await runProbe(io, extension, cmd.optsWithGlobals<{ json?: boolean; extensionPolicy?: string; cwd?: string; invoke?: boolean }>()));
    });
  return program;
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let exit = 0;
  const program = buildProgram(io, (code) => {
    exit = code;
  });
  try {
    await program.parseAsync([...argv]);
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    if (isWardenError(err)) {
      io.err(`pi-warden: ${err.code}: ${err.message}`);
      return 2;
    }
    io.err(`pi-warden: internal error: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
