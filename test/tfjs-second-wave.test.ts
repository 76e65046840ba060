/**
 * The tfjs op with issue 11's options, in headless Chromium on tfjs's webgpu backend: τ as a
 * tensor (its gradient from the kernel's gradTemperature output, against the float64 reference
 * and against tf.grad of the plain-ops baseline), `negatives: 'cross'`, a bank tensor (K ∈ {1,
 * 7, 64}; no gradient, unchanged), the diagnostics accessor, a CLIP-style loop that learns τ with
 * no read-back, MoCo's loop with a NegativeQueue, and the option errors. Fresh random inputs
 * per run (seed printed; TFJS_SEED=<n> reproduces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type TestPage } from './harness/page.js';
import { tfjsThirdWaveSuite } from './suites/third-wave.js';
import { DEFAULT_TEMPERATURE, DIAGNOSTIC_NAMES } from '../src/options.js';
import { referenceLoss } from '../src/reference/index.js';
import { freshRng } from './reference/helpers.js';
import { gradientError, lossError } from './support/tolerances.js';
import type { SecondWaveGrads, WireOptions } from './browser/tfjs-second-wave-page.js';

const rng = freshRng('tfjs-second-wave', 'TFJS_SEED');
const seed = rng.seed;

let page: TestPage;
beforeAll(async () => {
  page = await openPage();
});
afterAll(async () => page?.close());

// The third wave's losses through the op, on this page (its dispatcher on tfjs's device is compiled already).
tfjsThirdWaveSuite('chromium', () => page);

const gaussian = (len: number) => new Float32Array(len).map(() => rng.gaussian());

/** A K×D bank: half random rows, half near rows of `near` (they compete with the positives). */
function bankNear(k: number, d: number, near: Float32Array): Float32Array {
  const rows = near.length / d;
  const bank = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    const src = j % 2 === 1 ? Math.floor(rng.uniform() * rows) : -1;
    for (let c = 0; c < d; c++) bank[j * d + c] = src >= 0 ? near[src * d + c]! + 0.5 * rng.gaussian() : rng.gaussian();
  }
  return bank;
}

/** |g − g_ref| ≤ 1e-4·|g_ref| for ∂L/∂τ, or 1e-6·(1 + |L|/τ) near 0 (a difference of f32 terms of size L/τ). */
function tauGradientOk(got: number | undefined, want: number, loss: number, tau: number) {
  const abs = Math.abs((got ?? NaN) - want);
  const ok = Number.isFinite(got) && (abs <= 1e-4 * Math.abs(want) || abs <= 1e-6 * (1 + Math.abs(loss) / tau));
  return { ok, describe: `∂L/∂τ ${got} vs ${want} (abs error ${abs.toExponential(2)}, rel ${(abs / Math.abs(want)).toExponential(2)})` };
}

const worst = { loss: 0, grad: 0, tau: 0, diagnostics: 0 };

/**
 * The plain-ops baseline's loss tolerance: relative 1e-4, the bench's own check (bench/check.ts).
 * The baseline is tfjs's f32 ops on the webgpu backend, not our kernels: its exp/log chain for
 * dualtemp's factors came out 1.7e-5 relative at N = 8 (TFJS_SEED=2908852599), beyond the 1e-5
 * MATH.md asks of the fused kernels, which the op itself is held to.
 */
const BASELINE_LOSS_REL = 1e-4;

function expectMatches(where: string, got: SecondWaveGrads, ref: ReturnType<typeof referenceLoss>, d: number, tau: number, tauTensor: boolean, lossRel?: number) {
  const le = lossError(got.loss, ref.loss);
  const rel = Math.abs(got.loss - ref.loss) / Math.abs(ref.loss);
  const lossOk = le.ok || (lossRel !== undefined && rel <= lossRel);
  expect(lossOk, `${where}: loss ${got.loss} vs ${ref.loss} (${le.describe}${lossRel !== undefined ? `; baseline bound ${lossRel}` : ''})`).toBe(true);
  worst.loss = Math.max(worst.loss, Math.abs(got.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-6));
  for (const [k, unprojected] of [['gradZ1', ref.unprojectedNorm.z1], ['gradZ2', ref.unprojectedNorm.z2]] as const) {
    const ge = gradientError(got[k], ref[k], d, unprojected);
    expect(ge.ok, `${where}: ${k} ${ge.describe}`).toBe(true);
    const m = /relative L2 error ([\d.e+-]+)/.exec(ge.describe);
    if (m) worst.grad = Math.max(worst.grad, Number(m[1]));
  }
  if (tauTensor) {
    const te = tauGradientOk(got.gradTemperature, ref.gradTemperature, ref.loss, tau);
    expect(te.ok, `${where}: ${te.describe}`).toBe(true);
    worst.tau = Math.max(worst.tau, Math.abs(got.gradTemperature! - ref.gradTemperature) / Math.abs(ref.gradTemperature));
  }
}

