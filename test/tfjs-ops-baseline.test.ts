/**
 * The plain-ops tfjs baseline (`tfjsOpsLoss`) with issue 11's options, on tfjs's cpu backend in
 * Node (no browser): `negatives: 'cross'`, a bank tensor (no gradient to it), τ as a tensor with
 * its tf.grad, for every loss, against the float64 reference with MATH.md's tolerances. The
 * bench and the tfjs op's tests compare against this baseline, so it must be right on its own.
 * Fresh random inputs per run (seed printed; TFJS_SEED=<n> reproduces).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { tfjsOpsLoss } from '../src/tfjs/ops-losses.js';
import { DEFAULT_TEMPERATURE, LOSS_NAMES, type LossOptions } from '../src/options.js';
import { referenceLoss } from '../src/reference/index.js';
import { makeRng } from './reference/helpers.js';
import { gradientError, lossError, temperatureGradientError } from './support/tolerances.js';
import type { TfjsLossOptions } from '../src/tfjs/op-options.js';

const seed = process.env.TFJS_SEED ? Number(process.env.TFJS_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[tfjs-ops-baseline] random seed ${seed} (reproduce with TFJS_SEED=${seed})`);
const rng = makeRng(seed);
const gaussian = (len: number) => new Float32Array(len).map(() => rng.gaussian());

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe(`tfjsOpsLoss, second-wave options, cpu backend (seed ${seed})`, () => {
  for (const loss of LOSS_NAMES) {
    for (const form of ['cross', 'bank'] as const) {
      it(`${loss}, ${form}: value and tf.grads (z1, z2, τ as a tensor) = reference; no gradient to the bank`, () => {
        for (const [n, d, k] of [[6, 5, 1], [9, 16, 40]] as const) {
          for (const tau of [0.07, 0.5]) {
            const z1 = gaussian(n * d);
            const z2 = Float32Array.from(z1, (v) => v + 0.7 * rng.gaussian());
            const bankValues = form === 'bank' ? gaussian(k * d) : undefined;
            const options: LossOptions = { loss, temperature: tau, ...(form === 'cross' && loss !== 'dualtemp' ? { negatives: 'cross' } : {}) };
            if (bankValues) options.bank = bankValues;
            const ref = referenceLoss(z1, z2, n, d, options);
            const t1 = tf.tensor2d(z1, [n, d]), t2 = tf.tensor2d(z2, [n, d]);
            const tauT = tf.scalar(tau);
            const bank = bankValues ? tf.tensor2d(bankValues, [k, d]) : undefined;
            const { bank: _b, temperature: _t, labels: _l, ...rest } = options;
            const f = (a: tf.Tensor, b: tf.Tensor, t: tf.Tensor, bk?: tf.Tensor) =>
              tfjsOpsLoss(a as tf.Tensor2D, b as tf.Tensor2D, { ...rest, temperature: t as tf.Scalar, ...(bk ? { bank: bk as tf.Tensor2D } : {}) });
            const xs = bank ? [t1, t2, tauT, bank] : [t1, t2, tauT];
            const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => f(args[0]!, args[1]!, args[2]!, args[3]))(xs);
            const where = `seed ${seed}, ${loss} ${form}, N=${n}, D=${d}, K=${k}, τ=${tau}`;
            const le = lossError(value.dataSync()[0]!, ref.loss);
            expect(le.ok, `${where}: loss ${le.describe}`).toBe(true);
            const g1 = gradientError(grads[0]!.dataSync() as Float32Array, ref.gradZ1, d);
            const g2 = gradientError(grads[1]!.dataSync() as Float32Array, ref.gradZ2, d);
            expect(g1.ok, `${where}: gradZ1 ${g1.describe}`).toBe(true);
            expect(g2.ok, `${where}: gradZ2 ${g2.describe}`).toBe(true);
            const gTau = grads[2]!.dataSync()[0]!;
            expect(Math.abs(gTau - ref.gradTemperature), `${where}: ∂L/∂τ ${gTau} vs ${ref.gradTemperature}`).toBeLessThanOrEqual(1e-4 * Math.abs(ref.gradTemperature) + 1e-6);
            if (bank) expect(Array.from(grads[3]!.dataSync()).every((v) => v === 0), `${where}: no gradient to the bank`).toBe(true);
            // the number-τ form gives the same value
            const asNumber = tfjsOpsLoss(t1, t2, { ...rest, temperature: tau, ...(bank ? { bank } : {}) });
            expect(asNumber.dataSync()[0]).toBeCloseTo(value.dataSync()[0]!, 5);
            tf.dispose([value, ...grads, t1, t2, tauT, asNumber, ...(bank ? [bank] : [])]);
          }
        }
      });
    }
  }

  it('defaults: the in-batch forms are unchanged by naming the defaults', () => {
    const n = 5, d = 4;
    const t1 = tf.tensor2d(gaussian(n * d), [n, d]), t2 = tf.tensor2d(gaussian(n * d), [n, d]);
    for (const loss of ['ntxent', 'dcl', 'dclw', 'flatnce'] as const) {
      const a = tfjsOpsLoss(t1, t2, { loss }).dataSync()[0];
      const b = tfjsOpsLoss(t1, t2, { loss, negatives: 'all', temperature: DEFAULT_TEMPERATURE[loss] }).dataSync()[0];
      expect(b).toBe(a);
    }
    tf.dispose([t1, t2]);
  });

  it('errors', () => {
    const t = tf.tensor2d(gaussian(12), [4, 3]);
    expect(() => tfjsOpsLoss(t, t, { loss: 'dcl', bank: tf.zeros([2, 4]) as tf.Tensor2D })).toThrow(/bank must be a K×D tensor with D = 3/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'dualtemp', negatives: 'all' })).toThrow(/not defined for dualtemp/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'dcl', temperature: tf.tensor1d([1, 2]) })).toThrow(/must be a scalar/);
    tf.dispose(t);
  });
});

describe(`tfjsOpsLoss, supcon and siglip, cpu backend (seed ${seed})`, () => {
  const sparse = [-2147483648, -7, 0, 1000003, 2147483647, 42];
  const cases: { name: string; n: number; d: number; options: () => LossOptions }[] = [
    { name: 'supcon, repeated sparse/negative labels, τ ≠ τ_base', n: 12, d: 7, options: () => ({ loss: 'supcon', temperature: 0.07, baseTemperature: 0.1, labels: Int32Array.from({ length: 12 }, () => sparse[Math.floor(rng.uniform() * 6)]!) }) },
    { name: 'supcon, one class', n: 6, d: 5, options: () => ({ loss: 'supcon', temperature: 0.5, labels: new Int32Array(6).fill(-3) }) },
    { name: 'supcon, all labels distinct', n: 9, d: 16, options: () => ({ loss: 'supcon', temperature: 0.5, baseTemperature: 0.5, labels: Int32Array.from({ length: 9 }, (_, i) => 100 - i) }) },
    { name: 'siglip N=2, b=0, τ=0.05', n: 2, d: 4, options: () => ({ loss: 'siglip', temperature: 0.05, bias: 0 }) },
    { name: 'siglip N=2, b=−10, τ=0.05', n: 2, d: 4, options: () => ({ loss: 'siglip', temperature: 0.05, bias: -10 }) },
    { name: 'siglip, defaults', n: 11, d: 6, options: () => ({ loss: 'siglip' }) },
  ];
  for (const c of cases) {
    it(`${c.name}: value and tf.grads (z1, z2, τ and b as tensors; labels as an int32 tensor) = reference`, () => {
      const options = c.options();
      const { n, d } = c;
      const z1 = gaussian(n * d);
      const z2 = Float32Array.from(z1, (v) => v + 0.7 * rng.gaussian());
      const ref = referenceLoss(z1, z2, n, d, { ...options, gradTemperature: true, ...(options.loss === 'siglip' ? { gradBias: true } : {}) });
      const { temperature, bias, labels, bank: _bank, ...rest } = options;
      const tau = temperature ?? DEFAULT_TEMPERATURE[options.loss];
      const labelsTensor = labels instanceof Int32Array ? tf.tensor1d(labels, 'int32') : undefined;
      const xs = [tf.tensor2d(z1, [n, d]), tf.tensor2d(z2, [n, d]), tf.scalar(tau), ...(options.loss === 'siglip' ? [tf.scalar(bias ?? -10)] : [])];
      const f = (...args: tf.Tensor[]) =>
        tfjsOpsLoss(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, {
          ...rest,
          temperature: args[2]!,
          ...(args[3] ? { bias: args[3] } : {}),
          ...(labelsTensor ? { labels: labelsTensor as tf.Tensor1D } : {}),
        });
      const { value, grads } = tf.valueAndGrads(f)(xs);
      const where = `seed ${seed}, ${c.name}, N=${n}, D=${d}`;
      const le = lossError(value.dataSync()[0]!, ref.loss);
      expect(le.ok, `${where}: loss ${le.describe}`).toBe(true);
      for (const [k, name] of [[0, 'gradZ1'], [1, 'gradZ2']] as const) {
        const ge = gradientError(grads[k]!.dataSync() as Float32Array, ref[name]!, d);
        expect(ge.ok, `${where}: ${name} ${ge.describe}`).toBe(true);
      }
      const te = temperatureGradientError(grads[2]!.dataSync()[0]!, ref.gradTemperature, tau);
      expect(te.ok, `${where}: ∂L/∂τ ${te.describe}`).toBe(true);
      if (options.loss === 'siglip') {
        const gb = grads[3]!.dataSync()[0]!;
        expect(Math.abs(gb - ref.gradBias!), `${where}: ∂L/∂b ${gb} vs ${ref.gradBias}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(ref.gradBias!), 1e-7));
      }
      // Numbers for τ and b, and labels as an Int32Array, give the same value.
      const plain = tfjsOpsLoss(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D, options as TfjsLossOptions);
      expect(plain.dataSync()[0]).toBeCloseTo(value.dataSync()[0]!, 5);
      tf.dispose([value, ...grads, ...xs, plain, ...(labelsTensor ? [labelsTensor] : [])]);
    });
  }

  it('errors: labels and bias of the wrong kind, implied gradient flags, options of another loss', () => {
    const t = tf.tensor2d(gaussian(12), [4, 3]);
    const floats = tf.tensor1d([1, 2, 3, 4]);
    const wrongLength = tf.tensor1d([1, 2, 3], 'int32');
    expect(() => tfjsOpsLoss(t, t, { loss: 'supcon' })).toThrow(/supcon needs labels/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'supcon', labels: floats })).toThrow(/labels must be an int32 tensor/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'supcon', labels: wrongLength as tf.Tensor1D })).toThrow(/labels must have shape \[N\] = \[4\]/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'supcon', labels: new Int32Array(2) })).toThrow(/labels has 2 values, expected N = 4/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'supcon', labels: [1, 2, 3, 4] as never })).toThrow(/labels must be an int32 tf.Tensor1D/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'ntxent', labels: new Int32Array(4) })).toThrow(/labels applies to supcon only/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'siglip', bias: tf.tensor1d([1, 2]) })).toThrow(/a bias tensor must be a scalar/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'siglip', gradBias: true })).toThrow(/gradBias is implied by a tensor bias/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'dcl', bias: tf.scalar(1) })).toThrow(/bias applies to siglip only/);
    expect(() => tfjsOpsLoss(t, t, { loss: 'siglip', negatives: 'cross' })).toThrow(/negatives does not apply to siglip/);
    tf.dispose([t, floats, wrongLength]);
  });
});
