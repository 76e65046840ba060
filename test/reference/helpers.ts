/**
 * Shared helpers for the reference tests: a seeded RNG (fresh seed per run, printed, and
 * overridable with REF_SEED=<n> to reproduce a failure), input generators, central finite
 * differences and a naive forward written straight from MATH.md with full matrices.
 */

import type { LossName } from '../../src/options.js';
import { gaussian, mulberry32 } from '../../src/random.js';

/** A uniform [0,1) generator and a standard normal built on it. */
export interface Rng {
  seed: number;
  uniform(): number;
  gaussian(): number;
}

/** The package's seeded generator (src/random.ts) with a normal draw: good enough for test inputs. */
export function makeRng(seed: number): Rng {
  const uniform = mulberry32(seed);
  return { seed, uniform, gaussian: () => gaussian(uniform) };
}

/** A fresh RNG for this test file: seed from `envVar` (REF_SEED) if set, else random; printed either way. */
export function freshRng(file: string, envVar = 'REF_SEED'): Rng {
  const env = process.env[envVar];
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;
  console.log(`[${file}] random seed ${seed} (reproduce with ${envVar}=${seed})`);
  return makeRng(seed);
}

/** The input families the gradient tests sweep. */
export type InputKind = 'gaussian' | 'nearDuplicate' | 'mixedNorms';
/** Every {@link InputKind}. */
export const INPUT_KINDS: readonly InputKind[] = ['gaussian', 'nearDuplicate', 'mixedNorms'];

/**
 * Two N×D views: `gaussian` (independent standard normals), `nearDuplicate` (z2 = z1 + 1e-3
 * noise) or `mixedNorms` (independent, each row scaled by 10^U(−2, 2)).
 */
export function makeViews(kind: InputKind, n: number, d: number, rng: Rng): { z1: Float64Array; z2: Float64Array } {
  const z1 = new Float64Array(n * d).map(() => rng.gaussian());
  const z2 =
    kind === 'nearDuplicate'
      ? z1.map((v) => v + 1e-3 * rng.gaussian())
      : new Float64Array(n * d).map(() => rng.gaussian());
  if (kind === 'mixedNorms') {
    for (const z of [z1, z2]) {
      for (let i = 0; i < n; i++) {
        const scale = 10 ** (4 * rng.uniform() - 2);
        for (let k = 0; k < d; k++) z[i * d + k] *= scale;
      }
    }
  }
  return { z1, z2 };
}

/**
 * Central finite differences of `f(z1, z2)` w.r.t. every entry of both views. The step for
 * an entry of row i is `relStep · |z_i|`: the loss depends on z only through z/|z|, so its
 * derivatives scale like 1/|z| and the step must scale like |z| to keep the same accuracy
 * across rows whose norms differ by 10⁴. The default 1e-5 balances rounding noise
 * (~ε·|L|/h) against the O(h²/τ³) truncation error: measured relative errors are ~1e-8 for
 * τ ∈ [0.05, 1], while 1e-6 is noise-dominated (~1e-7) and 1e-4 truncation-dominated (~5e-7).
 */
export function finiteDifferences(
  f: (z1: Float64Array, z2: Float64Array) => number,
  z1: Float64Array,
  z2: Float64Array,
  n: number,
  d: number,
  relStep = 1e-5,
): { gradZ1: Float64Array; gradZ2: Float64Array } {
  const a = z1.slice();
  const b = z2.slice();
  const grads = [new Float64Array(n * d), new Float64Array(n * d)];
  [a, b].forEach((z, v) => {
    for (let i = 0; i < n; i++) {
      let sq = 0;
      for (let k = 0; k < d; k++) sq += z[i * d + k] ** 2;
      const h = relStep * Math.sqrt(sq);
      for (let k = 0; k < d; k++) {
        const idx = i * d + k;
        const saved = z[idx];
        z[idx] = saved + h;
        const plus = f(a, b);
        z[idx] = saved - h;
        const minus = f(a, b);
        z[idx] = saved;
        grads[v][idx] = (plus - minus) / (2 * h);
      }
    }
  });
  return { gradZ1: grads[0], gradZ2: grads[1] };
}

/** Euclidean norm of the concatenation of the given vectors. */
export function norm(...xs: ArrayLike<number>[]): number {
  let s = 0;
  for (const x of xs) for (let k = 0; k < x.length; k++) s += x[k] * x[k];
  return Math.sqrt(s);
}

/** ‖(a1,a2) − (b1,b2)‖. */
export function distance(a1: ArrayLike<number>, a2: ArrayLike<number>, b1: ArrayLike<number>, b2: ArrayLike<number>): number {
  let s = 0;
  for (const [x, y] of [[a1, b1], [a2, b2]] as const) for (let k = 0; k < x.length; k++) s += (x[k] - y[k]) ** 2;
  return Math.sqrt(s);
}

/**
 * Naive forward of every loss, straight from MATH.md with full matrices and unshifted
 * exponentials (fine in float64 for τ ≥ 0.05): an independent check of the reference values.
 * Returns the per-anchor losses (same order as the reference).
 */
