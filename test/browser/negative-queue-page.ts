/**
 * Page functions for the NegativeQueue tests: enqueue rows step by step on the page's device
 * and read the ring back, and the queue's errors. Only `navigator.gpu`/the device is used.
 */
import { NegativeQueue } from '../../src/negative-queue.js';
import { errorRecorder, readBack, upload } from './gpu-io.js';
import { pageDevice } from './smoke.js';

/** What {@link negativeQueueRun} reports. */
export interface QueueRun {
  /** The ring right after creation. */
  initial: Float32Array;
  /** The ring after each step's submit. */
  afterStep: Float32Array[];
  /** `head` after each step. */
  heads: number[];
  /** Every keys buffer read back after all steps equals what was uploaded (keys are never written). */
  keysUnchanged: boolean;
  /** Validation errors the device reported (none expected). */
  validationErrors: string[];
}

/**
 * Create a K×D queue (from `rows`, or random unit rows from `seed`), then per step upload that
 * step's keys (n×D; `extraRows` more rows of garbage after them that must never be copied),
 * encode `enqueue(encoder, keys, n)` — `perEncoder` enqueues per encoder, so wrap-around
 * within one encoder is exercised too — and submit; read the ring back after each step.
 */
export async function negativeQueueRun(
  k: number,
  d: number,
  steps: { keys: Float32Array; n: number; extraRows: number }[],
  rows?: Float32Array,
  seed?: number,
  perEncoder = 1,
): Promise<QueueRun> {
  const device = await pageDevice();
  device.pushErrorScope('validation');
  const queue = NegativeQueue.create({ device, k, d, ...(rows ? { rows } : {}), ...(seed !== undefined ? { seed } : {}) });
  const [initial] = await readBack(device, [queue.buffer]);
  const afterStep: Float32Array[] = [];
  const heads: number[] = [];
  const keyBuffers: { buf: GPUBuffer; data: Float32Array }[] = [];
  for (let s = 0; s < steps.length; s += perEncoder) {
    const encoder = device.createCommandEncoder();
    for (const step of steps.slice(s, s + perEncoder)) {
      const data = new Float32Array((step.n + step.extraRows) * d);
      data.set(step.keys);
      data.fill(NaN, step.keys.length); // rows past n: copying any of them shows as NaN
      const buf = upload(device, data);
      keyBuffers.push({ buf, data });
      queue.enqueue(encoder, buf, step.n);
      heads.push(queue.head);
    }
    device.queue.submit([encoder.finish()]);
    const [ring] = await readBack(device, [queue.buffer]);
    afterStep.push(ring!);
  }
  const readKeys = await readBack(device, keyBuffers.map((k) => k.buf));
  const keysUnchanged = keyBuffers.every((k, i) => readKeys[i]!.every((v, j) => Object.is(v, k.data[j])));
  const error = await device.popErrorScope();
  for (const k of keyBuffers) k.buf.destroy();
  queue.destroy();
  return { initial: initial!, afterStep, heads, keysUnchanged, validationErrors: error ? [error.message] : [] };
}

/** The messages of the queue's argument errors (each call must throw before encoding anything). */
export async function negativeQueueErrors(): Promise<Record<string, string>> {
  const device = await pageDevice();
  const { out, attempt } = errorRecorder();
  attempt('k0', () => NegativeQueue.create({ device, k: 0, d: 4 }));
  attempt('d1.5', () => NegativeQueue.create({ device, k: 4, d: 1.5 }));
  attempt('rowsLength', () => NegativeQueue.create({ device, k: 4, d: 4, rows: new Float32Array(15) }));
  attempt('rowsNaN', () => NegativeQueue.create({ device, k: 2, d: 2, rows: new Float32Array([1, 2, NaN, 4]) }));
  attempt('rowsType', () => NegativeQueue.create({ device, k: 1, d: 2, rows: [1, 2] as unknown as Float32Array }));
  attempt('tooLarge', () => NegativeQueue.create({ device, k: 2 ** 20, d: 2 ** 12 }));
  const queue = NegativeQueue.create({ device, k: 4, d: 4, seed: 1 });
  const keys = upload(device, new Float32Array(8));
  const noCopySrc = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
  const encoder = device.createCommandEncoder();
  attempt('nTooMany', () => queue.enqueue(encoder, keys, 3));
  attempt('nNegative', () => queue.enqueue(encoder, keys, -1));
  attempt('ownBuffer', () => queue.enqueue(encoder, queue.buffer, 1));
  attempt('noCopySrc', () => queue.enqueue(encoder, noCopySrc, 1));
  attempt('headUnmoved', () => {
    if (queue.head !== 0) throw new Error(`head moved to ${queue.head}`);
  });
  encoder.finish();
  queue.destroy();
  attempt('afterDestroy', () => queue.enqueue(device.createCommandEncoder(), keys, 1));
  attempt('bankAfterDestroy', () => queue.bank);
  keys.destroy();
  noCopySrc.destroy();
  return out;
}
