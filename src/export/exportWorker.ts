/**
 * The thread fleet export runs in: the store reads and writes of the spool, the SDK's serialisation and the HTTP
 * requests never take turns on the thread that dispatches (bench/export.bench.ts measured dispatch p99 +27% with the
 * loop on that thread). Messages are the protocol of FleetExporter (fleetExporter.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ExportLoop, type ExportLoopOptions } from './exportLoop.ts';
import type { ExportRecord } from './records.ts';

export type ToExportWorker =
  | { readonly t: 'spool'; readonly records: readonly ExportRecord[] }
  | { readonly t: 'flush'; readonly id: number }
  | { readonly t: 'close'; readonly id: number };

export type FromExportWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'done'; readonly id: number; readonly leader: boolean }
  | { readonly t: 'error'; readonly id: number | null; readonly message: string };

const port = parentPort;
if (port !== null) {
  const post = (m: FromExportWorker) => port.postMessage(m);
  let loop: ExportLoop;
  try {
    loop = ExportLoop.start(workerData as ExportLoopOptions);
  } catch (err) {
    post({ t: 'error', id: null, message: (err as Error).message });
    throw err;
  }
  post({ t: 'ready' });
  port.on('message', (m: ToExportWorker) => {
    const reply = (p: Promise<void>, id: number) =>
      p.then(
        () => post({ t: 'done', id, leader: loop.leader }),
        (err: unknown) => post({ t: 'error', id, message: (err as Error).message }),
      );
    try {
      if (m.t === 'spool') loop.spool(m.records);
      else if (m.t === 'flush') void reply(loop.flushNow(), m.id);
      else void reply(loop.close(), m.id);
    } catch (err) {
      post({ t: 'error', id: m.t === 'spool' ? null : m.id, message: (err as Error).message });
    }
  });
}
