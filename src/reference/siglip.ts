/**
 * The pairwise sigmoid loss (docs/FORMULAS.md "SupCon and SigLIP", `siglip`; Zhai et al. 2023, open_clip
 * `SigLipLoss`): `z1` is one tower, `z2` the other, and every pair (i, j) of the N×N grid is a
 * binary problem with logit `l_ij = u1_i·u2_j/τ + b` and label `z_ij = +1` if i = j else −1:
 *
 *     L = −(1/N) Σ_{i,j} log σ(z_ij l_ij) = (1/N) Σ_{i,j} softplus(−z_ij l_ij).
 *
 * No log-sum-exp and no second direction. Backward with `G_ij = ∂L/∂l_ij = −(1/N) z_ij σ(−z_ij l_ij)`:
 * `gu1_i = (1/τ) Σ_j G_ij u2_j`, `gu2_j = (1/τ) Σ_i G_ij u1_i`, `∂L/∂τ = −(1/τ) Σ G_ij (l_ij − b)`,
 * `∂L/∂b = Σ G_ij`. Rows of the logits are recomputed (O(N) scratch), never stored whole.
 */

import { addScaledRow, rowDot, sigmoid, softplus } from './numerics.js';

/** Everything SigLIP's forward and backward produce, in terms of the normalized views. */
export interface SigLipResult {
  /** `Σ_j softplus(−z_ij l_ij)` per row i of u1 (length N): the loss is their mean. */
  perAnchor: Float64Array;
  /** `∂L/∂u1`, N×D. */
  gradU1: Float64Array;
  /** `∂L/∂u2`, N×D. */
  gradU2: Float64Array;
  /** `∂L/∂τ`. */
  gradTemperature: number;
  /** `∂L/∂b`. */
  gradBias: number;
}

/** Row i of the logits, `l_ij = u1_i·u2_j/τ + b`, written into `out` (length N). */
function logitRow(u1: Float64Array, u2: Float64Array, i: number, n: number, d: number, temperature: number, bias: number, out: Float64Array): Float64Array {
  for (let j = 0; j < n; j++) out[j] = rowDot(u1, i, u2, j, d) / temperature + bias;
  return out;
}

/** Forward only: the per-row sums of `softplus(−z_ij l_ij)` (what finite differences evaluate). */
export function sigLipPerAnchor(u1: Float64Array, u2: Float64Array, n: number, d: number, temperature: number, bias: number): Float64Array {
  const perAnchor = new Float64Array(n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    logitRow(u1, u2, i, n, d, temperature, bias, row);
    let s = 0;
    for (let j = 0; j < n; j++) s += softplus(i === j ? -row[j]! : row[j]!);
    perAnchor[i] = s;
  }
  return perAnchor;
}

/** Forward and analytic backward of SigLIP on the normalized views `u1`, `u2` (N×D each). */
export function sigLipLoss(u1: Float64Array, u2: Float64Array, n: number, d: number, temperature: number, bias: number): SigLipResult {
  const perAnchor = new Float64Array(n);
  const gradU1 = new Float64Array(n * d);
  const gradU2 = new Float64Array(n * d);
  const row = new Float64Array(n);
  let gradBias = 0;
  let gradLogitScale = 0; // Σ G_ij (l_ij − b) = τ Σ G_ij ∂l_ij/∂(1/τ)
  for (let i = 0; i < n; i++) {
    logitRow(u1, u2, i, n, d, temperature, bias, row);
    let s = 0;
    for (let j = 0; j < n; j++) {
      const sign = i === j ? 1 : -1;
      const l = row[j]!;
      s += softplus(-sign * l);
      const g = (-sign * sigmoid(-sign * l)) / n;
      gradBias += g;
      gradLogitScale += g * (l - bias);
      addScaledRow(gradU1, i, g / temperature, u2, j, d);
      addScaledRow(gradU2, j, g / temperature, u1, i, d);
    }
    perAnchor[i] = s;
  }
  return { perAnchor, gradU1, gradU2, gradTemperature: -gradLogitScale / temperature, gradBias };
}
