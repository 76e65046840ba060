/**
 * MATH.md's second wave against central finite differences in float64: the input gradients
 * of `negatives: 'cross'` and of the bank form (every loss, dualtemp's bank form and DCLW's
 * weightGrad included), and `∂L/∂τ` for every loss in every form (in-batch 'all', 'cross',
 * bank). Fresh random inputs per run (seed printed; REF_SEED=<n> reproduces).
 *
 * What is differentiated is the function whose gradient the reference reports (as in
 * gradients.test.ts): detached DCLW and dualtemp with their weights / factors frozen at the
 * forward pass's values (also in τ: the dual factor f depends on τ but is detached), FlatNCE
 * as the DCL value. The bank is a constant of the loss: it is held fixed and gets no gradient.
 *
 * Criterion: ‖g − g_fd‖ ≤ 1e-6 · max(‖g_fd‖, 1e-8) for z1, z2 (see gradients.test.ts for the
 * floor: D = 1 makes the input gradient exactly 0), and |g_τ − g_τ,fd| ≤ max(1e-6·|g_τ,fd|, noise)
 * for τ, with the step h = 1e-5·τ (the loss varies on the scale of τ itself). The floor
 * `noise = 100·ε·(1 + |L|)/h` is the central difference's own rounding: with D = 1 every cosine
 * is ±1 and a loss can be exactly independent of τ (all candidates tied with the positive),
 * where both sides are 0 up to rounding; in every other case |g_τ| ~ 1/τ² dwarfs it.
 */

import { describe, expect, it } from 'vitest';
import type { LossOptions } from '../../src/options.js';
import { dclwValueFrozen, dualTempValueFrozen, referenceLoss, referenceLossValue, type ReferenceResult } from '../../src/reference/index.js';
import { distance, finiteDifferences, freshRng, INPUT_KINDS, makeBank, makeViews, norm } from './helpers.js';

const rng = freshRng('second-wave-gradients.test');

/** A base loss configuration and the value whose gradient the reference reports. */
interface Variant {
  name: string;
  options: LossOptions;
  value: (z1: Float64Array, z2: Float64Array, n: number, d: number, options: LossOptions, ref: ReferenceResult) => number;
}

const withoutLoss = ({ loss: _loss, ...rest }: LossOptions) => rest;
const plain: Variant['value'] = (z1, z2, n, d, o) => referenceLossValue(z1, z2, n, d, o);

const VARIANTS: Variant[] = [
  { name: 'ntxent', options: { loss: 'ntxent' }, value: plain },
  { name: 'dcl', options: { loss: 'dcl' }, value: plain },
  { name: 'dclw (detached)', options: { loss: 'dclw', sigma: 0.3 }, value: (z1, z2, n, d, o, ref) => dclwValueFrozen(z1, z2, n, d, ref.weights!, withoutLoss(o)) },
  { name: 'dclw (weightGrad)', options: { loss: 'dclw', sigma: 0.3, weightGrad: true }, value: plain },
  { name: 'flatnce', options: { loss: 'flatnce' }, value: (z1, z2, n, d, o) => referenceLossValue(z1, z2, n, d, { ...o, loss: 'dcl' }) },
  { name: 'dualtemp', options: { loss: 'dualtemp', dtM: 4 }, value: (z1, z2, n, d, o, ref) => dualTempValueFrozen(z1, z2, n, d, ref.dualFactors!, withoutLoss(o)) },
];

/** The candidate forms; `'all'` is gradients.test.ts's ground for z1, z2, so only τ is checked there. */
type Form = { name: string; ns: number[]; ks: number[]; checkInputs: boolean };
const FORMS: Form[] = [
  { name: 'all', ns: [2, 5], ks: [0], checkInputs: false },
  { name: 'cross', ns: [2, 5], ks: [0], checkInputs: true },
  { name: 'bank', ns: [1, 2, 5], ks: [1, 7], checkInputs: true },
];
const DS = [1, 3, 16];
const TAUS = [0.05, 0.2, 1];

/** Worst relative errors seen, per loss, form and gradient, printed at the end (the report's figures). */
const worst: Record<string, number> = {};
function record(key: string, rel: number): void {
  worst[key] = Math.max(worst[key] ?? 0, rel);
}

describe(`second-wave gradients vs central finite differences (seed ${rng.seed})`, () => {
  for (const variant of VARIANTS) {
    for (const form of FORMS) {
      if (form.name === 'all' && variant.options.loss === 'dualtemp') continue; // dualtemp is cross-view only
      it(`${variant.name}, ${form.name}: ∂L/∂τ${form.checkInputs ? ', ∂L/∂z1, ∂L/∂z2' : ''}`, { timeout: 60_000 }, () => {
        let t = 0;
        for (const n of form.ns) {
          for (const d of DS) {
            for (const k of form.ks) {
              for (const tau of TAUS) {
                const kind = INPUT_KINDS[t++ % INPUT_KINDS.length];
                const { z1, z2 } = makeViews(kind, n, d, rng);
                const options: LossOptions = { ...variant.options, temperature: tau };
                if (form.name === 'cross' && variant.options.loss !== 'dualtemp') options.negatives = 'cross';
                const bank = form.name === 'bank' ? makeBank(k, d, rng, z1) : undefined;
                if (bank) options.bank = bank;
                const bankCopy = bank?.slice();
                const ref = referenceLoss(z1, z2, n, d, options);
                const where = `seed ${rng.seed}, N=${n}, D=${d}, K=${k}, τ=${tau}, ${kind}`;
                if (form.checkInputs) {
                  const fd = finiteDifferences((a, b) => variant.value(a, b, n, d, options, ref), z1, z2, n, d);
                  const err = distance(ref.gradZ1, ref.gradZ2, fd.gradZ1, fd.gradZ2);
                  const scale = norm(fd.gradZ1, fd.gradZ2);
                  expect(err, `z: ${where}: ‖g−g_fd‖=${err.toExponential(3)}, ‖g_fd‖=${scale.toExponential(3)}`).toBeLessThanOrEqual(1e-6 * Math.max(scale, 1e-8));
                  if (d > 1) expect(scale, `non-trivial gradient, ${where}`).toBeGreaterThan(0);
                  if (scale > 1e-8) record(`${variant.name} ${form.name} z`, err / scale);
                }
                const h = 1e-5 * tau;
                const at = (tt: number) => variant.value(z1, z2, n, d, { ...options, temperature: tt }, ref);
                const fdTau = (at(tau + h) - at(tau - h)) / (2 * h);
                const errTau = Math.abs(ref.gradTemperature - fdTau);
                const noise = 100 * Number.EPSILON * (1 + Math.abs(ref.loss)) / h;
                expect(errTau, `τ: ${where}: g=${ref.gradTemperature}, fd=${fdTau}`).toBeLessThanOrEqual(Math.max(1e-6 * Math.abs(fdTau), noise));
                if (Math.abs(fdTau) > noise) record(`${variant.name} ${form.name} τ`, errTau / Math.abs(fdTau));
                if (bankCopy) expect(bank, `bank unchanged, ${where}`).toEqual(bankCopy);
              }
            }
          }
        }
      });
    }
  }

  it('worst relative errors (printed)', () => {
    console.log(`[second-wave-gradients.test] worst relative FD errors: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBeGreaterThan(0);
  });
});
