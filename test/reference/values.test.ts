/**
 * Reference values: hand-computed closed forms (values, statistics and gradients) for every
 * loss, an independent naive implementation on random inputs, and the shape of the result.
 */

import { describe, expect, it } from 'vitest';
import { LOSS_NAMES, type LossName } from '../../src/options.js';
import { referenceLoss, referenceLossValue, type ReferenceResult } from '../../src/reference/index.js';
import { freshRng, makeViews, naivePerAnchor } from './helpers.js';

const rng = freshRng('values.test');
const DIGITS = 12;
const softplus = (x: number) => Math.log1p(Math.exp(x)); // |x| is small in these hand cases
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Expect `actual` to equal `expected` entry by entry to DIGITS decimals. */
function expectArrayClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) expect(actual[k], `${what}[${k}]`).toBeCloseTo(expected[k], DIGITS);
}

/**
 * Hand case: N = 2, D = 3, both views are the orthogonal directions e1, e2 with arbitrary
 * lengths (so the normalization's 1/|z| shows in the gradient):
 *   z1 = [a·e1, b·e2], z2 = [c·e1, e·e2],   U = [e1, e2, e1, e2].
 * Every anchor has s⁺ = 1/τ and two negatives with similarity 0, so lse_a = log 2.
 *
 * Gradient, derived directly (not from MATH.md's backward rule): rotate row 0 of z1 by θ
 * towards e2. S_01 = S_03 = sinθ/τ, s⁺ is flat at θ = 0, so d lse_0 = 1/τ, d lse_1 = d lse_3 =
 * 1/(2τ) (one of two equal negatives moves), and with c = ∂ℓ/∂lse:
 *   dL/dθ = (1/4)(c/τ + c/(2τ) + c/(2τ)) = c/(2τ),   ∂L/∂z1_0 = c/(2τ·a) · e2
 * and by symmetry every row's gradient is c/(2τ·|z|) times the other basis vector.
 */
const A = 2, B = 0.5, C = 3, E = 7;
const Z1 = [A, 0, 0, 0, B, 0];
const Z2 = [C, 0, 0, 0, E, 0];

/** The hand gradient `c/(2τ|z|)·(other basis vector)` for both views. */
function handGradient(coefficient: number, tau: number): { g1: number[]; g2: number[] } {
  const k = coefficient / (2 * tau);
  return { g1: [0, k / A, 0, k / B, 0, 0], g2: [0, k / C, 0, k / E, 0, 0] };
}

function expectHand(r: ReferenceResult, loss: number, perAnchor: number[], lse: number, sPos: number, grad: { g1: number[]; g2: number[] }) {
  expect(r.loss).toBeCloseTo(loss, DIGITS);
  expectArrayClose(r.perAnchor, perAnchor, 'perAnchor');
  expectArrayClose(r.lse, [lse, lse, lse, lse], 'lse');
  expectArrayClose(r.sPos, [sPos, sPos], 'sPos');
  expectArrayClose(r.gradZ1, grad.g1, 'gradZ1');
  expectArrayClose(r.gradZ2, grad.g2, 'gradZ2');
}

