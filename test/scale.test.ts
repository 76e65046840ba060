/**
 * Issue 9 point 2: scale-safe normalization. Rows of any norm f32 can hold give what MATH.md
 * defines, u = z / max(|z|, 1e-12): for 1e-12 ≤ |z| ≤ 3.4e38 exactly the result of the unit
 * rows (checked against the reference of the unit rows too), below 1e-12 the constant divisor,
 * and zero rows stay zero. Fresh random inputs (seed printed; REF_SEED reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss } from '../src/reference/index.js';
import type { LossOptions } from '../src/options.js';
import { freshRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';

const rng = freshRng('scale');
let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

/** N×D rows of unit norm times `scaleOf(row)` (exactly representable directions, norm ≈ scale). */
function scaledViews(n: number, d: number, scaleOf: (row: number) => number) {
  const make = () => {
    const z = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const row = Array.from({ length: d }, () => rng.gaussian());
      const norm = Math.hypot(...row);
      for (let k = 0; k < d; k++) z[i * d + k] = (row[k]! / norm) * scaleOf(i);
    }
    return z;
  };
  return { z1: make(), z2: make() };
}

const LOSSES: LossOptions[] = [{ loss: 'dcl' }, { loss: 'ntxent' }, { loss: 'dualtemp' }];

async function check(n: number, d: number, scaleOf: (row: number) => number, label: string, unit: boolean): Promise<void> {
  const { z1, z2 } = scaledViews(n, d, scaleOf);
  for (const options of LOSSES) {
    const where = `${label} ${options.loss}`;
    const gpu = await page.call('runFusedLoss', z1, z2, n, d, options);
    const ref = referenceLoss(z1, z2, n, d, options);
    expect(gpu.inputsUnchanged && gpu.deterministic && gpu.forwardOnlyMatches, `${where}: run checks`).toBe(true);
    const le = lossError(gpu.loss, ref.loss);
    const g1 = gradientError(gpu.gradZ1, ref.gradZ1, d, ref.unprojectedNorm.z1);
    const g2 = gradientError(gpu.gradZ2, ref.gradZ2, d, ref.unprojectedNorm.z2);
    console.log(`[scale] ${where}: loss ${gpu.loss} vs ${ref.loss} (${le.describe}); gradZ1 ${g1.describe}; gradZ2 ${g2.describe}`);
    expect(le.ok, `${where}: loss ${gpu.loss} vs reference ${ref.loss} (${le.describe})`).toBe(true);
    expect(g1.ok, `${where}: gradZ1 ${g1.describe}`).toBe(true);
    expect(g2.ok, `${where}: gradZ2 ${g2.describe}`).toBe(true);
    if (unit) {
      // The same loss as the unit rows (the reference, in float64, of z/|z|).
      const unitRef = referenceLoss(Float64Array.from(z1, (v, i) => v / scaleOf(Math.floor(i / d))), Float64Array.from(z2, (v, i) => v / scaleOf(Math.floor(i / d))), n, d, options);
      expect(lossError(gpu.loss, unitRef.loss).ok, `${where}: ${gpu.loss} vs unit rows ${unitRef.loss}`).toBe(true);
    }
  }
}

describe('scale-safe normalization (issue 9 point 2)', () => {
  it.each([
    [1e-30, false],
    [1e-11, true],
    [1e20, true],
    [1e38, true],
    [3e38, true],
  ])('every row scaled by %s', async (scale, unit) => {
    await check(12, 20, () => scale, `×${scale}`, unit);
  });

  it('rows of mixed scales 1e-30..3e38 and zero rows in one batch', async () => {
    const scales = [1e-30, 1e-14, 1e-3, 1, 7e10, 1e20, 1e30, 1e38, 3e38, 0];
    await check(10, 13, (row) => scales[row % scales.length]!, 'mixed', false);
  });
});
