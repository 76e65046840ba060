/**
 * Every input checked before anything is encoded: shapes, CPU views, GPU buffers (size, usage,
 * aliasing) and the device's limits. Each check throws a TypeError (wrong kind of value) or a
 * RangeError (right kind, bad value) whose message names the argument.
 */
/** GPUBufferUsage.STORAGE (the global is absent in Node). */
export const STORAGE = 0x0080;

/**
 * N ≥ `minRows` and D ≥ 1, both integers. `minRows` is 2 for in-batch candidates (an anchor
 * needs a negative) and 1 in bank form (the negatives come from the bank).
 */
export function checkShape(n: number, d: number, minRows: 1 | 2 = 2): void {
  if (!Number.isInteger(n) || n < minRows) {
    throw new RangeError(minRows === 2 ? `N must be an integer ≥ 2 (no negatives with N = 1), got ${n}` : `N must be an integer ≥ 1, got ${n}`);
  }
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`D must be an integer ≥ 1, got ${d}`);
}

/**
 * Validate a pair of N×D views given as flat row-major arrays. Throws on N < `minRows` (2; 1
 * in bank form), D < 1, length mismatches and non-finite values.
 */
export function checkViews(z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number, minRows: 1 | 2 = 2): void {
  checkShape(n, d, minRows);
  if (z1.length !== n * d) throw new RangeError(`z1 has ${z1.length} values, expected N·D = ${n}·${d} = ${n * d}`);
  if (z2.length !== n * d) throw new RangeError(`z2 has ${z2.length} values, expected N·D = ${n}·${d} = ${n * d}`);
  for (const [name, z] of [['z1', z1], ['z2', z2]] as const) {
    for (let i = 0; i < z.length; i++) {
      if (!Number.isFinite(z[i])) {
        throw new RangeError(`${name} has a non-finite value ${z[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
      }
    }
  }
}

/** What a value is, for error messages: `Float64Array`, `Array`, `null`, `number`, … */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

/** The Float32Array path takes Float32Array only: anything else would be misread as f32 bytes. */
export function checkFloat32Views(z1: unknown, z2: unknown): void {
  for (const [name, z] of [['z1', z1], ['z2', z2]] as const) {
    if (!(z instanceof Float32Array)) {
      throw new TypeError(
        `${name} must be a Float32Array, got ${describeType(z)} (convert with Float32Array.from(...); ` +
          'the float64 reference, referenceLoss, takes other arrays)',
      );
    }
  }
}

/** A GPUBuffer of at least `bytes` bytes with every flag of `usage`. */
export function checkBuffer(name: string, buf: GPUBuffer, bytes: number, usage: number): void {
  if (!buf || typeof buf.size !== 'number') throw new TypeError(`${name} must be a GPUBuffer`);
  if (buf.size < bytes) throw new RangeError(`${name} holds ${buf.size} bytes, needs at least ${bytes}`);
  if ((buf.usage & usage) !== usage) throw new RangeError(`${name} lacks usage STORAGE (usage flags ${buf.usage})`);
}

/** The shape of one call, as the caller gave it (K = 0 without a bank). */
export interface CallShape {
  n: number;
  d: number;
  k: number;
}

/**
 * The device can hold and dispatch one planned call: every buffer of `bufferBytes` (its
 * workspace; for an N×D problem with K bank rows the (2N+K)×⌈D/4⌉ vec4 matrix is the largest)
 * fits one storage binding, and its largest workgroup grid dimension fits the device. In bank
 * form the message names K and, from `bytesForBank(k)` (the largest buffer with k bank rows),
 * the most rows that fit. Checked before anything is uploaded or encoded.
 */
export function checkLimits(
  limits: GPUSupportedLimits,
  shape: CallShape,
  bufferBytes: Readonly<Record<string, number>>,
  largestGrid: number,
  bytesForBank?: (k: number) => number,
): void {
  const { n, d, k } = shape;
  const fits = (bytes: number) => bytes <= limits.maxStorageBufferBindingSize && bytes <= limits.maxBufferSize;
  const [name, bytes] = Object.entries(bufferBytes).reduce((a, b) => (b[1] > a[1] ? b : a));
  const what = k > 0 ? `a bank of K=${k} rows with N=${n}, D=${d}` : `N=${n}, D=${d}`;
  const limitText = `maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize}`;
  if (!fits(bytes)) {
    let hint = k > 0 ? '; use fewer bank rows' : '; use a smaller batch or D';
    if (k > 0 && bytesForBank) {
      let [lo, hi] = [0, k]; // fits(bytesForBank(lo)) is assumed for lo = 0, as in-batch shapes are far smaller
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        [lo, hi] = fits(bytesForBank(mid)) ? [mid, hi] : [lo, mid];
      }
      hint = lo > 0 ? `; at most K=${lo} bank rows fit with this N and D` : '; no bank fits with this N and D';
    }
    throw new RangeError(`${what} needs a ${bytes}-byte working buffer (${name}), over this device's limit (${limitText})${hint}`);
  }
  const maxGroups = limits.maxComputeWorkgroupsPerDimension;
  if (largestGrid > maxGroups) throw new RangeError(`${what} needs ${largestGrid} workgroups along one dimension, over this device's ${maxGroups}`);
  if (limits.maxComputeWorkgroupStorageSize < 16384 || limits.maxComputeInvocationsPerWorkgroup < 256) {
    throw new RangeError('this device offers less than 16 KiB of workgroup storage or 256 invocations per workgroup');
  }
}

/** The first argument of `encode`: something that can begin a compute pass. */
export function checkEncoder(encoder: unknown): void {
  if (typeof (encoder as GPUCommandEncoder | null)?.beginComputePass !== 'function') {
    throw new TypeError(`encode's first argument must be a GPUCommandEncoder (device.createCommandEncoder()), got ${describeType(encoder)}`);
  }
}

/** Largest |x| an f32 holds (3.4028234663852886e38). */
const F32_MAX = 3.4028234663852886e38;

/** The GPU buffers of one `encode` call, as the caller passed them. */
export interface EncodeBuffers {
  z1: GPUBuffer;
  z2: GPUBuffer;
  gradScale?: number | GPUBuffer;
  /** The bank's buffer and the bytes its K×D rows need (bank form only). */
  bank?: { buffer: GPUBuffer; bytes: number };
  outputs: Partial<Record<string, GPUBuffer>>;
}

/**
 * Check inputs, the bank, the upstream gradient and any caller-given outputs of one `encode`.
 * `written` names the outputs this call writes: a given output it would not write (say
 * `gradTemperature` without the option) is an error rather than a buffer silently left alone.
 */
export function checkEncodeBuffers(
  args: EncodeBuffers,
  inputBytes: number,
  outputBytes: Readonly<Record<string, number>>,
  written: readonly string[] = Object.keys(outputBytes),
): void {
  checkBuffer('z1', args.z1, inputBytes, STORAGE);
  checkBuffer('z2', args.z2, inputBytes, STORAGE);
  if (args.z1 === args.z2) throw new RangeError('z1 and z2 must be different buffers');
  if (args.gradScale !== undefined && typeof args.gradScale !== 'number') {
    checkBuffer('gradScale', args.gradScale, 4, STORAGE);
  } else if (args.gradScale !== undefined && !Number.isFinite(Math.fround(args.gradScale))) {
    // The kernels read it as an f32: 1e39 is finite here and Infinity there (every gradient NaN).
    throw new RangeError(`gradScale must be a finite f32, |gradScale| ≤ ${F32_MAX}, got ${args.gradScale}`);
  }
  if (args.bank) {
    if (!args.bank.buffer || typeof args.bank.buffer.size !== 'number') throw new TypeError('bank.buffer must be a GPUBuffer');
    checkBuffer('bank.buffer', args.bank.buffer, args.bank.bytes, STORAGE);
  }
  for (const [name, b] of Object.entries(args.outputs)) {
    if (b && !written.includes(name)) {
      throw new RangeError(`outputs.${name} was given but this call does not write it (${outputHint(name)})`);
    }
  }
  const seen = new Map<GPUBuffer, string>();
  for (const [name, size] of Object.entries(outputBytes)) {
    const b = args.outputs[name];
    if (!b) continue;
    checkBuffer(`outputs.${name}`, b, size, STORAGE);
    if (b === args.z1 || b === args.z2) throw new RangeError(`outputs.${name} must not be an input buffer (it is ${b === args.z1 ? 'z1' : 'z2'})`);
    if (b === args.bank?.buffer) throw new RangeError(`outputs.${name} must not be the bank's buffer (the bank is read only)`);
    const other = seen.get(b);
    if (other) throw new RangeError(`outputs.${name} and outputs.${other} are the same buffer; every output needs its own`);
    if (b === args.gradScale) throw new RangeError(`gradScale must not be an output buffer (it is outputs.${name})`);
    seen.set(b, name);
  }
}

/** Why an output is not written: the option or flag that turns it on. */
function outputHint(name: string): string {
  if (name === 'gradZ1' || name === 'gradZ2') return 'backward is false';
  if (name === 'gradTemperature' || name === 'diagnostics' || name === 'gradBias') return `set options.${name}: true to get it`;
  return 'not an output of the fused loss';
}

/** GPUBufferUsage.COPY_SRC. */
const COPY_SRC = 0x0004;

/**
 * `EncodeArgs.temperatureParams`: a GPUBuffer of at least 2 f32 with usage COPY_SRC, not one of
 * the outputs, and no `options.temperature` beside it (two temperatures would be ambiguous).
 */
export function checkTemperatureParams(buf: GPUBuffer, options: { temperature?: number }, outputs: Partial<Record<string, GPUBuffer>>): void {
  if (!buf || typeof buf.size !== 'number') throw new TypeError('temperatureParams must be a GPUBuffer');
  if (buf.size < 8) throw new RangeError(`temperatureParams holds ${buf.size} bytes, needs at least 8 (1/τ and 1/(τ·m), f32)`);
  if ((buf.usage & COPY_SRC) !== COPY_SRC) throw new RangeError(`temperatureParams lacks usage COPY_SRC (usage flags ${buf.usage})`);
  if (options.temperature !== undefined) {
    throw new RangeError('temperatureParams and options.temperature were both given: leave options.temperature out when τ is read on the GPU');
  }
  for (const [name, b] of Object.entries(outputs)) {
    if (b === buf) throw new RangeError(`outputs.${name} must not be the temperatureParams buffer`);
  }
}

/** `targetWorkgroups` of `ContrastiveLoss.create`: absent, or an integer in [1, 2^20]. */
export function checkTargetWorkgroups(target: unknown): void {
  if (target === undefined) return;
  if (typeof target !== 'number' || !Number.isInteger(target) || target < 1 || target > 2 ** 20) {
    throw new RangeError(`targetWorkgroups must be an integer in [1, 1048576] (1: no split), got ${JSON.stringify(target) ?? String(target)}`);
  }
}

/**
 * SupCon's labels on the array path: an Int32Array of exactly N values (one per sample; both
 * views share it). A GPU buffer of labels is checked by the encode path, which knows its usage.
 */
export function checkLabels(labels: unknown, n: number): asserts labels is Int32Array {
  if (!(labels instanceof Int32Array)) {
    throw new TypeError(`labels must be an Int32Array of N = ${n} class labels (convert with Int32Array.from(...)), got ${describeType(labels)}`);
  }
  if (labels.length !== n) throw new RangeError(`labels has ${labels.length} values, expected N = ${n} (one per sample; both views share it)`);
}

/**
 * SupCon's labels on the GPU path: a GPUBuffer of at least N u32/i32 values with usage STORAGE,
 * none of the outputs (it is only read).
 */
export function checkLabelsBuffer(buf: GPUBuffer, n: number, outputs: Partial<Record<string, GPUBuffer>>): void {
  checkBuffer('labels', buf, n * 4, STORAGE);
  for (const [name, b] of Object.entries(outputs)) {
    if (b === buf) throw new RangeError(`outputs.${name} must not be the labels buffer (labels are read only)`);
  }
}

/**
 * `EncodeArgs.biasParams`: siglip only, a GPUBuffer of at least 1 f32 with usage COPY_SRC, not one
 * of the outputs, and no `options.bias` beside it.
 */
export function checkBiasParams(buf: GPUBuffer, loss: string, options: { bias?: number }, outputs: Partial<Record<string, GPUBuffer>>): void {
  if (loss !== 'siglip') throw new RangeError(`biasParams applies to siglip only, not to ${loss}`);
  if (!buf || typeof buf.size !== 'number') throw new TypeError('biasParams must be a GPUBuffer');
  if (buf.size < 4) throw new RangeError(`biasParams holds ${buf.size} bytes, needs at least 4 (b, f32)`);
  if ((buf.usage & COPY_SRC) !== COPY_SRC) throw new RangeError(`biasParams lacks usage COPY_SRC (usage flags ${buf.usage})`);
  if (options.bias !== undefined) throw new RangeError('biasParams and options.bias were both given: leave options.bias out when b is read on the GPU');
  for (const [name, b] of Object.entries(outputs)) {
    if (b === buf) throw new RangeError(`outputs.${name} must not be the biasParams buffer`);
  }
}
