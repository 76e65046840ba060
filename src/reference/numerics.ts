/**
 * Small float64 numerics shared by the reference losses: row dot products and the stable
 * forms of log-sum-exp, softplus and the sigmoid. Nothing here is clever; it only has to be
 * right for every finite input, including |x| in the thousands (τ = 1e-3).
 */

/** Dot product of row `i` of `a` with row `j` of `b`, both flat row-major with `d` columns. */
export function rowDot(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  const ai = i * d;
  const bj = j * d;
  for (let k = 0; k < d; k++) s += a[ai + k] * b[bj + k];
  return s;
}

/**
 * Add `scale · b[j,:]` to `out[i,:]` (rows of `d` values, flat row-major): the one
 * "axpy" every backward pass is made of.
 */
export function addScaledRow(out: Float64Array, i: number, scale: number, b: Float64Array, j: number, d: number): void {
  if (scale === 0) return;
  const oi = i * d;
  const bj = j * d;
  for (let k = 0; k < d; k++) out[oi + k] += scale * b[bj + k];
}

/**
 * `log Σ_{k : keep(k)} exp(x[k])`, shifted by the largest kept value so that nothing
 * overflows. Returns `-Infinity` when no entry is kept (an empty sum).
 */
export function logSumExp(x: ArrayLike<number>, keep: (k: number) => boolean = () => true): number {
  let max = -Infinity;
  for (let k = 0; k < x.length; k++) if (keep(k) && x[k] > max) max = x[k];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let k = 0; k < x.length; k++) if (keep(k)) sum += Math.exp(x[k] - max);
  return max + Math.log(sum);
}

/** `softplus(x) = log(1 + exp(x))`, stable for large |x|. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Logistic sigmoid `1 / (1 + exp(−x))`, stable for large |x| (the derivative of softplus). */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Arithmetic mean of the entries of `x` (plain left-to-right sum; x is short). */
export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < x.length; k++) s += x[k];
  return s / x.length;
}

/**
 * `Σ_{k : keep(k)} softmax(x)_k · x_k`, the mean of the kept `x` under their own softmax, given
 * their log-sum-exp `lse` (from {@link logSumExp}). This is what ∂lse/∂τ needs: with `x = C/τ`,
 * `∂lse/∂τ = −(1/τ) Σ softmax·x`. Returns 0 for an empty set.
 */
export function expectationUnderSoftmax(x: ArrayLike<number>, lse: number, keep: (k: number) => boolean = () => true): number {
  if (lse === -Infinity) return 0;
  let s = 0;
  for (let k = 0; k < x.length; k++) if (keep(k)) s += Math.exp(x[k] - lse) * x[k];
  return s;
}
