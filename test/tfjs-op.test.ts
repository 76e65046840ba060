/**
 * The TensorFlow.js op (`webgpu-contrastive/tfjs`) on the tfjs `webgpu` backend, in headless
 * Chromium: its loss and `tf.grads` against the float64 reference and against `tf.grad` of the
 * plain-ops baseline (which this also validates), a 50-step training loop that must leave
 * memory flat and map no buffer for reading, and the error on the `cpu` backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss } from '../src/reference/index.js';
import type { LossOptions } from '../src/options.js';
import { makeRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';

const VARIANTS: { name: string; options: LossOptions }[] = [
  { name: 'ntxent', options: { loss: 'ntxent' } },
  { name: 'dcl', options: { loss: 'dcl' } },
  { name: 'dclw (detached)', options: { loss: 'dclw' } },
  { name: 'dclw weightGrad', options: { loss: 'dclw', weightGrad: true } },
  { name: 'flatnce', options: { loss: 'flatnce' } },
  { name: 'dualtemp', options: { loss: 'dualtemp' } },
];
const SHAPES: [number, number][] = [
  [8, 16],
  [33, 20],
];
const TAUS: (number | undefined)[] = [undefined, 0.07];

const seed = process.env.TFJS_SEED ? Number(process.env.TFJS_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[tfjs-op] random seed ${seed} (reproduce with TFJS_SEED=${seed})`);
const rng = makeRng(seed);

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

function expectClose(where: string, got: { loss: number; gradZ1: Float32Array; gradZ2: Float32Array }, want: { loss: number; gradZ1: ArrayLike<number>; gradZ2: ArrayLike<number> }, d: number): void {
  const le = lossError(got.loss, want.loss);
  expect(le.ok, `${where}: loss ${got.loss} vs ${want.loss} (${le.describe})`).toBe(true);
  for (const k of ['gradZ1', 'gradZ2'] as const) {
    const ge = gradientError(got[k], Float64Array.from(want[k]), d);
    if (process.env.TFJS_LOG) console.log(`${where} ${k}: ${ge.describe}`);
    expect(ge.ok, `${where}: ${k} ${ge.describe}`).toBe(true);
  }
}

describe.each(VARIANTS)('tfjs op $name', ({ options: base }) => {
  it.each(SHAPES)('N=%i, D=%i at τ default and 0.07: op = reference = tf.grad(tfjsOpsLoss)', async (n, d) => {
    for (const tau of TAUS) {
      const options: LossOptions = tau === undefined ? base : { ...base, temperature: tau };
      const z1 = new Float32Array(n * d).map(() => rng.gaussian());
      const z2 = new Float32Array(n * d).map(() => rng.gaussian());
      const where = `${JSON.stringify(options)} N=${n} D=${d}`;
      const r = await page.call('tfjsOpCompare', z1, z2, n, d, options);
      const ref = referenceLoss(z1, z2, n, d, options);
      expectClose(`${where} op vs reference`, r.op, ref, d);
      expectClose(`${where} tfjs-ops baseline vs reference`, r.baseline, ref, d);
      expectClose(`${where} op vs tfjs-ops baseline`, r.op, r.baseline, d);
      expectClose(`${where} op on pending tfjs inputs (2·z1, z2/2) vs reference`, r.chained, ref, d);
      expect(r.forwardOnlyLoss, `${where}: forward-only value`).toBe(r.op.loss);
    }
  });
});

describe('tfjs op resources', () => {
  it('a gradient call leaves no tensor behind', async () => {
    expect(await page.call('tfjsOpLeak', 8, 16, { loss: 'dclw', weightGrad: true })).toBe(0);
  });

  it('50 training steps: flat tfjs memory and dispatcher buffers, no buffer mapped for reading', async () => {
    const r = await page.call('tfjsTraining', 50, { loss: 'dcl' });
    console.log('[tfjs-op] training', JSON.stringify(r));
    expect(r.afterLast).toEqual(r.afterWarmup);
    expect(r.mapReads, 'mapAsync(READ) calls during training steps').toBe(0);
    expect(r.mapCalls, 'mapAsync calls of any mode during training steps').toBe(0);
    expect(Number.isFinite(r.lossAfter)).toBe(true);
    expect(r.lossAfter, 'training lowered the loss').toBeLessThan(r.lossBefore);
  });

  it('throws a clear error on the cpu backend', async () => {
    const message = await page.call('tfjsOnCpuError');
    expect(message).toMatch(/needs the TensorFlow\.js 'webgpu' backend/);
    expect(message).toMatch(/active backend is 'cpu'/);
  });
});
