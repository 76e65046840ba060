/**
 * MATH.md's third wave on the GPU against the float64 reference, on one runtime (headless
 * Chromium or Node on Dawn: test/third-wave.test.ts, and test/fused-loss.node.test.ts beside the fused matrix): SupCon with
 * one class, all labels distinct (= NT-Xent with the positive in the denominator), and sparse,
 * negative and large labels; SigLIP at N = 2 with b = 0 and −10 at τ = 0.05, the defaults, and b,
 * τ read on the GPU; both with splits of the candidate axis (N = 150, 200). Checked: loss, ℓ_a,
 * ∂L/∂z1, ∂L/∂z2 (MATH.md's tolerances), ∂L/∂τ and ∂L/∂b (1e-4 relative, or the f32 floor of
 * terms of size 1/τ²), outputs poisoned first, inputs and labels unchanged, forward-only and
 * compute() bit for bit equal to encode; a τ or b read on the GPU that is invalid gives NaN outputs.
 * Fresh random inputs (seed printed; THIRD_WAVE_SEED reproduces). `tfjsThirdWaveSuite` runs the
 * tfjs op with both losses (test/tfjs-second-wave.test.ts in Chromium, test/fused-loss.node.test.ts on Dawn).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type TestRuntime, type TestRuntimeName } from '../harness/runtime.js';
import { referenceLoss } from '../../src/reference/index.js';
import { planLoss } from '../../src/plan.js';
import { resolveOptions, type LossOptions } from '../../src/options.js';
import { makeRng, type Rng } from '../reference/helpers.js';
import { expectMatchesReference } from '../support/expect-reference.js';
import { gradientError, lossError, relativeL2, temperatureGradientError } from '../support/tolerances.js';
import type { ThirdWaveOptions } from '../browser/third-wave-page.js';
import type { TfjsThirdWaveWire } from '../browser/tfjs-third-wave-page.js';

interface Case {
  name: string;
  n: number;
  d: number;
  options: (n: number, rng: Rng) => ThirdWaveOptions;
  /** τ and b read on the GPU (temperatureParams, biasParams). */
  gpuParams?: boolean;
  /** Near-duplicate views (z2 = z1 + noise). */
  near?: boolean;
}

const sparseCodes = [-2147483648, -7, 0, 1000003, 2147483647, 42, -1, 65536, 5, 9];
const CASES: Case[] = [
  { name: 'supcon, one class', n: 31, d: 16, options: (n) => ({ loss: 'supcon', temperature: 0.1, labels: new Array(n).fill(-3), gradTemperature: true }) },
  {
    name: 'supcon, all labels distinct, τ_base = τ (NT-Xent with the positive in the denominator)',
    n: 64,
    d: 33,
    near: true,
    options: (n) => ({ loss: 'supcon', temperature: 0.5, baseTemperature: 0.5, labels: Array.from({ length: n }, (_, i) => 1000 - 3 * i), gradTemperature: true }),
  },
  {
    // 300 candidates: three chunks in both tile passes (the last short), same-label rows in every chunk.
    name: 'supcon, 10 sparse/negative/large labels, τ ≠ τ_base, split',
    n: 150,
    d: 33,
    options: (n, rng) => ({ loss: 'supcon', temperature: 0.07, baseTemperature: 0.1, labels: Array.from({ length: n }, () => sparseCodes[Math.floor(rng.uniform() * 10)]!), gradTemperature: true }),
  },
  { name: 'siglip N=2, b=0, τ=0.05', n: 2, d: 4, options: () => ({ loss: 'siglip', temperature: 0.05, bias: 0, gradTemperature: true, gradBias: true }) },
  { name: 'siglip N=2, b=−10, τ=0.05', n: 2, d: 4, options: () => ({ loss: 'siglip', temperature: 0.05, bias: -10, gradTemperature: true, gradBias: true }) },
  { name: 'siglip, defaults (τ=0.1, b=−10), split', n: 150, d: 33, near: true, options: () => ({ loss: 'siglip', temperature: 0.1, bias: -10, gradTemperature: true, gradBias: true }) },
  { name: 'siglip, τ and b read on the GPU, split', n: 200, d: 20, gpuParams: true, options: () => ({ loss: 'siglip', temperature: 0.05, bias: 1.5, gradTemperature: true, gradBias: true }) },
];

