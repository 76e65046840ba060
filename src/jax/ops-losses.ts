/**
 * Every loss written the way a jax-js user would write it today, with plain `numpy`/`nn` ops:
 * normalize, `matmul`, masks, `logsumexp`. It materializes 2N×2N matrices (N×N for siglip) and is the baseline
 * the jax benchmark compares against and the jax adapter's tests check against. Formulas and
 * defaults: docs/FORMULAS.md. Like every jax-js function it consumes its array arguments (pass `.ref`
 * to keep one).
 */
import { Array as JaxArray, lax, nn, numpy as np } from '@jax-js/jax';
import type { ResolvedLossOptions } from '../options.js';
import { checkLabelsLength, labelsArray, resolveJaxOptions, type JaxLossOptions } from './loss-options.js';

/** Rows divided by max(‖row‖, 1e-12). Consumes `z`. */
function l2normalize(z: JaxArray): JaxArray {
  const norm = np.sqrt(np.sum(np.square(z.ref), 1, { keepdims: true }));
  return z.div(np.maximum(norm, 1e-12));
}

/** log-sum-exp of each row of `logits` over the entries where `excluded` is 0. Consumes both. */
function maskedLse(logits: JaxArray, excluded: JaxArray): JaxArray {
  return nn.logsumexp(np.where(excluded.greater(0), -Infinity, logits), 1);
}

/** The symmetric-S losses (ntxent, dcl, dclw, flatnce): per-anchor lse over 2N−2 negatives. */
function pairwise(u1: JaxArray, u2: JaxArray, n: number, o: ResolvedLossOptions): JaxArray {
  const cos = np.sum(u1.ref.mul(u2.ref), 1);
  const U = np.concatenate([u1, u2], 0);
  const S = np.matmul(U.ref, np.matrixTranspose(U)).div(o.temperature);
  // Self (the diagonal) and positive ((a + N) mod 2N) are not negatives.
  const excluded = np.eye(2 * n).add(np.roll(np.eye(2 * n), n, 1));
  const lse = maskedLse(S, excluded);
  const sPos = np.concatenate([cos.ref, cos.ref], 0).div(o.temperature);
  switch (o.loss) {
    case 'ntxent':
      cos.dispose();
      return np.mean(nn.softplus(lse.sub(sPos)));
    case 'dcl':
      cos.dispose();
      return np.mean(lse.sub(sPos));
    case 'flatnce': {
      // Value of NT-Xent, gradient of DCL (FlatCLR's exp(v − sg(v)) − 1 trick, docs/FORMULAS.md).
      cos.dispose();
      const x = lse.sub(sPos);
      const dcl = np.mean(x.ref);
      const ntxent = np.mean(nn.softplus(x));
      return lax.stopGradient(ntxent.sub(dcl.ref)).add(dcl);
    }
    default: {
      // dclw: w = 2 − N·softmax(cos/σ), detached unless weightGrad.
      let w = np.subtract(2, nn.softmax(cos.div(o.sigma), 0).mul(n));
      if (!o.weightGrad) w = lax.stopGradient(w);
      const w2 = np.concatenate([w.ref, w], 0);
      return np.mean(lse.sub(w2.mul(sPos)));
    }
  }
}

/** One direction of SimCo's dual temperature loss (anchors = rows of `A`). Consumes `A`. */
function dualDirection(A: JaxArray, n: number, o: ResolvedLossOptions): JaxArray {
  const logits = A.ref.div(o.temperature);
  const logits2 = A.div(o.temperature * o.dtM);
  const diag = np.sum(logits.ref.mul(np.eye(n)), 1);
  const lseAll = nn.logsumexp(logits.ref, 1);
  // 1 − P_ii as exp(lse_neg − lse_all), never as a subtraction (docs/FORMULAS.md).
  const oneMinusP = np.exp(maskedLse(logits, np.eye(n)).sub(lseAll.ref));
  const oneMinusQ = np.exp(maskedLse(logits2.ref, np.eye(n)).sub(nn.logsumexp(logits2, 1)));
  const f = lax.stopGradient(oneMinusQ.div(oneMinusP));
  return np.mean(f.mul(lseAll.sub(diag)));
}

