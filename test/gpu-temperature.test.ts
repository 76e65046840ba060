/**
 * `EncodeArgs.temperatureParams`, τ read on the GPU (what the tfjs op's learnable temperature
 * rests on): several calls with different τ in one command buffer share the uniform buffers yet
 * each reads its own τ — bit for bit what the same call gives with τ on the CPU — and equals the
 * float64 reference; bad buffers throw named errors. Fresh random inputs (seed printed;
 * TAU_SEED=<n> reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import type { LossOptions } from '../src/options.js';
import { referenceLoss } from '../src/reference/index.js';
import { freshRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';

const rng = freshRng('gpu-temperature', 'TAU_SEED');
const seed = rng.seed;

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

const gaussian = (len: number) => new Float32Array(len).map(() => rng.gaussian());
const TAUS = [0.07, 0.5, 0.01, 0.2];

describe(`temperatureParams (seed ${seed})`, () => {
  const cases: { name: string; options: Omit<LossOptions, 'bank' | 'temperature'>; n: number; d: number; k?: number }[] = [
    { name: 'ntxent cross (CLIP)', options: { loss: 'ntxent', negatives: 'cross' }, n: 9, d: 12 },
    { name: 'dualtemp (second temperature too), dtM 4', options: { loss: 'dualtemp', dtM: 4 }, n: 9, d: 12 },
    { name: 'dclw weightGrad, bank K=7', options: { loss: 'dclw', weightGrad: true }, n: 9, d: 12, k: 7 },
  ];
  for (const c of cases) {
    it(`${c.name}: 4 τ in one command buffer = the CPU-τ calls, bit for bit, = reference`, async () => {
      const z1 = gaussian(c.n * c.d);
      const z2 = Float32Array.from(z1, (v) => v + 0.5 * rng.gaussian());
      const bank = c.k ? gaussian(c.k * c.d) : undefined;
      const r = await page.call('temperatureParamsRuns', z1, z2, c.n, c.d, c.options, TAUS, bank);
      expect(r.validationErrors).toEqual([]);
      TAUS.forEach((tau, i) => {
        const where = `${c.name}, τ=${tau}`;
        expect(r.gpu[i]!.loss, `${where}: loss`).toBe(r.cpu[i]!.loss);
        expect(r.gpu[i]!.gradTemperature, `${where}: ∂L/∂τ`).toBe(r.cpu[i]!.gradTemperature);
        expect(r.gpu[i]!.gradZ1, `${where}: gradZ1`).toEqual(r.cpu[i]!.gradZ1);
        expect(r.gpu[i]!.gradZ2, `${where}: gradZ2`).toEqual(r.cpu[i]!.gradZ2);
        const ref = referenceLoss(z1, z2, c.n, c.d, { ...c.options, temperature: tau, ...(bank ? { bank } : {}) });
        const le = lossError(r.gpu[i]!.loss, ref.loss);
        expect(le.ok, `${where}: loss ${le.describe}`).toBe(true);
        const ge = gradientError(r.gpu[i]!.gradZ1, ref.gradZ1, c.d);
        expect(ge.ok, `${where}: gradZ1 ${ge.describe}`).toBe(true);
        const gt = r.gpu[i]!.gradTemperature;
        expect(Math.abs(gt - ref.gradTemperature), `${where}: ∂L/∂τ ${gt} vs ${ref.gradTemperature}`).toBeLessThanOrEqual(
          Math.max(1e-4 * Math.abs(ref.gradTemperature), 1e-6 * (1 + Math.abs(ref.loss) / tau)),
        );
      });
    });
  }

  it('bad temperatureParams throw named errors before anything is encoded', async () => {
    const e = await page.call('temperatureParamsErrors');
    expect(e.small).toMatch(/RangeError: temperatureParams holds 4 bytes, needs at least 8/);
    expect(e.noCopySrc).toMatch(/RangeError: temperatureParams lacks usage COPY_SRC/);
    expect(e.both).toMatch(/RangeError: temperatureParams and options.temperature were both given/);
    expect(e.asOutput).toMatch(/RangeError: outputs.loss must not be the temperatureParams buffer/);
  });
});