/** Register the cases on `runtime`. */
export function thirdWaveSuite(runtime: TestRuntimeName): void {
  const seed = process.env.THIRD_WAVE_SEED ? Number(process.env.THIRD_WAVE_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[third-wave ${runtime}] random seed ${seed} (reproduce with THIRD_WAVE_SEED=${seed})`);
  const rng = makeRng(seed);
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await openRuntime(runtime);
  });
  afterAll(async () => rt?.close());
  const worst: Record<string, number> = {};
  const note = (key: string, got: number, want: number) => {
    if (Math.abs(want) > 1e-6) worst[key] = Math.max(worst[key] ?? 0, Math.abs(got - want) / Math.abs(want));
  };

  describe(`supcon and siglip on ${runtime}, against the reference`, () => {
    for (const c of CASES) {
      it(`${c.name}: N=${c.n} D=${c.d}`, async () => {
        const options = c.options(c.n, rng);
        const z1 = new Float32Array(c.n * c.d).map(() => rng.gaussian());
        const z2 = c.near ? z1.map((v) => v + 0.05 * rng.gaussian()) : new Float32Array(c.n * c.d).map(() => rng.gaussian());
        const refOptions: LossOptions = { ...options, labels: options.labels ? Int32Array.from(options.labels) : undefined };
        if (!options.labels) delete refOptions.labels;
        const ref = referenceLoss(z1, z2, c.n, c.d, refOptions);
        const plan = planLoss(c.n, c.d, resolveOptions(refOptions, c.d), true);
        const gpu = await rt.call('runThirdWave', z1, z2, c.n, c.d, options, c.gpuParams ?? false);
        const where = `${runtime} ${c.name} N=${c.n} D=${c.d} (seed ${seed})`;
        expect(gpu.inputsUnchanged, `${where}: inputs or labels changed`).toBe(true);
        expect(gpu.forwardOnlyMatches, `${where}: forward-only differs`).toBe(true);
        expect(gpu.computeMatches, `${where}: compute() differs from encode`).toBe(true);
        expectMatchesReference(where, gpu, ref, options.temperature!, c.d, 'required');
        const te = temperatureGradientError(gpu.gradTemperature, ref.gradTemperature, options.temperature!);
        expect(te.ok, `${where}: ∂L/∂τ ${te.describe}`).toBe(true);
        note(`${options.loss} loss`, gpu.loss, ref.loss);
        note(`${options.loss} ∂L/∂τ`, gpu.gradTemperature!, ref.gradTemperature);
        if (options.loss === 'siglip') {
          const err = Math.abs(gpu.gradBias! - ref.gradBias!);
          expect(err, `${where}: ∂L/∂b ${gpu.gradBias} vs ${ref.gradBias}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(ref.gradBias!), 1e-7));
          note('siglip ∂L/∂b', gpu.gradBias!, ref.gradBias!);
        }
        for (const [name, g, r] of [['z1', gpu.gradZ1, ref.gradZ1], ['z2', gpu.gradZ2, ref.gradZ2]] as const) {
          worst[`${options.loss} ∂L/∂${name}`] = Math.max(worst[`${options.loss} ∂L/∂${name}`] ?? 0, relativeL2(g, r));
        }
        const tilePasses = plan.passes.filter((p) => p.kernel === 'anchorStats' || p.kernel === 'gradRows').map((p) => `${p.kernel} ${p.workgroups}`);
        console.log(`[third-wave ${runtime}] ${c.name}: loss ${gpu.loss} vs ${ref.loss}; chunks ${plan.statsSplit.chunks}/${plan.gradSplit.chunks}; workgroups ${tilePasses.join(', ')}`);
      });
    }

    it('bad labels, biasParams and options that do not apply are clear errors', async () => {
      const errors = await rt.call('thirdWaveErrors');
      const want: Record<string, RegExp> = {
        labelsArrayOnEncode: /encode takes labels as a GPUBuffer/,
        labelsTooShort: /labels holds 12 bytes, needs at least 16/,
        labelsNotStorage: /labels lacks usage STORAGE/,
        labelsIsOutput: /outputs\.loss must not be the labels buffer/,
        supconWithoutLabels: /supcon needs labels/,
        labelsWithNtxent: /labels applies to supcon only, not to ntxent/,
        computeLabelsLength: /labels has 2 values, expected N = 4/,
        computeLabelsFloat: /labels must be an Int32Array/,
        biasParamsWithNtxent: /biasParams applies to siglip only, not to ntxent/,
        biasParamsAndBias: /biasParams and options\.bias were both given/,
        biasParamsNoCopySrc: /biasParams lacks usage COPY_SRC/,
        gradBiasNotAsked: /outputs\.gradBias was given but this call does not write it \(set options\.gradBias: true/,
        siglipNegatives: /negatives does not apply to siglip/,
        supconBank: /bank does not apply to supcon/,
      };
      for (const [name, pattern] of Object.entries(want)) expect(errors[name], name).toMatch(pattern);
    });

    it('τ or b read on the GPU and invalid (1/τ ≤ 0 or not finite, b not finite): every output NaN, never a plausible value', async () => {
      const got = await rt.call('invalidGpuParams');
      expect(Object.keys(got).length).toBe(7);
      for (const [name, ok] of Object.entries(got)) expect(ok, `${runtime}: ${name}`).toBe(true);
    });

    it('worst relative errors (printed)', () => {
      console.log(`[third-wave ${runtime}] worst relative errors: ${JSON.stringify(worst)}`);
    });
  });
}

/**
 * The tfjs op with supcon and siglip on `runtime` (TFJS_THIRD_WAVE_SEED reproduces): labels as
 * an int32 tensor, τ and b as tf.Variables whose gradients come from the kernels, one SGD step.
 * `runtime()` is the caller's open runtime: a file that already runs the tfjs op (its page has the
 * op's dispatcher compiled on tfjs's device) hosts these cases, so they add no compile.
 */