/** SimCo dual temperature: cross-view candidates, positive in the denominator, detached factors. */
function dualTemperature(u1: JaxArray, u2: JaxArray, n: number, o: ResolvedLossOptions): JaxArray {
  const A = np.matmul(u1, np.matrixTranspose(u2));
  const forward = dualDirection(A.ref, n, o);
  const backward = dualDirection(np.matrixTranspose(A), n, o);
  return forward.add(backward).mul(0.5);
}

/**
 * SupCon (contrast mode 'all'): per anchor, lse over every other row of both views minus the
 * mean logit of the same-label rows, times τ/τ_base. `labels` (int32, [N]) is consumed.
 */
function supcon(u1: JaxArray, u2: JaxArray, labels: JaxArray, n: number, o: ResolvedLossOptions): JaxArray {
  const U = np.concatenate([u1, u2], 0);
  const S = np.matmul(U.ref, np.matrixTranspose(U)).div(o.temperature);
  const rowLabels = np.concatenate([labels.ref, labels], 0);
  const self = np.eye(2 * n);
  // Positives of anchor a: the rows b ≠ a with its label (never empty: the other view is one).
  const sameLabel = np.equal(rowLabels.ref.reshape([2 * n, 1]), rowLabels.reshape([1, 2 * n])).astype(np.float32);
  const positives = sameLabel.sub(self.ref);
  const lse = maskedLse(S.ref, self);
  const meanPositive = np.sum(S.mul(positives.ref), 1).div(np.sum(positives, 1));
  return np.mean(lse.sub(meanPositive)).mul(o.temperature / o.baseTemperature);
}

/**
 * SigLIP: a sigmoid per pair (i, j) with logit u1_i·u2_j/τ + b, label +1 on the diagonal and −1
 * elsewhere, summed over the N² pairs and divided by N. A jax-js `bias` is consumed.
 */
function siglip(u1: JaxArray, u2: JaxArray, bias: number | JaxArray, n: number, o: ResolvedLossOptions): JaxArray {
  const logits = np.matmul(u1, np.matrixTranspose(u2)).div(o.temperature).add(bias);
  const signs = np.eye(n).mul(2).sub(1);
  // −log σ(z·l) = softplus(−z·l), stable for logits of either sign.
  return np.sum(nn.softplus(np.negative(signs.mul(logits)))).div(n);
}

/**
 * The loss of two N×D float32 views as a chain of jax-js ops (differentiable with `grad`,
 * `vjp`, compilable with `jit`). Returns the reported mean loss of docs/FORMULAS.md as a scalar array.
 * Consumes `z1` and `z2`; a jax-js `labels` or `bias` in `options` is borrowed (see
 * {@link JaxLossOptions}).
 *
 * Only the basic options of docs/FORMULAS.md (loss, temperature, sigma, weightGrad, dtM;
 * supcon's labels and baseTemperature, siglip's bias) are modelled here; it is a baseline, not a
 * second implementation of every option (no bank, candidate sets or extra outputs).
 */
export function jaxOpsLoss(z1: JaxArray, z2: JaxArray, options: JaxLossOptions): JaxArray {
  const o = resolveJaxOptions(options, 'jaxOpsLoss');
  const n = z1.shape[0]!;
  const labels = options.labels;
  if (o.loss === 'supcon') {
    if (!(labels instanceof JaxArray || labels instanceof Int32Array)) {
      throw new TypeError('jaxOpsLoss takes labels as an Int32Array or a jax-js int32 array of N values (a GPUBuffer is for the fused step)');
    }
    checkLabelsLength(labels, n, 'jaxOpsLoss');
  }
  const u1 = l2normalize(z1);
  const u2 = l2normalize(z2);
  switch (o.loss) {
    case 'dualtemp':
      return dualTemperature(u1, u2, n, o);
    case 'supcon':
      return supcon(u1, u2, labelsArray(labels as Int32Array | JaxArray, u1.device), n, o);
    case 'siglip': {
      const bias = options.bias;
      return siglip(u1, u2, typeof bias === 'object' ? bias.ref : o.bias, n, o);
    }
    default:
      return pairwise(u1, u2, n, o);
  }
}
