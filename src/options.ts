/**
 * Loss names, options and their defaults, as fixed by MATH.md. Shared by the CPU reference,
 * the GPU dispatcher and the CLI so that every path validates and defaults the same way.
 */

/** The losses this package implements. */
export type LossName = 'ntxent' | 'dcl' | 'dclw' | 'flatnce' | 'dualtemp';

/** Every loss name, in a stable order (tables, CLIs, tests). */
export const LOSS_NAMES: readonly LossName[] = ['ntxent', 'dcl', 'dclw', 'flatnce', 'dualtemp'];

/** Options a caller may pass; anything left out takes the loss's default. */
export interface LossOptions {
  /** Which loss. */
  loss: LossName;
  /** Temperature τ > 0. Default 0.5 for `ntxent`, 0.1 for the others. */
  temperature?: number;
  /** DCLW von Mises-Fisher scale σ > 0. Default 0.5. Only read by `dclw`. */
  sigma?: number;
  /** DCLW: let the gradient flow through the weights w. Default false (detached, as in lightly). */
  weightGrad?: boolean;
  /** Dual temperature: ratio m > 0 of the second temperature (τ·m). Default 10. Only read by `dualtemp`. */
  dtM?: number;
  /**
   * Candidate set (MATH.md "Candidate sets"): `'all'` (both views, 2N−2 negatives per anchor) or
   * `'cross'` (the other view only, N−1 negatives: with `ntxent` this is CLIP's loss). Default
   * `'all'`, except `dualtemp`, which is cross-view by definition: `'cross'` is its default and
   * its only value. Not combinable with `bank` (a bank replaces the in-batch candidates).
   */
  negatives?: NegativesMode;
  /** Also return `∂L/∂τ` (one number), through the same detachments as the other gradients. Default false. */
  gradTemperature?: boolean;
  /** Also return the four {@link Diagnostics} of the batch (order {@link DIAGNOSTIC_NAMES}). Default false. */
  diagnostics?: boolean;
  /**
   * Queue (memory-bank) negatives, K×D rows of any norm (MATH.md "Queue negatives"): anchors are
   * the z1 rows only, candidates the K bank rows only, and the bank gets no gradient. K ≥ 1.
   */
  bank?: BankInput;
}

/** The candidate sets of MATH.md's second wave. */
export type NegativesMode = 'all' | 'cross';

/** Every {@link NegativesMode}, in a stable order. */
export const NEGATIVES_MODES: readonly NegativesMode[] = ['all', 'cross'];

/**
 * A bank of K negatives, row-major K×D float values.
 * - CPU reference: a `Float32Array` or `Float64Array`; K = length / D.
 * - `ContrastiveLoss.compute()`: a `Float32Array`.
 * - `ContrastiveLoss.encode()`: `{ buffer, k }`, an f32 K×D storage buffer (usage STORAGE), never written.
 */
export type BankInput = Float32Array | Float64Array | GpuBank;

/** A bank resident on the GPU: `k` rows of D f32 values in `buffer` (usage STORAGE; read only). */
export interface GpuBank {
  /** The K×D f32 rows, row-major. */
  buffer: GPUBuffer;
  /** K, the number of rows (≥ 1). */
  k: number;
}

/** Scalars about a batch, computed from the loss's own passes (MATH.md "Diagnostics"). */
export interface Diagnostics {
  /** `mean_i ‖u1_i − u2_i‖²` (Wang & Isola, α = 2): 0 when the views agree. */
  alignment: number;
  /**
   * `½ Σ_{v∈{u1,u2}} log( (1/(N(N−1))) Σ_{i≠j} e^{−2‖v_i − v_j‖²} )` (Wang & Isola, t = 2): lower
   * is more uniform on the sphere. Always over the batch views (also in bank form); NaN for N = 1.
   */
  uniformity: number;
  /** `mean_a σ(s⁺_a − lse_a)`: the softmax probability of the positive among it and the loss's candidates. */
  positiveProbability: number;
  /** `1 − positiveProbability`: the DCL paper's negative-positive coupling multiplier. */
  npcMultiplier: number;
}

/** The names of the {@link Diagnostics}, in the order the GPU writes them (4 f32). */
export const DIAGNOSTIC_NAMES = ['alignment', 'uniformity', 'positiveProbability', 'npcMultiplier'] as const;

/** Options with every default filled in and validated. */
export interface ResolvedLossOptions {
  loss: LossName;
  temperature: number;
  sigma: number;
  weightGrad: boolean;
  dtM: number;
  /** The candidate set. Always `'cross'` for `dualtemp`; not read in bank form (`bankRows > 0`). */
  negatives: NegativesMode;
  gradTemperature: boolean;
  diagnostics: boolean;
  /** K, the number of bank rows; 0 when there is no bank. */
  bankRows: number;
}

/** Default temperature per loss (MATH.md). */
export const DEFAULT_TEMPERATURE: Readonly<Record<LossName, number>> = {
  ntxent: 0.5,
  dcl: 0.1,
  dclw: 0.1,
  flatnce: 0.1,
  dualtemp: 0.1,
};
/** Default DCLW σ. */
export const DEFAULT_SIGMA = 0.5;
/** Default dual-temperature ratio m. */
export const DEFAULT_DT_M = 10;

