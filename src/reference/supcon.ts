/**
 * Supervised contrastive loss (docs/FORMULAS.md "SupCon and SigLIP", `supcon`; Khosla et al. 2020, SupContrast
 * `SupConLoss` with contrast_mode 'all'), on the stacked normalized views `U = [u1; u2]` (2N×D).
 *
 * Every row `a` is an anchor; its positives are `P(a) = { b ≠ a : y_b = y_a }` (the other view
 * of the same sample is always one), its denominator every `b ≠ a`:
 *
 *     lse_a = log Σ_{b≠a} exp(S_ab),   ℓ_a = lse_a − (1/|P(a)|) Σ_{b∈P(a)} S_ab,
 *     L = (τ/τ_base) · (1/2N) Σ_a ℓ_a.
 *
 * Backward with `π_ab = e^{S_ab − lse_a}` and `ρ_ab = [b∈P(a)]/|P(a)|`: `∂L/∂S_ab = κ/(2N)·(π_ab − ρ_ab)`
 * (κ = τ/τ_base), and S symmetric gives `gU_k = κ/(2Nτ) Σ_{b≠k} (π_kb − ρ_kb + π_bk − ρ_bk) U_b`.
 * Both halves are recomputed from `lse` (2N floats) and the positive counts (2N integers): O(N)
 * scratch, S never stored.
 */

import { addScaledRow, expectationUnderSoftmax, logSumExp } from './numerics.js';
import { similarityRow } from './pairwise.js';

/** SupCon's per-anchor statistics. */
export interface SupConStats {
  /** `lse_a = log Σ_{b≠a} exp(S_ab)`, length 2N (positives included). */
  lse: Float64Array;
  /** `|P(a)|`, the number of same-label rows other than `a` (≥ 1), length 2N. */
  positiveCounts: Int32Array;
  /** `(1/|P(a)|) Σ_{b∈P(a)} S_ab`, the positives' mean logit, length 2N. */
  positiveMean: Float64Array;
  /** `Σ_{b≠a} π_ab S_ab`, the denominator's mean logit under the anchor's softmax (for ∂L/∂τ). */
  expectedS: Float64Array;
}

/** The label of stacked row `a` (both views share sample `a mod N`'s label). */
const labelOf = (labels: Int32Array, a: number, n: number) => labels[a % n]!;

/** `|P(a)|` for every stacked row: `2·(samples with a's label) − 1`, from one count per label. */
export function positiveCounts(labels: Int32Array, n: number): Int32Array {
  const perLabel = new Map<number, number>();
  for (let i = 0; i < n; i++) perLabel.set(labels[i]!, (perLabel.get(labels[i]!) ?? 0) + 1);
  const counts = new Int32Array(2 * n);
  for (let a = 0; a < 2 * n; a++) counts[a] = 2 * perLabel.get(labelOf(labels, a, n))! - 1;
  return counts;
}

/** Forward statistics of every anchor, one row of S at a time. */
export function supConStats(u: Float64Array, labels: Int32Array, n: number, d: number, temperature: number): SupConStats {
  const lse = new Float64Array(2 * n);
  const positiveMean = new Float64Array(2 * n);
  const expectedS = new Float64Array(2 * n);
  const counts = positiveCounts(labels, n);
  const row = new Float64Array(2 * n);
  for (let a = 0; a < 2 * n; a++) {
    similarityRow(u, a, n, d, temperature, row);
    const notSelf = (b: number) => b !== a;
    lse[a] = logSumExp(row, notSelf);
    expectedS[a] = expectationUnderSoftmax(row, lse[a]!, notSelf);
    let sum = 0;
    for (let b = 0; b < 2 * n; b++) if (b !== a && labelOf(labels, b, n) === labelOf(labels, a, n)) sum += row[b]!;
    positiveMean[a] = sum / counts[a]!;
  }
  return { lse, positiveCounts: counts, positiveMean, expectedS };
}

/** Everything SupCon's forward and backward produce, in terms of the normalized `U`. */
export interface SupConResult {
  stats: SupConStats;
  /** `κ·ℓ_a` (κ = τ/τ_base), length 2N, so that the reported loss is their mean. */
  perAnchor: Float64Array;
  /** `∂L/∂U`, 2N×D. */
  gradU: Float64Array;
  /** `∂L/∂τ` of the reported loss (the factor κ included, τ_base constant). */
  gradTemperature: number;
}

/** The per-anchor values `κ·ℓ_a` from the statistics. */
function scaledPerAnchor(stats: SupConStats, scale: number): Float64Array {
  return stats.lse.map((lse, a) => scale * (lse - stats.positiveMean[a]!));
}

/** Forward only: `κ·ℓ_a` per anchor (what finite differences evaluate). */
export function supConPerAnchor(u: Float64Array, labels: Int32Array, n: number, d: number, temperature: number, baseTemperature: number): Float64Array {
  return scaledPerAnchor(supConStats(u, labels, n, d, temperature), temperature / baseTemperature);
}

/** Forward and analytic backward of SupCon on the stacked normalized views `u` (labels already validated). */
export function supConLoss(u: Float64Array, labels: Int32Array, n: number, d: number, temperature: number, baseTemperature: number): SupConResult {
  const kappa = temperature / baseTemperature;
  const stats = supConStats(u, labels, n, d, temperature);
  const perAnchor = scaledPerAnchor(stats, kappa);
  const gradU = new Float64Array(2 * n * d);
  const scale = kappa / (2 * n * temperature);
  const row = new Float64Array(2 * n);
  for (let k = 0; k < 2 * n; k++) {
    similarityRow(u, k, n, d, temperature, row);
    for (let b = 0; b < 2 * n; b++) {
      if (b === k) continue;
      const same = labelOf(labels, b, n) === labelOf(labels, k, n);
      // S_kb = S_bk: anchor k's softmax term and anchor b's, minus both positive weights.
      let coeff = Math.exp(row[b]! - stats.lse[k]!) + Math.exp(row[b]! - stats.lse[b]!);
      if (same) coeff -= 1 / stats.positiveCounts[k]! + 1 / stats.positiveCounts[b]!;
      addScaledRow(gradU, k, scale * coeff, u, b, d);
    }
  }
  // ∂L/∂τ = L/τ − κ/(2Nτ) Σ_a [Σ_{b≠a} π_ab S_ab − (1/|P(a)|) Σ_{b∈P(a)} S_ab]  (docs/FORMULAS.md).
  let loss = 0;
  let expectationGap = 0;
  for (let a = 0; a < 2 * n; a++) {
    loss += perAnchor[a]!;
    expectationGap += stats.expectedS[a]! - stats.positiveMean[a]!;
  }
  loss /= 2 * n;
  const gradTemperature = loss / temperature - (kappa / (2 * n * temperature)) * expectationGap;
  return { stats, perAnchor, gradU, gradTemperature };
}
