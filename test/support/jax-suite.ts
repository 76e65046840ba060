/**
 * The jax-js adapter's tests, one body for both runtimes (test/harness/runtime.ts):
 * test/jax.test.ts runs it in headless Chromium, test/jax.node.test.ts in Node on Dawn, on the
 * page functions of test/browser/jax-page.ts. Inputs are drawn here from a fresh seed (printed;
 * JAX_SEED=<n> reproduces), the float64 reference runs here on the views the encoder produced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as JaxPage from '../browser/jax-page.js';
import { openRuntime, type TestRuntime, type TestRuntimeName } from '../harness/runtime.js';
import { relativeL2 } from '../../src/cli/demo.js';
import { referenceLoss } from '../../src/reference/index.js';
import { resolveOptions, type LossOptions } from '../../src/options.js';
import { makeRng, type Rng } from '../reference/helpers.js';
import { gradientError, lossError, perAnchorError, temperatureGradientError } from './tolerances.js';
import type { ThirdWaveOptions } from '../browser/third-wave-page.js';

const VARIANTS: { name: string; options: LossOptions }[] = [
  { name: 'ntxent', options: { loss: 'ntxent' } },
  { name: 'dcl', options: { loss: 'dcl' } },
  { name: 'dclw (detached)', options: { loss: 'dclw' } },
  { name: 'dclw weightGrad', options: { loss: 'dclw', weightGrad: true, temperature: 0.2 } },
  { name: 'flatnce', options: { loss: 'flatnce', temperature: 0.07 } },
  { name: 'dualtemp', options: { loss: 'dualtemp' } },
];

/** Class codes that are neither 0..C−1 nor small: negative, sparse, at the int32 extremes. */
const SPARSE_CODES = [-2147483648, -7, 1000003, 2147483647];

/**
 * The third wave (docs/FORMULAS.md "SupCon and SigLIP"), each loss in both forms of its jax-js
 * input (labels an Int32Array or a jax-js int32 array; bias a number or a jax-js scalar read on
 * the GPU), with ∂L/∂τ and ∂L/∂b. Labels repeat (about 3 rows a class), so positives span rows.
 */
const THIRD_WAVE: { name: string; mode: JaxPage.EncoderMode; shape: JaxPage.MlpShape; forms: JaxPage.JaxOptionForms; options: (n: number, rng: Rng) => ThirdWaveOptions }[] = [
  {
    name: 'supcon, sparse/negative labels as an Int32Array, τ ≠ τ_base',
    mode: 'plain',
    shape: { n: 12, din: 7, hidden: 9, d: 6 },
    forms: { labels: 'Int32Array' },
    options: (n, rng) => ({ loss: 'supcon', temperature: 0.1, baseTemperature: 0.07, gradTemperature: true, labels: Array.from({ length: n }, () => SPARSE_CODES[Math.floor(rng.uniform() * 4)]!) }),
  },
  {
    name: 'supcon, labels as a jax-js int32 array, defaults, jit',
    mode: 'jit',
    shape: { n: 10, din: 6, hidden: 8, d: 5 },
    forms: { labels: 'jax' },
    options: (n) => ({ loss: 'supcon', labels: Array.from({ length: n }, (_, i) => (i % 3) - 1) }),
  },
  {
    name: 'siglip, defaults (τ = 0.1, b = −10 as a number), gradBias, gradTemperature',
    mode: 'plain',
    shape: { n: 16, din: 8, hidden: 8, d: 8 },
    forms: { bias: 'number' },
    options: () => ({ loss: 'siglip', gradBias: true, gradTemperature: true }),
  },
  {
    name: 'siglip, b = 0 as a jax-js scalar (read on the GPU), τ = 0.05, gradBias, gradTemperature',
    mode: 'jit',
    shape: { n: 8, din: 6, hidden: 8, d: 4 },
    forms: { bias: 'jax' },
    options: () => ({ loss: 'siglip', temperature: 0.05, bias: 0, gradBias: true, gradTemperature: true }),
  },
];

