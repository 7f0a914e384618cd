/**
 * Run by cpu_time.test.ts as a child process: loads one honest extension and one that spins for ever, each with a CPU
 * budget per entry, prints `ready`, and on `go` (once the test has starved it of CPU: a high nice value while real
 * processes spin on every core) runs both and prints what happened to each as one JSON line. Nothing here measures
 * time.
 */
import { loadSource } from './harness.ts';

const HONEST = `export default function (pi: any) {
  // A fixed amount of work (≈ tens of ms of CPU), far under the budget whatever the machine is doing.
  pi.on('work', () => { let s = 0; for (let i = 0; i < ${Number(process.env.WORK_ITERATIONS ?? 400_000)}; i++) s = (s + i * 7) % 1000003; return s; });
}
`;
const SPINNER = "export default function (pi: any) { pi.on('spin', () => { for (;;) {} }); }\n";

const budget = Number(process.env.CPU_BUDGET_MS ?? 1000);
const honest = await loadSource(HONEST, { extensionId: 'honest', limits: { cpuMsPerEntry: budget, cpuMsPerWindow: 0 } });
const spinner = await loadSource(SPINNER, {
  extensionId: 'spinner',
  limits: { cpuMsPerEntry: Number(process.env.SPIN_BUDGET_MS ?? 50), cpuMsPerWindow: 0 },
});
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
let honestOutcome: string;
try {
  const [out] = await honest.sandbox.emit('work', {});
  honestOutcome = out?.results[0]?.ok === true ? 'completed' : `failed: ${JSON.stringify(out?.results[0]?.error)}`;
} catch (err) {
  honestOutcome = `stopped: ${(err as Error).message}`;
}
await spinner.sandbox.emit('spin', {}).catch(() => undefined);
process.stdout.write(`${JSON.stringify({ honest: honestOutcome, spinnerStopped: spinner.sandbox.stopped?.reasonCodes ?? null })}\n`);
honest.sandbox.dispose();
process.stdin.destroy();
