/**
 * Every loss written the way a TensorFlow.js user would write it today, with plain tfjs ops:
 * normalize, matMul, masks, logSumExp. It materializes 2N×2N matrices and is the baseline the
 * benchmarks compare against and the tfjs adapter's tests check `tf.grad` against. Formulas
 * and defaults: docs/FORMULAS.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedLossOptions } from '../options.js';
import { resolveTfjsOptions, type TfjsLossOptions } from './op-options.js';

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

/** Options of the baseline, resolved; `tau` and `b` are numbers or scalar tensors (learnable). */
interface BaselineOptions extends ResolvedLossOptions {
  tau: number | tf.Scalar;
  /** siglip's logit bias. */
  b: number | tf.Scalar;
}

/** `τ·m` as a number or a tensor, like τ. */
function tauTimes(o: BaselineOptions, m: number): number | tf.Scalar {
  return typeof o.tau === 'number' ? o.tau * m : (tf.mul(o.tau, m) as tf.Scalar);
}

/** ℓ per anchor from `lse` (over the candidates) and `s⁺`, for ntxent, dcl, dclw, flatnce; its mean. */
function meanOfAnchorTerms(lse: tf.Tensor1D, sPos: tf.Tensor1D, w: () => tf.Tensor1D, o: BaselineOptions): tf.Scalar {
  const x = tf.sub(lse, sPos);
  const ntxent = () => tf.mean(tf.softplus(x)) as tf.Scalar;
  const dcl = () => tf.mean(x) as tf.Scalar;
  switch (o.loss) {
    case 'ntxent':
      return ntxent();
    case 'dcl':
      return dcl();
    case 'flatnce': {
      // Value of NT-Xent, gradient of DCL (FlatCLR's exp(v − sg(v)) − 1 trick, docs/FORMULAS.md).
      const d = dcl();
      return tf.add(stopGradient(tf.sub(ntxent(), d)), d) as tf.Scalar;
    }
    default:
      return tf.mean(tf.sub(lse, tf.mul(w(), sPos))) as tf.Scalar;
  }
}

/** DCLW's w = 2 − N·softmax(cos/σ), detached unless weightGrad. */
function dclwWeights(cos: tf.Tensor1D, n: number, o: BaselineOptions): tf.Tensor1D {
  const w = tf.sub(2, tf.mul(n, tf.softmax(tf.div(cos, o.sigma)))) as tf.Tensor1D;
  return o.weightGrad ? w : (stopGradient(w) as tf.Tensor1D);
}

/**
 * The symmetric-S losses (ntxent, dcl, dclw, flatnce): per-anchor lse over the 2N−2 negatives,
 * or with `negatives: 'cross'` the N−1 of the other view.
 */
function pairwise(u1: tf.Tensor2D, u2: tf.Tensor2D, n: number, o: BaselineOptions): tf.Scalar {
  const U = tf.concat([u1, u2], 0);
  const S = tf.div(tf.matMul(U, U, false, true), o.tau) as tf.Tensor2D;
  const idx = tf.range(0, 2 * n, 1, 'int32');
  const pos = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
  const notSelf = tf.logicalNot(tf.cast(tf.oneHot(idx, 2 * n), 'bool'));
  const notPos = tf.logicalNot(tf.cast(tf.oneHot(pos, 2 * n), 'bool'));
  let keep = tf.logicalAnd(notSelf, notPos) as tf.Tensor2D;
  if (o.negatives === 'cross') {
    const view = tf.less(idx, n);
    const otherView = tf.notEqual(tf.expandDims(view, 1), tf.expandDims(view, 0));
    keep = tf.logicalAnd(keep, otherView) as tf.Tensor2D;
  }
  const lse = maskedLse(S, keep);
  const cos = tf.sum(tf.mul(u1, u2), 1) as tf.Tensor1D;
  const sPos = tf.div(tf.concat([cos, cos]), o.tau) as tf.Tensor1D;
  return meanOfAnchorTerms(lse, sPos, () => { const w = dclwWeights(cos, n, o); return tf.concat([w, w]); }, o);
}