export function naivePerAnchor(
  z1: ArrayLike<number>,
  z2: ArrayLike<number>,
  n: number,
  d: number,
  loss: LossName,
  tau: number,
  sigma = 0.5,
  m = 10,
): number[] {
  const rows = (z: ArrayLike<number>) =>
    Array.from({ length: n }, (_, i) => {
      const r = Array.from({ length: d }, (_, k) => z[i * d + k]);
      const len = Math.max(Math.hypot(...r), 1e-12);
      return r.map((v) => v / len);
    });
  const dot = (x: number[], y: number[]) => x.reduce((s, v, k) => s + v * y[k], 0);
  const u1 = rows(z1);
  const u2 = rows(z2);
  if (loss === 'dualtemp') {
    const A = u1.map((x) => u2.map((y) => dot(x, y)));
    // 1 − P_ii as the sum of the negatives' probabilities and −log P_ii as
    // log1p(Σ_{j≠i} e^{(A_ij − A_ii)/τ}): near-duplicate views make P_ii ≈ 1, where `1 − P`
    // and `−log P` would lose most digits.
    const offDiagonalMass = (row: number[], i: number, t: number) =>
      row.reduce((s, a, j) => s + (j === i ? 0 : Math.exp(a / t)), 0) / row.reduce((s, a) => s + Math.exp(a / t), 0);
    const direction = (M: number[][]) =>
      M.map((row, i) => {
        const negLogP = Math.log1p(row.reduce((s, a, j) => s + (j === i ? 0 : Math.exp((a - row[i]) / tau)), 0));
        return (offDiagonalMass(row, i, tau * m) / offDiagonalMass(row, i, tau)) * negLogP;
      });
    const At = A[0].map((_, j) => A.map((row) => row[j]));
    return [...direction(A), ...direction(At)];
  }
  const U = [...u1, ...u2];
  const S = U.map((x) => U.map((y) => dot(x, y) / tau));
  const r = u1.map((x, i) => dot(x, u2[i]) / sigma);
  const rSum = r.reduce((s, v) => s + Math.exp(v), 0);
  const w = r.map((v) => 2 - (n * Math.exp(v)) / rSum);
  return U.map((_, a) => {
    const p = (a + n) % (2 * n);
    let negSum = 0;
    for (let b = 0; b < 2 * n; b++) if (b !== a && b !== p) negSum += Math.exp(S[a][b]);
    const sPos = S[a][p];
    switch (loss) {
      case 'ntxent':
      case 'flatnce':
        return Math.log(Math.exp(sPos) + negSum) - sPos;
      case 'dcl':
        return Math.log(negSum) - sPos;
      case 'dclw':
        return Math.log(negSum) - w[a % n] * sPos;
      default:
        throw new Error(`naivePerAnchor: ${loss} has its own naive forms (naiveSupCon, naiveSigLip)`);
    }
  });
}

/**
 * A K×D bank (Float64Array) of any norm: half its rows Gaussian with norms 10^U(−1, 1), half
 * near a row of `near` (if given; the keys of a MoCo queue resemble the current anchors), so
 * that some bank logits compete with the positive.
 */
export function makeBank(k: number, d: number, rng: Rng, near?: ArrayLike<number>): Float64Array {
  const bank = new Float64Array(k * d);
  const nearRows = near ? near.length / d : 0;
  for (let j = 0; j < k; j++) {
    const scale = 10 ** (2 * rng.uniform() - 1);
    const src = nearRows > 0 && j % 2 === 1 ? Math.floor(rng.uniform() * nearRows) : -1;
    for (let c = 0; c < d; c++) {
      bank[j * d + c] = src >= 0 ? scale * (near![src * d + c] + 0.3 * rng.gaussian()) : scale * rng.gaussian();
    }
  }
  return bank;
}

/** Rows of `z` (N×D) L2-normalized as plain arrays, for the naive forms. */
function unitRows(z: ArrayLike<number>, n: number, d: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const r = Array.from({ length: d }, (_, k) => z[i * d + k]);
    const len = Math.max(Math.hypot(...r), 1e-12);
    return r.map((v) => v / len);
  });
}

/**
 * SupCon's loss as SupContrast's `SupConLoss` computes it (contrast_mode 'all'), with full
 * 2N×2N matrices: logits shifted by their row max, the self-contrast mask, `log_prob =
 * logits − log Σ exp(logits)·mask`, the mean over positives, then `−(τ/τ_base)·mean`. An
 * independent check of the reference's value (float64; fine for τ ≥ 0.05).
 */
export function naiveSupCon(z1: ArrayLike<number>, z2: ArrayLike<number>, labels: ArrayLike<number>, n: number, d: number, tau: number, baseTau: number): number {
  const features = [...unitRows(z1, n, d), ...unitRows(z2, n, d)];
  const y = [...Array.from(labels), ...Array.from(labels)];
  let total = 0;
  for (let a = 0; a < 2 * n; a++) {
    const logits = features.map((f) => f.reduce((s, v, k) => s + v * features[a][k], 0) / tau);
    const max = Math.max(...logits);
    const shifted = logits.map((l) => l - max);
    const denominator = shifted.reduce((s, l, b) => s + (b === a ? 0 : Math.exp(l)), 0);
    let positives = 0;
    let logProbSum = 0;
    for (let b = 0; b < 2 * n; b++) {
      if (b === a || y[b] !== y[a]) continue;
      positives++;
      logProbSum += shifted[b] - Math.log(denominator);
    }
    total += -(tau / baseTau) * (logProbSum / positives);
  }
  return total / (2 * n);
}

/**
 * SigLIP's loss as open_clip's `SigLipLoss` computes it: `logits = scale · u1 u2ᵀ + bias`,
 * labels `2·I − 1`, `−Σ log σ(labels · logits) / N`, with `log σ(x)` as `−log(1 + e^{−x})`
 * written plainly (fine in float64 for |x| ≲ 700).
 */
export function naiveSigLip(z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number, tau: number, bias: number): number {
  const u1 = unitRows(z1, n, d);
  const u2 = unitRows(z2, n, d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const logit = u1[i].reduce((s, v, k) => s + v * u2[j][k], 0) / tau + bias;
      const label = i === j ? 1 : -1;
      total += -Math.log(1 / (1 + Math.exp(-label * logit)));
    }
  }
  return total / n;
}
