/**
 * Float64 CPU reference for every loss of docs/FORMULAS.md: the values and gradients every GPU result
 * is judged against. Straight loops, O(N²·D) time (O(N·K·D) with a bank), O((N+K)·D) memory;
 * the backward passes are written analytically from docs/FORMULAS.md's rules (and checked against
 * finite differences in `test/reference`).
 */
/// <reference types="@webgpu/types" preserve="true" />

import { isGpuBank, isGpuLabels, resolveOptions, type Diagnostics, type FusedLossName, type LossOptions, type ResolvedLossOptions } from '../options.js';
import { checkLabels, checkViews } from '../validate.js';
import { bankLoss, bankPerAnchor, type BankProblem } from './bank.js';
import { alignment, uniformity } from './diagnostics.js';
import { dualTempLoss, dualTempPerAnchor } from './dualtemp.js';
import { NORM_EPS, normalizeRows, normalizeRowsBackward, type NormalizedRows } from './normalize.js';
import { mean } from './numerics.js';
import { pairwiseLoss, pairwisePerAnchor } from './pairwise.js';
import { sigLipLoss, sigLipPerAnchor } from './siglip.js';
import { supConLoss, supConPerAnchor } from './supcon.js';
import { positiveProbabilities, temperatureGradient, type AnchorStats } from './terms.js';

/** Re-exported so that callers of the reference need only this module. */
export type { BankInput, Diagnostics, LabelsInput, LossName, LossOptions, NegativesMode } from '../options.js';

/**
 * What {@link referenceLoss} returns. Anchors `0..N−1` are the rows of z1, `N..2N−1` those of
 * z2; in bank form (`options.bank`) there are only the N anchors of z1.
 */
export interface ReferenceResult {
  /** The reported mean loss `L = mean(perAnchor)`. For `flatnce`, the NT-Xent value (docs/FORMULAS.md). */
  loss: number;
  /**
   * `ℓ_a` for each anchor `a ∈ [0, 2N)` (N in bank form). For `dualtemp`: the first N are
   * `loss_i(u1→u2)`, the next N are `loss_j(u2→u1)`. For `supcon`: `(τ/τ_base)·ℓ_a` (2N), so
   * that the loss is their mean. For `siglip`: `Σ_j softplus(−z_ij l_ij)` per row i of z1 (N).
   */
  perAnchor: Float64Array;
  /**
   * `lse_a`, the log-sum-exp over the candidates of anchor `a` only (positive excluded; length
   * 2N, or N in bank form: over the K bank rows). For in-batch `dualtemp`:
   * `log Σ_{j≠i} exp(A_ij/τ)` for the rows i, then the same over i for each column j. For
   * `supcon`: over every `b ≠ a`, positives included (2N). For `siglip`: empty (no LSE).
   */
  lse: Float64Array;
  /** `s⁺_i = u1_i·u2_i/τ`, length N. */
  sPos: Float64Array;
  /**
   * `∂L/∂z1` w.r.t. the raw (un-normalized) inputs, N·D row-major. For `flatnce` the FlatNCE
   * gradient (= the DCL gradient); for detached `dclw`/`dualtemp`, with `w`/`f` held constant.
   * The bank, if any, gets no gradient.
   */
  gradZ1: Float64Array;
  /** `∂L/∂z2`, as {@link ReferenceResult.gradZ1}. */
  gradZ2: Float64Array;
  /** `∂L/∂τ` through the same detachments as the other gradients (always computed). */
  gradTemperature: number;
  /**
   * The four batch diagnostics of docs/FORMULAS.md (always computed). For `supcon` and `siglip`,
   * `positiveProbability` and `npcMultiplier` are NaN (they are defined for one positive in a
   * softmax); alignment and uniformity are the batch views' as for every loss.
   */
  diagnostics: Diagnostics;
  /** `siglip` only: `∂L/∂b`. */
  gradBias?: number;
  /** `supcon` only: `|P(a)|`, the number of positives of each of the 2N anchors. */
  positiveCounts?: Int32Array;
  /**
   * `‖∂L/∂u_i / max(|z_i|, ε)‖₂` over the rows of each view: the size the input gradient would
   * have without the projection onto the sphere's tangent. f32 rounding in that projection is
   * relative to it, which matters when the exact gradient is 0 (D = 1: every row is ±1).
   */
  unprojectedNorm: { z1: number; z2: number };
  /** `dclw` only: the weights `w`, length N. */
  weights?: Float64Array;
  /**
   * `dualtemp` only: the detached factors `f = (1−Q_ii)/(1−P_ii)`, rows (first N) then columns
   * (length 2N; in bank form N, `(1 − Q_i0)/(1 − P_i0)`). f can exceed the float64 range (∞)
   * only for τ ≲ 3e-3; `perAnchor` and the gradients never form f and stay finite.
   */
  dualFactors?: Float64Array;
}