function positiveFinite(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${v}`);
  }
  return v;
}

function flag(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** The candidate set: `'all'` by default, `'cross'` for dualtemp (its only value). */
function resolveNegatives(loss: LossName, v: unknown, hasBank: boolean): NegativesMode {
  if (v !== undefined && !NEGATIVES_MODES.includes(v as NegativesMode)) {
    throw new TypeError(`negatives must be one of ${NEGATIVES_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(v)}`);
  }
  if (loss === 'dualtemp') {
    if (v === 'all') throw new RangeError(`negatives: 'all' is not defined for dualtemp, which is cross-view by definition ('cross' is its only value)`);
    return 'cross';
  }
  if (v === 'cross' && hasBank) {
    throw new RangeError(`negatives: 'cross' cannot be combined with bank: a bank replaces the in-batch candidates`);
  }
  return (v as NegativesMode | undefined) ?? 'all';
}

/** Whether `bank` is a GPU-resident bank (`{ buffer, k }`) rather than an array of values. */
export function isGpuBank(bank: BankInput): bank is GpuBank {
  return !ArrayBuffer.isView(bank);
}

/**
 * Validate a bank and return its row count K ≥ 1. An array bank needs `d` (its length must be
 * a positive multiple of D, every value finite); a GPU bank is `{ buffer, k }` with an integer
 * `k ≥ 1` (its size and usage are the dispatcher's to check: they need the device).
 */
export function checkBank(bank: BankInput, d?: number): number {
  if (bank instanceof Float32Array || bank instanceof Float64Array) {
    if (d === undefined) throw new TypeError('bank: D is needed to split an array bank into rows');
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`D must be an integer ≥ 1, got ${d}`);
    if (bank.length === 0) throw new RangeError('bank is empty: K must be ≥ 1 (leave bank out for in-batch negatives)');
    if (bank.length % d !== 0) {
      throw new RangeError(`bank has ${bank.length} values, not a multiple of D = ${d} (a bank is K×D, row-major)`);
    }
    for (let i = 0; i < bank.length; i++) {
      if (!Number.isFinite(bank[i])) {
        throw new RangeError(`bank has a non-finite value ${bank[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
      }
    }
    return bank.length / d;
  }
  if (bank === null || typeof bank !== 'object' || ArrayBuffer.isView(bank) || !('buffer' in bank) || !('k' in bank)) {
    throw new TypeError('bank must be a Float32Array or Float64Array (K×D values) or { buffer: GPUBuffer, k: number }');
  }
  if (!Number.isInteger(bank.k) || bank.k < 1) throw new RangeError(`bank.k must be an integer ≥ 1 (K = 0 is no bank: leave bank out), got ${bank.k}`);
  return bank.k;
}

/**
 * Fill in defaults and validate; throws a RangeError/TypeError that names the bad option.
 * `d` (the row length D) is needed only to size an array `bank` (K = length / D).
 */
export function resolveOptions(options: LossOptions, d?: number): ResolvedLossOptions {
  if (!options || !LOSS_NAMES.includes(options.loss)) {
    throw new TypeError(`unknown loss ${JSON.stringify(options?.loss)}; expected one of ${LOSS_NAMES.join(', ')}`);
  }
  const loss = options.loss;
  const hasBank = options.bank !== undefined;
  return {
    loss,
    temperature: positiveFinite('temperature', options.temperature ?? DEFAULT_TEMPERATURE[loss]),
    sigma: positiveFinite('sigma', options.sigma ?? DEFAULT_SIGMA),
    weightGrad: options.weightGrad ?? false,
    dtM: positiveFinite('dtM', options.dtM ?? DEFAULT_DT_M),
    negatives: resolveNegatives(loss, options.negatives, hasBank),
    gradTemperature: flag('gradTemperature', options.gradTemperature),
    diagnostics: flag('diagnostics', options.diagnostics),
    bankRows: hasBank ? checkBank(options.bank!, d) : 0,
  };
}

/**
 * Validate a pair of N×D views given as flat row-major arrays. Throws on N < `minRows` (2; 1
 * in bank form, where the negatives come from the bank), D < 1, length mismatches and
 * non-finite values.
 */
export function checkViews(z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number, minRows: 1 | 2 = 2): void {
  if (!Number.isInteger(n) || n < minRows) {
    throw new RangeError(minRows === 2 ? `N must be an integer ≥ 2 (no negatives with N = 1), got ${n}` : `N must be an integer ≥ 1, got ${n}`);
  }
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`D must be an integer ≥ 1, got ${d}`);
  if (z1.length !== n * d) throw new RangeError(`z1 has ${z1.length} values, expected N·D = ${n}·${d} = ${n * d}`);
  if (z2.length !== n * d) throw new RangeError(`z2 has ${z2.length} values, expected N·D = ${n}·${d} = ${n * d}`);
  for (const [name, z] of [['z1', z1], ['z2', z2]] as const) {
    for (let i = 0; i < z.length; i++) {
      if (!Number.isFinite(z[i])) {
        throw new RangeError(`${name} has a non-finite value ${z[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
      }
    }
  }
}
