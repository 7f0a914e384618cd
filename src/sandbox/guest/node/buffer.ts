/**
 * GUEST CODE. `node:buffer`: a Buffer that is a Uint8Array with Node's common encodings (utf8, base64, base64url,
 * hex, latin1/binary, ascii). Partial: only a few of the integer read and write accessors.
 */
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map<string, number>([...B64].map((c, i) => [c, i] as const));
B64_INDEX.set('-', 62);
B64_INDEX.set('_', 63);

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out +=
      B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (b === undefined ? '=' : B64[(n >> 6) & 63]!) + (c === undefined ? '=' : B64[n & 63]!);
  }
  return out;
}

export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/[^A-Za-z0-9+/\-_]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const ch of clean) {
    value = (value << 6) | (B64_INDEX.get(ch) ?? 0);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 255;
    }
  }
  return out.subarray(0, j);
}

type Encoding = 'utf8' | 'utf-8' | 'base64' | 'base64url' | 'hex' | 'latin1' | 'binary' | 'ascii' | 'ucs2' | 'utf16le';

function encodeString(text: string, encoding: string): Uint8Array {
  switch (encoding.toLowerCase() as Encoding) {
    case 'base64':
    case 'base64url':
      return fromBase64(text);
    case 'hex': {
      const out = new Uint8Array(Math.floor(text.length / 2));
      for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
      return out;
    }
    case 'latin1':
    case 'binary':
    case 'ascii':
      return Uint8Array.from(text, (c) => c.charCodeAt(0) & 255);
    default:
      return new TextEncoder().encode(text);
  }
}

function decodeBytes(bytes: Uint8Array, encoding: string): string {
  switch (encoding.toLowerCase() as Encoding) {
    case 'base64':
      return toBase64(bytes);
    case 'base64url':
      return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    case 'hex':
      return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    case 'latin1':
    case 'binary':
    case 'ascii':
      return Array.from(bytes, (b) => String.fromCharCode(b)).join('');
    default:
      return new TextDecoder().decode(bytes);
  }
}

export class Buffer extends Uint8Array {
  static override from(value: unknown, encodingOrOffset?: unknown, length?: number): Buffer {
    if (typeof value === 'string')
      return Buffer.#wrap(encodeString(value, typeof encodingOrOffset === 'string' ? encodingOrOffset : 'utf8'));
    if (value instanceof ArrayBuffer)
      return new Buffer(
        value,
        typeof encodingOrOffset === 'number' ? encodingOrOffset : 0,
        length ?? value.byteLength - (typeof encodingOrOffset === 'number' ? encodingOrOffset : 0),
      );
    if (ArrayBuffer.isView(value))
      return Buffer.#wrap(new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)));
    if (Array.isArray(value)) return Buffer.#wrap(Uint8Array.from(value as number[]));
    if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer')
      return Buffer.from((value as { data: number[] }).data);
    throw new TypeError('Buffer.from: unsupported value');
  }

  static #wrap(bytes: Uint8Array): Buffer {
    return new Buffer(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }

  static alloc(size: number, fill?: number | string): Buffer {
    const b = new Buffer(size);
    if (typeof fill === 'number') b.fill(fill);
    else if (typeof fill === 'string' && fill.length > 0) b.fill(fill.charCodeAt(0));
    return b;
  }

  static allocUnsafe(size: number): Buffer {
    return new Buffer(size);
  }

  static isBuffer(value: unknown): value is Buffer {
    return value instanceof Buffer;
  }

  static isEncoding(enc: string): boolean {
    return ['utf8', 'utf-8', 'base64', 'base64url', 'hex', 'latin1', 'binary', 'ascii'].includes(enc.toLowerCase());
  }

  static byteLength(value: unknown, encoding = 'utf8'): number {
    if (typeof value === 'string') return encodeString(value, encoding).byteLength;
    return (value as ArrayBufferView).byteLength;
  }

  static concat(list: readonly Uint8Array[], total?: number): Buffer {
    const size = total ?? list.reduce((n, b) => n + b.byteLength, 0);
    const out = Buffer.alloc(size);
    let offset = 0;
    for (const b of list) {
      out.set(b.subarray(0, Math.max(0, size - offset)), offset);
      offset += b.byteLength;
      if (offset >= size) break;
    }
    return out;
  }

  static compare(a: Uint8Array, b: Uint8Array): number {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1;
    return Math.sign(a.length - b.length);
  }

  override toString(encoding = 'utf8', start = 0, end = this.length): string {
    return decodeBytes(this.subarray(start, end), encoding);
  }

  toJSON(): { type: 'Buffer'; data: number[] } {
    return { type: 'Buffer', data: Array.from(this) };
  }

  equals(other: Uint8Array): boolean {
    return Buffer.compare(this, other) === 0;
  }

  override subarray(start?: number, end?: number): Buffer {
    const u = new Uint8Array(this.buffer, this.byteOffset, this.byteLength).subarray(start, end);
    return new Buffer(u.buffer, u.byteOffset, u.byteLength);
  }

  override slice(start?: number, end?: number): Buffer {
    return this.subarray(start, end);
  }

  write(text: string, offset = 0): number {
    const bytes = encodeString(text, 'utf8').subarray(0, this.length - offset);
    this.set(bytes, offset);
    return bytes.length;
  }

  readUInt8(offset = 0): number {
    return this[offset] ?? 0;
  }

  readUInt32BE(offset = 0): number {
    return new DataView(this.buffer, this.byteOffset).getUint32(offset, false);
  }

  readUInt32LE(offset = 0): number {
    return new DataView(this.buffer, this.byteOffset).getUint32(offset, true);
  }
}

export const constants = { MAX_LENGTH: 2 ** 31 - 1, MAX_STRING_LENGTH: 2 ** 29 - 24 };
const buffer = {
  Buffer,
  constants,
  kMaxLength: constants.MAX_LENGTH,
  atob: (s: string) => Buffer.from(s, 'base64').toString('latin1'),
  btoa: (s: string) => Buffer.from(s, 'latin1').toString('base64'),
};
export default buffer;
