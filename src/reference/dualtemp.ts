/**
 * SimCo's dual-temperature loss (docs/FORMULAS.md, "Dual temperature"). Cross-view candidates only,
 * positive in the denominator, on `A = u1 u2ᵀ` (N×N, no temperature).
 *
 * The two directions are the same computation with the roles of the views swapped: the row
 * direction has anchors `u1` and candidates `u2` (rows of A); the column direction has
 * anchors `u2` and candidates `u1` (rows of Aᵀ = u2 u1ᵀ). So everything below is written for
 * one direction, "anchors `x`, candidates `y`", and called twice.
 */

import { addScaledRow, expectationUnderSoftmax, logSumExp, rowDot, sigmoid, softplus } from './numerics.js';
import type { AnchorStats } from './terms.js';

/** Per-anchor statistics of one direction (anchors `x`, candidates `y`), each of length N. */
export interface DirectionStats {
  /** `x_i·y_i / τ`: the positive logit at temperature τ. */
  pos: Float64Array;
  /** `log Σ_{j≠i} exp(x_i·y_j / τ)`: negatives only, temperature τ. */
  lseNeg: Float64Array;
  /** `Σ_{j≠i} q_ij · x_i·y_j/τ`, q the τ-softmax over the negatives (for ∂L/∂τ). */
  expectedS: Float64Array;
  /** `−log P_ii = softplus(lseNeg_i − pos_i)`. */
  negLogP: Float64Array;
  /** `1 − Q_ii` at temperature τ·m (the α of docs/FORMULAS.md's gradient). */
  oneMinusQ: Float64Array;
  /** The detached factor `f_i = (1 − Q_ii) / (1 − P_ii)`. Overflows to ∞ only when τ ≲ 3e-3. */
  factor: Float64Array;
  /** `loss_i = f_i · (−log P_ii)`, computed without forming f (finite for every τ). */
  loss: Float64Array;
}

/**
 * `−log P / (1 − P)` for a softmax whose negatives' log-sum-exp exceeds the positive logit by
 * `x` (so `−log P = softplus(x)` and `1 − P = sigmoid(x)`). It lies in [1, ∞) and is finite for
 * every finite x, even where `1 − P` underflows (x ≲ −745): then it tends to 1.
 */
export function negLogPOverOneMinusP(x: number): number {
  if (x >= 0) return softplus(x) / sigmoid(x);
  const t = Math.exp(x); // softplus(x)/sigmoid(x) = log1p(t)·(1 + t)/t
  return (1 + t) * (t > 0 ? Math.log1p(t) / t : 1);
}

/** Logits of anchor `i` against every candidate: `x_i·y_j / τ` for j in [0, N), written into `out`. */
function logitRow(x: Float64Array, y: Float64Array, i: number, n: number, d: number, temperature: number, out: Float64Array): Float64Array {
  for (let j = 0; j < n; j++) out[j] = rowDot(x, i, y, j, d) / temperature;
  return out;
}

/** Room for the {@link DirectionStats} of `n` anchors. */
export function emptyDirectionStats(n: number): DirectionStats {
  const f = () => new Float64Array(n);
  return { pos: f(), lseNeg: f(), expectedS: f(), negLogP: f(), oneMinusQ: f(), factor: f(), loss: f() };
}

/**
 * Fill entry `i` of `stats` from one anchor's logits at temperature τ, `logits[positive]` being
 * its positive and every other entry a negative. With the margin `μ = lse_neg − pos` of a
 * softmax, `1 − P = exp(lse_neg − lse_all) = sigmoid(μ)`, so `log(1 − P) = −softplus(−μ)`:
 * never a subtraction `1 − P`. The τ·m softmax is the same logits divided by m.
 */
export function fillDirectionRow(stats: DirectionStats, i: number, logits: Float64Array, positive: number, m: number): void {
  const notPositive = (j: number) => j !== positive;
  const logitsM = logits.map((v) => v / m);
  stats.pos[i] = logits[positive];
  stats.lseNeg[i] = logSumExp(logits, notPositive);
  stats.expectedS[i] = expectationUnderSoftmax(logits, stats.lseNeg[i], notPositive);
  const margin = stats.lseNeg[i] - stats.pos[i];
  const marginM = logSumExp(logitsM, notPositive) - logitsM[positive];
  const logOneMinusP = -softplus(-margin);
  const logOneMinusQ = -softplus(-marginM);
  stats.negLogP[i] = softplus(margin);
  stats.oneMinusQ[i] = Math.exp(logOneMinusQ);
  stats.factor[i] = Math.exp(logOneMinusQ - logOneMinusP);
  stats.loss[i] = stats.oneMinusQ[i] * negLogPOverOneMinusP(margin);
}

/** Forward statistics of one direction, anchors `x` and candidates `y` (both N×D, normalized). */
export function directionStats(x: Float64Array, y: Float64Array, n: number, d: number, temperature: number, m: number): DirectionStats {
  const stats = emptyDirectionStats(n);
  const logits = new Float64Array(n);
  for (let i = 0; i < n; i++) fillDirectionRow(stats, i, logitRow(x, y, i, n, d, temperature, logits), i, m);
  return stats;
}

