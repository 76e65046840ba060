/**
 * MATH.md's second wave, values: CLIP's loss written independently equals `ntxent` with
 * `negatives: 'cross'` (and its logit-scale gradient is −τ·∂L/∂τ); the bank form of `ntxent`
 * is a cross-entropy over `[s⁺, bank logits]` with label 0; naive full-matrix forms of every
 * other loss in 'cross' and bank form; hand cases with exact values for ∂L/∂τ and the
 * diagnostics; defaults unchanged; the shapes of the bank form.
 */

import { describe, expect, it } from 'vitest';
import { LOSS_NAMES, type LossName, type LossOptions } from '../../src/options.js';
import { referenceLoss, referenceLossValue } from '../../src/reference/index.js';
import { freshRng, INPUT_KINDS, makeBank, makeViews } from './helpers.js';

const rng = freshRng('second-wave-values.test');
const DIGITS = 12;

/** Rows of a flat row-major array, L2-normalized (max with 1e-12, as MATH.md). */
function unitRows(z: ArrayLike<number>, d: number): number[][] {
  return Array.from({ length: z.length / d }, (_, i) => {
    const r = Array.from({ length: d }, (_, k) => z[i * d + k]);
    const len = Math.max(Math.hypot(...r), 1e-12);
    return r.map((v) => v / len);
  });
}
const dot = (x: number[], y: number[]) => x.reduce((s, v, k) => s + v * y[k], 0);
/** log Σ exp, shifted by the max. */
const lse = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};
/**
 * Cross-entropy of one row of logits with the given label, as `log1p(Σ_{j≠label} e^{x_j − x_label})`:
 * `lse(x) − x_label` would lose every digit of a dominant label's tiny loss.
 */
const crossEntropy = (logits: number[], label: number) =>
  Math.log1p(logits.reduce((s, x, j) => s + (j === label ? 0 : Math.exp(x - logits[label])), 0));
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const relClose = (got: number, want: number, rel: number, what: string) =>
  expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));

describe(`negatives: 'cross' (seed ${rng.seed})`, () => {
  it("ntxent with 'cross' is CLIP's ½(CE(logits, diag) + CE(logitsᵀ, diag)); ∂L/∂logit_scale = −τ ∂L/∂τ", () => {
    for (const [n, d] of [[2, 1], [3, 4], [8, 16], [17, 5]] as const) {
      for (const tau of [0.01, 0.07, 0.5]) {
        for (const kind of INPUT_KINDS) {
          const { z1, z2 } = makeViews(kind, n, d, rng);
          const image = unitRows(z1, d), text = unitRows(z2, d);
          const logits = image.map((x) => text.map((y) => dot(x, y) / tau));
          const logitsT = logits[0].map((_, j) => logits.map((row) => row[j]));
          const rowsCE = logits.map((row, i) => crossEntropy(row, i));
          const colsCE = logitsT.map((col, j) => crossEntropy(col, j));
          const clip = 0.5 * (mean(rowsCE) + mean(colsCE));
          // CLIP's logit_scale is log s, s = 1/τ: d CE(s·A)/d log s = s·(E_softmax[A] − A_ii) per row
          const softmaxMean = (row: number[]) => { const l = lse(row); return row.reduce((s, x) => s + Math.exp(x - l) * x * tau, 0); };
          const dScale = 0.5 * (mean(logits.map((row, i) => softmaxMean(row) - row[i] * tau)) + mean(logitsT.map((col, j) => softmaxMean(col) - col[j] * tau)));
          const where = `seed ${rng.seed}, N=${n}, D=${d}, τ=${tau}, ${kind}`;
          const r = referenceLoss(z1, z2, n, d, { loss: 'ntxent', temperature: tau, negatives: 'cross' });
          relClose(r.loss, clip, 1e-12, `loss, ${where}`);
          [...rowsCE, ...colsCE].forEach((v, a) => relClose(r.perAnchor[a], v, 1e-12, `perAnchor[${a}], ${where}`));
          relClose(-tau * r.gradTemperature, dScale / tau, 1e-10, `∂L/∂logit_scale, ${where}`);
        }
      }
    }
  });

  it("every pairwise loss with 'cross' equals a naive masked full-matrix form", () => {
    for (const loss of ['ntxent', 'dcl', 'dclw', 'flatnce'] as const) {
      for (const [n, d] of [[2, 3], [5, 4], [9, 8]] as const) {
        for (const tau of [0.05, 0.5]) {
          const { z1, z2 } = makeViews('gaussian', n, d, rng);
          const sigma = 0.2 + rng.uniform();
          const U = [...unitRows(z1, d), ...unitRows(z2, d)];
          const r = U.slice(0, n).map((x, i) => dot(x, U[i + n]) / sigma);
          const w = r.map((v) => 2 - n * Math.exp(v - lse(r)));
          const naive = U.map((x, a) => {
            const p = (a + n) % (2 * n);
            const cands = U.map((y, b) => ({ b, s: dot(x, y) / tau })).filter(({ b }) => b !== p && (a < n) !== (b < n));
            const negLse = lse(cands.map((c) => c.s));
            const sPos = dot(x, U[p]) / tau;
            if (loss === 'dcl') return negLse - sPos;
            if (loss === 'dclw') return negLse - w[a % n] * sPos;
            return lse([sPos, ...cands.map((c) => c.s)]) - sPos; // ntxent, flatnce's value
          });
          const got = referenceLoss(z1, z2, n, d, { loss, temperature: tau, sigma, negatives: 'cross' });
          const where = `${loss}, seed ${rng.seed}, N=${n}, D=${d}, τ=${tau}`;
          naive.forEach((v, a) => relClose(got.perAnchor[a], v, 1e-11, `perAnchor[${a}], ${where}`));
          relClose(got.loss, mean(naive), 1e-11, where);
        }
      }
    }
  });

  it("dualtemp: 'cross' is its default, and naming it changes nothing", () => {
    const { z1, z2 } = makeViews('gaussian', 4, 3, rng);
    expect(referenceLoss(z1, z2, 4, 3, { loss: 'dualtemp', negatives: 'cross' })).toEqual(referenceLoss(z1, z2, 4, 3, { loss: 'dualtemp' }));
  });
});

