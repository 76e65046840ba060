/**
 * Issue 9 point 1: whatever `encode` references stays alive and unchanged until the GPU is done
 * with it — many shapes, losses and option values encoded before one submit, a `compute` in
 * between — with memory bounded (the soak test). Every result is checked against the float64
 * reference on fresh random inputs (seed printed; REF_SEED reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss } from '../src/reference/index.js';
import { LOSS_NAMES, type LossOptions } from '../src/options.js';
import { CONSTANT_ENTRIES, WORKSPACE_SHAPES } from '../src/lifetime.js';
import { workspaceBytes } from '../src/plan.js';
import { freshRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';
import type { JobResult, ViewPair } from './browser/lifetime-page.js';

const rng = freshRng('lifetime');
let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

function views(n: number, d: number): ViewPair {
  return { n, d, z1: new Float32Array(n * d).map(() => rng.gaussian()), z2: new Float32Array(n * d).map(() => rng.gaussian()) };
}

/** Loss (and gradients, when present) of one GPU result against the reference. */
function expectMatches(got: JobResult, v: ViewPair, options: LossOptions, where: string): void {
  const ref = referenceLoss(v.z1, v.z2, v.n, v.d, options);
  const le = lossError(got.loss, ref.loss);
  expect(le.ok, `${where}: loss ${got.loss} vs reference ${ref.loss} (${le.describe})`).toBe(true);
  expect(got.perAnchor.every(Number.isFinite), `${where}: perAnchor has unwritten (NaN) entries`).toBe(true);
  if (got.gradZ1) {
    for (const [name, g, want, up] of [
      ['gradZ1', got.gradZ1, ref.gradZ1, ref.unprojectedNorm.z1],
      ['gradZ2', got.gradZ2!, ref.gradZ2, ref.unprojectedNorm.z2],
    ] as const) {
      const ge = gradientError(g, want, v.d, up);
      expect(ge.ok, `${where}: ${name} ${ge.describe}`).toBe(true);
    }
  }
}

describe('encode lifetime (issue 9 point 1)', () => {
  it('encode N=32, then compute N=8, then submit: both correct', async () => {
    const big = views(32, 24);
    const small = views(8, 24);
    const options: LossOptions = { loss: 'dcl', temperature: 0.2 };
    const r = await page.call('encodeManyThenSubmit', [big], [{ input: 0, options, backward: true }], { ...small, options });
    expect(r.submitError).toBeNull();
    expect(r.inputsUnchanged).toBe(true);
    expectMatches(r.results[0]!, big, options, 'encoded N=32');
    expectMatches(r.computed!, small, options, 'compute N=8 in between');
  });

  it('two shapes and five losses in one encoder, one submit', async () => {
    const inputs = [views(16, 12), views(5, 33)];
    const jobs = inputs.flatMap((_, input) => LOSS_NAMES.map((loss) => ({ input, options: { loss } as LossOptions, backward: true })));
    const r = await page.call('encodeManyThenSubmit', inputs, jobs);
    expect(r.submitError).toBeNull();
    jobs.forEach((j, i) => expectMatches(r.results[i]!, inputs[j.input]!, j.options, `${j.options.loss} N=${inputs[j.input]!.n}`));
  });

  it(`more shapes than the workspace pool holds (${WORKSPACE_SHAPES}) before one submit`, async () => {
    const inputs = Array.from({ length: WORKSPACE_SHAPES + 4 }, (_, i) => views(2 + i, 1 + ((5 * i) % 9)));
    // Each shape twice, the second time after every other shape: its workspace was dropped in between.
    const jobs = [...inputs, ...inputs].map((_, i) => ({ input: i % inputs.length, options: { loss: LOSS_NAMES[i % 5]! } as LossOptions, backward: true }));
    const r = await page.call('encodeManyThenSubmit', inputs, jobs);
    expect(r.submitError).toBeNull();
    jobs.forEach((j, i) => expectMatches(r.results[i]!, inputs[j.input]!, j.options, `job ${i} N=${inputs[j.input]!.n}`));
    // What the dispatcher holds is capped: one workspace's buffers per pooled shape (not per shape
    // seen), at most 3 new uniforms per job and one gradScale constant.
    const perWorkspace = Object.keys(workspaceBytes(2, 1)).length;
    expect(r.liveBufferCount).toBeLessThanOrEqual(WORKSPACE_SHAPES * perWorkspace + 3 * jobs.length + 1);
  });

  it(`1,000 distinct τ in one encoder (past the ${CONSTANT_ENTRIES}-entry constants cache)`, async () => {
    const v = views(4, 8);
    const taus = Array.from({ length: 1000 }, (_, i) => 0.05 + i * 0.001);
    const jobs = taus.map((temperature, i) => ({ input: 0, options: { loss: LOSS_NAMES[i % 5]!, temperature } as LossOptions, backward: i % 2 === 0 }));
    const r = await page.call('encodeManyThenSubmit', [v], jobs);
    expect(r.submitError).toBeNull();
    jobs.forEach((j, i) => expectMatches(r.results[i]!, v, j.options, `τ=${taus[i]} ${j.options.loss}`));
  });
});

