/**
 * The six kernels of the fused path (normalize_bank in bank form) under wgsl_reflect's race detector, in Node: every
 * invocation of every workgroup runs in lockstep in an interpreter, with real inputs and the
 * grids and parameters the dispatcher uses, each pass fed by the previous one's outputs
 * (test/support/cpu-pipeline.ts). Asserted: no race inside a workgroup, none between
 * workgroups on storage, no interpreter error, and outputs that match the float64 reference.
 * Output buffers start as NaN, so anything left unwritten shows. Inputs are fresh random each
 * run (seed printed; REF_SEED reproduces).
 *
 * The interpreter is slow (seconds per pipeline, most of it in the two 256-thread tile
 * kernels), so shapes stay small: the tile kernels run one workgroup per dispatch except in the
 * N = 33 cases (two); the row kernels run N and 2N workgroups. D ≤ 128 keeps grad_rows at one
 * workgroup along y.
 */
import { describe, expect, it } from 'vitest';
import { referenceLoss } from '../src/reference/index.js';
import { DIAGNOSTIC_NAMES, resolveOptions, type LossOptions } from '../src/options.js';
import { freshRng, makeViews } from './reference/helpers.js';
import { gradientError, lossError, perAnchorError } from './support/tolerances.js';
import { detectRaces, loadKernels, runPassesUntil, runPipeline, type PassReport } from './support/cpu-pipeline.js';

const rng = freshRng('kernel-races');

function views(n: number, d: number): { z1: Float32Array; z2: Float32Array } {
  const { z1, z2 } = makeViews('gaussian', n, d, rng);
  return { z1: Float32Array.from(z1), z2: Float32Array.from(z2) };
}

/** Every race and error of every pass, one line each (empty when clean). */
function problems(passes: PassReport[]): string[] {
  return passes.flatMap((p) => [
    ...p.races.map((r) => `${p.kernel}: ${r.message}`),
    ...p.crossWorkgroup.map((r) => `${p.kernel}: ${r.message}`),
    ...p.errors.map((e) => `${p.kernel}: interpreter error: ${e}`),
  ]);
}

interface Case {
  n: number;
  d: number;
  options: LossOptions;
  gradScale?: number;
  /** Bank rows K (bank form), generated with mixed norms. */
  k?: number;
}

const CASES: Case[] = [
  { n: 2, d: 3, options: { loss: 'ntxent', temperature: 0.07 } },
  { n: 2, d: 3, options: { loss: 'dcl' } },
  { n: 2, d: 3, options: { loss: 'dclw', sigma: 0.2, weightGrad: true } },
  { n: 2, d: 3, options: { loss: 'flatnce' } },
  { n: 2, d: 3, options: { loss: 'dualtemp' } },
  { n: 5, d: 9, options: { loss: 'ntxent' }, gradScale: 0.5 },
  { n: 5, d: 9, options: { loss: 'dclw', weightGrad: true } },
  { n: 5, d: 9, options: { loss: 'dualtemp', dtM: 3, temperature: 0.2 } },
  // 2N = 66 > 64 rows: two workgroups in anchor_stats and grad_rows (the cross-workgroup check).
  { n: 33, d: 2, options: { loss: 'dcl' } },
  // Second wave: the cross-view mask, ∂L/∂τ, the diagnostics and the bank form.
  { n: 5, d: 9, options: { loss: 'ntxent', negatives: 'cross', gradTemperature: true, diagnostics: true }, gradScale: 0.5 },
  { n: 33, d: 2, options: { loss: 'flatnce', negatives: 'cross', diagnostics: true } },
  { n: 5, d: 9, options: { loss: 'dcl', gradTemperature: true }, k: 7 },
  { n: 2, d: 3, options: { loss: 'dualtemp', gradTemperature: true, diagnostics: true }, k: 3 },
  // Anchors in one workgroup but 2N = 66 uniformity rows in two; K = 130: two bank tiles in
  // anchor_stats, five in grad_rows; grad_rows' second workgroup holds only u2 rows.
  { n: 33, d: 2, options: { loss: 'dclw', weightGrad: true, gradTemperature: true, diagnostics: true }, k: 130 },
  // The split candidate axis in-batch: 2N = 130 candidates, two chunks of 128 in both tile
  // passes (the second one short), three row blocks; 'cross' skips same-view tiles, and every
  // partial state (T, the second temperature, uniformity's) goes through the merge.
  { n: 65, d: 2, options: { loss: 'dualtemp', gradTemperature: true, diagnostics: true } },
];

