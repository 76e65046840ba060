/**
 * The plan's split of the candidate axis (src/plan.ts), checked without any GPU work: every pass
 * whose work is O(N²) or O(N·K) dispatches enough workgroups to fill a large GPU, the chunks
 * cover each candidate exactly once, and the workspace stays linear in N + K (never N×N or N×K),
 * within 2× of the unsplit dispatcher's at N = 65536. The kernels' results with these splits are
 * checked against the reference by the GPU suites (test/split.test.ts and the loss matrices).
 */
import { describe, expect, it } from 'vitest';
import { GRAD_SLICES_BUDGET, planLoss, TARGET_WORKGROUPS, targetWorkgroupsFor, type LossPlan } from '../src/plan.js';
import { checkTargetWorkgroups } from '../src/validate.js';
import { LOSS_NAMES, resolveOptions, type LossOptions, type NegativesMode } from '../src/options.js';

const D = 128;
const TILE_WORK = 64 * 128;

/** The bar: min(1024, ⌈rows·candidates / (64·128)⌉) workgroups. */
const required = (rows: number, candidates: number) => Math.min(1024, Math.ceil((rows * candidates) / TILE_WORK));

/** A GPU bank of K rows as the plan sees it (only `k` matters to the plan). */
const bankOf = (k: number) => ({ buffer: {} as GPUBuffer, k });

function plan(n: number, options: LossOptions, d = D, backward = true): LossPlan {
  return planLoss(n, d, resolveOptions(options, d), backward);
}

const workgroupsOf = (p: LossPlan, kernel: string) => p.passes.filter((x) => x.kernel === kernel).reduce((s, x) => s + x.workgroups, 0);

interface Shape {
  n: number;
  k: number;
  options: LossOptions;
}

function shapes(): Shape[] {
  const out: Shape[] = [];
  for (const loss of LOSS_NAMES) {
    const sets: NegativesMode[] = loss === 'dualtemp' ? ['cross'] : ['all', 'cross'];
    for (const negatives of sets) {
      for (const n of [64, 256, 1024, 4096]) {
        out.push({ n, k: 0, options: { loss, negatives } });
        out.push({ n, k: 0, options: { loss, negatives, gradTemperature: true, diagnostics: true } });
      }
    }
    for (const [n, k] of [
      [256, 4096],
      [256, 65536],
    ] as const) {
      out.push({ n, k, options: { loss, bank: bankOf(k) } });
      out.push({ n, k, options: { loss, bank: bankOf(k), gradTemperature: true, diagnostics: true } });
    }
  }
  // The third wave (issue 18) inherits the split: SupCon's 2N anchors over every other row, SigLIP's
  // N rows of u1 over the N of u2 in anchor_stats, and all 2N rows over the other tower in grad_rows.
  for (const n of [64, 256, 1024, 4096]) {
    out.push({ n, k: 0, options: { loss: 'supcon', labels: new Int32Array(n), gradTemperature: true } });
    out.push({ n, k: 0, options: { loss: 'siglip', gradTemperature: true, gradBias: true } });
  }
  return out;
}

