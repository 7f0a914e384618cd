/**
 * Resident WASM linear memory of this process (issue 18 item 5), from /proc/self/smaps: V8 reserves each
 * WebAssembly memory as an 8 GiB region whose accessible start is a mapping of its own; only the pages in it that
 * were written are resident. `external` in process.memoryUsage counts the whole accessible size, written or not.
 * Linux only: elsewhere undefined.
 */
import { readFileSync } from 'node:fs';

interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly perm: string;
  rss: number;
}

export function wasmResidentMib(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const maps: Mapping[] = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line);
    if (head !== null)
      maps.push({ start: parseInt(head[1] as string, 16), end: parseInt(head[2] as string, 16), perm: head[3] as string, rss: 0 });
    else if (line.startsWith('Rss:') && maps.length > 0) (maps.at(-1) as Mapping).rss = Number(line.split(/\s+/)[1]) * 1024;
  }
  let bytes = 0;
  for (let i = 1; i < maps.length; i++) {
    const guard = maps[i] as Mapping;
    if (!guard.perm.startsWith('---') || guard.end - guard.start <= 2 ** 32) continue;
    // The accessible part lies directly below the rest of its reservation (inaccessible, over 4 GiB); a grown
    // memory may be several adjacent mappings.
    for (let j = i - 1, end = guard.start; j >= 0; j--) {
      const open = maps[j] as Mapping;
      if (open.end !== end || !open.perm.startsWith('rw')) break;
      bytes += open.rss;
      end = open.start;
    }
  }
  return bytes / 1048576;
}