describe(`bank (seed ${rng.seed})`, () => {
  it('ntxent in bank form is the cross-entropy over [s⁺, bank logits] with label 0', () => {
    for (const [n, d, k] of [[1, 3, 1], [2, 1, 7], [5, 8, 64], [9, 4, 3]] as const) {
      for (const tau of [0.01, 0.07, 0.5]) {
        const { z1, z2 } = makeViews('nearDuplicate', n, d, rng);
        const bank = makeBank(k, d, rng, z1);
        const a = unitRows(z1, d), p = unitRows(z2, d), b = unitRows(bank, d);
        const ce = a.map((x, i) => crossEntropy([dot(x, p[i]) / tau, ...b.map((y) => dot(x, y) / tau)], 0));
        const r = referenceLoss(z1, z2, n, d, { loss: 'ntxent', temperature: tau, bank });
        const where = `seed ${rng.seed}, N=${n}, D=${d}, K=${k}, τ=${tau}`;
        ce.forEach((v, i) => relClose(r.perAnchor[i], v, 1e-12, `perAnchor[${i}], ${where}`));
        relClose(r.loss, mean(ce), 1e-12, where);
        a.forEach((x, i) => relClose(r.lse[i], lse(b.map((y) => dot(x, y) / tau)), 1e-12, `lse[${i}], ${where}`));
      }
    }
  });

  it('dcl, dclw, flatnce and dualtemp in bank form equal naive forms', () => {
    for (const loss of ['dcl', 'dclw', 'flatnce', 'dualtemp'] as const) {
      for (const [n, d, k] of [[1, 2, 1], [3, 4, 5], [6, 8, 20]] as const) {
        for (const tau of [0.05, 0.5]) {
          const { z1, z2 } = makeViews('gaussian', n, d, rng);
          const bank = makeBank(k, d, rng, z1);
          const sigma = 0.2 + rng.uniform(), m = 1 + 10 * rng.uniform();
          const a = unitRows(z1, d), p = unitRows(z2, d), b = unitRows(bank, d);
          const r = a.map((x, i) => dot(x, p[i]) / sigma);
          const w = r.map((v) => 2 - n * Math.exp(v - lse(r)));
          const naive = a.map((x, i) => {
            const sPos = dot(x, p[i]) / tau;
            const bankLogits = b.map((y) => dot(x, y) / tau);
            if (loss === 'dcl') return lse(bankLogits) - sPos;
            if (loss === 'dclw') return lse(bankLogits) - w[i] * sPos;
            if (loss === 'flatnce') return lse([sPos, ...bankLogits]) - sPos;
            // dualtemp: f = (1 − Q_0)/(1 − P_0), 1 − P_0 as the negatives' mass; −log P_0 = CE
            const all = [sPos, ...bankLogits];
            const negMass = (t: number) => { const xs = all.map((v) => v * tau / t); const l = lse(xs); return xs.slice(1).reduce((s, v) => s + Math.exp(v - l), 0); };
            return (negMass(tau * m) / negMass(tau)) * crossEntropy(all, 0);
          });
          const got = referenceLoss(z1, z2, n, d, { loss, temperature: tau, sigma, dtM: m, bank });
          const where = `${loss}, seed ${rng.seed}, N=${n}, D=${d}, K=${k}, τ=${tau}`;
          naive.forEach((v, i) => relClose(got.perAnchor[i], v, 1e-10, `perAnchor[${i}], ${where}`));
          relClose(got.loss, mean(naive), 1e-10, where);
          relClose(referenceLossValue(z1, z2, n, d, { loss, temperature: tau, sigma, dtM: m, bank }), got.loss, 1e-13, where);
        }
      }
    }
  });

  it.each(LOSS_NAMES)('%s: N entries, the bank unchanged (Float32Array and Float64Array alike), N = 1 allowed', (loss: LossName) => {
    for (const n of [1, 4]) {
      const d = 3, k = 5;
      const { z1, z2 } = makeViews('gaussian', n, d, rng);
      const bank64 = makeBank(k, d, rng);
      const bank32 = Float32Array.from(bank64);
      const copy = bank32.slice();
      const r = referenceLoss(z1, z2, n, d, { loss, bank: bank32 });
      expect(bank32).toEqual(copy);
      expect(r.perAnchor).toHaveLength(n);
      expect(r.lse).toHaveLength(n);
      expect(r.sPos).toHaveLength(n);
      expect(r.gradZ1).toHaveLength(n * d);
      expect(r.gradZ2).toHaveLength(n * d);
      if (loss === 'dualtemp') expect(r.dualFactors).toHaveLength(n);
      expect(referenceLoss(z1, z2, n, d, { loss, bank: Float64Array.from(bank32) })).toEqual(r);
      expect(Number.isNaN(r.diagnostics.uniformity)).toBe(n === 1); // no pairs with N = 1
    }
  });

  it('hand case N = 1, K = 1: s⁺ = cos θ/τ, the bank logit 0', () => {
    const tau = 0.2, theta = 0.7;
    const z1 = [2, 0], z2 = [Math.cos(theta), Math.sin(theta)], bank = new Float64Array([0, 3]);
    const c = Math.cos(theta) / tau;
    expect(referenceLoss(z1, z2, 1, 2, { loss: 'dcl', temperature: tau, bank }).loss).toBeCloseTo(-c, DIGITS);
    expect(referenceLoss(z1, z2, 1, 2, { loss: 'dclw', temperature: tau, bank }).loss).toBeCloseTo(-c, DIGITS); // N = 1: w = 1
    expect(referenceLoss(z1, z2, 1, 2, { loss: 'ntxent', temperature: tau, bank }).loss).toBeCloseTo(Math.log1p(Math.exp(-c)), DIGITS);
    // ∂/∂τ of −cos θ/τ is cos θ/τ²
    expect(referenceLoss(z1, z2, 1, 2, { loss: 'dcl', temperature: tau, bank }).gradTemperature).toBeCloseTo(Math.cos(theta) / tau ** 2, 10);
  });
});