describe('the plan splits the candidate axis to fill a large GPU', () => {
  const rows: string[] = [];
  for (const s of shapes()) {
    const where = `${JSON.stringify({ ...s.options, bank: s.k || undefined, labels: s.options.labels ? 'N' : undefined })} N=${s.n}`;
    it(`${where}: anchor_stats and grad_rows dispatch ≥ min(1024, rows·candidates/8192) workgroups`, () => {
      const p = plan(s.n, s.options);
      // In-batch: 2N rows × 2N candidates (both sets: 'cross' masks half of them); bank: N anchors × K;
      // siglip: N anchors × N in anchor_stats, 2N rows × N in grad_rows.
      const siglip = s.options.loss === 'siglip';
      const [r, c] = s.k ? [s.n, s.k] : siglip ? [s.n, s.n] : [2 * s.n, 2 * s.n];
      const bar = required(r, c);
      const gradBar = siglip ? required(2 * s.n, s.n) : bar;
      const stats = workgroupsOf(p, 'anchorStats');
      const grad = workgroupsOf(p, 'gradRows');
      rows.push(`${where}: anchor_stats ${stats}, grad_rows ${grad} (bar ${bar}/${gradBar}; chunks ${p.statsSplit.chunks}×${p.statsSplit.chunkLength}, ${p.gradSplit.chunks}×${p.gradSplit.chunkLength})`);
      expect(stats, `${where} anchor_stats`).toBeGreaterThanOrEqual(bar);
      expect(grad, `${where} grad_rows`).toBeGreaterThanOrEqual(gradBar);
      for (const pass of p.passes) {
        expect(pass.workgroups).toBe(pass.grid[0] * pass.grid[1] * pass.grid[2]);
        expect(Math.max(...pass.grid), `${where} ${pass.kernel}`).toBeLessThanOrEqual(65535);
      }
    });
  }
  it('prints the counts', () => console.log(rows.join('\n')));
});

describe('the chunks cover each candidate once', () => {
  for (const [n, k, diagnostics] of [
    [2, 0, false],
    [65, 0, true],
    [300, 0, false],
    [1000, 0, true],
    [3, 1, false],
    [3, 1, true],
    [256, 4097, false],
    [256, 4097, true],
    [100, 100000, false],
  ] as const) {
    it(`N=${n} K=${k} diagnostics=${diagnostics}`, () => {
      const options: LossOptions = k ? { loss: 'ntxent', bank: bankOf(k), diagnostics } : { loss: 'dcl', diagnostics };
      const p = plan(n, options);
      const statsAxis = (k === 0 || diagnostics ? 2 * n : 0) + k;
      const gradAxis = k || 2 * n;
      for (const [split, axis] of [
        [p.statsSplit, statsAxis],
        [p.gradSplit, gradAxis],
      ] as const) {
        expect(split.chunkLength % 128).toBe(0);
        expect(split.chunks * split.chunkLength).toBeGreaterThanOrEqual(axis); // every candidate in a chunk
        expect((split.chunks - 1) * split.chunkLength).toBeLessThan(axis); // no empty chunk
      }
      // The uniforms carry the chunk lengths the grid was made for.
      const tile = p.constants.tile!;
      expect([tile[10], tile[11]]).toEqual([p.statsSplit.chunkLength, p.gradSplit.chunkLength]);
      expect([p.constants.norm![4], p.constants.norm![5]]).toEqual([p.gradSplit.chunks, p.anchors]);
    });
  }
});

