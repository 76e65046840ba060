/**
 * `NegativeQueue`: a MoCo-style queue of K negatives kept on the GPU as a K×D f32 ring buffer,
 * usable directly as the fused loss's `bank` (`{ buffer, k }`).
 *
 * MoCo's loop is "loss against the queue, then enqueue this step's keys": encode the loss with
 * `bank: queue.bank`, then `queue.enqueue(encoder, keys, n)` in the same (or a later) encoder.
 * The GPU runs an encoder's commands in order, so the loss reads the queue as it was before
 * the enqueue. `enqueue` is a plain `copyBufferToBuffer` (one, or two when the rows wrap around
 * the end of the ring): no kernel, no read-back.
 *
 * The ring's write position is kept on the CPU and advances when `enqueue` is *encoded*: the
 * caller must submit every encoder it enqueued into, in the order it encoded them (as with any
 * WebGPU work), or the CPU's idea of which rows are oldest drifts from the buffer's content.
 */

import { gaussian, mulberry32 } from './random.js';
import type { GpuBank } from './options.js';

const F32 = 4;
/** GPUBufferUsage flags (the globals are absent in Node). */
const STORAGE = 0x0080;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;

/** Options of {@link NegativeQueue.create}. */
export interface NegativeQueueOptions {
  /** The device the queue lives on (the one the loss runs on). */
  device: GPUDevice;
  /** K, the number of rows (≥ 1). */
  k: number;
  /** D, the row width (≥ 1), the embedding width of the loss. */
  d: number;
  /**
   * Initial rows, K×D row-major (any norm: the loss normalizes bank rows). Without it the queue
   * starts with random unit rows (Gaussian directions, as MoCo's randomly initialized queue).
   */
  rows?: Float32Array;
  /** Seed of the random initial rows (default: a fresh random seed). Ignored with `rows`. */
  seed?: number;
}

/** K random unit rows of width D (row-major), from the package's seeded generator. */
export function randomUnitRows(k: number, d: number, seed: number): Float32Array {
  const uniform = mulberry32(seed);
  const rows = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    let sq = 0;
    for (let c = 0; c < d; c++) {
      const v = gaussian(uniform);
      rows[j * d + c] = v;
      sq += v * v;
    }
    if (sq === 0) {
      rows[j * d] = 1; // a Gaussian row is 0 with probability 0; keep even that draw a unit row
      continue;
    }
    const inv = 1 / Math.sqrt(sq);
    for (let c = 0; c < d; c++) rows[j * d + c]! *= inv;
  }
  return rows;
}

/** A K×D ring buffer of negatives on the GPU; oldest rows are overwritten first. */
export class NegativeQueue {
  /** The device the queue lives on. */
  readonly device: GPUDevice;
  /** K, the number of rows. */
  readonly k: number;
  /** D, the row width. */
  readonly d: number;
  /** The K×D f32 rows (usage STORAGE | COPY_SRC | COPY_DST). Read it; write it only through {@link enqueue}. */
  readonly buffer: GPUBuffer;
  private next = 0;
  private enqueued = 0;
  private destroyed = false;

  private constructor(device: GPUDevice, k: number, d: number, buffer: GPUBuffer) {
    this.device = device;
    this.k = k;
    this.d = d;
    this.buffer = buffer;
  }

