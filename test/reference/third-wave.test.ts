/**
 * MATH.md's third wave in the float64 reference: `supcon` and `siglip`.
 *
 * - Gradients (z1, z2, τ and SigLIP's b) against central finite differences of the reported
 *   value, on fresh random inputs (seed printed; REF_SEED=<n> reproduces). Criterion as in
 *   second-wave-gradients.test.ts: ‖g − g_fd‖ ≤ 1e-6·max(‖g_fd‖, 1e-8) for the views,
 *   |g − g_fd| ≤ max(1e-6·|g_fd|, noise) for the scalars, noise = 100·ε·(1 + |L|)/h.
 * - Values against naive full-matrix forms written as SupContrast and open_clip compute them.
 * - MATH.md's special cases: all labels distinct (= NT-Xent with the positive in the
 *   denominator, ∂L/∂τ larger by L/τ through the factor τ/τ_base), one class, labels that are
 *   not 0..C−1 (negative, large, sparse: only equality matters), SigLIP at N = 2 written out
 *   by hand at b = 0 and −10 and τ = 0.05.
 * - Options that do not apply, and bad labels, are errors naming the option.
 */

import { describe, expect, it } from 'vitest';
import type { LossOptions } from '../../src/options.js';
import { referenceLoss, referenceLossValue } from '../../src/reference/index.js';
import { distance, finiteDifferences, freshRng, INPUT_KINDS, makeViews, naiveSigLip, naiveSupCon, norm, type Rng } from './helpers.js';

const rng = freshRng('third-wave.test');

/** Labels for N samples: `classes` classes drawn at random (every class used when classes ≤ N). */
function randomLabels(n: number, classes: number, r: Rng): Int32Array {
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i < classes ? i : Math.floor(r.uniform() * classes);
  // shuffle so that the same-class rows are not always the last ones
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  return labels;
}

/** Labels that are not 0..C−1: each class c mapped injectively to a negative, large or sparse int32. */
const SPARSE_CODES = [-2147483648, -7, 0, 1000003, 2147483647, 42, -1, 65536];
const sparse = (labels: Int32Array) => labels.map((c) => (c < SPARSE_CODES.length ? SPARSE_CODES[c] : -1000 - 7 * c));

const worst: Record<string, number> = {};
const record = (key: string, rel: number) => (worst[key] = Math.max(worst[key] ?? 0, rel));

/** Check the views' gradient and the scalar gradients of `options` against central differences. */
function checkAgainstFiniteDifferences(z1: Float64Array, z2: Float64Array, n: number, d: number, options: LossOptions, key: string, where: string): void {
  const ref = referenceLoss(z1, z2, n, d, options);
  const fd = finiteDifferences((a, b) => referenceLossValue(a, b, n, d, options), z1, z2, n, d);
  const err = distance(ref.gradZ1, ref.gradZ2, fd.gradZ1, fd.gradZ2);
  const scale = norm(fd.gradZ1, fd.gradZ2);
  // The central difference's own rounding, ε·|L|/h per entry (h = 1e-5·|z_i|): it matters when
  // the gradient is small beside the loss (SigLIP at b = −10, τ = 1: L ≈ 10, ‖g‖ ≈ 1e-4).
  let inverseSteps = 0;
  for (const z of [z1, z2]) {
    for (let i = 0; i < n; i++) {
      let sq = 0;
      for (let k = 0; k < d; k++) sq += z[i * d + k] ** 2;
      inverseSteps += d / (1e-5 * Math.sqrt(sq)) ** 2;
    }
  }
  const noise = 4 * Number.EPSILON * (1 + Math.abs(ref.loss)) * Math.sqrt(inverseSteps);
  expect(err, `z: ${where}: ‖g−g_fd‖=${err.toExponential(3)}, ‖g_fd‖=${scale.toExponential(3)}, noise ${noise.toExponential(3)}`).toBeLessThanOrEqual(Math.max(1e-6 * Math.max(scale, 1e-8), noise));
  // the printed worst errors leave out the cases where the rounding floor is what was tested
  if (scale > 1e-8 && noise < 1e-3 * scale) record(`${key} z`, err / scale);

  const scalars: [string, number, number, (v: number) => LossOptions][] = [
    ['τ', ref.gradTemperature, 1e-5 * options.temperature!, (t) => ({ ...options, temperature: t })],
  ];
  if (options.loss === 'siglip') scalars.push(['b', ref.gradBias!, 1e-5 * Math.max(1, Math.abs(options.bias!)), (b) => ({ ...options, bias: b })]);
  for (const [name, g, h, at] of scalars) {
    const x = name === 'τ' ? options.temperature! : options.bias!;
    const fdScalar = (referenceLossValue(z1, z2, n, d, at(x + h)) - referenceLossValue(z1, z2, n, d, at(x - h))) / (2 * h);
    const noise = (100 * Number.EPSILON * (1 + Math.abs(ref.loss))) / h;
    expect(Math.abs(g - fdScalar), `∂L/∂${name}: ${where}: g=${g}, fd=${fdScalar}`).toBeLessThanOrEqual(Math.max(1e-6 * Math.abs(fdScalar), noise));
    if (Math.abs(fdScalar) > 1e3 * noise) record(`${key} ${name}`, Math.abs(g - fdScalar) / Math.abs(fdScalar));
  }
}