describe('the workspace stays linear in N + K', () => {
  /** The unsplit dispatcher's workspace (before the split): U, gU, norms, stats, pair, coefs, spares. */
  const unsplitBytes = (n: number, d4: number, k: number) => (2 * n + k) * d4 * 16 + 2 * n * d4 * 16 + 2 * n * 4 + 2 * n * 16 + n * 8 + 2 * n * 8 + 4 + 16;
  const total = (p: LossPlan) => Object.values(p.workspaceBytes).reduce((a, b) => a + b, 0);

  it('N = 65536, D = 128: within 2× of the unsplit workspace (no split needed: 2048 row blocks)', () => {
    for (const options of [{ loss: 'dcl' }, { loss: 'dualtemp', gradTemperature: true, diagnostics: true }] as LossOptions[]) {
      const p = plan(65536, options);
      const ratio = total(p) / unsplitBytes(65536, 32, 0);
      console.log(`N=65536 D=128 ${options.loss}: workspace ${(total(p) / 2 ** 20).toFixed(1)} MiB, ${ratio.toFixed(3)}× the unsplit one`);
      expect(ratio).toBeLessThanOrEqual(2);
      expect(p.gradSplit.chunks).toBe(1);
    }
  });

  it('the split part is bounded, whatever the shape, and nothing is N×N or N×K', () => {
    for (const d of [4, 128, 1000]) {
      for (const [n, k] of [
        [64, 0],
        [700, 0],
        [1448, 0],
        [4096, 0],
        [16384, 0],
        [256, 65536],
        [8, 1 << 20],
      ] as const) {
        const options: LossOptions = k ? { loss: 'ntxent', bank: bankOf(k), diagnostics: true } : { loss: 'dcl', diagnostics: true };
        const p = plan(n, options, d);
        const d4 = Math.ceil(d / 4);
        const extra = total(p) - unsplitBytes(n, d4, k);
        const where = `N=${n} K=${k} D=${d}`;
        expect(p.workspaceBytes.gU, where).toBeLessThanOrEqual(Math.max(GRAD_SLICES_BUDGET, 2 * n * d4 * 16));
        // anchor_stats' partial states: 32 bytes per row and chunk, ≤ 32 bytes per tile of the pass.
        expect(p.workspaceBytes.statPartials, where).toBeLessThanOrEqual(32 * (2 * n + 64) * Math.ceil((2 * n + k) / 128));
        expect(extra, where).toBeLessThanOrEqual(GRAD_SLICES_BUDGET + 32 * 2048 * 64);
        const square = 4 * (2 * n) * Math.max(2 * n, k);
        if (square > 4 * GRAD_SLICES_BUDGET) for (const [name, b] of Object.entries(p.workspaceBytes)) expect(b, `${where} ${name}`).toBeLessThan(square / 4);
      }
    }
  });

  it('supcon and siglip: no workspace buffer of N×N size, within 2× of the unsplit workspace at N = 65536', () => {
    for (const options of [{ loss: 'supcon', labels: new Int32Array(65536), gradTemperature: true }, { loss: 'siglip', gradTemperature: true, gradBias: true }] as LossOptions[]) {
      const p = plan(65536, options);
      const ratio = total(p) / unsplitBytes(65536, 32, 0);
      console.log(`N=65536 D=128 ${options.loss}: workspace ${(total(p) / 2 ** 20).toFixed(1)} MiB, ${ratio.toFixed(3)}× the unsplit one`);
      expect(ratio).toBeLessThanOrEqual(2);
      for (const [name, b] of Object.entries(p.workspaceBytes)) expect(b, name).toBeLessThan(4 * 65536 * 65536 / 64);
    }
  });
});

describe('the split a device gets', () => {
  it('a GPU aims for 1024 workgroups; a CPU adapter is not split', () => {
    expect(targetWorkgroupsFor(undefined)).toBe(TARGET_WORKGROUPS);
    expect(targetWorkgroupsFor({ architecture: 'hopper', description: 'NVIDIA H200', isFallbackAdapter: false })).toBe(1024);
    expect(targetWorkgroupsFor({ architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true })).toBe(1);
    expect(targetWorkgroupsFor({ architecture: 'swiftshader', description: '' })).toBe(1);
    expect(targetWorkgroupsFor({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(1);
    expect(targetWorkgroupsFor({ description: 'Microsoft Basic Render Driver', device: 'WARP' })).toBe(1);
    expect(targetWorkgroupsFor({ isFallbackAdapter: true })).toBe(1);
  });
  it('no split plans one chunk per tile pass; the split plan covers the same candidates', () => {
    const opts = resolveOptions({ loss: 'dcl' }, D);
    const unsplit = planLoss(1024, D, opts, true, 1);
    expect([unsplit.statsSplit.chunks, unsplit.gradSplit.chunks]).toEqual([1, 1]);
    expect(unsplit.workspaceBytes.gU).toBe(2 * 1024 * 32 * 16);
    expect(workgroupsOf(planLoss(1024, D, opts, true), 'gradRows')).toBe(512);
  });
  it('targetWorkgroups must be an integer in [1, 2^20]', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 20 + 1, '8', null]) {
      expect(() => checkTargetWorkgroups(bad), String(bad)).toThrow(/targetWorkgroups must be an integer in \[1, 1048576\] \(1: no split\), got/);
    }
    for (const ok of [undefined, 1, 64, 1024, 2 ** 20]) expect(() => checkTargetWorkgroups(ok)).not.toThrow();
  });
});