/*
 * The orthogonal hand case of values.test.ts: z1 = [a·e1, b·e2], z2 = [c·e1, e·e2], so every
 * anchor has s⁺ = 1/τ and candidates of similarity 0 (two with 'all', one with 'cross').
 */
const Z1 = [2, 0, 0, 0, 0.5, 0];
const Z2 = [3, 0, 0, 0, 7, 0];

describe('∂L/∂τ, hand cases (N = 2, orthogonal e1, e2)', () => {
  for (const tau of [0.1, 0.5, 1]) {
    const e = Math.exp(-1 / tau);
    it(`τ=${tau}: ntxent, dcl, flatnce, dclw, dualtemp, 'all' and 'cross'`, () => {
      const g = (o: LossOptions) => referenceLoss(Z1, Z2, 2, 3, { temperature: tau, ...o }).gradTemperature;
      // ntxent: ℓ = log(1 + K e^{−1/τ}) with K candidates ⇒ ∂ℓ/∂τ = K e^{−1/τ}/(τ²(1 + K e^{−1/τ}))
      expect(g({ loss: 'ntxent' })).toBeCloseTo((2 * e) / (tau ** 2 * (1 + 2 * e)), DIGITS);
      expect(g({ loss: 'ntxent', negatives: 'cross' })).toBeCloseTo(e / (tau ** 2 * (1 + e)), DIGITS);
      // dcl, flatnce (DCL gradient), dclw (w = 1): ℓ = log K − 1/τ ⇒ 1/τ²
      for (const loss of ['dcl', 'flatnce', 'dclw'] as const) {
        expect(g({ loss }) * tau ** 2).toBeCloseTo(1, DIGITS);
        expect(g({ loss, negatives: 'cross' }) * tau ** 2).toBeCloseTo(1, DIGITS);
      }
      // dualtemp, f detached: f·∂(−log P)/∂τ = f(1 − P)/τ² = (1 − Q)/τ², Q at τ·m
      for (const m of [10, 3]) expect(g({ loss: 'dualtemp', dtM: m }) * tau ** 2).toBeCloseTo(1 / (1 + Math.exp(1 / (tau * m))), DIGITS);
    });
  }
});

