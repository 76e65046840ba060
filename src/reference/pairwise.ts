/**
 * The losses built on the symmetric 2N×2N similarity `S = U Uᵀ / τ` (docs/FORMULAS.md): `ntxent`,
 * `dcl`, `dclw` and `flatnce`. Everything works on the stacked normalized views
 * `U = [u1; u2]` (2N×D, flat row-major); anchors `0..N−1` are the rows of `u1`,
 * `N..2N−1` those of `u2`.
 *
 * The forward pass keeps per-anchor statistics (terms.ts: `lse_a` over the candidate set —
 * the 2N−2 negatives, or with `negatives: 'cross'` the N−1 of the other view —, `s⁺_a` and
 * the softmax mean of S for ∂L/∂τ); the backward pass is docs/FORMULAS.md's "one backward rule",
 * written out analytically (it holds for both candidate sets, each being symmetric). Rows of S
 * are recomputed when needed (O(N) scratch), never stored whole.
 */

import type { NegativesMode } from '../options.js';
import { addScaledRow, expectationUnderSoftmax, logSumExp, rowDot, sigmoid, softplus } from './numerics.js';
import type { AnchorStats, AnchorTerms } from './terms.js';

/** The losses handled here: those whose candidates come from the symmetric matrix S. */
export type PairwiseLossName = 'ntxent' | 'dcl' | 'dclw' | 'flatnce';

/** The positive of anchor `a` among `2n` anchors: `p(a) = (a + N) mod 2N`. */
export function positiveOf(a: number, n: number): number {
  return (a + n) % (2 * n);
}

/**
 * Whether `b` is a negative of `a`: `b ≠ a` and `b ≠ p(a)`; with `negatives: 'cross'` also `b`
 * in the other view (`⌊a/N⌋ ≠ ⌊b/N⌋`). Both relations are symmetric.
 */
export function isNegative(a: number, b: number, n: number, negatives: NegativesMode = 'all'): boolean {
  if (negatives === 'cross' && (a < n) === (b < n)) return false;
  return b !== a && b !== positiveOf(a, n);
}

/** Row `a` of `S = U Uᵀ / τ`, written into `out` (length 2N) and returned. */
export function similarityRow(u: Float64Array, a: number, n: number, d: number, temperature: number, out: Float64Array): Float64Array {
  for (let b = 0; b < 2 * n; b++) out[b] = rowDot(u, a, u, b, d) / temperature;
  return out;
}

/**
 * Per-anchor statistics of S (2N anchors, {@link AnchorStats}) with a max-shifted log-sum-exp
 * and the softmax expectation of S per anchor, over the candidate set `negatives`.
 */
export function pairwiseStats(u: Float64Array, n: number, d: number, temperature: number, negatives: NegativesMode = 'all'): AnchorStats {
  const lse = new Float64Array(2 * n);
  const expectedS = new Float64Array(2 * n);
  const sPos = new Float64Array(n);
  const row = new Float64Array(2 * n);
  for (let a = 0; a < 2 * n; a++) {
    similarityRow(u, a, n, d, temperature, row);
    const keep = (b: number) => isNegative(a, b, n, negatives);
    lse[a] = logSumExp(row, keep);
    expectedS[a] = expectationUnderSoftmax(row, lse[a], keep);
    if (a < n) sPos[a] = row[a + n];
  }
  return { lse, sPos, expectedS };
}

/** DCLW weights and the softmax they come from. */
export interface DclwWeights {
  /** `w_i = 2 − N·π_i`, length N; mean exactly 1 (up to rounding), may be negative. */
  weights: Float64Array;
  /** `π = softmax(r)`, `r_i = u1_i·u2_i / σ`, length N. */
  softmax: Float64Array;
}

/** The negative von Mises-Fisher weights of DCLW (docs/FORMULAS.md), from the normalized views. */
export function dclwWeights(u: Float64Array, n: number, d: number, sigma: number): DclwWeights {
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = rowDot(u, i, u, i + n, d) / sigma;
  const lseR = logSumExp(r);
  const softmax = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    softmax[i] = Math.exp(r[i] - lseR);
    weights[i] = 2 - n * softmax[i];
  }
  return { weights, softmax };
}

/**
 * `ℓ_a`, `c_a` and `β_a` ({@link AnchorTerms}) for every anchor of `stats` (2N in-batch
 * anchors, or the N anchors of the bank form; anchor `a` uses `s⁺_{a mod N}`), by docs/FORMULAS.md's
 * loss table and backward table.
 * `weights` is required for `dclw` (detached here: β_a = w_{a mod N}) and ignored otherwise.
 * For `flatnce` the value is NT-Xent's and the coefficients are DCL's (c = β = 1).
 */
export function anchorTerms(loss: PairwiseLossName, stats: AnchorStats, n: number, weights?: Float64Array): AnchorTerms {
  if (loss === 'dclw' && !weights) throw new Error('anchorTerms: dclw needs its weights');
  const anchors = stats.lse.length;
  const perAnchor = new Float64Array(anchors);
  const c = new Float64Array(anchors);
  const beta = new Float64Array(anchors);
  for (let a = 0; a < anchors; a++) {
    const i = a % n;
    const lse = stats.lse[a];
    const sPos = stats.sPos[i];
    switch (loss) {
      case 'ntxent': {
        perAnchor[a] = softplus(lse - sPos);
        c[a] = beta[a] = sigmoid(lse - sPos);
        break;
      }
      case 'dcl': {
        perAnchor[a] = lse - sPos;
        c[a] = beta[a] = 1;
        break;
      }
      case 'dclw': {
        const w = weights![i];
        perAnchor[a] = lse - w * sPos;
        c[a] = 1;
        beta[a] = w;
        break;
      }
      case 'flatnce': {
        perAnchor[a] = softplus(lse - sPos); // reported value: NT-Xent
        c[a] = beta[a] = 1; // gradient: DCL
        break;
      }
    }
  }
  return { perAnchor, c, beta };
}

