/**
 * The GPU-vs-reference tolerances of MATH.md, in one place:
 *   loss: |gpu − ref| ≤ 1e-5·|ref| (|ref| or mean|ℓ_a|, see lossError), or ≤ 1e-6 absolute near 0;
 *   gradients: ‖g − g_ref‖₂ / ‖g_ref‖₂ ≤ 1e-4.
 */
import type { ReferenceResult } from '../../src/reference/index.js';

/** A comparison's verdict and a sentence saying why. */
export interface Verdict {
  ok: boolean;
  describe: string;
}

/**
 * Loss value within 1e-5 relative, or 1e-6 absolute when the value is near 0.
 *
 * With `perAnchor` (the reference's ℓ_a), "relative" is measured against the size of what the
 * mean adds up, max(|L|, mean_a |ℓ_a|): the reported loss is a mean of 2N (or N) terms, and where
 * they cancel between anchors (DCL's ℓ_a are often of both signs, each of size up to 1/τ) the mean
 * can be near 0 while each term is resolved only to f32's 1e-7 of its own size. If every ℓ_a is
 * within 1e-5 of |ℓ_a|, the mean is within 1e-5·mean|ℓ_a| — the condition number of the sum, not a
 * looser target. Cancellation inside one anchor (lse − s⁺ near the cap 1/τ) gets no such allowance.
 *
 * With `tau`, the absolute floor near 0 is the f32 resolution of the logits, 2^-22/τ (two ulps of
 * the largest logit 1/τ), when that exceeds 1e-6: an exact 0 made of terms of size 1/τ (D = 1,
 * every cosine ±1 up to the f32 rounding of the normalized rows) cannot come out closer to 0.
 */
export function lossError(got: number, want: number, perAnchor?: ArrayLike<number>, tau?: number): Verdict {
  const abs = Math.abs(got - want);
  let size = Math.abs(want);
  if (perAnchor && perAnchor.length > 0) {
    let sum = 0;
    for (let i = 0; i < perAnchor.length; i++) sum += Math.abs(perAnchor[i]!);
    size = Math.max(size, sum / perAnchor.length);
  }
  const floor = Math.max(1e-6, tau ? 2 ** -22 / tau : 0);
  const ok = Number.isFinite(got) && (abs <= 1e-5 * size || abs <= floor);
  const against = size === Math.abs(want) ? '' : ` (bound 1e-5 × mean|ℓ_a| = ${(1e-5 * size).toExponential(2)})`;
  return { ok, describe: `abs error ${abs.toExponential(2)}, rel ${(abs / Math.abs(want)).toExponential(2)}${against}` };
}

/**
 * One anchor's ℓ_a = lse_a − (w·)s⁺_a is a difference of terms up to 1/τ in size, each carrying
 * f32 rounding of the cosines (~1e-7 relative), so its error is judged against 1/τ, scaled by
 * dualtemp's detached factor f (ℓ = f·softplus(x), and f itself moves with every S):
 * |gpu − ref| ≤ 1e-5 · (|ref| + f/τ). The mean loss keeps MATH.md's bound ({@link lossError}).
 */
export function perAnchorError(got: number, want: number, tau: number, factor = 1): Verdict {
  const abs = Math.abs(got - want);
  const bound = 1e-5 * (Math.abs(want) + Math.max(1, factor) / tau);
  return { ok: Number.isFinite(got) && abs <= bound, describe: `abs error ${abs.toExponential(2)}, bound ${bound.toExponential(2)}` };
}

/** Gradient norms below this are not representable in f32 (subnormal range): compared absolutely. */
export const F32_TINY_NORM = 1e-30;

/**
 * Relative L2 error of a gradient. With D = 1 every normalized row is ±1, so the exact gradient
 * is 0 and a relative error is undefined: the f32 result is what rounding leaves of the
 * projection (I − uuᵀ)·g_u/|z|, so it is bounded relative to that unprojected size
 * (`unprojectedNorm`, from {@link ReferenceResult.unprojectedNorm}), plus MATH.md's 1e-6 absolute
 * near 0 (a vanishing g_u, e.g. NT-Xent with a dominant positive, is itself a difference of f32
 * terms): ‖g‖ ≤ 1e-4 · ‖g_u/|z|‖ + 1e-6. Without it (two f32 results compared) the bound is 1e-3.
 */
export function gradientError(got: Float32Array, want: ArrayLike<number>, d: number, unprojectedNorm?: number): Verdict {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    if (!Number.isFinite(g)) return { ok: false, describe: `element ${i} is ${g} (unwritten or overflow)` };
    num += (g - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  const rel = Math.sqrt(num) / Math.sqrt(den);
  if (d === 1) {
    const bound = unprojectedNorm === undefined ? 1e-3 : 1e-4 * unprojectedNorm + 1e-6;
    const ok = Math.sqrt(num) <= bound;
    return { ok, describe: `D=1: ‖g − g_ref‖ = ${Math.sqrt(num).toExponential(2)} (exact gradient is 0), bound ${bound.toExponential(2)}` };
  }
  if (Math.sqrt(den) < F32_TINY_NORM) {
    // e.g. NT-Xent with a dominant positive at τ = 0.01: σ(lse − s⁺) ≈ e^-90 underflows f32.
    return { ok: Math.sqrt(num) <= F32_TINY_NORM, describe: `‖g_ref‖ below f32 range; ‖g − g_ref‖ = ${Math.sqrt(num).toExponential(2)}` };
  }
  return { ok: rel <= 1e-4, describe: `relative L2 error ${rel.toExponential(2)} (bound 1e-4)` };
}

/**
 * ∂L/∂τ = −(1/(Aτ)) Σ_a (c_a E_a − β_a s⁺_a) is a difference of terms each up to
 * (|c_a| + |β_a|)/τ² in size (E_a and s⁺_a are logits, |S| ≤ 1/τ), each carrying the f32
 * rounding of the cosines. When the terms cancel (D = 1: every logit is exactly ±1/τ), the
 * exact value is ~0 and a relative error is meaningless, as for the D = 1 gradients; so the
 * error is bounded by MATH.md's 1e-4 relative plus 1e-6 of that term scale:
 * |g − g_ref| ≤ 1e-4·|g_ref| + 1e-6·coefScale/τ², `coefScale` bounding mean(|c| + |β|)
 * (2 for every loss but DCLW, whose β = w: 1 + mean |w|).
 */
export function temperatureGradientError(got: number | undefined, want: number, tau: number, coefScale = 2): Verdict {
  if (got === undefined) return { ok: false, describe: 'missing' };
  const abs = Math.abs(got - want);
  const bound = 1e-4 * Math.abs(want) + (1e-6 * coefScale) / (tau * tau);
  return {
    ok: Number.isFinite(got) && abs <= bound,
    describe: `${got} vs ${want}: abs error ${abs.toExponential(2)}, rel ${(abs / Math.abs(want)).toExponential(2)}, bound ${bound.toExponential(2)}`,
  };
}

/** ‖got − want‖₂ / ‖want‖₂ (0 when want is 0): a gradient's error, for the printed worst-error reports. */
export function relativeL2(got: Float32Array, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