/**
 * Steps of the leak test (JAX_LEAK_STEPS overrides; each costs ~20–40 ms on SwiftShader): 500
 * in Node, 150 in Chromium, whose run checks the same counters on the same code (the suite's
 * time budget goes to the longer run in one runtime, not the same run twice). Either is far past
 * what a per-step leak needs to show: the counters must stay exactly flat after warm-up.
 */
const LEAK_STEPS: Record<TestRuntimeName, number> = {
  node: Number(process.env.JAX_LEAK_STEPS ?? 500),
  chromium: Number(process.env.JAX_LEAK_STEPS ?? 150),
};

function drawBatch(rng: Rng, s: JaxPage.MlpShape) {
  const gauss = (k: number, scale: number) => Float32Array.from({ length: k }, () => scale * rng.gaussian());
  const base = gauss(s.n * s.din, 1);
  const x1 = base.map((v) => v + 0.3 * rng.gaussian());
  const x2 = base.map((v) => v + 0.3 * rng.gaussian());
  const w: JaxPage.MlpWeights = {
    W1: gauss(s.din * s.hidden, 1 / Math.sqrt(s.din)),
    b1: gauss(s.hidden, 0.1),
    W2: gauss(s.hidden * s.d, 1 / Math.sqrt(s.hidden)),
  };
  return { x1, x2, w };
}

/** Worst relative errors seen in this file's reference comparisons, by loss and quantity (printed at the end, for the record). */
const worst: Record<string, number> = {};
function note(loss: string, what: string, error: number): void {
  const key = `${loss} ${what}`;
  worst[key] = Math.max(worst[key] ?? 0, error);
}

function expectGrads(where: string, loss: string, got: JaxPage.MlpWeights, want: JaxPage.MlpWeights, what: 'step grads' | 'baseline grads'): void {
  for (const k of ['W1', 'b1', 'W2'] as const) {
    note(loss, what, relativeL2(got[k], want[k]));
    // d = 2: the D = 1 special case of gradientError does not apply to parameter gradients.
    const ge = gradientError(got[k], want[k], 2);
    expect(ge.ok, `${where}: ∂L/∂${k} ${ge.describe}`).toBe(true);
  }
}

