/**
 * The second-wave options of the fused kernels (MATH.md "Second wave") against the float64
 * reference, in headless Chromium: every loss × { negatives 'cross', a bank with K ∈ {1, 7,
 * 64, 1000}, gradTemperature, diagnostics } over N ∈ {2, 3, 31, 257}, D ∈ {1, 4, 33, 128},
 * τ ∈ {0.01, 0.07, 0.5}. Each (loss, option set) runs four cases in a Latin rotation, so every
 * N and every D meets every loss under every option set, and every τ does too. Outputs are
 * poisoned first; inputs and the bank are checked unchanged; forward-only must agree bit for
 * bit. Inputs are fresh random each run (seed printed; SECOND_WAVE_SEED reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { referenceLoss, type ReferenceResult } from '../src/reference/index.js';
import { DIAGNOSTIC_NAMES, resolveOptions, type LossOptions } from '../src/options.js';
import { planLoss, splitWorkspaceBytes } from '../src/plan.js';
import { makeRng, type Rng } from './reference/helpers.js';
import { expectExtrasMatchReference, expectMatchesReference } from './support/expect-reference.js';
import { relativeL2 } from './support/tolerances.js';
import type { OptionsWithoutBank } from './browser/second-wave-page.js';

const NS = [2, 3, 31, 257];
const DS = [1, 4, 33, 128];
const TAUS = [0.01, 0.07, 0.5];

const LOSSES: { name: string; options: OptionsWithoutBank }[] = [
  { name: 'ntxent', options: { loss: 'ntxent' } },
  { name: 'dcl', options: { loss: 'dcl' } },
  { name: 'dclw', options: { loss: 'dclw' } },
  { name: 'dclw σ=0.2 weightGrad', options: { loss: 'dclw', sigma: 0.2, weightGrad: true } },
  { name: 'flatnce', options: { loss: 'flatnce' } },
  { name: 'dualtemp', options: { loss: 'dualtemp' } },
];

interface OptionSet {
  name: string;
  options: Omit<OptionsWithoutBank, 'loss'>;
  /** Bank rows K (0: in-batch candidates). */
  k: number;
}

const OPTION_SETS: OptionSet[] = [
  { name: "negatives 'cross'", options: { negatives: 'cross' }, k: 0 },
  { name: "'cross' + gradTemperature + diagnostics", options: { negatives: 'cross', gradTemperature: true, diagnostics: true }, k: 0 },
  { name: 'gradTemperature + diagnostics', options: { gradTemperature: true, diagnostics: true }, k: 0 },
  { name: 'bank K=1', options: {}, k: 1 },
  { name: 'bank K=7 + gradTemperature', options: { gradTemperature: true }, k: 7 },
  { name: 'bank K=64 + diagnostics', options: { diagnostics: true }, k: 64 },
  { name: 'bank K=1000 + gradTemperature + diagnostics', options: { gradTemperature: true, diagnostics: true }, k: 1000 },
];

const seed = process.env.SECOND_WAVE_SEED ? Number(process.env.SECOND_WAVE_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[second-wave] random seed ${seed} (reproduce with SECOND_WAVE_SEED=${seed})`);
const rng: Rng = makeRng(seed);

/** Two views (every third case near-duplicates, z2 = z1 + noise) and a bank of rows of mixed norms. */
function inputs(n: number, d: number, k: number, caseIndex: number) {
  const z1 = new Float32Array(n * d).map(() => rng.gaussian());
  const near = caseIndex % 3 === 2;
  const z2 = near ? z1.map((v) => v + 0.05 * rng.gaussian()) : new Float32Array(n * d).map(() => rng.gaussian());
  const bank = k > 0 ? new Float32Array(k * d) : undefined;
  for (let j = 0; j < k; j++) {
    const scale = 10 ** (2 * rng.uniform() - 1);
    for (let c = 0; c < d; c++) bank![j * d + c] = scale * rng.gaussian();
  }
  return { z1, z2, bank };
}

/**
 * Worst relative errors seen per option set, over results whose reference is not near 0
 * (|ref| ≥ 1e-3, where a relative error means something), reported at the end.
 */
const worst = new Map<string, number>();
function noteRelative(key: string, rel: number): void {
  if (Number.isFinite(rel)) worst.set(key, Math.max(worst.get(key) ?? 0, rel));
}
function note(key: string, got: number, want: number): void {
  if (Math.abs(want) >= 1e-3) noteRelative(key, Math.abs(got - want) / Math.abs(want));
}

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => {
  await page?.close();
  if (worst.size > 0) console.log(`[second-wave] worst errors: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
});

