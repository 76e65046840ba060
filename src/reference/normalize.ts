/**
 * Row L2-normalization `u_i = z_i / max(|z_i|, 1e-12)` and its backward pass (docs/FORMULAS.md,
 * "Notation" and "Through the normalization").
 */

/** Smallest divisor used by the normalization: rows with |z| below it are divided by it. */
export const NORM_EPS = 1e-12;

/** Normalized rows plus what the backward pass needs. */
export interface NormalizedRows {
  /** The normalized rows `u`, flat row-major, `rows × d`. */
  u: Float64Array;
  /** The raw Euclidean norm `|z_i|` of each input row (before the `max` with {@link NORM_EPS}). */
  norms: Float64Array;
}

/** L2-normalize each of the `rows` rows of the flat row-major `z` (`d` columns), in float64. */
export function normalizeRows(z: ArrayLike<number>, rows: number, d: number): NormalizedRows {
  const u = new Float64Array(rows * d);
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let sq = 0;
    for (let k = 0; k < d; k++) sq += z[i * d + k] * z[i * d + k];
    const norm = Math.sqrt(sq);
    norms[i] = norm;
    const divisor = Math.max(norm, NORM_EPS);
    for (let k = 0; k < d; k++) u[i * d + k] = z[i * d + k] / divisor;
  }
  return { u, norms };
}

/**
 * Backward of {@link normalizeRows}: given `gu = ∂L/∂u`, return `∂L/∂z`, row by row
 * `gz_i = (gu_i − u_i (u_i · gu_i)) / |z_i|`. When `|z_i| < 1e-12` the map is the linear
 * `z_i / 1e-12`, so its gradient is `gu_i / 1e-12` with no projection.
 */
export function normalizeRowsBackward(gu: Float64Array, normalized: NormalizedRows, rows: number, d: number): Float64Array {
  const { u, norms } = normalized;
  const gz = new Float64Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const base = i * d;
    if (norms[i] < NORM_EPS) {
      for (let k = 0; k < d; k++) gz[base + k] = gu[base + k] / NORM_EPS;
      continue;
    }
    let radial = 0;
    for (let k = 0; k < d; k++) radial += u[base + k] * gu[base + k];
    for (let k = 0; k < d; k++) gz[base + k] = (gu[base + k] - u[base + k] * radial) / norms[i];
  }
  return gz;
}