/** A K×D bank with rows of mixed norms. */
function bankRows(k: number, d: number): Float32Array {
  const bank = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    const scale = 10 ** (2 * rng.uniform() - 1);
    for (let c = 0; c < d; c++) bank[j * d + c] = scale * rng.gaussian();
  }
  return bank;
}

/** ∂L/∂z1, ∂L/∂z2 of the CPU pipeline against the reference's, scaled by the upstream gradient. */
function expectGradients(where: string, got: { gradZ1: Float32Array; gradZ2: Float32Array }, ref: ReturnType<typeof referenceLoss>, d: number, scale: number): void {
  for (const [name, g, r, unprojected] of [
    ['gradZ1', got.gradZ1, ref.gradZ1, ref.unprojectedNorm.z1],
    ['gradZ2', got.gradZ2, ref.gradZ2, ref.unprojectedNorm.z2],
  ] as const) {
    const ge = gradientError(g, r.map((v) => v * scale), d, Math.abs(scale) * unprojected);
    expect(ge.ok, `${where}: ${name} (${ge.describe})`).toBe(true);
  }
}

describe('the fused kernels under the race detector', () => {
  for (const c of CASES) {
    const where = `${JSON.stringify(c.options)} N=${c.n} D=${c.d}${c.k ? ` K=${c.k}` : ''}${c.gradScale !== undefined ? ` gradScale=${c.gradScale}` : ''}`;
    it(`${where}: no race, no error, outputs match the reference`, async () => {
      const { z1, z2 } = views(c.n, c.d);
      const options: LossOptions = c.k ? { ...c.options, bank: bankRows(c.k, c.d) } : c.options;
      const got = await runPipeline(z1, z2, c.n, c.d, options, { gradScale: c.gradScale });
      const ref = referenceLoss(z1, z2, c.n, c.d, options);
      const opts = resolveOptions(options, c.d);
      const tau = opts.temperature;
      const anchors = c.k ? c.n : 2 * c.n;
      console.log(`${where}: ${got.passes.map((p) => `${p.kernel} ${p.grid.join('×')} ${(p.ms / 1000).toFixed(1)} s`).join(', ')}`);

      expect(problems(got.passes), where).toEqual([]);
      expect(got.passes.map((p) => p.kernel)).toEqual([
        'normalize_rows',
        ...(c.k ? ['normalize_bank'] : []),
        'anchor_stats',
        'anchor_stats_merge',
        'loss_finalize',
        'grad_rows',
        'normalize_backward',
      ]);

      // Every workspace buffer fully written: the spares only fill bindings for outputs not asked
      // for and for labels (never written; never read), and anchor_stats writes the u2 rows
      // of a bank-form batch only for uniformity.
      const statRows = c.k && !opts.diagnostics ? c.n : 2 * c.n;
      for (const [name, buf] of Object.entries(got.workspace)) {
        if (name.startsWith('spare')) continue;
        const written = name === 'stats' ? buf.subarray(0, 4 * statRows) : buf;
        const bad = written.findIndex((v) => !Number.isFinite(v));
        expect(bad, `${where}: workspace ${name}[${bad}] = ${written[bad]}`).toBe(-1);
      }
      // The intermediate statistics, to localize a mismatch below.
      for (let a = 0; a < anchors; a++) {
        // anchor_stats stores lse − 1/τ (its excess over the largest possible logit).
        const excess = got.workspace.stats[4 * a]!;
        const le = perAnchorError(excess, ref.lse[a]! - 1 / tau, tau);
        expect(le.ok, `${where}: lse[${a}] − 1/τ = ${excess} vs ${ref.lse[a]! - 1 / tau} (${le.describe})`).toBe(true);
      }
      for (let i = 0; i < c.n; i++) {
        const sp = perAnchorError(got.workspace.pair[2 * i]! / tau, ref.sPos[i]!, tau);
        expect(sp.ok, `${where}: pair[${i}].x/τ vs s⁺ ${ref.sPos[i]} (${sp.describe})`).toBe(true);
      }

      const le = lossError(got.loss, ref.loss);
      expect(le.ok, `${where}: loss ${got.loss} vs ${ref.loss} (${le.describe})`).toBe(true);
      expect(got.perAnchor.length).toBe(anchors);
      for (let a = 0; a < anchors; a++) {
        const pe = perAnchorError(got.perAnchor[a]!, ref.perAnchor[a]!, tau, ref.dualFactors?.[a]);
        expect(pe.ok, `${where}: perAnchor[${a}] ${got.perAnchor[a]} vs ${ref.perAnchor[a]} (${pe.describe})`).toBe(true);
      }
      const scale = c.gradScale ?? 1;
      expectGradients(where, got, ref, c.d, scale);
      if (opts.gradTemperature) {
        const want = scale * ref.gradTemperature;
        expect(Math.abs(got.gradTemperature! - want), `${where}: ∂L/∂τ ${got.gradTemperature} vs ${want}`).toBeLessThanOrEqual(1e-4 * Math.abs(want));
      } else {
        expect(got.gradTemperature).toBeUndefined();
      }
      if (opts.diagnostics) {
        DIAGNOSTIC_NAMES.forEach((name, i) => {
          const want = ref.diagnostics[name];
          const err = Math.abs(got.diagnostics![i]! - want);
          expect(err <= 1e-4 * Math.abs(want) || err <= 1e-6, `${where}: ${name} ${got.diagnostics![i]} vs ${want}`).toBe(true);
        });
      } else {
        expect(got.diagnostics).toBeUndefined();
      }
    });
  }
});