/** Validate, then L2-normalize the stacked views `[z1; z2]` (2N×D) and the bank (K×D) in float64. */
function prepare(z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number, options: LossOptions) {
  const opts: ResolvedLossOptions = resolveOptions(options, d);
  checkViews(z1, z2, n, d, opts.bankRows > 0 ? 1 : 2);
  const stacked = new Float64Array(2 * n * d);
  for (let k = 0; k < n * d; k++) {
    stacked[k] = z1[k];
    stacked[n * d + k] = z2[k];
  }
  const normalized = normalizeRows(stacked, 2 * n, d);
  const u1 = normalized.u.subarray(0, n * d);
  const u2 = normalized.u.subarray(n * d);
  let bank: BankProblem | undefined;
  if (options.bank !== undefined) {
    if (isGpuBank(options.bank)) throw new TypeError('bank: the reference needs the values (a Float32Array or Float64Array), not a GPU buffer');
    bank = { u: normalized.u, bank: normalizeRows(options.bank, opts.bankRows, d).u, n, k: opts.bankRows, d };
  }
  let labels: Int32Array | undefined;
  if (options.labels !== undefined) {
    if (isGpuLabels(options.labels)) throw new TypeError('labels: the reference needs the values (an Int32Array), not a GPU buffer');
    checkLabels(options.labels, n);
    labels = options.labels;
  }
  return { opts, normalized, u1, u2, bank, labels };
}

/**
 * `supcon` and `siglip` (docs/FORMULAS.md "SupCon and SigLIP"): their own per-pair terms, the common finish
 * (normalization backward, alignment and uniformity), `∂L/∂τ` and (SigLIP) `∂L/∂b`.
 */
function thirdWaveLoss(
  opts: ResolvedLossOptions,
  normalized: NormalizedRows,
  u1: Float64Array,
  u2: Float64Array,
  n: number,
  d: number,
  labels: Int32Array | undefined,
): ReferenceResult {
  const sPos = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += u1[i * d + k]! * u2[i * d + k]!;
    sPos[i] = s / opts.temperature;
  }
  const batch = { alignment: alignment(u1, u2, n, d), uniformity: uniformity(u1, u2, n, d), positiveProbability: NaN, npcMultiplier: NaN };
  if (opts.loss === 'supcon') {
    const r = supConLoss(normalized.u, labels!, n, d, opts.temperature, opts.baseTemperature);
    return {
      loss: mean(r.perAnchor),
      perAnchor: r.perAnchor,
      lse: r.stats.lse,
      sPos,
      ...gradientsOfInputs(r.gradU, normalized, n, d),
      gradTemperature: r.gradTemperature,
      diagnostics: batch,
      positiveCounts: r.stats.positiveCounts,
    };
  }
  const r = sigLipLoss(u1, u2, n, d, opts.temperature, opts.bias);
  const gradU = new Float64Array(2 * n * d);
  gradU.set(r.gradU1, 0);
  gradU.set(r.gradU2, n * d);
  return {
    loss: mean(r.perAnchor),
    perAnchor: r.perAnchor,
    lse: new Float64Array(0),
    sPos,
    ...gradientsOfInputs(gradU, normalized, n, d),
    gradTemperature: r.gradTemperature,
    diagnostics: batch,
    gradBias: r.gradBias,
  };
}