/** Register the suite on `runtime`. */
export function jaxSuite(runtime: TestRuntimeName): void {
  const seed = process.env.JAX_SEED ? Number(process.env.JAX_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[jax ${runtime}] random seed ${seed} (reproduce with JAX_SEED=${seed})`);
  const rng = makeRng(seed);
  let rt: TestRuntime;

  /**
   * One fused step (jaxStepCompare) on a fresh batch against the float64 reference on the views
   * it produced: loss, ℓ_a, parameter gradients (the reference's ∂L/∂z pulled back through the
   * same encoder), ∂L/∂τ and ∂L/∂b when asked, the jax-ops baseline's loss and gradients, and
   * what the step consumed (one reference per parameter; jax-js arrays in the options borrowed).
   */
  async function compareStep(options: ThirdWaveOptions, mode: JaxPage.EncoderMode, s: JaxPage.MlpShape, forms: JaxPage.JaxOptionForms = {}): Promise<void> {
    const { x1, x2, w } = drawBatch(rng, s);
    const where = `${JSON.stringify({ ...options, forms })} ${mode} N=${s.n} D=${s.d} (seed ${seed})`;
    const r = await rt.call('jaxStepCompare', x1, x2, w, s, options, mode, forms);
    const refOptions = { ...options, ...(options.labels ? { labels: Int32Array.from(options.labels) } : {}) } as LossOptions;
    const ref = referenceLoss(r.z1, r.z2, s.n, s.d, refOptions);
    const tau = resolveOptions(refOptions).temperature;
    // Relative to max(|L|, mean|ℓ_a|) (tolerances.ts): where the ℓ_a cancel (DCL, DCLW), the mean is resolved only to that size.
    const le = lossError(r.loss, ref.loss, ref.perAnchor);
    if (process.env.JAX_LOG) console.log(`${where}: loss ${le.describe}`);
    expect(le.ok, `${where}: loss ${r.loss} vs reference ${ref.loss} (${le.describe})`).toBe(true);
    expectGrads(`${where} step vs reference`, options.loss, r.grads, r.refGrads, 'step grads');
    note(options.loss, 'step loss', Math.abs(r.loss - ref.loss) / Math.abs(ref.loss));
    expect(r.perAnchor.length, `${where}: perAnchor rows`).toBe(ref.perAnchor.length);
    for (let a = 0; a < ref.perAnchor.length; a++) {
      const pe = perAnchorError(r.perAnchor[a]!, ref.perAnchor[a]!, tau, options.loss === 'dualtemp' ? 10 : 1);
      expect(pe.ok, `${where}: perAnchor[${a}] ${r.perAnchor[a]} vs ${ref.perAnchor[a]} (${pe.describe})`).toBe(true);
    }
    if (options.gradTemperature) {
      const te = temperatureGradientError(r.gradTemperature, ref.gradTemperature, tau);
      expect(te.ok, `${where}: ∂L/∂τ ${te.describe}`).toBe(true);
      note(options.loss, '∂L/∂τ', Math.abs(r.gradTemperature! - ref.gradTemperature) / Math.abs(ref.gradTemperature));
    }
    if (options.gradBias) {
      // MATH.md: ∂L/∂b within 1e-4 relative, 1e-7 absolute near 0.
      const err = Math.abs(r.gradBias! - ref.gradBias!);
      expect(err, `${where}: ∂L/∂b ${r.gradBias} vs ${ref.gradBias}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(ref.gradBias!), 1e-7));
      note(options.loss, '∂L/∂b', err / Math.abs(ref.gradBias!));
    }
    const be = lossError(r.baselineLoss, ref.loss, ref.perAnchor);
    expect(be.ok, `${where}: jax-ops baseline loss ${r.baselineLoss} vs ${ref.loss} (${be.describe})`).toBe(true);
    expectGrads(`${where} jax-ops baseline vs reference`, options.loss, r.baselineGrads, r.refGrads, 'baseline grads');
    note(options.loss, 'baseline loss', Math.abs(r.baselineLoss - ref.loss) / Math.abs(ref.loss));
    expect(r.paramRefCounts, `${where}: the step consumed exactly its reference to each parameter`).toEqual([1, 1, 1]);
    expect(r.optionRefCounts, `${where}: jax-js labels/bias in the options borrowed, not consumed`).toEqual(r.optionRefCounts.map(() => 1));
  }

  describe(`jax-js adapter (${runtime})`, () => {
    beforeAll(async () => {
      if (runtime === 'node') {
        // jax-js reads navigator.userAgent when its webgpu backend loads; Node 20 has no navigator.
        const g = globalThis as { navigator?: { userAgent?: string } };
        if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
        if (!g.navigator!.userAgent) Object.defineProperty(g.navigator, 'userAgent', { value: 'node', configurable: true });
      }
      rt = await openRuntime(runtime);
      console.log(`[jax ${runtime}] adapter: ${await rt.call('jaxReady')}`);
    });
    afterAll(async () => {
      const table = Object.entries(worst).map(([key, v]) => `${key} ${v.toExponential(2)}`);
      console.log(`[jax ${runtime}] worst relative errors vs the float64 reference (grads: relative L2 of the parameter gradients):\n  ${table.join('\n  ')}`);
      await rt?.close();
    });

    it.each(VARIANTS)('$name: step loss = reference, parameter grads = reference ∂L/∂z through vjp (plain and jit)', async ({ options }) => {
      const cases: [JaxPage.EncoderMode, JaxPage.MlpShape][] = [
        ['plain', { n: 16, din: 12, hidden: 10, d: 8 }],
        [options.loss === 'dcl' || options.loss === 'dualtemp' ? 'jit-sliced' : 'jit', { n: 21, din: 7, hidden: 9, d: 6 }],
      ];
      for (const [mode, s] of cases) await compareStep(options as ThirdWaveOptions, mode, s);
    });

    it.each(THIRD_WAVE)('$name: step loss, ∂L/∂τ, ∂L/∂b = reference; parameter grads and jax-ops baseline = reference', async ({ options, mode, shape, forms }) => {
      await compareStep(options(shape.n, rng), mode, shape, forms);
    });

    it('a 200-step training loop (jit encoder, DCL) lowers the loss', async () => {
      const s = { n: 16, din: 12, hidden: 16, d: 8 };
      const { x1, x2, w } = drawBatch(rng, s);
      const r = await rt.call('jaxTrainingLoop', x1, x2, w, s, { loss: 'dcl' }, 'jit', 200, 10, 0.5);
      console.log(`[jax ${runtime}] training: loss ${r.lossFirst} → ${r.lossLast}, ${r.msPerStep.toFixed(1)} ms/step`);
      expect(Number.isFinite(r.lossLast)).toBe(true);
      expect(r.lossLast, 'loss after 200 steps below the first').toBeLessThan(r.lossFirst - 0.1);
    });

    it(`${LEAK_STEPS[runtime]} steps leak nothing: device buffers, dispatcher buffers, refCounts flat; no mapAsync`, async () => {
      const s = { n: 8, din: 6, hidden: 8, d: 4 };
      const { x1, x2, w } = drawBatch(rng, s);
      const r = await rt.call('jaxTrainingLoop', x1, x2, w, s, { loss: 'ntxent' }, 'plain', LEAK_STEPS[runtime], 50, 0.05);
      console.log(`[jax ${runtime}] leak test`, JSON.stringify({ afterWarmup: r.afterWarmup, afterLast: r.afterLast, mapCalls: r.mapCalls, msPerStep: r.msPerStep }));
      expect(r.afterLast.deviceBuffers, 'live GPU buffers on jax-js’s device').toBe(r.afterWarmup.deviceBuffers);
      expect(r.afterLast.dispatcherBuffers).toBe(r.afterWarmup.dispatcherBuffers);
      expect(r.afterLast.dispatcherBytes).toBe(r.afterWarmup.dispatcherBytes);
      expect(r.afterLast.paramRefCounts).toEqual([1, 1, 1]);
      expect(r.mapCalls, 'mapAsync calls inside the steps').toBe(0);
      expect(Number.isFinite(r.lossLast)).toBe(true);
    });

    it('clear errors before any fused dispatch, arguments consumed', async () => {
      const s = { n: 6, din: 5, hidden: 4, d: 3 };
      const { w } = drawBatch(rng, s);
      const cases = await rt.call('jaxStepErrors', w, s);
      const byName = Object.fromEntries(cases.map((c) => [c.name, c]));
      const expected: Record<string, RegExp> = {
        '1-D views': /z1 must be 2-D \(N×D\), got shape \[18\]/,
        'float16 views': /z1 must be float32, got float16/,
        'shapes differ': /z1 and z2 must have the same shape, got \[6,3\] and \[5,3\]/,
        'not a pair': /encode must return the two views \[z1, z2\], got an array of length 1/,
        'views on wasm': /z1 lives on jax-js's 'wasm' device; the fused loss runs on 'webgpu'/,
        'dispatcher on another device': /the dispatcher runs on a different GPUDevice than jax-js/,
        'unknown loss': /unknown loss "nope"/,
        'temperature ≤ 0': /temperature must be a finite number > 0/,
        'supcon without labels': /supcon needs labels/,
        'labels of length N + 1': /contrastiveValueAndGrad: labels has 7 values, expected N = 6/,
        'float32 jax labels': /contrastiveValueAndGrad: labels must be a jax-js int32 array \(x\.astype\(np\.int32\)\), got float32/,
        'bias with supcon': /bias applies to siglip only, not to supcon/,
      };
      for (const [name, pattern] of Object.entries(expected)) {
        const c = byName[name];
        expect(c, name).toBeDefined();
        expect(c!.message, name).toMatch(pattern);
        expect(c!.encodeCalls, `${name}: fused encode calls`).toBe(0);
        expect(c!.paramRefCounts, `${name}: parameters' refCounts`).toEqual([1, 1, 1]);
      }
      const control = byName['valid (control)']!;
      expect(control.message).toBe('');
      expect(control.encodeCalls).toBe(1);
    });
  });
}
