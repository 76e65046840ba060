/**
 * Page functions for the TensorFlow.js op tests (test/tfjs-op.test.ts): the op and the plain-ops
 * baseline on the `webgpu` backend, a training loop watched for leaks and GPU→CPU reads, and
 * the error on the `cpu` backend.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients (the @tensorflow/tfjs union package does).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-cpu';
import { contrastiveLoss, contrastiveLossDispatcher } from '../../src/tfjs/contrastive-loss-op.js';
import { tfjsOpsLoss } from '../../src/tfjs/ops-losses.js';
import type { LossOptions } from '../../src/options.js';

/** Switch tfjs to `name` (initializing it on first use). */
async function useBackend(name: 'webgpu' | 'cpu'): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** Loss value and both gradients, read back. */
export interface LossAndGrads {
  loss: number;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
}

/** The op and the baseline on the same inputs. */
export interface OpComparison {
  /** `tf.valueAndGrads` of the fused op. */
  op: LossAndGrads;
  /**
   * `tf.valueAndGrads` of `contrastiveLoss(2·z1, z2/2)`: inputs produced by tfjs ops still
   * batched in tfjs's encoder, gradients chained through them. Scaling a view changes neither
   * the loss nor (after the chain rule) the gradients, so this must equal {@link op}.
   */
  chained: LossAndGrads;
  /** The op's value outside any gradient scope (forward kernels only). */
  forwardOnlyLoss: number;
  /** `tf.valueAndGrads` of {@link tfjsOpsLoss}. */
  baseline: LossAndGrads;
}

async function valueAndGrads(f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Scalar, t1: tf.Tensor2D, t2: tf.Tensor2D): Promise<LossAndGrads> {
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor2D, b as tf.Tensor2D))([t1, t2]);
  try {
    const [loss, g1, g2] = await Promise.all([value.data(), grads[0]!.data(), grads[1]!.data()]);
    return { loss: loss[0]!, gradZ1: g1 as Float32Array, gradZ2: g2 as Float32Array };
  } finally {
    tf.dispose([value, ...grads]);
  }
}

/** Loss and gradients of the fused op and of the plain-ops baseline, on the webgpu backend. */
export async function tfjsOpCompare(z1: Float32Array, z2: Float32Array, n: number, d: number, options: Omit<LossOptions, 'bank' | 'labels'>): Promise<OpComparison> {
  await useBackend('webgpu');
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  try {
    const op = await valueAndGrads((a, b) => contrastiveLoss(a, b, options), t1, t2);
    const chained = await valueAndGrads((a, b) => contrastiveLoss(tf.mul(a, 2), tf.mul(b, 0.5), options), t1, t2);
    const fwd = contrastiveLoss(t1, t2, options);
    const forwardOnlyLoss = (await fwd.data())[0]!;
    fwd.dispose();
    const baseline = await valueAndGrads((a, b) => tfjsOpsLoss(a, b, options), t1, t2);
    return { op, chained, forwardOnlyLoss, baseline };
  } finally {
    t1.dispose();
    t2.dispose();
  }
}

/** Leak check of one compare run: tensors alive afterwards minus before. */
export async function tfjsOpLeak(n: number, d: number, options: Omit<LossOptions, 'bank' | 'labels'>): Promise<number> {
  await useBackend('webgpu');
  const before = tf.memory().numTensors;
  const t1 = tf.randomNormal([n, d], 0, 1, 'float32', 1) as tf.Tensor2D;
  const t2 = tf.randomNormal([n, d], 0, 1, 'float32', 2) as tf.Tensor2D;
  await valueAndGrads((a, b) => contrastiveLoss(a, b, options), t1, t2);
  tf.dispose([t1, t2]);
  return tf.memory().numTensors - before;
}

/** Memory counters at one point of the training loop. */
export interface MemorySnapshot {
  numTensors: number;
  numBytes: number;
  /** Bytes of tfjs's webgpu buffer pool in use. */
  numBytesInGPU: number;
  dispatcherBuffers: number;
  dispatcherBytes: number;
}