/** Pull a stacked `∂L/∂U` (2N×D) back through the normalization and split it into the two views. */
function gradientsOfInputs(gradU: Float64Array, normalized: NormalizedRows, n: number, d: number) {
  const gz = normalizeRowsBackward(gradU, normalized, 2 * n, d);
  const unprojected = [0, 0];
  for (let i = 0; i < 2 * n; i++) {
    const inv = 1 / Math.max(normalized.norms[i]!, NORM_EPS);
    for (let k = 0; k < d; k++) unprojected[i < n ? 0 : 1] += (gradU[i * d + k]! * inv) ** 2;
  }
  return {
    gradZ1: gz.slice(0, n * d),
    gradZ2: gz.slice(n * d),
    unprojectedNorm: { z1: Math.sqrt(unprojected[0]!), z2: Math.sqrt(unprojected[1]!) },
  };
}

/** Check that a frozen parameter vector (weights or factors) has the right length and finite entries. */
function checkFrozen(name: string, values: ArrayLike<number>, length: number): void {
  if (values.length !== length) throw new RangeError(`${name} has ${values.length} values, expected ${length}`);
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) throw new RangeError(`${name} has a non-finite value ${values[k]} at index ${k}`);
  }
}

/** What each loss family hands back before the common finish. */
interface LossParts {
  perAnchor: Float64Array;
  stats: AnchorStats;
  c: Float64Array;
  beta: Float64Array;
  gradU: Float64Array;
  weights?: Float64Array;
  dualFactors?: Float64Array;
}

/** The in-batch dual temperature loss in the common shape (`c = β = α = 1 − Q`, f detached). */
function dualTempParts(u1: Float64Array, u2: Float64Array, n: number, d: number, opts: ResolvedLossOptions): LossParts {
  const r = dualTempLoss(u1, u2, n, d, opts.temperature, opts.dtM);
  const gradU = new Float64Array(2 * n * d);
  gradU.set(r.gradU1, 0);
  gradU.set(r.gradU2, n * d);
  return { perAnchor: r.perAnchor, stats: r.stats, c: r.alpha, beta: r.alpha, gradU, dualFactors: r.dualFactors };
}

/**
 * The reference loss, per-anchor statistics, gradients (z1, z2, τ) and diagnostics for two
 * views `z1`, `z2` (flat row-major N×D; Float32Array, Float64Array or number[]), computed
 * entirely in float64. Throws on invalid options (unknown loss, τ/σ/m ≤ 0, `dualtemp` with
 * `negatives: 'all'`, a bank with `'cross'`, a bad bank) or views (N < 2 — N < 1 in bank form —,
 * shape mismatch, non-finite values).
 */
export function referenceLoss(
  z1: ArrayLike<number>,
  z2: ArrayLike<number>,
  n: number,
  d: number,
  options: LossOptions,
): ReferenceResult {
  const { opts, normalized, u1, u2, bank, labels } = prepare(z1, z2, n, d, options);
  if (opts.loss === 'supcon' || opts.loss === 'siglip') return thirdWaveLoss(opts, normalized, u1, u2, n, d, labels);
  const loss: FusedLossName = opts.loss;
  const parts: LossParts = bank
    ? bankLoss(bank, { ...opts, loss })
    : loss === 'dualtemp'
      ? dualTempParts(u1, u2, n, d, opts)
      : pairwiseLoss(normalized.u, n, d, { ...opts, loss });
  return {
    loss: mean(parts.perAnchor),
    perAnchor: parts.perAnchor,
    lse: parts.stats.lse,
    sPos: parts.stats.sPos,
    ...gradientsOfInputs(parts.gradU, normalized, n, d),
    gradTemperature: temperatureGradient(parts.stats, parts.c, parts.beta, opts.temperature),
    diagnostics: {
      alignment: alignment(u1, u2, n, d),
      uniformity: uniformity(u1, u2, n, d),
      ...positiveProbabilities(parts.stats),
    },
    ...(parts.weights ? { weights: parts.weights } : {}),
    ...(parts.dualFactors ? { dualFactors: parts.dualFactors } : {}),
  };
}