interface Case {
  name: string;
  options: WireOptions;
  n: number;
  d: number;
  k?: number;
}

const CASES: Case[] = [
  { name: 'ntxent, learnable τ', options: { loss: 'ntxent', temperature: 0.5, tauTensor: true }, n: 8, d: 16 },
  { name: 'CLIP: ntxent cross, learnable τ, diagnostics', options: { loss: 'ntxent', negatives: 'cross', temperature: 0.07, tauTensor: true, diagnostics: true }, n: 33, d: 20 },
  { name: 'dcl cross', options: { loss: 'dcl', negatives: 'cross', temperature: 0.1 }, n: 8, d: 16 },
  { name: 'dclw weightGrad cross, learnable τ', options: { loss: 'dclw', negatives: 'cross', weightGrad: true, temperature: 0.2, tauTensor: true }, n: 8, d: 16 },
  { name: 'flatnce cross, diagnostics', options: { loss: 'flatnce', negatives: 'cross', diagnostics: true }, n: 8, d: 16 },
  { name: 'dualtemp, learnable τ', options: { loss: 'dualtemp', temperature: 0.1, tauTensor: true }, n: 8, d: 16 },
  { name: 'MoCo: ntxent bank K=64, learnable τ, diagnostics', options: { loss: 'ntxent', temperature: 0.07, tauTensor: true, diagnostics: true }, n: 8, d: 16, k: 64 },
  { name: 'dcl bank K=1', options: { loss: 'dcl', temperature: 0.5 }, n: 8, d: 16, k: 1 },
  { name: 'dclw bank K=7, learnable τ', options: { loss: 'dclw', temperature: 0.1, tauTensor: true }, n: 33, d: 20, k: 7 },
  { name: 'flatnce bank K=7', options: { loss: 'flatnce', temperature: 0.1 }, n: 8, d: 16, k: 7 },
  { name: 'dualtemp bank K=64, learnable τ, diagnostics', options: { loss: 'dualtemp', temperature: 0.07, tauTensor: true, diagnostics: true }, n: 8, d: 16, k: 64 },
];

describe(`tfjs op, second-wave options (seed ${seed})`, () => {
  it.each(CASES)('$name: op = reference = tf.grads(tfjsOpsLoss)', async ({ options, n, d, k }) => {
    const z1 = gaussian(n * d);
    const z2 = Float32Array.from(z1, (v) => v + 0.7 * rng.gaussian());
    const wire: WireOptions = { ...options, ...(k ? { bank: bankNear(k, d, z1) } : {}) };
    const r = await page.call('tfjsSecondWaveCompare', z1, z2, n, d, wire);
    const { tauTensor: _t, ...refOptions } = wire;
    const ref = referenceLoss(z1, z2, n, d, refOptions);
    const tau = wire.temperature ?? DEFAULT_TEMPERATURE[wire.loss];
    const where = `${JSON.stringify({ ...options })} N=${n} D=${d} K=${k ?? 0}`;
    expectMatches(`${where} op vs reference`, r.op, ref, d, tau, !!options.tauTensor);
    expectMatches(`${where} tfjs-ops baseline vs reference`, r.baseline, ref, d, tau, !!options.tauTensor, BASELINE_LOSS_REL);
    expect(r.forwardOnlyLoss, `${where}: forward-only value`).toBe(r.op.loss);
    expect(r.bankUnchanged, `${where}: bank unchanged`).toBe(true);
    if (options.diagnostics) {
      expect(r.op.diagnostics, `${where}: diagnostics returned`).toHaveLength(4);
      DIAGNOSTIC_NAMES.forEach((name, i) => {
        const got = r.op.diagnostics![i]!;
        const want = ref.diagnostics[name];
        const abs = Math.abs(got - want);
        expect(abs <= 1e-4 * Math.abs(want) || abs <= 1e-6, `${where}: ${name} ${got} vs ${want}`).toBe(true);
        worst.diagnostics = Math.max(worst.diagnostics, abs / Math.max(Math.abs(want), 1e-6));
      });
    } else {
      expect(r.op.diagnostics, `${where}: no diagnostics unless asked`).toBeUndefined();
    }
  });

  it('leaves no tensor behind (τ tensor, bank, diagnostics)', async () => {
    const n = 6, d = 8;
    const z1 = gaussian(n * d), z2 = gaussian(n * d);
    const leaked = await page.call('tfjsSecondWaveLeak', z1, z2, n, d, { loss: 'ntxent', temperature: 0.2, tauTensor: true, diagnostics: true, bank: gaussian(5 * d) });
    expect(leaked).toBe(0);
  });

  it('worst errors (printed)', () => {
    console.log(`[tfjs-second-wave] worst relative errors vs reference: ${JSON.stringify(worst)}`);
    expect(worst.loss).toBeGreaterThan(0);
  });
});

