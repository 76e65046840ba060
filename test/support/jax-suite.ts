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
import { gradientError, lossError, perAnchorError } from './tolerances.js';

const VARIANTS: { name: string; options: LossOptions }[] = [
  { name: 'ntxent', options: { loss: 'ntxent' } },
  { name: 'dcl', options: { loss: 'dcl' } },
  { name: 'dclw (detached)', options: { loss: 'dclw' } },
  { name: 'dclw weightGrad', options: { loss: 'dclw', weightGrad: true, temperature: 0.2 } },
  { name: 'flatnce', options: { loss: 'flatnce', temperature: 0.07 } },
  { name: 'dualtemp', options: { loss: 'dualtemp' } },
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

/** Worst errors seen in this file's reference comparisons (printed at the end, for the record). */
const worst = { stepLoss: 0, stepGrad: 0, baselineLoss: 0, baselineGrad: 0 };

function expectGrads(where: string, got: JaxPage.MlpWeights, want: JaxPage.MlpWeights, track: 'stepGrad' | 'baselineGrad'): void {
  for (const k of ['W1', 'b1', 'W2'] as const) {
    worst[track] = Math.max(worst[track], relativeL2(got[k], want[k]));
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
      const e = (v: number) => v.toExponential(2);
      console.log(`[jax ${runtime}] worst relative errors vs the float64 reference: step loss ${e(worst.stepLoss)}, step parameter grads (L2) ${e(worst.stepGrad)}; jax-ops baseline loss ${e(worst.baselineLoss)}, grads ${e(worst.baselineGrad)}`);
      await rt?.close();
    });

    it.each(VARIANTS)('$name: step loss = reference, parameter grads = reference ∂L/∂z through vjp (plain and jit)', async ({ options }) => {
      const cases: [JaxPage.EncoderMode, JaxPage.MlpShape][] = [
        ['plain', { n: 16, din: 12, hidden: 10, d: 8 }],
        [options.loss === 'dcl' || options.loss === 'dualtemp' ? 'jit-sliced' : 'jit', { n: 21, din: 7, hidden: 9, d: 6 }],
      ];
      for (const [mode, s] of cases) {
        const { x1, x2, w } = drawBatch(rng, s);
        const where = `${JSON.stringify(options)} ${mode} N=${s.n} D=${s.d}`;
        const r = await rt.call('jaxStepCompare', x1, x2, w, s, options, mode);
        const ref = referenceLoss(r.z1, r.z2, s.n, s.d, options);
        const le = lossError(r.loss, ref.loss);
        if (process.env.JAX_LOG) console.log(`${where}: loss ${le.describe}`);
        expect(le.ok, `${where}: loss ${r.loss} vs reference ${ref.loss} (${le.describe})`).toBe(true);
        expectGrads(`${where} step vs reference`, r.grads, r.refGrads, 'stepGrad');
        worst.stepLoss = Math.max(worst.stepLoss, Math.abs(r.loss - ref.loss) / Math.abs(ref.loss));
        expect(r.perAnchor.length).toBe(2 * s.n);
        for (let a = 0; a < 2 * s.n; a++) {
          const pe = perAnchorError(r.perAnchor[a]!, ref.perAnchor[a]!, resolveOptions(options).temperature, options.loss === 'dualtemp' ? 10 : 1);
          expect(pe.ok, `${where}: perAnchor[${a}] ${r.perAnchor[a]} vs ${ref.perAnchor[a]} (${pe.describe})`).toBe(true);
        }
        const be = lossError(r.baselineLoss, ref.loss);
        expect(be.ok, `${where}: jax-ops baseline loss ${r.baselineLoss} vs ${ref.loss} (${be.describe})`).toBe(true);
        expectGrads(`${where} jax-ops baseline vs reference`, r.baselineGrads, r.refGrads, 'baselineGrad');
        worst.baselineLoss = Math.max(worst.baselineLoss, Math.abs(r.baselineLoss - ref.loss) / Math.abs(ref.loss));
        expect(r.paramRefCounts, `${where}: the step consumed exactly its reference to each parameter`).toEqual([1, 1, 1]);
      }
    });

    it('a 300-step training loop (jit encoder, DCL) lowers the loss', async () => {
      const s = { n: 16, din: 12, hidden: 16, d: 8 };
      const { x1, x2, w } = drawBatch(rng, s);
      const r = await rt.call('jaxTrainingLoop', x1, x2, w, s, { loss: 'dcl' }, 'jit', 300, 10, 0.5);
      console.log(`[jax ${runtime}] training: loss ${r.lossFirst} → ${r.lossLast}, ${r.msPerStep.toFixed(1)} ms/step`);
      expect(Number.isFinite(r.lossLast)).toBe(true);
      expect(r.lossLast, 'loss after 300 steps below the first').toBeLessThan(r.lossFirst - 0.1);
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
