/**
 * Every loss written the way a TensorFlow.js user would write it today, with plain tfjs ops:
 * normalize, matMul, masks, logSumExp. It materializes 2N×2N matrices and is the baseline the
 * benchmarks compare against and the tfjs adapter's tests check `tf.grad` against. Formulas
 * and defaults: MATH.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolveOptions, type LossOptions } from '../options.js';

/** Identity forward, zero gradient: tfjs has no stop_gradient op. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

function l2normalize(z: tf.Tensor2D): tf.Tensor2D {
  return tf.div(z, tf.maximum(tf.norm(z, 'euclidean', 1, true), 1e-12));
}

/** log-sum-exp of each row over the entries where `keep` is true. */
function maskedLse(logits: tf.Tensor2D, keep: tf.Tensor2D): tf.Tensor1D {
  return tf.logSumExp(tf.where(keep, logits, tf.fill(logits.shape, -Infinity)), 1) as tf.Tensor1D;
}

/** The symmetric-S losses (ntxent, dcl, dclw, flatnce): per-anchor lse over 2N−2 negatives. */
function pairwise(u1: tf.Tensor2D, u2: tf.Tensor2D, n: number, o: ReturnType<typeof resolveOptions>): tf.Scalar {
  const U = tf.concat([u1, u2], 0);
  const S = tf.div(tf.matMul(U, U, false, true), o.temperature) as tf.Tensor2D;
  const idx = tf.range(0, 2 * n, 1, 'int32');
  const pos = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
  const notSelf = tf.logicalNot(tf.cast(tf.oneHot(idx, 2 * n), 'bool'));
  const notPos = tf.logicalNot(tf.cast(tf.oneHot(pos, 2 * n), 'bool'));
  const lse = maskedLse(S, tf.logicalAnd(notSelf, notPos) as tf.Tensor2D);
  const cos = tf.sum(tf.mul(u1, u2), 1);
  const sPos = tf.div(tf.concat([cos, cos]), o.temperature);
  const x = tf.sub(lse, sPos);
  const ntxent = () => tf.mean(tf.softplus(x)) as tf.Scalar;
  const dcl = () => tf.mean(x) as tf.Scalar;
  switch (o.loss) {
    case 'ntxent':
      return ntxent();
    case 'dcl':
      return dcl();
    case 'flatnce': {
      // Value of NT-Xent, gradient of DCL (FlatCLR's exp(v − sg(v)) − 1 trick, MATH.md).
      const d = dcl();
      return tf.add(stopGradient(tf.sub(ntxent(), d)), d) as tf.Scalar;
    }
    default: {
      // dclw: w = 2 − N·softmax(cos/σ), detached unless weightGrad.
      let w = tf.sub(2, tf.mul(n, tf.softmax(tf.div(cos, o.sigma))));
      if (!o.weightGrad) w = stopGradient(w);
      return tf.mean(tf.sub(lse, tf.mul(tf.concat([w, w]), sPos))) as tf.Scalar;
    }
  }
}

/** SimCo dual temperature: cross-view candidates, positive in the denominator, detached factors. */
function dualTemperature(u1: tf.Tensor2D, u2: tf.Tensor2D, n: number, o: ReturnType<typeof resolveOptions>): tf.Scalar {
  const A = tf.matMul(u1, u2, false, true) as tf.Tensor2D;
  const notDiag = tf.logicalNot(tf.cast(tf.eye(n), 'bool')) as tf.Tensor2D;
  const direction = (M: tf.Tensor2D) => {
    const logits = tf.div(M, o.temperature) as tf.Tensor2D;
    const logits2 = tf.div(M, o.temperature * o.dtM) as tf.Tensor2D;
    const diag = tf.sum(tf.mul(logits, tf.eye(n)), 1);
    const lseAll = tf.logSumExp(logits, 1);
    const oneMinusP = tf.exp(tf.sub(maskedLse(logits, notDiag), lseAll));
    const oneMinusQ = tf.exp(tf.sub(maskedLse(logits2, notDiag), tf.logSumExp(logits2, 1)));
    const f = stopGradient(tf.div(oneMinusQ, oneMinusP));
    return tf.mean(tf.mul(f, tf.sub(lseAll, diag)));
  };
  return tf.mul(0.5, tf.add(direction(A), direction(tf.transpose(A)))) as tf.Scalar;
}

/**
 * The loss of two N×D views as a chain of tfjs ops (differentiable with `tf.grad`). Returns the
 * reported mean loss of MATH.md.
 */
export function tfjsOpsLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, options: LossOptions): tf.Scalar {
  const o = resolveOptions(options);
  const [n] = z1.shape;
  return tf.tidy(() => {
    const u1 = l2normalize(z1);
    const u2 = l2normalize(z2);
    return o.loss === 'dualtemp' ? dualTemperature(u1, u2, n, o) : pairwise(u1, u2, n, o);
  });
}