/** Check every output of one GPU run against the reference. */
function compare(where: string, set: string, gpu: { loss: number; perAnchor: Float32Array; gradZ1?: Float32Array; gradZ2?: Float32Array; gradTemperature?: number; diagnostics?: Float32Array | number[] }, ref: ReferenceResult, opts: LossOptions, d: number): void {
  note(`${set}: loss`, gpu.loss, ref.loss);
  expectMatchesReference(where, gpu, ref, opts.temperature!, d, 'if-present', {
    onGradient: (name, got, want) => {
      if (d > 1 && Math.hypot(...Array.from(want)) > 1e-6) noteRelative(`${set}: ${name}`, relativeL2(got, want));
    },
  });
  expectExtrasMatchReference(where, gpu, ref, opts, {
    onTemperatureGradient: (got, want) => {
      if (d > 1) note(`${set}: ∂L/∂τ`, got, want);
    },
    onDiagnostic: (name, got, want) => note(`${set}: ${name}`, got, want),
  });
}

async function check(n: number, d: number, tau: number, loss: OptionsWithoutBank, set: OptionSet, caseIndex: number): Promise<void> {
  const { z1, z2, bank } = inputs(n, d, set.k, caseIndex);
  const opts = { ...loss, ...set.options, temperature: tau } as OptionsWithoutBank;
  const where = `${opts.loss} N=${n} D=${d} K=${set.k} τ=${tau} ${JSON.stringify(opts)} (seed ${seed})`;
  const gpu = await page.call('runSecondWave', z1, z2, n, d, opts, bank);
  const ref = referenceLoss(z1, z2, n, d, bank ? { ...opts, bank } : opts);
  expect(gpu.inputsUnchanged, `${where}: inputs or bank changed`).toBe(true);
  expect(gpu.forwardOnlyMatches, `${where}: forward-only ${JSON.stringify(gpu.forwardOnly)} vs ${gpu.loss}`).toBe(true);
  compare(where, set.name, gpu, ref, opts, d);
}

describe.each(LOSSES.map((l, li) => ({ ...l, li })))('second wave: $name', ({ options, li }) => {
  it.each(OPTION_SETS.map((s, si) => ({ ...s, si })))('$name: every N and D, τ rotating', async (set) => {
    for (let i = 0; i < NS.length; i++) {
      const d = DS[(i + set.si + li) % DS.length]!;
      const tau = TAUS[(i + set.si + 2 * li) % TAUS.length]!;
      await check(NS[i]!, d, tau, options, set, li * 100 + set.si * 10 + i);
    }
  });
  it('bank form with N = 1 (K = 7), every τ', async () => {
    for (const tau of TAUS) await check(1, 33, tau, options, { name: 'bank N=1', options: { gradTemperature: true, diagnostics: true }, k: 7 }, 1);
  });
});

describe('second wave: bank rows of extreme norms (scale-safe normalization)', () => {
  it('rows near the f32 limits, below the 1e-12 clamp, and zero', async () => {
    const n = 9;
    const d = 33;
    const scales = [3e37, 1e30, 1e-30, 1e-14, 0, 1, 1e-3];
    const { z1, z2 } = inputs(n, d, 0, 0);
    const bank = new Float32Array(scales.length * d);
    scales.forEach((scale, j) => {
      for (let c = 0; c < d; c++) bank[j * d + c] = Math.fround(scale * rng.gaussian() / Math.sqrt(d));
    });
    for (const loss of LOSSES) {
      const opts = { ...loss.options, temperature: 0.07, gradTemperature: true } as OptionsWithoutBank;
      const gpu = await page.call('runSecondWave', z1, z2, n, d, opts, bank);
      const ref = referenceLoss(z1, z2, n, d, { ...opts, bank });
      const where = `${loss.name} extreme bank (seed ${seed})`;
      expect(gpu.inputsUnchanged, `${where}: inputs or bank changed`).toBe(true);
      compare(where, 'extreme bank', gpu, ref, opts, d);
    }
  });
});

describe('second wave: the convenience path (compute)', () => {
  it('Float32Array bank, gradTemperature and diagnostics as numbers; forward-only; nothing left over', async () => {
    for (const [n, d, k, options] of [
      [31, 33, 64, { loss: 'ntxent', temperature: 0.07, gradTemperature: true, diagnostics: true }],
      [17, 4, 0, { loss: 'dcl', negatives: 'cross', temperature: 0.5, gradTemperature: true, diagnostics: true }],
      [9, 128, 300, { loss: 'dualtemp', temperature: 0.1, gradTemperature: true }],
    ] as [number, number, number, OptionsWithoutBank][]) {
      const { z1, z2, bank } = inputs(n, d, k, 0);
      const ref = referenceLoss(z1, z2, n, d, bank ? { ...options, bank } : options);
      const where = `compute ${JSON.stringify(options)} N=${n} D=${d} K=${k}`;
      await page.call('computeSecondWave', z1, z2, n, d, options, bank, true); // creates this shape's workspace
      const full = await page.call('computeSecondWave', z1, z2, n, d, options, bank, true);
      const diagnostics = full.diagnostics ? DIAGNOSTIC_NAMES.map((name) => full.diagnostics![name]) : undefined;
      compare(where, 'compute', { ...full, diagnostics }, ref, options, d);
      expect(full.buffersLeftOver, `${where}: buffers left over`).toBe(0);
      const fwd = await page.call('computeSecondWave', z1, z2, n, d, options, bank, false);
      expect(fwd.loss).toBe(full.loss);
      expect(fwd.gradTemperature).toBe(full.gradTemperature);
      expect(fwd.diagnostics).toEqual(full.diagnostics);
      expect(fwd.gradZ1).toBeUndefined();
    }
  });
});