describe('diagnostics, hand cases', () => {
  /*
   * z1 = [e1, e2], z2 = [e1, −e1] (raw lengths arbitrary): alignment = (0 + ‖e2 + e1‖²)/2 = 1;
   * uniformity: view 1 has ‖e1 − e2‖² = 2 ⇒ log e^{−4} = −4, view 2 ‖2e1‖² = 4 ⇒ −8; mean −6.
   * U = [e1, e2, e1, −e1], s⁺ = [1/τ, 0]. 'all': lse = [log(1 + e^{−1/τ}), log 2,
   * log(1 + e^{−1/τ}), log 2 − 1/τ]; 'cross': lse = [−1/τ, 0, 0, −1/τ].
   */
  const z1 = [3, 0, 0, 0, 0.2, 0], z2 = [1, 0, 0, -5, 0, 0];
  for (const tau of [0.1, 0.5]) {
    const E = Math.exp(1 / tau);
    it(`τ=${tau}: alignment 1, uniformity −6, positive probabilities by hand`, () => {
      for (const loss of ['ntxent', 'dcl', 'dclw', 'flatnce'] as const) {
        const all = referenceLoss(z1, z2, 2, 3, { loss, temperature: tau }).diagnostics;
        expect(all.alignment).toBeCloseTo(1, DIGITS);
        expect(all.uniformity).toBeCloseTo(-6, DIGITS);
        const pAll = [E / (E + 1 + 1 / E), 1 / 3, E / (E + 1 + 1 / E), 1 / (1 + 2 / E)];
        expect(all.positiveProbability).toBeCloseTo(mean(pAll), DIGITS);
        expect(all.npcMultiplier).toBeCloseTo(1 - mean(pAll), DIGITS);
        const cross = referenceLoss(z1, z2, 2, 3, { loss, temperature: tau, negatives: 'cross' }).diagnostics;
        const sig = (x: number) => 1 / (1 + Math.exp(-x));
        expect(cross.positiveProbability).toBeCloseTo(mean([sig(2 / tau), 0.5, sig(1 / tau), sig(1 / tau)]), DIGITS);
        expect(cross.alignment).toBe(all.alignment);
        expect(cross.uniformity).toBe(all.uniformity);
      }
    });
  }

  it(`npcMultiplier = 1 − positiveProbability; uniformity and alignment use the batch views in bank form (seed ${rng.seed})`, () => {
    for (const loss of LOSS_NAMES) {
      for (const form of ['all', 'cross', 'bank'] as const) {
        if (loss === 'dualtemp' && form === 'all') continue;
        for (const tau of [0.01, 0.1, 1]) {
          const n = 6, d = 5;
          const { z1, z2 } = makeViews('nearDuplicate', n, d, rng);
          const o: LossOptions = { loss, temperature: tau, ...(form === 'cross' && loss !== 'dualtemp' ? { negatives: 'cross' } : {}) };
          if (form === 'bank') o.bank = makeBank(9, d, rng, z1);
          const r = referenceLoss(z1, z2, n, d, o).diagnostics;
          const where = `${loss}, ${form}, τ=${tau}, seed ${rng.seed}`;
          expect(Math.abs(r.npcMultiplier - (1 - r.positiveProbability)), where).toBeLessThanOrEqual(1e-15);
          expect(r.positiveProbability, where).toBeGreaterThanOrEqual(0);
          expect(r.positiveProbability, where).toBeLessThanOrEqual(1);
          const inBatch = referenceLoss(z1, z2, n, d, { loss, temperature: tau }).diagnostics;
          expect(r.alignment, where).toBe(inBatch.alignment);
          expect(r.uniformity, where).toBe(inBatch.uniformity);
          // alignment = 2 − 2 mean cos for unit rows
          const a = unitRows(z1, d), b = unitRows(z2, d);
          relClose(r.alignment, mean(a.map((x, i) => 2 - 2 * dot(x, b[i]))), 1e-13, where);
        }
      }
    }
  });
});

describe('defaults leave every first-wave result unchanged', () => {
  it.each(LOSS_NAMES)('%s', (loss: LossName) => {
    const { z1, z2 } = makeViews('gaussian', 5, 4, rng);
    const base = referenceLoss(z1, z2, 5, 4, { loss });
    const explicit = referenceLoss(z1, z2, 5, 4, {
      loss,
      gradTemperature: true,
      diagnostics: true,
      ...(loss === 'dualtemp' ? {} : { negatives: 'all' as const }),
    });
    expect(explicit).toEqual(base);
    expect(base.perAnchor).toHaveLength(10);
  });
});