  /**
   * A queue of K rows of width D, filled with `rows` or with random unit rows. The initial rows
   * are written at creation (`mappedAtCreation`), so they are in place before any later work.
   * @throws TypeError/RangeError on a missing device, K or D not integers ≥ 1, `rows` not a
   *   Float32Array of K·D finite values, or a queue over the device's buffer limits.
   */
  static create(options: NegativeQueueOptions): NegativeQueue {
    const { device, k, d } = options ?? ({} as NegativeQueueOptions);
    if (!device || typeof device.createBuffer !== 'function') throw new TypeError('NegativeQueue: device must be a GPUDevice');
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`NegativeQueue: k must be an integer ≥ 1, got ${k}`);
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`NegativeQueue: d must be an integer ≥ 1, got ${d}`);
    const bytes = k * d * F32;
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    if (bytes > limit) {
      throw new RangeError(`NegativeQueue: K×D = ${k}×${d} needs ${bytes} bytes, over this device's limit of ${limit} for a storage buffer`);
    }
    let rows = options.rows;
    if (rows !== undefined) {
      if (!(rows instanceof Float32Array)) throw new TypeError('NegativeQueue: rows must be a Float32Array (K×D, row-major)');
      if (rows.length !== k * d) throw new RangeError(`NegativeQueue: rows has ${rows.length} values, expected K·D = ${k}·${d} = ${k * d}`);
      for (let i = 0; i < rows.length; i++) {
        if (!Number.isFinite(rows[i])) {
          throw new RangeError(`NegativeQueue: rows has a non-finite value ${rows[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
        }
      }
    } else {
      const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
      if (!Number.isInteger(seed)) throw new RangeError(`NegativeQueue: seed must be an integer, got ${seed}`);
      rows = randomUnitRows(k, d, seed >>> 0);
    }
    const buffer = device.createBuffer({
      label: `webgpu-contrastive NegativeQueue ${k}×${d}`,
      size: bytes,
      usage: STORAGE | COPY_SRC | COPY_DST,
      mappedAtCreation: true,
    });
    new Float32Array(buffer.getMappedRange()).set(rows);
    buffer.unmap();
    return new NegativeQueue(device, k, d, buffer);
  }

  /** The queue as the loss's `bank` option: `{ buffer, k }`. */
  get bank(): GpuBank {
    this.checkUsable('bank');
    return { buffer: this.buffer, k: this.k };
  }

  /** Index of the oldest row: the one the next {@link enqueue} overwrites first. */
  get head(): number {
    return this.next;
  }

  /** How many rows have been enqueued since creation (a row counts once however often it was overwritten). */
  get enqueuedRows(): number {
    return this.enqueued;
  }

  /** Bytes of the queue's buffer. */
  get bytes(): number {
    return this.k * this.d * F32;
  }

  /**
   * Encode "write the first `n` rows of `keys` over the `n` oldest rows" into `encoder`
   * (`copyBufferToBuffer`; two copies when they wrap around the end of the ring). With
   * `n > K` only the newest K rows of `keys` (rows n−K … n−1) are kept, in ring order, as if
   * they had been enqueued one by one. `n = 0` encodes nothing.
   *
   * @param keys f32 rows of width D (usage COPY_SRC), at least `n·D` values; e.g. the momentum
   *   encoder's keys of this step. Not the queue's own buffer.
   * @throws TypeError/RangeError on a bad `keys` or `n`, or after {@link destroy}.
   */
  enqueue(encoder: GPUCommandEncoder, keys: GPUBuffer, n: number): void {
    this.checkUsable('enqueue');
    if (!encoder || typeof encoder.copyBufferToBuffer !== 'function') throw new TypeError('NegativeQueue.enqueue: encoder must be a GPUCommandEncoder');
    if (!keys || typeof keys.size !== 'number') throw new TypeError('NegativeQueue.enqueue: keys must be a GPUBuffer');
    if (keys === this.buffer) throw new RangeError("NegativeQueue.enqueue: keys must not be the queue's own buffer");
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`NegativeQueue.enqueue: n must be an integer ≥ 0, got ${n}`);
    const rowBytes = this.d * F32;
    if (keys.size < n * rowBytes) {
      throw new RangeError(`NegativeQueue.enqueue: keys holds ${keys.size} bytes, needs n·D·4 = ${n}·${this.d}·4 = ${n * rowBytes}`);
    }
    if ((keys.usage & COPY_SRC) !== COPY_SRC) throw new RangeError(`NegativeQueue.enqueue: keys lacks usage COPY_SRC (usage flags ${keys.usage})`);
    if (n === 0) return;
    // Rows older than the newest K would be overwritten within this call: skip them.
    const skipped = Math.max(0, n - this.k);
    const kept = n - skipped;
    const start = (this.next + skipped) % this.k;
    const firstRun = Math.min(kept, this.k - start);
    encoder.copyBufferToBuffer(keys, skipped * rowBytes, this.buffer, start * rowBytes, firstRun * rowBytes);
    if (kept > firstRun) encoder.copyBufferToBuffer(keys, (skipped + firstRun) * rowBytes, this.buffer, 0, (kept - firstRun) * rowBytes);
    this.next = (this.next + n) % this.k;
    this.enqueued += n;
  }

  /**
   * Destroy the queue's buffer. Call it after submitting the last encoder that uses the queue
   * (as the bank or through {@link enqueue}); WebGPU keeps a destroyed buffer alive for work
   * already submitted, but rejects a later submit of work encoded with it.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.buffer.destroy();
  }

  private checkUsable(what: string): void {
    if (this.destroyed) throw new Error(`NegativeQueue.${what}: the queue was destroyed`);
  }
}
