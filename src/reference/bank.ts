/**
 * Queue (memory-bank) negatives, docs/FORMULAS.md "Queue negatives": one direction, the N rows of `u1`
 * are the anchors, `u2_i` the positive of anchor i and the K normalized bank rows `b` the only
 * candidates. The bank is a constant (no gradient to it).
 *
 * With `S_ij = u1_i·b_j/τ`, `s⁺_i = u1_i·u2_i/τ` and `lse_i = log Σ_j exp(S_ij)`, every loss is
 * the in-batch one with these statistics and `L = (1/N) Σ_i ℓ_i`, so the backward rule becomes
 *
 *     gu1_i = (1/(Nτ)) [c_i Σ_j e^{S_ij − lse_i} b_j − β_i u2_i],     gu2_i = −(1/(Nτ)) β_i u1_i.
 *
 * The dual temperature loss fits the same rule: its logits are `[s⁺_i, S_i0 … S_i,K−1]` (times
 * τ, no temperature, before the two softmaxes), and with the factor f detached its coefficients
 * are `c_i = β_i = α_i = 1 − Q_i0` (as in the in-batch form, see dualtemp.ts).
 */

import type { FusedLossName } from '../options.js';
import { emptyDirectionStats, fillDirectionRow, type DirectionStats } from './dualtemp.js';
import { addScaledRow, expectationUnderSoftmax, logSumExp, rowDot } from './numerics.js';
import { addDclwWeightGrad, anchorTerms, dclwWeights, type DclwWeights } from './pairwise.js';
import type { AnchorStats, AnchorTerms } from './terms.js';

/** The views and the bank, all normalized: `u` is `[u1; u2]` (2N×D), `bank` is K×D. */
export interface BankProblem {
  u: Float64Array;
  bank: Float64Array;
  n: number;
  k: number;
  d: number;
}

/** Options the bank form reads (resolved and validated). */
export interface BankOptions {
  loss: FusedLossName;
  temperature: number;
  sigma: number;
  weightGrad: boolean;
  dtM: number;
}

/** Anchor i's logits against the bank, `u1_i·b_j/τ`, written into `out` (length K). */
function bankLogits(p: BankProblem, i: number, temperature: number, out: Float64Array): Float64Array {
  for (let j = 0; j < p.k; j++) out[j] = rowDot(p.u, i, p.bank, j, p.d) / temperature;
  return out;
}

/** The N anchors' {@link AnchorStats} against the bank. */
export function bankStats(p: BankProblem, temperature: number): AnchorStats {
  const lse = new Float64Array(p.n);
  const expectedS = new Float64Array(p.n);
  const sPos = new Float64Array(p.n);
  const logits = new Float64Array(p.k);
  for (let i = 0; i < p.n; i++) {
    bankLogits(p, i, temperature, logits);
    lse[i] = logSumExp(logits);
    expectedS[i] = expectationUnderSoftmax(logits, lse[i]);
    sPos[i] = rowDot(p.u, i, p.u, i + p.n, p.d) / temperature;
  }
  return { lse, sPos, expectedS };
}

/**
 * The dual-temperature statistics of the bank form: per anchor, the logits `[s⁺_i, S_i·]` with
 * the positive first. Its `lseNeg` is the bank's `lse_i`.
 */
export function bankDualTempStats(p: BankProblem, temperature: number, m: number): DirectionStats {
  const stats = emptyDirectionStats(p.n);
  const logits = new Float64Array(p.k + 1);
  const bankPart = logits.subarray(1);
  for (let i = 0; i < p.n; i++) {
    logits[0] = rowDot(p.u, i, p.u, i + p.n, p.d) / temperature;
    bankLogits(p, i, temperature, bankPart);
    fillDirectionRow(stats, i, logits, 0, m);
  }
  return stats;
}

/** `∂L/∂U` (2N×D: u1's rows, then u2's) of `L = (1/N) Σ_i ℓ_i` by the rule in this file's header. */
export function bankBackward(p: BankProblem, temperature: number, stats: AnchorStats, c: Float64Array, beta: Float64Array): Float64Array {
  const { n, k, d } = p;
  const gradU = new Float64Array(2 * n * d);
  const scale = 1 / (n * temperature);
  const logits = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    bankLogits(p, i, temperature, logits);
    for (let j = 0; j < k; j++) addScaledRow(gradU, i, scale * c[i] * Math.exp(logits[j] - stats.lse[i]), p.bank, j, d);
    addScaledRow(gradU, i, -scale * beta[i], p.u, i + n, d);
    addScaledRow(gradU, i + n, -scale * beta[i], p.u, i, d);
  }
  return gradU;
}

/** Everything the bank-form forward+backward produces (N anchors). */
export interface BankResult extends AnchorTerms {
  stats: AnchorStats;
  /** `∂L/∂U`, 2N×D, before the normalization backward. */
  gradU: Float64Array;
  /** `dclw` only: the weights w (length N). */
  weights?: Float64Array;
  /** `dualtemp` only: the detached factors `f_i = (1 − Q_i0)/(1 − P_i0)` (length N). */
  dualFactors?: Float64Array;
}

/**
 * The bank form's per-anchor terms. `frozen` (if given) replaces DCLW's weights or the dual
 * factors f — the function whose gradient is reported when they are detached.
 */
function bankTerms(p: BankProblem, o: BankOptions, frozen?: Float64Array): AnchorTerms & { stats: AnchorStats; dualFactors?: Float64Array; dclw?: DclwWeights } {
  if (o.loss === 'dualtemp') {
    const dt = bankDualTempStats(p, o.temperature, o.dtM);
    const stats: AnchorStats = { lse: dt.lseNeg, sPos: dt.pos, expectedS: dt.expectedS };
    const perAnchor = frozen ? dt.negLogP.map((v, i) => frozen[i] * v) : dt.loss;
    return { stats, perAnchor, c: dt.oneMinusQ, beta: dt.oneMinusQ, dualFactors: dt.factor };
  }
  const stats = bankStats(p, o.temperature);
  const dclw = o.loss === 'dclw' ? dclwWeights(p.u, p.n, p.d, o.sigma) : undefined;
  const terms = anchorTerms(o.loss, stats, p.n, frozen ?? dclw?.weights);
  return { stats, ...terms, ...(dclw ? { dclw } : {}) };
}

/** Forward and analytic backward of any loss in bank form. */
export function bankLoss(p: BankProblem, o: BankOptions): BankResult {
  const { stats, perAnchor, c, beta, dualFactors, dclw } = bankTerms(p, o);
  const gradU = bankBackward(p, o.temperature, stats, c, beta);
  if (dclw && o.weightGrad) addDclwWeightGrad(gradU, p.u, p.n, p.d, o.sigma, stats.sPos, dclw.softmax);
  return {
    perAnchor,
    c,
    beta,
    stats,
    gradU,
    ...(dclw ? { weights: dclw.weights } : {}),
    ...(dualFactors ? { dualFactors } : {}),
  };
}

/** Forward only: the N per-anchor values, with `frozen` weights / factors if given. */
export function bankPerAnchor(p: BankProblem, o: BankOptions, frozen?: Float64Array): Float64Array {
  return bankTerms(p, o, frozen).perAnchor;
}