describe(`supcon, reference (seed ${rng.seed})`, () => {
  it('gradients (z1, z2, τ) against central differences: distinct, few, one class and sparse labels; τ_base ≠ τ', { timeout: 60_000 }, () => {
    let t = 0;
    for (const n of [2, 3, 6]) {
      for (const d of [1, 3, 16]) {
        for (const classes of [n, 2, 1]) {
          for (const [tau, baseTau] of [[0.05, 0.07], [0.2, 0.2], [1, 0.5]]) {
            const kind = INPUT_KINDS[t++ % INPUT_KINDS.length];
            const { z1, z2 } = makeViews(kind, n, d, rng);
            const labels = t % 2 === 0 ? sparse(randomLabels(n, classes, rng)) : randomLabels(n, classes, rng);
            const options: LossOptions = { loss: 'supcon', temperature: tau, baseTemperature: baseTau, labels, gradTemperature: true };
            checkAgainstFiniteDifferences(z1, z2, n, d, options, 'supcon', `seed ${rng.seed}, N=${n}, D=${d}, classes=${classes}, τ=${tau}, τ_base=${baseTau}, ${kind}, labels ${labels.join(',')}`);
          }
        }
      }
    }
  });

  it("values equal SupContrast's SupConLoss written with full matrices", () => {
    for (const [n, d, classes] of [[2, 3, 1], [5, 4, 2], [9, 16, 3], [12, 8, 12]] as const) {
      for (const [tau, baseTau] of [[0.07, 0.07], [0.1, 0.07], [0.5, 1]]) {
        const { z1, z2 } = makeViews('gaussian', n, d, rng);
        const labels = sparse(randomLabels(n, classes, rng));
        const r = referenceLoss(z1, z2, n, d, { loss: 'supcon', temperature: tau, baseTemperature: baseTau, labels });
        const want = naiveSupCon(z1, z2, labels, n, d, tau, baseTau);
        expect(Math.abs(r.loss - want), `seed ${rng.seed}, N=${n}, D=${d}, C=${classes}, τ=${tau}: ${r.loss} vs ${want}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('all labels distinct, τ_base = τ: NT-Xent with the positive in the denominator (loss, ℓ_a, gradients); ∂L/∂τ larger by L/τ', () => {
    for (const [n, d] of [[2, 1], [3, 4], [17, 8]] as const) {
      for (const tau of [0.05, 0.07, 0.5]) {
        for (const kind of INPUT_KINDS) {
          const { z1, z2 } = makeViews(kind, n, d, rng);
          const labels = sparse(Int32Array.from({ length: n }, (_, i) => i));
          const where = `seed ${rng.seed}, N=${n}, D=${d}, τ=${tau}, ${kind}`;
          const s = referenceLoss(z1, z2, n, d, { loss: 'supcon', temperature: tau, baseTemperature: tau, labels: Int32Array.from({ length: n }, (_, i) => 3 * i - 5) });
          const x = referenceLoss(z1, z2, n, d, { loss: 'ntxent', temperature: tau });
          const close = (got: number, want: number, scale: number, what: string) => expect(Math.abs(got - want), `${what}, ${where}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-12 * Math.max(1, scale));
          close(s.loss, x.loss, Math.abs(x.loss), 'loss');
          s.perAnchor.forEach((v, a) => close(v, x.perAnchor[a], Math.abs(x.perAnchor[a]), `ℓ_${a}`));
          const gScale = norm(x.gradZ1, x.gradZ2);
          close(distance(s.gradZ1, s.gradZ2, x.gradZ1, x.gradZ2), 0, gScale, 'gradients');
          close(s.gradTemperature, x.gradTemperature + x.loss / tau, Math.abs(x.gradTemperature) + x.loss / tau, '∂L/∂τ');
          expect(Array.from(s.positiveCounts!)).toEqual(new Array(2 * n).fill(1));
          // the sparse relabeling gives the same numbers bit for bit: only equality of labels matters
          const t = referenceLoss(z1, z2, n, d, { loss: 'supcon', temperature: tau, baseTemperature: tau, labels });
          expect(t.loss).toBe(s.loss);
        }
      }
    }
  });

  it('one class: ℓ_a ≥ log(2N−1) (Jensen), every row a positive of every other; identical rows give exactly log(2N−1) and no gradient', () => {
    for (const [n, d] of [[2, 3], [7, 5]] as const) {
      const { z1, z2 } = makeViews('gaussian', n, d, rng);
      const labels = new Int32Array(n).fill(-3);
      const r = referenceLoss(z1, z2, n, d, { loss: 'supcon', temperature: 0.1, baseTemperature: 0.1, labels });
      expect(Array.from(r.positiveCounts!)).toEqual(new Array(2 * n).fill(2 * n - 1));
      r.perAnchor.forEach((v, a) => expect(v, `ℓ_${a}`).toBeGreaterThanOrEqual(Math.log(2 * n - 1) - 1e-12));
      const row = Array.from({ length: d }, () => rng.gaussian());
      const same = Float64Array.from({ length: n * d }, (_, k) => row[k % d] * (1 + (k >= d ? 2 : 0)));
      const c = referenceLoss(same, same, n, d, { loss: 'supcon', temperature: 0.07, labels });
      expect(Math.abs(c.loss - Math.log(2 * n - 1))).toBeLessThanOrEqual(1e-12);
      expect(norm(c.gradZ1, c.gradZ2)).toBeLessThanOrEqual(1e-9);
      // ∂L/∂τ = L/τ: every logit is 1/τ and ℓ_a is the constant log(2N−1) (τ = τ_base here)
      expect(Math.abs(c.gradTemperature - c.loss / 0.07)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('labels: relabeling by any injective map (negative, large, sparse) changes nothing; positive counts', () => {
    const n = 8, d = 6;
    const { z1, z2 } = makeViews('nearDuplicate', n, d, rng);
    const labels = Int32Array.from([0, 1, 2, 1, 0, 3, 1, 2]);
    const base = referenceLoss(z1, z2, n, d, { loss: 'supcon', labels, gradTemperature: true });
    expect(Array.from(base.positiveCounts!.subarray(0, n))).toEqual([3, 5, 3, 5, 3, 1, 5, 3]);
    for (const code of [sparse, (l: Int32Array) => l.map((c) => -1 - c), (l: Int32Array) => l.map((c) => (c * 977_000_003) | 0)]) {
      const r = referenceLoss(z1, z2, n, d, { loss: 'supcon', labels: code(labels), gradTemperature: true });
      expect(r.loss).toBe(base.loss);
      expect(r.gradZ1).toEqual(base.gradZ1);
      expect(r.gradZ2).toEqual(base.gradZ2);
      expect(r.gradTemperature).toBe(base.gradTemperature);
    }
  });

  it('result fields: lengths, defaults (τ = τ_base = 0.07), NaN softmax diagnostics, inputs untouched', () => {
    const n = 4, d = 3;
    const { z1, z2 } = makeViews('gaussian', n, d, rng);
    const labels = Int32Array.from([5, 5, -1, 7]);
    const [c1, c2, cl] = [z1.slice(), z2.slice(), labels.slice()];
    const r = referenceLoss(z1, z2, n, d, { loss: 'supcon', labels });
    expect(r.perAnchor.length).toBe(2 * n);
    expect(r.lse.length).toBe(2 * n);
    expect(r.sPos.length).toBe(n);
    expect(r.gradZ1.length).toBe(n * d);
    expect(r.gradBias).toBeUndefined();
    expect(Number.isNaN(r.diagnostics.positiveProbability)).toBe(true);
    expect(Number.isFinite(r.diagnostics.alignment)).toBe(true);
    expect(r.loss).toBe(referenceLoss(z1, z2, n, d, { loss: 'supcon', labels, temperature: 0.07, baseTemperature: 0.07 }).loss);
    expect(r.loss).toBe(referenceLossValue(z1, z2, n, d, { loss: 'supcon', labels }));
    expect([z1, z2, labels]).toEqual([c1, c2, cl]);
  });
});

describe(`siglip, reference (seed ${rng.seed})`, () => {
  it('gradients (z1, z2, τ, b) against central differences', { timeout: 60_000 }, () => {
    let t = 0;
    for (const n of [2, 3, 6]) {
      for (const d of [1, 3, 16]) {
        for (const tau of [0.05, 0.1, 1]) {
          for (const bias of [0, -10, 2.5]) {
            const kind = INPUT_KINDS[t++ % INPUT_KINDS.length];
            const { z1, z2 } = makeViews(kind, n, d, rng);
            const options: LossOptions = { loss: 'siglip', temperature: tau, bias, gradTemperature: true };
            checkAgainstFiniteDifferences(z1, z2, n, d, options, 'siglip', `seed ${rng.seed}, N=${n}, D=${d}, τ=${tau}, b=${bias}, ${kind}`);
          }
        }
      }
    }
  });

  it("values equal open_clip's SigLipLoss written with full matrices", () => {
    for (const [n, d] of [[2, 3], [5, 4], [16, 8]] as const) {
      for (const [tau, bias] of [[0.1, -10], [0.05, 0], [1, 3]]) {
        const { z1, z2 } = makeViews('gaussian', n, d, rng);
        const r = referenceLoss(z1, z2, n, d, { loss: 'siglip', temperature: tau, bias });
        const want = naiveSigLip(z1, z2, n, d, tau, bias);
        expect(Math.abs(r.loss - want), `seed ${rng.seed}, N=${n}, D=${d}, τ=${tau}, b=${bias}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('N = 2 by hand at b = 0 and −10, τ = 0.05 (and the defaults τ = 0.1, b = −10): loss, ∂L/∂τ, ∂L/∂b, logit-scale gradient', () => {
    const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    for (const [tau, bias] of [[0.05, 0], [0.05, -10], [0.1, -10]]) {
      for (const kind of INPUT_KINDS) {
        const { z1, z2 } = makeViews(kind, 2, 4, rng);
        const u = (z: Float64Array, i: number) => { const r = Array.from(z.subarray(4 * i, 4 * i + 4)); const l = Math.hypot(...r); return r.map((v) => v / l); };
        const cos = (i: number, j: number) => u(z1, i).reduce((s, v, k) => s + v * u(z2, j)[k], 0);
        const l = (i: number, j: number) => cos(i, j) / tau + bias;
        // L = ½[softplus(−l00) + softplus(−l11) + softplus(l01) + softplus(l10)]
        const loss = 0.5 * (softplus(-l(0, 0)) + softplus(-l(1, 1)) + softplus(l(0, 1)) + softplus(l(1, 0)));
        // ∂L/∂l_ii = −½σ(−l_ii), ∂L/∂l_ij = ½σ(l_ij); ∂l/∂b = 1, ∂l/∂τ = −cos/τ²
        const g = [[-0.5 * sigmoid(-l(0, 0)), 0.5 * sigmoid(l(0, 1))], [0.5 * sigmoid(l(1, 0)), -0.5 * sigmoid(-l(1, 1))]];
        const gBias = g[0][0] + g[0][1] + g[1][0] + g[1][1];
        const gTau = -(g[0][0] * cos(0, 0) + g[0][1] * cos(0, 1) + g[1][0] * cos(1, 0) + g[1][1] * cos(1, 1)) / (tau * tau);
        const options: LossOptions = tau === 0.1 ? { loss: 'siglip', gradTemperature: true } : { loss: 'siglip', temperature: tau, bias, gradTemperature: true };
        const r = referenceLoss(z1, z2, 2, 4, options);
        const where = `seed ${rng.seed}, τ=${tau}, b=${bias}, ${kind}`;
        expect(Math.abs(r.loss - loss), `loss, ${where}`).toBeLessThanOrEqual(1e-13 * Math.max(1, loss));
        expect(Math.abs(r.gradBias! - gBias), `∂L/∂b, ${where}`).toBeLessThanOrEqual(1e-13);
        expect(Math.abs(r.gradTemperature - gTau), `∂L/∂τ, ${where}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(gTau)));
        expect(r.perAnchor.length).toBe(2);
        expect(r.lse.length).toBe(0);
        // open_clip learns logit_scale = log(1/τ): ∂L/∂logit_scale = Σ G_ij cos_ij / τ = −τ ∂L/∂τ
        const gScale = (g[0][0] * cos(0, 0) + g[0][1] * cos(0, 1) + g[1][0] * cos(1, 0) + g[1][1] * cos(1, 1)) / tau;
        expect(Math.abs(-tau * r.gradTemperature - gScale)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(gScale)));
      }
    }
  });

  it('at b = −10 the loss is dominated by the positives early in training: L ≈ softplus(10 − cos/τ) summed over the diagonal', () => {
    // with random views (cos ≈ 0), every negative costs softplus(−10 + ε) ≈ 4.5e-5 and every positive ≈ 10
    const n = 32, d = 64;
    const { z1, z2 } = makeViews('gaussian', n, d, rng);
    const r = referenceLoss(z1, z2, n, d, { loss: 'siglip', temperature: 1, gradTemperature: true });
    expect(r.loss).toBeGreaterThan(9);
    expect(r.loss).toBeLessThan(11.5);
    expect(r.gradBias!).toBeLessThan(-0.9); // ∂L/∂b ≈ −1 + (N−1)·σ(−10): raising b helps
  });
});

describe('third-wave options and labels', () => {
  const n = 3, d = 2;
  const z = Float64Array.from({ length: n * d }, (_, k) => Math.sin(k + 1));
  const labels = Int32Array.from([1, 1, 2]);
  const call = (o: LossOptions) => () => referenceLoss(z, z.map((v) => v + 0.1), n, d, o);
  const callValue = (o: LossOptions) => () => referenceLossValue(z, z.map((v) => v + 0.1), n, d, o);

  it('supcon needs labels: an Int32Array of N values', () => {
    for (const c of [call, callValue]) {
      expect(c({ loss: 'supcon' })).toThrow(/supcon needs labels/);
      expect(c({ loss: 'supcon', labels: [1, 1, 2] as unknown as Int32Array })).toThrow(/labels must be an Int32Array .*got Array/);
      expect(c({ loss: 'supcon', labels: Float32Array.from([1, 1, 2]) as unknown as Int32Array })).toThrow(/labels must be an Int32Array .*got Float32Array/);
      expect(c({ loss: 'supcon', labels: Int32Array.from([1, 1]) })).toThrow(/labels has 2 values, expected N = 3/);
      expect(c({ loss: 'supcon', labels: new Int32Array(4) })).toThrow(/labels has 4 values, expected N = 3/);
    }
  });

  it('options that do not apply to supcon', () => {
    expect(call({ loss: 'supcon', labels, negatives: 'cross' })).toThrow(/negatives: 'cross' does not apply to supcon/);
    expect(call({ loss: 'supcon', labels, negatives: 'all' })).not.toThrow();
    expect(call({ loss: 'supcon', labels, bank: new Float64Array(4) })).toThrow(/bank does not apply to supcon/);
    expect(call({ loss: 'supcon', labels, weightGrad: false })).toThrow(/weightGrad does not apply to supcon/);
    expect(call({ loss: 'supcon', labels, dtM: 2 })).toThrow(/dtM does not apply to supcon/);
    expect(call({ loss: 'supcon', labels, sigma: 0.5 })).toThrow(/sigma does not apply to supcon/);
    expect(call({ loss: 'supcon', labels, diagnostics: true })).toThrow(/diagnostics does not apply to supcon/);
    expect(call({ loss: 'supcon', labels, bias: 0 })).toThrow(/bias applies to siglip only, not to supcon/);
    expect(call({ loss: 'supcon', labels, gradBias: true })).toThrow(/gradBias applies to siglip only, not to supcon/);
    expect(call({ loss: 'supcon', labels, baseTemperature: 0 })).toThrow(/baseTemperature must be a finite number > 0/);
  });

  it('options that do not apply to siglip', () => {
    expect(call({ loss: 'siglip', labels })).toThrow(/labels applies to supcon only, not to siglip/);
    expect(call({ loss: 'siglip', negatives: 'cross' })).toThrow(/negatives does not apply to siglip/);
    expect(call({ loss: 'siglip', bank: new Float64Array(4) })).toThrow(/bank does not apply to siglip/);
    expect(call({ loss: 'siglip', weightGrad: true })).toThrow(/weightGrad does not apply to siglip/);
    expect(call({ loss: 'siglip', dtM: 2 })).toThrow(/dtM does not apply to siglip/);
    expect(call({ loss: 'siglip', sigma: 0.5 })).toThrow(/sigma does not apply to siglip/);
    expect(call({ loss: 'siglip', diagnostics: true })).toThrow(/diagnostics does not apply to siglip/);
    expect(call({ loss: 'siglip', baseTemperature: 0.07 })).toThrow(/baseTemperature applies to supcon only, not to siglip/);
    for (const bias of [NaN, Infinity, 1e13]) expect(call({ loss: 'siglip', bias })).toThrow(/bias must be a finite number within \[-1e\+12, 1e\+12\]/);
    expect(call({ loss: 'siglip', bias: 'x' as unknown as number })).toThrow(/bias must be a number/);
    expect(call({ loss: 'siglip', bias: -1e12 })).not.toThrow();
  });

  it('labels, baseTemperature and bias with the fused losses are errors', () => {
    expect(call({ loss: 'ntxent', labels })).toThrow(/labels applies to supcon only, not to ntxent/);
    expect(call({ loss: 'dcl', baseTemperature: 0.1 })).toThrow(/baseTemperature applies to supcon only, not to dcl/);
    expect(call({ loss: 'dualtemp', bias: -10 })).toThrow(/bias applies to siglip only, not to dualtemp/);
    expect(call({ loss: 'ntxent', gradBias: false })).toThrow(/gradBias applies to siglip only, not to ntxent/);
    expect(call({ loss: 'siglip', gradBias: 1 as unknown as boolean })).toThrow(/gradBias must be true or false/);
  });


  it('worst relative errors against central differences (printed)', () => {
    console.log(`[third-wave.test] worst relative FD errors: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBeGreaterThan(0);
  });
});