/** What {@link tfjsTraining} observed. */
export interface TrainingReport {
  /** After step 5 (warm-up done). */
  afterWarmup: MemorySnapshot;
  /** After the last step. */
  afterLast: MemorySnapshot;
  /** mapAsync calls during the steps after warm-up: with a READ mode, and in all. */
  mapReads: number;
  mapCalls: number;
  lossBefore: number;
  lossAfter: number;
}

function snapshot(): MemorySnapshot {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  const cl = contrastiveLossDispatcher();
  return {
    numTensors: m.numTensors,
    numBytes: m.numBytes,
    numBytesInGPU: m.numBytesInGPU ?? NaN,
    dispatcherBuffers: cl.liveBufferCount,
    dispatcherBytes: cl.currentBytes,
  };
}

/**
 * `steps` optimizer steps of a dense layer z = x·W that produces both views, minimizing the
 * fused op. Snapshots memory after step 5 and after the last; counts mapAsync calls in the
 * steps after warm-up (GPUBuffer.prototype.mapAsync patched for the duration).
 */
export async function tfjsTraining(steps: number, options: Omit<LossOptions, 'bank' | 'labels'>): Promise<TrainingReport> {
  await useBackend('webgpu');
  const n = 16;
  const din = 24;
  const d = 8;
  const base = tf.randomNormal([n, din], 0, 1, 'float32', 11);
  const x1 = tf.add(base, tf.randomNormal([n, din], 0, 0.3, 'float32', 12)) as tf.Tensor2D;
  const x2 = tf.add(base, tf.randomNormal([n, din], 0, 0.3, 'float32', 13)) as tf.Tensor2D;
  base.dispose();
  const W = tf.variable(tf.randomNormal([din, d], 0, 0.3, 'float32', 14), true, 'tfjsTrainingW');
  const optimizer = tf.train.adam(0.05);
  const lossNow = async () => {
    const l = tf.tidy(() => contrastiveLoss(tf.matMul(x1, W), tf.matMul(x2, W), options));
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  };
  const step = () => optimizer.minimize(() => tf.tidy(() => contrastiveLoss(tf.matMul(x1, W), tf.matMul(x2, W), options)));
  const lossBefore = await lossNow();
  let mapReads = 0;
  let mapCalls = 0;
  const original = GPUBuffer.prototype.mapAsync;
  let afterWarmup: MemorySnapshot | undefined;
  let afterLast: MemorySnapshot | undefined;
  try {
    for (let i = 1; i <= steps; i++) {
      step();
      if (i === 5) {
        // Let the warm-up's work finish, then start counting.
        await contrastiveLossDispatcher().device.queue.onSubmittedWorkDone();
        afterWarmup = snapshot();
        GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, mode: GPUMapModeFlags, ...rest: [number?, number?]) {
          mapCalls++;
          if (mode & GPUMapMode.READ) mapReads++;
          return original.call(this, mode, ...rest);
        };
      }
    }
    afterLast = snapshot();
  } finally {
    GPUBuffer.prototype.mapAsync = original;
  }
  const lossAfter = await lossNow();
  optimizer.dispose();
  tf.dispose([x1, x2, W]);
  return { afterWarmup: afterWarmup!, afterLast, mapReads, mapCalls, lossBefore, lossAfter };
}

/** Call the op on the cpu backend; returns the error message (or '' if it did not throw). */
export async function tfjsOnCpuError(): Promise<string> {
  await useBackend('cpu');
  try {
    const a = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const b = tf.randomNormal([4, 3]) as tf.Tensor2D;
    try {
      contrastiveLoss(a, b, { loss: 'dcl' }).dispose();
      return '';
    } catch (e) {
      return (e as Error).message;
    } finally {
      tf.dispose([a, b]);
    }
  } finally {
    await useBackend('webgpu');
  }
}
