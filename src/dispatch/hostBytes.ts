/**
 * Bytes the host holds for one extension (issue 16 item 5): response bodies in flight, buffered while an operation
 * runs. Every operation charges what it buffers through its context's `hold`; the dispatcher releases the call's
 * charge when the operation ends. Over the budget, the `hold` throws `quota_exceeded` (`host_bytes`): the operation
 * drops what it buffered and the call fails; the breach goes to the breach sink, which quarantines the extension
 * (runtime/budgets.ts). 90 stalled 15 MiB downloads held 1.1 GB in the host before; now at most the budget.
 */
import { WardenError } from '../errors.ts';
import type { BreachSink } from '../evidence/index.ts';

export const HOST_BYTES_REASONS = ['host_bytes'] as const;
export type HostBytesReason = (typeof HOST_BYTES_REASONS)[number];
declare module '../errors.ts' {
  interface ReasonVocabularies {
    hostBytes: HostBytesReason;
  }
}

/** Default budget of bytes held for one extension: four times the default response cap (16 MiB). */
export const DEFAULT_HOST_BYTES = 64 * 1024 * 1024;

export class HostBytes {
  readonly #limit: (extensionId: string) => number;
  readonly #breaches: BreachSink | undefined;
  readonly #held = new Map<string, number>();
  readonly #peak = new Map<string, number>();

  constructor(limit: number | ((extensionId: string) => number) = DEFAULT_HOST_BYTES, breaches?: BreachSink) {
    this.#limit = typeof limit === 'number' ? () => limit : limit;
    this.#breaches = breaches;
  }

  /** Charges `bytes` to the extension; throws `quota_exceeded` (and charges nothing) when that would pass its budget. */
  hold(extensionId: string, bytes: number): void {
    const held = this.#held.get(extensionId) ?? 0;
    const limit = this.#limit(extensionId);
    if (held + bytes > limit) {
      try {
        this.#breaches?.recordBreach({ extension_id: extensionId, resource: 'host_bytes', limit, actual: held + bytes, ts_ms: Date.now() });
      } catch {
        // the refusal stands even if the breach cannot be recorded
      }
      throw new WardenError(
        'quota_exceeded',
        `${extensionId}: the host would hold ${held + bytes} bytes for this extension, over its budget of ${limit} bytes`,
        { reasonCodes: ['quota_exceeded', 'host_bytes'] },
      );
    }
    this.#held.set(extensionId, held + bytes);
    if (held + bytes > (this.#peak.get(extensionId) ?? 0)) this.#peak.set(extensionId, held + bytes);
  }

  release(extensionId: string, bytes: number): void {
    const left = (this.#held.get(extensionId) ?? 0) - bytes;
    if (left > 0) this.#held.set(extensionId, left);
    else this.#held.delete(extensionId);
  }

  /** Bytes held for the extension now. */
  held(extensionId: string): number {
    return this.#held.get(extensionId) ?? 0;
  }

  /** The most bytes ever held for the extension at once (what a test and the bench read). */
  peak(extensionId: string): number {
    return this.#peak.get(extensionId) ?? 0;
  }
}