/**
 * `loss_i = f_i · (−log P_ii)` for one direction, with `frozenFactors` (if given) in place of
 * the factors f computed from the inputs.
 */
export function directionLosses(stats: DirectionStats, frozenFactors?: ArrayLike<number>): Float64Array {
  if (!frozenFactors) return stats.loss;
  const n = stats.pos.length;
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) losses[i] = frozenFactors[i] * stats.negLogP[i];
  return losses;
}

/**
 * Accumulate one direction's gradient into `gx` (w.r.t. the anchors `x`) and `gy` (w.r.t.
 * the candidates `y`). With `f` detached, `∂loss_i/∂(x_i·y_j) = f_i (P_ij − δ_ij) / τ`,
 * which docs/FORMULAS.md writes as `α_i (q_ij − δ_ij) / τ` with `α_i = 1 − Q_ii` and `q` the τ-softmax
 * of row i over its negatives (0 on the diagonal): the two agree because
 * `f_i P_ij = α_i q_ij` (j ≠ i) and `f_i (P_ii − 1) = −α_i`. The α form is used: it never
 * divides by the possibly tiny `1 − P_ii`. The mean over N anchors and the ½ over the two
 * directions give the `1/(2Nτ)` in front; then `gx_i += Σ_j M_ij y_j`, `gy_j += Σ_i M_ij x_i`.
 */
export function addDirectionGrad(
  x: Float64Array,
  y: Float64Array,
  n: number,
  d: number,
  temperature: number,
  stats: DirectionStats,
  gx: Float64Array,
  gy: Float64Array,
): void {
  const scale = 1 / (2 * n * temperature);
  const logits = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    logitRow(x, y, i, n, d, temperature, logits);
    const alpha = stats.oneMinusQ[i];
    for (let j = 0; j < n; j++) {
      const q = j === i ? 0 : Math.exp(logits[j] - stats.lseNeg[i]);
      const dLdA = scale * alpha * (q - (j === i ? 1 : 0));
      addScaledRow(gx, i, dLdA, y, j, d);
      addScaledRow(gy, j, dLdA, x, i, d);
    }
  }
}

/** Everything the dual-temperature forward+backward produces, in terms of `u1`, `u2`. */
export interface DualTempResult {
  /** `loss_i(u1→u2)` for the N rows, then `loss_j(u2→u1)` for the N columns. */
  perAnchor: Float64Array;
  /**
   * The 2N anchors' statistics: `lse` is the τ-LSE over negatives, rows (first N) then columns;
   * `sPos` is `A_ii / τ`, length N.
   */
  stats: AnchorStats;
  /** `α = 1 − Q` per anchor (rows, then columns): both `c` and `β` of the backward rule, f detached. */
  alpha: Float64Array;
  /** The detached factors f: rows, then columns (length 2N). */
  dualFactors: Float64Array;
  /** `∂L/∂u1` (N×D). */
  gradU1: Float64Array;
  /** `∂L/∂u2` (N×D). */
  gradU2: Float64Array;
}

/** Concatenate two Float64Arrays. */
function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Forward and analytic backward of the dual-temperature loss on normalized `u1`, `u2` (N×D each). */
export function dualTempLoss(u1: Float64Array, u2: Float64Array, n: number, d: number, temperature: number, m: number): DualTempResult {
  const rows = directionStats(u1, u2, n, d, temperature, m);
  const cols = directionStats(u2, u1, n, d, temperature, m);
  const gradU1 = new Float64Array(n * d);
  const gradU2 = new Float64Array(n * d);
  addDirectionGrad(u1, u2, n, d, temperature, rows, gradU1, gradU2);
  addDirectionGrad(u2, u1, n, d, temperature, cols, gradU2, gradU1);
  return {
    perAnchor: concat(directionLosses(rows), directionLosses(cols)),
    stats: { lse: concat(rows.lseNeg, cols.lseNeg), sPos: rows.pos.slice(), expectedS: concat(rows.expectedS, cols.expectedS) },
    alpha: concat(rows.oneMinusQ, cols.oneMinusQ),
    dualFactors: concat(rows.factor, cols.factor),
    gradU1,
    gradU2,
  };
}

/**
 * Forward only: per-anchor values (rows, then columns). `frozenFactors` (length 2N, rows then
 * columns), if given, replaces the factors f — the function whose gradient is reported.
 */
export function dualTempPerAnchor(
  u1: Float64Array,
  u2: Float64Array,
  n: number,
  d: number,
  temperature: number,
  m: number,
  frozenFactors?: ArrayLike<number>,
): Float64Array {
  const rows = directionStats(u1, u2, n, d, temperature, m);
  const cols = directionStats(u2, u1, n, d, temperature, m);
  const factors = frozenFactors ? Float64Array.from(frozenFactors) : undefined;
  return concat(directionLosses(rows, factors?.subarray(0, n)), directionLosses(cols, factors?.subarray(n, 2 * n)));
}