/**
 * `∂L/∂U` for `L = (1/2N) Σ_a ℓ_a(lse_a, s⁺_a)`, by docs/FORMULAS.md's row formula
 *
 *     gU_k = 1/(2Nτ) · [ Σ_{b∈neg(k)} (c_k e^{S_kb − lse_k} + c_b e^{S_kb − lse_b}) U_b
 *                        − (β_k + β_{p(k)}) U_{p(k)} ]
 *
 * i.e. `(G + Gᵀ) U / τ` with `G = ∂L/∂S`: `G_kb = c_k softmax_k(b)/2N` on negatives and
 * `−β_k/2N` at the positive; the transpose appears because S_kb and S_bk are one entry.
 */
export function pairwiseBackward(
  u: Float64Array,
  n: number,
  d: number,
  temperature: number,
  stats: AnchorStats,
  c: Float64Array,
  beta: Float64Array,
  negatives: NegativesMode = 'all',
): Float64Array {
  const gradU = new Float64Array(2 * n * d);
  const scale = 1 / (2 * n * temperature);
  const row = new Float64Array(2 * n);
  for (let k = 0; k < 2 * n; k++) {
    similarityRow(u, k, n, d, temperature, row);
    for (let b = 0; b < 2 * n; b++) {
      if (!isNegative(k, b, n, negatives)) continue;
      const coeff = c[k] * Math.exp(row[b] - stats.lse[k]) + c[b] * Math.exp(row[b] - stats.lse[b]);
      addScaledRow(gradU, k, scale * coeff, u, b, d);
    }
    const p = positiveOf(k, n);
    addScaledRow(gradU, k, -scale * (beta[k] + beta[p]), u, p, d);
  }
  return gradU;
}

/**
 * Add DCLW's weight-gradient term (`weightGrad: true`) to `gradU`. With `L = (1/2N) Σ_a ℓ_a`
 * each `s⁺_i` enters two anchors (`i` and `i+N`) as `−w_i s⁺_i`, so `∂L/∂w_i = −s⁺_i / N`;
 * through `w_i = 2 − N π_i` and `∂π_i/∂r_j = π_i(δ_ij − π_j)` the factors N cancel:
 *
 *     ∂L/∂r_j = π_j (s⁺_j − Σ_i π_i s⁺_i)        (exactly docs/FORMULAS.md's term, no extra factor)
 *
 * then `∂r_j/∂u1_j = u2_j/σ` and `∂r_j/∂u2_j = u1_j/σ`.
 */
export function addDclwWeightGrad(
  gradU: Float64Array,
  u: Float64Array,
  n: number,
  d: number,
  sigma: number,
  sPos: Float64Array,
  softmax: Float64Array,
): void {
  let weightedMean = 0;
  for (let i = 0; i < n; i++) weightedMean += softmax[i] * sPos[i];
  for (let j = 0; j < n; j++) {
    const dLdr = softmax[j] * (sPos[j] - weightedMean);
    addScaledRow(gradU, j, dLdr / sigma, u, j + n, d); // ∂/∂u1_j
    addScaledRow(gradU, j + n, dLdr / sigma, u, j, d); // ∂/∂u2_j
  }
}

/** Options the pairwise losses read (already resolved and validated). */
export interface PairwiseOptions {
  /** Which loss. */
  loss: PairwiseLossName;
  /** Temperature τ. */
  temperature: number;
  /** DCLW σ. */
  sigma: number;
  /** DCLW: gradient through the weights. */
  weightGrad: boolean;
  /** The candidate set. */
  negatives: NegativesMode;
}

/** Everything the pairwise forward+backward produces, in terms of the normalized `U`. */
export interface PairwiseResult extends AnchorTerms {
  /** The 2N anchors' statistics. */
  stats: AnchorStats;
  /** `∂L/∂U`, 2N×D (to be pulled back through the normalization by the caller). */
  gradU: Float64Array;
  /** DCLW weights, length N (dclw only). */
  weights?: Float64Array;
}

/** Forward and analytic backward of a pairwise loss on the stacked normalized views `u`. */
export function pairwiseLoss(u: Float64Array, n: number, d: number, options: PairwiseOptions): PairwiseResult {
  const stats = pairwiseStats(u, n, d, options.temperature, options.negatives);
  const dclw = options.loss === 'dclw' ? dclwWeights(u, n, d, options.sigma) : undefined;
  const terms = anchorTerms(options.loss, stats, n, dclw?.weights);
  const gradU = pairwiseBackward(u, n, d, options.temperature, stats, terms.c, terms.beta, options.negatives);
  if (dclw && options.weightGrad) addDclwWeightGrad(gradU, u, n, d, options.sigma, stats.sPos, dclw.softmax);
  return { ...terms, stats, gradU, ...(dclw ? { weights: dclw.weights } : {}) };
}

/**
 * Forward only: the per-anchor values `ℓ_a`. For `dclw`, `frozenWeights` (if given) replaces
 * the weights computed from `u` — the function whose gradient the detached DCLW reports.
 */
export function pairwisePerAnchor(
  u: Float64Array,
  n: number,
  d: number,
  options: Omit<PairwiseOptions, 'weightGrad'>,
  frozenWeights?: Float64Array,
): Float64Array {
  const stats = pairwiseStats(u, n, d, options.temperature, options.negatives);
  const weights = options.loss === 'dclw' ? (frozenWeights ?? dclwWeights(u, n, d, options.sigma).weights) : undefined;
  return anchorTerms(options.loss, stats, n, weights).perAnchor;
}
