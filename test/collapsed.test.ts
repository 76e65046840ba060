/**
 * Issue 9 point 8: a nearly collapsed batch — every row of both views one vector plus 1e-3
 * noise — gives gradients within MATH.md's 1e-4 relative L2 of the float64 reference.
 * Fresh random inputs (seed printed; REF_SEED reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss } from '../src/reference/index.js';
import type { LossOptions } from '../src/options.js';
import { freshRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';

const rng = freshRng('collapsed');
let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

const VARIANTS: LossOptions[] = [
  { loss: 'ntxent' },
  { loss: 'dcl' },
  { loss: 'dclw' },
  { loss: 'dclw', weightGrad: true },
  { loss: 'flatnce' },
  { loss: 'dualtemp' },
  { loss: 'dcl', temperature: 0.02 },
];

describe('nearly collapsed batch (issue 9 point 8)', () => {
  it.each([
    [64, 32],
    [31, 33],
    [128, 128],
  ])('N=%i, D=%i: every row = v + 1e-3·noise', async (n, d) => {
    const v = Array.from({ length: d }, () => rng.gaussian());
    const view = () => new Float32Array(n * d).map((_, i) => v[i % d]! + 1e-3 * rng.gaussian());
    const z1 = view();
    const z2 = view();
    let worst = 0;
    for (const options of VARIANTS) {
      const gpu = await page.call('runFusedLoss', z1, z2, n, d, options);
      const ref = referenceLoss(z1, z2, n, d, options);
      const where = `N=${n} D=${d} ${JSON.stringify(options)}`;
      expect(lossError(gpu.loss, ref.loss).ok, `${where}: loss ${gpu.loss} vs ${ref.loss}`).toBe(true);
      for (const [name, got, want, up] of [
        ['gradZ1', gpu.gradZ1, ref.gradZ1, ref.unprojectedNorm.z1],
        ['gradZ2', gpu.gradZ2, ref.gradZ2, ref.unprojectedNorm.z2],
      ] as const) {
        const ge = gradientError(got, want, d, up);
        const rel = Number(/relative L2 error (\S+)/.exec(ge.describe)?.[1] ?? NaN);
        worst = Math.max(worst, rel);
        console.log(`[collapsed] ${where} ${name}: ${ge.describe}`);
        expect(ge.ok, `${where}: ${name} ${ge.describe}`).toBe(true);
      }
    }
    console.log(`[collapsed] N=${n} D=${d}: worst gradient relative L2 error ${worst.toExponential(2)}`);
  });
});
