/**
 * Reading and writing the 2-D float `.npy` files the CLI takes and produces (Node only).
 *
 * Parsing and writing are npyjs's; this module adds what a CLI needs on top: a check that the
 * file is a C-order, 2-D, little-endian float32/float64 array whose data fills exactly its
 * shape, with one-line messages that say which file is wrong and how.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dump, parse } from 'npyjs';

/** A 2-D float array read from a `.npy` file (row-major, C order). */
export interface Npy2D {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
  dtype: 'float32' | 'float64';
}

/** Why a `.npy` file was refused. The message names the file. */
export class NpyError extends Error {
  override name = 'NpyError';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DTYPES: Record<string, { dtype: Npy2D['dtype']; bytes: number }> = {
  f4: { dtype: 'float32', bytes: 4 },
  f8: { dtype: 'float64', bytes: 8 },
};

/** The header text of a `.npy` file and where its data starts (magic, version and length checked). */
function npyHeader(bytes: Uint8Array, name: string): { header: string; dataStart: number } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(`${name} is not a .npy file (it does not start with the \\x93NUMPY magic)`);
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new NpyError(`${name} has .npy format version ${major}.${bytes[7]}, expected 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) throw new NpyError(`${name} is truncated (no complete .npy header)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) throw new NpyError(`${name} is truncated (header says ${headerLen} bytes, file has ${bytes.length - headerStart})`);
  return { header: new TextDecoder('latin1').decode(bytes.subarray(headerStart, dataStart)), dataStart };
}

/** Parse the bytes of a `.npy` file holding a 2-D float32 or float64 array. `name` labels errors. */
export function parseNpy2D(bytes: Uint8Array, name = '.npy file'): Npy2D {
  const { header, dataStart } = npyHeader(bytes, name);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) throw new NpyError(`${name} has an unsupported dtype (structured or missing 'descr' in the header)`);
  const order = descr[0];
  const kind = DTYPES[descr.slice(1)];
  if (!kind || order !== '<') {
    throw new NpyError(`${name} has dtype '${descr}', expected a little-endian float array ('<f4' float32 or '<f8' float64)`);
  }

  if (dataStart % kind.bytes !== 0) {
    throw new NpyError(`${name} has its data at byte ${dataStart}, not aligned to ${kind.bytes} bytes (NumPy pads headers to 64)`);
  }
  const dataBytes = bytes.length - dataStart;
  if (dataBytes % kind.bytes !== 0) {
    throw new NpyError(`${name} holds ${dataBytes} bytes of data, not a whole number of ${kind.dtype} values (truncated or corrupt file)`);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    // A private copy of exactly the file's bytes: npyjs views the data in place, to the end of the buffer.
    parsed = parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (e) {
    throw new NpyError(`${name} could not be parsed as .npy: ${(e as Error).message}`);
  }
  if (parsed.fortranOrder) {
    throw new NpyError(`${name} is in Fortran (column-major) order; save it in C order, e.g. np.save(path, np.ascontiguousarray(a))`);
  }
  const shape = parsed.shape;
  if (shape.length !== 2) {
    throw new NpyError(`${name} has shape (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), expected a 2-D array (N rows × D columns)`);
  }
  const [rows, cols] = shape as [number, number];
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
    throw new NpyError(`${name} has a malformed shape in its header: ${JSON.stringify(header.trim())}`);
  }
  if (dataBytes !== rows * cols * kind.bytes) {
    throw new NpyError(
      `${name} holds ${dataBytes} bytes of data, but its header says ${rows}×${cols} ${kind.dtype} = ${rows * cols * kind.bytes} bytes (truncated or corrupt file)`,
    );
  }
  const data = parsed.data as Float32Array | Float64Array;
  return { data, rows, cols, dtype: kind.dtype };
}

function littleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/**
 * Parse the bytes of a `.npy` file holding class labels: a 1-D int32 or int64 array of shape (N,),
 * every value within int32 (SupCon compares labels for equality only). `name` labels errors.
 */
export function parseNpyLabels(bytes: Uint8Array, name = '.npy file'): Int32Array {
  const { header, dataStart } = npyHeader(bytes, name);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const width = descr === '<i4' ? 4 : descr === '<i8' ? 8 : 0;
  if (width === 0) throw new NpyError(`${name} has dtype '${descr ?? '?'}', expected integer class labels ('<i4' int32 or '<i8' int64)`);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new NpyError(`${name} has a malformed shape in its header: ${JSON.stringify(header.trim())}`);
  const dims = shapeText.split(',').map((t) => t.trim()).filter((t) => t !== '').map(Number);
  if (dims.length !== 1) throw new NpyError(`${name} has shape (${dims.join(', ')}), expected a 1-D array of shape (N,): one label per sample`);
  const n = dims[0]!;
  if (!Number.isSafeInteger(n) || n < 0) throw new NpyError(`${name} has a malformed shape in its header: ${JSON.stringify(header.trim())}`);
  if (bytes.length - dataStart !== n * width) {
    throw new NpyError(`${name} holds ${bytes.length - dataStart} bytes of data, but its header says ${n} ${descr === '<i4' ? 'int32' : 'int64'} = ${n * width} bytes (truncated or corrupt file)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, n * width);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (width === 4) {
      labels[i] = view.getInt32(4 * i, true);
      continue;
    }
    const v = view.getBigInt64(8 * i, true);
    if (v < -2147483648n || v > 2147483647n) throw new NpyError(`${name} has label ${v} at index ${i}, outside the int32 range`);
    labels[i] = Number(v);
  }
  return labels;
}

/** The bytes of a regular file, or an NpyError saying why not. */
function readNpyBytes(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    // A FIFO, a device or /dev/stdin would block the read (or never end): regular files only.
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) throw new NpyError(`cannot read ${path}: not a regular file (a pipe, socket or device)`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof NpyError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new NpyError(`cannot read ${path}: ${why}`);
  }
  return bytes;
}

/** Read a `.npy` file holding a 2-D float32 or float64 array. */
export function readNpy2D(path: string): Npy2D {
  return parseNpy2D(readNpyBytes(path), path);
}

/** Read a `.npy` file of class labels (see {@link parseNpyLabels}). */
export function readNpyLabels(path: string): Int32Array {
  return parseNpyLabels(readNpyBytes(path), path);
}

/** The bytes of a `.npy` file (format 1.0, little-endian, C order) holding `data` as rows×cols. */
export function formatNpy2D(data: Float32Array | Float64Array, rows: number, cols: number): Uint8Array {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || data.length !== rows * cols) {
    throw new RangeError(`cannot write ${data.length} values as a ${rows}×${cols} array`);
  }
  if (!littleEndianHost()) throw new Error('writing .npy on a big-endian host is not supported');
  return new Uint8Array(dump(data, [rows, cols]));
}

/** Write `data` (rows×cols, row-major) to `path` as a `.npy` file of the same float type. */
export function writeNpy2D(path: string, data: Float32Array | Float64Array, rows: number, cols: number): void {
  writeFileSync(path, formatNpy2D(data, rows, cols));
}
