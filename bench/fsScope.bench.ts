/**
 * Filesystem scope benchmarks (bench/results/fs-scope.json): the dispatch pipeline p99 for `fs.read` with the scope
 * stage on versus off (no-op operation: only the check is measured), and the confined read operation (resolve,
 * check, open the file with O_NOFOLLOW, verify it through /proc/self/fd, read) versus a plain `readFileSync` of
 * the same file in the same process.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDispatcher, type Operation, type OperationContext } from '../src/dispatch/dispatcher.ts';
import { anchoredByKernel, createFsOperations } from '../src/mediation/fs/operations.ts';
import { createFsScopeStage, FsScope } from '../src/mediation/fs/scope.ts';
import { compilePolicy } from '../src/policy/precedence.ts';
import { rulesFor } from '../src/policy/settings.ts';
import { benchAsync, benchSync, printResults, relativeTo, writeResults } from './harness.ts';

export async function run(): Promise<string> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'pi-warden-bench-fs-')));
  try {
    const project = join(root, 'project');
    const file = join(project, 'src', 'deep', 'er', 'module.ts');
    mkdirSync(join(project, 'src', 'deep', 'er'), { recursive: true });
    writeFileSync(file, 'export const x = 1;\n'.repeat(200));
    const scope = new FsScope({
      layout: {
        projectRoot: project,
        home: join(root, 'home'),
        agentDir: join(root, 'home', '.pi', 'agent'),
        wardenHome: join(root, 'warden'),
        dataRoot: join(root, 'warden', 'data'),
      },
    });
    const policy = compilePolicy(rulesFor('permissive', false));
    const noop: Operation = () => 'ok';
    const off = createDispatcher({ policy, operations: new Map([['fs.read', noop]]) });
    const on = createDispatcher({ policy, operations: new Map([['fs.read', noop]]), stages: [createFsScopeStage({ scope })] });
    const call = { call_id: 'b', method: 'fs.read', params: { path: file, encoding: 'utf8' } };
    if (!(await on.dispatch('ext', call)).ok) throw new Error('the benchmark read must be allowed');
    const offR = await benchAsync('dispatch fs.read, fs scope off', 20_000, () => off.dispatch('ext', call), 50);
    const onR = relativeTo(await benchAsync('dispatch fs.read, fs scope on', 20_000, () => on.dispatch('ext', call), 50), offR);
    const read = createFsOperations({ scope }).get('fs.read')!;
    const ctx: OperationContext = { extensionId: 'ext', callId: 'b', capability: 'read', signal: new AbortController().signal };
    const plainR = benchSync('readFileSync (4 KB, no checks)', 20_000, () => readFileSync(file, 'utf8'));
    const confinedR = relativeTo(
      benchSync(`confined fs.read operation (4 KB, ${anchoredByKernel ? 'kernel-anchored' : 're-resolved'})`, 20_000, () =>
        read({ path: file, encoding: 'utf8' }, ctx),
      ),
      plainR,
    );
    const results = [offR, onR, plainR, confinedR];
    printResults('fs-scope', results);
    return writeResults('fs-scope', results, { anchored_by_kernel: anchoredByKernel });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