describe('tfjs op learns τ (CLIP: ntxent, cross, learnable logit_scale = log(1/τ))', () => {
  it('loss falls, τ moves, no buffer mapped during the steps, memory flat', async () => {
    const r = await page.call('tfjsLearnTemperature', 30, 0.5, 0.05);
    console.log('[tfjs-second-wave] learn τ', JSON.stringify(r));
    expect(r.lossAfter, 'training lowered the loss').toBeLessThan(r.lossBefore);
    expect(Math.abs(r.tauAfter - r.tauBefore), 'τ moved').toBeGreaterThan(0.05);
    expect(r.tauAfter, 'τ stays positive').toBeGreaterThan(0);
    expect(r.mapCalls, 'mapAsync calls during the steps (τ and diagnostics stay on the GPU)').toBe(0);
    expect(r.tensorsAfterLast).toBe(r.tensorsAfterWarmup);
    expect(r.dispatcherBuffersAfterLast).toBe(r.dispatcherBuffersAfterWarmup);
    expect(r.diagnostics).toHaveLength(4);
    expect(r.diagnostics.every(Number.isFinite)).toBe(true);
  });
});

describe('MoCo with a NegativeQueue: loss against queue.bank, then enqueueKeys', () => {
  it('each step equals the reference on the queue it saw; the queue holds the newest keys', async () => {
    const k = 12, d = 8, n = 5, steps = 4;
    const initial = gaussian(k * d);
    const inputs = Array.from({ length: steps }, () => {
      const q = gaussian(n * d);
      return { q, key: Float32Array.from(q, (v) => v + 0.3 * rng.gaussian()), n };
    });
    const r = await page.call('tfjsMoCoQueue', k, d, initial, inputs, { loss: 'ntxent', temperature: 0.2 });
    const ring = initial.slice();
    let head = 0;
    inputs.forEach((s, i) => {
      expect(r.banksSeen[i], `queue before step ${i}`).toEqual(ring);
      const ref = referenceLoss(s.q, s.key, n, d, { loss: 'ntxent', temperature: 0.2, bank: ring.slice() });
      const le = lossError(r.losses[i]!, ref.loss);
      expect(le.ok, `step ${i}: ${r.losses[i]} vs ${ref.loss} (${le.describe})`).toBe(true);
      for (let row = 0; row < n; row++) {
        ring.set(s.key.subarray(row * d, row * d + d), head * d);
        head = (head + 1) % k;
      }
    });
    expect(r.finalQueue).toEqual(ring);
  });
});

describe('tfjs op option errors', () => {
  it('name the problem before anything runs', async () => {
    const e = await page.call('tfjsSecondWaveErrors');
    expect(e.tauShape).toMatch(/RangeError: contrastiveLoss: a temperature tensor must be a scalar \(shape \[\] or \[1\]\), got shape \[2\]/);
    expect(e.tauDtype).toMatch(/TypeError: contrastiveLoss: a temperature tensor must be float32, got int32/);
    expect(e.bankWidth).toMatch(/RangeError: contrastiveLoss: bank must be a K×D tensor with D = 3/);
    expect(e.bankCross).toMatch(/negatives: 'cross' cannot be combined with bank/);
    expect(e.dualtempAll).toMatch(/negatives: 'all' is not defined for dualtemp/);
    expect(e.gradTemperatureNumber).toMatch(/TypeError: contrastiveLoss: gradTemperature is implied by a tensor temperature/);
    expect(e.oneRowNoBank).toMatch(/RangeError: contrastiveLoss: N must be ≥ 2/);
    expect(e.oneRowWithBank).toBe('no error');
  });
});
