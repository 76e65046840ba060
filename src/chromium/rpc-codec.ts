/**
 * Encoding of values sent between Node and a page through JSON (puppeteer's evaluate):
 * typed arrays travel as tagged base64 so Float32Arrays arrive as Float32Arrays, bit-exact.
 */

type Tagged = { __typed: 'f32' | 'f64' | 'u32' | 'i32' | 'u8'; b64: string };

const CTORS = {
  f32: Float32Array,
  f64: Float64Array,
  u32: Uint32Array,
  i32: Int32Array,
  u8: Uint8Array,
} as const;

function tagOf(v: ArrayBufferView): Tagged['__typed'] | undefined {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Uint32Array) return 'u32';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint8Array) return 'u8';
  return undefined;
}

function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function base64ToBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Replace typed arrays (at any depth) by tagged base64 objects. */
export function encode(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const tag = tagOf(value);
    if (!tag) throw new TypeError(`cannot send ${value.constructor.name} across the page boundary`);
    return { __typed: tag, b64: bytesToBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

/** Inverse of {@link encode}. */
export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    const t = value as Partial<Tagged>;
    if (typeof t.__typed === 'string' && typeof t.b64 === 'string') {
      const bytes = base64ToBytes(t.b64);
      const Ctor = CTORS[t.__typed];
      return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}
