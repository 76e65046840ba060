/**
 * The fused GPU kernels against the float64 CPU reference, on one runtime (headless Chromium or
 * Node on Dawn: test/fused-loss.test.ts and test/fused-loss.node.test.ts), for every loss
 * and option over N ∈ {2, 3, 31, 64, 257}, D ∈ {1, 3, 4, 33, 128, 256}, τ ∈ {0.01, 0.07, 0.1, 0.5, 1}.
 * Each variant runs every (N, D) pair with τ rotating through the list, plus every τ at one
 * shape, so each value of each axis meets every loss. Inputs are fresh random each run (seed
 * printed; FUSED_SEED reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type TestRuntime, type TestRuntimeName } from '../harness/runtime.js';
import { referenceLoss } from '../../src/reference/index.js';
import type { LossOptions } from '../../src/options.js';
import { makeRng, type Rng } from '../reference/helpers.js';
import { expectMatchesReference } from '../support/expect-reference.js';

const NS = [2, 3, 31, 64, 257];
const DS = [1, 3, 4, 33, 128, 256];
const TAUS = [0.01, 0.07, 0.1, 0.5, 1];

const VARIANTS: { name: string; options: Omit<LossOptions, 'temperature'> }[] = [
  { name: 'ntxent', options: { loss: 'ntxent' } },
  { name: 'dcl', options: { loss: 'dcl' } },
  { name: 'dclw', options: { loss: 'dclw' } },
  { name: 'dclw σ=0.2 weightGrad', options: { loss: 'dclw', sigma: 0.2, weightGrad: true } },
  { name: 'flatnce', options: { loss: 'flatnce' } },
  { name: 'dualtemp', options: { loss: 'dualtemp' } },
  { name: 'dualtemp m=3', options: { loss: 'dualtemp', dtM: 3 } },
];

/**
 * Register the matrix on `runtime`: every (N, D) pair of `axes` (default the whole NS × DS).
 * The second runtime runs a subset of the pairs (every loss, variant and τ still): the kernels
 * are the same WGSL, so what it adds is the runtime, not more shapes.
 */
export function fusedLossSuite(runtime: TestRuntimeName, axes: { ns: readonly number[]; ds: readonly number[] } = { ns: NS, ds: DS }): void {
  const seed = process.env.FUSED_SEED ? Number(process.env.FUSED_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[fused-loss ${runtime}] random seed ${seed} (reproduce with FUSED_SEED=${seed})`);
  const rng: Rng = makeRng(seed);

  /** Two views; every third case uses near-duplicate views (z2 = z1 + noise), the hardest for the positives. */
  function views(n: number, d: number, caseIndex: number): { z1: Float32Array; z2: Float32Array } {
    const z1 = new Float32Array(n * d).map(() => rng.gaussian());
    const near = caseIndex % 3 === 2;
    const z2 = near ? z1.map((v) => v + 0.05 * rng.gaussian()) : new Float32Array(n * d).map(() => rng.gaussian());
    return { z1, z2 };
  }

  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await openRuntime(runtime);
  });
  afterAll(async () => rt?.close());

  async function check(n: number, d: number, tau: number, options: LossOptions, caseIndex: number): Promise<void> {
    const { z1, z2 } = views(n, d, caseIndex);
    const opts = { ...options, temperature: tau };
    const gpu = await rt.call('runFusedLoss', z1, z2, n, d, opts);
    const ref = referenceLoss(z1, z2, n, d, opts);
    const where = `${opts.loss} N=${n} D=${d} τ=${tau} ${JSON.stringify(opts)}`;
    expect(gpu.inputsUnchanged, `${where}: inputs changed`).toBe(true);
    expect(gpu.deterministic, `${where}: two runs differ`).toBe(true);
    expect(gpu.forwardOnlyMatches, `${where}: forward-only ${gpu.forwardOnlyLoss} vs ${gpu.loss}`).toBe(true);
    const log = process.env.FUSED_LOG ? console.log : undefined;
    expectMatchesReference(where, gpu, ref, tau, d, 'required', {
      onLoss: (v) => log?.(`${where} loss ${v.describe}`),
      onGradient: (name, _got, want, v) => log?.(`${where} ${name} ${v.describe} |g_ref|=${Math.hypot(...Array.from(want)).toExponential(2)}`),
    });
  }

  describe.each(VARIANTS)(`fused $name (${runtime})`, ({ options }) => {
    it('every (N, D) pair, τ rotating', async () => {
      let i = 0;
      for (const n of axes.ns) {
        for (const d of axes.ds) {
          await check(n, d, TAUS[i % TAUS.length]!, options as LossOptions, i);
          i++;
        }
      }
    });
    it('every τ at N=31, D=33 and at N=64, D=128', async () => {
      let i = 0;
      for (const tau of TAUS) {
        await check(31, 33, tau, options as LossOptions, i++);
        await check(64, 128, tau, options as LossOptions, i++);
      }
    });
  });
}