/**
 * One dual-temperature direction from its logits at τ (`logits`) and at τ·m (`logits2`), the
 * positive of each row where `isPositive`: mean of f·(−log P) with f = (1 − Q)/(1 − P) detached.
 * Written with the margins μ = lse_neg − pos (τ) and μ' (τ·m), as docs/FORMULAS.md asks: −log P =
 * softplus(μ), 1 − P = sigmoid(μ), so f = exp(softplus(−μ) − softplus(−μ')) — no `1 − P` and no
 * `lse_all − pos` subtraction, which lose every digit in f32 when the positive dominates.
 */
function dualDirection(logits: tf.Tensor2D, logits2: tf.Tensor2D, isPositive: tf.Tensor2D): tf.Scalar {
  const notPositive = tf.logicalNot(isPositive) as tf.Tensor2D;
  const pos = (l: tf.Tensor2D) => tf.sum(tf.where(isPositive, l, tf.zerosLike(l)), 1);
  const margin = tf.sub(maskedLse(logits, notPositive), pos(logits));
  const margin2 = tf.sub(maskedLse(logits2, notPositive), pos(logits2));
  const f = stopGradient(tf.exp(tf.sub(tf.softplus(tf.neg(margin)), tf.softplus(tf.neg(margin2)))));
  return tf.mean(tf.mul(f, tf.softplus(margin))) as tf.Scalar;
}

/** SimCo dual temperature: cross-view candidates, positive in the denominator, detached factors. */
function dualTemperature(u1: tf.Tensor2D, u2: tf.Tensor2D, n: number, o: BaselineOptions): tf.Scalar {
  const A = tf.matMul(u1, u2, false, true) as tf.Tensor2D;
  const diag = tf.cast(tf.eye(n), 'bool') as tf.Tensor2D;
  const direction = (M: tf.Tensor2D) =>
    dualDirection(tf.div(M, o.tau) as tf.Tensor2D, tf.div(M, tauTimes(o, o.dtM)) as tf.Tensor2D, diag);
  return tf.mul(0.5, tf.add(direction(A), direction(tf.transpose(A)))) as tf.Scalar;
}

/**
 * Bank form (docs/FORMULAS.md "Queue negatives"): anchors u1, positive u2_i, candidates the normalized
 * bank rows only (no gradient to the bank); `L = mean_i ℓ_i`.
 */
function bankForm(u1: tf.Tensor2D, u2: tf.Tensor2D, bank: tf.Tensor2D, n: number, o: BaselineOptions): tf.Scalar {
  const b = stopGradient(l2normalize(bank)) as tf.Tensor2D;
  const cos = tf.sum(tf.mul(u1, u2), 1) as tf.Tensor1D;
  const bankCos = tf.matMul(u1, b, false, true) as tf.Tensor2D; // N×K
  if (o.loss === 'dualtemp') {
    const all = tf.concat([tf.expandDims(cos, 1), bankCos], 1) as tf.Tensor2D; // positive first
    const first = tf.cast(tf.oneHot(tf.zeros([n], 'int32') as tf.Tensor1D, all.shape[1]!), 'bool') as tf.Tensor2D;
    return dualDirection(tf.div(all, o.tau) as tf.Tensor2D, tf.div(all, tauTimes(o, o.dtM)) as tf.Tensor2D, first);
  }
  const lse = tf.logSumExp(tf.div(bankCos, o.tau), 1) as tf.Tensor1D;
  const sPos = tf.div(cos, o.tau) as tf.Tensor1D;
  return meanOfAnchorTerms(lse, sPos, () => dclwWeights(cos, n, o), o);
}

