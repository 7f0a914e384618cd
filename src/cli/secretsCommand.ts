/** `pi-warden secrets classify NAME...`: which variable names the secret broker hides, and by which rule. */
import { classifySecretName } from '../mediation/index.ts';
import { resolvePolicy } from '../policy/index.ts';
import { colours as pc, printJson, table, type Io } from './output.ts';
import { reportSettingsErrors } from './settingsErrors.ts';

export function runClassify(io: Io, names: readonly string[], o: { json?: boolean; cwd?: string }): number {
  const resolved = resolvePolicy({ cwd: o.cwd });
  const results = names.map((n) => classifySecretName(n, resolved.secretBroker));
  if (o.json === true)
    printJson(io, 'pi-warden.secrets_classification.v1', { results: results.map(({ name, secret, rule }) => ({ name, secret, rule })) });
  else
    io.out(
      table(
        ['name', 'secret', 'rule'],
        results.map((r) => [r.name, r.secret ? pc.red('secret') : 'no', r.matched === undefined ? r.rule : `${r.rule} (${r.matched})`]),
      ),
    );
  return reportSettingsErrors(io, resolved.errors) ? 2 : 0;
}
