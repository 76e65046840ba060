import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

function gaussian(len: number): Float32Array {
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return a;
}

describe('browser smoke', () => {
  it('reports the WebGPU adapter', async () => {
    const report = await page.call('adapterReport');
    console.log(
      `WebGPU adapter: vendor=${report.vendor} architecture=${report.architecture} ` +
        `description=${report.description}\n  features: ${report.features.join(', ')}\n` +
        `  maxStorageBufferBindingSize=${report.limits.maxStorageBufferBindingSize} ` +
        `maxComputeWorkgroupStorageSize=${report.limits.maxComputeWorkgroupStorageSize} ` +
        `maxComputeInvocationsPerWorkgroup=${report.limits.maxComputeInvocationsPerWorkgroup}`,
    );
    expect(report.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(report.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
  });

  it('runs kernels/normalize_rows.wgsl and every element of U, norms and the pair statistics matches', async () => {
    for (const [n, d] of [[3, 5], [17, 64], [2, 1]] as const) {
      const z1 = gaussian(n * d);
      const z2 = gaussian(n * d);
      z2.fill(0, 0, d); // a zero row: divisor clamps at 1e-12, result stays 0
      const { U, norms, pair } = await page.call('runNormalizeRows', z1, z2, n, d);
      const d4 = Math.ceil(d / 4);
      for (let row = 0; row < 2 * n; row++) {
        const z = row < n ? z1.subarray(row * d, row * d + d) : z2.subarray((row - n) * d, (row - n) * d + d);
        const norm = Math.hypot(...z);
        expect(norms[row]).toBeCloseTo(norm, 5);
        for (let c = 0; c < 4 * d4; c++) {
          const want = c < d ? z[c]! / Math.max(norm, 1e-12) : 0;
          const got = U[row * 4 * d4 + c]!;
          if (!(Math.abs(got - want) <= 1e-6)) throw new Error(`U[${row}][${c}] = ${got}, expected ${want}`);
        }
      }
      for (let i = 0; i < n; i++) {
        const a = z1.subarray(i * d, i * d + d);
        const b = z2.subarray(i * d, i * d + d);
        const na = Math.max(Math.hypot(...a), 1e-12);
        const nb = Math.max(Math.hypot(...b), 1e-12);
        const want = a.reduce((s, v, k) => s + v * b[k]!, 0) / na / nb;
        if (!(Math.abs(pair[2 * i]! - want) <= 1e-6)) throw new Error(`pair[${i}].x = ${pair[2 * i]}, expected u1·u2 = ${want}`);
        const dist = a.reduce((s, v, k) => s + (v / na - b[k]! / nb) ** 2, 0);
        if (!(Math.abs(pair[2 * i + 1]! - dist) <= 1e-6)) throw new Error(`pair[${i}].y = ${pair[2 * i + 1]}, expected ‖u1 − u2‖² = ${dist}`);
      }
    }
  });
});