/**
 * SupCon (docs/FORMULAS.md "SupCon and SigLIP"): every row of U = [u1; u2] an anchor, positives
 * the other rows with its label, the denominator every other row; `(τ/τ_base)·mean_a ℓ_a`.
 */
function supCon(u1: tf.Tensor2D, u2: tf.Tensor2D, n: number, labels: tf.Tensor1D, o: BaselineOptions): tf.Scalar {
  const U = tf.concat([u1, u2], 0);
  const S = tf.div(tf.matMul(U, U, false, true), o.tau) as tf.Tensor2D;
  const y = tf.concat([labels, labels]);
  const notSelf = tf.logicalNot(tf.cast(tf.eye(2 * n), 'bool')) as tf.Tensor2D;
  const positive = tf.logicalAnd(tf.equal(tf.expandDims(y, 1), tf.expandDims(y, 0)), notSelf) as tf.Tensor2D;
  const lse = maskedLse(S, notSelf);
  const positiveMean = tf.div(tf.sum(tf.where(positive, S, tf.zerosLike(S)), 1), tf.sum(tf.cast(positive, 'float32'), 1));
  const factor = typeof o.tau === 'number' ? o.tau / o.baseTemperature : tf.div(o.tau, o.baseTemperature);
  return tf.mul(factor, tf.mean(tf.sub(lse, positiveMean))) as tf.Scalar;
}

/**
 * SigLIP (docs/FORMULAS.md "SupCon and SigLIP"): logits `u1·u2ᵀ/τ + b`, label +1 on the diagonal
 * and −1 elsewhere, `Σ softplus(−t·l) / N` (open_clip's SigLipLoss).
 */
function sigLip(u1: tf.Tensor2D, u2: tf.Tensor2D, n: number, o: BaselineOptions): tf.Scalar {
  const logits = tf.add(tf.div(tf.matMul(u1, u2, false, true), o.tau), o.b);
  const signs = tf.sub(tf.mul(tf.eye(n), 2), 1);
  return tf.div(tf.sum(tf.softplus(tf.neg(tf.mul(signs, logits)))), n) as tf.Scalar;
}

/**
 * The loss of two N×D views as a chain of tfjs ops (differentiable with `tf.grad`), every
 * option of docs/FORMULAS.md included (`negatives`, `bank`, supcon's `labels`, τ and siglip's b as
 * tensors). Returns the reported mean loss of docs/FORMULAS.md. `gradTemperature`, `gradBias` and
 * `diagnostics` are outputs of the fused op only: here τ's and b's gradients are `tf.grad` of
 * tensors, and the diagnostics are not computed.
 */
export function tfjsOpsLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, options: TfjsLossOptions): tf.Scalar {
  const [n, d] = z1.shape;
  const { resolved, tauTensor, bankTensor, gpuBank, labels, biasTensor } = resolveTfjsOptions('tfjsOpsLoss', options, d, n);
  if (gpuBank) throw new TypeError('tfjsOpsLoss: the bank must be a tf.Tensor here (a GPU bank is for the fused op)');
  return tf.tidy(() => {
    const scalar = (t: tf.Tensor) => tf.reshape(t, []) as tf.Scalar;
    const o: BaselineOptions = {
      ...resolved,
      tau: tauTensor ? scalar(tauTensor) : resolved.temperature,
      b: biasTensor ? scalar(biasTensor) : resolved.bias,
    };
    const u1 = l2normalize(z1);
    const u2 = l2normalize(z2);
    if (bankTensor) return bankForm(u1, u2, bankTensor, n, o);
    if (o.loss === 'supcon') return supCon(u1, u2, n, labels instanceof tf.Tensor ? labels : tf.tensor1d(labels!, 'int32'), o);
    if (o.loss === 'siglip') return sigLip(u1, u2, n, o);
    return o.loss === 'dualtemp' ? dualTemperature(u1, u2, n, o) : pairwise(u1, u2, n, o);
  });
}