export function tfjsThirdWaveSuite(runtimeName: TestRuntimeName, runtime: () => Pick<TestRuntime, 'call'>): void {
  const seed = process.env.TFJS_THIRD_WAVE_SEED ? Number(process.env.TFJS_THIRD_WAVE_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[tfjs third-wave ${runtimeName}] random seed ${seed} (reproduce with TFJS_THIRD_WAVE_SEED=${seed})`);
  const rng = makeRng(seed);
  const worst: Record<string, number> = {};
  const note = (key: string, got: number, want: number) => {
    if (Math.abs(want) > 1e-6) worst[key] = Math.max(worst[key] ?? 0, Math.abs(got - want) / Math.abs(want));
  };
  describe(`the tfjs op with supcon and siglip on ${runtimeName}, against the reference`, () => {
    const LEARNING_RATE = 0.01;
    const TFJS_CASES: { name: string; n: number; d: number; wire: (n: number) => TfjsThirdWaveWire }[] = [
      { name: 'supcon, repeated sparse labels, τ learned', n: 40, d: 12, wire: (n) => ({ loss: 'supcon', temperature: 0.1, baseTemperature: 0.07, labels: Array.from({ length: n }, () => sparseCodes[Math.floor(rng.uniform() * 5)]!), learningRate: LEARNING_RATE }) },
      { name: 'siglip, τ and b learned', n: 24, d: 10, wire: () => ({ loss: 'siglip', temperature: 0.1, bias: -2, learningRate: LEARNING_RATE }) },
    ];
    for (const c of TFJS_CASES) {
      it(`tfjs op: ${c.name}: loss, ∂L/∂z, ∂L/∂τ${c.name.startsWith('siglip') ? ', ∂L/∂b' : ''} = reference; an SGD step moves τ and b by −lr·gradient`, async () => {
        const wire = c.wire(c.n);
        const z1 = new Float32Array(c.n * c.d).map(() => rng.gaussian());
        const z2 = z1.map((v) => v + 0.3 * rng.gaussian());
        const isSigLip = wire.loss === 'siglip';
        const { learningRate: _lr, ...lossWire } = wire;
        const ref = referenceLoss(z1, z2, c.n, c.d, {
          ...lossWire,
          labels: wire.labels ? Int32Array.from(wire.labels) : undefined,
          gradTemperature: true,
          ...(isSigLip ? { gradBias: true } : {}),
        } as LossOptions);
        const got = await runtime().call('tfjsThirdWaveRun', z1, z2, c.n, c.d, wire);
        const where = `${runtimeName} tfjs op ${c.name} N=${c.n} D=${c.d} (seed ${seed})`;
        const le = lossError(got.loss, ref.loss, ref.perAnchor, wire.temperature);
        expect(le.ok, `${where}: loss ${got.loss} vs ${ref.loss} (${le.describe})`).toBe(true);
        for (const [name, g, r] of [['z1', got.gradZ1, ref.gradZ1], ['z2', got.gradZ2, ref.gradZ2]] as const) {
          const ge = gradientError(g, r, c.d);
          expect(ge.ok, `${where}: ∂L/∂${name} ${ge.describe}`).toBe(true);
          worst[`${wire.loss} ∂L/∂${name}`] = Math.max(worst[`${wire.loss} ∂L/∂${name}`] ?? 0, relativeL2(g, r));
        }
        expect(got.forwardOnlyLoss, `${where}: forward-only`).toBeCloseTo(got.loss, 5);
        const te = temperatureGradientError(got.gradTemperature, ref.gradTemperature, wire.temperature);
        expect(te.ok, `${where}: ∂L/∂τ ${te.describe}`).toBe(true);
        expect(got.afterStep.temperature, `${where}: τ after one SGD step`).toBeCloseTo(wire.temperature - LEARNING_RATE * ref.gradTemperature, 6);
        if (isSigLip) {
          expect(Math.abs(got.gradBias! - ref.gradBias!), `${where}: ∂L/∂b ${got.gradBias} vs ${ref.gradBias}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(ref.gradBias!), 1e-7));
          expect(got.afterStep.bias, `${where}: b after one SGD step`).toBeCloseTo(wire.bias! - LEARNING_RATE * ref.gradBias!, 5);
          expect(got.infiniteBiasGivesNaN, `${where}: b = ∞ gives NaN`).toBe(true);
        }
        expect(got.labelsUnchanged, `${where}: labels changed`).toBe(true);
        expect(got.leakedTensors, `${where}: tensors leaked`).toBe(0);
        note(`${wire.loss} loss`, got.loss, ref.loss);
        note(`${wire.loss} ∂L/∂τ`, got.gradTemperature, ref.gradTemperature);
        if (isSigLip) note('siglip ∂L/∂b', got.gradBias!, ref.gradBias!);
      });
    }

    it('worst relative errors (printed)', () => {
      console.log(`[tfjs third-wave ${runtimeName}] worst relative errors: ${JSON.stringify(worst)}`);
    });
  });
}
