/**
 * Page functions for the tfjs op with the third-wave losses (test/suites/third-wave.ts, both
 * runtimes): supcon with labels as an int32 tensor, siglip with τ and b as tf.Variables whose
 * gradients come from the kernels' gradTemperature/gradBias outputs; one SGD step that learns
 * τ and b on the GPU; the op outside a gradient scope; a non-finite b. Options travel as plain
 * data; tensors are made here.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { contrastiveLoss } from '../../src/tfjs/contrastive-loss-op.js';
import type { TfjsLossOptions } from '../../src/tfjs/op-options.js';
import { variableScalar } from './tfjs-second-wave-page.js';

/** Plain-data options of one call: τ (and siglip's b) become tf.Variables, labels an int32 tensor. */
export interface TfjsThirdWaveWire {
  loss: 'supcon' | 'siglip';
  temperature: number;
  baseTemperature?: number;
  bias?: number;
  labels?: number[];
  /** The SGD step size of {@link TfjsThirdWaveResult.afterStep}. */
  learningRate: number;
}

/** What {@link tfjsThirdWaveRun} reads back. */
export interface TfjsThirdWaveResult {
  loss: number;
  gradZ1: Float32Array;
  gradZ2: Float32Array;
  gradTemperature: number;
  /** siglip only. */
  gradBias?: number;
  /** The op's value outside a gradient scope (forward kernels only). */
  forwardOnlyLoss: number;
  /** τ and b after one `optimizer.minimize` step of SGD with the wire's learning rate. */
  afterStep: { temperature: number; bias?: number };
  /** The labels tensor read back after the calls equals what was uploaded. */
  labelsUnchanged: boolean;
  /** siglip: whether the loss with b = +∞ as a tensor is NaN (never a plausible value). */
  infiniteBiasGivesNaN?: boolean;
  /** Tensors alive after the calls minus before (0: nothing leaked). */
  leakedTensors: number;
}

/** The op and its gradients with τ (and b) learned, one SGD step, on the webgpu backend. */
export async function tfjsThirdWaveRun(z1: Float32Array, z2: Float32Array, n: number, d: number, wire: TfjsThirdWaveWire): Promise<TfjsThirdWaveResult> {
  if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
  const before = tf.memory().numTensors;
  const result = await runOnce(z1, z2, n, d, wire);
  return { ...result, leakedTensors: tf.memory().numTensors - before };
}

async function runOnce(z1: Float32Array, z2: Float32Array, n: number, d: number, wire: TfjsThirdWaveWire): Promise<Omit<TfjsThirdWaveResult, 'leakedTensors'>> {
  const t1 = tf.tensor2d(z1, [n, d]);
  const t2 = tf.tensor2d(z2, [n, d]);
  const labels = wire.labels ? tf.tensor1d(wire.labels, 'int32') : undefined;
  const tau = variableScalar(wire.temperature);
  const bias = wire.loss === 'siglip' ? variableScalar(wire.bias ?? -10) : undefined;
  const options = (b: tf.Tensor | undefined = bias): TfjsLossOptions => ({
    loss: wire.loss,
    temperature: tau,
    ...(wire.baseTemperature !== undefined ? { baseTemperature: wire.baseTemperature } : {}),
    ...(labels ? { labels } : {}),
    ...(b ? { bias: b } : {}),
  });
  try {
    const xs: tf.Tensor[] = [t1, t2, tau, ...(bias ? [bias] : [])];
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) =>
      contrastiveLoss(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, { ...options(args[3]), temperature: args[2]! }),
    )(xs);
    const [loss, g1, g2, gTau, gBias] = await Promise.all([value, ...grads].map((t) => t.data()));
    tf.dispose([value, ...grads]);
    const fwd = contrastiveLoss(t1, t2, options());
    const forwardOnlyLoss = (await fwd.data())[0]!;
    fwd.dispose();
    let infiniteBiasGivesNaN: boolean | undefined;
    if (bias) {
      const inf = tf.scalar(Infinity);
      const l = contrastiveLoss(t1, t2, options(inf));
      infiniteBiasGivesNaN = Number.isNaN((await l.data())[0]);
      tf.dispose([inf, l]);
    }
    // A training step: the optimizer gets τ's and b's gradients from the op, never read back.
    const optimizer = tf.train.sgd(wire.learningRate);
    optimizer.minimize(() => contrastiveLoss(t1, t2, options()), false, bias ? [tau, bias] : [tau]);
    optimizer.dispose();
    const afterStep = { temperature: (await tau.data())[0]!, ...(bias ? { bias: (await bias.data())[0]! } : {}) };
    const labelsUnchanged = !labels || (await labels.data()).every((v, i) => v === wire.labels![i]);
    return {
      loss: loss![0]!,
      gradZ1: g1 as Float32Array,
      gradZ2: g2 as Float32Array,
      gradTemperature: gTau![0]!,
      ...(gBias ? { gradBias: gBias[0]! } : {}),
      forwardOnlyLoss,
      afterStep,
      labelsUnchanged,
      ...(infiniteBiasGivesNaN !== undefined ? { infiniteBiasGivesNaN } : {}),
    };
  } finally {
    tf.dispose([t1, t2, tau, ...(labels ? [labels] : []), ...(bias ? [bias] : [])]);
  }
}
