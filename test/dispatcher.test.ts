/**
 * The dispatcher's contract beyond the numbers: clear errors before anything is dispatched,
 * the Float32Array path, forward-only, memory linear in N, destroy() releasing everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss } from '../src/reference/index.js';
import { gradientError, lossError } from './support/tolerances.js';
import { planLoss, splitWorkspaceBytes } from '../src/plan.js';
import { resolveOptions } from '../src/options.js';

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

const randn = (len: number) => new Float32Array(len).map(() => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random()));

describe('dispatcher', () => {
  it.each([
    ['smallZ1', /z1 holds 124 bytes, needs at least 128/],
    ['n1', /N must be an integer ≥ 2/],
    ['tau0', /temperature must be a finite number > 0/],
    ['badLoss', /unknown loss "nope"/],
    ['notStorage', /z2 lacks usage STORAGE/],
    ['smallOutput', /outputs.gradZ1 holds 124 bytes/],
    ['sameBuffer', /z1 and z2 must be different buffers/],
    ['tooLarge', /over this device's limit/],
    ['nanCompute', /z1 has a non-finite value NaN at row 0, column 0/],
  ])('rejects %s with a clear error', async (kind, message) => {
    expect(await page.call('encodeError', kind)).toMatch(message);
  });

  it('Float32Array path matches the reference; forward-only returns no gradients', async () => {
    const n = 37;
    const d = 19;
    const z1 = randn(n * d);
    const z2 = randn(n * d);
    for (const options of [{ loss: 'ntxent' as const }, { loss: 'dualtemp' as const, temperature: 0.2 }]) {
      const ref = referenceLoss(z1, z2, n, d, options);
      const full = await page.call('computeLoss', z1, z2, n, d, options, true);
      expect(lossError(full.loss, ref.loss).ok, `${full.loss} vs ${ref.loss}`).toBe(true);
      expect(gradientError(full.gradZ1!, ref.gradZ1, d, ref.unprojectedNorm.z1).ok).toBe(true);
      expect(gradientError(full.gradZ2!, ref.gradZ2, d, ref.unprojectedNorm.z2).ok).toBe(true);
      const fwd = await page.call('computeLoss', z1, z2, n, d, options, false);
      expect(fwd.loss).toBe(full.loss);
      expect(fwd.gradZ1).toBeUndefined();
    }
  });

  it('allocates bytes linear in N (no N² term)', async () => {
    const d = 16; // narrow rows: the N² work of each run stays cheap on a CPU adapter
    const ns = [256, 512, 1024];
    const bytes = await page.call('fusedPeakBytes', ns.map((n) => [n, d] as [number, number]));
    // The split candidate axis adds partial states and gradient slices whose count follows the
    // shape's tiles, bounded by the split (test/plan.test.ts): take them out, the rest is linear.
    const split = ns.map((n) => splitWorkspaceBytes(planLoss(n, d, resolveOptions({ loss: 'dcl' }, d), true)));
    console.log(`fused peak bytes at D=${d}: ${ns.map((n, i) => `N=${n}: ${bytes[i]} (split part ${split[i]})`).join(', ')}`);
    // Doubling N adds the same number of bytes each time: b(4N) − b(2N) = 2·(b(2N) − b(N)).
    const linear = bytes.map((b, i) => b - split[i]!);
    const step1 = linear[1]! - linear[0]!;
    const step2 = linear[2]! - linear[1]!;
    expect(step2).toBe(2 * step1);
    // And an N×N f32 buffer at N=1024 alone would be 4 MiB; the whole path is far below 2N·2N·4.
    expect(bytes[2]!).toBeLessThan(2 * 1024 * 2 * 1024 * 4);
  });

  it('destroy() releases every buffer and later calls fail clearly', async () => {
    const r = await page.call('destroyBehaviour');
    expect(r.liveBefore).toBeGreaterThan(0);
    expect(r.liveAfter).toBe(0);
    expect(r.bytesAfter).toBe(0);
    expect(r.error).toMatch(/destroyed/);
  });

  it('a lost device gives a clear error', async () => {
    expect(await page.call('lostDeviceError')).toMatch(/GPUDevice was lost or destroyed/);
  });
});
