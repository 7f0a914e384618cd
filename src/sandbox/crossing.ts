/**
 * Strings across the host/guest boundary with fewer calls into WASM (issue 18). Every entry and every hostcall moves
 * two or three strings; quickjs-wasi's `newString` encodes into a fresh array, scans it for lone surrogates with a
 * look-behind regex and copies it again, and `toString` allocates and frees a 4-byte length cell each time. Inside
 * a pi session, where each entry runs with cold caches, two `newString` calls of an entry took 35 µs (measured).
 *
 * Here a well-formed string is encoded straight into the guest's memory (`TextEncoder.encodeInto`), a string is read
 * through one length cell kept for the instance, and the few fixed strings an entry names (its kind) are made once.
 * Results are the library's own, byte for byte: lone surrogates (WTF-8) and long strings take the library's path.
 * The calls are quickjs-wasi 3.6.2's internals (as restore.ts): any other version uses the library's methods.
 */
import { createRequire } from 'node:module';
import { JSValueHandle, type QuickJS } from 'quickjs-wasi';

const require = createRequire(import.meta.url);
const WRITTEN_FOR = '3.6.2';
const SAME_VERSION = (require('quickjs-wasi/package.json') as { version: string }).version === WRITTEN_FOR;

/** Strings up to this many UTF-16 units are encoded in place; longer ones (rare) as the library does. */
const IN_PLACE_UNITS = 64 * 1024;

interface StringExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  wasm_malloc(bytes: number): number;
  wasm_free(ptr: number): void;
  qjs_new_string(ptr: number, len: number): number;
  qjs_get_string_len(value: number, lenPtr: number): number;
  qjs_free_cstring(ptr: number): void;
  qjs_is_string(value: number): number;
}

const encoder = new TextEncoder();
/** No lone surrogate (ES2024's `isWellFormed`, native in Node ≥ 20). */
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();
const decoder = new TextDecoder();

/** The string crossing of one instance. */
export class StringCrossing {
  readonly #vm: QuickJS;
  readonly #e: StringExports | undefined;
  readonly #fixed = new Map<string, JSValueHandle>();
  #lenCell = 0;

  constructor(vm: QuickJS) {
    this.#vm = vm;
    const internal = vm as unknown as { _getExports?: () => Partial<StringExports> };
    const e = SAME_VERSION && typeof internal._getExports === 'function' ? internal._getExports() : undefined;
    const complete =
      e !== undefined &&
      typeof e.wasm_malloc === 'function' &&
      typeof e.wasm_free === 'function' &&
      typeof e.qjs_new_string === 'function' &&
      typeof e.qjs_get_string_len === 'function' &&
      typeof e.qjs_free_cstring === 'function' &&
      typeof e.qjs_is_string === 'function' &&
      e.memory !== undefined;
    this.#e = complete ? (e as StringExports) : undefined;
  }

  /** A new guest string holding `str` (the caller disposes it). */
  newString(str: string): JSValueHandle {
    const e = this.#e;
    if (e === undefined || str.length > IN_PLACE_UNITS || !wellFormed(str)) return this.#vm.newString(str);
    // Exact: a well-formed string's WTF-8 is its UTF-8 (a worst-case reserve would grow the guest's heap for good).
    const bytes = Buffer.byteLength(str, 'utf8');
    const ptr = e.wasm_malloc(bytes + 1);
    if (ptr === 0) throw new Error('wasm_malloc failed');
    try {
      const { written } = encoder.encodeInto(str, new Uint8Array(e.memory.buffer, ptr, bytes + 1));
      return new JSValueHandle(this.#vm, e.qjs_new_string(ptr, written));
    } finally {
      e.wasm_free(ptr);
    }
  }

  /**
   * A guest string made once and kept for the instance's life (never disposed by the caller); undefined when the
   * guest could not make it (its memory is at the cap: QuickJS then answers an exception value, which is not kept).
   */
  fixed(str: string): JSValueHandle | undefined {
    let h = this.#fixed.get(str);
    if (h === undefined) {
      h = this.newString(str);
      if (!this.isString(h)) {
        h.dispose();
        return undefined;
      }
      this.#fixed.set(str, h);
    }
    return h;
  }

  /** Whether the handle holds a string (one call, where `vm.typeof` makes up to six). */
  isString(handle: JSValueHandle): boolean {
    return this.#e === undefined ? this.#vm.typeof(handle) === 'string' : this.#e.qjs_is_string(handle.ptr) !== 0;
  }

  /** The text of a guest string, as `handle.toString()` gives it. */
  read(handle: JSValueHandle): string {
    const e = this.#e;
    // Not a string: converting it may run guest code, once, as the library does.
    if (e === undefined || e.qjs_is_string(handle.ptr) === 0) return handle.toString();
    if (this.#lenCell === 0) {
      this.#lenCell = e.wasm_malloc(4);
      if (this.#lenCell === 0) return handle.toString();
    }
    const cstr = e.qjs_get_string_len(handle.ptr, this.#lenCell);
    if (cstr === 0) return handle.toString();
    try {
      const len = new DataView(e.memory.buffer).getUint32(this.#lenCell, true);
      const bytes = new Uint8Array(e.memory.buffer, cstr, len);
      // A 0xED lead byte may start a WTF-8 surrogate sequence, which TextDecoder would replace: the library decodes
      // those (reading a string twice has no effect in the guest).
      if (bytes.includes(0xed)) return handle.toString();
      return decoder.decode(bytes);
    } finally {
      e.qjs_free_cstring(cstr);
    }
  }
}