describe('second wave: clear errors before anything is encoded', () => {
  it.each([
    ['bankTooSmall', /bank.*holds 160 bytes, needs at least 192/],
    ['bankNotStorage', /bank.*lacks usage STORAGE/],
    ['bankK0', /k must be an integer ≥ 1/],
    ['bankKFraction', /k must be an integer ≥ 1/],
    ['bankNotBuffer', /bank\.buffer must be a GPUBuffer/],
    ['bankIsOutput', /outputs\.gradZ1 must not be .*bank/],
    ['bankIsDiagnostics', /outputs\.diagnostics must not be .*bank/],
    ['bankWithCross', /'cross' cannot be combined with bank/],
    ['dualtempAll', /'all' is not defined for dualtemp/],
    ['badNegatives', /negatives.*all.*cross/],
    ['gradTemperatureTooSmall', /outputs\.gradTemperature holds 0 bytes, needs at least 4/],
    ['gradTemperatureNotAsked', /outputs\.gradTemperature was given but this call does not write it \(set options\.gradTemperature: true/],
    ['gradientsForwardOnly', /outputs\.gradZ1 was given but this call does not write it \(backward is false\)/],
    ['diagnosticsTooSmall', /outputs\.diagnostics holds 4 bytes, needs at least 16/],
    ['diagnosticsIsInput', /outputs\.diagnostics must not be an input buffer/],
    ['arrayBankOnEncode', /encode takes the bank as \{ buffer: GPUBuffer, k \}/],
    ['float64BankOnCompute', /compute\(\) takes the bank as a Float32Array/],
    ['computeBankLength', /bank/],
    ['computeBankNaN', /bank has a non-finite value NaN/],
    ['n1WithoutBank', /N must be an integer ≥ 2/],
  ])('rejects %s', async (kind, message) => {
    expect(await page.call('secondWaveError', kind)).toMatch(message);
  });
});

describe('second wave: memory linear in N + K, nothing N×K', () => {
  it('peak bytes grow by equal steps when N or K doubles, beside the split’s bounded partials', async () => {
    const d = 32;
    const options = { loss: 'ntxent', gradTemperature: true, diagnostics: true } as const;
    // Small enough that the nine runs stay cheap on a CPU adapter; every K spans several candidate tiles.
    const shapesN: [number, number, number][] = [[32, d, 1024], [64, d, 1024], [128, d, 1024]];
    const shapesK: [number, number, number][] = [[128, d, 512], [128, d, 1024], [128, d, 2048]];
    const byN = await page.call('secondWavePeakBytes', shapesN, options);
    const byK = await page.call('secondWavePeakBytes', shapesK, options);
    // The split candidate axis adds partial states (anchor_stats) and gradient slices
    // (grad_rows) whose count follows the shape's tiles, capped by TARGET_WORKGROUPS
    // (test/plan.test.ts bounds them): take them out, and the rest is exactly linear.
    const splitPart = ([n, dd, k]: [number, number, number]) =>
      splitWorkspaceBytes(planLoss(n, dd, resolveOptions({ ...options, bank: { buffer: {} as GPUBuffer, k } }, dd), true));
    const linearN = byN.map((b, i) => b - splitPart(shapesN[i]!));
    const linearK = byK.map((b, i) => b - splitPart(shapesK[i]!));
    console.log(
      `[second-wave] peak bytes at D=${d}: K=1024 N=32/64/128: ${byN.join(', ')} (split part ${shapesN.map(splitPart).join(', ')}); ` +
        `N=128 K=512/1024/2048: ${byK.join(', ')} (split part ${shapesK.map(splitPart).join(', ')})`,
    );
    expect(linearN[2]! - linearN[1]!).toBe(2 * (linearN[1]! - linearN[0]!));
    expect(linearK[2]! - linearK[1]!).toBe(2 * (linearK[1]! - linearK[0]!));
    // An N×K f32 buffer at N=128, K=2048 alone would be 1 MiB; the path without the split's
    // partials (O(N·K/128) until the split's cap, bounded in test/plan.test.ts) holds less.
    expect(linearK[2]!).toBeLessThan(128 * 2048 * 4);
  });
});
