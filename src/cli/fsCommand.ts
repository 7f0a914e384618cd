/**
 * `pi-warden fs check PATH... --extension ID [--write]`: what the filesystem scope (SPEC §5.5, §5.6) would decide
 * for an extension's access to each path, with the resolved path, the rule and the list entry that matched (with the
 * symlink it was reached through: `~/.ssh (symlink ~/.ssh → ~/dotfiles/ssh)`) — the operator's answer to "why was
 * this read refused?" and a way to try a grant before relying on it. The lists are built from this process's
 * environment (XDG_CONFIG_HOME, GNUPGHOME, ...), as pi's would be.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { wardenHome } from '../evidence/index.ts';
import { FsScope, type FsAccess } from '../mediation/index.ts';
import { agentDir, resolvePolicy } from '../policy/index.ts';
import { colours as pc, printJson, table, type Io } from './output.ts';
import { reportSettingsErrors } from './settingsErrors.ts';

export interface FsCheckOptions {
  readonly extension: string;
  readonly write?: boolean;
  readonly json?: boolean;
  readonly home?: string;
  readonly cwd?: string;
}

export function runFsCheck(io: Io, paths: readonly string[], o: FsCheckOptions): number {
  const cwd = o.cwd ?? process.cwd();
  const resolved = resolvePolicy({ cwd });
  const env = process.env;
  const warden = o.home ?? wardenHome(env);
  const scope = new FsScope({
    layout: {
      projectRoot: cwd,
      home: env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir(),
      agentDir: agentDir(env),
      wardenHome: warden,
      dataRoot: join(warden, 'data'),
    },
    grants: resolved.fsGrants,
    env,
  });
  const access: FsAccess = o.write === true ? 'write' : 'read';
  const rows = paths.map((path) => {
    const r = scope.check(o.extension, path, access, true);
    return 'reason' in r
      ? { path, resolved: r.path, access, decision: 'deny' as const, reason: r.reason, list_entry: r.entry ?? null, detail: r.detail }
      : {
          path,
          resolved: r.real,
          access,
          decision: 'allow' as const,
          reason: null,
          list_entry: null,
          detail: 'inside the project, the data folder or a grant',
        };
  });
  if (o.json === true)
    printJson(io, 'pi-warden.fs_check.v1', {
      extension_id: o.extension,
      project_root: scope.layout.projectRoot,
      data_folder: scope.dataFolder(o.extension),
      results: rows,
    });
  else {
    io.out(`extension ${o.extension}: project ${scope.layout.projectRoot}, data folder ${scope.dataFolder(o.extension)}`);
    io.out(
      table(
        ['path', access, 'resolved', 'list entry', 'why'],
        rows.map((r) => [r.path, r.decision === 'allow' ? pc.green('allow') : pc.red('deny'), r.resolved, r.list_entry ?? '-', r.detail]),
      ),
    );
  }
  if (reportSettingsErrors(io, resolved.errors)) return 2;
  return rows.some((r) => r.decision === 'deny') ? 1 : 0;
}
