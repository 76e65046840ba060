/**
 * The batch diagnostics of docs/FORMULAS.md that do not come from the loss's own softmax: Wang & Isola's
 * alignment (α = 2) and uniformity (t = 2), on the normalized views. (positiveProbability and
 * npcMultiplier come from the anchor statistics: terms.ts.)
 */

import { logSumExp } from './numerics.js';

/** `‖x_i − y_j‖²` for rows of two flat row-major arrays with `d` columns (any norm). */
function squaredDistance(x: Float64Array, i: number, y: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += (x[i * d + k] - y[j * d + k]) ** 2;
  return s;
}

/** `mean_i ‖u1_i − u2_i‖²`. */
export function alignment(u1: Float64Array, u2: Float64Array, n: number, d: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += squaredDistance(u1, i, u2, i, d);
  return s / n;
}

/**
 * `log( (1/(N(N−1))) Σ_{i≠j} e^{−2‖v_i − v_j‖²} )` for one view, by a log-sum-exp over the
 * N(N−1) ordered pairs (it is −8 at best for unit rows and would underflow a plain sum only for
 * much more spread rows, but the LSE costs nothing). NaN for N = 1: there is no pair.
 */
export function viewUniformity(v: Float64Array, n: number, d: number): number {
  if (n < 2) return NaN;
  const exponents = new Float64Array(n * (n - 1));
  let t = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) exponents[t++] = -2 * squaredDistance(v, i, v, j, d);
  return logSumExp(exponents) - Math.log(n * (n - 1));
}

/** `½ (uniformity(u1) + uniformity(u2))`. */
export function uniformity(u1: Float64Array, u2: Float64Array, n: number, d: number): number {
  return 0.5 * (viewUniformity(u1, n, d) + viewUniformity(u2, n, d));
}