/**
 * The reported loss value only (a forward pass; what finite differences evaluate). Equal to
 * `referenceLoss(...).loss`. For `flatnce` this is the NT-Xent value, whose gradient is NOT
 * the FlatNCE gradient: check FlatNCE's gradient against this function with `loss: 'dcl'`.
 * For `dclw` (detached) and `dualtemp` the weights/factors vary with the inputs here; use
 * {@link dclwValueFrozen} / {@link dualTempValueFrozen} for the function whose gradient is reported.
 */
export function referenceLossValue(
  z1: ArrayLike<number>,
  z2: ArrayLike<number>,
  n: number,
  d: number,
  options: LossOptions,
): number {
  const { opts, normalized, u1, u2, bank, labels } = prepare(z1, z2, n, d, options);
  if (opts.loss === 'supcon') return mean(supConPerAnchor(normalized.u, labels!, n, d, opts.temperature, opts.baseTemperature));
  if (opts.loss === 'siglip') return mean(sigLipPerAnchor(u1, u2, n, d, opts.temperature, opts.bias));
  const loss: FusedLossName = opts.loss;
  if (bank) return mean(bankPerAnchor(bank, { ...opts, loss }));
  if (loss === 'dualtemp') return mean(dualTempPerAnchor(u1, u2, n, d, opts.temperature, opts.dtM));
  return mean(pairwisePerAnchor(normalized.u, n, d, { ...opts, loss }));
}

/**
 * The options of a frozen-parameter helper: a temperature alone (the historical form), or any
 * options but the loss (`negatives`, `bank`, …).
 */
export type FrozenOptions = number | undefined | Omit<LossOptions, 'loss'>;

function frozenOptions(loss: 'dclw' | 'dualtemp', o: FrozenOptions): LossOptions {
  return typeof o === 'object' ? { ...o, loss } : { loss, temperature: o };
}

/**
 * DCLW's value with the weights held fixed at `weights` (length N): `mean_a (lse_a − w_{a mod N} s⁺_a)`.
 * Its gradient (in z1, z2 and τ) is the detached-DCLW gradient that {@link referenceLoss}
 * reports. `options` is τ (default 0.1) or DCLW's other options (`negatives`, `bank`, …).
 */
export function dclwValueFrozen(
  z1: ArrayLike<number>,
  z2: ArrayLike<number>,
  n: number,
  d: number,
  weights: ArrayLike<number>,
  options?: FrozenOptions,
): number {
  const { opts, normalized, bank } = prepare(z1, z2, n, d, frozenOptions('dclw', options));
  checkFrozen('weights', weights, n);
  const frozen = Float64Array.from(weights);
  if (bank) return mean(bankPerAnchor(bank, { ...opts, loss: 'dclw' }, frozen));
  return mean(pairwisePerAnchor(normalized.u, n, d, { ...opts, loss: 'dclw' }, frozen));
}

/**
 * The dual-temperature value with the factors held fixed at `factors` (as in
 * {@link ReferenceResult.dualFactors}: length 2N, rows then columns, or N in bank form):
 * `½ (mean_i f_i(−log P_ii) + mean_j f'_j(−log P'_jj))` (bank form: `mean_i f_i(−log P_i0)`).
 * Its gradient (in z1, z2 and τ) is the one {@link referenceLoss} reports. `options` is τ
 * (default 0.1) or the loss's other options; the ratio m does not enter (it only shapes the factors).
 */
export function dualTempValueFrozen(
  z1: ArrayLike<number>,
  z2: ArrayLike<number>,
  n: number,
  d: number,
  factors: ArrayLike<number>,
  options?: FrozenOptions,
): number {
  const { opts, u1, u2, bank } = prepare(z1, z2, n, d, frozenOptions('dualtemp', options));
  checkFrozen('factors', factors, bank ? n : 2 * n);
  const frozen = Float64Array.from(factors);
  if (bank) return mean(bankPerAnchor(bank, { ...opts, loss: 'dualtemp' }, frozen));
  return mean(dualTempPerAnchor(u1, u2, n, d, opts.temperature, opts.dtM, frozen));
}
