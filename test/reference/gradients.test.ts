/**
 * The analytic gradients of the reference against central finite differences in float64,
 * for every loss and option, N ∈ {2, 3, 17}, D ∈ {1, 3, 32}, τ ∈ {0.05, 0.1, 0.5, 1} and three
 * input families (independent Gaussian views, near-duplicate views, rows of norms 10^U(−2,2));
 * every coordinate of both views is differentiated (no subsampling). The full product of τ and
 * families is run for every shape but the largest (see kindsFor).
 *
 * What is differentiated is the function whose gradient the reference reports:
 * - detached `dclw` and `dualtemp`: the loss with the weights / factors frozen at the values
 *   the forward pass produced (dclwValueFrozen, dualTempValueFrozen);
 * - `dclw` with weightGrad: the full loss;
 * - `flatnce`: the DCL value at the same τ (FlatNCE's gradient is DCL's by definition);
 * - the rest: referenceLossValue.
 *
 * Criterion: ‖g − g_fd‖ ≤ 1e-6 · max(‖g_fd‖, 1e-8). The absolute floor exists for D = 1,
 * where every normalized row is ±1 whatever the input, so the loss is locally constant and
 * both gradients are exactly 0 (sqrt(z²) = |z| exactly in IEEE arithmetic, so u = ±1 exactly
 * and the projection cancels exactly). Below 1e-8 a relative criterion is meaningless: the
 * rounding noise of a float64 central difference with step h = 1e-5·|z| is ~ε·|L|/h ≈
 * 1e-11·|L|/|z| per entry, so a gradient of norm 1e-8 could not be resolved to 1e-6 anyway.
 * With the floor the test still demands |g| ≤ 1e-14 whenever the FD gradient is ~0.
 */

import { describe, expect, it } from 'vitest';
import type { LossOptions } from '../../src/options.js';
import {
  dclwValueFrozen,
  dualTempValueFrozen,
  referenceLoss,
  referenceLossValue,
  type ReferenceResult,
} from '../../src/reference/index.js';
import { distance, finiteDifferences, freshRng, INPUT_KINDS, makeViews, norm, type InputKind } from './helpers.js';

const rng = freshRng('gradients.test');

/** A loss configuration and the scalar function its reported gradient differentiates. */
interface Variant {
  name: string;
  options: (tau: number) => LossOptions;
  value: (z1: Float64Array, z2: Float64Array, n: number, d: number, tau: number, ref: ReferenceResult) => number;
}

const plain = (options: (tau: number) => LossOptions): Variant['value'] => (z1, z2, n, d, tau) =>
  referenceLossValue(z1, z2, n, d, options(tau));

const VARIANTS: Variant[] = [
  { name: 'ntxent', options: (tau) => ({ loss: 'ntxent', temperature: tau }), value: plain((tau) => ({ loss: 'ntxent', temperature: tau })) },
  { name: 'dcl', options: (tau) => ({ loss: 'dcl', temperature: tau }), value: plain((tau) => ({ loss: 'dcl', temperature: tau })) },
  {
    name: 'dclw (detached)',
    options: (tau) => ({ loss: 'dclw', temperature: tau }),
    value: (z1, z2, n, d, tau, ref) => dclwValueFrozen(z1, z2, n, d, ref.weights!, tau),
  },
  {
    name: 'dclw (detached, sigma 0.2)',
    options: (tau) => ({ loss: 'dclw', temperature: tau, sigma: 0.2 }),
    value: (z1, z2, n, d, tau, ref) => dclwValueFrozen(z1, z2, n, d, ref.weights!, tau),
  },
  {
    name: 'dclw (weightGrad)',
    options: (tau) => ({ loss: 'dclw', temperature: tau, weightGrad: true }),
    value: plain((tau) => ({ loss: 'dclw', temperature: tau, weightGrad: true })),
  },
  {
    name: 'dclw (weightGrad, sigma 0.2)',
    options: (tau) => ({ loss: 'dclw', temperature: tau, weightGrad: true, sigma: 0.2 }),
    value: plain((tau) => ({ loss: 'dclw', temperature: tau, weightGrad: true, sigma: 0.2 })),
  },
  { name: 'flatnce', options: (tau) => ({ loss: 'flatnce', temperature: tau }), value: plain((tau) => ({ loss: 'dcl', temperature: tau })) },
  {
    name: 'dualtemp',
    options: (tau) => ({ loss: 'dualtemp', temperature: tau }),
    value: (z1, z2, n, d, tau, ref) => dualTempValueFrozen(z1, z2, n, d, ref.dualFactors!, tau),
  },
  {
    name: 'dualtemp (dtM 3)',
    options: (tau) => ({ loss: 'dualtemp', temperature: tau, dtM: 3 }),
    value: (z1, z2, n, d, tau, ref) => dualTempValueFrozen(z1, z2, n, d, ref.dualFactors!, tau),
  },
];

const NS = [2, 3, 17];
const DS = [1, 3, 32];
const TAUS = [0.05, 0.1, 0.5, 1];

/**
 * The input families checked at one (variant, N, D, τ). Every family at every point, except
 * for the largest shape (N=17, D=32: 2·17·32 = 1088 coordinates, 2176 loss evaluations per
 * check), where one family per τ keeps this file well under a minute: the family rotates with
 * τ, so each (variant, N, D) still sees all three, and the rotation is offset per variant, so
 * each (τ, family) pair is still checked at the largest shape by some variant of every loss.
 */
function kindsFor(variantIndex: number, n: number, d: number, tauIndex: number): readonly InputKind[] {
  if (n * d < 17 * 32) return INPUT_KINDS;
  return [INPUT_KINDS[(tauIndex + variantIndex) % INPUT_KINDS.length]];
}

describe(`reference gradients vs central finite differences (seed ${rng.seed})`, () => {
  VARIANTS.forEach((variant, variantIndex) => {
    for (const n of NS) {
      for (const d of DS) {
        it(`${variant.name}, N=${n}, D=${d}`, { timeout: 60_000 }, () => {
          TAUS.forEach((tau, tauIndex) => {
            for (const kind of kindsFor(variantIndex, n, d, tauIndex)) {
              const { z1, z2 } = makeViews(kind, n, d, rng);
              const ref = referenceLoss(z1, z2, n, d, variant.options(tau));
              const fd = finiteDifferences((a, b) => variant.value(a, b, n, d, tau, ref), z1, z2, n, d);
              const err = distance(ref.gradZ1, ref.gradZ2, fd.gradZ1, fd.gradZ2);
              const scale = norm(fd.gradZ1, fd.gradZ2);
              const where = `seed ${rng.seed}, τ=${tau}, ${kind}: ‖g−g_fd‖=${err.toExponential(3)}, ‖g_fd‖=${scale.toExponential(3)}`;
              expect(err, where).toBeLessThanOrEqual(1e-6 * Math.max(scale, 1e-8));
              if (d > 1) expect(scale, `non-trivial gradient, ${where}`).toBeGreaterThan(0);
            }
          });
        });
      }
    }
  });
});
