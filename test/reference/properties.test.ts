/**
 * Properties MATH.md states outright: FlatNCE = (NT-Xent value, DCL gradient); DCLW weights
 * average to 1 and may be negative; the losses stay finite at tiny temperatures.
 */

import { describe, expect, it } from 'vitest';
import { LOSS_NAMES, type LossOptions } from '../../src/options.js';
import { dclwValueFrozen, referenceLoss, referenceLossValue } from '../../src/reference/index.js';
import { distance, finiteDifferences, freshRng, INPUT_KINDS, makeViews, norm } from './helpers.js';

const rng = freshRng('properties.test');

describe(`flatnce (seed ${rng.seed})`, () => {
  it('value = NT-Xent value, gradient = DCL gradient, at the same τ', () => {
    for (const tau of [0.05, 0.1, 0.5, 1]) {
      for (const kind of INPUT_KINDS) {
        const n = 6, d = 8;
        const { z1, z2 } = makeViews(kind, n, d, rng);
        const flat = referenceLoss(z1, z2, n, d, { loss: 'flatnce', temperature: tau });
        const ntxent = referenceLoss(z1, z2, n, d, { loss: 'ntxent', temperature: tau });
        const dcl = referenceLoss(z1, z2, n, d, { loss: 'dcl', temperature: tau });
        expect(flat.loss).toBe(ntxent.loss);
        expect(flat.perAnchor).toEqual(ntxent.perAnchor);
        expect(flat.lse).toEqual(dcl.lse);
        expect(flat.sPos).toEqual(dcl.sPos);
        expect(flat.gradZ1).toEqual(dcl.gradZ1);
        expect(flat.gradZ2).toEqual(dcl.gradZ2);
        expect(referenceLossValue(z1, z2, n, d, { loss: 'flatnce', temperature: tau })).toBe(ntxent.loss);
      }
    }
  });
});

describe(`dclw weights (seed ${rng.seed})`, () => {
  it('mean of w is 1', () => {
    for (const n of [2, 3, 17, 64]) {
      for (const sigma of [0.05, 0.5, 2]) {
        const { z1, z2 } = makeViews('gaussian', n, 4, rng);
        const { weights } = referenceLoss(z1, z2, n, 4, { loss: 'dclw', sigma });
        const mean = weights!.reduce((s, w) => s + w, 0) / n;
        expect(mean).toBeCloseTo(1, 13);
      }
    }
  });

  /*
   * One aligned pair among orthogonal ones: r = [1/σ, 0, 0, 0] (u1_0 = u2_0 = e1, the other
   * pairs orthogonal), so π_0 = e^{1/σ}/(e^{1/σ} + 3) and w_0 = 2 − 4π_0 < 0 once π_0 > ½,
   * i.e. for σ < 1/log 3. With σ = 0.3, π_0 ≈ 0.9, w_0 ≈ −1.6 and the other weights ≈ 2.1;
   * π is not so concentrated that the weightGrad term π_j(s_j − Σπ_i s_i) vanishes.
   */
  it('a negative weight: computed exactly, loss and both gradients right', () => {
    const n = 4, d = 8, sigma = 0.3, tau = 0.2;
    const e = (k: number) => Array.from({ length: d }, (_, j) => (j === k ? 1 : 0));
    const z1 = new Float64Array([...e(0), ...e(1), ...e(2), ...e(3)]);
    const z2 = new Float64Array([...e(0), ...e(4), ...e(5), ...e(6)]);
    // perturb so that the gradients are generic, keeping the pair structure
    for (let k = 0; k < n * d; k++) {
      z1[k] += 0.05 * rng.gaussian();
      z2[k] += 0.05 * rng.gaussian();
    }
    const r = referenceLoss(z1, z2, n, d, { loss: 'dclw', temperature: tau, sigma });
    const w = r.weights!;
    expect(w[0]).toBeLessThan(-1);
    expect(w.reduce((s, v) => s + v, 0) / n).toBeCloseTo(1, 13);
    // value: lse_a − w_{a mod N} s⁺_a, with the negative weight rewarding dissimilarity of pair 0
    for (let a = 0; a < 2 * n; a++) expect(r.perAnchor[a]).toBeCloseTo(r.lse[a] - w[a % n] * r.sPos[a % n], 13);
    // gradients, detached and with weightGrad, against finite differences
    const fdDetached = finiteDifferences((a, b) => dclwValueFrozen(a, b, n, d, w, tau), z1, z2, n, d);
    expect(distance(r.gradZ1, r.gradZ2, fdDetached.gradZ1, fdDetached.gradZ2)).toBeLessThanOrEqual(1e-6 * norm(fdDetached.gradZ1, fdDetached.gradZ2));
    const full: LossOptions = { loss: 'dclw', temperature: tau, sigma, weightGrad: true };
    const rFull = referenceLoss(z1, z2, n, d, full);
    const fdFull = finiteDifferences((a, b) => referenceLossValue(a, b, n, d, full), z1, z2, n, d);
    expect(distance(rFull.gradZ1, rFull.gradZ2, fdFull.gradZ1, fdFull.gradZ2)).toBeLessThanOrEqual(1e-6 * norm(fdFull.gradZ1, fdFull.gradZ2));
    // weightGrad changes the gradient, not the value
    expect(rFull.loss).toBe(r.loss);
    const change = distance(rFull.gradZ1, rFull.gradZ2, r.gradZ1, r.gradZ2) / norm(r.gradZ1, r.gradZ2);
    expect(change).toBeGreaterThan(0.05);
  });
});

