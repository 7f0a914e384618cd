/** `rollback policy|risk` (runbook Rollback Procedures), each verified through `policy explain`. */
import type { Command } from 'commander';
import { rollback, ROLLBACK_SETTINGS, type RollbackTarget } from '../incident/rollback/index.ts';
import { colours as pc, printJson, table, type Io } from './output.ts';

function run(io: Io, target: RollbackTarget, o: { json?: boolean; cwd?: string }): number {
  const r = rollback(target, o.cwd === undefined ? {} : { cwd: o.cwd });
  // `written` as JSON text: its keys are the settings file's (camelCase), data rather than fields of this output.
  if (o.json === true) printJson(io, 'pi-warden.rollback.v1', { ...r, written: JSON.stringify(r.written) });
  else {
    io.out(
      `wrote ${JSON.stringify(r.written)} into ${r.settings}${r.backup === null ? ' (there was no file before)' : `; the file as it was: ${r.backup}`}`,
    );
    io.out(
      table(
        ['policy explain', 'expected', 'found', 'ok'],
        r.checks.map((c) => [c.setting, JSON.stringify(c.expected), JSON.stringify(c.found), c.ok ? 'yes' : pc.red('NO')]),
      ),
    );
    io.out(
      r.verified
        ? pc.green(`verified: policy explain shows the rolled-back ${target} settings in force`)
        : pc.red(
            `NOT in force: the profile comes from ${r.profile_source}, which beats the user settings (or a settings file is invalid); fix that source`,
          ),
    );
  }
  return r.verified ? 0 : 1;
}

export function registerRollback(program: Command, io: Io, setExit: (code: number) => void): void {
  const cmd = program
    .command('rollback')
    .description("the runbook's Rollback Procedures: write its JSON into the user settings (a backup is kept), then check policy explain");
  for (const target of ['policy', 'risk'] as const) {
    cmd
      .command(target)
      .description(
        `set ${JSON.stringify({ [ROLLBACK_SETTINGS[target].key]: ROLLBACK_SETTINGS[target].values })} in the user settings\n` +
          '(other keys kept; the file as it was is copied next to it first), then verify through policy explain.\n' +
          'Exit code 0 when in force, 1 when a higher-precedence source (project settings, PI_EXTENSION_POLICY) still wins, 2 on error',
      )
      .option('--cwd <dir>', 'project directory whose .pi/settings.json the check reads (default: current directory)')
      .option('--json', 'machine-readable output')
      .action((_o: unknown, c: Command) => setExit(run(io, target, c.optsWithGlobals<{ json?: boolean; cwd?: string }>())));
  }
}
