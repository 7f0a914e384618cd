/**
 * The booted guest restored page by page (issue 18 item 5): a restore writes only the pages that are not zero in
 * the snapshot (or that the instantiation dirtied), and the snapshot keeps no garbage in its heap's free chunks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { QuickJS as QuickJSRuntime, type QuickJS, type Snapshot } from 'quickjs-wasi';
import { bootedGuest } from '../../src/sandbox/boot.ts';
import { GuestEngine, GuestSnapshot } from '../../src/sandbox/engine.ts';
import { heapChunks, heapStart, LIVE_PREFIX, zeroFreeChunks } from '../../src/sandbox/freeChunks.ts';
import { PAGE_BYTES, restoreSparse } from '../../src/sandbox/restore.ts';

const require = createRequire(import.meta.url);
const noHost = () => JSON.stringify({ ok: false, error: { code: 'internal', message: 'no host in this test' } });
const EXTENSIONS = ['url', 'encoding', 'crypto', 'structured-clone', 'headers'];
const options = {
  wasm: readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')),
  extensions: EXTENSIONS.map((name) => ({ name, wasm: readFileSync(require.resolve(`quickjs-wasi/${name}.so`)) })),
};

const memoryOf = (vm: QuickJS) => new Uint8Array((vm as unknown as { exports: { memory: { buffer: ArrayBuffer } } }).exports.memory.buffer);
const pageIsZero = (bytes: Uint8Array, page: number) => bytes.subarray(page, page + PAGE_BYTES).every((b) => b === 0);
/** The first byte where `a` (restored memory, possibly longer) differs from `b` (the image), or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, b.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return -1;
  for (let i = 0; i < b.byteLength; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function snapshot(): Promise<{ guest: GuestSnapshot; raw: Snapshot }> {
  const guest = await bootedGuest();
  return { guest, raw: GuestSnapshot.unwrap(guest) };
}

describe('a snapshot restored page by page', () => {
  it('holds exactly the snapshot memory, on the first restore of a process and on later ones', async () => {
    const { guest, raw } = await snapshot();
    for (const round of [1, 2, 3]) {
      const vm = await restoreSparse(raw, options);
      try {
        const at = firstDifference(memoryOf(vm), raw.memory);
        assert.equal(at, -1, `expected restore ${round} to equal the snapshot byte for byte, found a difference at ${at}`);
      } finally {
        vm.dispose();
      }
    }
    const written = guest.writtenBytes ?? raw.memory.byteLength;
    assert.ok(
      written < raw.memory.byteLength,
      `expected a restore to write less than the ${raw.memory.byteLength} bytes of the image, found ${written}`,
    );
  });

  it('writes a non-zero first and last page, and zeroes a page the instantiation dirtied where the snapshot has zeros', async () => {
    const { raw } = await snapshot();
    const image = raw.memory.slice();
    const last = image.byteLength - PAGE_BYTES;
    // The main module's data segments start above its stack (the stack pointer at rest): their first page is written
    // by the instantiation itself (the pages after them hold C globals the restore sets, so they are not used here).
    const dataPage = raw.stackPointer;
    assert.ok(pageIsZero(image, 0), 'expected the first page (the bottom of the unused stack) to be zero in the snapshot');
    assert.ok(!pageIsZero(image, dataPage), `expected the main module's data at ${dataPage} to be non-zero in the snapshot`);
    image.fill(0x5a, 16, 64);
    image.fill(0xa5, last + 8, last + 40);
    image.fill(0, dataPage, dataPage + PAGE_BYTES);
    const planted: Snapshot = { ...raw, memory: image };
    for (const round of [1, 2]) {
      const vm = await restoreSparse(planted, options);
      try {
        const memory = memoryOf(vm);
        assert.equal(memory[16], 0x5a, `expected the planted first page in restore ${round}`);
        assert.equal(memory[last + 8], 0xa5, `expected the planted last page in restore ${round}`);
        assert.ok(pageIsZero(memory, dataPage), `expected the page at ${dataPage}, zero in the snapshot, zeroed in restore ${round}`);
        assert.equal(firstDifference(memory, image), -1, `expected restore ${round} to equal the planted snapshot`);
      } finally {
        vm.dispose();
      }
    }
  });

  it("links the native extensions as quickjs-wasi's own restore does: the same function table, each extension at work", async () => {
    const { raw } = await snapshot();
    const ours = await restoreSparse(raw, options);
    const theirs = await QuickJSRuntime.restore(raw, options);
    try {
      const table = (vm: QuickJS) =>
        (vm as unknown as { exports: { __indirect_function_table: { length: number; get(i: number): unknown } } }).exports
          .__indirect_function_table;
      const [a, b] = [table(ours), table(theirs)];
      assert.equal(a.length, b.length, 'the same table size');
      for (let i = 0; i < a.length; i++) assert.equal(a.get(i) === null, b.get(i) === null, `table slot ${i} filled alike`);
      const probe = `JSON.stringify([
        new URL('https://example.test/a?d=1#f').searchParams.get('d'),
        new TextDecoder().decode(new TextEncoder().encode('\u00e9\u4e2d')),
        crypto.getRandomValues(new Uint8Array(8)).length,
        typeof crypto.randomUUID(),
        structuredClone({ a: [1, { b: 2 }] }).a[1].b,
        new Headers({ 'X-A': '1' }).get('x-a'),
      ])`;
      const run = (vm: QuickJS) => vm.evalCode(probe, 'probe.js').consume((h) => h.toString());
      assert.equal(run(ours), run(theirs));
      assert.equal(run(ours), JSON.stringify(['1', '\u00e9\u4e2d', 8, 'string', 2, '1']));
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  });

  it('is how every engine started from a booted guest is restored', async () => {
    const { guest } = await snapshot();
    // A copy of its own: no restore of it has run yet in this process.
    const copy = GuestSnapshot.deserialize(guest.serialize());
    assert.equal(copy.writtenBytes, undefined);
    const engine = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost, from: copy });
    try {
      assert.equal(engine.evalScript('typeof __wardenEnter', 'check.js', 1000, 10_000), 'function');
    } finally {
      engine.dispose();
    }
    const written = copy.writtenBytes ?? copy.bytes;
    assert.ok(written < copy.bytes, `expected the engine to write less than the ${copy.bytes} bytes of the image, found ${written}`);
  });

  it('reads a booted guest back from bytes into a copy of its own, whatever the bytes do after', async () => {
    const { guest } = await snapshot();
    // An odd offset, as a header can leave the memory in a file read from disk.
    const bytes = Buffer.concat([Buffer.alloc(3), Buffer.from(guest.serialize())]).subarray(3);
    const back = GuestSnapshot.unwrap(GuestSnapshot.deserialize(bytes));
    const before = back.memory.slice();
    bytes.fill(0xee);
    assert.equal(back.memory.byteOffset % 8, 0, `expected the memory aligned, found offset ${back.memory.byteOffset}`);
    assert.equal(firstDifference(back.memory, before), -1, 'expected the memory unchanged when the bytes it came from change');
  });

  it('gives each restored instance its own randomness', async () => {
    const { guest } = await snapshot();
    const draw = async () => {
      const engine = await GuestEngine.create({ memoryLimitBytes: 64 * 1048576, host: noHost, from: guest });
      try {
        return engine.evalScript(
          '`${crypto.getRandomValues(new Uint32Array(4)).join()}|${Math.random()}|${crypto.randomUUID()}`',
          'draw.js',
          1000,
          10_000,
        );
      } finally {
        engine.dispose();
      }
    };
    const [a, b] = [await draw(), await draw()];
    const [ra, rb] = [a.split('|'), b.split('|')];
    for (let i = 0; i < 3; i++) assert.notEqual(ra[i], rb[i], `expected two restored instances to draw differently (${a} vs ${b})`);
  });
});

describe('the booted guest snapshot keeps no garbage', () => {
  it('has its heap free chunks zero past their links, so nothing more is left to zero', async () => {
    const { raw } = await snapshot();
    const chunks = heapChunks(raw.memory, heapStart(raw.runtimePtr));
    assert.ok(chunks !== undefined, "expected the snapshot's heap to read as dlmalloc's chunks");
    const free = chunks.slice(0, -1).filter((c) => !c.inUse && c.size > LIVE_PREFIX);
    assert.ok(free.length > 0, 'expected free chunks in the booted heap');
    for (const c of free) {
      const dead = raw.memory.subarray(c.at + LIVE_PREFIX, c.at + c.size);
      assert.ok(
        dead.every((b) => b === 0),
        `expected the free chunk at ${c.at} (${c.size} bytes) zero past its links`,
      );
    }
    const again = raw.memory.slice();
    zeroFreeChunks(again, raw.runtimePtr);
    assert.equal(firstDifference(again, raw.memory), -1, 'expected zeroing the free chunks again to change nothing');
  });

  it('is restored by writing no more pages than hold the stack in use, static data and the heap in use', async () => {
    const { guest, raw } = await snapshot();
    const vm = await restoreSparse(raw, options);
    vm.dispose();
    const image = raw.memory;
    const chunks = heapChunks(image, heapStart(raw.runtimePtr)) ?? [];
    // Pages a restore may have to write: any non-zero page below the heap (stack, data segments), and in the heap
    // the pages an in-use chunk or a free chunk's links and footer touch.
    const needed = new Set<number>();
    const mark = (from: number, to: number) => {
      for (let p = Math.floor(from / PAGE_BYTES); p * PAGE_BYTES < to; p++) needed.add(p);
    };
    for (let p = 0; p < heapStart(raw.runtimePtr); p += PAGE_BYTES) if (!pageIsZero(image, p)) mark(p, p + 1);
    for (const c of chunks) {
      if (c.inUse) mark(c.at, c.at + c.size);
      else {
        mark(c.at, c.at + Math.min(c.size, LIVE_PREFIX));
        mark(c.at + c.size, c.at + c.size + 4);
      }
    }
    let nonZero = 0;
    for (let p = 0; p < image.byteLength; p += PAGE_BYTES) if (!pageIsZero(image, p)) nonZero++;
    const bound = needed.size * PAGE_BYTES;
    assert.ok(
      nonZero * PAGE_BYTES <= bound,
      `expected at most ${bound} bytes of non-zero pages in the snapshot, found ${nonZero * PAGE_BYTES}`,
    );
    // What a restore writes beyond the non-zero pages: pages the instantiation dirtied, zero in the image (data segments).
    const written = guest.writtenBytes ?? Number.POSITIVE_INFINITY;
    const dataSegments = heapStart(raw.runtimePtr) - raw.stackPointer + PAGE_BYTES;
    assert.ok(
      written <= bound + dataSegments,
      `expected a restore to write at most ${bound + dataSegments} bytes (pages in use plus the data segments), found ${written}`,
    );
  });
});
