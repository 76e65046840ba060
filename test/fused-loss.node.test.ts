/**
 * The fused-loss matrix (test/suites/fused-loss.ts) in this Node process on Dawn (npm `webgpu`),
 * over a subset of the (N, D) pairs that keeps the edges: N = 2 and a split candidate axis with a
 * short last chunk (N = 257); D = 1 and an odd width (33); and the third wave's cases
 * (test/suites/third-wave.ts: supcon, siglip, and the tfjs op with them on tfjs's own device).
 * One file, so the suites share one compiled dispatcher (compiling the kernels takes tens of
 * seconds on SwiftShader).
 */
import { fusedLossSuite } from './suites/fused-loss.js';
import { tfjsThirdWaveSuite, thirdWaveSuite } from './suites/third-wave.js';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openRuntime, type TestRuntime } from './harness/runtime.js';
import { referenceLoss } from '../src/reference/index.js';
import { freshRng } from './reference/helpers.js';
import { expectMatchesReference } from './support/expect-reference.js';

fusedLossSuite('node', { ns: [2, 257], ds: [1, 33] });
thirdWaveSuite('node');

// The tfjs op on Dawn (tfjs's webgpu backend in this Node process), with the third wave's losses.
let nodeRuntime: TestRuntime;
beforeAll(async () => {
  nodeRuntime = await openRuntime('node');
});
afterAll(async () => nodeRuntime?.close());
tfjsThirdWaveSuite('node', () => nodeRuntime);

/**
 * Regression (found on Dawn, where subnormals flush to 0): dualtemp with a dominant positive at
 * τ = 0.01 gave ℓ_a = 0 where lse − s⁺ ≈ −87, its softplus/sigmoid ratio computed through a
 * subnormal log1p. Rows: u1_i = e_i, u2_i = 0.904·e_i + 0.4275·e_{N+i} (cos⁺ = 0.904, every
 * negative cosine 0, plus 1e-4 noise), so lse − s⁺ ≈ log(N − 1) − 90.4 ≈ −87.0 for every anchor.
 */
describe('dualtemp with a dominant positive at τ = 0.01 (node)', () => {
  it('matches the reference', async () => {
    const rng = freshRng('dominant-positive');
    const n = 31;
    const d = 64;
    const z1 = new Float32Array(n * d);
    const z2 = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      z1[i * d + i] = 1;
      z2[i * d + i] = 0.904;
      z2[i * d + n + i] = Math.sqrt(1 - 0.904 ** 2);
    }
    for (const z of [z1, z2]) for (let k = 0; k < z.length; k++) z[k] = z[k]! + 1e-4 * rng.gaussian();
    const options = { loss: 'dualtemp', temperature: 0.01 } as const;
    const rt = await openRuntime('node');
    const gpu = await rt.call('runFusedLoss', z1, z2, n, d, options);
    expectMatchesReference(`dualtemp N=${n} D=${d} τ=0.01, lse − s⁺ ≈ −87 (seed ${rng.seed})`, gpu, referenceLoss(z1, z2, n, d, options), 0.01, d, 'required');
  });
});