describe(`tiny temperatures (seed ${rng.seed})`, () => {
  for (const tau of [0.01, 1e-3]) {
    it(`τ = ${tau}: every loss finite, gradients finite, on every input family`, () => {
      for (const loss of LOSS_NAMES) {
        for (const kind of INPUT_KINDS) {
          for (const weightGrad of [false, true]) {
            const { z1, z2 } = makeViews(kind, 8, 16, rng);
            const r = referenceLoss(z1, z2, 8, 16, { loss, temperature: tau, weightGrad });
            const where = `${loss}, ${kind}, weightGrad ${weightGrad}, seed ${rng.seed}`;
            expect(Number.isFinite(r.loss), where).toBe(true);
            expect([...r.perAnchor, ...r.lse, ...r.sPos].every(Number.isFinite), where).toBe(true);
            expect([...r.gradZ1, ...r.gradZ2].every(Number.isFinite), where).toBe(true);
            // at τ = 1e-3 an NT-Xent gradient on near-duplicates is ~σ(−500): it underflows to 0, rightly
            if (tau === 0.01) expect(norm(r.gradZ1, r.gradZ2), where).toBeGreaterThan(0);
          }
        }
      }
    });
  }

  it('τ = 1e-3 hand values, where a naive exp(1/τ) = exp(1000) overflows', () => {
    const z1 = [1, 0, 0, 0, 1, 0], z2 = [1, 0, 0, 0, 1, 0];
    const tau = 1e-3;
    expect(referenceLoss(z1, z2, 2, 3, { loss: 'dcl', temperature: tau }).loss).toBeCloseTo(Math.log(2) - 1000, 10);
    expect(referenceLoss(z1, z2, 2, 3, { loss: 'ntxent', temperature: tau }).loss).toBe(0); // log(1 + 2e^{−1000}) underflows to 0
    // dualtemp: f = (1 + e^{1000})/(1 + e^{100}) overflows, but f·(−log P) → (1 − Q)·1 = 1/(1 + e^{100})
    const dual = referenceLoss(z1, z2, 2, 3, { loss: 'dualtemp', temperature: tau });
    expect(dual.loss / (1 / (1 + Math.exp(100)))).toBeCloseTo(1, 12);
    expect([...dual.gradZ1, ...dual.gradZ2].every(Number.isFinite)).toBe(true);
  });

  it('τ = 0.01: gradients still match finite differences (near-duplicate views)', () => {
    const n = 5, d = 6, tau = 0.01;
    const { z1, z2 } = makeViews('nearDuplicate', n, d, rng);
    for (const loss of ['ntxent', 'dcl'] as const) {
      const r = referenceLoss(z1, z2, n, d, { loss, temperature: tau });
      // smaller step: the loss curves on a 1/τ = 100 scale
      const fd = finiteDifferences((a, b) => referenceLossValue(a, b, n, d, { loss, temperature: tau }), z1, z2, n, d, 1e-6);
      const err = distance(r.gradZ1, r.gradZ2, fd.gradZ1, fd.gradZ2);
      expect(err, `${loss}, seed ${rng.seed}`).toBeLessThanOrEqual(1e-5 * Math.max(norm(fd.gradZ1, fd.gradZ2), 1e-8));
    }
  });
});