describe('hand-computed cases (N = 2, orthogonal e1, e2)', () => {
  for (const tau of [0.1, 0.5, 1]) {
    it(`ntxent, τ=${tau}: ℓ = log(1 + 2e^{−1/τ}), c = σ(log 2 − 1/τ)`, () => {
      const l = Math.log(1 + 2 * Math.exp(-1 / tau));
      const r = referenceLoss(Z1, Z2, 2, 3, { loss: 'ntxent', temperature: tau });
      expectHand(r, l, [l, l, l, l], Math.log(2), 1 / tau, handGradient(sigmoid(Math.log(2) - 1 / tau), tau));
    });

    it(`dcl, τ=${tau}: ℓ = log 2 − 1/τ, c = 1`, () => {
      const l = Math.log(2) - 1 / tau;
      const r = referenceLoss(Z1, Z2, 2, 3, { loss: 'dcl', temperature: tau });
      expectHand(r, l, [l, l, l, l], Math.log(2), 1 / tau, handGradient(1, tau));
    });

    it(`dclw, τ=${tau}: all r equal ⇒ w = 1 ⇒ DCL (detached and weightGrad alike)`, () => {
      const l = Math.log(2) - 1 / tau;
      for (const weightGrad of [false, true]) {
        const r = referenceLoss(Z1, Z2, 2, 3, { loss: 'dclw', temperature: tau, sigma: 0.3, weightGrad });
        expectHand(r, l, [l, l, l, l], Math.log(2), 1 / tau, handGradient(1, tau));
        expectArrayClose(r.weights!, [1, 1], 'weights');
      }
    });

    it(`flatnce, τ=${tau}: NT-Xent value, DCL gradient`, () => {
      const l = Math.log(1 + 2 * Math.exp(-1 / tau));
      const r = referenceLoss(Z1, Z2, 2, 3, { loss: 'flatnce', temperature: tau });
      expectHand(r, l, [l, l, l, l], Math.log(2), 1 / tau, handGradient(1, tau));
    });

    /*
     * Dual temperature on the same inputs: A = I. Each row and column has logits [1/τ, 0]
     * (positive, one negative), so −log P = log(1 + e^{−1/τ}), 1 − P = 1/(1 + e^{1/τ}),
     * 1 − Q = 1/(1 + e^{1/(τm)}), f = (1 + e^{1/τ})/(1 + e^{1/(τm)}), lse (negatives) = 0.
     * Gradient: rotating z1_0 by θ towards e2 moves A_01 = sinθ, a negative of row 0 and of
     * column 1, each by P_neg/τ = (1 − P)/τ in −log P; so dL/dθ = ½·(1/2)·2·f(1 − P)/τ =
     * (1 − Q)/(2τ), and ∂L/∂z1_0 = (1 − Q)/(2τ·a)·e2 — the hand gradient with c = 1 − Q.
     */
    for (const m of [10, 3]) {
      it(`dualtemp, τ=${tau}, m=${m}: A = I`, () => {
        const negLogP = Math.log(1 + Math.exp(-1 / tau));
        const f = (1 + Math.exp(1 / tau)) / (1 + Math.exp(1 / (tau * m)));
        const oneMinusQ = 1 / (1 + Math.exp(1 / (tau * m)));
        const l = f * negLogP;
        const r = referenceLoss(Z1, Z2, 2, 3, { loss: 'dualtemp', temperature: tau, dtM: m });
        // f reaches e^{10} at τ = 0.1: compare relative to it
        expectArrayClose(r.dualFactors!.map((v) => v / f), [1, 1, 1, 1], 'dualFactors / f');
        expectHand(r, l, [l, l, l, l], 0, 1 / tau, handGradient(oneMinusQ, tau));
      });
    }

    /*
     * DCLW with unequal weights: z1 = [e1, e2], z2 = [e1, e3]. r = [1/σ, 0], so
     * π_0 = 1/(1 + e^{−1/σ}), w = [2 − 2π_0, 2π_0]. U = [e1, e2, e1, e3]: every negative
     * similarity is 0 (lse = log 2), s⁺ = [1/τ, 0], so ℓ = [log 2 − w_0/τ, log 2, same, log 2]
     * and L = log 2 − w_0/(2τ).
     */
    it(`dclw, τ=${tau}: unequal weights w = [2 − 2π_0, 2π_0]`, () => {
      const sigma = 0.5;
      const pi0 = 1 / (1 + Math.exp(-1 / sigma));
      const w = [2 - 2 * pi0, 2 * pi0];
      const r = referenceLoss([1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, 1], 2, 3, { loss: 'dclw', temperature: tau, sigma });
      expectArrayClose(r.weights!, w, 'weights');
      const l0 = Math.log(2) - w[0] / tau;
      expect(r.loss).toBeCloseTo(Math.log(2) - w[0] / (2 * tau), DIGITS);
      expectArrayClose(r.perAnchor, [l0, Math.log(2), l0, Math.log(2)], 'perAnchor');
      expectArrayClose(r.sPos, [1 / tau, 0], 'sPos');
    });
  }

  it('ntxent at its default τ = 0.5 (no temperature given)', () => {
    const r = referenceLoss(Z1, Z2, 2, 3, { loss: 'ntxent' });
    expect(r.loss).toBeCloseTo(softplus(Math.log(2) - 2), DIGITS);
  });

  it('defaults: τ = 0.1 for dcl, dclw, flatnce, dualtemp; m = 10', () => {
    expect(referenceLoss(Z1, Z2, 2, 3, { loss: 'dcl' }).loss).toBeCloseTo(Math.log(2) - 10, DIGITS);
    expect(referenceLoss(Z1, Z2, 2, 3, { loss: 'dclw' }).loss).toBeCloseTo(Math.log(2) - 10, DIGITS);
    expect(referenceLoss(Z1, Z2, 2, 3, { loss: 'flatnce' }).loss).toBeCloseTo(Math.log(1 + 2 * Math.exp(-10)), DIGITS);
    const f = (1 + Math.exp(10)) / (1 + Math.exp(1));
    expect(referenceLoss(Z1, Z2, 2, 3, { loss: 'dualtemp' }).loss).toBeCloseTo(f * Math.log(1 + Math.exp(-10)), DIGITS);
  });
});

