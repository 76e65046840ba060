/**
 * The checks every GPU-vs-reference matrix makes on one run, in one place: the mean loss, each
 * anchor's ℓ_a, and ∂L/∂z1, ∂L/∂z2, with MATH.md's tolerances (./tolerances.ts).
 */
import { expect } from 'vitest';
import type { ReferenceResult } from '../../src/reference/index.js';
import { gradientError, lossError, perAnchorError, type Verdict } from './tolerances.js';

/** What a GPU run returns that the reference also has. */
export interface GpuLossOutputs {
  loss: number;
  perAnchor: Float32Array;
  gradZ1?: Float32Array;
  gradZ2?: Float32Array;
}

/** Hooks for a caller's own logging or worst-error bookkeeping; they never decide a verdict. */
export interface ReferenceCheckHooks {
  onLoss?(verdict: Verdict): void;
  onGradient?(name: 'gradZ1' | 'gradZ2', got: Float32Array, want: ArrayLike<number>, verdict: Verdict): void;
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
  const le = lossError(gpu.loss, ref.loss, ref.perAnchor);
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
