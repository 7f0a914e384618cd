/** Child process for the crash test: appends records forever, printing the tree size after each flush. */
import { EvidenceWriter } from '../../src/evidence/writer.ts';
import { compilePolicy } from '../../src/policy/precedence.ts';
import { rulesFor } from '../../src/policy/settings.ts';

const home = process.argv[2] as string;
const writer = await EvidenceWriter.open(home, { groupCommitMs: 2, checkpointEvery: 500 });
const policy = compilePolicy(rulesFor('safe', false));
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const burst = 1 + (i % 200);
  for (let j = 0; j < burst; j++) {
    writer.record({
      ts_ms: Date.now(),
      extension_id: `ext-${j % 3}`,
      call_id: `c${i}-${j}`,
      method: 'fs.read',
      capability: 'read',
      declared_capability: null,
      decision: 'allow',
      rule: 'default_caps',
      error_code: null,
      reason_codes: [],
      duration_ms: 0,
      stage: null,
      policy,
      params: { path: `/p/${i}/${j}` },
    });
  }
  if (i % 3 === 0) {
    const r = await writer.flush();
    process.stdout.write(`flushed ${r.treeSize}\n`);
  } else {
    await new Promise((r) => setImmediate(r));
  }
}
