/**
 * The checks every GPU-vs-reference matrix makes on one run, in one place: the mean loss, each
 * anchor's ℓ_a, and ∂L/∂z1, ∂L/∂z2, with MATH.md's tolerances (./tolerances.ts).
 */
import { expect } from 'vitest';
import type { ReferenceResult } from '../../src/reference/index.js';
import { DIAGNOSTIC_NAMES, type LossOptions } from '../../src/options.js';
import { gradientError, lossError, perAnchorError, temperatureGradientError, type Verdict } from './tolerances.js';

/** What a GPU run returns that the reference also has. */
export interface GpuLossOutputs {
  loss: number;
  perAnchor: Float32Array;
  gradZ1?: Float32Array;
  gradZ2?: Float32Array;
}

/** What a GPU run returns beyond the loss, when asked: ∂L/∂τ and the diagnostics. */
export interface GpuExtraOutputs {
  gradTemperature?: number;
  diagnostics?: Float32Array | number[];
}

/** Hooks for a caller's own logging or worst-error bookkeeping; they never decide a verdict. */
export interface ReferenceCheckHooks {
  onLoss?(verdict: Verdict): void;
  onGradient?(name: 'gradZ1' | 'gradZ2', got: Float32Array, want: ArrayLike<number>, verdict: Verdict): void;
  onTemperatureGradient?(got: number, want: number): void;
  onDiagnostic?(name: string, got: number, want: number): void;
}

/**
 * A scalar result (a diagnostic) against float64: within `rel` relative, or `abs` absolute near
 * 0 (MATH.md: diagnostics 1e-4 relative, 1e-6 absolute near 0).
 */
export function scalarError(got: number | undefined, want: number, rel: number, abs: number): Verdict {
  if (got === undefined) return { ok: false, describe: 'missing' };
  const err = Math.abs(got - want);
  const ok = (Number.isNaN(want) && Number.isNaN(got)) || (Number.isFinite(got) && (err <= rel * Math.abs(want) || err <= abs));
  return { ok, describe: `${got} vs ${want}: abs error ${err.toExponential(2)}, rel ${(err / Math.abs(want)).toExponential(2)}` };
}

/**
 * Assert the extras of `gpu` (options `opts`, temperature given) equal `ref`: ∂L/∂τ when
 * `opts.gradTemperature` (else absent), the diagnostics when `opts.diagnostics` (else absent).
 */
export function expectExtrasMatchReference(where: string, gpu: GpuExtraOutputs, ref: ReferenceResult, opts: LossOptions, hooks: ReferenceCheckHooks = {}): void {
  const tau = opts.temperature!;
  if (opts.gradTemperature) {
    const meanAbsWeight = ref.weights ? ref.weights.reduce((s, w) => s + Math.abs(w), 0) / ref.weights.length : 1;
    const te = temperatureGradientError(gpu.gradTemperature, ref.gradTemperature, tau, 1 + meanAbsWeight);
    if (gpu.gradTemperature !== undefined) hooks.onTemperatureGradient?.(gpu.gradTemperature, ref.gradTemperature);
    expect(te.ok, `${where}: gradTemperature ${te.describe}`).toBe(true);
  } else {
    expect(gpu.gradTemperature, `${where}: gradTemperature not asked for`).toBeUndefined();
  }
  if (opts.diagnostics) {
    expect(gpu.diagnostics, `${where}: diagnostics missing`).toBeDefined();
    DIAGNOSTIC_NAMES.forEach((name, i) => {
      const want = ref.diagnostics[name];
      const de = scalarError(gpu.diagnostics![i], want, 1e-4, 1e-6);
      hooks.onDiagnostic?.(name, gpu.diagnostics![i]!, want);
      expect(de.ok, `${where}: diagnostics.${name} ${de.describe}`).toBe(true);
    });
  } else {
    expect(gpu.diagnostics, `${where}: diagnostics not asked for`).toBeUndefined();
  }
}

/**
 * Assert `gpu` equals `ref` (a run at temperature `tau`, width `d`). With `gradients: 'required'`
 * a missing gradient fails; with `'if-present'` (forward-only runs) it is skipped.
 */
export function expectMatchesReference(
  where: string,
  gpu: GpuLossOutputs,
  ref: ReferenceResult,
  tau: number,
  d: number,
  gradients: 'required' | 'if-present',
  hooks: ReferenceCheckHooks = {},
): void {
  const le = lossError(gpu.loss, ref.loss, ref.perAnchor, tau);
  hooks.onLoss?.(le);
  expect(le.ok, `${where}: loss ${gpu.loss} vs reference ${ref.loss} (${le.describe})`).toBe(true);
  expect(gpu.perAnchor.length, `${where}: perAnchor length`).toBe(ref.perAnchor.length);
  for (let a = 0; a < ref.perAnchor.length; a++) {
    const pe = perAnchorError(gpu.perAnchor[a]!, ref.perAnchor[a]!, tau, ref.dualFactors?.[a]);
    if (!pe.ok) expect.fail(`${where}: per-anchor ℓ[${a}] ${gpu.perAnchor[a]} vs ${ref.perAnchor[a]} (${pe.describe})`);
  }
  for (const [name, got, want, unprojected] of [
    ['gradZ1', gpu.gradZ1, ref.gradZ1, ref.unprojectedNorm.z1],
    ['gradZ2', gpu.gradZ2, ref.gradZ2, ref.unprojectedNorm.z2],
  ] as const) {
    if (!got) {
      if (gradients === 'required') expect.fail(`${where}: ${name} missing`);
      continue;
    }
    const ge = gradientError(got, want, d, unprojected);
    hooks.onGradient?.(name, got, want, ge);
    expect(ge.ok, `${where}: ${name} ${ge.describe}`).toBe(true);
  }
}
