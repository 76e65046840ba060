/**
 * Both paths on given inputs, for the correctness check against the float64 CPU reference (which
 * runs in Node): the fused kernels through ContrastiveLoss.compute, and tfjsOpsLoss under
 * tf.valueAndGrads on the WebGPU backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tfjsOpsLoss } from '../../src/tfjs/ops-losses.js';
import { assertAlive, benchContext } from './context.js';
import type { BenchLoss } from '../types.js';

/** A path's loss and gradients. */
export interface PathValues {
  loss: number;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
}

/** Run the fused and the tfjs path on (z1, z2). */
export async function runBothPaths(z1: Float32Array, z2: Float32Array, n: number, d: number, loss: BenchLoss): Promise<{ fused: PathValues; tfjs: PathValues }> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const f = await ctx.fused.compute(z1, z2, n, d, { loss });
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tfjsOpsLoss(a as tf.Tensor2D, b as tf.Tensor2D, { loss }))([t1, t2]);
  const [v, g1, g2] = await Promise.all([value.data(), grads[0]!.data(), grads[1]!.data()]);
  tf.dispose([t1, t2, value, ...grads]);
  return {
    fused: { loss: f.loss, gradZ1: f.gradZ1!, gradZ2: f.gradZ2! },
    tfjs: { loss: (v as Float32Array)[0]!, gradZ1: g1 as Float32Array, gradZ2: g2 as Float32Array },
  };
}
