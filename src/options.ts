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
}

/** Options with every default filled in and validated. */
export interface ResolvedLossOptions {
  loss: LossName;
  temperature: number;
  sigma: number;
  weightGrad: boolean;
  dtM: number;
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

/** Fill in defaults and validate; throws a RangeError/TypeError that names the bad option. */
export function resolveOptions(options: LossOptions): ResolvedLossOptions {
  if (!options || !LOSS_NAMES.includes(options.loss)) {
    throw new TypeError(`unknown loss ${JSON.stringify(options?.loss)}; expected one of ${LOSS_NAMES.join(', ')}`);
  }
  const loss = options.loss;
  return {
    loss,
    temperature: positiveFinite('temperature', options.temperature ?? DEFAULT_TEMPERATURE[loss]),
    sigma: positiveFinite('sigma', options.sigma ?? DEFAULT_SIGMA),
    weightGrad: options.weightGrad ?? false,
    dtM: positiveFinite('dtM', options.dtM ?? DEFAULT_DT_M),
  };
}

/**
 * Validate a pair of N×D views given as flat row-major arrays. Throws on N < 2, D < 1,
 * length mismatches and non-finite values.
 */
export function checkViews(z1: ArrayLike<number>, z2: ArrayLike<number>, n: number, d: number): void {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`N must be an integer ≥ 2 (no negatives with N = 1), got ${n}`);
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