describe('soak (issue 9 point 1)', () => {
  it('10,000 mixed calls: counters bounded after warm-up, identical inputs give identical bits', async () => {
    const inputs = [views(2, 3), views(4, 8), views(7, 5)];
    const options: LossOptions[] = [
      ...LOSS_NAMES.map((loss) => ({ loss }) as LossOptions),
      { loss: 'dcl', temperature: 0.3 },
      { loss: 'dclw', weightGrad: true },
      { loss: 'dualtemp', dtM: 3 },
    ];
    const seed = rng.seed;
    const r = await page.call('soak', inputs, { options, calls: Number(process.env.SOAK_CALLS ?? 10_000), warmup: Number(process.env.SOAK_CALLS ?? 10_000) / 5, perSubmit: 100, submitEvery: 4, computeEvery: 50, sampleEvery: 17, seed });
    console.log(
      `[soak] ${r.calls} calls (${r.encodes} encodes, ${r.computes} computes, ${r.submits} encoders submitted, the rest dropped) in ${(r.ms / 1000).toFixed(1)} s (encode ${(r.encodeMs / 1000).toFixed(1)} s, submit ${(r.submitMs / 1000).toFixed(1)} s, compute ${(r.computeMs / 1000).toFixed(1)} s); ` +
        `after warm-up liveBufferCount ${r.warm.live} bytes ${r.warm.bytes}; afterwards live ${r.afterWarm.liveMin}..${r.afterWarm.liveMax}, ` +
        `bytes ${r.afterWarm.bytesMin}..${r.afterWarm.bytesMax}; end live ${r.end.live} bytes ${r.end.bytes}; ${r.samples.length} samples`,
    );
    expect(r.submitErrors).toEqual([]);
    expect(r.afterWarm.liveMax).toBe(r.warm.live);
    expect(r.afterWarm.bytesMax).toBe(r.warm.bytes);
    expect(r.end).toEqual(r.warm);
    expect(r.afterDestroy).toEqual({ live: 0, bytes: 0 });
    const byKey = new Map<string, JobResult[]>();
    for (const s of r.samples) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)).join(',');
    let repeated = 0;
    for (const [key, group] of byKey) {
      const [input, json, backward] = key.split('|');
      const first = group[0]!;
      expectMatches(first, inputs[Number(input)]!, JSON.parse(json!) as LossOptions, `soak ${key}`);
      expect(backward === 'true').toBe(first.gradZ1 !== undefined);
      for (const other of group.slice(1)) {
        repeated++;
        expect(bits(new Float32Array([other.loss])), `${key}: loss differs between identical calls`).toBe(bits(new Float32Array([first.loss])));
        expect(bits(other.perAnchor), `${key}: perAnchor differs`).toBe(bits(first.perAnchor));
        if (first.gradZ1) {
          expect(bits(other.gradZ1!), `${key}: gradZ1 differs`).toBe(bits(first.gradZ1));
          expect(bits(other.gradZ2!), `${key}: gradZ2 differs`).toBe(bits(first.gradZ2!));
        }
      }
    }
    expect(repeated).toBeGreaterThan(r.samples.length / 2);
  }, 600_000);
});