describe(`against a naive full-matrix implementation (seed ${rng.seed})`, () => {
  for (const loss of LOSS_NAMES) {
    it(`${loss}: per-anchor values, statistics and L = mean(perAnchor)`, () => {
      for (const [n, d] of [[2, 1], [2, 4], [5, 3], [9, 16]] as const) {
        for (const tau of [0.05, 0.1, 0.5, 1]) {
          for (const kind of ['gaussian', 'nearDuplicate', 'mixedNorms'] as const) {
            const { z1, z2 } = makeViews(kind, n, d, rng);
            const sigma = 0.2 + rng.uniform();
            const m = 1 + 10 * rng.uniform();
            const r = referenceLoss(z1, z2, n, d, { loss, temperature: tau, sigma, dtM: m });
            const naive = naivePerAnchor(z1, z2, n, d, loss, tau, sigma, m);
            const where = `seed ${rng.seed}, N=${n}, D=${d}, τ=${tau}, ${kind}`;
            for (let a = 0; a < 2 * n; a++) {
              expect(Math.abs(r.perAnchor[a] - naive[a]), where).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(naive[a])));
            }
            const mean = r.perAnchor.reduce((s, v) => s + v, 0) / (2 * n);
            expect(r.loss, where).toBeCloseTo(mean, 14);
            expect(referenceLossValue(z1, z2, n, d, { loss, temperature: tau, sigma, dtM: m }), where).toBeCloseTo(r.loss, 13);
            // s⁺_i = u1_i·u2_i / τ
            for (let i = 0; i < n; i++) {
              let dot = 0, n1 = 0, n2 = 0;
              for (let k = 0; k < d; k++) {
                dot += z1[i * d + k] * z2[i * d + k];
                n1 += z1[i * d + k] ** 2;
                n2 += z2[i * d + k] ** 2;
              }
              expect(r.sPos[i], where).toBeCloseTo(dot / Math.sqrt(n1 * n2) / tau, 10);
            }
          }
        }
      }
    });
  }
});

describe('result shape and input handling', () => {
  const n = 4, d = 5;
  const { z1, z2 } = makeViews('gaussian', n, d, rng);

  it.each(LOSS_NAMES)('%s: lengths and optional fields', (loss: LossName) => {
    const r = referenceLoss(z1, z2, n, d, { loss });
    expect(r.perAnchor).toHaveLength(2 * n);
    expect(r.lse).toHaveLength(2 * n);
    expect(r.sPos).toHaveLength(n);
    expect(r.gradZ1).toHaveLength(n * d);
    expect(r.gradZ2).toHaveLength(n * d);
    expect(r.weights !== undefined).toBe(loss === 'dclw');
    expect(r.dualFactors !== undefined).toBe(loss === 'dualtemp');
    if (loss === 'dclw') expect(r.weights).toHaveLength(n);
    if (loss === 'dualtemp') expect(r.dualFactors).toHaveLength(2 * n);
    expect(r.gradZ1.buffer).not.toBe(r.gradZ2.buffer);
  });

  it.each(LOSS_NAMES)('%s: Float32Array, Float64Array and number[] inputs agree; inputs untouched', (loss: LossName) => {
    const f32a = Float32Array.from(z1), f32b = Float32Array.from(z2);
    const copyA = f32a.slice(), copyB = f32b.slice();
    const from32 = referenceLoss(f32a, f32b, n, d, { loss });
    const from64 = referenceLoss(Float64Array.from(f32a), Float64Array.from(f32b), n, d, { loss });
    const fromArr = referenceLoss(Array.from(f32a), Array.from(f32b), n, d, { loss });
    expect(from32).toEqual(from64);
    expect(fromArr).toEqual(from64);
    expect(f32a).toEqual(copyA);
    expect(f32b).toEqual(copyB);
  });

  it('a zero row normalizes to 0 and stays finite', () => {
    const zeroed = z1.slice();
    zeroed.fill(0, 0, d);
    for (const loss of LOSS_NAMES) {
      const r = referenceLoss(zeroed, z2, n, d, { loss });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect([...r.gradZ1, ...r.gradZ2].every(Number.isFinite)).toBe(true);
      expect(r.sPos[0]).toBe(0);
    }
  });
});
