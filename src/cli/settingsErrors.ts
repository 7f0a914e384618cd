/** How every command that reads settings reports invalid files: each error with what it means for this run (exit 2). */
import type { SettingsError } from '../policy/index.ts';
import type { Io } from './output.ts';

const CONSEQUENCE: Record<SettingsError['scope'], string> = {
  project: 'this file is ignored until it is fixed; the user settings apply without it',
  user: 'no extension loads until it is fixed; this command used the safe profile with default settings',
};

/** Prints one `error:` line per problem; true when there were any (the command then exits 2). */
export function reportSettingsErrors(io: Io, errors: readonly SettingsError[]): boolean {
  for (const e of errors) io.err(`error: ${e.message} (${CONSEQUENCE[e.scope]})`);
  return errors.length > 0;
}