/**
 * MATH.md's third wave in the same tile loop: SupCon (labels; the LSE over every other row and
 * the same-label sums beside it) and SigLIP (a sigmoid per cross-tower pair, the bias, ∂L/∂b).
 * Small shapes (the interpreter is slow): SupCon at N = 33 runs two row blocks (2N = 66), so two
 * workgroups write the new partial sums; the split's chunks (the same slots, merged in order) run
 * on the GPU suites (test/suites/third-wave.ts, N = 150 and 200) against the reference.
 */
const THIRD_WAVE_CASES: Case[] = [
  { n: 33, d: 2, options: { loss: 'supcon', labels: Int32Array.from({ length: 33 }, (_, i) => (i * 7) % 5 - 2), temperature: 0.1, baseTemperature: 0.07, gradTemperature: true }, gradScale: 0.5 },
  { n: 3, d: 5, options: { loss: 'siglip', gradTemperature: true, gradBias: true }, gradScale: 0.5 },
];

describe('the third-wave losses under the race detector', () => {
  for (const c of THIRD_WAVE_CASES) {
    const where = `${c.options.loss} N=${c.n} D=${c.d}${c.gradScale !== undefined ? ` gradScale=${c.gradScale}` : ''}`;
    it(`${where}: no race, no error, outputs match the reference`, async () => {
      const { z1, z2 } = views(c.n, c.d);
      const got = await runPipeline(z1, z2, c.n, c.d, c.options, { gradScale: c.gradScale });
      const ref = referenceLoss(z1, z2, c.n, c.d, c.options);
      const tau = resolveOptions(c.options, c.d).temperature;
      const scale = c.gradScale ?? 1;
      console.log(`${where}: ${got.passes.map((p) => `${p.kernel} ${p.grid.join('×')} ${(p.ms / 1000).toFixed(1)} s`).join(', ')}`);
      expect(problems(got.passes), where).toEqual([]);
      const statRows = c.options.loss === 'siglip' ? c.n : 2 * c.n;
      for (const [name, buf] of Object.entries(got.workspace)) {
        if (name.startsWith('spare')) continue;
        const written = name === 'stats' ? buf.subarray(0, 4 * statRows) : buf;
        const bad = written.findIndex((v) => !Number.isFinite(v));
        expect(bad, `${where}: workspace ${name}[${bad}] = ${written[bad]}`).toBe(-1);
      }
      const le = lossError(got.loss, ref.loss, ref.perAnchor);
      expect(le.ok, `${where}: loss ${got.loss} vs ${ref.loss} (${le.describe})`).toBe(true);
      expect(got.perAnchor.length).toBe(ref.perAnchor.length);
      ref.perAnchor.forEach((want, a) => {
        const pe = perAnchorError(got.perAnchor[a]!, want, tau);
        expect(pe.ok, `${where}: perAnchor[${a}] ${got.perAnchor[a]} vs ${want} (${pe.describe})`).toBe(true);
      });
      expectGradients(where, got, ref, c.d, scale);
      const wantTau = scale * ref.gradTemperature;
      expect(Math.abs(got.gradTemperature! - wantTau), `${where}: ∂L/∂τ ${got.gradTemperature} vs ${wantTau}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(wantTau), 1e-7));
      if (c.options.loss === 'siglip') {
        const wantBias = scale * ref.gradBias!;
        expect(Math.abs(got.gradBias! - wantBias), `${where}: ∂L/∂b ${got.gradBias} vs ${wantBias}`).toBeLessThanOrEqual(Math.max(1e-4 * Math.abs(wantBias), 1e-7));
      } else {
        expect(got.gradBias).toBeUndefined();
      }
    });
  }
});

describe('a removed workgroupBarrier is reported', () => {
  /** Remove `barrier` (which must occur exactly once in the kernel's source) and run up to that kernel. */
  async function withoutBarrier(kernel: 'normalizeRows' | 'anchorStats', barrier: string, n: number, d: number) {
    const { KERNELS } = await loadKernels();
    const source = KERNELS[kernel].source;
    expect(source.split(barrier).length, `the barrier to remove must occur exactly once in ${KERNELS[kernel].name}`).toBe(2);
    const broken = source.replace(barrier, barrier.replace('workgroupBarrier();', '/* barrier removed */'));
    const { z1, z2 } = views(n, d);
    const passes = await runPassesUntil(kernel, z1, z2, n, d, { loss: 'ntxent' }, { sources: { [kernel]: broken } });
    const last = passes[passes.length - 1]!;
    expect(last.kernel).toBe(KERNELS[kernel].name);
    return last;
  }

  it('normalize_rows without the barrier that ends the first reduction: write-after-read on `partial`', async () => {
    const last = await withoutBarrier('normalizeRows', 'let total = partial[0];\n  workgroupBarrier();', 3, 5);
    expect(last.races.length).toBeGreaterThan(0);
    expect(last.races.every((r) => r.bufferId === 'partial')).toBe(true);
    console.log(`normalize_rows, barrier removed: ${last.races.length} races, e.g. ${last.races[0]!.message}`);
  });

  it('anchor_stats without the barrier between stash and merge_row: read-after-write on `merge_buf`', async () => {
    const last = await withoutBarrier('anchorStats', 'stash(lo.m, lo.s, hi.m, hi.s, ty, tx);\n  workgroupBarrier();', 2, 3);
    expect(last.races.length).toBeGreaterThan(0);
    expect(last.races.every((r) => r.bufferId === 'merge_buf')).toBe(true);
    console.log(`anchor_stats, barrier removed: ${last.races.length} races, e.g. ${last.races[0]!.message}`);
  });
});

describe('the race detector itself (wgsl_reflect, patched in test/support/cpu-pipeline.ts)', () => {
  const R = 'read-only-storage' as const;
  const W = 'storage' as const;

  it('gives each invocation its own return value from a user function', () => {
    const code = `
      @group(0) @binding(0) var<storage, read> inp: array<f32>;
      @group(0) @binding(1) var<storage, read_write> out: array<f32>;
      fn get(i: u32) -> f32 { return inp[i]; }
      @compute @workgroup_size(4)
      fn main(@builtin(local_invocation_index) lid: u32) { out[lid] = get(lid) + get(3u - lid); }`;
    const out = new Float32Array(4).fill(NaN);
    const report = detectRaces(code, [R, W], [new Float32Array([1, 10, 100, 1000]), out], [1]);
    expect(report).toEqual({ races: [], crossWorkgroup: [], errors: [] });
    expect(Array.from(out)).toEqual([1001, 110, 110, 1001]);
  });

  it('evaluates a row vector times a matrix as WGSL does (v * M = transpose(M) * v)', () => {
    const code = `
      @group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
      @compute @workgroup_size(1)
      fn main() {
        let m = mat4x4<f32>(vec4<f32>(1., 2., 3., 4.), vec4<f32>(5., 6., 7., 8.), vec4<f32>(9., 10., 11., 12.), vec4<f32>(13., 14., 15., 16.));
        out[0] = vec4<f32>(1., 0., 0., 1.) * m;
        out[1] = m * vec4<f32>(1., 0., 0., 1.);
      }`;
    const out = new Float32Array(8).fill(NaN);
    expect(detectRaces(code, [W], [out], [1]).errors).toEqual([]);
    expect(Array.from(out)).toEqual([5, 13, 21, 29, 14, 16, 18, 20]);
  });

  it('waits at a barrier that opens a block (and still reports the race without it)', () => {
    const code = (barrier: string) => `
      @group(0) @binding(0) var<uniform> flag: vec4<u32>;
      @group(0) @binding(1) var<storage, read_write> out: array<f32>;
      var<workgroup> buf: array<f32, 8>;
      fn pair_sum(lid: u32) -> f32 { var s = 0.0; for (var t = 0u; t < 2u; t++) { s += buf[2u * lid + t]; } return s; }
      @compute @workgroup_size(8)
      fn main(@builtin(local_invocation_index) lid: u32) {
        buf[lid] = 1.0;
        workgroupBarrier();
        if (lid < 4u) { out[lid] = pair_sum(lid); }
        if (flag.x == 1u) {
          ${barrier}
          buf[lid] = 2.0;
          workgroupBarrier();
          if (lid < 4u) { out[lid + 4u] = pair_sum(lid); }
        }
      }`;
    const out = new Float32Array(8).fill(NaN);
    const report = detectRaces(code('workgroupBarrier();'), ['uniform', W], [new Uint32Array([1, 0, 0, 0]), out], [1]);
    expect(report).toEqual({ races: [], crossWorkgroup: [], errors: [] });
    expect(Array.from(out)).toEqual([2, 2, 2, 2, 4, 4, 4, 4]);
    const broken = detectRaces(code(''), ['uniform', W], [new Uint32Array([1, 0, 0, 0]), new Float32Array(8)], [1]);
    expect(broken.races.length).toBeGreaterThan(0);
  });

  it('sees a workgroup-memory race in any workgroup, not only the first', () => {
    const code = `
      @group(0) @binding(0) var<storage, read_write> out: array<f32>;
      var<workgroup> sh: array<f32, 4>;
      @compute @workgroup_size(4)
      fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
        sh[lid] = f32(lid);
        workgroupBarrier();
        out[wg.x * 4u + lid] = sh[(lid + wg.x) % 4u]; // workgroup 0 reads its own slot: fine
        sh[lid] = 0.0;                                // workgroup 1 races with its neighbour's read
      }`;
    const one = detectRaces(code, [W], [new Float32Array(8)], [1]);
    expect(one.races).toEqual([]);
    const two = detectRaces(code, [W], [new Float32Array(8)], [2]);
    expect(two.races.length).toBeGreaterThan(0);
    expect(two.races.every((r) => r.bufferId === 'sh')).toBe(true);
  });

  it('starts every workgroup with zeroed workgroup memory', () => {
    const code = `
      @group(0) @binding(0) var<storage, read_write> out: array<f32>;
      var<workgroup> sh: array<f32, 2>;
      @compute @workgroup_size(2)
      fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
        out[wg.x * 2u + lid] = sh[lid];
        sh[lid] = 5.0;
      }`;
    const out = new Float32Array(6).fill(NaN);
    expect(detectRaces(code, [W], [out], [3])).toEqual({ races: [], crossWorkgroup: [], errors: [] });
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('sees two workgroups writing the same storage element', () => {
    const code = `
      @group(0) @binding(0) var<storage, read_write> out: array<f32>;
      @compute @workgroup_size(2)
      fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
        out[wg.x + lid] = f32(wg.x); // element 1: workgroup 0 (lid 1) and workgroup 1 (lid 0)
      }`;
    const report = detectRaces(code, [W], [new Float32Array(3)], [2]);
    expect(report.races).toEqual([]);
    expect(report.crossWorkgroup.map((r) => r.byte)).toEqual([4]);
  });

  it('sees two invocations of one workgroup writing the same storage element', () => {
    const code = `
      @group(0) @binding(0) var<storage, read_write> out: array<f32>;
      @compute @workgroup_size(4)
      fn main(@builtin(local_invocation_index) lid: u32) { out[lid / 2u] = f32(lid); }`;
    const report = detectRaces(code, [W], [new Float32Array(2)], [1]);
    expect(report.races.length).toBe(2);
  });
});
