/**
 * Reads an npm tarball (`.tgz`) into a fresh temporary directory for scanning. Only regular files are written;
 * an entry whose path is absolute or climbs out with `..`, a link, or a device is not extracted and is reported
 * instead (fail closed). Sizes and entry counts are bounded so a tar bomb ends in a finding, not a full disk.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Parser, type ReadEntry } from 'tar';

export const TARBALL_LIMITS = { maxEntries: 20_000, maxBytes: 256 * 1024 * 1024 } as const;

export interface ExtractedTarball {
  readonly dir: string;
  /** Problems found while reading: entries not extracted and why, or why the archive is broken. */
  readonly problems: readonly string[];
  cleanup(): void;
}

export async function extractTarball(file: string): Promise<ExtractedTarball> {
  const dir = mkdtempSync(join(tmpdir(), 'pi-warden-scan-'));
  const problems: string[] = [];
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    cleanup();
    throw err;
  }
  let entries = 0;
  let bytes = 0;
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries++;
        const name = entry.path.replace(/\\/g, '/');
        const normal = posix.normalize(name);
        const reject = (why: string) => {
          problems.push(`${name}: ${why}`);
          entry.resume();
        };
        if (stopped) return entry.resume();
        if (entries > TARBALL_LIMITS.maxEntries) {
          stopped = true;
          return reject(`more than ${TARBALL_LIMITS.maxEntries} entries; the rest was not extracted`);
        }
        if (name.startsWith('/') || /^[a-zA-Z]:/.test(name) || normal.split('/').includes('..'))
          return reject('path escapes the package (absolute or ..); not extracted');
        if (entry.type === 'Directory') return entry.resume();
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile')
          return reject(`${entry.type} entry; only regular files are extracted`);
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes <= TARBALL_LIMITS.maxBytes) chunks.push(c);
        });
        entry.on('end', () => {
          if (bytes > TARBALL_LIMITS.maxBytes) {
            if (!stopped) problems.push(`archive expands beyond ${TARBALL_LIMITS.maxBytes} bytes; the rest was not extracted`);
            stopped = true;
            return;
          }
          const target = join(dir, normal);
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, Buffer.concat(chunks), { mode: 0o600 });
        });
      },
    });
    parser.on('warn', (_code: string, message: string | Error) =>
      problems.push(`broken archive: ${typeof message === 'string' ? message : message.message}`),
    );
    parser.on('error', (err: Error) => {
      problems.push(`broken archive: ${err.message}`);
      resolve();
    });
    parser.on('end', () => resolve());
    parser.end(data);
  });
  await done;
  if (entries === 0 && problems.length === 0) problems.push('broken archive: no entries (not a tar or gzip file?)');
  return { dir, problems, cleanup };
}
