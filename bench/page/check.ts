/**
 * Both paths on given inputs, for the correctness check against the float64 CPU reference (which
 * runs in Node): the fused kernels through ContrastiveLoss.compute, and tfjsOpsLoss under
 * tf.valueAndGrads on the WebGPU backend, each with the loss's bench options
 * (bench/loss-options.ts). A path that throws (one that does not take the loss) reports its error
 * instead of values, so the other path is still checked and timed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertAlive, benchContext } from './context.js';
import { lossStep, tfjsLossOptions } from './tfjs-case.js';
import { benchLossOptions } from '../loss-options.js';
import type { BenchLoss } from '../types.js';

/** A path's loss and gradients. */
export interface PathValues {
  loss: number;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
}

/** A path's values, or the first line of what it threw. */
export type PathResult = PathValues | { error: string };

async function attempt(run: () => Promise<PathValues>): Promise<PathResult> {
  try {
    return await run();
  } catch (e) {
    return { error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim() || 'error' };
  }
}

/** The tfjs path's loss and gradients for `loss`, with its bench options, on (z1, z2). */
async function tfjsValues(z1: Float32Array, z2: Float32Array, n: number, d: number, loss: BenchLoss): Promise<PathValues> {
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  const { options, tensors } = tfjsLossOptions(loss, n);
  try {
    const outs = lossStep(options, t1, t2)();
    const [v, g1, g2] = await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
    return { loss: (v as Float32Array)[0]!, gradZ1: g1 as Float32Array, gradZ2: g2 as Float32Array };
  } finally {
    tf.dispose([t1, t2, ...tensors]);
  }
}

/** Run the fused and the tfjs path on (z1, z2). */
export async function runBothPaths(z1: Float32Array, z2: Float32Array, n: number, d: number, loss: BenchLoss): Promise<{ fused: PathResult; tfjs: PathResult }> {
  const ctx = await benchContext();
  assertAlive(ctx);
  const fused = await attempt(async () => {
    const f = await ctx.fused.compute(z1, z2, n, d, benchLossOptions(loss, n));
    return { loss: f.loss, gradZ1: f.gradZ1!, gradZ2: f.gradZ2! };
  });
  const tfjs = await attempt(() => tfjsValues(z1, z2, n, d, loss));
  assertAlive(ctx);
  return { fused, tfjs };
}
